-- The events API and the live stream. Concurrent transactions commit in another order than the
-- one they wrote in, so `seq` (taken from a sequence when the event is written, after the
-- change's row locks) is delivered only once it is settled: `horizon` is the first transaction
-- id not yet started when the event was written, and once every transaction before it has ended
-- (the reader's snapshot xmin has passed it) no event with a smaller `seq` can still appear.
-- The resource an event is about, and its type, are columns so that the filters need no JSON.
CREATE SEQUENCE events_seq;
ALTER TABLE events ADD COLUMN seq BIGINT, ADD COLUMN horizon BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN resource_id TEXT, ADD COLUMN resource_type TEXT;
UPDATE events e SET seq = r.n FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM events) AS r
    WHERE r.id = e.id;
UPDATE events SET resource_id = payload::jsonb -> 'data' ->> 'id', resource_type = payload::jsonb -> 'data' ->> 'type'
    WHERE type LIKE 'resource.%';
SELECT setval('events_seq', COALESCE((SELECT MAX(seq) FROM events), 0) + 1, false);
ALTER TABLE events ALTER COLUMN seq SET NOT NULL;
CREATE UNIQUE INDEX events_by_seq ON events(seq);
CREATE INDEX events_by_project ON events(project_id, seq);
-- The pruner keeps an event while any delivery of it is kept.
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries(event_id);
