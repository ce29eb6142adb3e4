//! Authenticator apps (software OATH, TOTP): at most one per user, its secret sealed by the
//! service (issue 17).

use portcullis_domain::oath::Step;
use portcullis_domain::Timestamp;
use uuid::Uuid;

use crate::bulk::Cells;
use crate::row::{ms, ts, uuid};
use crate::{Conn, Result};

/// A stored authenticator app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOath {
    /// Its id (Graph's `softwareOathAuthenticationMethod.id`).
    pub id: Uuid,
    /// Whose.
    pub user_id: Uuid,
    /// The secret, sealed by the service.
    pub secret_sealed: String,
    /// When it was added.
    pub created_at: Timestamp,
    /// The step of the last code accepted.
    pub last_step: Option<Step>,
}

fn from_row<R: Cells + ?Sized>(r: &R) -> Result<StoredOath> {
    Ok(StoredOath {
        id: uuid(r, "id")?,
        user_id: uuid(r, "user_id")?,
        secret_sealed: r.text("secret_sealed")?,
        created_at: ts(r, "created_at")?,
        last_step: r
            .opt_int("last_step")?
            .map(|s| Step(u64::try_from(s).unwrap_or(0))),
    })
}

/// Adds a user's app. `false` when they already have one (the UNIQUE key decides, so two
/// concurrent enrolments cannot both be kept).
pub async fn insert(c: &mut Conn, m: &StoredOath) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO software_oath_methods (id, user_id, secret_sealed, created_at, last_step) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(m.id.to_string())
    .bind(m.user_id.to_string())
    .bind(&m.secret_sealed)
    .bind(ms(m.created_at))
    .bind(m.last_step.map(step_int))
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

fn step_int(s: Step) -> i64 {
    i64::try_from(s.0).unwrap_or(i64::MAX)
}

/// The user's app, if any.
pub async fn for_user(c: &mut Conn, user: Uuid) -> Result<Option<StoredOath>> {
    let r = sqlx::query("SELECT * FROM software_oath_methods WHERE user_id = $1")
        .bind(user.to_string())
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(from_row).transpose()
}

/// Takes the code of `step`: moves `last_step` forward only if it is behind. A
/// compare-and-set: of concurrent uses of one code, on any node, exactly one gets `true`.
pub async fn take_step(c: &mut Conn, id: Uuid, step: Step) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE software_oath_methods SET last_step = $1 WHERE id = $2 AND (last_step IS NULL OR last_step < $1)",
    )
    .bind(step_int(step))
    .bind(id.to_string())
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a user's app; whether it was there.
pub async fn delete(c: &mut Conn, user: Uuid, id: Uuid) -> Result<bool> {
    let done = sqlx::query("DELETE FROM software_oath_methods WHERE id = $1 AND user_id = $2")
        .bind(id.to_string())
        .bind(user.to_string())
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}
