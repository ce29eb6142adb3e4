-- Portable DDL: the same file runs on SQLite and PostgreSQL. Ids are UUID text,
-- times are milliseconds since the Unix epoch (BIGINT), booleans are BIGINT 0/1 (the Any driver cannot decode SQLite booleans).

CREATE TABLE tenant (
    singleton BIGINT PRIMARY KEY CHECK (singleton = 1),
    tenant_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    domain TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    bootstrap_admin_id TEXT
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    upn TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    account_enabled BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE directory_groups (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    security_enabled BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX directory_groups_name ON directory_groups (display_name);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES directory_groups (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE role_assignments (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_template_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, role_template_id)
);

CREATE TABLE applications (
    app_id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    public_client BIGINT NOT NULL,
    first_party BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE method_configurations (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE temporary_access_passes (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    start_at BIGINT NOT NULL,
    lifetime_minutes BIGINT NOT NULL,
    is_usable_once BIGINT NOT NULL,
    consumed_at BIGINT
);

CREATE TABLE auth_failures (
    id TEXT PRIMARY KEY,
    user_id TEXT,
    source TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX auth_failures_user ON auth_failures (user_id, at);
CREATE INDEX auth_failures_source ON auth_failures (source, at);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time BIGINT NOT NULL,
    methods TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    activity TEXT NOT NULL,
    category TEXT NOT NULL,
    service TEXT NOT NULL,
    operation TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT,
    actor_name TEXT NOT NULL,
    target_id TEXT NOT NULL,
    target_name TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    result TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE sign_in_log (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    user_id TEXT,
    upn TEXT NOT NULL,
    method TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    error_code BIGINT NOT NULL,
    failure_code TEXT,
    failure_reason TEXT
);
CREATE INDEX sign_in_log_at ON sign_in_log (at);
