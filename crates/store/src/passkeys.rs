//! Registered passkeys. Deleted ones are kept as tombstones so a later sign-in with
//! one is refused with the reason (R25).

use portcullis_domain::inventory::Attestation;
use portcullis_domain::passkey::{ClientReport, Passkey};
use portcullis_domain::Timestamp;
use sqlx::Row;
use uuid::Uuid;

use crate::bulk::{Cells, Param, Reader};

use crate::row::{flag, ms, opt_ts, ts, uuid};
use crate::write::Write;
use crate::{Conn, Result, StoreError};

/// A stored passkey with what only the WebAuthn layer reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    /// The policy view.
    pub passkey: Passkey,
    /// The library's credential (public key …) as JSON.
    pub credential_json: String,
    /// Attestation certificates (base64), leaf first.
    pub x5c: Vec<String>,
    /// The passkey profile it was accepted under.
    pub profile_id: Option<String>,
    /// When it was deleted, and by whom (`user` or `admin`).
    pub deleted: Option<(Timestamp, String)>,
    /// How its attestation vouched for it (R52).
    pub attestation: Attestation,
    /// The BS flag as last seen (unknown for passkeys stored before it was kept).
    pub backed_up: Option<bool>,
    /// What the client reported about the authenticator at registration (R24).
    pub client: ClientReport,
}

/// The columns of the policy view, for reads that need nothing else.
const POLICY_VIEW: &str = "id, user_id, credential_id, aaguid, display_name, fmt, attested, synced, created_at, last_used_at, sign_count, device, device_profile, flagged_clone, disabled_at";

pub(crate) fn passkey_from_row<R: Cells + ?Sized>(r: &R) -> Result<Passkey> {
    let aaguid = r.text("aaguid")?;
    Ok(Passkey {
        id: uuid(r, "id")?,
        user_id: uuid(r, "user_id")?,
        credential_id: r.text("credential_id")?,
        aaguid: Uuid::parse_str(&aaguid)
            .map_err(|_| StoreError::Corrupt(format!("aaguid '{aaguid}'")))?,
        display_name: r.text("display_name")?,
        fmt: r.text("fmt")?,
        attested: flag(r, "attested")?,
        synced: flag(r, "synced")?,
        created_at: ts(r, "created_at")?,
        last_used_at: opt_ts(r, "last_used_at")?,
        sign_count: r.int("sign_count")?,
        device: r.opt_text("device")?,
        device_profile: r.opt_text("device_profile")?,
        flagged_clone: flag(r, "flagged_clone")?,
        disabled: opt_ts(r, "disabled_at")?.is_some(),
    })
}

/// A whole passkey row, whichever driver read it.
pub(crate) fn stored_from<R: Cells + ?Sized>(r: &R) -> Result<StoredPasskey> {
    let x5c = r.text("x5c_json")?;
    let deleted_at = opt_ts(r, "deleted_at")?;
    let deleted_by = r.opt_text("deleted_by")?;
    let kind = r.opt_text("attestation_type")?;
    let backed_up = r.opt_int("backed_up")?;
    let attachment = r.opt_text("attachment")?;
    let transports = r.opt_text("transports")?;
    Ok(StoredPasskey {
        passkey: passkey_from_row(r)?,
        credential_json: r.text("credential_json")?,
        x5c: serde_json::from_str(&x5c).map_err(|e| StoreError::Corrupt(format!("x5c: {e}")))?,
        profile_id: r.opt_text("profile_id")?,
        deleted: deleted_at.map(|t| (t, deleted_by.unwrap_or_default())),
        attestation: kind
            .as_deref()
            .and_then(Attestation::parse)
            .unwrap_or(Attestation::Uncertain),
        backed_up: backed_up.map(|b| b != 0),
        client: crate::signins::client_report(attachment.as_deref(), transports.as_deref())
            .unwrap_or_default(),
    })
}

