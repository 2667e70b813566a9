-- Sorted listings read an index in order instead of sorting every matching row, so a cursor page
-- costs the same at any depth: one index per sortable column, with the id as the tie-break.
-- Listings compare text byte by byte (COLLATE "C"), so the indexes on text are in that collation
-- (the id column already is).
CREATE INDEX resources_by_created ON resources(project_id, created_at, id);
CREATE INDEX resources_by_updated ON resources(project_id, updated_at, id);
CREATE INDEX resources_by_name ON resources(project_id, name COLLATE "C", id);
CREATE INDEX resources_by_type_sorted ON resources(project_id, type COLLATE "C", id);
CREATE INDEX resources_by_status_sorted ON resources(project_id, status COLLATE "C", id);
CREATE INDEX resource_attributes_sorted ON resource_attributes(project_id, key, value COLLATE "C", resource_id COLLATE "C");
