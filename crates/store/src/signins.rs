//! The sign-in log: every attempt, successful or not, with the reason.

use portcullis_domain::passkey::{Attachment, ClientReport, Transports};
use portcullis_domain::Timestamp;
use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

use crate::bulk::Param;
use crate::row::{ms, ts};
use crate::write::Write;
use crate::{Conn, Result};

/// One sign-in attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInEvent {
    /// Id (a time-ordered UUID); empty until stored.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: Timestamp,
    /// The user, when known.
    pub user_id: Option<Uuid>,
    /// The name typed.
    pub user_principal_name: String,
    /// `temporaryAccessPass`, `passkey` …
    pub method: String,
    /// Source address.
    pub ip_address: String,
    /// Browser or client.
    pub user_agent: String,
    /// 0 on success, else an AADSTS-style number.
    pub error_code: i64,
    /// Stable code of the refusal.
    pub failure_code: Option<String>,
    /// The sentence the user was shown.
    pub failure_reason: Option<String>,
    /// The application signed in to, when there was one.
    pub app_id: Option<String>,
    /// Its name.
    pub app_display_name: Option<String>,
    /// `success`, `failure` or `notApplied` (Conditional Access as a whole).
    pub conditional_access_status: Option<String>,
    /// `appliedConditionalAccessPolicies` (graph-api.md §7.1) as JSON.
    pub applied_conditional_access_policies: Option<serde_json::Value>,
    /// The model (AAGUID) of the passkey used, when a passkey was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passkey_aaguid: Option<Uuid>,
    /// Whether that AAGUID was attested (R28).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passkey_attested: Option<bool>,
    /// How that passkey reached the browser (R24): the attachment the client reported at
    /// this sign-in, and the transports the passkey registered with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passkey_client: Option<ClientReport>,
}

/// Text as the log can keep it on either database: a refusal's record quotes what the client
/// sent, and PostgreSQL holds no NUL in text — each becomes U+FFFD, so the record is written.
fn kept(text: &str) -> String {
    text.replace('\0', "\u{fffd}")
}

/// Appends an event.
pub async fn append(c: &mut Conn, e: &SignInEvent) -> Result<()> {
    append_write(e).run(c).await?;
    Ok(())
}

/// [`append`] as a write of a batch.
pub fn append_write(e: &SignInEvent) -> Write {
    Write::new(
        "INSERT INTO sign_in_log (id, at, user_id, upn, method, ip, user_agent, error_code, failure_code, failure_reason, app_id, app_name, ca_status, applied_policies, passkey_aaguid, passkey_attested, passkey_attachment, passkey_transports) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        vec![
            Param::Text(if e.id.is_empty() {
                Uuid::now_v7().to_string()
            } else {
                e.id.clone()
            }),
            Param::Int(ms(e.created_date_time)),
            Param::text_or_null(e.user_id.map(|u| u.to_string())),
            Param::Text(kept(&e.user_principal_name)),
            Param::Text(e.method.clone()),
            Param::Text(e.ip_address.clone()),
            Param::Text(kept(&e.user_agent)),
            Param::Int(e.error_code),
            Param::text_or_null(e.failure_code.clone()),
            Param::text_or_null(e.failure_reason.as_deref().map(kept)),
            Param::text_or_null(e.app_id.as_deref().map(kept)),
            Param::text_or_null(e.app_display_name.as_deref().map(kept)),
            Param::text_or_null(e.conditional_access_status.clone()),
            Param::text_or_null(
                e.applied_conditional_access_policies
                    .as_ref()
                    .map(|v| v.to_string()),
            ),
            Param::text_or_null(e.passkey_aaguid.map(|a| a.to_string())),
            Param::int_or_null(e.passkey_attested.map(i64::from)),
            Param::text_or_null(
                e.passkey_client
                    .as_ref()
                    .and_then(|c| c.attachment)
                    .map(|a| a.code().to_string()),
            ),
            Param::text_or_null(e.passkey_client.as_ref().map(|c| c.transports.joined())),
        ],
    )
}

