-- Events as a rowid table keyed by their place in the log. Keyed by id without a rowid, each
-- event was an entry of an index B-tree, and SQLite splits a full index page by rewriting it with
-- its siblings, the new event or not at the end; a rowid table takes an append at the end by
-- starting a new page. Every create's commit wrote about 13 pages of events and their indexes,
-- now about 8 (bench/RESULTS.md). `seq` is the rowid, so events_by_seq is the table itself, and
-- the id keeps its uniqueness in an index of its own.
ALTER TABLE events RENAME TO events_v11;
DROP INDEX events_unpublished;
DROP INDEX events_by_seq;
DROP INDEX events_by_project;

CREATE TABLE events (
    id             TEXT NOT NULL UNIQUE,
    project_id     TEXT NOT NULL,
    type           TEXT NOT NULL,
    payload        TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    published_at   INTEGER,
    seq            INTEGER PRIMARY KEY,
    resource_id    TEXT,
    resource_type  TEXT
);
INSERT INTO events (id, project_id, type, payload, created_at, published_at, seq, resource_id, resource_type)
    SELECT id, project_id, type, payload, created_at, published_at, seq, resource_id, resource_type
    FROM events_v11 ORDER BY seq;
DROP TABLE events_v11;
CREATE INDEX events_unpublished ON events(id) WHERE published_at IS NULL;
CREATE INDEX events_by_project ON events(project_id, seq);
