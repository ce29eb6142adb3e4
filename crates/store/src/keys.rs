//! Token signing keys.

use portcullis_domain::Timestamp;

use crate::bulk::{Cells, Param, Reader};
use crate::row::{ms, opt_ts, ts};
use crate::{Conn, Result};

/// A signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
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
