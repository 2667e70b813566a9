-- The outbox as SQLite keeps it: an attempt names its endpoint, and counters are BIGINT like
-- every other integer, so both backends run the same statements and read the same types.
ALTER TABLE webhook_attempts ADD COLUMN endpoint_id TEXT;
UPDATE webhook_attempts a SET endpoint_id = d.endpoint_id FROM webhook_deliveries d WHERE d.id = a.delivery_id;
ALTER TABLE webhook_attempts ALTER COLUMN endpoint_id SET NOT NULL;
ALTER TABLE webhook_attempts ALTER COLUMN attempt TYPE BIGINT, ALTER COLUMN status_code TYPE BIGINT;
ALTER TABLE webhook_deliveries ALTER COLUMN attempts TYPE BIGINT;
