-- An application holds a list of client secrets (Graph passwordCredentials), each with its
-- key id, a three-character hint, a validity period and only the Argon2id hash of the
-- secret: addPassword adds one, removePassword removes one, and no call replaces the others.
CREATE TABLE application_password_credentials (
    key_id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES applications (app_id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL,
    hint TEXT NOT NULL,
    display_name TEXT,
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX application_password_credentials_app ON application_password_credentials (app_id);
-- The one secret an application could hold before becomes its first credential (its key id
-- is the application's id, unique then; its hint is unknown; it ends two years from its
-- creation, as Graph's default).
INSERT INTO application_password_credentials (key_id, app_id, secret_hash, hint, display_name, start_at, end_at, created_at)
    SELECT app_id, app_id, secret_hash, '', NULL, created_at, created_at + 63072000000, created_at FROM application_secrets;
DROP TABLE application_secrets;
