-- Provisioning (Graph's fido2Methods POST) names its ceremony only by the challenge in
-- clientDataJSON, so ceremonies can be found by challenge.
ALTER TABLE ceremonies ADD COLUMN challenge TEXT;
CREATE INDEX ceremonies_challenge ON ceremonies (challenge);
