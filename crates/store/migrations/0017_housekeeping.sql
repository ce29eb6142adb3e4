-- Housekeeping deletes failures older than the lock-out window by time alone.
CREATE INDEX auth_failures_at ON auth_failures (at);
