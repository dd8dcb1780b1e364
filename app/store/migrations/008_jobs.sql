-- Jobs (issue 17). The queue itself is Procrastinate's, in its own schema (profile_ai_jobs, created by
-- app/jobs/engine.py from the installed library's schema); these tables are what profile-ai adds around it.

-- Schedules a user sets once: which job, how often (a cron expression), with which arguments. The next fire
-- time moves by compare-and-swap, so two schedulers (two workers, two machines) never defer one firing twice.
CREATE TABLE profile_ai.schedules (
    name text PRIMARY KEY,
    job text NOT NULL,
    cron text NOT NULL,
    args jsonb NOT NULL DEFAULT '{}'::jsonb,
    enabled boolean NOT NULL DEFAULT true,
    next_run_at timestamptz NOT NULL,
    last_run_at timestamptz,
    last_job_id bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A partitioned backfill: one row per run, one per partition. The watermark moves when every partition is done.
CREATE TABLE profile_ai.backfill_runs (
    run_id text PRIMARY KEY,
    source text NOT NULL,
    partitions integer NOT NULL CHECK (partitions > 0),
    status text NOT NULL DEFAULT 'running',  -- running | applying | done | failed
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    result jsonb,
    error text
);

CREATE TABLE profile_ai.backfill_partitions (
    run_id text NOT NULL REFERENCES profile_ai.backfill_runs(run_id) ON DELETE CASCADE,
    partition integer NOT NULL,
    status text NOT NULL DEFAULT 'pending',  -- pending | done
    attempts integer NOT NULL DEFAULT 0,
    seen jsonb,      -- the profile ids this partition read (a complete read deletes the rest)
    result jsonb,    -- its counts
    finished_at timestamptz,
    PRIMARY KEY (run_id, partition)
);

-- Encoded batches waiting for the one process that owns the embedded index (a Qdrant server needs none:
-- workers write to it directly). A retried partition replaces its own batches; applying one deletes it.
CREATE TABLE profile_ai.backfill_staged (
    run_id text NOT NULL REFERENCES profile_ai.backfill_runs(run_id) ON DELETE CASCADE,
    partition integer NOT NULL,
    seq integer NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (run_id, partition, seq)
);

-- Changes for automations: a profile entered or left a published segment, or a prediction tier changed.
-- Readable since a cursor (the id); delivered to Tracardi as events with the write-back, once each.
CREATE TABLE profile_ai.changes (
    id bigserial PRIMARY KEY,
    profile_id text NOT NULL,
    kind text NOT NULL,  -- segment-entered | segment-left | tier-changed
    subject text NOT NULL,  -- the segment id or the model id
    before jsonb,
    after jsonb,
    model_version text,
    created_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    claimed_until timestamptz,  -- a delivery run's lease: two runs never send one change
    attempts integer NOT NULL DEFAULT 0,
    last_error text
);
CREATE INDEX changes_undelivered ON profile_ai.changes (id) WHERE delivered_at IS NULL;
CREATE INDEX changes_profile ON profile_ai.changes (profile_id);

ALTER TABLE profile_ai.schedules ENABLE ROW LEVEL SECURITY;
ALTER TABLE profile_ai.backfill_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE profile_ai.backfill_partitions ENABLE ROW LEVEL SECURITY;
ALTER TABLE profile_ai.backfill_staged ENABLE ROW LEVEL SECURITY;
ALTER TABLE profile_ai.changes ENABLE ROW LEVEL SECURITY;

-- What each job run did, written by profile-ai's runner around Procrastinate's own status: start, end,
-- result or error (Procrastinate keeps no error text), for `profile-ai jobs`, /v1/jobs and /metrics.
CREATE TABLE profile_ai.job_runs (
    id bigserial PRIMARY KEY,
    job_id bigint,
    job text NOT NULL,
    args jsonb NOT NULL DEFAULT '{}'::jsonb,
    worker text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status text NOT NULL DEFAULT 'running',  -- running | succeeded | failed
    result jsonb,
    error text
);
CREATE INDEX job_runs_job ON profile_ai.job_runs (job, started_at DESC);
CREATE INDEX job_runs_job_id ON profile_ai.job_runs (job_id);

-- The last published segment memberships and prediction tiers that changes were computed against.
CREATE TABLE profile_ai.change_snapshot (
    profile_id text NOT NULL,
    kind text NOT NULL,  -- segment | tier
    subject text NOT NULL,  -- the segment id, or the goal
    value text NOT NULL,  -- 'member', or the tier
    model_id text,
    PRIMARY KEY (profile_id, kind, subject)
);

ALTER TABLE profile_ai.job_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE profile_ai.change_snapshot ENABLE ROW LEVEL SECURITY;
