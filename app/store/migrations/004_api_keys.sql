-- API keys: only a SHA-256 of the secret part is stored (the secret is 256 random bits, so a fast hash is
-- the right tool, as for GitHub or Stripe tokens); the key is shown once, at creation.
CREATE TABLE profile_ai.api_keys (
    key_id        text PRIMARY KEY,
    name          text NOT NULL DEFAULT '',
    scope         text NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
    secret_hash   text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
ALTER TABLE profile_ai.api_keys ENABLE ROW LEVEL SECURITY;
