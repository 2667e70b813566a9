-- How many resources of each project hold each set of attribute keys, so that a listing sorted
-- by an attribute knows whether any resource lacks it without counting (see
-- src/attribute_counts.rs). A set is written ' a b ', its keys in byte order each with a space
-- either side (' ' for none). Rows are per shard; only their sum means anything, and SQLite
-- writes shard 0 alone. Existing resources are counted here.
CREATE TABLE attribute_counts (
    project_id  TEXT NOT NULL,
    keys        TEXT NOT NULL,
    shard       INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (project_id, keys, shard)
) WITHOUT ROWID;
INSERT INTO attribute_counts (project_id, keys, shard, n)
    SELECT project_id, keys, 0, count(*) FROM (
        SELECT r.project_id, ' ' || COALESCE((SELECT group_concat(k.key || ' ', '') FROM
            (SELECT key FROM resource_attributes a WHERE a.resource_id = r.id ORDER BY key) k), '') AS keys
        FROM resources r)
    GROUP BY project_id, keys;
