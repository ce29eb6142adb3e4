//! The audit log (R54): appended in the same transaction as the change it records.

use portcullis_domain::actor::Actor;
use portcullis_domain::audit::AuditRecord;
use portcullis_domain::Timestamp;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

use crate::row::{ms, ts};
use crate::{Conn, Result};

/// An audit entry as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Entry id (UUID v7, so ids sort by time).
    pub id: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub activity_date_time: Timestamp,
    /// What.
    pub activity_display_name: String,
    /// Graph category.
    pub category: String,
    /// Graph loggedByService.
    pub logged_by_service: String,
    /// Add / Update / Delete / Assign.
    pub operation_type: String,
    /// `operator`, `system` or `user`.
    pub actor_type: String,
    /// The acting user's id, when a user.
    pub actor_id: Option<String>,
    /// Who.
    pub actor_name: String,
    /// Target id.
    pub target_id: String,
    /// Target name.
    pub target_name: String,
    /// Target kind.
    pub target_kind: String,
    /// JSON before, if any.
    pub before: Option<serde_json::Value>,
    /// JSON after, if any.
    pub after: Option<serde_json::Value>,
    /// success / failure.
    pub result: String,
    /// Sentence.
    pub result_reason: String,
}

fn from_row(r: &AnyRow) -> Result<AuditEntry> {
    let json = |col: &str| -> Result<Option<serde_json::Value>> {
        let s: Option<String> = r.try_get(col)?;
        Ok(s.and_then(|s| serde_json::from_str(&s).ok()))
    };
    Ok(AuditEntry {
        id: r.try_get("id")?,
        activity_date_time: ts(r, "at")?,
        activity_display_name: r.try_get("activity")?,
        category: r.try_get("category")?,
        logged_by_service: r.try_get("service")?,
        operation_type: r.try_get("operation")?,
        actor_type: r.try_get("actor_type")?,
        actor_id: r.try_get("actor_id")?,
        actor_name: r.try_get("actor_name")?,
        target_id: r.try_get("target_id")?,
        target_name: r.try_get("target_name")?,
        target_kind: r.try_get("target_kind")?,
        before: json("before_json")?,
        after: json("after_json")?,
        result: r.try_get("result")?,
        result_reason: r.try_get("reason")?,
    })
}

/// Appends a record.
pub async fn append(c: &mut Conn, rec: &AuditRecord, now: Timestamp) -> Result<Uuid> {
    let id = Uuid::now_v7();
    let (actor_type, actor_id) = match &rec.actor {
        Actor::Operator { .. } => ("operator", None),
        Actor::System => ("system", None),
        Actor::Application { app_id } => ("app", Some(app_id.clone())),
        Actor::User { id, .. } => ("user", Some(id.to_string())),
    };
    sqlx::query(
        "INSERT INTO audit_log (id, at, activity, category, service, operation, actor_type, actor_id, actor_name, target_id, target_name, target_kind, before_json, after_json, result, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(id.to_string())
    .bind(ms(now))
    .bind(rec.activity)
    .bind(rec.category)
    .bind(rec.service)
    .bind(rec.operation.as_str())
    .bind(actor_type)
    .bind(actor_id)
    .bind(rec.actor.label())
    .bind(&rec.target.id)
    .bind(&rec.target.display_name)
    .bind(rec.target.kind)
    .bind(rec.before.as_ref().map(|v| v.to_string()))
    .bind(rec.after.as_ref().map(|v| v.to_string()))
    .bind("success")
    .bind(&rec.reason)
    .execute(&mut *c)
    .await?;
    Ok(id)
}

/// Filters for listing.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only entries at or after.
    pub since: Option<Timestamp>,
    /// Only entries before.
    pub until: Option<Timestamp>,
    /// Only this activity.
    pub activity: Option<String>,
    /// Only entries about this target id.
    pub target_id: Option<String>,
}

/// Entries newest first, at most `limit`.
pub async fn list(c: &mut Conn, f: &AuditFilter, limit: i64) -> Result<Vec<AuditEntry>> {
    list_page(c, f, limit, 0).await
}

/// Entries newest first, at most `limit`, skipping `offset`.
pub async fn list_page(
    c: &mut Conn,
    f: &AuditFilter,
    limit: i64,
    offset: i64,
) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query(
        "SELECT * FROM audit_log WHERE at >= $1 AND at < $2 AND ($3 = '' OR activity = $3) AND ($4 = '' OR target_id = $4) ORDER BY at DESC, id DESC LIMIT $5 OFFSET $6",
    )
    .bind(f.since.map(ms).unwrap_or(i64::MIN))
    .bind(f.until.map(ms).unwrap_or(i64::MAX))
    .bind(f.activity.clone().unwrap_or_default())
    .bind(f.target_id.clone().unwrap_or_default())
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(from_row).collect()
}
