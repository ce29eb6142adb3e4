-- A new signing key is published (JWKS) before it signs: clients that cache the JWKS have
-- it by the time tokens carry it. activates_at is when it starts signing; keys made before
-- this migration signed from their creation.
ALTER TABLE signing_keys ADD COLUMN activates_at BIGINT;
UPDATE signing_keys SET activates_at = created_at;
