//! Password sign-in (issue 17): `GET/POST /signin/password`, then `POST /signin/code` for the
//! authenticator app's code. The service decides; this module translates forms and refusals.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use portcullis_domain::password::PasswordRefusal;
use portcullis_service::password::{PasswordSignInError, PasswordStep, PushProgress};
use portcullis_service::render::password_refusal;
use portcullis_service::tap::SignedIn;
use serde::Deserialize;
use std::net::SocketAddr;

use crate::error::PageError;
use crate::pages::password::{code_page, new_password_page, password_page, push_page};
use crate::routes::{check_same_origin, form_error, request_context, safe_return_to};
use crate::{session_cookie, AppState};

#[derive(Deserialize)]
pub(crate) struct PasswordQuery {
    username: Option<String>,
    return_to: Option<String>,
}

pub(crate) async fn form(
    query: Result<Query<PasswordQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let q = query.map(|q| q.0).unwrap_or(PasswordQuery {
        username: None,
        return_to: None,
    });
    let username: String = q
        .username
        .unwrap_or_default()
        .trim()
        .chars()
        .take(200)
        .collect();
    let return_to = safe_return_to(q.return_to.as_deref());
    Ok(password_page(&username, None, return_to.as_deref()).into_response())
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    username: String,
    password: String,
    return_to: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct NewPasswordForm {
    pending: String,
    new: String,
    return_to: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct CodeForm {
    pending: String,
    code: String,
    return_to: Option<String>,
}

fn status(r: &PasswordRefusal) -> StatusCode {
    match r {
        PasswordRefusal::MalformedUsername => StatusCode::BAD_REQUEST,
        PasswordRefusal::LockedOut { .. } | PasswordRefusal::PushThrottled { .. } => {
            StatusCode::TOO_MANY_REQUESTS
        }
        PasswordRefusal::AccountDisabled => StatusCode::FORBIDDEN,
        _ => StatusCode::UNAUTHORIZED,
    }
}

/// A refusal's status, with `Retry-After` for a lock-out.
fn refused(st: &AppState, r: &PasswordRefusal, page: maud::Markup) -> Response {
    let mut res = (status(r), page).into_response();
    if let PasswordRefusal::LockedOut { until } | PasswordRefusal::PushThrottled { until } = r {
        let secs = (*until - st.service.now()).whole_seconds().max(1);
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    res
}

/// The per-source limit every attempt passes first (it costs an Argon2 hash, R13).
fn limited(st: &AppState, source: &str) -> Option<Response> {
    let wait = st
        .limits
        .tap_attempts
        .take(source, std::time::Instant::now())
        .err()?;
    let secs = crate::rate_limit::retry_after_secs(wait);
    let page = password_page(
        "",
        Some(&format!(
            "Too many sign-in attempts from your network; try again in {secs} seconds."
        )),
        None,
    );
    let res = (StatusCode::TOO_MANY_REQUESTS, page).into_response();
    Some(crate::rate_limit::with_retry_after(res, secs))
}

fn session_cookie_of(st: &AppState, s: &SignedIn) -> HeaderValue {
    session_cookie::set(
        &s.token,
        s.session.expires_at,
        st.service.now(),
        st.config.cookie_secure(),
    )
}

fn signed_in(st: &AppState, s: &SignedIn, return_to: Option<&str>) -> Response {
    let cookie = session_cookie_of(st, s);
    let to = return_to.unwrap_or("/me");
    let to = if s.session.campaign_pending {
        crate::campaign::page_url(Some(to))
    } else {
        to.to_string()
    };
    ([(header::SET_COOKIE, cookie)], Redirect::to(&to)).into_response()
}

pub(crate) async fn submit(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Result<Response, PageError> {
    check_same_origin(&headers, &st)?;
    let ctx = request_context(&st, peer, &headers);
    if let Some(res) = limited(&st, &ctx.source_key()) {
        return Ok(res);
    }
    let Form(form) = form.map_err(form_error)?;
    let return_to = safe_return_to(form.return_to.as_deref());
    let json = crate::pages::oidc::wants_json(&headers);
    match st
        .service
        .sign_in_with_password(&form.username, &form.password, &ctx)
        .await
    {
        Ok(step) if json => Ok(next_json(&st, step)),
        Ok(step) => Ok(next(&st, step, return_to.as_deref())),
        Err(PasswordSignInError::Refused(r)) if json => Ok(refused_json(&st, &r)),
        Err(PasswordSignInError::Refused(r)) => {
            let page = password_page(
                form.username.trim(),
                Some(&password_refusal(&r)),
                return_to.as_deref(),
            );
            Ok(refused(&st, &r, page))
        }
        Err(PasswordSignInError::Weak(_)) => Err(PageError::BadRequest(
            "A new password is chosen on its own page.".into(),
        )),
        Err(PasswordSignInError::Failed(e)) => Err(e.into()),
    }
}

/// The page of the step a sign-in reached.
fn next(st: &AppState, step: PasswordStep, return_to: Option<&str>) -> Response {
    match step {
        PasswordStep::SignedIn(s) => signed_in(st, &s, return_to),
        PasswordStep::SecondFactor { pending } => {
            code_page(&pending, None, return_to).into_response()
        }
        PasswordStep::MustChange { pending } => {
            new_password_page(&pending, None, return_to).into_response()
        }
        PasswordStep::Push { pending, number } => {
            push_page(&pending, number, None, return_to).into_response()
        }
    }
}

/// A native app (the Authenticator as a command) reads the steps as data: the pending token
/// to send back and what the step asks for; the session cookie once signed in.
fn next_json(st: &AppState, step: PasswordStep) -> Response {
    let body = match step {
        PasswordStep::SignedIn(s) => {
            return (
                [(header::SET_COOKIE, session_cookie_of(st, &s))],
                axum::Json(serde_json::json!({"step": "signedIn"})),
            )
                .into_response();
        }
        PasswordStep::SecondFactor { pending } => {
            serde_json::json!({"step": "code", "pending": pending})
        }
        PasswordStep::MustChange { pending } => {
            serde_json::json!({"step": "newPassword", "pending": pending})
        }
        PasswordStep::Push { pending, number } => {
            serde_json::json!({"step": "push", "pending": pending, "number": number})
        }
    };
    axum::Json(body).into_response()
}

/// A refusal as data, with the page's status and `Retry-After`.
fn refused_json(st: &AppState, r: &PasswordRefusal) -> Response {
    let mut res = refused(st, r, maud::html! {});
    let body =
        serde_json::json!({"error": {"code": r.public_code(), "message": password_refusal(r)}});
    *res.body_mut() = axum::body::Body::from(body.to_string());
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

pub(crate) async fn new_password(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<NewPasswordForm>, FormRejection>,
) -> Result<Response, PageError> {
    check_same_origin(&headers, &st)?;
    let ctx = request_context(&st, peer, &headers);
    if let Some(res) = limited(&st, &ctx.source_key()) {
        return Ok(res);
    }
    let Form(form) = form.map_err(form_error)?;
    let return_to = safe_return_to(form.return_to.as_deref());
    match st
        .service
        .sign_in_with_new_password(&form.pending, &form.new, &ctx)
        .await
    {
        Ok(s) => Ok(signed_in(&st, &s, return_to.as_deref())),
        Err(PasswordSignInError::Weak(w)) => {
            let why = crate::pages::sentence(&w.to_string());
            let page = new_password_page(&form.pending, Some(&why), return_to.as_deref());
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(PasswordSignInError::Refused(r)) => {
            let page = password_page("", Some(&password_refusal(&r)), return_to.as_deref());
            Ok(refused(&st, &r, page))
        }
        Err(PasswordSignInError::Failed(e)) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub(crate) struct PushForm {
    pending: String,
    return_to: Option<String>,
}

/// The push step: answered → the next step; not yet → the same page. The page's own script
/// says `X-Portcullis-Poll` and only asks: 204 while the request waits, 205 once it does not.
pub(crate) async fn push(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<PushForm>, FormRejection>,
) -> Result<Response, PageError> {
    check_same_origin(&headers, &st)?;
    let ctx = request_context(&st, peer, &headers);
    let Form(form) = form.map_err(form_error)?;
    let return_to = safe_return_to(form.return_to.as_deref());
    // The page's script only asks; its form takes the outcome. Each answer is an attempt:
    // the per-source limit of sign-ins applies (the script asks every two seconds).
    if !headers.contains_key("x-portcullis-poll") {
        if let Some(res) = limited(&st, &ctx.source_key()) {
            return Ok(res);
        }
    }
    if headers.contains_key("x-portcullis-poll") {
        return Ok(if st.service.push_waiting(&form.pending).await? {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::RESET_CONTENT
        }
        .into_response());
    }
    match st.service.sign_in_with_push(&form.pending, &ctx).await {
        Ok(PushProgress::Done(step)) => Ok(next(&st, step, return_to.as_deref())),
        Ok(PushProgress::Waiting) => {
            let number = st.service.push_number(&form.pending).await?;
            let page = push_page(
                &form.pending,
                number,
                Some(
                    "Not approved yet: enter the number in Microsoft Authenticator, then continue.",
                ),
                return_to.as_deref(),
            );
            Ok((StatusCode::ACCEPTED, page).into_response())
        }
        Err(PasswordSignInError::Refused(r)) => {
            let page = password_page("", Some(&password_refusal(&r)), return_to.as_deref());
            Ok(refused(&st, &r, page))
        }
        Err(PasswordSignInError::Weak(_)) => Err(PageError::BadRequest(
            "A new password is chosen on its own page.".into(),
        )),
        Err(PasswordSignInError::Failed(e)) => Err(e.into()),
    }
}

pub(crate) async fn code(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Result<Response, PageError> {
    check_same_origin(&headers, &st)?;
    let ctx = request_context(&st, peer, &headers);
    if let Some(res) = limited(&st, &ctx.source_key()) {
        return Ok(res);
    }
    let Form(form) = form.map_err(form_error)?;
    let return_to = safe_return_to(form.return_to.as_deref());
    let json = crate::pages::oidc::wants_json(&headers);
    match st
        .service
        .sign_in_with_code(&form.pending, &form.code, &ctx)
        .await
    {
        Ok(step) if json => Ok(next_json(&st, step)),
        Ok(step) => Ok(next(&st, step, return_to.as_deref())),
        Err(PasswordSignInError::Refused(r)) if json => Ok(refused_json(&st, &r)),
        Err(PasswordSignInError::Refused(r)) => {
            let why = password_refusal(&r);
            // A wrong or replayed code may be retried on the same pending sign-in; an expired
            // one starts again from the password.
            let page = match r {
                PasswordRefusal::WrongCode | PasswordRefusal::CodeAlreadyUsed => {
                    code_page(&form.pending, Some(&why), return_to.as_deref())
                }
                _ => password_page("", Some(&why), return_to.as_deref()),
            };
            Ok(refused(&st, &r, page))
        }
        Err(PasswordSignInError::Weak(_)) => Err(PageError::BadRequest(
            "A new password is chosen on its own page.".into(),
        )),
        Err(PasswordSignInError::Failed(e)) => Err(e.into()),
    }
}
