-- One live signing key per algorithm, enforced by the database: of two servers (or two
-- requests) that both find none and make one, only the first insert lands, and both then
-- sign with it. Live duplicates that concurrent first requests made before this are retired
-- (they stay published for the grace period, so tokens they signed keep verifying).
UPDATE signing_keys SET retired_at = (
    SELECT MAX(s2.created_at) FROM signing_keys s2 WHERE s2.alg = signing_keys.alg
)
WHERE retired_at IS NULL
  AND kid <> (
    SELECT s3.kid FROM signing_keys s3
    WHERE s3.alg = signing_keys.alg AND s3.retired_at IS NULL
    ORDER BY s3.created_at DESC, s3.kid LIMIT 1
  );
CREATE UNIQUE INDEX signing_keys_one_live ON signing_keys (alg) WHERE retired_at IS NULL;
