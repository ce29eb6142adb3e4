//! The token endpoint (RFC 6749). Today: the client-credentials grant for confidential
//! applications, issuing app-only admin API tokens with their granted permissions.

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::Engine;
use portcullis_service::apps::GrantError;
use portcullis_service::tokens::TOKEN_LIFETIME;
use serde::Deserialize;
use serde_json::json;
use std::net::SocketAddr;

use crate::routes::request_context;
use crate::AppState;

/// The request body (`application/x-www-form-urlencoded`).
#[derive(Deserialize)]
pub struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

fn oauth_error(status: StatusCode, error: &str, description: impl Into<String>) -> Response {
    let mut res = (status, Json(json!({"error": error, "error_description": description.into()}))).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Client id and secret from HTTP Basic authentication, if sent that way.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(v.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// `POST /oauth2/v2.0/token` (also under `/{tenant}/…`).
pub async fn token(State(st): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, form: Result<Form<TokenRequest>, FormRejection>) -> Response {
    let Ok(Form(req)) = form else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "The body must be application/x-www-form-urlencoded.");
    };
    match req.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(other) => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", format!("The grant type '{other}' is not supported here.")),
        None => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "grant_type is required."),
    }
    let scope = req.scope.unwrap_or_default();
    if !scope.split_whitespace().any(|s| s.eq_ignore_ascii_case("https://graph.microsoft.com/.default")) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", "The client-credentials grant takes scope=https://graph.microsoft.com/.default.");
    }
    let (client_id, secret) = match (basic_credentials(&headers), req.client_id, req.client_secret) {
        (Some(c), _, _) => c,
        (None, Some(id), Some(secret)) => (id, secret),
        _ => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "client_id and client_secret are required."),
    };
    let ctx = request_context(peer, &headers);
    match st.service.client_credentials(st.config.public_url.as_str(), &client_id, &secret, &ctx).await {
        Ok(Ok(token)) => {
            let mut res = Json(json!({"token_type": "Bearer", "expires_in": TOKEN_LIFETIME.whole_seconds(), "access_token": token})).into_response();
            res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Ok(Err(GrantError::InvalidClient)) => {
            let mut res = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", GrantError::InvalidClient.to_string());
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
            res
        }
        Ok(Err(e @ GrantError::TooMany { retry_after })) => {
            let mut res = oauth_error(StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable", e.to_string());
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "token request failed");
            oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "The server failed; try again.")
        }
    }
}
