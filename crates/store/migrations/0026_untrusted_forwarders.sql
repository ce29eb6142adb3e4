-- Peers that sent X-Forwarded-For while trusted_proxies did not list them, as the servers saw
-- them (at most one write an hour a server): readiness reports them (R50, R60).
CREATE TABLE untrusted_forwarders (
    peer TEXT PRIMARY KEY,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
