//! Credentials (API keys and OAuth clients) and their secrets' digests: what the service needs
//! ([`CredentialStore`]), the rules of rotation, revocation and limits, and their statements. A
//! credential has one current secret and, for a grace period after a rotation, the previous ones.

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};
use tollgate_auth::SecretDigest;
use tollgate_core::time_fmt::{now, to_unix_micros};
use tollgate_core::{Credential, CredentialId, CredentialKind, LimitsPatch, NewCredential, ProjectId};

use crate::auth_cache::{AuthCache, AuthCacheStats};
use crate::conn::{Arg, Conn, Sql};
use crate::db::{Backend, Db};
use crate::rows::{credential_columns, micros};
use crate::{CredentialMatch, StoreError};

/// API keys and OAuth clients of a project.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Stores a credential whose secret has `digest`.
    async fn create_credential(
        &self,
        new: NewCredential,
        digest: SecretDigest,
        hint: String,
    ) -> Result<Credential, StoreError>;
    /// The project's credentials of `kind`, oldest first.
    async fn list_credentials(&self, kind: CredentialKind, project: ProjectId) -> Result<Vec<Credential>, StoreError>;
    /// One credential of the project.
    async fn get_credential(&self, project: ProjectId, id: CredentialId) -> Result<Credential, StoreError>;
    /// The credential whose current (or still-in-grace) secret has `digest`.
    async fn find_credential_by_digest(
        &self,
        digest: SecretDigest,
        now: OffsetDateTime,
    ) -> Result<Option<CredentialMatch>, StoreError>;
    /// Gives the credential a new secret; the old one works until `grace` has passed.
    async fn rotate_credential(
        &self,
        project: ProjectId,
        id: CredentialId,
        digest: SecretDigest,
        hint: String,
        grace: Duration,
    ) -> Result<Credential, StoreError>;
    /// Revokes the credential at once (idempotent).
    async fn revoke_credential(&self, project: ProjectId, id: CredentialId) -> Result<Credential, StoreError>;
    /// Changes the credential's own limits (see [`LimitsPatch`]); a revoked credential is a
    /// [`StoreError::Conflict`], as rotating one is.
    async fn set_credential_limits(
        &self,
        project: ProjectId,
        id: CredentialId,
        limits: LimitsPatch,
    ) -> Result<Credential, StoreError>;
    /// Records that the credential was used at `at`.
    async fn touch_credential(&self, id: CredentialId, at: OffsetDateTime) -> Result<(), StoreError>;
    /// The in-memory credential cache's counters, when the store keeps one.
    fn auth_cache_stats(&self) -> Option<AuthCacheStats> {
        None
    }
}

const INSERT: Sql = Sql::same(
    "INSERT INTO credentials (id, kind, project_id, name, scopes, hint, created_at, rotated_at, expires_at,
     limit_read, limit_write) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10)",
);
const INSERT_SECRET: Sql =
    Sql::same("INSERT INTO credential_secrets (digest, credential_id, created_at) VALUES ($1, $2, $3)");
const LIST: Sql = Sql::same(concat!(
    "SELECT ",
    credential_columns!(),
    " FROM credentials c WHERE c.project_id = $1 AND c.kind = $2 ORDER BY c.created_at, c.id"
));
const GET: Sql =
    Sql::same(concat!("SELECT ", credential_columns!(), " FROM credentials c WHERE c.id = $1 AND c.project_id = $2"));
const LOCK: Sql = Sql::each(
    concat!("SELECT ", credential_columns!(), " FROM credentials c WHERE c.id = $1 AND c.project_id = $2"),
    concat!("SELECT ", credential_columns!(), " FROM credentials c WHERE c.id = $1 AND c.project_id = $2 FOR UPDATE"),
);
/// A credential by id alone, whatever its project (token verification knows only the id).
pub(crate) const GET_ANY: Sql =
    Sql::same(concat!("SELECT ", credential_columns!(), " FROM credentials c WHERE c.id = $1"));
