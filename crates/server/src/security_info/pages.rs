//! Security info's pages (R40): the user's passkeys — each usable or why not, renamed,
//! deleted after a confirmation — and adding one; the application session they need is
//! the parent module's.

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use std::net::SocketAddr;

use crate::error::PageError;
use crate::pages;
use crate::routes::{check_same_origin, form_error, request_context};
use crate::AppState;

/// `?notice=` of Security info after a change: one of a fixed set.
#[derive(Deserialize)]
pub(crate) struct SecurityInfoQuery {
    notice: Option<String>,
}

pub(crate) async fn security_info(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<Query<SecurityInfoQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let notice = match query.ok().and_then(|Query(q)| q.notice).as_deref() {
        Some("deleted") => Some(pages::security_info::Notice::Deleted),
        Some("renamed") => Some(pages::security_info::Notice::Renamed),
        Some("oath-added") => Some(pages::security_info::Notice::OathAdded),
        Some("oath-deleted") => Some(pages::security_info::Notice::OathDeleted),
        Some("password-changed") => Some(pages::security_info::Notice::PasswordChanged),
        Some("authenticator-deleted") => Some(pages::security_info::Notice::AuthenticatorDeleted),
        _ => None,
    };
    show_security_info(&st, peer, &headers, notice, None, StatusCode::OK).await
}

async fn show_security_info(
    st: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    notice: Option<pages::security_info::Notice>,
    rename_error: Option<(uuid::Uuid, String)>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (session, user) = match super::app_session(st, headers).await? {
        Ok(s) => s,
        Err(start) => return Ok(start),
    };
    let passkeys = st
        .service
        .passkeys_of(&user)
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?;
    let options = st
        .service
        .registration_offer(&user, &session, &request_context(st, peer, headers))
        .await?;
    let has_password = st.service.has_password(user.id).await?;
    let oath = st.service.oath_of(user.id).await?;
    let devices = st.service.authenticators_of(user.id).await?;
    let page = pages::security_info::page(&pages::security_info::View {
        user: &user,
        passkeys: &passkeys,
        offer: &options,
        notice,
        rename_error,
        rp_id: st.rp.rp_id(),
        has_password,
        oath: oath.as_ref(),
        devices: &devices,
        same_device_link: &same_device_link(st, &user),
    });
    Ok((status, page).into_response())
}

/// The link the Authenticator follows to add `user`'s account same-device (R15): the server
/// and the username, nothing secret.
fn same_device_link(st: &AppState, user: &portcullis_domain::directory::User) -> String {
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("upn", user.user_principal_name.as_str())
        .finish();
    format!(
        "{}{ADD_ACCOUNT_PATH}?{q}",
        st.config.origin().trim_end_matches('/')
    )
}

/// Where the same-device link points (a page saying to open it in the app).
pub const ADD_ACCOUNT_PATH: &str = "/authenticator/add";

fn passkey_id(id: &str) -> Result<uuid::Uuid, PageError> {
    uuid::Uuid::parse_str(id).map_err(|_| PageError::NotFound("You have no such passkey.".into()))
}

/// Delete: first the confirmation, which says the device keeps the passkey (002).
pub(crate) async fn confirm_delete_passkey(
    State(st): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, PageError> {
    let (_, user) = match super::app_session(&st, &headers).await? {
        Ok(s) => s,
        Err(start) => return Ok(start),
    };
    let id = passkey_id(&id)?;
    let passkeys = st
        .service
        .passkeys_of(&user)
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?;
    let v = passkeys
        .iter()
        .find(|v| v.stored.passkey.id == id)
        .ok_or_else(|| PageError::NotFound("You have no such passkey.".into()))?;
    Ok(pages::security_info::confirm_delete(v).into_response())
}

pub(crate) async fn delete_passkey(
    State(st): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, PageError> {
    check_same_origin(&headers, &st)?;
    let (_, user) = match super::app_session(&st, &headers).await? {
        Ok(s) => s,
        Err(start) => return Ok(start),
    };
    let id = passkey_id(&id)?;
    match st.service.delete_own_passkey(&user, id).await {
        Ok(()) => Ok(Redirect::to("/security-info?notice=deleted").into_response()),
        Err(portcullis_service::passkeys::PasskeyError::Rejected { message, .. }) => {
            Err(PageError::NotFound(message))
        }
        Err(e) => Err(PageError::Internal(e.to_string())),
    }
}

#[derive(Deserialize)]
pub(crate) struct RenameForm {
    name: String,
}

/// Rename a passkey; a name refused is said next to its field.
pub(crate) async fn rename_passkey(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
    form: Result<Form<RenameForm>, FormRejection>,
) -> Result<Response, PageError> {
    check_same_origin(&headers, &st)?;
    let (_, user) = match super::app_session(&st, &headers).await? {
        Ok(s) => s,
        Err(start) => return Ok(start),
    };
    let id = passkey_id(&id)?;
    let Form(form) = form.map_err(form_error)?;
    match st.service.rename_own_passkey(&user, id, &form.name).await {
        Ok(_) => Ok(Redirect::to("/security-info?notice=renamed").into_response()),
        Err(portcullis_service::passkeys::PasskeyError::Rejected {
            code: "notFound",
            message,
        }) => Err(PageError::NotFound(message)),
        Err(portcullis_service::passkeys::PasskeyError::Rejected { message, .. }) => {
            show_security_info(
                &st,
                peer,
                &headers,
                None,
                Some((id, message)),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => Err(PageError::Internal(e.to_string())),
    }
}
