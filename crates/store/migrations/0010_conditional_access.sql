-- Conditional Access: policies, named locations and custom authentication strengths, each
-- kept as its Graph-shaped JSON document (the domain crate validates and evaluates them).
CREATE TABLE ca_policies (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE named_locations (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE auth_strengths (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The passkey model a session signed in with: strengths may allow only some AAGUIDs.
ALTER TABLE sessions ADD COLUMN passkey_aaguid TEXT;

-- Sign-ins to applications, with Conditional Access results (graph-api.md §7.1).
ALTER TABLE sign_in_log ADD COLUMN app_id TEXT;
ALTER TABLE sign_in_log ADD COLUMN app_name TEXT;
ALTER TABLE sign_in_log ADD COLUMN ca_status TEXT;
ALTER TABLE sign_in_log ADD COLUMN applied_policies TEXT;
