//! SQLite schema, applied in order on open. Timestamps are integer microseconds since the Unix
//! epoch; JSON columns hold compact JSON text.

use rusqlite_migration::{Migrations, M};

/// Every migration, oldest first. Never edit one that has shipped: add another.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(V1)])
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

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL REFERENCES projects(id),
    name          TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    hint          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    rotated_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);
CREATE INDEX api_keys_by_project ON api_keys(project_id, id);

-- A key has one current secret (expires_at NULL) and, after a rotation, old ones in grace.
CREATE TABLE api_key_secrets (
    digest      BLOB PRIMARY KEY,
    key_id      TEXT NOT NULL REFERENCES api_keys(id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER
) WITHOUT ROWID;
CREATE INDEX api_key_secrets_by_key ON api_key_secrets(key_id);
"#;

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().unwrap();
    }
}
