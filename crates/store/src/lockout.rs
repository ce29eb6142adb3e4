//! Wrong-code failures, counted per user and per source address (R13).

use portcullis_domain::Timestamp;
use uuid::Uuid;

use crate::row::{ms, ts};
use crate::{Conn, Result};

/// Records one wrong code.
pub async fn record_failure(
    c: &mut Conn,
    user: Option<Uuid>,
    source: &str,
    now: Timestamp,
) -> Result<()> {
    sqlx::query("INSERT INTO auth_failures (id, user_id, source, at) VALUES ($1, $2, $3, $4)")
        .bind(Uuid::now_v7().to_string())
        .bind(user.map(|u| u.to_string()))
        .bind(source)
        .bind(ms(now))
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// The newest failures of a user since `since`, at most `limit`, newest first.
pub async fn user_failures(
    c: &mut Conn,
    user: Uuid,
    since: Timestamp,
    limit: i64,
) -> Result<Vec<Timestamp>> {
    let rows = sqlx::query(
        "SELECT at FROM auth_failures WHERE user_id = $1 AND at > $2 ORDER BY at DESC LIMIT $3",
    )
    .bind(user.to_string())
    .bind(ms(since))
    .bind(limit)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(|r| ts(r, "at")).collect()
}

/// The newest failures from a source since `since`, at most `limit`, newest first.
pub async fn source_failures(
    c: &mut Conn,
    source: &str,
    since: Timestamp,
    limit: i64,
) -> Result<Vec<Timestamp>> {
    let rows = sqlx::query(
        "SELECT at FROM auth_failures WHERE source = $1 AND at > $2 ORDER BY at DESC LIMIT $3",
    )
    .bind(source)
    .bind(ms(since))
    .bind(limit)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(|r| ts(r, "at")).collect()
}

/// Forgets a user's failures after a successful sign-in.
pub async fn clear_user(c: &mut Conn, user: Uuid) -> Result<()> {
    sqlx::query("DELETE FROM auth_failures WHERE user_id = $1")
        .bind(user.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Drops failures older than `before` (housekeeping).
pub async fn prune(c: &mut Conn, before: Timestamp) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM auth_failures WHERE at < $1")
        .bind(ms(before))
        .execute(&mut *c)
        .await?
        .rows_affected())
}
