-- Every column holding a resource id compares byte by byte (COLLATE "C"), as resources.id and
-- resource_search.resource_id already do. resource_attributes.resource_id was left in the
-- database's default collation: joined to resources.id the two collations conflicted, no index
-- of the attributes served the join, and a sort by attribute scanned every attribute for each
-- resource. Its indexes are rebuilt in the new collation.
ALTER TABLE resource_attributes ALTER COLUMN resource_id TYPE TEXT COLLATE "C";
