//! Security info is an application like any other (SPEC §1): it signs its users in through
//! Portcullis' own authorization-code flow with PKCE, so whatever decides access to
//! applications decides access to it too. Its app session is the ID token it received,
//! bound to the single-sign-on session that produced it.

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use portcullis_domain::directory::{User, SECURITY_INFO_APP};
use portcullis_domain::session::Session;
use portcullis_service::oidc::ClientAuth;
use portcullis_service::secrets::new_token;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use subtle::ConstantTimeEq;

pub(crate) mod factors;
pub(crate) mod pages;

use crate::error::PageError;
use crate::oidc::AUTHORIZE_PATH;
use crate::routes::{request_context, signed_in_any};
use crate::session_cookie::{read_named, set_named};
use crate::AppState;

/// The app session cookie (the ID token Security info received).
pub const APP_COOKIE: &str = "portcullis_security_info";
/// The in-flight sign-in (state and PKCE verifier), scoped to the callback.
const FLOW_COOKIE: &str = "portcullis_security_info_flow";
const CALLBACK_PATH: &str = "/security-info/callback";

/// `Set-Cookie` that ends the app session.
pub fn clear_cookie(secure: bool) -> axum::http::HeaderValue {
    set_named(APP_COOKIE, "", "/", 0, secure)
}

/// The Security info session of this request, or the response that starts its sign-in.
pub async fn app_session(
    st: &AppState,
    headers: &HeaderMap,
) -> Result<Result<(Session, User), Response>, PageError> {
    if let (Some((session, user)), Some(token)) = (
        signed_in_any(st, headers).await?,
        read_named(headers, APP_COOKIE),
    ) {
        if let Some((uid, sid)) = st
            .service
            .verify_id_token(&st.config.issuer(), SECURITY_INFO_APP.app_id, &token)
            .await?
        {
            if uid == user.id && sid == session.id {
                return Ok(Ok((session, user)));
            }
        }
    }
    Ok(Err(start(st)))
}

/// Sends the browser to the authorization endpoint as the Security info client.
fn start(st: &AppState) -> Response {
    let (state, verifier) = (new_token(), new_token());
    let challenge = B64.encode(Sha256::digest(verifier.as_bytes()));
    let redirect_uri = format!("{}{CALLBACK_PATH}", st.config.issuer());
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", SECURITY_INFO_APP.app_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid profile")
        .append_pair("state", &state)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let cookie = set_named(
        FLOW_COOKIE,
        &format!("{state}.{verifier}"),
        CALLBACK_PATH,
        600,
        st.config.cookie_secure(),
    );
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to(&format!("{AUTHORIZE_PATH}?{}", q.finish())),
    )
        .into_response()
}

/// The authorization response.
#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /security-info/callback`: checks `state`, redeems the code with the PKCE verifier
/// at the same token logic the token endpoint uses, and keeps the ID token as the session.
pub async fn callback(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    q: Result<Query<Callback>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let Ok(Query(q)) = q else {
        return Err(PageError::BadRequest(
            "The sign-in response could not be read.".into(),
        ));
    };
    let Some((state, verifier)) = read_named(&headers, FLOW_COOKIE).and_then(|v| {
        v.split_once('.')
            .map(|(a, b)| (a.to_string(), b.to_string()))
    }) else {
        return Err(PageError::BadRequest("This sign-in to Security info was not started in this browser, or took longer than 10 minutes. Open Security info again.".into()));
    };
    if let Some(e) = q.error {
        return Err(PageError::Forbidden(q.error_description.unwrap_or(e)));
    }
    let state_ok = q
        .state
        .as_deref()
        .is_some_and(|s| bool::from(s.as_bytes().ct_eq(state.as_bytes())));
    let (Some(code), true) = (q.code, state_ok) else {
        return Err(PageError::BadRequest(
            "The sign-in response does not belong to this browser's sign-in (state mismatch)."
                .into(),
        ));
    };
    let issuer = st.config.issuer();
    let redirect_uri = format!("{issuer}{CALLBACK_PATH}");
    let ctx = request_context(&st, peer, &headers);
    match st
        .service
        .exchange_code(
            &issuer,
            &ClientAuth::Id(SECURITY_INFO_APP.app_id.into()),
            &code,
            Some(&redirect_uri),
            Some(&verifier),
            &ctx,
        )
        .await?
    {
        Ok(tokens) => {
            let secure = st.config.cookie_secure();
            let session = set_named(APP_COOKIE, &tokens.id_token, "/", tokens.expires_in, secure);
            let done = set_named(FLOW_COOKIE, "", CALLBACK_PATH, 0, secure);
            Ok((
                AppendHeaders([(header::SET_COOKIE, session), (header::SET_COOKIE, done)]),
                Redirect::to("/security-info"),
            )
                .into_response())
        }
        Err(e) => Err(PageError::BadRequest(e.description)),
    }
}
