//! Users in the admin center: search, create, enable and disable; a user's authentication
//! methods — Create Temporary Access Pass (the code shown once) and deleting a passkey after
//! a confirmation that says the device keeps it. Each action asks the authorization table
//! for its capability, then the same service call as Graph and the CLI, which applies the
//! methods-administration rules (nobody manages their own methods; an Authentication
//! Administrator manages no administrator) and audits.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::authz::Capability;
use portcullis_domain::directory::User;
use portcullis_domain::tap::{IssueError, IssueRequest};
use portcullis_service::passkeys::{PasskeyError, PasskeyView};
use portcullis_service::tap::IssuedPass;
use portcullis_service::ServiceError;
use portcullis_store::directory::UserFilter;
use serde::Deserialize;
use uuid::Uuid;

use super::form::Fields;
use super::{AdminPost, AdminSession, NoticeQuery};
use crate::error::PageError;
use crate::pages::admin::{self as page, FieldErrors, UserPage, UsersPage};
use crate::AppState;

const PAGE: i64 = 50;

/// `?search=&after=` of the list.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    search: String,
    after: Option<String>,
}

fn query<T>(q: Result<Query<T>, axum::extract::rejection::QueryRejection>) -> Result<T, PageError> {
    q.map(|Query(q)| q)
        .map_err(|e| PageError::BadRequest(e.body_text()))
}

/// The users list.
pub(crate) async fn list(
    admin: AdminSession,
    State(st): State<AppState>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    admin.require(Capability::ReadUsers, "The users list")?;
    let q = query(q)?;
    render_list(
        &st,
        &admin,
        &q,
        ("", ""),
        &FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

/// Users whose display name or user principal name starts with the search, by user
/// principal name, a page at a time.
async fn render_list(
    st: &AppState,
    admin: &AdminSession,
    q: &ListQuery,
    new_user: (&str, &str),
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let search: String = q.search.trim().chars().take(200).collect();
    let after = q.after.as_deref().filter(|a| !a.is_empty());
    // One ordered query, so that paging by user principal name neither skips nor repeats.
    let filter = UserFilter {
        any_prefix: Some(search.clone()).filter(|s| !s.is_empty()),
        ..UserFilter::default()
    };
    let mut users: Vec<User> = st.service.users_page(&filter, after, PAGE + 1).await?;
    let next = (users.len() > PAGE as usize).then(|| {
        users.truncate(PAGE as usize);
        users
            .last()
            .map(|u| u.user_principal_name.to_string())
            .unwrap_or_default()
    });
    let viewer = admin.nav();
    Ok((
        status,
        page::users_page(&UsersPage {
            viewer: &viewer,
            search: &search,
            users: &users,
            next,
            can_create: admin.may(Capability::WriteUsers),
            new_user,
            errors,
        }),
    )
        .into_response())
}

/// New user.
pub(crate) async fn create(
    AdminPost(admin): AdminPost,
    State(st): State<AppState>,
    f: Fields,
) -> Result<Response, PageError> {
    admin.require(Capability::WriteUsers, "Creating users")?;
    let (upn, name) = (f.get("upn"), f.get("display_name"));
    match st.service.add_user(&admin.actor(), upn, name).await {
        Ok(u) => Ok(Redirect::to(&format!("/admin/users/{}?notice=created", u.id)).into_response()),
        Err(e) => {
            let (field, status) = match &e {
                ServiceError::Upn(_) => ("upn", StatusCode::BAD_REQUEST),
                ServiceError::Conflict(_) => ("upn", StatusCode::CONFLICT),
                ServiceError::DisplayName(_) => ("display_name", StatusCode::BAD_REQUEST),
                _ => return Err(e.into()),
            };
            let errors = FieldErrors::from([(field, e.to_string())]);
            let q = ListQuery {
                search: String::new(),
                after: None,
            };
            render_list(&st, &admin, &q, (upn, name), &errors, status).await
        }
    }
}

fn notice(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "created" => "User created.",
        "enabled" => "Account enabled.",
        "disabled" => "Account disabled; their sessions were ended.",
        "passkey-deleted" => "Passkey deleted from Portcullis. It is still on the user's device: ask them to remove it there too.",
        "passkey-disabled" => "Passkey disabled: it is kept, and refused at sign-in until you enable it.",
        "passkey-enabled" => "Passkey enabled: it signs in again.",
        "passkey-unchanged" => "That passkey already was in that state: nothing changed.",
        _ => return None,
    })
}

