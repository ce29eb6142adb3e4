-- The serial number (`no`) of the last FIDO MDS3 BLOB imported: a BLOB whose number is not
-- greater is an old one replayed (or a rollback), and is refused. One row, updated by a
-- compare-and-set so that concurrent imports queue.
CREATE TABLE mds_state (
    id BIGINT PRIMARY KEY,
    last_no BIGINT NOT NULL
);
INSERT INTO mds_state (id, last_no) VALUES (1, -1);
