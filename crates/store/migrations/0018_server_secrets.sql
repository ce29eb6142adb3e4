-- Secrets the server derives values from and never shows. `decoys` keys the decoy
-- credential ids a username-first sign-in gets for a name without passkeys, so that the
-- same name always gets the same ones, on every node.
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    secret TEXT NOT NULL
);
