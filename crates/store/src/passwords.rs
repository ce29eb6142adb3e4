//! Users' passwords: one per user, only as an Argon2id hash (issue 17).

use portcullis_domain::Timestamp;
use uuid::Uuid;

use crate::row::{flag, ms, ts};
use crate::{Conn, Result};

/// A stored password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPassword {
    /// PHC string of the hash.
    pub hash: String,
    /// When it was set.
    pub changed_at: Timestamp,
    /// Whether its user must choose a new one at their next sign-in.
    pub must_change: bool,
}

/// Sets (or replaces) a user's password.
pub async fn set(
    c: &mut Conn,
    user: Uuid,
    hash: &str,
    must_change: bool,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO user_passwords (user_id, hash, changed_at, must_change) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, changed_at = excluded.changed_at, must_change = excluded.must_change",
    )
    .bind(user.to_string())
    .bind(hash)
    .bind(ms(now))
    .bind(i64::from(must_change))
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Replaces a password whose change is required, and only while it is: a compare-and-set, so
/// the step that asks for it can be taken once (whatever the number of requests and nodes).
pub async fn replace_required(
    c: &mut Conn,
    user: Uuid,
    hash: &str,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE user_passwords SET hash = $1, changed_at = $2, must_change = 0 WHERE user_id = $3 AND must_change = 1",
    )
    .bind(hash)
    .bind(ms(now))
    .bind(user.to_string())
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A user's password, if they have one.
pub async fn for_user(c: &mut Conn, user: Uuid) -> Result<Option<StoredPassword>> {
    let r =
        sqlx::query("SELECT hash, changed_at, must_change FROM user_passwords WHERE user_id = $1")
            .bind(user.to_string())
            .fetch_optional(&mut *c)
            .await?;
    r.as_ref()
        .map(|r| {
            Ok(StoredPassword {
                hash: crate::bulk::Cells::text(r, "hash")?,
                changed_at: ts(r, "changed_at")?,
                must_change: flag(r, "must_change")?,
            })
        })
        .transpose()
}
