//! WebAuthn ceremonies: single-use, bound to a user and a kind, expiring, and finished on any
//! node. A registration's state is kept here; a sign-in's travels sealed in its id, and only
//! the mark that it was spent is kept here (`spent_ceremonies`).

use portcullis_domain::Timestamp;
use sqlx::Row;
use uuid::Uuid;

use crate::bulk::Param;
use crate::row::{ms, ts};
use crate::write::Write;
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

/// Marks a sealed ceremony (one the store never held) as used, once: `true` for the first
/// caller, `false` when it was spent already — by a replay, or by another node that got
/// there first. Run it in the transaction that records the outcome, so that the spending and
/// the outcome commit together or not at all.
pub async fn spend(c: &mut Conn, id: Uuid, expires_at: Timestamp) -> Result<bool> {
    Ok(spend_write(id, expires_at).run(c).await? == 1)
}

/// [`spend`] as a write of a batch: it changes a row only if the ceremony was not spent.
pub fn spend_write(id: Uuid, expires_at: Timestamp) -> Write {
    Write::new(
        "INSERT INTO spent_ceremonies (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        vec![Param::Text(id.to_string()), Param::Int(ms(expires_at))],
    )
}

/// How long the mark of a spent sealed ceremony outlives the ceremony: a node whose clock is
/// behind the pruning node's by less than this still finds the mark, and refuses a replay.
pub const SPENT_KEPT_AFTER_EXPIRY: time::Duration = time::Duration::hours(1);

/// Drops ceremonies that expired before `before`, and the marks of spent sealed ones that
/// expired [`SPENT_KEPT_AFTER_EXPIRY`] before it (housekeeping): an expired ceremony is
/// refused whether or not it was spent.
pub async fn prune(c: &mut Conn, before: Timestamp) -> Result<u64> {
    let stored = sqlx::query("DELETE FROM ceremonies WHERE expires_at < $1")
        .bind(ms(before))
        .execute(&mut *c)
        .await?
        .rows_affected();
    let spent = sqlx::query("DELETE FROM spent_ceremonies WHERE expires_at < $1")
        .bind(ms(before.saturating_sub(SPENT_KEPT_AFTER_EXPIRY)))
        .execute(&mut *c)
        .await?
        .rows_affected();
    Ok(stored.saturating_add(spent))
}
