-- Tollgate on PostgreSQL: the same tables as SQLite. Timestamps are BIGINT microseconds since
-- the Unix epoch and JSON is kept as text, so that both backends store (and export) exactly the
-- same values.

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

CREATE TABLE resources (
    id          TEXT PRIMARY KEY COLLATE "C",
    project_id  TEXT NOT NULL REFERENCES projects(id),
    name        TEXT NOT NULL,
    type        TEXT NOT NULL,
    status      TEXT NOT NULL,
    attributes  TEXT NOT NULL,
    data        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    version     BIGINT NOT NULL
);
CREATE INDEX resources_by_project ON resources(project_id, id);
CREATE INDEX resources_by_type ON resources(project_id, type, id);
CREATE INDEX resources_by_status ON resources(project_id, status, id);

CREATE TABLE resource_attributes (
    resource_id  TEXT NOT NULL REFERENCES resources(id) ON DELETE CASCADE,
    project_id   TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (resource_id, key)
);
CREATE INDEX resource_attributes_lookup ON resource_attributes(project_id, key, value, resource_id);

CREATE TABLE credentials (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    project_id    TEXT NOT NULL REFERENCES projects(id),
    name          TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    hint          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    rotated_at    BIGINT NOT NULL,
    expires_at    BIGINT,
    last_used_at  BIGINT,
    revoked_at    BIGINT,
    limit_read    TEXT,
    limit_write   TEXT
);
CREATE INDEX credentials_by_project ON credentials(project_id, kind, id);

CREATE TABLE credential_secrets (
    digest         BYTEA PRIMARY KEY,
    credential_id  TEXT NOT NULL REFERENCES credentials(id),
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT
);
CREATE INDEX credential_secrets_by_credential ON credential_secrets(credential_id);

CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    algorithm    TEXT NOT NULL,
    private_der  BYTEA NOT NULL,
    public_jwk   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    retire_at    BIGINT
);

CREATE TABLE revoked_tokens (
    jti         TEXT PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