pub(crate) fn passkey_error(e: PasskeyError) -> PageError {
    match e {
        PasskeyError::Failed(s) => s.into(),
        PasskeyError::Rejected {
            code: "notFound",
            message,
        } => PageError::NotFound(message),
        other => PageError::BadRequest(other.to_string()),
    }
}

/// A user's page.
pub(crate) async fn user(
    admin: AdminSession,
    State(st): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<NoticeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    admin.require(Capability::ReadUsers, "Users")?;
    let q = query(q)?;
    let shown = Shown {
        notice: notice(q.notice.as_deref()),
        ..Shown::default()
    };
    show_user(&st, &admin, &id, shown, StatusCode::OK).await
}

/// What a rendering of a user's page adds to the user's facts.
#[derive(Default)]
struct Shown<'a> {
    issued: Option<&'a IssuedPass>,
    notice: Option<&'a str>,
    errors: FieldErrors,
}

async fn show_user(
    st: &AppState,
    admin: &AdminSession,
    key: &str,
    shown: Shown<'_>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (user, groups, roles) = st.service.user_details(key).await?;
    let actor = admin.actor();
    let id = user.id.to_string();
    // Each methods section is shown when the table and the methods-administration rules
    // (an Authentication Administrator does not manage administrators) let the viewer read
    // it; the account, groups and roles stay visible either way.
    let passkeys: Option<Vec<PasskeyView>> = if admin.may(Capability::ReadFido2) {
        match st.service.passkeys_for_admin(&actor, &id).await {
            Ok((_, v)) => Some(v),
            Err(PasskeyError::Failed(ServiceError::Forbidden(_))) => None,
            Err(e) => return Err(passkey_error(e)),
        }
    } else {
        None
    };
    let pass = if admin.may(Capability::ReadTap) {
        match st.service.tap_for(&actor, &id).await {
            Ok(p) => Some(p),
            Err(ServiceError::Forbidden(_)) => None,
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    let me = user.id == admin.user.id;
    let viewer = admin.nav();
    let markup = page::user_page(&UserPage {
        viewer: &viewer,
        user: &user,
        groups: &groups,
        roles: &roles,
        passkeys: passkeys.as_deref(),
        pass: pass.as_ref().map(Option::as_ref),
        issued: shown.issued,
        notice: shown.notice,
        can_manage_user: admin.may(Capability::WriteUsers) && !me,
        // Offered only where the methods-administration rules let the viewer see the
        // methods at all (never for their own account).
        can_create_pass: admin.may(Capability::WriteTap) && !me && pass.is_some(),
        can_delete_passkeys: admin.may(Capability::WriteFido2) && !me && passkeys.is_some(),
        errors: &shown.errors,
    });
    Ok((status, markup).into_response())
}

/// Enable or Disable account.
pub(crate) async fn set_enabled(
    AdminPost(admin): AdminPost,
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: Fields,
) -> Result<Response, PageError> {
    admin.require(Capability::WriteUsers, "Enabling and disabling accounts")?;
    let enabled = match f.get("enabled") {
        "yes" => true,
        "no" => false,
        other => {
            return Err(PageError::BadRequest(format!(
                "'{other}' is not yes or no."
            )))
        }
    };
    let user = st.service.user(&id).await?;
    if user.id == admin.user.id && !enabled {
        return Err(PageError::BadRequest(
            "You cannot disable your own account: another administrator can.".into(),
        ));
    }
    st.service
        .set_user_enabled(&admin.actor(), &id, enabled)
        .await?;
    let n = if enabled { "enabled" } else { "disabled" };
    Ok(Redirect::to(&format!("/admin/users/{}?notice={n}", user.id)).into_response())
}

/// Create Temporary Access Pass: the code on the page this once.
pub(crate) async fn create_tap(
    AdminPost(admin): AdminPost,
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: Fields,
) -> Result<Response, PageError> {
    admin.require(Capability::WriteTap, "Creating a Temporary Access Pass")?;
    let mut errors = FieldErrors::new();
    let lifetime = match f.get("lifetime") {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.insert(
                    "lifetime",
                    format!("'{s}' is not a whole number of minutes."),
                );
                None
            }
        },
    };
    let once = match f.get("one_time") {
        "" => None,
        "yes" => Some(true),
        "no" => Some(false),
        other => {
            errors.insert(
                "one_time",
                format!("'{other}' is not Yes, No or the default."),
            );
            None
        }
    };
    if !errors.is_empty() {
        let shown = Shown {
            errors,
            ..Shown::default()
        };
        return show_user(&st, &admin, &id, shown, StatusCode::BAD_REQUEST).await;
    }
    let req = IssueRequest {
        start_at: None,
        lifetime_minutes: lifetime,
        is_usable_once: once,
    };
    match st.service.create_tap(&admin.actor(), &id, req).await {
        Ok(issued) => {
            let shown = Shown {
                issued: Some(&issued),
                ..Shown::default()
            };
            show_user(&st, &admin, &id, shown, StatusCode::CREATED).await
        }
        Err(ServiceError::Issue(e)) => {
            let field = match e {
                IssueError::Lifetime { .. } => "lifetime",
                IssueError::MultiUseForbidden => "one_time",
                _ => "form",
            };
            let shown = Shown {
                errors: FieldErrors::from([(field, e.to_string())]),
                ..Shown::default()
            };
            show_user(&st, &admin, &id, shown, StatusCode::BAD_REQUEST).await
        }
        Err(e) => Err(e.into()),
    }
}

