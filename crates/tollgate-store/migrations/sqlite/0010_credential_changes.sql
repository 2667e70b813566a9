-- A counter every change to what authentication reads bumps, in the change's own transaction:
-- nodes keep credentials in memory and drop them when it moves (see src/auth_cache.rs). A
-- trigger bumps it, so that every writer counts, the CLI and other processes too. Recording
-- use (`last_used_at`) is not a change to it.
CREATE TABLE credential_changes (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL
);
INSERT INTO credential_changes (id, version) VALUES (1, 0);

CREATE TRIGGER credentials_inserted AFTER INSERT ON credentials
BEGIN UPDATE credential_changes SET version = version + 1; END;
CREATE TRIGGER credentials_updated
AFTER UPDATE OF id, kind, project_id, scopes, hint, rotated_at, expires_at, revoked_at, limit_read, limit_write
ON credentials
BEGIN UPDATE credential_changes SET version = version + 1; END;
CREATE TRIGGER credentials_deleted AFTER DELETE ON credentials
BEGIN UPDATE credential_changes SET version = version + 1; END;

CREATE TRIGGER credential_secrets_inserted AFTER INSERT ON credential_secrets
BEGIN UPDATE credential_changes SET version = version + 1; END;
CREATE TRIGGER credential_secrets_updated AFTER UPDATE ON credential_secrets
BEGIN UPDATE credential_changes SET version = version + 1; END;
CREATE TRIGGER credential_secrets_deleted AFTER DELETE ON credential_secrets
BEGIN UPDATE credential_changes SET version = version + 1; END;

CREATE TRIGGER revoked_tokens_inserted AFTER INSERT ON revoked_tokens
BEGIN UPDATE credential_changes SET version = version + 1; END;
