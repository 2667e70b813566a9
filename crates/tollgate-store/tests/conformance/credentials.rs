//! Credentials, tokens, signing keys and projects.

use serde_json::json;
use time::{Duration, OffsetDateTime};
use tollgate_auth::secret::digest_of;
use tollgate_auth::{generate_client_id, SecretDigest};
use tollgate_core::{
    CredentialId, CredentialKind, CredentialLimits, KeyId, Limit, LimitsPatch, NewCredential, ProjectId, Scopes,
};
use tollgate_store::{NewApiKeyTemplate, StoreError, StoredSigningKey};

use crate::support::Fixture;

pub fn new_key(project: ProjectId) -> NewCredential {
    NewCredential {
        id: CredentialId::ApiKey(KeyId::generate()),
        project_id: project,
        name: "k".into(),
        scopes: Scopes::parse("resource:read").unwrap(),
        expires_at: None,
        limits: CredentialLimits::default(),
    }
}

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

pub async fn credential_lifecycle(f: Fixture) {
    let s = &f.store;
    let p = f.project("p").await;
    let created = s.create_credential(new_key(p), digest_of("secret-1"), "se…1".into()).await.unwrap();
    assert_eq!(s.get_credential(p, created.id.clone()).await.unwrap(), created);
    let found = s.find_credential_by_digest(digest_of("secret-1"), now()).await.unwrap().unwrap();
    assert_eq!((found.credential.id.clone(), found.stored_digest.0), (created.id.clone(), digest_of("secret-1").0));
    assert!(s.find_credential_by_digest(digest_of("nope"), now()).await.unwrap().is_none());
    let client = NewCredential { id: CredentialId::OAuthClient(generate_client_id()), ..new_key(p) };
    s.create_credential(client, digest_of("client-secret"), "cl…".into()).await.unwrap();
    assert_eq!(s.list_credentials(CredentialKind::ApiKey, p).await.unwrap(), std::slice::from_ref(&created));
    assert_eq!(s.list_credentials(CredentialKind::OAuthClient, p).await.unwrap().len(), 1);

    // Rotation: the old secret works through the grace period, the new one at once.
    let rotated = s
        .rotate_credential(p, created.id.clone(), digest_of("secret-2"), "se…2".into(), Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(rotated.hint, "se…2");
    assert!(s.find_credential_by_digest(digest_of("secret-1"), now()).await.unwrap().is_some());
    assert!(s.find_credential_by_digest(digest_of("secret-1"), now() + Duration::hours(2)).await.unwrap().is_none());
    assert!(s.find_credential_by_digest(digest_of("secret-2"), now() + Duration::days(9)).await.unwrap().is_some());
    // Without grace, the old secret ends now.
    s.rotate_credential(p, created.id.clone(), digest_of("secret-3"), "se…3".into(), Duration::ZERO).await.unwrap();
    assert!(s.find_credential_by_digest(digest_of("secret-2"), now()).await.unwrap().is_none());

    // Limits merge part by part.
    let read = Limit::parse("5/1m").unwrap();
    let l =
        s.set_credential_limits(p, created.id.clone(), CredentialLimits { read: Some(read), write: None }.into()).await;
    assert_eq!(l.unwrap().limits, CredentialLimits { read: Some(read), write: None });
    let write = Limit::parse("7/1h").unwrap();
    let both = s
        .set_credential_limits(p, created.id.clone(), CredentialLimits { read: None, write: Some(write) }.into())
        .await;
    assert_eq!(both.unwrap().limits, CredentialLimits { read: Some(read), write: Some(write) });
    // A class set to its default (a JSON `null`) drops its own limit; the other keeps its own.
    let reset = s.set_credential_limits(p, created.id.clone(), LimitsPatch { read: Some(None), write: None }).await;
    assert_eq!(reset.unwrap().limits, CredentialLimits { read: None, write: Some(write) });
    let stored = s.get_credential(p, created.id.clone()).await.unwrap();
    assert_eq!(stored.limits, CredentialLimits { read: None, write: Some(write) });
    // Two changes at once, each to its own class: both land (each reads and writes the row in
    // its own transaction, the row locked), neither undoes the other.
    let (r, w) = (Limit::parse("9/1m").unwrap(), Limit::parse("8/1h").unwrap());
    let (a, b) = tokio::join!(
        s.set_credential_limits(p, created.id.clone(), LimitsPatch { read: Some(Some(r)), write: None }),
        s.set_credential_limits(p, created.id.clone(), LimitsPatch { read: None, write: Some(Some(w)) }),
    );
    a.unwrap();
    b.unwrap();
    let stored = s.get_credential(p, created.id.clone()).await.unwrap();
    assert_eq!(stored.limits, CredentialLimits { read: Some(r), write: Some(w) });

    let at = now();
    s.touch_credential(created.id.clone(), at).await.unwrap();
    let touched = s.get_credential(p, created.id.clone()).await.unwrap();
    assert_eq!(touched.last_used_at.map(|t| t.unix_timestamp()), Some(at.unix_timestamp()));

    // Revocation is idempotent; a revoked credential cannot be rotated or have its limits
    // changed (a conflict, not a 400), and nothing is written.
    let revoked = s.revoke_credential(p, created.id.clone()).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    assert_eq!(s.revoke_credential(p, created.id.clone()).await.unwrap().revoked_at, revoked.revoked_at);
    let refused = s.rotate_credential(p, created.id.clone(), digest_of("s4"), "h".into(), Duration::ZERO).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    assert!(s.find_credential_by_digest(digest_of("s4"), now()).await.unwrap().is_none(), "nothing written");
    let unlimited = LimitsPatch { read: Some(Some(Limit::Unlimited)), write: None };
    let refused = s.set_credential_limits(p, created.id.clone(), unlimited).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    assert_eq!(s.get_credential(p, created.id.clone()).await.unwrap().limits, revoked.limits, "nothing written");
}

pub async fn another_projects_credentials_are_not_found(f: Fixture) {
    let s = &f.store;
    let (a, b) = (f.project("a").await, f.project("b").await);
    let c = s.create_credential(new_key(a), digest_of("x"), "x".into()).await.unwrap();
    let id = || c.id.clone();
    assert!(matches!(s.get_credential(b, id()).await, Err(StoreError::NotFound)));
    assert!(matches!(
        s.rotate_credential(b, id(), digest_of("y"), "y".into(), Duration::ZERO).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(s.revoke_credential(b, id()).await, Err(StoreError::NotFound)));
    assert!(matches!(s.set_credential_limits(b, id(), LimitsPatch::default()).await, Err(StoreError::NotFound)));
    assert!(s.list_credentials(CredentialKind::ApiKey, b).await.unwrap().is_empty());
    assert!(s.get_credential(a, id()).await.unwrap().revoked_at.is_none());
}

fn signing_key(kid: &str, created_at: OffsetDateTime) -> StoredSigningKey {
    StoredSigningKey {
        kid: kid.into(),
        algorithm: "ES256".into(),
        private_der: vec![1, 2, 3],
        public_jwk: json!({"kid": kid, "kty": "EC"}),
        created_at,
        retire_at: None,
    }
}

pub async fn tokens_and_signing_keys(f: Fixture) {
    let s = &f.store;
    let p = f.project("p").await;
    let client = NewCredential { id: CredentialId::OAuthClient(generate_client_id()), ..new_key(p) };
    let client = s.create_credential(client, digest_of("c"), "c".into()).await.unwrap();
    let check = s.check_token(client.id.clone(), "jti-1".into()).await.unwrap();
    assert_eq!((check.client.map(|c| c.id), check.revoked), (Some(client.id.clone()), false));
    let unknown = CredentialId::OAuthClient(generate_client_id());
    assert!(s.check_token(unknown, "jti-1".into()).await.unwrap().client.is_none());

    // A denylisted token stays denied until its keep-until, even when later revocations purge.
    s.revoke_token("jti-1".into(), now() + Duration::seconds(60)).await.unwrap();
    s.revoke_token("jti-old".into(), now() - Duration::seconds(1)).await.unwrap();
    s.revoke_token("jti-2".into(), now() + Duration::seconds(60)).await.unwrap();
    assert!(s.check_token(client.id.clone(), "jti-1".into()).await.unwrap().revoked);
    assert!(!s.check_token(client.id.clone(), "jti-old".into()).await.unwrap().revoked, "purged past keep-until");
    s.revoke_token("jti-1".into(), now() + Duration::seconds(60)).await.unwrap();

    // Signing keys: the first is added once, however many nodes try; rotation retires the rest later.
    let t0 = now();
    assert!(s.add_signing_key(signing_key("k1", t0), None).await.unwrap());
    assert!(!s.add_signing_key(signing_key("k1b", t0), None).await.unwrap());
    assert!(s
        .add_signing_key(signing_key("k2", t0 + Duration::seconds(1)), Some(t0 + Duration::hours(1)))
        .await
        .unwrap());
    let live = s.live_signing_keys(now()).await.unwrap();
    assert_eq!(live.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(), ["k2", "k1"]);
    assert!(live[0].retire_at.is_none() && live[1].retire_at.is_some());
    assert_eq!(live[1].public_jwk, json!({"kid": "k1", "kty": "EC"}));
    let later = s.live_signing_keys(now() + Duration::hours(2)).await.unwrap();
    assert_eq!(later.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(), ["k2"]);
}

pub async fn projects_and_bootstrap(f: Fixture) {
    let s = &f.store;
    let template = || NewApiKeyTemplate {
        digest: SecretDigest(digest_of("admin").0),
        hint: "ad…".into(),
        limits: Default::default(),
    };
    assert!(s.bootstrap(template()).await.unwrap(), "the first start makes the admin key");
    assert!(!s.bootstrap(template()).await.unwrap(), "never twice");
    let default = s.find_project("default").await.unwrap().unwrap();
    let admin = s.find_credential_by_digest(digest_of("admin"), now()).await.unwrap().unwrap();
    assert_eq!(admin.credential.project_id, default.id);
    assert_eq!(admin.credential.scopes, Scopes::all());

    let a = s.create_project("alpha").await.unwrap();
    assert_eq!(s.ensure_project("alpha").await.unwrap(), a, "ensure finds the existing one");
    let taken = s.create_project("alpha").await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    assert!(s.find_project("nope").await.unwrap().is_none());
    let names: Vec<String> = s.list_projects().await.unwrap().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["default", "alpha"]);
    s.ping().await.unwrap();
    assert!(s.pool_state().is_some());
}
