//! R55: each user's progress through the registration campaign, and the sessions it
//! interrupted.

use portcullis_domain::policy::campaign::Progress;
use portcullis_domain::Timestamp;
use sqlx::Row;
use uuid::Uuid;

use crate::row::{ms, opt_ts};
use crate::{Conn, Result, StoreError};

/// What the user did with the campaign so far (nothing, if never asked).
pub async fn progress(c: &mut Conn, user: Uuid) -> Result<Progress> {
    let r = sqlx::query("SELECT snoozes, snoozed_until FROM campaign_progress WHERE user_id = $1")
        .bind(user.to_string())
        .fetch_optional(&mut *c)
        .await?;
    let Some(r) = r else {
        return Ok(Progress::default());
    };
    let snoozes: i64 = r.try_get("snoozes")?;
    Ok(Progress {
        snoozes: u32::try_from(snoozes)
            .map_err(|_| StoreError::Corrupt(format!("campaign snoozes = {snoozes}")))?,
        snoozed_until: opt_ts(&r, "snoozed_until")?,
    })
}

/// Records that the user was asked at `now` (the first time too).
pub async fn asked(c: &mut Conn, user: Uuid, now: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO campaign_progress (user_id, snoozes, snoozed_until, first_asked_at, last_asked_at) VALUES ($1, 0, NULL, $2, $2) ON CONFLICT (user_id) DO UPDATE SET last_asked_at = $2")
        .bind(user.to_string())
        .bind(ms(now))
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Stores a snooze, only if the progress is still `before` (compare-and-set: two tabs
/// snoozing at once count once). Returns whether it was stored.
pub async fn snoozed(
    c: &mut Conn,
    user: Uuid,
    before: Progress,
    after: Progress,
    now: Timestamp,
) -> Result<bool> {
    asked(c, user, now).await?;
    let done = sqlx::query("UPDATE campaign_progress SET snoozes = $1, snoozed_until = $2 WHERE user_id = $3 AND snoozes = $4")
        .bind(i64::from(after.snoozes))
        .bind(after.snoozed_until.map(ms))
        .bind(user.to_string())
        .bind(i64::from(before.snoozes))
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a session as interrupted by the campaign, or releases it.
pub async fn set_pending(c: &mut Conn, session: Uuid, pending: bool) -> Result<()> {
    sqlx::query("UPDATE sessions SET campaign_pending = $1 WHERE id = $2")
        .bind(i64::from(pending))
        .bind(session.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Releases every session of the user the campaign interrupted (they registered or
/// snoozed, in whichever tab).
pub async fn release_user(c: &mut Conn, user: Uuid) -> Result<()> {
    sqlx::query(
        "UPDATE sessions SET campaign_pending = 0 WHERE user_id = $1 AND campaign_pending <> 0",
    )
    .bind(user.to_string())
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Counts for the adoption report: users ever asked, users who snoozed at least once, and
/// the total number of snoozes.
pub async fn totals(c: &mut Conn) -> Result<(i64, i64, i64)> {
    let r = sqlx::query("SELECT COUNT(*) AS asked, CAST(COALESCE(SUM(CASE WHEN snoozes > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS snoozers, CAST(COALESCE(SUM(snoozes), 0) AS BIGINT) AS snoozes FROM campaign_progress WHERE user_id IN (SELECT id FROM users)")
        .fetch_one(&mut *c)
        .await?;
    Ok((
        r.try_get("asked")?,
        r.try_get("snoozers")?,
        r.try_get("snoozes")?,
    ))
}
