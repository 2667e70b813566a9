-- Full-text search over each resource's name, attribute values and data strings, kept in the
-- write's transaction. FTS5 rows are keyed by an integer: resource_search_map gives each
-- resource one (an INTEGER PRIMARY KEY keeps its values through VACUUM). Accents are kept as
-- typed, as PostgreSQL's english configuration keeps them.
CREATE TABLE resource_search_map (
    rowid        INTEGER PRIMARY KEY,
    resource_id  TEXT NOT NULL UNIQUE,
    project_id   TEXT NOT NULL
);
CREATE VIRTUAL TABLE resource_search USING fts5(body, tokenize = 'porter unicode61 remove_diacritics 0');

-- Resources written before this version are indexed now.
INSERT INTO resource_search_map (resource_id, project_id) SELECT id, project_id FROM resources;
INSERT INTO resource_search (rowid, body)
SELECT m.rowid, r.name
    || ' ' || coalesce((SELECT group_concat(value, ' ') FROM json_each(r.attributes)), '')
    || ' ' || coalesce((SELECT group_concat(value, ' ') FROM json_tree(r.data) WHERE type = 'text'), '')
FROM resources r JOIN resource_search_map m ON m.resource_id = r.id;
