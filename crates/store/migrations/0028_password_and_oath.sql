-- Issue 17: the password and the authenticator app as methods.
-- A password is kept only as its Argon2id hash (PHC string); `must_change` is Graph's
-- passwordProfile.forceChangePasswordNextSignIn.
CREATE TABLE user_passwords (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    hash TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    must_change BIGINT NOT NULL
);

-- An authenticator app (software OATH, TOTP). The server must compute the codes, so the
-- secret cannot be a hash: it is sealed (ChaCha20-Poly1305, key derived from the server
-- secret, the row's id as associated data). `last_step` is the time step of the last code
-- accepted: a code is taken by moving it forward with a compare-and-set, so a code works once.
CREATE TABLE software_oath_methods (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_step BIGINT
);
