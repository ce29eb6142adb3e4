-- The issuer (public URL) the server's tokens carry, recorded by `serve`, so that
-- `portcullis token` mints tokens the server accepts without being told the URL again.
ALTER TABLE tenant ADD COLUMN issuer TEXT;
