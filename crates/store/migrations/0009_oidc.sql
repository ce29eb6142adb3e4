-- OpenID Connect: what an application registers (redirect URIs, the flags and custom
-- security attributes Conditional Access reads, Graph object ids), and the grants that an
-- authorization issues. Codes and refresh tokens are stored only as SHA-256 hashes of
-- high-entropy random values.
ALTER TABLE applications ADD COLUMN object_id TEXT;
ALTER TABLE applications ADD COLUMN sp_object_id TEXT;
ALTER TABLE applications ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE applications ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
ALTER TABLE applications ADD COLUMN approved_client_app BIGINT NOT NULL DEFAULT 0;
ALTER TABLE applications ADD COLUMN app_protection BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX applications_object_id ON applications (object_id);
CREATE UNIQUE INDEX applications_sp_object_id ON applications (sp_object_id);

-- One authorization: a user's consent to one client in one session. Revoking it kills every
-- refresh token and every access token of the family (code reuse, refresh-token reuse, logout).
CREATE TABLE oauth_grants (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES applications (app_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    methods TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_reason TEXT
);
CREATE INDEX oauth_grants_session ON oauth_grants (session_id);
CREATE INDEX oauth_grants_user ON oauth_grants (user_id);

CREATE TABLE oauth_codes (
    code_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE TABLE oauth_refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX oauth_refresh_grant ON oauth_refresh_tokens (grant_id);
