-- The metadata store (R7): authenticator names and attestation roots by AAGUID.
CREATE TABLE metadata (
    aaguid TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    roots_json TEXT NOT NULL,
    source TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
