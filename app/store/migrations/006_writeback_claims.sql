-- Write-back items are claimed before they are sent: two runs (two workers, a cron and a manual run) never
-- send the same item, and an item whose profile has another item in flight waits, so an older payload can
-- never reach Tracardi after a newer one. A claim is a lease: a worker that dies releases it when it expires.
ALTER TABLE profile_ai.writeback_queue ADD COLUMN IF NOT EXISTS claimed_by text;
ALTER TABLE profile_ai.writeback_queue ADD COLUMN IF NOT EXISTS claimed_until timestamptz;
CREATE INDEX IF NOT EXISTS writeback_in_flight ON profile_ai.writeback_queue (target, profile_id)
    WHERE claimed_by IS NOT NULL;
