-- Holdouts and exposures (issue 30). A published segment may keep a control group: `share` of its members, chosen
-- by a hash of (segment id, profile id), so a member keeps its arm for the segment's life and no refresh or
-- re-publish reshuffles it. Only the treated arm reaches traits (and so Tracardi); both arms are recorded with the
-- time each member first entered, which is what measured lift counts outcomes from.
CREATE TABLE IF NOT EXISTS profile_ai.segment_holdouts (
    segment_id  text PRIMARY KEY,
    share       double precision NOT NULL CHECK (share >= 0 AND share <= 0.5),
    set_at      timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS profile_ai.segment_exposures (
    segment_id  text NOT NULL,
    profile_id  text NOT NULL,
    arm         text NOT NULL CHECK (arm IN ('treated', 'control')),
    entered_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (segment_id, profile_id)
);
CREATE INDEX IF NOT EXISTS segment_exposures_entered ON profile_ai.segment_exposures (segment_id, entered_at);
ALTER TABLE profile_ai.segment_holdouts ENABLE ROW LEVEL SECURITY;
ALTER TABLE profile_ai.segment_exposures ENABLE ROW LEVEL SECURITY;

-- A member's place in [0, 1): the first 32 bits of md5(segment id ':' profile id). The same function is written
-- in Python (app/segments/holdout.py); a test holds them equal.
CREATE OR REPLACE FUNCTION profile_ai.holdout_bucket(segment_id text, profile_id text) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT ('x' || substr(md5(segment_id || ':' || profile_id), 1, 8))::bit(32)::bigint / 4294967296.0 $$;

-- Traits list a published segment only for its treated arm: the control group never hears of the campaign.
CREATE OR REPLACE VIEW profile_ai.current_traits WITH (security_invoker = true) AS
SELECT f.profile_id,
       f.event_count, f.last_seen, f.monetary, f.purchases,
       COALESCE((SELECT jsonb_object_agg(p.goal, jsonb_build_object(
                    'probability', p.probability, 'value', p.value, 'percentile', p.percentile, 'tier', p.tier,
                    'model_id', p.model_id, 'as_of', p.as_of))
                 FROM profile_ai.predictions p
                 JOIN profile_ai.models m ON m.model_id = p.model_id AND m.status = 'active'
                 WHERE p.profile_id = f.profile_id), '{}'::jsonb) AS predictions,
       COALESCE((SELECT jsonb_agg(s.segment_id ORDER BY s.segment_id) FROM profile_ai.segment_memberships s
                 JOIN profile_ai.current_segments d ON d.segment_id = s.segment_id AND d.version = s.version
                      AND d.status = 'published'
                 LEFT JOIN profile_ai.segment_holdouts h ON h.segment_id = s.segment_id
                 WHERE s.profile_id = f.profile_id
                   AND (h.segment_id IS NULL OR profile_ai.holdout_bucket(s.segment_id, s.profile_id) >= h.share)),
                '[]'::jsonb) AS segments
FROM profile_ai.profile_features f;
