-- Issue 18: a session was indexed twice beside its token, by its user and by the credential
-- that opened it, and each index put a sign-in's entry on a page of its own (one place per
-- user, one per credential), written to the log with every group commit. A credential has
-- one owner, so one index on both serves both: its user's sessions by the leading column,
-- a credential's by its owner and itself.
DROP INDEX sessions_user;
DROP INDEX sessions_credential;
CREATE INDEX sessions_user_credential ON sessions (user_id, credential_id);
