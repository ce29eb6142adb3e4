//! The Temporary Access Pass settings (R10, R11): read into a typed configuration once, then
//! previewed and saved through the same service calls as the Passkey (FIDO2) page and Graph.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::authz::Capability;
use portcullis_domain::policy::{
    MethodConfiguration, MethodId, MethodState, PolicyError, TapConfiguration, TargetId,
};
use portcullis_service::ServiceError;
use serde::Deserialize;

use super::form::Fields;
use super::targets::{self, Errors};
use super::{AdminPost, AdminSession};
use crate::error::PageError;
use crate::pages::admin::{self as page, TapInput, TapPage};
use crate::AppState;

const PATH: &str = "/admin/authentication-methods/tap";

async fn current(st: &AppState) -> Result<TapConfiguration, PageError> {
    match st
        .service
        .method_configuration(MethodId::TemporaryAccessPass)
        .await?
    {
        MethodConfiguration::TemporaryAccessPass(t) => Ok(t),
        _ => Err(PageError::Internal(
            "the store returned another method's configuration for TAP".into(),
        )),
    }
}

async fn input_of(st: &AppState, c: &TapConfiguration) -> Result<TapInput, PageError> {
    Ok(TapInput {
        version: super::version::of(c),
        enabled: c.state == MethodState::Enabled,
        all_users: c.include_targets.iter().any(|t| t.id == TargetId::AllUsers),
        include_groups: targets::lines(st, c.include_targets.iter().map(|t| t.id).collect())
            .await?,
        exclude_groups: targets::lines(st, c.exclude_targets.iter().map(|t| t.id).collect())
            .await?,
        minimum: c.minimum_lifetime_in_minutes.to_string(),
        maximum: c.maximum_lifetime_in_minutes.to_string(),
        default: c.default_lifetime_in_minutes.to_string(),
        one_time: c.is_usable_once,
        length: c.default_length.to_string(),
    })
}

/// `?saved=1` after a save.
#[derive(Debug, Deserialize)]
pub(crate) struct SavedQuery {
    saved: Option<String>,
}

/// What one rendering shows besides the values.
#[derive(Default)]
struct Shown<'a> {
    errors: Errors,
    impact: Option<&'a portcullis_service::readiness::Readiness>,
    confirm: bool,
    saved: bool,
    not_saved: Option<String>,
}

fn render(
    admin: &AdminSession,
    input: &TapInput,
    shown: &Shown<'_>,
    status: StatusCode,
) -> Response {
    let viewer = admin.nav();
    let markup = page::tap_page(&TapPage {
        viewer: &viewer,
        input,
        errors: &shown.errors,
        impact: shown.impact,
        confirm: shown.confirm,
        saved: shown.saved,
        not_saved: shown.not_saved.as_deref(),
        can_write: admin.may(Capability::WritePolicy),
    });
    (status, markup).into_response()
}

/// The settings as saved.
pub(crate) async fn get(
    admin: AdminSession,
    State(st): State<AppState>,
    q: Result<Query<SavedQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    admin.require(Capability::ReadPolicy, "The Temporary Access Pass settings")?;
    let input = input_of(&st, &current(&st).await?).await?;
    let shown = Shown {
        saved: q
            .ok()
            .is_some_and(|Query(q)| q.saved.as_deref() == Some("1")),
        ..Shown::default()
    };
    Ok(render(&admin, &input, &shown, StatusCode::OK))
}

fn minutes(f: &Fields, name: &'static str, errors: &mut Errors) -> i64 {
    f.get(name).parse().unwrap_or_else(|_| {
        errors.insert(name, format!("'{}' is not a whole number.", f.get(name)));
        0
    })
}