fn passkey_id(s: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(s).map_err(|_| PageError::NotFound("There is no passkey with that id.".into()))
}

/// Delete passkey: the confirmation.
pub(crate) async fn confirm_delete(
    admin: AdminSession,
    State(st): State<AppState>,
    Path((id, pk)): Path<(String, String)>,
) -> Result<Response, PageError> {
    admin.require(Capability::WriteFido2, "Deleting passkeys")?;
    let pk = passkey_id(&pk)?;
    let (user, views) = st
        .service
        .passkeys_for_admin(&admin.actor(), &id)
        .await
        .map_err(passkey_error)?;
    let v = views
        .iter()
        .find(|v| v.stored.passkey.id == pk)
        .ok_or_else(|| {
            PageError::NotFound(format!("{} has no such passkey.", user.display_name))
        })?;
    Ok(page::delete_passkey_page(&admin.nav(), &user, v).into_response())
}

/// Delete passkey: confirmed.
pub(crate) async fn delete(
    AdminPost(admin): AdminPost,
    State(st): State<AppState>,
    Path((id, pk)): Path<(String, String)>,
) -> Result<Response, PageError> {
    admin.require(Capability::WriteFido2, "Deleting passkeys")?;
    let pk = passkey_id(&pk)?;
    let user = st.service.user(&id).await?;
    st.service
        .admin_delete_passkey(&admin.actor(), &id, pk)
        .await
        .map_err(passkey_error)?;
    Ok(Redirect::to(&format!("/admin/users/{}?notice=passkey-deleted", user.id)).into_response())
}

/// Disable or Enable a passkey (R26).
pub(crate) async fn set_state(
    AdminPost(admin): AdminPost,
    State(st): State<AppState>,
    Path((id, pk)): Path<(String, String)>,
    f: Fields,
) -> Result<Response, PageError> {
    admin.require(Capability::WriteFido2, "Disabling and enabling passkeys")?;
    let pk = passkey_id(&pk)?;
    let disabled = match f.get("state") {
        "disabled" => true,
        "enabled" => false,
        other => {
            return Err(PageError::BadRequest(format!(
                "'{other}' is not a passkey state: use enabled or disabled."
            )))
        }
    };
    let user = st.service.user(&id).await?;
    let changed = st
        .service
        .set_passkey_disabled(&admin.actor(), &id, pk, disabled)
        .await
        .map_err(passkey_error)?;
    let notice = match (changed, disabled) {
        (false, _) => "passkey-unchanged",
        (true, true) => "passkey-disabled",
        (true, false) => "passkey-enabled",
    };
    Ok(Redirect::to(&format!("/admin/users/{}?notice={notice}", user.id)).into_response())
}
