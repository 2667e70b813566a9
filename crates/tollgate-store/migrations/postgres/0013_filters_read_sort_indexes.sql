-- A filter on `type`, `status` or an attribute's value reads the index its sort reads. Listings
-- compare these columns byte by byte (COLLATE "C", as SQLite does), so 0008 indexed them in
-- that collation, while the filters still compared in the database's default and kept indexes
-- of their own: every create wrote each of these keys twice. With the columns themselves in
-- "C", a filter's `type = $1` is the sort index's comparison, and the indexes in the default
-- collation go. Equality is byte equality in either collation, so no filter's answer changes.
-- The columns' type stays `text`: no row is rewritten; the indexes on them are rebuilt.
DROP INDEX resources_by_type;
DROP INDEX resources_by_status;
DROP INDEX resource_attributes_lookup;
ALTER TABLE resources
    ALTER COLUMN type TYPE TEXT COLLATE "C",
    ALTER COLUMN status TYPE TEXT COLLATE "C";
ALTER TABLE resource_attributes ALTER COLUMN value TYPE TEXT COLLATE "C";
