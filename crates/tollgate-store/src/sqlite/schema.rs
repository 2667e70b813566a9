//! SQLite schema, applied in order on open. Timestamps are integer microseconds since the Unix
//! epoch; JSON columns hold compact JSON text.

use rusqlite_migration::{Migrations, M};

/// Every migration, oldest first. Never edit one that has shipped: add another.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(V1), M::up(V2), M::up(V3)])
}

const V1: &str = r#"
CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

CREATE TABLE resources (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id),
    name        TEXT NOT NULL,
    type        TEXT NOT NULL,
    status      TEXT NOT NULL,
    attributes  TEXT NOT NULL,
    data        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL
);
CREATE INDEX resources_by_project ON resources(project_id, id);
CREATE INDEX resources_by_type ON resources(project_id, type, id);
CREATE INDEX resources_by_status ON resources(project_id, status, id);

-- One row per attribute, so that attribute filters use an index instead of a scan.
CREATE TABLE resource_attributes (
    resource_id  TEXT NOT NULL REFERENCES resources(id) ON DELETE CASCADE,
    project_id   TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (resource_id, key)
) WITHOUT ROWID;
CREATE INDEX resource_attributes_lookup ON resource_attributes(project_id, key, value, resource_id);

-- API keys and OAuth clients: one shape, told apart by `kind`.
CREATE TABLE credentials (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    project_id    TEXT NOT NULL REFERENCES projects(id),
    name          TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    hint          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    rotated_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    last_used_at  INTEGER,
    revoked_at    INTEGER,
    limit_read    TEXT,
    limit_write   TEXT
);
CREATE INDEX credentials_by_project ON credentials(project_id, kind, id);

-- A credential has one current secret (expires_at NULL) and, after a rotation, old ones in grace.
CREATE TABLE credential_secrets (
    digest         BLOB PRIMARY KEY,
    credential_id  TEXT NOT NULL REFERENCES credentials(id),
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER
) WITHOUT ROWID;
CREATE INDEX credential_secrets_by_credential ON credential_secrets(credential_id);

-- JWT signing keys. The newest unretired key signs; every unretired key is in the JWKS.
CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    algorithm    TEXT NOT NULL,
    private_der  BLOB NOT NULL,
    public_jwk   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    retire_at    INTEGER
);

-- Access tokens revoked before they expire (RFC 7009), kept until they would have expired.
CREATE TABLE revoked_tokens (
    jti         TEXT PRIMARY KEY,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
"#;

const V2: &str = r#"
-- Idempotency keys: the first response of each (scope, key), written in the same transaction
-- as the change it answers; kept 24 hours.
CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  BLOB NOT NULL,
    response     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at);
"#;

const V3: &str = r#"
-- The outbox: every resource change's event, written in the change's transaction. published_at
-- is set once the event is on NATS (or at once when no NATS sink is configured).
CREATE TABLE events (
    id            TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL,
    type          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    published_at  INTEGER
);
CREATE INDEX events_unpublished ON events(id) WHERE published_at IS NULL;

CREATE TABLE webhook_endpoints (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL REFERENCES projects(id),
    url          TEXT NOT NULL,
    event_types  TEXT NOT NULL,
    secret       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    disabled_at  INTEGER
);

-- One row per event and endpoint, made in the event's transaction.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL REFERENCES events(id),
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    locked_until     INTEGER,
    created_at       INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries(endpoint_id, id);

CREATE TABLE webhook_attempts (
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    status_code  INTEGER,
    error        TEXT,
    duration_ms  INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
"#;

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().unwrap();
    }
}