/// What to keep when listing sign-ins (all `None`: everything).
#[derive(Debug, Clone, Default)]
pub struct SignInFilter {
    /// `userPrincipalName eq` (lower case).
    pub upn: Option<String>,
    /// `appId eq`.
    pub app_id: Option<String>,
    /// `status/errorCode eq`.
    pub error_code: Option<i64>,
    /// `createdDateTime ge`.
    pub since: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
    /// Successes only (`Some(true)`) or failures only (`Some(false)`).
    pub succeeded: Option<bool>,
    /// The Conditional Access outcome (`success`, `failure`, `notApplied`).
    pub ca_status: Option<String>,
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<SignInEvent> {
    let uid: Option<String> = r.try_get("user_id")?;
    let applied: Option<String> = r.try_get("applied_policies")?;
    let aaguid: Option<String> = r.try_get("passkey_aaguid")?;
    let attested: Option<i64> = r.try_get("passkey_attested")?;
    let attachment: Option<String> = r.try_get("passkey_attachment")?;
    let transports: Option<String> = r.try_get("passkey_transports")?;
    Ok(SignInEvent {
        id: r.try_get("id")?,
        created_date_time: ts(r, "at")?,
        user_id: uid.and_then(|u| Uuid::parse_str(&u).ok()),
        user_principal_name: r.try_get("upn")?,
        method: r.try_get("method")?,
        ip_address: r.try_get("ip")?,
        user_agent: r.try_get("user_agent")?,
        error_code: r.try_get("error_code")?,
        failure_code: r.try_get("failure_code")?,
        failure_reason: r.try_get("failure_reason")?,
        app_id: r.try_get("app_id")?,
        app_display_name: r.try_get("app_name")?,
        conditional_access_status: r.try_get("ca_status")?,
        applied_conditional_access_policies: applied.and_then(|a| serde_json::from_str(&a).ok()),
        passkey_aaguid: aaguid.and_then(|a| Uuid::parse_str(&a).ok()),
        passkey_attested: attested.map(|a| a != 0),
        passkey_client: client_report(attachment.as_deref(), transports.as_deref()),
    })
}

/// A stored client report (R24): none when neither part was kept.
pub(crate) fn client_report(
    attachment: Option<&str>,
    transports: Option<&str>,
) -> Option<ClientReport> {
    (attachment.is_some() || transports.is_some()).then(|| ClientReport {
        attachment: attachment.and_then(Attachment::parse),
        transports: transports.map(Transports::split).unwrap_or_default(),
    })
}

/// Newest events first, at most `limit`.
pub async fn recent(c: &mut Conn, limit: i64) -> Result<Vec<SignInEvent>> {
    list_page(c, &SignInFilter::default(), limit, 0).await
}

/// Events newest first matching `f`, at most `limit`, skipping `offset`.
pub async fn list_page(
    c: &mut Conn,
    f: &SignInFilter,
    limit: i64,
    offset: i64,
) -> Result<Vec<SignInEvent>> {
    let rows = sqlx::query(
        "SELECT * FROM sign_in_log WHERE ($1 = '' OR lower(upn) = $1) AND ($2 = '' OR app_id = $2) AND ($3 = -1 OR error_code = $3) AND at >= $4 \
         AND at < $7 AND ($8 = 0 OR ($8 = 1 AND error_code = 0) OR ($8 = 2 AND error_code <> 0)) \
         AND ($9 = '' OR ca_status = $9) \
         ORDER BY at DESC, id DESC LIMIT $5 OFFSET $6",
    )
    .bind(f.upn.clone().unwrap_or_default())
    .bind(f.app_id.clone().unwrap_or_default())
    .bind(f.error_code.unwrap_or(-1))
    .bind(f.since.map(ms).unwrap_or(i64::MIN))
    .bind(limit)
    .bind(offset)
    .bind(f.until.map(ms).unwrap_or(i64::MAX))
    .bind(match f.succeeded {
        None => 0_i64,
        Some(true) => 1,
        Some(false) => 2,
    })
    .bind(f.ca_status.clone().unwrap_or_default())
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Failed sign-ins since `since`, counted by failure code, most first.
pub async fn failures_by_code(c: &mut Conn, since: Timestamp) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "SELECT COALESCE(failure_code, '') AS code, COUNT(*) AS n FROM sign_in_log \
         WHERE at >= $1 AND error_code <> 0 GROUP BY COALESCE(failure_code, '') ORDER BY n DESC, code",
    )
    .bind(ms(since))
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("code")?, r.try_get("n")?)))
        .collect()
}

/// Drops entries older than `before` (retention).
pub async fn prune(c: &mut Conn, before: Timestamp) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sign_in_log WHERE at < $1")
        .bind(ms(before))
        .execute(&mut *c)
        .await?
        .rows_affected())
}
