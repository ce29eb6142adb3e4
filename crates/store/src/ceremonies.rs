//! Server-side WebAuthn ceremony state: single-use, bound to a user and a kind, expiring.
//! Kept in the store so any node can finish a ceremony another node began.

use portcullis_domain::Timestamp;
use sqlx::Row;
use uuid::Uuid;

use crate::row::{ms, ts};
use crate::{Conn, Result};

/// A ceremony taken from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    /// `register` or `authenticate`.
    pub kind: String,
    /// The user it is bound to (none for a usernameless sign-in).
    pub user_id: Option<Uuid>,
    /// The library's state, JSON.
    pub state: String,
    /// When it stops being acceptable.
    pub expires_at: Timestamp,
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<Ceremony> {
    let user: Option<String> = r.try_get("user_id")?;
    Ok(Ceremony {
        kind: r.try_get("kind")?,
        user_id: user.and_then(|u| Uuid::parse_str(&u).ok()),
        state: r.try_get("state")?,
        expires_at: ts(r, "expires_at")?,
    })
}

/// Stores a new ceremony.
pub async fn insert(c: &mut Conn, id: Uuid, cer: &Ceremony, now: Timestamp) -> Result<()> {
    insert_with_challenge(c, id, cer, None, now).await
}

/// Stores a new ceremony that can later be found by its challenge (base64url).
pub async fn insert_with_challenge(
    c: &mut Conn,
    id: Uuid,
    cer: &Ceremony,
    challenge: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    sqlx::query("INSERT INTO ceremonies (id, kind, user_id, state, created_at, expires_at, consumed_at, challenge) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)")
        .bind(id.to_string())
        .bind(&cer.kind)
        .bind(cer.user_id.map(|u| u.to_string()))
        .bind(&cer.state)
        .bind(ms(now))
        .bind(ms(cer.expires_at))
        .bind(challenge.map(str::to_string))
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Takes, once, the ceremony of `kind` issued with this challenge.
pub async fn take_by_challenge(
    c: &mut Conn,
    challenge: &str,
    kind: &str,
    now: Timestamp,
) -> Result<Option<Ceremony>> {
    let r = sqlx::query("UPDATE ceremonies SET consumed_at = $1 WHERE challenge = $2 AND kind = $3 AND consumed_at IS NULL RETURNING kind, user_id, state, expires_at")
        .bind(ms(now))
        .bind(challenge)
        .bind(kind)
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(from_row).transpose()
}

/// Reads a ceremony of `kind` that has not been taken yet, without taking it: the caller
/// verifies the response first and then [`take`]s it in the transaction that records the
/// outcome, so a success costs one commit and a replay still finds nothing to take.
pub async fn peek(c: &mut Conn, id: Uuid, kind: &str) -> Result<Option<Ceremony>> {
    let r = sqlx::query("SELECT kind, user_id, state, expires_at FROM ceremonies WHERE id = $1 AND kind = $2 AND consumed_at IS NULL")
        .bind(id.to_string())
        .bind(kind)
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(from_row).transpose()
}

/// Takes a ceremony of `kind` for use, once: a second take (a replay) finds nothing.
/// One statement (`UPDATE … RETURNING`, on both backends) marks and reads it.
pub async fn take(c: &mut Conn, id: Uuid, kind: &str, now: Timestamp) -> Result<Option<Ceremony>> {
    let r = sqlx::query("UPDATE ceremonies SET consumed_at = $1 WHERE id = $2 AND kind = $3 AND consumed_at IS NULL RETURNING kind, user_id, state, expires_at")
        .bind(ms(now))
        .bind(id.to_string())
        .bind(kind)
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(from_row).transpose()
}

/// Drops ceremonies that expired before `before` (housekeeping).
pub async fn prune(c: &mut Conn, before: Timestamp) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM ceremonies WHERE expires_at < $1")
        .bind(ms(before))
        .execute(&mut *c)
        .await?
        .rows_affected())
}
