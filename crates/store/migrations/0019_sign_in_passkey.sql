-- The model of the passkey a sign-in used, for the admin center's detail pane.
ALTER TABLE sign_in_log ADD COLUMN passkey_aaguid TEXT;
