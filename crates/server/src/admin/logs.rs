//! Monitoring in the admin center: the sign-in and audit logs (filtered, paged, exported as
//! CSV) and the readiness report (R50).

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_domain::authz::Capability;
use portcullis_domain::time_fmt::parse_rfc3339;
use portcullis_domain::Timestamp;
use portcullis_store::audit::AuditFilter;
use portcullis_store::signins::SignInFilter;
use serde::Deserialize;

use super::AdminSession;
use crate::error::PageError;
use crate::pages;
use crate::pages::admin::{AuditView, AuditsQuery, FieldErrors, SignInsQuery, SignInsView};
use crate::AppState;

/// Entries per page of a log.
const PER_PAGE: i64 = 100;

/// The sign-in log's filters, as the page's form sends them.
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct SignInQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    app: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    ca: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    format: String,
}

/// A day (`YYYY-MM-DD`, as a date input sends it) or an RFC 3339 time; `end` takes the
/// day after a bare date, so that "to" includes its day.
fn when(s: &str, end: bool) -> Result<Option<Timestamp>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let bare = s.len() == 10;
    let t = parse_rfc3339(&if bare {
        format!("{s}T00:00:00Z")
    } else {
        s.to_string()
    })
    .map_err(|_| format!("'{s}' is not a date (YYYY-MM-DD)."))?;
    Ok(Some(if bare && end {
        t + time::Duration::days(1)
    } else {
        t
    }))
}

fn page_number(s: &str) -> Result<i64, PageError> {
    match s.trim() {
        "" => Ok(0),
        p => p
            .parse::<u32>()
            .map(i64::from)
            .map_err(|_| PageError::BadRequest(format!("'{p}' is not a page number."))),
    }
}

fn export_format(s: &str) -> Result<Option<&'static str>, PageError> {
    match s {
        "" => Ok(None),
        "csv" => Ok(Some("csv")),
        other => Err(PageError::BadRequest(format!(
            "'{other}' is not an export format: use csv."
        ))),
    }
}

fn csv_download(name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// The filters of a sign-in query, each bad value an error on its field.
fn sign_in_filter(q: &SignInQuery, errors: &mut FieldErrors) -> SignInFilter {
    let mut f = SignInFilter {
        upn: Some(q.user.trim().to_lowercase()).filter(|u| !u.is_empty()),
        app_id: Some(q.app.trim().to_string()).filter(|a| !a.is_empty()),
        ..SignInFilter::default()
    };
    match q.status.as_str() {
        "" => {}
        "success" => f.succeeded = Some(true),
        "failure" => f.succeeded = Some(false),
        other => {
            errors.insert("status", format!("'{other}' is not Success or Failure."));
        }
    }
    match q.ca.as_str() {
        "" => {}
        ca @ ("success" | "failure" | "notApplied") => f.ca_status = Some(ca.to_string()),
        other => {
            errors.insert(
                "ca",
                format!(
                    "'{other}' is not a Conditional Access result (success, failure, notApplied)."
                ),
            );
        }
    }
    match when(&q.from, false) {
        Ok(t) => f.since = t,
        Err(e) => {
            errors.insert("from", e);
        }
    }
    match when(&q.to, true) {
        Ok(t) => f.until = t,
        Err(e) => {
            errors.insert("to", e);
        }
    }
    f
}

/// The sign-in log, filtered, paged, exportable as CSV: administrators who may read logs.
pub(crate) async fn sign_ins(
    admin: AdminSession,
    State(st): State<AppState>,
    query: Result<Query<SignInQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    admin.require(Capability::ReadAudit, "The sign-in log")?;
    let Query(q) = query.map_err(|e| PageError::BadRequest(e.body_text()))?;
    let format = export_format(&q.format)?;
    let page = page_number(&q.page)?;
    let mut errors = FieldErrors::new();
    let filter = sign_in_filter(&q, &mut errors);
    let apps: Vec<(String, String)> = super::applications(&st).await?;
    if !errors.is_empty() {
        let view = SignInsView {
            events: &[],
            models: &BTreeMap::new(),
            apps: &apps,
            query: &q.clone().into(),
            errors: &errors,
            page,
            more: false,
        };
        return Ok((
            StatusCode::BAD_REQUEST,
            pages::admin::sign_ins_page(&admin.nav(), &view),
        )
            .into_response());
    }
    let (limit, offset) = match format {
        Some(_) => (EXPORT_LIMIT, 0),
        None => (PER_PAGE + 1, page.saturating_mul(PER_PAGE)),
    };
    let mut events = st.service.sign_in_page(&filter, limit, offset).await?;
    let models = st
        .service
        .model_names(
            events
                .iter()
                .filter_map(|e| e.passkey_aaguid)
                .collect::<Vec<_>>(),
        )
        .await?;
    if format.is_some() {
        return Ok(csv_download(
            "sign-ins.csv",
            portcullis_service::render::logs::sign_ins_csv(&events, &models),
        ));
    }
    let more = events.len() > PER_PAGE as usize;
    events.truncate(PER_PAGE as usize);
    let view = SignInsView {
        events: &events,
        models: &models,
        apps: &apps,
        query: &q.into(),
        errors: &errors,
        page,
        more,
    };
    Ok(pages::admin::sign_ins_page(&admin.nav(), &view).into_response())
}

/// At most this many entries in one export.
const EXPORT_LIMIT: i64 = 100_000;

impl From<SignInQuery> for SignInsQuery {
    fn from(q: SignInQuery) -> Self {
        SignInsQuery {
            user: q.user,
            app: q.app,
            status: q.status,
            from: q.from,
            to: q.to,
            ca: q.ca,
        }
    }
}

/// The audit log's filters.
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    activity: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    format: String,
}

