-- profile-ai state layer: schema profile_ai. Row-level security is on for every table: Supabase's anon and
-- authenticated roles see nothing (no policies); the service connects as the owner, which RLS does not bind.
CREATE SCHEMA IF NOT EXISTS profile_ai;

-- sync: watermarks per source, what is indexed with which content hash, merge aliases, settings
CREATE TABLE profile_ai.sync_state (
    source      text PRIMARY KEY,
    watermark   timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE profile_ai.indexed_profiles (
    profile_id    text PRIMARY KEY,
    content_hash  text NOT NULL,
    fingerprint   text,
    updated_at    timestamptz,
    synced_at     timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE profile_ai.aliases (
    absorbed_id  text PRIMARY KEY,
    survivor_id  text NOT NULL,
    merged_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX aliases_survivor ON profile_ai.aliases (survivor_id);
CREATE TABLE profile_ai.meta (
    key    text PRIMARY KEY,
    value  text NOT NULL
);

-- per-profile aggregates, refreshed on every sync ("constantly enriched with aggregates from the CDP")
CREATE TABLE profile_ai.profile_features (
    profile_id    text PRIMARY KEY,
    event_count   integer NOT NULL,
    counts        jsonb NOT NULL DEFAULT '{}',
    first_seen    timestamptz,
    last_seen     timestamptz,
    active_days   integer NOT NULL DEFAULT 0,
    tenure_days   integer NOT NULL DEFAULT 0,
    frequency     double precision NOT NULL DEFAULT 0,  -- events per active day
    monetary      double precision NOT NULL DEFAULT 0,  -- spend total
    purchases     integer NOT NULL DEFAULT 0,
    rating_mean   double precision,
    top           jsonb NOT NULL DEFAULT '{}',
    computed_at   timestamptz NOT NULL DEFAULT now()
);

-- segments, versioned
CREATE TABLE profile_ai.segment_definitions (
    segment_id   text NOT NULL,
    version      integer NOT NULL,
    name         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    definition   jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (segment_id, version)
);
CREATE TABLE profile_ai.segment_memberships (
    segment_id   text NOT NULL,
    version      integer NOT NULL,
    profile_id   text NOT NULL,
    score        double precision,
    assigned_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (segment_id, version, profile_id),
    FOREIGN KEY (segment_id, version) REFERENCES profile_ai.segment_definitions (segment_id, version) ON DELETE CASCADE
);
CREATE INDEX segment_memberships_profile ON profile_ai.segment_memberships (profile_id);

-- model registry with model cards, and predictions with lineage
CREATE TABLE profile_ai.models (
    model_id      text PRIMARY KEY,
    goal          text NOT NULL,
    version       integer NOT NULL,
    horizon_days  integer NOT NULL,
    as_of         timestamptz NOT NULL,
    status        text NOT NULL DEFAULT 'active',
    card          jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (goal, version)
);
CREATE TABLE profile_ai.predictions (
    profile_id   text NOT NULL,
    model_id     text NOT NULL REFERENCES profile_ai.models (model_id) ON DELETE CASCADE,
    goal         text NOT NULL,
    probability  double precision,
    value        double precision,
    percentile   double precision,
    tier         text,
    as_of        timestamptz NOT NULL,
    computed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (profile_id, model_id)
);
CREATE INDEX predictions_goal ON profile_ai.predictions (goal, computed_at DESC);

-- write-back: what was sent where, and a persistent queue of what still has to be delivered
CREATE TABLE profile_ai.writeback_queue (
    id            bigserial PRIMARY KEY,
    target        text NOT NULL,              -- 'tracardi'
    profile_id    text NOT NULL,
    payload       jsonb NOT NULL,
    payload_hash  text NOT NULL,
    status        text NOT NULL DEFAULT 'pending',  -- pending | delivered | dead
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text,
    delivered_to  text,                       -- the profile id Tracardi answered with (a merge survivor)
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (target, profile_id, payload_hash)
);
CREATE INDEX writeback_pending ON profile_ai.writeback_queue (target, status) WHERE status = 'pending';

ALTER TABLE profile_ai.sync_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE profile_ai.indexed_profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE profile_ai.aliases ENABLE ROW LEVEL SECURITY;
ALTER TABLE profile_ai.meta ENABLE ROW LEVEL SECURITY;
ALTER TABLE profile_ai.profile_features ENABLE ROW LEVEL SECURITY;
ALTER TABLE profile_ai.segment_definitions ENABLE ROW LEVEL SECURITY;
ALTER TABLE profile_ai.segment_memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE profile_ai.models ENABLE ROW LEVEL SECURITY;
ALTER TABLE profile_ai.predictions ENABLE ROW LEVEL SECURITY;
ALTER TABLE profile_ai.writeback_queue ENABLE ROW LEVEL SECURITY;

-- For the platform's other modules: the current AI traits of each profile (read-only).
CREATE VIEW profile_ai.current_traits WITH (security_invoker = true) AS
SELECT f.profile_id,
       f.event_count, f.last_seen, f.monetary, f.purchases,
       COALESCE((SELECT jsonb_object_agg(p.goal, jsonb_build_object(
                    'probability', p.probability, 'value', p.value, 'percentile', p.percentile, 'tier', p.tier,
                    'model_id', p.model_id, 'as_of', p.as_of))
                 FROM profile_ai.predictions p
                 JOIN profile_ai.models m ON m.model_id = p.model_id AND m.status = 'active'
                 WHERE p.profile_id = f.profile_id), '{}'::jsonb) AS predictions,
       COALESCE((SELECT jsonb_agg(DISTINCT s.segment_id) FROM profile_ai.segment_memberships s
                 WHERE s.profile_id = f.profile_id), '[]'::jsonb) AS segments
FROM profile_ai.profile_features f;
COMMENT ON VIEW profile_ai.current_traits IS
  'Read-only: per profile, its aggregates, the predictions of active models and its segments.';
