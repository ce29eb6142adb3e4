-- R24: what the client reported about the authenticator — its attachment (`platform`,
-- `cross-platform`) and transports (comma-separated WebAuthn names) — kept on the passkey
-- at registration and on each sign-in with one. Passkeys stored before reported nothing.
ALTER TABLE passkeys ADD COLUMN attachment TEXT;
ALTER TABLE passkeys ADD COLUMN transports TEXT;
ALTER TABLE sign_in_log ADD COLUMN passkey_attachment TEXT;
ALTER TABLE sign_in_log ADD COLUMN passkey_transports TEXT;
