//! Durability: a server killed with SIGKILL in the middle of a stream of creates keeps every
//! resource it acknowledged.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;

use crate::{server, widget};

#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    let mut s = server().await;
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..8 {
        let (http, url, key, acked) = (s.http.clone(), s.url("/v1/resource"), s.admin_key.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..10_000 {
                let sent = http.post(&url).header("x-api-key", &key).json(&widget(&format!("w{w}-{i}"))).send().await;
                let Ok(r) = sent else { return };
                if r.status() != 201 {
                    return;
                }
                let Ok(body) = r.json::<serde_json::Value>().await else {
                    return;
                };
                acked.lock().unwrap().push(body["id"].as_str().unwrap().to_owned());
            }
        }));
    }
    // Let the stream run, then pull the plug while writes are in flight.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.kill9();
    for w in writers {
        let _ = w.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 50, "only {} writes were acknowledged before the kill", acked.len());
    s.restart().await;
    let k = Some(s.admin_key.clone());
    for id in &acked {
        let r = s.call(Method::GET, &format!("/v1/resource/{id}"), k.as_deref(), None).await;
        assert_eq!(r.status, 200, "acknowledged {id} was lost");
    }
    // The restart did not mint a second admin key.
    assert!(s.logs().iter().filter(|l| l.contains("first admin key")).count() == 1);
}

/// Batches of 10 creates under SIGKILL: every acknowledged batch is there whole after the
/// restart, and no batch is there in part (its resources share a name prefix).
#[tokio::test]
async fn acknowledged_batches_survive_kill_9_whole_and_no_batch_is_partial() {
    let mut s = server().await;
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..4 {
        let (http, url, key, acked) = (s.http.clone(), s.url("/v1/batch"), s.admin_key.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..10_000 {
                let ops: Vec<_> = (0..10)
                    .map(|n| serde_json::json!({"op": "create", "body": widget(&format!("b{w}-{i}-{n}"))}))
                    .collect();
                let sent = http
                    .post(&url)
                    .header("x-api-key", &key)
                    .json(&serde_json::json!({"operations": ops}))
                    .send()
                    .await;
                let Ok(r) = sent else { return };
                if r.status() != 200 {
                    return;
                }
                if r.json::<serde_json::Value>().await.is_err() {
                    return;
                }
                acked.lock().unwrap().push(format!("b{w}-{i}-"));
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.kill9();
    for w in writers {
        let _ = w.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 5, "only {} batches were acknowledged before the kill", acked.len());
    s.restart().await;
    let names = s.query("SELECT name FROM resources");
    let mut per_batch = std::collections::HashMap::<String, usize>::new();
    for name in &names {
        let prefix = name[..name.rfind('-').unwrap() + 1].to_owned();
        *per_batch.entry(prefix).or_default() += 1;
    }
    for (batch, n) in &per_batch {
        assert_eq!(*n, 10, "batch {batch} is there in part");
    }
    for batch in &acked {
        assert_eq!(per_batch.get(batch), Some(&10), "acknowledged batch {batch} was lost");
    }
}
