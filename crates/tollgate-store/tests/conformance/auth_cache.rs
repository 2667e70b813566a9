//! Credentials kept in memory by one node, changed through another, through SQL as any other
//! tool would, and through the node itself: every change is seen within the second the service
//! promises, and a node that cannot read the change counter reads credentials through.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use time::Duration;
use tollgate_auth::generate_client_id;
use tollgate_auth::secret::digest_of;
use tollgate_core::{CredentialId, CredentialLimits, Limit, NewCredential};
use tollgate_store::auth_cache::AuthCacheStats;
use tollgate_store::Store;

use crate::credentials::{new_key, now};
use crate::support::{Backend, Fixture};

/// The promise: a change through any node is refused by every node within a second.
const WITHIN: StdDuration = StdDuration::from_secs(1);

fn stats(s: &Arc<dyn Store>) -> AuthCacheStats {
    s.auth_cache_stats().expect("the node keeps a cache")
}

/// Waits until `check` holds, at most [`WITHIN`]; returns how long it took.
async fn within<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) -> StdDuration {
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < WITHIN, "{what}: not within {WITHIN:?}");
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
}

/// Waits until the node's cache answers and has read the change counter after the test's
/// writes so far (a read that began before them would empty it again).
async fn fresh(node: &Arc<dyn Store>) {
    within("fresh", || async { stats(node).fresh }).await;
    tokio::time::sleep(tollgate_store::auth_cache::POLL * 3).await;
}

pub async fn every_change_reaches_a_caching_node_within_a_second(f: Fixture) {
    let other = &f.store;
    let node = f.caching_node().await;
    let p = f.project("p").await;
    let key = other.create_credential(new_key(p), digest_of("k1"), "k…1".into()).await.unwrap();
    fresh(&node).await;

    // Read once from the database, then from memory.
    let found = |d: &'static str| {
        let node = node.clone();
        async move { node.find_credential_by_digest(digest_of(d), now()).await.unwrap() }
    };
    assert!(found("k1").await.is_some());
    let before = stats(&node);
    assert_eq!(found("k1").await.unwrap().credential, key);
    assert_eq!(stats(&node).hits, before.hits + 1, "answered from memory");
    // Recording use is not a change: the cache is not emptied for it.
    other.touch_credential(key.id.clone(), now()).await.unwrap();
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(stats(&node).emptied, before.emptied);

    // Through another node: limits, then revocation.
    let limit = Limit::parse("5/1m").unwrap();
    other
        .set_credential_limits(p, key.id.clone(), CredentialLimits { read: Some(limit), write: None }.into())
        .await
        .unwrap();
    within("new limits", || async { found("k1").await.unwrap().credential.limits.read == Some(limit) }).await;
    other.revoke_credential(p, key.id.clone()).await.unwrap();
    within("revocation", || async { found("k1").await.unwrap().credential.revoked_at.is_some() }).await;

    // A rotation without grace ends the old secret on every node.
    let key2 = other.create_credential(new_key(p), digest_of("k2"), "k…2".into()).await.unwrap();
    assert!(found("k2").await.is_some());
    other.rotate_credential(p, key2.id.clone(), digest_of("k3"), "k…3".into(), Duration::ZERO).await.unwrap();
    within("rotation", || async { found("k2").await.is_none() }).await;
    assert!(found("k3").await.is_some());

    // Through SQL, as the CLI of an older release or an operator's script would write it.
    f.sql(&format!("UPDATE credentials SET expires_at = 1 WHERE id = '{}'", key2.id));
    within("expiry set in SQL", || async { found("k3").await.unwrap().credential.expires_at.is_some() }).await;

    // A token revoked through another node; its client revoked in SQL.
    let client = NewCredential { id: CredentialId::OAuthClient(generate_client_id()), ..new_key(p) };
    let client = other.create_credential(client, digest_of("c"), "c".into()).await.unwrap();
    let check = |jti: &'static str| {
        let (node, client) = (node.clone(), client.id.clone());
        async move { node.check_token(client, jti.into()).await.unwrap() }
    };
    assert!(!check("t1").await.revoked);
    assert!(!check("t1").await.revoked);
    other.revoke_token("t1".into(), now() + Duration::minutes(5)).await.unwrap();
    within("token revocation", || async { check("t1").await.revoked }).await;
    assert!(check("t2").await.client.unwrap().revoked_at.is_none());
    f.sql(&format!("UPDATE credentials SET revoked_at = 1 WHERE id = '{}'", client.id));
    within("client revoked in SQL", || async { check("t2").await.client.unwrap().revoked_at.is_some() }).await;

    // Through the node itself: at once, not at its next look.
    let key4 = node.create_credential(new_key(p), digest_of("k4"), "k…4".into()).await.unwrap();
    assert!(found("k4").await.is_some());
    assert!(found("k4").await.is_some());
    node.revoke_credential(p, key4.id.clone()).await.unwrap();
    assert!(found("k4").await.unwrap().credential.revoked_at.is_some(), "seen at once on the node that revoked");
}

pub async fn a_node_that_cannot_read_changes_reads_credentials_through(f: Fixture) {
    let node = f.caching_node().await;
    let p = f.project("p").await;
    f.store.create_credential(new_key(p), digest_of("k1"), "k…1".into()).await.unwrap();
    fresh(&node).await;
    node.find_credential_by_digest(digest_of("k1"), now()).await.unwrap().unwrap();

    // The change counter cannot be read: on SQLite it is gone (the watcher's read fails), on
    // PostgreSQL a lock holds the watcher's read. Either way the node stops trusting memory.
    let outage = StdDuration::from_millis(1500);
    let holder = match f.backend {
        Backend::Sqlite => {
            f.sql("ALTER TABLE credential_changes RENAME TO credential_changes_away");
            None
        }
        Backend::Postgres => {
            let url = f.database_url().unwrap();
            let secs = outage.as_secs_f64();
            Some(std::thread::spawn(move || {
                tollgate_testkit::psql(
                    &url,
                    &format!("BEGIN; LOCK TABLE credential_changes IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep({secs}); COMMIT;"),
                )
            }))
        }
    };
    let lost = Instant::now();
    within("the cache stops answering", || async { !stats(&node).fresh }).await;
    // Reads go through to the database meanwhile, and still answer.
    let misses = stats(&node).misses;
    assert!(node.find_credential_by_digest(digest_of("k1"), now()).await.unwrap().is_some());
    assert_eq!(stats(&node).misses, misses + 1, "read through");
    if f.backend == Backend::Sqlite {
        assert!(stats(&node).lapses >= 1);
        tokio::time::sleep(outage.saturating_sub(lost.elapsed())).await;
        f.sql("ALTER TABLE credential_changes_away RENAME TO credential_changes");
    } else {
        holder.unwrap().join().unwrap();
    }
    // Caught up: it answers from memory again.
    within("fresh again", || async { stats(&node).fresh }).await;
    node.find_credential_by_digest(digest_of("k1"), now()).await.unwrap();
    let hits = stats(&node).hits;
    node.find_credential_by_digest(digest_of("k1"), now()).await.unwrap();
    assert_eq!(stats(&node).hits, hits + 1);
}
