//! Temporary Access Passes: at most one per user (a UNIQUE key), stored as a hash.

use portcullis_domain::tap::TemporaryAccessPass;
use portcullis_domain::Timestamp;
use uuid::Uuid;

use crate::bulk::{Cells, Reader};

use crate::row::{flag, ms, opt_ts, ts, uuid};
use crate::{Conn, Result};

/// A stored pass with the hash of its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPass {
    /// The pass.
    pub pass: TemporaryAccessPass,
    /// PHC string of the code's hash.
    pub code_hash: String,
}

pub(crate) fn from_row<R: Cells + ?Sized>(r: &R) -> Result<StoredPass> {
    Ok(StoredPass {
        pass: TemporaryAccessPass {
            id: uuid(r, "id")?,
            user_id: uuid(r, "user_id")?,
            created_at: ts(r, "created_at")?,
            start_at: ts(r, "start_at")?,
            lifetime_minutes: r.int("lifetime_minutes")?,
            is_usable_once: flag(r, "is_usable_once")?,
            consumed_at: opt_ts(r, "consumed_at")?,
        },
        code_hash: r.text("code_hash")?,
    })
}

/// Stores a user's pass, replacing the one they had (there is no 409: the old pass goes).
pub async fn replace(c: &mut Conn, p: &TemporaryAccessPass, code_hash: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO temporary_access_passes (id, user_id, code_hash, created_at, start_at, lifetime_minutes, is_usable_once, consumed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)
         ON CONFLICT (user_id) DO UPDATE SET id = excluded.id, code_hash = excluded.code_hash, created_at = excluded.created_at,
             start_at = excluded.start_at, lifetime_minutes = excluded.lifetime_minutes, is_usable_once = excluded.is_usable_once, consumed_at = NULL",
    )
    .bind(p.id.to_string())
    .bind(p.user_id.to_string())
    .bind(code_hash)
    .bind(ms(p.created_at))
    .bind(ms(p.start_at))
    .bind(p.lifetime_minutes)
    .bind(i64::from(p.is_usable_once))
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// The user's pass, if any.
pub async fn for_user(c: &mut Conn, user: Uuid) -> Result<Option<StoredPass>> {
    let r = sqlx::query("SELECT * FROM temporary_access_passes WHERE user_id = $1")
        .bind(user.to_string())
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(from_row).transpose()
}

/// Marks a one-time pass used. A compare-and-set: it succeeds for exactly one caller,
/// whatever the number of concurrent callers and nodes.
pub async fn consume(c: &mut Conn, pass_id: Uuid, now: Timestamp) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE temporary_access_passes SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL",
    )
    .bind(ms(now))
    .bind(pass_id.to_string())
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a pass; returns whether one was there.
pub async fn delete(c: &mut Conn, pass_id: Uuid) -> Result<bool> {
    let done = sqlx::query("DELETE FROM temporary_access_passes WHERE id = $1")
        .bind(pass_id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Every pass: one read for an analysis of every user.
pub async fn all(r: &Reader) -> Result<Vec<StoredPass>> {
    r.rows(
        "SELECT id, user_id, code_hash, created_at, start_at, lifetime_minutes, is_usable_once, consumed_at FROM temporary_access_passes",
        vec![],
        |r| from_row(r),
    )
    .await
}