const FIND_BY_DIGEST: Sql = Sql::same(concat!(
    "SELECT ",
    credential_columns!(),
    ", s.digest, s.expires_at FROM credential_secrets s JOIN credentials c ON c.id = s.credential_id
     WHERE s.digest = $1 AND (s.expires_at IS NULL OR s.expires_at > $2)"
));
/// Old secrets end at the grace period's end, or earlier if they were already due to.
const EXPIRE_SECRETS: Sql = Sql::same(
    "UPDATE credential_secrets SET expires_at = $1 WHERE credential_id = $2 AND (expires_at IS NULL OR expires_at > $1)",
);
const UPDATE_STATE: Sql = Sql::same(
    "UPDATE credentials SET hint = $1, rotated_at = $2, revoked_at = $3, limit_read = $4, limit_write = $5 WHERE id = $6",
);
const TOUCH: Sql = Sql::same("UPDATE credentials SET last_used_at = $1 WHERE id = $2");

#[async_trait]
impl<B: Backend> CredentialStore for Db<B> {
    async fn create_credential(
        &self,
        new: NewCredential,
        digest: SecretDigest,
        hint: String,
    ) -> Result<Credential, StoreError> {
        self.write("create_credential", move |tx| Box::pin(create(tx, new, digest, hint))).await
    }

    async fn list_credentials(&self, kind: CredentialKind, project: ProjectId) -> Result<Vec<Credential>, StoreError> {
        self.read("list_credentials", move |c| {
            Box::pin(
                async move { c.fetch_all(&LIST, &[Arg::Text(&project.to_string()), Arg::Text(kind.as_str())]).await },
            )
        })
        .await
    }

    async fn get_credential(&self, project: ProjectId, id: CredentialId) -> Result<Credential, StoreError> {
        self.read("get_credential", move |c| Box::pin(get(c, &GET, project, id))).await
    }

    async fn find_credential_by_digest(
        &self,
        digest: SecretDigest,
        now: OffsetDateTime,
    ) -> Result<Option<CredentialMatch>, StoreError> {
        let ticket = match self.auth_cache.as_deref().map(|cache| cache.key(&digest, now)) {
            Some(Ok(hit)) => return Ok(Some(hit)),
            Some(Err(ticket)) => Some(ticket),
            None => None,
        };
        let found: Option<CredentialMatch> = self
            .read("find_credential_by_digest", move |c| {
                Box::pin(async move {
                    c.fetch_optional(&FIND_BY_DIGEST, &[Arg::Blob(&digest.0), Arg::Int(to_unix_micros(now))]).await
                })
            })
            .await?;
        // Unknown digests are not kept: they are guesses, and each would take a place.
        if let (Some(cache), Some(ticket), Some(found)) = (self.auth_cache.as_deref(), ticket, &found) {
            cache.put_key(ticket, digest, found.clone());
        }
        Ok(found)
    }

    async fn rotate_credential(
        &self,
        project: ProjectId,
        id: CredentialId,
        digest: SecretDigest,
        hint: String,
        grace: Duration,
    ) -> Result<Credential, StoreError> {
        let out =
            self.write("rotate_credential", move |tx| Box::pin(rotate(tx, project, id, digest, hint, grace))).await;
        self.credentials_changed();
        out
    }

    async fn revoke_credential(&self, project: ProjectId, id: CredentialId) -> Result<Credential, StoreError> {
        let out = self.write("revoke_credential", move |tx| Box::pin(revoke(tx, project, id))).await;
        self.credentials_changed();
        out
    }

    async fn set_credential_limits(
        &self,
        project: ProjectId,
        id: CredentialId,
        limits: LimitsPatch,
    ) -> Result<Credential, StoreError> {
        let out = self
            .write("set_credential_limits", move |tx| {
                Box::pin(async move {
                    let cred = get(tx, &LOCK, project, id).await?;
                    if cred.revoked_at.is_some() {
                        return Err(StoreError::Conflict("a revoked credential cannot be changed".into()));
                    }
                    let limits = limits.apply(cred.limits);
                    save_state(tx, Credential { limits, ..cred }).await
                })
            })
            .await;
        self.credentials_changed();
        out
    }

    fn auth_cache_stats(&self) -> Option<AuthCacheStats> {
        self.auth_cache.as_deref().map(AuthCache::stats)
    }

