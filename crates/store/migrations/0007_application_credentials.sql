-- Confidential applications' client secrets (Argon2id hashes only) and the application
-- permissions (app roles) granted to each application.
CREATE TABLE application_secrets (
    app_id TEXT PRIMARY KEY REFERENCES applications (app_id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE application_permissions (
    app_id TEXT NOT NULL REFERENCES applications (app_id) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (app_id, permission)
);