/// The audit log — every change, who made it, before and after — filtered, paged,
/// exportable as CSV.
pub(crate) async fn audit(
    admin: AdminSession,
    State(st): State<AppState>,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    admin.require(Capability::ReadAudit, "The audit log")?;
    let Query(q) = query.map_err(|e| PageError::BadRequest(e.body_text()))?;
    let format = export_format(&q.format)?;
    let page = page_number(&q.page)?;
    let mut errors = FieldErrors::new();
    let mut filter = AuditFilter {
        activity: Some(q.activity.trim().to_string()).filter(|a| !a.is_empty()),
        target_id: Some(q.target.trim().to_string()).filter(|t| !t.is_empty()),
        ..AuditFilter::default()
    };
    match when(&q.from, false) {
        Ok(t) => filter.since = t,
        Err(e) => {
            errors.insert("from", e);
        }
    }
    match when(&q.to, true) {
        Ok(t) => filter.until = t,
        Err(e) => {
            errors.insert("to", e);
        }
    }
    let shown = AuditsQuery {
        activity: q.activity.clone(),
        target: q.target.clone(),
        from: q.from.clone(),
        to: q.to.clone(),
    };
    if !errors.is_empty() {
        let view = AuditView {
            entries: &[],
            query: &shown,
            errors: &errors,
            page,
            more: false,
        };
        return Ok((
            StatusCode::BAD_REQUEST,
            pages::admin::audit_page(&admin.nav(), &view),
        )
            .into_response());
    }
    let (limit, offset) = match format {
        Some(_) => (EXPORT_LIMIT, 0),
        None => (PER_PAGE + 1, page.saturating_mul(PER_PAGE)),
    };
    let mut entries = st.service.audit_page(&filter, limit, offset).await?;
    if format.is_some() {
        return Ok(csv_download(
            "audit-log.csv",
            portcullis_service::render::logs::audit_csv(&entries),
        ));
    }
    let more = entries.len() > PER_PAGE as usize;
    entries.truncate(PER_PAGE as usize);
    let view = AuditView {
        entries: &entries,
        query: &shown,
        errors: &errors,
        page,
        more,
    };
    Ok(pages::admin::audit_page(&admin.nav(), &view).into_response())
}

/// `?format=` of the readiness page: an export instead of the page.
#[derive(Deserialize)]
pub(crate) struct ReadinessQuery {
    format: Option<String>,
}

/// The readiness report (R50): who cannot get in, and why; CSV and JSON exports. For the
/// roles that may run it (the authorization table's `RunReadiness`).
pub(crate) async fn readiness(
    admin: AdminSession,
    State(st): State<AppState>,
    query: Result<Query<ReadinessQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let Query(q) = query.map_err(|e| PageError::BadRequest(e.body_text()))?;
    admin.require(Capability::RunReadiness, "The readiness report")?;
    let attachment = |name: &str| format!("attachment; filename=\"{name}\"");
    let format = q.format.unwrap_or_default();
    if !["", "csv", "json"].contains(&format.as_str()) {
        return Err(PageError::BadRequest(format!(
            "'{format}' is not an export format: use csv or json."
        )));
    }
    let r = st.service.readiness(&[], None).await?;
    Ok(match format.as_str() {
        "csv" => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, attachment("readiness.csv")),
            ],
            portcullis_service::render::readiness::csv(&r),
        )
            .into_response(),
        "json" => (
            [
                (header::CONTENT_TYPE, "application/json".to_string()),
                (header::CONTENT_DISPOSITION, attachment("readiness.json")),
            ],
            portcullis_service::render::readiness::json(&r).to_string(),
        )
            .into_response(),
        _ => pages::admin::readiness_page(&admin.nav(), &r).into_response(),
    })
}
