//! Monitoring in the admin center: the sign-in log and the readiness report (R50).

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use portcullis_domain::authz::Capability;
use serde::Deserialize;

use super::AdminSession;
use crate::error::PageError;
use crate::pages;
use crate::AppState;

/// The sign-in log: administrators who may read logs.
pub(crate) async fn sign_ins(
    admin: AdminSession,
    State(st): State<AppState>,
) -> Result<Response, PageError> {
    admin.require(Capability::ReadAudit, "The sign-in log")?;
    let events = st.service.sign_in_page(&Default::default(), 500, 0).await?;
    Ok(pages::admin::sign_ins_page(&admin.nav(), &events).into_response())
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
