-- The outbox tables keyed as they are read and without rowids: an event, a delivery or an
-- attempt is then one B-tree entry rather than a row plus a primary-key index, and a
-- delivery's key (endpoint, id) serves an endpoint's delivery list without an index of its
-- own. Fewer trees change per write, so every commit writes fewer pages. The delivery tables
-- carry no foreign keys: each check is another lookup per write, and the one path that deletes
-- (removing an endpoint) deletes its deliveries and attempts itself.
ALTER TABLE webhook_attempts RENAME TO webhook_attempts_v3;
ALTER TABLE webhook_deliveries RENAME TO webhook_deliveries_v3;
ALTER TABLE events RENAME TO events_v3;
DROP INDEX events_unpublished;
DROP INDEX webhook_deliveries_due;
DROP INDEX webhook_deliveries_by_endpoint;

CREATE TABLE events (
    id            TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL,
    type          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    published_at  INTEGER
) WITHOUT ROWID;
CREATE INDEX events_unpublished ON events(id) WHERE published_at IS NULL;

CREATE TABLE webhook_deliveries (
    endpoint_id      TEXT NOT NULL,
    id               TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    locked_until     INTEGER,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, id)
) WITHOUT ROWID;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';

CREATE TABLE webhook_attempts (
    endpoint_id  TEXT NOT NULL,
    delivery_id  TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    status_code  INTEGER,
    error        TEXT,
    duration_ms  INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, delivery_id, attempt)
) WITHOUT ROWID;

INSERT INTO events SELECT id, project_id, type, payload, created_at, published_at FROM events_v3;
INSERT INTO webhook_deliveries
    SELECT endpoint_id, id, event_id, status, attempts, next_attempt_at, locked_until, created_at FROM webhook_deliveries_v3;
INSERT INTO webhook_attempts
    SELECT d.endpoint_id, a.delivery_id, a.attempt, a.at, a.status_code, a.error, a.duration_ms
    FROM webhook_attempts_v3 a JOIN webhook_deliveries_v3 d ON d.id = a.delivery_id;
DROP TABLE webhook_attempts_v3;
DROP TABLE webhook_deliveries_v3;
DROP TABLE events_v3;
