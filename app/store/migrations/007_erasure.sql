-- Right to erasure (GDPR art. 17). A tombstone keeps a forgotten person from coming back with a later sync or
-- webhook push while Tracardi still holds them; it stores a keyed hash of the id (HMAC-SHA256, key outside the
-- database), never the id. The erasure log is the proof: when, by whom, which stores, how many rows; no
-- personal data. It is append-only: updates and deletes are refused by a trigger.
CREATE TABLE IF NOT EXISTS profile_ai.tombstones (
    id_hash     text PRIMARY KEY,
    erasure_id  bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS profile_ai.erasure_log (
    erasure_id  bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,           -- the API key id, or "cli"
    reason      text,
    id_hashes   text[] NOT NULL,         -- keyed hashes of every id erased (the person and their aliases)
    removed     jsonb NOT NULL,          -- store -> rows removed
    action      text NOT NULL DEFAULT 'forget'  -- forget | unforget
);
CREATE OR REPLACE FUNCTION profile_ai.erasure_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'profile_ai.erasure_log is append-only';
END $$;
DROP TRIGGER IF EXISTS erasure_log_append_only ON profile_ai.erasure_log;
CREATE TRIGGER erasure_log_append_only BEFORE UPDATE OR DELETE ON profile_ai.erasure_log
    FOR EACH ROW EXECUTE FUNCTION profile_ai.erasure_log_append_only();
ALTER TABLE profile_ai.tombstones ENABLE ROW LEVEL SECURITY;
ALTER TABLE profile_ai.erasure_log ENABLE ROW LEVEL SECURITY;
