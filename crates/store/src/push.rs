//! Microsoft Authenticator devices and push approval requests (issue 17).

use portcullis_domain::push::{Approval, ApprovalState, DenyReason};
use portcullis_domain::Timestamp;
use sqlx::Row;
use uuid::Uuid;

use crate::bulk::Cells;
use crate::row::{ms, ts, uuid};
use crate::{Conn, Result, StoreError};

/// A registered app instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Its id (Graph's `microsoftAuthenticatorAuthenticationMethod.id`).
    pub id: Uuid,
    /// Whose.
    pub user_id: Uuid,
    /// Its public key: an uncompressed P-256 point, base64url.
    pub public_key: String,
    /// The name the app gave (the phone's).
    pub display_name: String,
    /// `android` or `iOS`.
    pub platform: String,
    /// When the account was added.
    pub created_at: Timestamp,
}

fn device_row<R: Cells + ?Sized>(r: &R) -> Result<Device> {
    Ok(Device {
        id: uuid(r, "id")?,
        user_id: uuid(r, "user_id")?,
        public_key: r.text("public_key")?,
        display_name: r.text("display_name")?,
        platform: r.text("platform")?,
        created_at: ts(r, "created_at")?,
    })
}

/// Adds a device.
pub async fn add_device(c: &mut Conn, d: &Device) -> Result<()> {
    sqlx::query(
        "INSERT INTO authenticator_devices (id, user_id, public_key, display_name, platform, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(d.id.to_string())
    .bind(d.user_id.to_string())
    .bind(&d.public_key)
    .bind(&d.display_name)
    .bind(&d.platform)
    .bind(ms(d.created_at))
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// A user's devices, oldest first.
pub async fn devices_of(c: &mut Conn, user: Uuid) -> Result<Vec<Device>> {
    let rows = sqlx::query(
        "SELECT * FROM authenticator_devices WHERE user_id = $1 ORDER BY created_at, id",
    )
    .bind(user.to_string())
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(device_row).collect()
}

/// A device by id.
pub async fn device(c: &mut Conn, id: Uuid) -> Result<Option<Device>> {
    let r = sqlx::query("SELECT * FROM authenticator_devices WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(device_row).transpose()
}

/// Removes a user's device; whether it was there.
pub async fn delete_device(c: &mut Conn, user: Uuid, id: Uuid) -> Result<bool> {
    let done = sqlx::query("DELETE FROM authenticator_devices WHERE id = $1 AND user_id = $2")
        .bind(id.to_string())
        .bind(user.to_string())
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}

fn state_text(s: ApprovalState) -> &'static str {
    match s {
        ApprovalState::Pending => "pending",
        ApprovalState::Approved => "approved",
        ApprovalState::Denied(DenyReason::UserDenied) => "userDenied",
        ApprovalState::Denied(DenyReason::WrongNumber) => "wrongNumber",
    }
}

fn approval_row<R: Cells + ?Sized>(r: &R) -> Result<(Approval, bool)> {
    let state = r.text("state")?;
    let (state, used) = match state.as_str() {
        "pending" => (ApprovalState::Pending, false),
        "approved" => (ApprovalState::Approved, false),
        "used" => (ApprovalState::Approved, true),
        "userDenied" => (ApprovalState::Denied(DenyReason::UserDenied), false),
        "wrongNumber" => (ApprovalState::Denied(DenyReason::WrongNumber), false),
        other => {
            return Err(StoreError::Corrupt(format!(
                "push approval state '{other}'"
            )))
        }
    };
    Ok((
        Approval {
            id: uuid(r, "id")?,
            user_id: uuid(r, "user_id")?,
            number: u8::try_from(r.int("number")?)
                .map_err(|_| StoreError::Corrupt("push approval number out of range".into()))?,
            created_at: ts(r, "created_at")?,
            state,
            app_name: r.opt_text("app_name")?,
            location: r.opt_text("location")?,
        },
        used,
    ))
}

/// Where a request's sign-in came from: kept so that a denial counts against that sign-in's
/// source, and its log entry says where the sign-in came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The sign-in's address, when known.
    pub source: Option<std::net::IpAddr>,
    /// Its user agent.
    pub user_agent: String,
}

/// Records a new request, made by a sign-in from `origin`.
pub async fn add_approval(c: &mut Conn, a: &Approval, origin: &Origin) -> Result<()> {
    sqlx::query(
        "INSERT INTO push_approvals (id, user_id, number, created_at, state, app_name, location, origin_ip, origin_user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(a.id.to_string())
    .bind(a.user_id.to_string())
    .bind(i64::from(a.number))
    .bind(ms(a.created_at))
    .bind(state_text(a.state))
    .bind(a.app_name.as_deref())
    .bind(a.location.as_deref())
    .bind(origin.source.map(|ip| ip.to_string()))
    .bind(&origin.user_agent)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Where a request's sign-in came from; none for a request stored before that was kept.
pub async fn origin(c: &mut Conn, id: Uuid) -> Result<Option<Origin>> {
    let r = sqlx::query("SELECT origin_ip, origin_user_agent FROM push_approvals WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *c)
        .await?;
    let Some(r) = r else { return Ok(None) };
    let ip: Option<String> = r.try_get("origin_ip")?;
    let user_agent: Option<String> = r.try_get("origin_user_agent")?;
    Ok(user_agent.map(|user_agent| Origin {
        source: ip.and_then(|ip| ip.parse().ok()),
        user_agent,
    }))
}

/// A request by id, and whether an approved one has already opened a session.
pub async fn approval(c: &mut Conn, id: Uuid) -> Result<Option<(Approval, bool)>> {
    let r = sqlx::query("SELECT * FROM push_approvals WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(approval_row).transpose()
}

/// A user's requests still pending since `since`, oldest first (what the app fetches).
pub async fn pending_for(c: &mut Conn, user: Uuid, since: Timestamp) -> Result<Vec<Approval>> {
    let rows = sqlx::query(
        "SELECT * FROM push_approvals WHERE user_id = $1 AND state = 'pending' AND created_at >= $2 ORDER BY created_at, id",
    )
    .bind(user.to_string())
    .bind(ms(since))
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| approval_row(r).map(|(a, _)| a))
        .collect()
}

/// Denies every request of a user still open (pending, or approved and not yet used): when a
/// new one is made (one at a time: a request an attacker starts cannot ride on the number of
/// the user's own), or when a device is removed. Returns how many.
pub async fn deny_open(c: &mut Conn, user: Uuid, now: Timestamp) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE push_approvals SET state = 'userDenied', answered_at = $1 WHERE user_id = $2 AND state IN ('pending', 'approved')",
    )
    .bind(ms(now))
    .bind(user.to_string())
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected())
}

/// Takes the user's row lock for the rest of the transaction, before their recent requests
/// are counted: on PostgreSQL concurrent sign-ins then count each other's requests instead of
/// each seeing the others' not yet committed (on SQLite a write transaction holds the
/// database's lock already).
pub async fn lock_requests_of(c: &mut Conn, user: Uuid) -> Result<()> {
    sqlx::query("UPDATE users SET display_name = display_name WHERE id = $1")
        .bind(user.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// When the user's requests made after `since` were sent.
pub async fn sent_since(c: &mut Conn, user: Uuid, since: Timestamp) -> Result<Vec<Timestamp>> {
    let rows =
        sqlx::query("SELECT created_at FROM push_approvals WHERE user_id = $1 AND created_at > $2")
            .bind(user.to_string())
            .bind(ms(since))
            .fetch_all(&mut *c)
            .await?;
    rows.iter().map(|r| ts(r, "created_at")).collect()
}

/// Answers a pending request: a compare-and-set, so one answer wins.
pub async fn answer(c: &mut Conn, id: Uuid, to: ApprovalState, now: Timestamp) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE push_approvals SET state = $1, answered_at = $2 WHERE id = $3 AND state = 'pending'",
    )
    .bind(state_text(to))
    .bind(ms(now))
    .bind(id.to_string())
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Spends an approved request on the session it opens: one approval, one session.
pub async fn use_approved(c: &mut Conn, id: Uuid) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE push_approvals SET state = 'used' WHERE id = $1 AND state = 'approved'",
    )
    .bind(id.to_string())
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes requests made before `before` (housekeeping).
pub async fn prune(c: &mut Conn, before: Timestamp) -> Result<u64> {
    let done = sqlx::query("DELETE FROM push_approvals WHERE created_at < $1")
        .bind(ms(before))
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected())
}
