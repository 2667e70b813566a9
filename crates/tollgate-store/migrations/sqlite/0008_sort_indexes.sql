-- Sorted listings read an index in order instead of sorting every matching row, so a cursor page
-- costs the same at any depth: one index per sortable column, with the id as the tie-break.
-- `type` and `status` are served by resources_by_type and resources_by_status, and attributes by
-- resource_attributes_lookup (project_id, key, value, resource_id).
CREATE INDEX resources_by_created ON resources(project_id, created_at, id);
CREATE INDEX resources_by_updated ON resources(project_id, updated_at, id);
CREATE INDEX resources_by_name ON resources(project_id, name, id);
