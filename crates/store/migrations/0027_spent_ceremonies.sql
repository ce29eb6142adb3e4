-- Sign-in ceremonies are sealed into the token the client sends back (issue 18): asking for
-- options writes nothing. What makes one single use (R17) is this row, inserted in the same
-- transaction as the outcome it answers; a second insert of the same id finds it and fails.
-- Kept until the ceremony has expired, then pruned by housekeeping.
CREATE TABLE spent_ceremonies (
    id TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX spent_ceremonies_expiry ON spent_ceremonies (expires_at);
