-- Live model quality (issue 35): each scoring keeps a compact snapshot of what it predicted; once its horizon has
-- passed, what came true is computed from the event log and kept beside it. Profiles are numbered once
-- (profile_ordinals) so a snapshot holds 4-byte ordinals, not ids; erasing a person deletes their ordinal, which
-- leaves their old scores in snapshots linked to nobody.
CREATE TABLE IF NOT EXISTS profile_ai.profile_ordinals (
    profile_id  text PRIMARY KEY,
    ordinal     integer GENERATED ALWAYS AS IDENTITY UNIQUE
);
CREATE TABLE IF NOT EXISTS profile_ai.score_snapshots (
    snapshot_id   bigserial PRIMARY KEY,
    model_id      text NOT NULL REFERENCES profile_ai.models (model_id) ON DELETE CASCADE,
    goal          text NOT NULL,
    as_of         timestamptz NOT NULL,
    horizon_days  integer NOT NULL,
    profiles      integer NOT NULL,
    scores        bytea NOT NULL,       -- prediction/monitoring.py: encode_snapshot
    drift         jsonb NOT NULL DEFAULT '{}',
    realized      jsonb,                -- null until the horizon has passed and it was computed
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS score_snapshots_model ON profile_ai.score_snapshots (model_id, as_of);
ALTER TABLE profile_ai.profile_ordinals ENABLE ROW LEVEL SECURITY;
ALTER TABLE profile_ai.score_snapshots ENABLE ROW LEVEL SECURITY;