/// Preview impact, Save and Save anyway.
pub(crate) async fn post(
    AdminPost(admin): AdminPost,
    State(st): State<AppState>,
    f: Fields,
) -> Result<Response, PageError> {
    admin.require(
        Capability::WritePolicy,
        "Changing the Temporary Access Pass settings",
    )?;
    let action = f.get("action");
    if !["preview", "save", "save-anyway"].contains(&action) {
        return Err(PageError::BadRequest(format!(
            "'{action}' is not an action of this form: use preview, save or save-anyway."
        )));
    }
    let input = TapInput {
        version: f.get(super::version::FIELD).into(),
        enabled: f.is("enabled", "on"),
        all_users: f.get("include") == "all",
        include_groups: f.get("include_groups").into(),
        exclude_groups: f.get("exclude_groups").into(),
        minimum: f.get("minimumLifetimeInMinutes").into(),
        maximum: f.get("maximumLifetimeInMinutes").into(),
        default: f.get("defaultLifetimeInMinutes").into(),
        one_time: f.get("isUsableOnce") != "no",
        length: f.get("defaultLength").into(),
    };
    let mut shown = Shown::default();
    if !["all", "groups"].contains(&f.get("include")) {
        shown.errors.insert(
            targets::INCLUDE,
            format!("'{}' is not All users or Select groups.", f.get("include")),
        );
    }
    if !["yes", "no"].contains(&f.get("isUsableOnce")) {
        shown.errors.insert(
            "isUsableOnce",
            format!("'{}' is not Yes or No.", f.get("isUsableOnce")),
        );
    }
    let saved = current(&st).await?;
    if action != "preview" && super::version::stale(&f, &super::version::of(&saved)) {
        shown.errors.insert("form", super::version::refusal().1);
        return Ok(render(&admin, &input, &shown, StatusCode::CONFLICT));
    }
    let (include, exclude, sources) = targets::read(
        &st,
        &saved.include_targets,
        input.all_users,
        &input.include_groups,
        &input.exclude_groups,
        &mut shown.errors,
    )
    .await?;
    let cfg = TapConfiguration {
        state: if input.enabled {
            MethodState::Enabled
        } else {
            MethodState::Disabled
        },
        include_targets: include,
        exclude_targets: exclude,
        minimum_lifetime_in_minutes: minutes(&f, "minimumLifetimeInMinutes", &mut shown.errors),
        maximum_lifetime_in_minutes: minutes(&f, "maximumLifetimeInMinutes", &mut shown.errors),
        default_lifetime_in_minutes: minutes(&f, "defaultLifetimeInMinutes", &mut shown.errors),
        default_length: minutes(&f, "defaultLength", &mut shown.errors),
        is_usable_once: input.one_time,
    };
    if !shown.errors.is_empty() {
        return Ok(render(&admin, &input, &shown, StatusCode::BAD_REQUEST));
    }
    let place = |e: ServiceError, shown: &mut Shown<'_>| -> Result<(), PageError> {
        let field = match &e {
            ServiceError::Policy(PolicyError::Target(t)) => targets::field_of(t, &sources),
            ServiceError::Policy(PolicyError::Invalid { field, .. }) => field,
            ServiceError::Store(_) | ServiceError::Internal(_) => return Err(e.into()),
            _ => "form",
        };
        shown.errors.insert(field, e.to_string());
        Ok(())
    };
    let method = MethodConfiguration::TemporaryAccessPass(cfg);
    let preview = match st.service.preview_method_configuration(&method).await {
        Ok(p) => p,
        Err(e) => {
            place(e, &mut shown)?;
            return Ok(render(&admin, &input, &shown, StatusCode::BAD_REQUEST));
        }
    };
    let stranded = preview.stranded().len();
    if action == "preview" || (action == "save" && stranded > 0) {
        let status = if action == "save" {
            shown.not_saved = Some(super::held(stranded));
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        };
        let shown = Shown {
            impact: Some(&preview.readiness),
            confirm: stranded > 0,
            ..shown
        };
        return Ok(render(&admin, &input, &shown, status));
    }
    match st
        .service
        .save_method_configuration_opened_on(
            &admin.actor(),
            method,
            false,
            super::version::opened_on(&f),
        )
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("{PATH}?saved=1")).into_response()),
        Err(e) => {
            let status = if matches!(e, ServiceError::Stale) {
                StatusCode::CONFLICT
            } else {
                StatusCode::BAD_REQUEST
            };
            place(e, &mut shown)?;
            Ok(render(&admin, &input, &shown, status))
        }
    }
}
