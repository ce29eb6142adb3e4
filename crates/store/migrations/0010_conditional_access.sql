-- Conditional Access: policies, named locations and custom authentication strengths, each
-- kept as its Graph-shaped JSON document (the domain crate validates and evaluates them).
CREATE TABLE ca_policies (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE named_locations (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE auth_strengths (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
