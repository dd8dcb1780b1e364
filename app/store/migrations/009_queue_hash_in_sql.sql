-- The write-back queue's payload hash is now computed by PostgreSQL, from the payload's canonical jsonb text
-- (app/store/writeback_repository.py), so that a million profiles' traits are queued without passing through
-- Python. Rows queued before hashed the payload in Python; rehash them the same way, or every profile's
-- unchanged traits would be queued and sent once more.
UPDATE profile_ai.writeback_queue SET payload_hash = encode(sha256(convert_to(payload::text, 'UTF8')), 'hex');
