-- Token signing keys. The private key is stored as PKCS#8 PEM: a signing key cannot be
-- hashed; protect the database (or its disk) accordingly.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    private_pem TEXT NOT NULL,
    public_pem TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);
