-- Issue 17: Microsoft Authenticator push with number matching.
-- A device is an app instance's key (P-256, its public point SEC1-encoded, base64url), added
-- when the account is added in the app; any device of the user may answer their requests.
CREATE TABLE authenticator_devices (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    public_key TEXT NOT NULL,
    display_name TEXT NOT NULL,
    platform TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX authenticator_devices_user ON authenticator_devices (user_id);

-- An approval request: the number the sign-in page shows, where it stands
-- (pending, approved, userDenied, wrongNumber, used) and the context the app shows.
-- Answering and using are compare-and-sets on `state`.
CREATE TABLE push_approvals (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    state TEXT NOT NULL,
    app_name TEXT,
    location TEXT,
    answered_at BIGINT
);
CREATE INDEX push_approvals_user ON push_approvals (user_id, created_at);
