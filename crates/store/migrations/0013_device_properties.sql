-- Administrator-set device properties that Conditional Access device filters read (trust
-- type, ownership, maker, model, OS version, extensionAttribute1-15), as one JSON document.
ALTER TABLE devices ADD COLUMN properties TEXT NOT NULL DEFAULT '{}';
