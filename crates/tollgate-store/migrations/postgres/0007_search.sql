-- Full-text search over each resource's name, attribute values and data strings, kept in the
-- write's transaction, stemmed with the english configuration.
CREATE TABLE resource_search (
    resource_id  TEXT PRIMARY KEY COLLATE "C",
    project_id   TEXT NOT NULL,
    doc          tsvector NOT NULL
);
CREATE INDEX resource_search_doc ON resource_search USING GIN (doc);

-- Resources written before this version are indexed now.
INSERT INTO resource_search (resource_id, project_id, doc)
SELECT r.id, r.project_id, to_tsvector('english', r.name
    || ' ' || coalesce((SELECT string_agg(a.value, ' ') FROM jsonb_each_text(r.attributes::jsonb) a), '')
    || ' ' || coalesce((SELECT string_agg(v #>> '{}', ' ') FROM jsonb_path_query(r.data::jsonb, 'strict $.**') v
                        WHERE jsonb_typeof(v) = 'string'), ''))
FROM resources r;
