-- R23: the method a user signs in with first after typing their name.
ALTER TABLE users ADD COLUMN preferred_method TEXT;
