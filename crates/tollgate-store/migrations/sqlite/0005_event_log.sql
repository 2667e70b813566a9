-- The events API and the live stream. `seq` is each event's place in commit order: the one
-- writer numbers events inside its transactions, so a reader always sees a prefix of it. The
-- resource an event is about, and its type, are columns so that the filters need no JSON.
ALTER TABLE events ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN resource_id TEXT;
ALTER TABLE events ADD COLUMN resource_type TEXT;
UPDATE events SET seq = r.n FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM events) AS r
    WHERE r.id = events.id;
UPDATE events SET resource_id = json_extract(payload, '$.data.id'), resource_type = json_extract(payload, '$.data.type')
    WHERE type LIKE 'resource.%' AND json_valid(payload);
CREATE UNIQUE INDEX events_by_seq ON events(seq);
CREATE INDEX events_by_project ON events(project_id, seq);
-- The pruner keeps an event while any delivery of it is kept.
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries(event_id);
