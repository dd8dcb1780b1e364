-- Segments: kinds (discovered | description | lookalike), draft/published/retired status, the fitted
-- segmentation per discovery run (for assigning new profiles without re-clustering). Events: the compact
-- event log that point-in-time prediction features are computed from. Profile attributes (traits and
-- describing data, PII removed) so segment rules can be written in SQL over profile_ai tables.
ALTER TABLE profile_ai.profile_features ADD COLUMN attributes jsonb NOT NULL DEFAULT '{}';

ALTER TABLE profile_ai.segment_definitions
    ADD COLUMN kind          text NOT NULL DEFAULT 'discovered',
    ADD COLUMN status        text NOT NULL DEFAULT 'draft',
    ADD COLUMN run_version   integer,
    ADD COLUMN published_at  timestamptz,
    ADD COLUMN updated_at    timestamptz NOT NULL DEFAULT now();

CREATE TABLE profile_ai.segmentations (
    version     integer PRIMARY KEY,
    params      jsonb NOT NULL,
    model       jsonb NOT NULL,   -- blender + centres, plain numbers
    quality     jsonb NOT NULL,   -- k selection table, stability
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE profile_ai.events (
    profile_id  text NOT NULL,
    event_id    text NOT NULL,
    type        text NOT NULL,
    time        timestamptz NOT NULL,
    value       double precision,   -- the money amount the event dictionary names, if any
    properties  jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (profile_id, event_id)
);
CREATE INDEX events_time ON profile_ai.events (time);

ALTER TABLE profile_ai.segmentations ENABLE ROW LEVEL SECURITY;
ALTER TABLE profile_ai.events ENABLE ROW LEVEL SECURITY;

-- The current version of each segment.
CREATE VIEW profile_ai.current_segments WITH (security_invoker = true) AS
SELECT DISTINCT ON (segment_id) * FROM profile_ai.segment_definitions ORDER BY segment_id, version DESC;

-- Only published segments, in their current version, are traits of a profile.
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
                 WHERE s.profile_id = f.profile_id), '[]'::jsonb) AS segments
FROM profile_ai.profile_features f;
