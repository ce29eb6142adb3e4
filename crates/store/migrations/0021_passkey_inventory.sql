-- R26: an administrator can disable a passkey (kept, refused at sign-in) and enable it again.
ALTER TABLE passkeys ADD COLUMN disabled_at BIGINT;
ALTER TABLE passkeys ADD COLUMN disabled_by TEXT;
-- R52: the inventory reports how a passkey's attestation vouched for it and whether it is
-- backed up (the BS flag, as last seen), and reads passkeys a chunk at a time in
-- (user, id) order.
ALTER TABLE passkeys ADD COLUMN attestation_type TEXT;
ALTER TABLE passkeys ADD COLUMN backed_up BIGINT;
-- Passkeys stored before: the type follows from the statement format and whether it
-- carried a chain (packed without one is self attestation).
UPDATE passkeys SET attestation_type = CASE
    WHEN fmt = 'none' THEN 'none'
    WHEN fmt = 'packed' AND x5c_json = '[]' THEN 'self'
    WHEN fmt = 'apple' THEN 'anonca'
    WHEN fmt = 'tpm' THEN 'attca'
    ELSE 'basic' END;
CREATE INDEX passkeys_user_id ON passkeys (user_id, id);
-- R28: a sign-in log entry involving a passkey says whether its AAGUID is attested, beside
-- the AAGUID itself (0019).
ALTER TABLE sign_in_log ADD COLUMN passkey_attested BIGINT;
