-- How many resources each project has (under the key '', which no attribute key can be) and how
-- many of them hold each attribute key, so that a listing sorted by an attribute knows whether
-- any resource lacks it without counting (see src/attribute_counts.rs). Rows are per shard;
-- only their sum means anything. SQLite writes shard 0 alone. Existing data is counted here.
CREATE TABLE attribute_counts (
    project_id  TEXT NOT NULL,
    key         TEXT NOT NULL,
    shard       INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (project_id, key, shard)
) WITHOUT ROWID;
INSERT INTO attribute_counts (project_id, key, shard, n)
    SELECT project_id, '', 0, count(*) FROM resources GROUP BY project_id;
INSERT INTO attribute_counts (project_id, key, shard, n)
    SELECT project_id, key, 0, count(*) FROM resource_attributes GROUP BY project_id, key;
