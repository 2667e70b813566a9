-- How many resources of each project hold each set of attribute keys, so that a listing sorted
-- by an attribute knows whether any resource lacks it without counting (see
-- src/attribute_counts.rs). A set is written ' a b ', its keys in byte order each with a space
-- either side (' ' for none). Rows are per shard, so that concurrent writers rarely share one;
-- only their sum means anything. Existing resources are counted into shard 0, with the tables
-- locked against writes meanwhile, so that no write falls between the count and the first
-- write that keeps it.
CREATE TABLE attribute_counts (
    project_id  TEXT NOT NULL,
    keys        TEXT NOT NULL,
    shard       INTEGER NOT NULL,
    n           BIGINT NOT NULL,
    PRIMARY KEY (project_id, keys, shard)
);
LOCK TABLE resources, resource_attributes IN SHARE MODE;
INSERT INTO attribute_counts (project_id, keys, shard, n)
    SELECT r.project_id, ' ' || COALESCE(k.keys, ''), 0, count(*)
    FROM resources r LEFT JOIN (
        SELECT resource_id, string_agg(key || ' ', '' ORDER BY key COLLATE "C") AS keys
        FROM resource_attributes GROUP BY resource_id
    ) k ON k.resource_id = r.id
    GROUP BY 1, 2;
