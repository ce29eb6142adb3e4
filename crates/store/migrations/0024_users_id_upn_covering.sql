-- The passkey inventory reads passkeys in owner order joined to their owner's name. Through the
-- primary key each row's name is a seek into the users table, in no particular order (ids are
-- random), so a large tenant's inventory spent a fifth of its time in page reads for it. With
-- the name beside the id in one index the join reads that index in order, as the passkeys are.
CREATE INDEX users_id_upn ON users (id, upn);
