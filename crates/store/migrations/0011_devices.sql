-- Devices enrolled by an MDM-style administrator, with the public key the client proves
-- possession of at sign-in; compliance is set by the administrator, never by the client.
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    platform TEXT NOT NULL,
    is_compliant BIGINT NOT NULL,
    public_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX devices_owner ON devices (owner_id);
