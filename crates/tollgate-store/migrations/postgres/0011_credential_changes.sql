-- A counter every change to what authentication reads bumps, in the change's own transaction,
-- with a notification on `tollgate_credentials` at its commit: nodes keep credentials in memory
-- and drop them when it moves (see src/auth_cache.rs). Triggers bump it, so that every writer
-- counts, the CLI and other nodes too. Recording use (`last_used_at`) is not a change to it.
CREATE TABLE credential_changes (
    id       INT PRIMARY KEY CHECK (id = 1),
    version  BIGINT NOT NULL
);
INSERT INTO credential_changes (id, version) VALUES (1, 0);

CREATE FUNCTION tollgate_credentials_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE credential_changes SET version = version + 1;
    PERFORM pg_notify('tollgate_credentials', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER credentials_changed
AFTER INSERT OR DELETE
   OR UPDATE OF id, kind, project_id, scopes, hint, rotated_at, expires_at, revoked_at, limit_read, limit_write
ON credentials FOR EACH STATEMENT EXECUTE FUNCTION tollgate_credentials_changed();
CREATE TRIGGER credential_secrets_changed AFTER INSERT OR UPDATE OR DELETE
ON credential_secrets FOR EACH STATEMENT EXECUTE FUNCTION tollgate_credentials_changed();
CREATE TRIGGER revoked_tokens_changed AFTER INSERT
ON revoked_tokens FOR EACH STATEMENT EXECUTE FUNCTION tollgate_credentials_changed();
