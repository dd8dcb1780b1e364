-- Deletions are scoped to the source that delivered a profile: a complete read of one source (an export
-- holding one profile, say) never removes what another source indexed. Rows written before this migration
-- belong to the one source this state has synced, when there is exactly one; otherwise to none (never deleted
-- by a read until that profile is written again).
ALTER TABLE profile_ai.indexed_profiles ADD COLUMN IF NOT EXISTS source text;
UPDATE profile_ai.indexed_profiles SET source = (SELECT min(source) FROM profile_ai.sync_state)
WHERE source IS NULL AND (SELECT count(*) FROM profile_ai.sync_state) = 1;
CREATE INDEX IF NOT EXISTS indexed_profiles_source ON profile_ai.indexed_profiles (source);
