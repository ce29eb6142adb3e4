//! Token signing keys.

use portcullis_domain::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::row::{ms, ts};
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
    /// When it was made.
    pub created_at: Timestamp,
}

fn from_row(r: &AnyRow) -> Result<SigningKey> {
    Ok(SigningKey { kid: r.try_get("kid")?, alg: r.try_get("alg")?, private_pem: r.try_get("private_pem")?, public_pem: r.try_get("public_pem")?, created_at: ts(r, "created_at")? })
}

/// Stores a key.
pub async fn insert(c: &mut Conn, k: &SigningKey) -> Result<()> {
    sqlx::query("INSERT INTO signing_keys (kid, alg, private_pem, public_pem, created_at, retired_at) VALUES ($1, $2, $3, $4, $5, NULL) ON CONFLICT DO NOTHING")
        .bind(&k.kid)
        .bind(&k.alg)
        .bind(&k.private_pem)
        .bind(&k.public_pem)
        .bind(ms(k.created_at))
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// The newest unretired key.
pub async fn current(c: &mut Conn) -> Result<Option<SigningKey>> {
    let r = sqlx::query("SELECT * FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid LIMIT 1").fetch_optional(&mut *c).await?;
    r.as_ref().map(from_row).transpose()
}

/// A key by id, retired or not (tokens it signed stay verifiable until they expire).
pub async fn by_kid(c: &mut Conn, kid: &str) -> Result<Option<SigningKey>> {
    let r = sqlx::query("SELECT * FROM signing_keys WHERE kid = $1").bind(kid).fetch_optional(&mut *c).await?;
    r.as_ref().map(from_row).transpose()
}
