-- API keys may expire (`keys create --expires-in 90d`); a key without expires_at lives until it is revoked.
ALTER TABLE profile_ai.api_keys ADD COLUMN IF NOT EXISTS expires_at timestamptz;
