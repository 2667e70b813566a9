-- Tollgate on SQLite. Timestamps are integer microseconds since the Unix epoch; JSON columns
-- hold compact JSON text.
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
