-- Top-level settings of the authentication methods policy (registrationEnforcement,
-- reconfirmationInDays), as a Graph JSON document.
CREATE TABLE policy_settings (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
