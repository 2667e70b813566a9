-- Requests per credential and hour, for the console's 7-day charts. Each node counts in memory
-- and adds its counts in batches (`requests = requests + excluded.requests`), so several nodes
-- add up; rows older than 30 days are pruned. `hour` is the hour's start in unix microseconds.
CREATE TABLE credential_usage_hours (
    credential_id  TEXT NOT NULL,
    hour           BIGINT NOT NULL,
    project_id     TEXT NOT NULL,
    requests       BIGINT NOT NULL,
    PRIMARY KEY (credential_id, hour)
);
CREATE INDEX credential_usage_hours_by_age ON credential_usage_hours(hour);
