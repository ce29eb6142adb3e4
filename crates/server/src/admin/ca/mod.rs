//! Conditional Access in the admin center: the policy list, a policy's form (names of
//! users, groups and applications resolved to ids once, here; the policy then validated by
//! the same service call as Graph and the CLI), Preview impact, the lock-out guard (R45)
//! and named locations.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::authz::Capability;
use portcullis_service::conditional_access::CaData;
use portcullis_service::ServiceError;
use serde::Deserialize;
use std::sync::Arc;

use super::form::Fields;
use super::{AdminPost, AdminSession, NoticeQuery};

mod form;
mod locations;

use crate::error::PageError;
use crate::pages::admin::{self as page, CaForm, CaInput, FieldErrors, PolicyRow, CA};
use crate::AppState;
use form::{add_filter_clause, input_from, input_of, place, policy_of};
pub(crate) use locations::{add_location, locations};

/// `?saved=1` after a save.
#[derive(Debug, Deserialize)]
pub(crate) struct SavedQuery {
    saved: Option<String>,
}

fn words(list: &[String], all: &str) -> String {
    if list.iter().any(|x| x.eq_ignore_ascii_case("All")) {
        all.to_string()
    } else {
        format!("{} selected", list.len())
    }
}

/// The policy list.
pub(crate) async fn list(
    admin: AdminSession,
    State(st): State<AppState>,
    q: Result<Query<NoticeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    admin.require(Capability::ReadCa, "Conditional Access")?;
    let notice = match q.ok().and_then(|Query(q)| q.notice).as_deref() {
        Some("deleted") => Some("Policy deleted."),
        Some("saved") => Some("Policy saved."),
        _ => None,
    };
    let data = st.service.ca_data().await?;
    let strength_name = |id: &str| {
        data.strengths
            .iter()
            .find(|s| s.id == id)
            .map_or_else(|| id.to_string(), |s| s.display_name.clone())
    };
    let rows: Vec<PolicyRow<'_>> = data
        .policies()
        .iter()
        .map(|p| {
            let u = &p.conditions.users;
            let a = &p.conditions.applications;
            let users = if u.include_users.iter().any(|x| x == "All") {
                "All users".to_string()
            } else {
                format!(
                    "{} user(s), {} group(s), {} role(s)",
                    u.include_users.len(),
                    u.include_groups.len(),
                    u.include_roles.len()
                )
            };
            let resources = if !a.include_user_actions.is_empty() {
                "Register security information".to_string()
            } else if a.application_filter.is_some() {
                "Application filter".to_string()
            } else {
                words(&a.include_applications, "All resources")
            };
            let grant = match &p.grant_controls {
                Some(g) if g.built_in_controls.iter().any(|c| c == "block") => "Block".into(),
                Some(g) => {
                    let mut c = g.built_in_controls.clone();
                    if let Some(s) = g.strength_id() {
                        c.push(strength_name(s));
                    }
                    c.join(if g.operator == "AND" { " and " } else { " or " })
                }
                None => "—".into(),
            };
            PolicyRow {
                policy: p,
                users,
                resources,
                grant,
            }
        })
        .collect();
    Ok(
        page::policies_page(&admin.nav(), &rows, admin.may(Capability::WriteCa), notice)
            .into_response(),
    )
}

/// What the form needs besides its values.
struct Choices {
    apps: Vec<(String, String)>,
    data: Arc<CaData>,
}

async fn choices(st: &AppState) -> Result<Choices, PageError> {
    let apps = super::applications(st).await?;
    Ok(Choices {
        apps,
        data: st.service.ca_data().await?,
    })
}

/// One rendering of the form.
#[derive(Default)]
struct Shown<'a> {
    errors: FieldErrors,
    impact: Option<&'a portcullis_service::readiness::Readiness>,
    confirm: bool,
    not_saved: Option<String>,
    lockout: Option<Vec<String>>,
    saved: bool,
}

fn render(
    admin: &AdminSession,
    c: &Choices,
    id: Option<&str>,
    input: &CaInput,
    shown: &Shown<'_>,
    status: StatusCode,
) -> Response {
    let viewer = admin.nav();
    let markup = page::policy_form_page(&CaForm {
        viewer: &viewer,
        id,
        input,
        errors: &shown.errors,
        apps: &c.apps,
        strengths: &c.data.strengths,
        locations: &c.data.locations,
        impact: shown.impact,
        confirm: shown.confirm,
        not_saved: shown.not_saved.as_deref(),
        lockout: shown.lockout.as_deref(),
        can_write: admin.may(Capability::WriteCa),
        saved: shown.saved,
    });
    (status, markup).into_response()
}

/// New policy: report-only to start with, as the documents advise.
pub(crate) async fn new(
    admin: AdminSession,
    State(st): State<AppState>,
) -> Result<Response, PageError> {
    admin.require(Capability::WriteCa, "Creating Conditional Access policies")?;
    let input = CaInput {
        state: "enabledForReportingButNotEnforced".into(),
        include: "all".into(),
        target: "all".into(),
        grant: "grant".into(),
        operator: "OR".into(),
        ..CaInput::default()
    };
    let c = choices(&st).await?;
    Ok(render(
        &admin,
        &c,
        None,
        &input,
        &Shown::default(),
        StatusCode::OK,
    ))
}