/// Stores a new passkey; a tombstone with the same credential id is replaced.
pub async fn insert(c: &mut Conn, p: &StoredPasskey) -> Result<()> {
    sqlx::query("DELETE FROM passkeys WHERE credential_id = $1 AND deleted_at IS NOT NULL")
        .bind(&p.passkey.credential_id)
        .execute(&mut *c)
        .await?;
    let k = &p.passkey;
    sqlx::query(
        "INSERT INTO passkeys (id, user_id, credential_id, credential_json, aaguid, display_name, fmt, attested, synced, x5c_json, profile_id, device, device_profile, created_at, last_used_at, sign_count, flagged_clone, attestation_type, backed_up, attachment, transports)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL, $15, 0, $16, $17, $18, $19)",
    )
    .bind(k.id.to_string())
    .bind(k.user_id.to_string())
    .bind(&k.credential_id)
    .bind(&p.credential_json)
    .bind(k.aaguid.to_string())
    .bind(&k.display_name)
    .bind(&k.fmt)
    .bind(i64::from(k.attested))
    .bind(i64::from(k.synced))
    .bind(serde_json::to_string(&p.x5c).unwrap_or_else(|_| "[]".into()))
    .bind(p.profile_id.clone())
    .bind(k.device.clone())
    .bind(k.device_profile.clone())
    .bind(ms(k.created_at))
    .bind(k.sign_count)
    .bind(p.attestation.code())
    .bind(p.backed_up.map(i64::from))
    .bind(p.client.attachment.map(|a| a.code().to_string()))
    .bind(p.client.transports.joined())
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// A user's live passkeys, oldest first.
pub async fn for_user(c: &mut Conn, user: Uuid) -> Result<Vec<StoredPasskey>> {
    let rows = sqlx::query(
        "SELECT * FROM passkeys WHERE user_id = $1 AND deleted_at IS NULL ORDER BY created_at, id",
    )
    .bind(user.to_string())
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(stored_from).collect()
}

/// A passkey by credential id, tombstones included.
pub async fn by_credential_id(c: &mut Conn, credential_id: &str) -> Result<Option<StoredPasskey>> {
    let r = sqlx::query("SELECT * FROM passkeys WHERE credential_id = $1")
        .bind(credential_id)
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(stored_from).transpose()
}

/// A live passkey by method id.
pub async fn by_id(c: &mut Conn, id: Uuid) -> Result<Option<StoredPasskey>> {
    let r = sqlx::query("SELECT * FROM passkeys WHERE id = $1 AND deleted_at IS NULL")
        .bind(id.to_string())
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(stored_from).transpose()
}

/// Deletes a passkey (keeps a tombstone); returns whether a live one was there.
pub async fn delete(c: &mut Conn, id: Uuid, by: &str, now: Timestamp) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE passkeys SET deleted_at = $1, deleted_by = $2 WHERE id = $3 AND deleted_at IS NULL",
    )
    .bind(ms(now))
    .bind(by)
    .bind(id.to_string())
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A sign-in's counter move and what the authenticator said of its backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Use {
    /// The counter last stored.
    pub old: i64,
    /// The counter this sign-in carried.
    pub new: i64,
    /// The BS flag this sign-in carried.
    pub backed_up: bool,
}

/// Records a sign-in: the counter moves from `old` to `new` only if no one else moved it
/// first (compare-and-set), so two nodes cannot both accept the same counter.
pub async fn record_use(c: &mut Conn, id: Uuid, u: Use, now: Timestamp) -> Result<bool> {
    Ok(record_use_write(id, u, now).run(c).await? == 1)
}

/// [`record_use`] as a write of a batch: it changes a row only if the counter was still
/// `u.old`.
pub fn record_use_write(id: Uuid, u: Use, now: Timestamp) -> Write {
    Write::new(
        "UPDATE passkeys SET sign_count = $1, last_used_at = $2, backed_up = $5 WHERE id = $3 AND sign_count = $4 AND deleted_at IS NULL",
        vec![
            Param::Int(u.new),
            Param::Int(ms(now)),
            Param::Text(id.to_string()),
            Param::Int(u.old),
            Param::Int(i64::from(u.backed_up)),
        ],
    )
}

/// Flags a passkey as possibly cloned (R22).
pub async fn flag_clone(c: &mut Conn, id: Uuid) -> Result<()> {
    sqlx::query("UPDATE passkeys SET flagged_clone = 1 WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Disables a live, enabled passkey (`by` says who: `admin`), or — with `by` `None` —
/// enables a disabled one (R26). Returns whether it changed.
pub async fn set_disabled(
    c: &mut Conn,
    id: Uuid,
    by: Option<&str>,
    now: Timestamp,
) -> Result<bool> {
    let done = match by {
        Some(by) => sqlx::query("UPDATE passkeys SET disabled_at = $1, disabled_by = $2 WHERE id = $3 AND deleted_at IS NULL AND disabled_at IS NULL")
            .bind(ms(now))
            .bind(by)
            .bind(id.to_string())
            .execute(&mut *c)
            .await?,
        None => sqlx::query("UPDATE passkeys SET disabled_at = NULL, disabled_by = NULL WHERE id = $1 AND deleted_at IS NULL AND disabled_at IS NOT NULL")
            .bind(id.to_string())
            .execute(&mut *c)
            .await?,
    };
    Ok(done.rows_affected() == 1)
}

/// Renames a live passkey.
pub async fn rename(c: &mut Conn, id: Uuid, name: &str) -> Result<bool> {
    Ok(
        sqlx::query("UPDATE passkeys SET display_name = $1 WHERE id = $2 AND deleted_at IS NULL")
            .bind(name)
            .bind(id.to_string())
            .execute(&mut *c)
            .await?
            .rows_affected()
            == 1,
    )
}

/// Each AAGUID with its number of live passkeys.
pub async fn aaguids_in_use(c: &mut Conn) -> Result<Vec<(Uuid, i64)>> {
    let rows = sqlx::query("SELECT aaguid, COUNT(*) AS n FROM passkeys WHERE deleted_at IS NULL GROUP BY aaguid ORDER BY aaguid").fetch_all(&mut *c).await?;
    rows.iter()
        .map(|r| Ok((uuid(r, "aaguid")?, r.try_get("n")?)))
        .collect()
}

/// How many users hold at least one live passkey.
pub async fn users_with_passkeys(c: &mut Conn) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(DISTINCT user_id) FROM passkeys WHERE deleted_at IS NULL")
            .fetch_one(&mut *c)
            .await?,
    )
}

/// Every live passkey, as policy sees it (no credential, no certificates): one read for an
/// analysis of every user.
pub async fn all_live(r: &Reader) -> Result<Vec<Passkey>> {
    r.rows(
        format!("SELECT {POLICY_VIEW} FROM passkeys WHERE deleted_at IS NULL"),
        vec![],
        |r| passkey_from_row(r),
    )
    .await
}
