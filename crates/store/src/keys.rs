//! Token signing keys.

use portcullis_domain::Timestamp;

use crate::bulk::{Cells, Param, Reader};
use crate::row::{ms, opt_ts, ts};
use crate::{Conn, Result};

/// A signing key. Its `Debug` leaves the private key out.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Key id (`kid`).
    pub kid: String,
    /// JWS algorithm, e.g. `ES256`.
    pub alg: String,
    /// PKCS#8 PEM.
    pub private_pem: String,
    /// SPKI PEM.
    pub public_pem: String,
    /// When it was made (and published).
    pub created_at: Timestamp,
    /// When it starts signing: after its pre-publication, or at once for a first key.
    pub activates_at: Timestamp,
    /// When it stops (or stopped) signing; it stays published while its tokens live.
    pub retired_at: Option<Timestamp>,
}

impl SigningKey {
    /// Whether it signs at `now`: its pre-publication over and not retired (what [`current`]
    /// asks of the key it finds, so a key read earlier can be asked again when it signs).
    pub fn signs_at(&self, now: Timestamp) -> bool {
        self.activates_at <= now && self.retired_at.is_none_or(|r| r > now)
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private_pem", &"(left out)")
            .field("public_pem", &self.public_pem)
            .field("created_at", &self.created_at)
            .field("activates_at", &self.activates_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

pub(crate) fn from_row<R: Cells + ?Sized>(r: &R) -> Result<SigningKey> {
    Ok(SigningKey {
        kid: r.text("kid")?,
        alg: r.text("alg")?,
        private_pem: r.text("private_pem")?,
        public_pem: r.text("public_pem")?,
        created_at: ts(r, "created_at")?,
        activates_at: opt_ts(r, "activates_at")?.map_or_else(|| ts(r, "created_at"), Ok)?,
        retired_at: opt_ts(r, "retired_at")?,
    })
}

/// Stores a key; false when the database kept another (one live key per algorithm: a
/// concurrent first key, or a rotation racing another).
pub async fn insert(c: &mut Conn, k: &SigningKey) -> Result<bool> {
    let done = sqlx::query("INSERT INTO signing_keys (kid, alg, private_pem, public_pem, created_at, activates_at, retired_at) VALUES ($1, $2, $3, $4, $5, $6, NULL) ON CONFLICT DO NOTHING")
        .bind(&k.kid)
        .bind(&k.alg)
        .bind(&k.private_pem)
        .bind(&k.public_pem)
        .bind(ms(k.created_at))
        .bind(ms(k.activates_at))
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The key that signs for an algorithm at `now`: active (its pre-publication over) and not
/// yet retired, the latest activated.
pub async fn current(c: &mut Conn, alg: &str, now: Timestamp) -> Result<Option<SigningKey>> {
    let r = sqlx::query(CURRENT)
        .bind(alg)
        .bind(ms(now))
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(from_row).transpose()
}

/// [`current`], through the reader: what every token signed reads first (on SQLite on the
/// calling thread, with no hand-off to a connection's worker).
pub async fn current_read(r: &Reader, alg: &str, now: Timestamp) -> Result<Option<SigningKey>> {
    let params = vec![Param::Text(alg.to_string()), Param::Int(ms(now))];
    r.one_row(CURRENT, params, |c: &dyn Cells| from_row(c))
        .await
}

pub(crate) const CURRENT: &str = "SELECT * FROM signing_keys WHERE alg = $1 AND COALESCE(activates_at, created_at) <= $2 AND (retired_at IS NULL OR retired_at > $2) ORDER BY COALESCE(activates_at, created_at) DESC, kid LIMIT 1";

/// The live key (not retired, perhaps still pre-published) for an algorithm.
pub async fn live(c: &mut Conn, alg: &str) -> Result<Option<SigningKey>> {
    let r = sqlx::query("SELECT * FROM signing_keys WHERE alg = $1 AND retired_at IS NULL")
        .bind(alg)
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(from_row).transpose()
}

/// Keys that sign now or stopped signing at or after `retired_since` (tokens they signed
/// may still be alive), oldest first.
pub async fn published(c: &mut Conn, retired_since: Timestamp) -> Result<Vec<SigningKey>> {
    let rows = sqlx::query("SELECT * FROM signing_keys WHERE retired_at IS NULL OR retired_at >= $1 ORDER BY created_at, kid").bind(ms(retired_since)).fetch_all(&mut *c).await?;
    rows.iter().map(from_row).collect()
}

/// Every key, oldest first.
pub async fn all(c: &mut Conn) -> Result<Vec<SigningKey>> {
    let rows = sqlx::query("SELECT * FROM signing_keys ORDER BY created_at, kid")
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Retires every signing key at `at` (now, or when their successors activate); a key already
/// retiring later is brought forward to `at`. Returns how many.
pub async fn retire_all(c: &mut Conn, at: Timestamp) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL OR retired_at > $1",
    )
    .bind(ms(at))
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected())
}

/// A key by id, retired or not (tokens it signed stay verifiable until they expire).
pub async fn by_kid(c: &mut Conn, kid: &str) -> Result<Option<SigningKey>> {
    let r = sqlx::query("SELECT * FROM signing_keys WHERE kid = $1")
        .bind(kid)
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(from_row).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use time::Duration;

    const NOW: Timestamp = datetime!(2026-12-02 8:00 UTC);

    fn key(activates_at: Timestamp, retired_at: Option<Timestamp>) -> SigningKey {
        SigningKey {
            kid: "k".into(),
            alg: "ES256".into(),
            private_pem: "-----BEGIN PRIVATE KEY----- secret".into(),
            public_pem: "public".into(),
            created_at: activates_at,
            activates_at,
            retired_at,
        }
    }

    #[test]
    fn a_key_signs_from_its_activation_until_its_retirement() {
        let s = Duration::seconds(1);
        assert!(key(NOW, None).signs_at(NOW));
        assert!(!key(NOW + s, None).signs_at(NOW), "still pre-published");
        assert!(key(NOW - s, Some(NOW + s)).signs_at(NOW));
        assert!(
            !key(NOW - s, Some(NOW)).signs_at(NOW),
            "retired at this instant"
        );
        assert!(!key(NOW - s, Some(NOW - s)).signs_at(NOW), "retired");
    }

    #[test]
    fn a_keys_debug_leaves_its_private_half_out() {
        let shown = format!("{:?}", key(NOW, None));
        assert!(
            !shown.contains("secret") && shown.contains("public"),
            "{shown}"
        );
    }
}