/// A policy's form, filled from the saved policy.
pub(crate) async fn edit(
    admin: AdminSession,
    State(st): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<SavedQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let saved = q
        .ok()
        .is_some_and(|Query(q)| q.saved.as_deref() == Some("1"));
    admin.require(Capability::ReadCa, "Conditional Access")?;
    let c = choices(&st).await?;
    let p = c
        .data
        .policies()
        .iter()
        .find(|p| p.id == id)
        .cloned()
        .ok_or_else(|| {
            PageError::NotFound("There is no Conditional Access policy with that id.".into())
        })?;
    let input = input_of(&st, &p).await?;
    let shown = Shown {
        saved,
        ..Shown::default()
    };
    Ok(render(
        &admin,
        &c,
        Some(&id),
        &input,
        &shown,
        StatusCode::OK,
    ))
}

/// Create.
pub(crate) async fn post_new(
    AdminPost(admin): AdminPost,
    State(st): State<AppState>,
    f: Fields,
) -> Result<Response, PageError> {
    admin.require(Capability::WriteCa, "Creating Conditional Access policies")?;
    submit(&st, &admin, None, &f).await
}

/// Save.
pub(crate) async fn post_edit(
    AdminPost(admin): AdminPost,
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: Fields,
) -> Result<Response, PageError> {
    admin.require(Capability::WriteCa, "Changing Conditional Access policies")?;
    if !st
        .service
        .ca_data()
        .await?
        .policies()
        .iter()
        .any(|p| p.id == id)
    {
        return Err(PageError::NotFound(
            "There is no Conditional Access policy with that id.".into(),
        ));
    }
    submit(&st, &admin, Some(&id), &f).await
}

async fn submit(
    st: &AppState,
    admin: &AdminSession,
    id: Option<&str>,
    f: &Fields,
) -> Result<Response, PageError> {
    let action = f.get("action");
    if !["preview", "save", "save-anyway", "add-filter"].contains(&action) {
        return Err(PageError::BadRequest(format!(
            "'{action}' is not an action of this form: use preview, save, save-anyway or add-filter."
        )));
    }
    let c = choices(st).await?;
    let mut input = input_from(f);
    let mut shown = Shown::default();
    let stored = id.and_then(|id| c.data.policies().iter().find(|p| p.id == id));
    if matches!(action, "save" | "save-anyway")
        && stored.is_some_and(|p| super::version::stale(f, &super::version::of(p)))
    {
        shown.errors.insert("form", super::version::refusal().1);
        return Ok(render(admin, &c, id, &input, &shown, StatusCode::CONFLICT));
    }
    if action == "add-filter" {
        add_filter_clause(f, &mut input, &mut shown.errors);
        let status = if shown.errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        return Ok(render(admin, &c, id, &input, &shown, status));
    }
    let policy = policy_of(st, id, &input, &mut shown.errors).await?;
    if !shown.errors.is_empty() {
        return Ok(render(
            admin,
            &c,
            id,
            &input,
            &shown,
            StatusCode::BAD_REQUEST,
        ));
    }
    let refused = |e: ServiceError, shown: &mut Shown<'_>| -> Result<StatusCode, PageError> {
        match e {
            ServiceError::CaPolicy(p) => {
                shown.errors.insert(place(&p), p.to_string());
                Ok(StatusCode::BAD_REQUEST)
            }
            e @ ServiceError::Stale => {
                shown.errors.insert("form", e.to_string());
                Ok(StatusCode::CONFLICT)
            }
            ServiceError::Lockout { admins, .. } => {
                shown.lockout = Some(admins);
                Ok(StatusCode::CONFLICT)
            }
            e @ (ServiceError::Store(_) | ServiceError::Internal(_)) => Err(e.into()),
            e => {
                shown.errors.insert("form", e.to_string());
                Ok(StatusCode::BAD_REQUEST)
            }
        }
    };
    let readiness = match st.service.preview_ca_policy(&policy).await {
        Ok(r) => r,
        Err(e) => {
            let status = refused(e, &mut shown)?;
            return Ok(render(admin, &c, id, &input, &shown, status));
        }
    };
    let stranded = readiness
        .delta
        .as_ref()
        .map(|d| d.stranded().len())
        .unwrap_or_default();
    if action == "preview" || (action == "save" && stranded > 0) {
        let status = if action == "save" {
            shown.not_saved = Some(super::held(stranded));
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        };
        let shown = Shown {
            impact: Some(&readiness),
            confirm: stranded > 0,
            ..shown
        };
        return Ok(render(admin, &c, id, &input, &shown, status));
    }
    match st
        .service
        .save_ca_policy_opened_on(
            &admin.actor(),
            policy,
            f.is("accept_lockout", "on"),
            super::version::opened_on(f),
        )
        .await
    {
        Ok(saved) => Ok(Redirect::to(&format!("{CA}/{}?saved=1", saved.id)).into_response()),
        Err(e) => {
            let status = refused(e, &mut shown)?;
            Ok(render(admin, &c, id, &input, &shown, status))
        }
    }
}

/// Delete policy.
pub(crate) async fn delete(
    AdminPost(admin): AdminPost,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    admin.require(Capability::WriteCa, "Deleting Conditional Access policies")?;
    st.service.delete_ca_policy(&admin.actor(), &id).await?;
    Ok(Redirect::to(&format!("{CA}?notice=deleted")).into_response())
}
