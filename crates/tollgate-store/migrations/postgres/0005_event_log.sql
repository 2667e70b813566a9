-- The events API and the live stream. `seq` is each event's place in the log: its transaction's
-- id times 65536 plus its place among that transaction's events. Transactions commit in another
-- order than the one they started in, but every transaction older than a reader's snapshot xmin
-- has ended, so the events below `xmin * 65536` are final: a reader hands out only those (see
-- event_log.rs), and one that resumes after the last `seq` it saw misses nothing. The rows
-- written before this migration keep their order below every new one. The resource an event is
-- about, and its type, are columns so that the filters need no JSON.
ALTER TABLE events ADD COLUMN seq BIGINT, ADD COLUMN resource_id TEXT, ADD COLUMN resource_type TEXT;
UPDATE events e SET seq = r.n FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM events) AS r
    WHERE r.id = e.id;
UPDATE events SET resource_id = payload::jsonb -> 'data' ->> 'id', resource_type = payload::jsonb -> 'data' ->> 'type'
    WHERE type LIKE 'resource.%';
ALTER TABLE events ALTER COLUMN seq SET NOT NULL;
CREATE UNIQUE INDEX events_by_seq ON events(seq);
CREATE INDEX events_by_project ON events(project_id, seq);
-- The pruner keeps an event while any delivery of it is kept.
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries(event_id);
