//! R53 in the admin center: the adoption page, its CSV and JSON exports, and "ready to
//! enforce?" (the readiness engine run on a proposed requirement).

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use portcullis_domain::authz::Capability;
use portcullis_service::render::adoption as render;
use serde::Deserialize;
use time::Date;

use super::AdminSession;
use crate::error::PageError;
use crate::pages::admin::{self as page, AdoptionView};
use crate::AppState;

/// `?from=&to=&strength=`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AdoptionQuery {
    from: Option<String>,
    to: Option<String>,
    strength: Option<String>,
}

fn day(field: &str, s: Option<&str>) -> Result<Option<Date>, PageError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
            .map(Some)
            .map_err(|_| {
                PageError::BadRequest(format!("{field}: '{s}' is not a date (YYYY-MM-DD)."))
            }),
    }
}

impl AdoptionQuery {
    fn range(&self) -> Result<(Option<Date>, Option<Date>), PageError> {
        Ok((
            day("from", self.from.as_deref())?,
            day("to", self.to.as_deref())?,
        ))
    }

    fn query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [("from", &self.from), ("to", &self.to)] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                q.append_pair(k, v);
            }
        }
        q.finish()
    }
}

async fn report(
    admin: &AdminSession,
    st: &AppState,
    q: &AdoptionQuery,
) -> Result<portcullis_service::adoption::AdoptionReport, PageError> {
    admin.require(Capability::ReadReports, "The adoption report")?;
    let (from, to) = q.range()?;
    Ok(st.service.adoption(from, to).await?)
}

/// `GET /admin/adoption`.
pub(crate) async fn page(
    admin: AdminSession,
    State(st): State<AppState>,
    q: Result<Query<AdoptionQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let Query(q) = q.map_err(|e| PageError::BadRequest(e.body_text()))?;
    let r = report(&admin, &st, &q).await?;
    let may_propose = admin.may(Capability::RunReadiness);
    let strengths = if may_propose {
        Some(st.service.ca_data().await?.strengths.clone())
    } else {
        None
    };
    let impact = match q.strength.as_deref().filter(|s| !s.is_empty()) {
        Some(id) => {
            admin.require(
                Capability::RunReadiness,
                "Checking what a requirement would do",
            )?;
            Some((id.to_string(), st.service.enforcement_impact(id).await?))
        }
        None => None,
    };
    Ok(page::adoption_page(
        &admin.nav(),
        &AdoptionView {
            report: &r,
            query: q.query(),
            strengths: strengths.as_deref(),
            impact: impact.as_ref().map(|(id, i)| (id.as_str(), i)),
        },
    )
    .into_response())
}

/// `GET /admin/adoption/{daily.csv|breakdown.csv|report.json}`.
pub(crate) async fn export(
    admin: AdminSession,
    State(st): State<AppState>,
    Path(file): Path<String>,
    q: Result<Query<AdoptionQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let Query(q) = q.map_err(|e| PageError::BadRequest(e.body_text()))?;
    let (kind, body) = match file.as_str() {
        "daily.csv" => (
            "text/csv; charset=utf-8",
            render::daily_csv(&report(&admin, &st, &q).await?),
        ),
        "breakdown.csv" => (
            "text/csv; charset=utf-8",
            render::breakdown_csv(&report(&admin, &st, &q).await?),
        ),
        "report.json" => (
            "application/json",
            render::json(&report(&admin, &st, &q).await?).to_string(),
        ),
        other => {
            return Err(PageError::NotFound(format!(
                "No export named '{other}': daily.csv, breakdown.csv or report.json."
            )))
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"adoption-{file}\""),
            ),
        ],
        body,
    )
        .into_response())
}
