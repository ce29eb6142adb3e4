//! Security info's password and authenticator app (issue 17): set up an app with its QR
//! code, delete it, change the password. The service decides; these translate.

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use portcullis_service::oath::OathError;
use portcullis_service::password::SetPasswordError;
use serde::Deserialize;
use std::net::SocketAddr;

use crate::error::PageError;
use crate::pages::factors::{
    activation_page, cannot_enrol_page, enrol_page, open_in_app_page, password_page,
};
use crate::routes::{check_same_origin, form_error, request_context};
use crate::AppState;

/// A refusal to add an app, as a page; a server failure stays one.
fn refused(e: OathError) -> Result<Response, PageError> {
    match e {
        OathError::Failed(e) => Err(e.into()),
        e => Ok((StatusCode::FORBIDDEN, cannot_enrol_page(&e.to_string())).into_response()),
    }
}

pub(crate) async fn begin(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (session, user) = match super::app_session(&st, &headers).await? {
        Ok(s) => s,
        Err(start) => return Ok(start),
    };
    let ctx = request_context(&st, peer, &headers);
    match st.service.begin_oath(&user, &session, &ctx).await {
        Ok(e) => Ok(enrol_page(&e, None).into_response()),
        Err(e) => refused(e),
    }
}

#[derive(Deserialize)]
pub(crate) struct ConfirmForm {
    token: String,
    code: String,
}

pub(crate) async fn confirm(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<ConfirmForm>, FormRejection>,
) -> Result<Response, PageError> {
    check_same_origin(&headers, &st)?;
    let (session, user) = match super::app_session(&st, &headers).await? {
        Ok(s) => s,
        Err(start) => return Ok(start),
    };
    let Form(form) = form.map_err(form_error)?;
    let ctx = request_context(&st, peer, &headers);
    match st
        .service
        .confirm_oath(&user, &session, &form.token, &form.code, &ctx)
        .await
    {
        Ok(_) => Ok(Redirect::to("/security-info?notice=oath-added").into_response()),
        // A wrong code: the same QR code again, to try the next code.
        Err(OathError::Code(r)) => match st.service.oath_enrolment(&user, &form.token).await {
            Ok(e) => Ok((
                StatusCode::BAD_REQUEST,
                enrol_page(&e, Some(&crate::pages::sentence(&r.to_string()))),
            )
                .into_response()),
            Err(e) => refused(e),
        },
        Err(e) => refused(e),
    }
}

pub(crate) async fn delete(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    check_same_origin(&headers, &st)?;
    let (session, user) = match super::app_session(&st, &headers).await? {
        Ok(s) => s,
        Err(start) => return Ok(start),
    };
    let id = uuid::Uuid::parse_str(&id)
        .map_err(|_| PageError::NotFound("You have no such authenticator app.".into()))?;
    st.service.delete_own_oath(&user, &session, id).await?;
    Ok(Redirect::to("/security-info?notice=oath-deleted").into_response())
}

pub(crate) async fn password_form(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (_, user) = match super::app_session(&st, &headers).await? {
        Ok(s) => s,
        Err(start) => return Ok(start),
    };
    let has = st.service.has_password(user.id).await?;
    Ok(password_page(has, None).into_response())
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    current: String,
    new: String,
}

pub(crate) async fn change_password(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Result<Response, PageError> {
    check_same_origin(&headers, &st)?;
    let (session, user) = match super::app_session(&st, &headers).await? {
        Ok(s) => s,
        Err(start) => return Ok(start),
    };
    let ctx = request_context(&st, peer, &headers);
    // Every attempt may cost an Argon2 hash: the per-source limit of sign-ins applies.
    if let Err(wait) = st
        .limits
        .tap_attempts
        .take(&ctx.source_key(), std::time::Instant::now())
    {
        let secs = crate::rate_limit::retry_after_secs(wait);
        let has = st.service.has_password(user.id).await?;
        let why = format!("Too many attempts from your network; try again in {secs} seconds.");
        let res = (
            StatusCode::TOO_MANY_REQUESTS,
            password_page(has, Some(&why)),
        )
            .into_response();
        return Ok(crate::rate_limit::with_retry_after(res, secs));
    }
    let Form(form) = form.map_err(form_error)?;
    match st
        .service
        .change_own_password(&user, &session, &form.current, &form.new, &ctx)
        .await
    {
        Ok(()) => Ok(Redirect::to("/security-info?notice=password-changed").into_response()),
        Err(SetPasswordError::Failed(e)) => Err(e.into()),
        Err(e) => {
            let has = st.service.has_password(user.id).await?;
            let why = crate::pages::sentence(&e.to_string());
            Ok((StatusCode::BAD_REQUEST, password_page(has, Some(&why))).into_response())
        }
    }
}

/// `GET /security-info/authenticator`: a one-time activation link for the app.
pub(crate) async fn begin_authenticator(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (session, user) = match super::app_session(&st, &headers).await? {
        Ok(s) => s,
        Err(start) => return Ok(start),
    };
    let ctx = request_context(&st, peer, &headers);
    match st
        .service
        .begin_authenticator(&user, &session, &ctx, &st.config.origin())
        .await
    {
        Ok(a) => Ok(activation_page(&a).into_response()),
        Err(portcullis_service::push::PushError::Failed(e)) => Err(e.into()),
        Err(e) => Ok((StatusCode::FORBIDDEN, cannot_enrol_page(&e.to_string())).into_response()),
    }
}

/// `POST /security-info/authenticator/{id}/delete`.
pub(crate) async fn delete_authenticator(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    check_same_origin(&headers, &st)?;
    let (session, user) = match super::app_session(&st, &headers).await? {
        Ok(s) => s,
        Err(start) => return Ok(start),
    };
    let id = uuid::Uuid::parse_str(&id)
        .map_err(|_| PageError::NotFound("You have no such Microsoft Authenticator.".into()))?;
    st.service
        .delete_own_authenticator(&user, &session, id)
        .await?;
    Ok(Redirect::to("/security-info?notice=authenticator-deleted").into_response())
}

/// `GET /authenticator/activate`: the link opened in a browser, not in the app.
pub(crate) async fn open_in_app() -> Response {
    open_in_app_page("portcullis authenticator add-account --link").into_response()
}

/// `GET /authenticator/add`: the same-device link opened in a browser, not in the app.
pub(crate) async fn open_add_in_app() -> Response {
    open_in_app_page("portcullis authenticator add-passkey --link").into_response()
}
