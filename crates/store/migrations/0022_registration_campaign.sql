-- R55: a session the registration campaign interrupted can reach only Security info until
-- its user registers the targeted passkey or chooses "Not now".
ALTER TABLE sessions ADD COLUMN campaign_pending BIGINT NOT NULL DEFAULT 0;
-- What each user did with the campaign: how often they postponed it, until when, and when
-- they were first and last asked (the adoption report's campaign progress).
CREATE TABLE campaign_progress (
    user_id TEXT PRIMARY KEY,
    snoozes BIGINT NOT NULL,
    snoozed_until BIGINT,
    first_asked_at BIGINT NOT NULL,
    last_asked_at BIGINT NOT NULL
);
