-- Resource types: a JSON Schema and attribute rules per (project, type), versioned; and the
-- project setting that makes unregistered types a validation error.
CREATE TABLE resource_types (
    project_id   TEXT NOT NULL,
    name         TEXT NOT NULL,
    version      INTEGER NOT NULL,
    schema       TEXT NOT NULL,
    attributes   TEXT NOT NULL,
    description  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (project_id, name)
) WITHOUT ROWID;
ALTER TABLE projects ADD COLUMN require_registered_types INTEGER NOT NULL DEFAULT 0;
