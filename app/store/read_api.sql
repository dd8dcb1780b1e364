-- The read API other apps use (Supabase's Data API / PostgREST, or plain SQL): read-only views in their own
-- schema, `profile_ai_api`, run with the reader's rights (security_invoker), so row-level security on the tables
-- below still decides what each role sees. Applied at every start (idempotent): roles created later are granted
-- on the next start. What never leaves: features, the event log, documents, artifacts, keys, tombstones.
CREATE SCHEMA IF NOT EXISTS profile_ai_api;

CREATE OR REPLACE VIEW profile_ai_api.predicted_traits WITH (security_invoker = true) AS
SELECT p.profile_id, p.goal, p.model_id, m.version AS model_version, p.as_of, p.probability, p.value,
       p.percentile, p.tier, p.computed_at
FROM profile_ai.predictions p JOIN profile_ai.models m ON m.model_id = p.model_id
WHERE m.status = 'active';

-- The audience to reach: a published segment's treated members (its control group, if it keeps one, is left out,
-- so an app that sends a campaign from this view never reaches it).
CREATE OR REPLACE VIEW profile_ai_api.segment_members WITH (security_invoker = true) AS
SELECT m.profile_id, d.segment_id, d.name AS segment_name, d.kind, d.version, m.score, m.assigned_at
FROM profile_ai.segment_memberships m
JOIN profile_ai.segment_definitions d ON d.segment_id = m.segment_id AND d.version = m.version
LEFT JOIN profile_ai.segment_holdouts h ON h.segment_id = m.segment_id
WHERE d.status = 'published'
  AND d.version = (SELECT max(x.version) FROM profile_ai.segment_definitions x WHERE x.segment_id = d.segment_id)
  AND (h.segment_id IS NULL OR profile_ai.holdout_bucket(m.segment_id, m.profile_id) >= h.share);

-- Every member who entered a published segment, with the arm and the time of entry: what a campaign is measured on.
CREATE OR REPLACE VIEW profile_ai_api.segment_arms WITH (security_invoker = true) AS
SELECT x.segment_id, x.profile_id, x.arm, x.entered_at, h.share AS holdout
FROM profile_ai.segment_exposures x LEFT JOIN profile_ai.segment_holdouts h ON h.segment_id = x.segment_id;

CREATE OR REPLACE VIEW profile_ai_api.model_cards WITH (security_invoker = true) AS
SELECT model_id, goal, version, horizon_days, as_of, status, card, created_at FROM profile_ai.models;

CREATE OR REPLACE VIEW profile_ai_api.changes WITH (security_invoker = true) AS
SELECT id, profile_id, kind, subject, before, after, model_version, created_at FROM profile_ai.changes;

REVOKE ALL ON SCHEMA profile_ai, profile_ai_api FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA profile_ai FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA profile_ai_api FROM PUBLIC;
