-- A counter that every change to a Conditional Access document (policy, named location,
-- custom strength) increments in the same transaction, so that each node can keep its
-- parsed and indexed configuration between sign-ins and know, with one read, when another
-- node has changed it.
CREATE TABLE ca_version (
    id BIGINT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO ca_version (id, version) VALUES (1, 0);
