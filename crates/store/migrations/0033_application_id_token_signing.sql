-- Issue 18: an application may take its ID tokens signed with ES256 instead of RS256
-- (OpenID Connect's `id_token_signed_response_alg`). Every application registered before
-- keeps RS256, OpenID Connect's default.
ALTER TABLE applications ADD COLUMN id_token_alg TEXT NOT NULL DEFAULT 'RS256';
