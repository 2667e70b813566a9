//! SQLite schema, applied in order on open. Timestamps are integer microseconds since the Unix
//! epoch; JSON columns hold compact JSON text.

use rusqlite_migration::{Migrations, M};

/// Every migration, oldest first. Never edit one that has shipped: add another.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(V1), M::up(V2), M::up(V3), M::up(V4)])
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

// The outbox tables keyed as they are read and without rowids: an event, a delivery or an
// attempt is then one B-tree entry rather than a row plus a primary-key index, and a
// delivery's key (endpoint, id) serves an endpoint's delivery list without an index of its
// own. Fewer trees change per write, so every commit writes fewer pages. The delivery tables
// carry no foreign keys: each check is another lookup per write, and the one path that deletes
// (removing an endpoint) deletes its deliveries and attempts itself.
const V4: &str = r#"
ALTER TABLE webhook_attempts RENAME TO webhook_attempts_v3;
ALTER TABLE webhook_deliveries RENAME TO webhook_deliveries_v3;
ALTER TABLE events RENAME TO events_v3;
DROP INDEX events_unpublished;
DROP INDEX webhook_deliveries_due;
DROP INDEX webhook_deliveries_by_endpoint;

CREATE TABLE events (
    id            TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL,
    type          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    published_at  INTEGER
) WITHOUT ROWID;
CREATE INDEX events_unpublished ON events(id) WHERE published_at IS NULL;

CREATE TABLE webhook_deliveries (
    endpoint_id      TEXT NOT NULL,
    id               TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    locked_until     INTEGER,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, id)
) WITHOUT ROWID;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';

CREATE TABLE webhook_attempts (
    endpoint_id  TEXT NOT NULL,
    delivery_id  TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    status_code  INTEGER,
    error        TEXT,
    duration_ms  INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, delivery_id, attempt)
) WITHOUT ROWID;

INSERT INTO events SELECT id, project_id, type, payload, created_at, published_at FROM events_v3;
INSERT INTO webhook_deliveries
    SELECT endpoint_id, id, event_id, status, attempts, next_attempt_at, locked_until, created_at FROM webhook_deliveries_v3;
INSERT INTO webhook_attempts
    SELECT d.endpoint_id, a.delivery_id, a.attempt, a.at, a.status_code, a.error, a.duration_ms
    FROM webhook_attempts_v3 a JOIN webhook_deliveries_v3 d ON d.id = a.delivery_id;
DROP TABLE webhook_attempts_v3;
DROP TABLE webhook_deliveries_v3;
DROP TABLE events_v3;
"#;

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().unwrap();
    }

    /// V4 rebuilds the outbox tables: what a V3 database holds comes through, keyed anew.
    #[test]
    fn v4_keeps_the_outbox() {
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        let m = super::migrations();
        m.to_version(&mut c, 3).unwrap();
        c.execute_batch(
            "INSERT INTO projects VALUES ('prj_1', 'p', 0);
             INSERT INTO webhook_endpoints VALUES ('whk_1', 'prj_1', 'http://x.example/', ' resource.created ', 's', 0, NULL);
             INSERT INTO events VALUES ('evt_1', 'prj_1', 'resource.created', '{}', 1, 1);
             INSERT INTO events VALUES ('evt_2', 'prj_1', 'resource.created', '{}', 2, NULL);
             INSERT INTO webhook_deliveries VALUES ('dlv_a', 'whk_1', 'evt_1', 'succeeded', 1, 5, NULL, 1);
             INSERT INTO webhook_deliveries VALUES ('dlv_b', 'whk_1', 'evt_2', 'pending', 1, 9, NULL, 2);
             INSERT INTO webhook_attempts VALUES ('dlv_a', 1, 5, 204, NULL, 3);
             INSERT INTO webhook_attempts VALUES ('dlv_b', 1, 6, NULL, 'timed out', 10000);",
        )
        .unwrap();
        m.to_latest(&mut c).unwrap();
        let rows = |sql: &str| -> Vec<String> {
            let mut stmt = c.prepare(sql).unwrap();
            stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect()
        };
        assert_eq!(rows("SELECT id FROM events WHERE published_at IS NULL"), ["evt_2"]);
        assert_eq!(
            rows("SELECT endpoint_id || ' ' || id || ' ' || event_id || ' ' || status FROM webhook_deliveries ORDER BY id"),
            ["whk_1 dlv_a evt_1 succeeded", "whk_1 dlv_b evt_2 pending"]
        );
        assert_eq!(
            rows(
                "SELECT endpoint_id || ' ' || delivery_id || ' ' || attempt || ' ' || coalesce(status_code, error)
                  FROM webhook_attempts ORDER BY delivery_id"
            ),
            ["whk_1 dlv_a 1 204", "whk_1 dlv_b 1 timed out"]
        );
        assert_eq!(
            rows("SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= 9"),
            ["dlv_b"]
        );
        assert!(rows("PRAGMA foreign_key_check").is_empty());
        let old: i64 =
            c.query_row("SELECT count(*) FROM sqlite_master WHERE name LIKE '%_v3'", [], |r| r.get(0)).unwrap();
        assert_eq!(old, 0);
    }
}
