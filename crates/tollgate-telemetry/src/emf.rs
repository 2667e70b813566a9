//! CloudWatch Embedded Metric Format: requests aggregated per route and method over an
//! interval (a minute by default) and written as one JSON object per line, which the CloudWatch
//! agent turns into metrics without any AWS SDK. Dimensions are the service, route template and
//! method (never ids), at most 3 per set. Latency is sent as up to 100 sampled values per route
//! and interval (reservoir sampling), from which CloudWatch computes percentiles.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};

use crate::quota::ClassSummary;

/// Most latency values per line (the EMF limit for one metric's array).
const MAX_SAMPLES: usize = 100;

#[derive(Default)]
struct Bucket {
    requests: u64,
    success: u64,
    client_errors: u64,
    server_errors: u64,
    latencies_ms: Vec<f64>,
}

/// Aggregates requests between flushes.
pub struct EmfAggregator {
    namespace: String,
    service: String,
    buckets: Mutex<HashMap<(String, &'static str), Bucket>>,
}

impl EmfAggregator {
    /// An aggregator writing to `namespace`.
    pub fn new(namespace: &str) -> Self {
        Self { namespace: namespace.to_owned(), service: "tollgate".into(), buckets: Mutex::default() }
    }

    /// Records one answered request. Unknown methods are one `_OTHER` dimension value.
    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let method = crate::metrics::method_label(method);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = buckets.entry((route.to_owned(), method)).or_default();
        b.requests += 1;
        match status {
            500.. => b.server_errors += 1,
            400..=499 => b.client_errors += 1,
            _ => b.success += 1,
        }
        let ms = (elapsed.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
        if b.latencies_ms.len() < MAX_SAMPLES {
            b.latencies_ms.push(ms);
        } else {
            // Reservoir sampling keeps every request equally likely to be in the sample.
            let slot = rand_index(b.requests);
            if slot < MAX_SAMPLES {
                b.latencies_ms[slot] = ms;
            }
        }
    }

    /// The EMF lines for everything recorded since the last flush, stamped `timestamp_ms`.
    pub fn flush(&self, timestamp_ms: u64, quota: &[(&'static str, ClassSummary)]) -> Vec<String> {
        let drained: Vec<_> = self.buckets.lock().unwrap_or_else(|p| p.into_inner()).drain().collect();
        let mut lines = Vec::new();
        for ((route, method), b) in drained {
            let metrics = json!([
                {"Name": "Requests", "Unit": "Count"},
                {"Name": "SuccessCount", "Unit": "Count"},
                {"Name": "ClientErrorCount", "Unit": "Count"},
                {"Name": "ErrorCount", "Unit": "Count"},
                {"Name": "Latency", "Unit": "Milliseconds"}
            ]);
            let mut line = self.envelope(timestamp_ms, json!([["Service", "Route", "Method"], ["Service"]]), metrics);
            line["Route"] = json!(route);
            line["Method"] = json!(method);
            line["Requests"] = json!(b.requests);
            line["SuccessCount"] = json!(b.success);
            line["ClientErrorCount"] = json!(b.client_errors);
            line["ErrorCount"] = json!(b.server_errors);
            line["Latency"] = json!(b.latencies_ms);
            lines.push(line.to_string());
        }
        for (class, s) in quota {
            let metrics =
                json!([{"Name": "QuotaUsageMax", "Unit": "Percent"}, {"Name": "CredentialsAbove90", "Unit": "Count"}]);
            let mut line = self.envelope(timestamp_ms, json!([["Service", "Class"]]), metrics);
            line["Class"] = json!(class);
            line["QuotaUsageMax"] = json!((s.max_ratio * 1000.0).round() / 10.0);
            line["CredentialsAbove90"] = json!(s.above_90);
            lines.push(line.to_string());
        }
        lines
    }

    fn envelope(&self, timestamp_ms: u64, dimensions: Value, metrics: Value) -> Value {
        json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{"Namespace": self.namespace, "Dimensions": dimensions, "Metrics": metrics}]
            },
            "Service": self.service,
        })
    }
}

/// A pseudo-random index below `n`, good enough for sampling (no cryptographic use).
fn rand_index(n: u64) -> usize {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(n);
    (h.finish() % n.max(1)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_follow_the_emf_structure() {
        let a = EmfAggregator::new("Tollgate");
        for i in 0..150u64 {
            let status = if i % 10 == 0 { 404 } else { 200 };
            a.record("GET", "/v1/resource/{id}", status, Duration::from_millis(i));
        }
        a.record("POST", "/v1/resource", 500, Duration::from_millis(3));
        let lines = a.flush(1_760_000_000_123, &[("write", ClassSummary { max_ratio: 0.5, above_80: 0, above_90: 0 })]);
        assert_eq!(lines.len(), 3);
        for line in &lines {
            let v: Value = serde_json::from_str(line).unwrap();
            let d = &v["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(v["_aws"]["Timestamp"], 1_760_000_000_123u64);
            assert_eq!(d["Namespace"], "Tollgate");
            for set in d["Dimensions"].as_array().unwrap() {
                assert!(set.as_array().unwrap().len() <= 9);
                for dim in set.as_array().unwrap() {
                    assert!(v[dim.as_str().unwrap()].is_string(), "dimension {dim} must be a string member");
                }
            }
            for m in d["Metrics"].as_array().unwrap() {
                let value = &v[m["Name"].as_str().unwrap()];
                assert!(
                    value.is_number()
                        || value.as_array().is_some_and(|a| a.len() <= 100 && a.iter().all(Value::is_number))
                );
            }
        }
        let get: Value =
            lines.iter().map(|l| serde_json::from_str::<Value>(l).unwrap()).find(|v| v["Method"] == "GET").unwrap();
        assert_eq!(get["Requests"], 150);
        assert_eq!(get["ClientErrorCount"], 15);
        assert_eq!(get["Latency"].as_array().unwrap().len(), 100);
        assert!(a.flush(0, &[]).is_empty(), "a flush drains");
    }
}
