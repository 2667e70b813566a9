//! Metrics: known traffic gives exact counter values in `/metrics`; the endpoint is admin-only
//! on the main port or open on its own listener; EMF lines follow the CloudWatch structure.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::{server, server_with, widget};

/// Parses the Prometheus text format into `name{sorted labels}` -> value.
pub(crate) fn parse(text: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let key = match series.split_once('{') {
            Some((name, labels)) => {
                let mut labels: Vec<&str> = labels.trim_end_matches('}').split(',').collect();
                labels.sort_unstable();
                format!("{name}{{{}}}", labels.join(","))
            }
            None => series.to_owned(),
        };
        out.insert(key, value.parse().unwrap());
    }
    out
}

fn http(method: &str, route: &str, status: u16) -> String {
    format!(
        "http_server_request_duration_seconds_count{{http_request_method=\"{method}\",http_response_status_code=\"{status}\",http_route=\"{route}\"}}"
    )
}

#[tokio::test]
async fn known_traffic_gives_exact_counts() {
    let s = server().await;
    let admin = Some(s.admin_key.as_str());
    for i in 0..3 {
        assert_eq!(s.call(Method::POST, "/v1/resource", admin, Some(&widget(&format!("m{i}")))).await.status, 201);
    }
    for _ in 0..2 {
        s.call(Method::GET, "/v1/resource/res_01ARZ3NDEKTSV4RRFFQ69G5FAV", admin, None)
            .await
            .assert_error(404, "NOT_FOUND");
        s.call(Method::GET, "/v1/resource", None, None).await.assert_error(401, "AUTHENTICATION_FAILED");
    }
    s.call(Method::GET, "/v1/resource", Some("tgk_bad"), None).await.assert_error(401, "AUTHENTICATION_FAILED");
    let out =
        s.cli(&["keys", "create", "--name", "tiny", "--scopes", "resource:write", "--limit", "write=1/1m"], None, &[]);
    let tiny = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(s.call(Method::POST, "/v1/resource", Some(&tiny), Some(&widget("t"))).await.status, 201);
    s.call(Method::POST, "/v1/resource", Some(&tiny), Some(&widget("t")))
        .await
        .assert_error(429, "RATE_LIMIT_EXCEEDED");

    let r = s.call(Method::GET, "/metrics", admin, None).await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let m = parse(&r.text);
    let expect = [
        (http("POST", "/v1/resource", 201), 4.0),
        (http("POST", "/v1/resource", 429), 1.0),
        (http("GET", "/v1/resource/{id}", 404), 2.0),
        (http("GET", "/v1/resource", 401), 3.0),
        ("tollgate_auth_failures_total{reason=\"missing\"}".into(), 2.0),
        ("tollgate_auth_failures_total{reason=\"malformed\"}".into(), 1.0),
        ("tollgate_ratelimit_rejections_total{class=\"write\"}".into(), 1.0),
        ("tollgate_quota_credentials{class=\"write\",level=\"alert\"}".into(), 1.0),
        ("tollgate_quota_usage_max_ratio{class=\"write\"}".into(), 1.0),
        (
            format!(
                "tollgate_build_info{{backend=\"{}\",version=\"{}\"}}",
                if s.database_url().is_some() { "postgres" } else { "sqlite" },
                env!("CARGO_PKG_VERSION")
            ),
            1.0,
        ),
        (
            "tollgate_http_requests_total{http_request_method=\"POST\",http_response_status_code=\"201\",http_route=\"/v1/resource\"}".into(),
            4.0,
        ),
    ];
    for (series, value) in expect {
        assert_eq!(m.get(&series), Some(&value), "{series} in\n{}", r.text);
    }
    assert!(m["tollgate_db_query_duration_seconds_count{operation=\"create_resource\"}"] >= 4.0);
    assert!(m.contains_key("tollgate_db_pool_connections{state=\"idle\"}"));
    assert!(m.contains_key("http_server_active_requests"));
    let bucket = "http_server_request_duration_seconds_bucket{http_request_method=\"POST\",http_response_status_code=\"201\",http_route=\"/v1/resource\",le=\"10\"}";
    assert_eq!(m[bucket], 4.0, "OTel bucket boundaries");
    for id_prefix in ["\"key_", "\"req_", "\"res_", "\"tgc_", "\"prj_"] {
        assert!(!r.text.contains(id_prefix), "an id became a label: {id_prefix}");
    }

    // Only admins may read metrics on the main port.
    s.call(Method::GET, "/metrics", Some(&tiny), None).await.assert_error(403, "PERMISSION_DENIED");
    s.call(Method::GET, "/metrics", None, None).await.assert_error(401, "AUTHENTICATION_FAILED");
}

#[tokio::test]
async fn separate_metrics_listener() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let s = server_with(&[("TOLLGATE_METRICS_LISTEN", &addr)]).await;
    let r = s.http.get(format!("http://{addr}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("http_server_request_duration_seconds"));
    s.call(Method::GET, "/metrics", Some(&s.admin_key), None).await.assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn emf_lines_on_stdout() {
    let s = server_with(&[
        ("TOLLGATE_METRICS_EMF", "true"),
        ("TOLLGATE_METRICS_EMF_INTERVAL", "1s"),
        ("TOLLGATE_METRICS_EMF_NAMESPACE", "TollgateTest"),
    ])
    .await;
    for _ in 0..5 {
        s.call(Method::GET, "/v1/resource", Some(&s.admin_key), None).await;
    }
    s.call(Method::GET, "/v1/resource/res_01ARZ3NDEKTSV4RRFFQ69G5FAV", Some(&s.admin_key), None).await;
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let lines: Vec<Value> = s
        .logs()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    assert!(!lines.is_empty(), "no EMF lines");
    for v in &lines {
        let aws = &v["_aws"];
        assert!(aws["Timestamp"].as_u64().unwrap() > 1_600_000_000_000, "milliseconds");
        for d in aws["CloudWatchMetrics"].as_array().unwrap() {
            assert_eq!(d["Namespace"], "TollgateTest");
            for set in d["Dimensions"].as_array().unwrap() {
                let set = set.as_array().unwrap();
                assert!(set.len() <= 9);
                for dim in set {
                    assert!(v[dim.as_str().unwrap()].is_string());
                }
            }
            for metric in d["Metrics"].as_array().unwrap() {
                let value = &v[metric["Name"].as_str().unwrap()];
                assert!(value.is_number() || value.as_array().is_some_and(|a| a.len() <= 100));
            }
        }
        assert!(v.to_string().len() < 256 * 1024);
    }
    let list =
        lines.iter().find(|v| v["Route"] == "/v1/resource" && v["Method"] == "GET").expect("a line for the list route");
    assert_eq!(list["Requests"], 5);
    assert_eq!(list["SuccessCount"], 5);
    let get = lines.iter().find(|v| v["Route"] == "/v1/resource/{id}").unwrap();
    assert_eq!(get["ClientErrorCount"], 1);
}
