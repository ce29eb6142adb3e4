-- Passkeys and server-side WebAuthn ceremony state (portable DDL, as in 0001).

CREATE TABLE passkeys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL UNIQUE,
    credential_json TEXT NOT NULL,
    aaguid TEXT NOT NULL,
    display_name TEXT NOT NULL,
    fmt TEXT NOT NULL,
    attested BIGINT NOT NULL,
    synced BIGINT NOT NULL,
    x5c_json TEXT NOT NULL,
    profile_id TEXT,
    device TEXT,
    device_profile TEXT,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    sign_count BIGINT NOT NULL,
    flagged_clone BIGINT NOT NULL,
    deleted_at BIGINT,
    deleted_by TEXT
);
CREATE INDEX passkeys_user ON passkeys (user_id);

CREATE TABLE ceremonies (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    user_id TEXT,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed_at BIGINT
);
CREATE INDEX ceremonies_expires ON ceremonies (expires_at);
