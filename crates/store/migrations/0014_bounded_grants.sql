-- What signed a session in, so that what it led to can end with it (R47): the id of the
-- passkey or Temporary Access Pass used, and whether the passkey's AAGUID was attested at
-- registration (R32: only an attested AAGUID meets a strength's AAGUID restriction).
ALTER TABLE sessions ADD COLUMN passkey_attested BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN credential_id TEXT;
-- A grant ends at an absolute time: its refresh family's lifetime, or sooner the expiry of
-- the TAP that started it. Grants made before this migration keep no end (NULL): they are
-- bounded by the refresh tokens' own lifetime and re-checked on every refresh.
ALTER TABLE oauth_grants ADD COLUMN ends_at BIGINT;
-- The signals of the sign-in that made the grant, so that every refresh re-runs the access
-- decision as it was made (source address, user agent, the device that proved its key)
-- against today's policies, account, credential and device.
ALTER TABLE oauth_grants ADD COLUMN source TEXT;
ALTER TABLE oauth_grants ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE oauth_grants ADD COLUMN device_id TEXT;
CREATE INDEX sessions_credential ON sessions (credential_id);
