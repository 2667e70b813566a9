//! Per-credential hourly request counts: batches from several nodes add up, reads stay inside
//! the caller's project, and the retention pass drops hours past 30 days.

use time::{Duration, OffsetDateTime};
use tollgate_core::{CredentialId, KeyId, ProjectId};
use tollgate_store::usage::{hour_of, HourlyCount};

use crate::support::Fixture;

fn count(project: ProjectId, credential: &CredentialId, hour: OffsetDateTime, requests: u64) -> HourlyCount {
    HourlyCount { project_id: project, credential: credential.clone(), hour, requests }
}

pub async fn hourly_counts_add_up_stay_in_their_project_and_are_pruned(f: Fixture) {
    let s = &f.store;
    let (p, q) = (f.project("p").await, f.project("q").await);
    let key = CredentialId::ApiKey(KeyId::generate());
    let other = CredentialId::ApiKey(KeyId::generate());
    let now = OffsetDateTime::now_utc();
    let this_hour = hour_of(now);
    let earlier = this_hour - Duration::hours(5);
    // Two nodes flush their counts of the same hours: the rows add, never overwrite.
    s.add_hourly_counts(vec![count(p, &key, now, 3), count(p, &key, earlier + Duration::minutes(7), 2)]).await.unwrap();
    s.add_hourly_counts(vec![count(p, &key, now, 4), count(p, &other, now, 9)]).await.unwrap();
    s.add_hourly_counts(Vec::new()).await.unwrap();
    let since = now - Duration::days(7);
    let rows = s.hourly_counts(p, key.clone(), since).await.unwrap();
    assert_eq!(rows, [(earlier, 2), (this_hour, 7)]);
    assert_eq!(s.hourly_counts(p, other.clone(), since).await.unwrap(), [(this_hour, 9)]);
    // Another project sees nothing of them, exactly like a credential that never called.
    assert!(s.hourly_counts(q, key.clone(), since).await.unwrap().is_empty());
    // Only hours from `since` on.
    assert_eq!(s.hourly_counts(p, key.clone(), this_hour).await.unwrap(), [(this_hour, 7)]);

    // Hours older than 30 days are pruned with the other expired rows; recent ones stay.
    let old = hour_of(now - Duration::days(31));
    s.add_hourly_counts(vec![count(p, &key, old, 1), count(p, &other, old, 1)]).await.unwrap();
    let would = s.prunable(Default::default(), now).await.unwrap();
    assert_eq!(would.usage_hours, 2);
    let pruned = s.prune_expired_batch(now, 500).await.unwrap();
    assert_eq!(pruned.usage_hours, 2);
    assert_eq!(f.count("credential_usage_hours"), 3);
    assert_eq!(s.hourly_counts(p, key, now - Duration::days(40)).await.unwrap().len(), 2);
    let rows = s.table_rows().await.unwrap();
    assert!(rows.contains(&("credential_usage_hours", 3)));
}