    async fn touch_credential(&self, id: CredentialId, at: OffsetDateTime) -> Result<(), StoreError> {
        self.write("touch_credential", move |tx| {
            Box::pin(async move {
                tx.execute(&TOUCH, &[Arg::Int(to_unix_micros(at)), Arg::Text(&id.to_string())]).await.map(drop)
            })
        })
        .await
    }
}

async fn get(c: &mut impl Conn, sql: &Sql, project: ProjectId, id: CredentialId) -> Result<Credential, StoreError> {
    c.fetch_one(sql, &[Arg::Text(&id.to_string()), Arg::Text(&project.to_string())]).await
}

/// Stores `new` with its first secret; also the first-start admin key's path.
pub(crate) async fn create(
    tx: &mut impl Conn,
    new: NewCredential,
    digest: SecretDigest,
    hint: String,
) -> Result<Credential, StoreError> {
    let at = now();
    let cred = Credential {
        id: new.id,
        project_id: new.project_id,
        name: new.name,
        scopes: new.scopes,
        hint,
        created_at: at,
        rotated_at: at,
        expires_at: new.expires_at,
        last_used_at: None,
        revoked_at: None,
        limits: new.limits,
    };
    let (id, project, scopes) = (cred.id.to_string(), cred.project_id.to_string(), cred.scopes.to_space_separated());
    let (read, write) = (cred.limits.read.map(|l| l.to_string()), cred.limits.write.map(|l| l.to_string()));
    let args = [
        Arg::Text(&id),
        Arg::Text(cred.id.kind().as_str()),
        Arg::Text(&project),
        Arg::Text(&cred.name),
        Arg::Text(&scopes),
        Arg::Text(&cred.hint),
        Arg::Int(to_unix_micros(at)),
        Arg::OptInt(micros(cred.expires_at)),
        Arg::OptText(read.as_deref()),
        Arg::OptText(write.as_deref()),
    ];
    tx.execute(&INSERT, &args).await?;
    tx.execute(&INSERT_SECRET, &[Arg::Blob(&digest.0), Arg::Text(&id), Arg::Int(to_unix_micros(at))]).await?;
    Ok(cred)
}

async fn rotate(
    tx: &mut impl Conn,
    project: ProjectId,
    id: CredentialId,
    digest: SecretDigest,
    hint: String,
    grace: Duration,
) -> Result<Credential, StoreError> {
    let cred = get(tx, &LOCK, project, id).await?;
    if cred.revoked_at.is_some() {
        return Err(StoreError::Conflict("a revoked credential cannot be rotated".into()));
    }
    let at = now();
    let id = cred.id.to_string();
    tx.execute(&EXPIRE_SECRETS, &[Arg::Int(to_unix_micros(at + grace)), Arg::Text(&id)]).await?;
    tx.execute(&INSERT_SECRET, &[Arg::Blob(&digest.0), Arg::Text(&id), Arg::Int(to_unix_micros(at))]).await?;
    save_state(tx, Credential { hint, rotated_at: at, ..cred }).await
}

async fn revoke(tx: &mut impl Conn, project: ProjectId, id: CredentialId) -> Result<Credential, StoreError> {
    let cred = get(tx, &LOCK, project, id).await?;
    if cred.revoked_at.is_some() {
        return Ok(cred);
    }
    save_state(tx, Credential { revoked_at: Some(now()), ..cred }).await
}

/// Writes what rotation, revocation and limits change.
async fn save_state(tx: &mut impl Conn, cred: Credential) -> Result<Credential, StoreError> {
    let (read, write) = (cred.limits.read.map(|l| l.to_string()), cred.limits.write.map(|l| l.to_string()));
    let id = cred.id.to_string();
    let args = [
        Arg::Text(&cred.hint),
        Arg::Int(to_unix_micros(cred.rotated_at)),
        Arg::OptInt(micros(cred.revoked_at)),
        Arg::OptText(read.as_deref()),
        Arg::OptText(write.as_deref()),
        Arg::Text(&id),
    ];
    tx.execute(&UPDATE_STATE, &args).await?;
    Ok(cred)
}
