//! userinfo (OIDC Core §5.3) and RP-initiated sign-out.

use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use portcullis_service::oidc::redirect_with;
use serde::Deserialize;
use serde_json::json;

use crate::error::PageError;
use crate::routes::check_same_origin;
use crate::{pages, security_info, session_cookie, AppState};

fn bearer_error(error: &str, description: &str) -> Response {
    let challenge = format!(
        "Bearer error=\"{error}\", error_description=\"{}\"",
        description.replace('"', "'")
    );
    // RFC 6750 §3.1: a malformed request is 400, a bad token 401.
    let status = if error == "invalid_request" {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::UNAUTHORIZED
    };
    let mut res = (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

/// `GET|POST /oidc/userinfo` with `Authorization: Bearer`.
pub async fn userinfo(
    State(st): State<AppState>,
    headers: HeaderMap,
    // The token comes in the header; a POST's body is read (and dropped) so the connection
    // is reused.
    _body: axum::body::Bytes,
) -> Response {
    let token = crate::oidc::bearer(&headers);
    let Some(token) = token.filter(|t| !t.is_empty() && t.len() <= 8192) else {
        let mut res = (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_request", "error_description": "A bearer access token is required."}))).into_response();
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return res;
    };
    match st.service.userinfo(&st.config.issuer(), token).await {
        Ok(Ok(claims)) => Json(claims).into_response(),
        Ok(Err(e)) => bearer_error("invalid_token", &e.to_string()),
        Err(e) if !e.is_server_fault() => bearer_error("invalid_request", &e.to_string()),
        Err(e) => {
            tracing::error!(error = %e, "userinfo failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"error": "server_error"})),
            )
                .into_response()
        }
    }
}

/// RP-initiated logout parameters.
#[derive(Deserialize, Default)]
pub struct LogoutParams {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    client_id: Option<String>,
}

/// Where to send the browser after signing out: only a URI registered for the client the
/// request proved (by `id_token_hint`) or named (`client_id`).
async fn trusted_return(
    st: &AppState,
    p: &LogoutParams,
    hinted_client: Option<&str>,
) -> Result<Option<String>, PageError> {
    let Some(uri) = p.post_logout_redirect_uri.as_deref() else {
        return Ok(None);
    };
    let Some(client) = hinted_client.or(p.client_id.as_deref()) else {
        return Ok(None);
    };
    let app = match st.service.application(client).await {
        Ok(a) => a,
        Err(portcullis_service::ServiceError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if !app.accepts_redirect_uri(uri) {
        return Ok(None);
    }
    let mut q = vec![];
    if let Some(s) = &p.state {
        q.push(("state", s.as_str()));
    }
    Ok(Some(redirect_with(uri, &q)))
}

async fn sign_out_and_leave(
    st: &AppState,
    headers: &HeaderMap,
    to: Option<String>,
) -> Result<Response, PageError> {
    if let Some(token) = session_cookie::read(headers) {
        st.service.sign_out(&token).await?;
    }
    let secure = st.config.cookie_secure();
    let cookies = AppendHeaders([
        (header::SET_COOKIE, session_cookie::clear(secure)),
        (header::SET_COOKIE, security_info::clear_cookie(secure)),
    ]);
    Ok(match to {
        Some(url) => (cookies, Redirect::to(&url)).into_response(),
        None => (cookies, pages::signed_out_page()).into_response(),
    })
}

/// `GET /oauth2/v2.0/logout`: with a valid `id_token_hint`, signs out at once; without one,
/// asks first (a bare link must not sign anyone out).
pub async fn logout_get(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<LogoutParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let p = q.map(|q| q.0).unwrap_or_default();
    let hint = match p.id_token_hint.as_deref().filter(|h| h.len() <= 8192) {
        Some(h) => st.service.id_token_hint(&st.config.issuer(), h).await?,
        None => None,
    };
    let signed_in_user = crate::routes::signed_in_any(&st, &headers)
        .await?
        .map(|(_, u)| u.id);
    let at_once = portcullis_domain::oidc::sign_out_at_once(
        hint.as_ref().map(|h| h.sub.as_str()),
        hint.as_ref().map(|h| h.exp),
        signed_in_user,
        st.service.now(),
    );
    match hint {
        Some(h) if at_once => {
            let to = trusted_return(&st, &p, Some(&h.client_id)).await?;
            sign_out_and_leave(&st, &headers, to).await
        }
        _ => {
            let hidden: Vec<(String, String)> = [
                ("post_logout_redirect_uri", &p.post_logout_redirect_uri),
                ("state", &p.state),
                ("client_id", &p.client_id),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.to_string(), v)))
            .collect();
            Ok(pages::confirm_sign_out_page(&hidden).into_response())
        }
    }
}

/// `POST /oauth2/v2.0/logout`: the confirmation form (same-origin only).
pub async fn logout_post(
    State(st): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LogoutParams>, FormRejection>,
) -> Result<Response, PageError> {
    check_same_origin(&headers, &st)?;
    let p = form.map(|f| f.0).unwrap_or_default();
    let to = trusted_return(&st, &p, None).await?;
    sign_out_and_leave(&st, &headers, to).await
}
