//! The token endpoint (RFC 6749 §3.2): the authorization-code and refresh-token grants for
//! users, and the client-credentials grant that gives applications admin API tokens.

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::Engine;
use portcullis_service::apps::GrantError;
use portcullis_service::oidc::{ClientAuth, OAuthError, TokenSet};
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
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

fn oauth_error(status: StatusCode, error: &str, description: impl Into<String>) -> Response {
    no_store(
        (
            status,
            Json(json!({"error": error, "error_description": description.into()})),
        )
            .into_response(),
    )
}

/// An RFC 6749 §5.2 error: `invalid_client` is 401 with a Basic challenge, a lock-out 429
/// with `Retry-After`, the rest 400.
fn grant_error(e: OAuthError) -> Response {
    if let Some(secs) = e.retry_after {
        let mut res = oauth_error(
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
            e.description,
        );
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return res;
    }
    if e.error == "invalid_client" {
        let mut res = oauth_error(StatusCode::UNAUTHORIZED, e.error, e.description);
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
        return res;
    }
    oauth_error(StatusCode::BAD_REQUEST, e.error, e.description)
}

/// Client id and secret from HTTP Basic authentication (RFC 6749 §2.3.1: form-encoded).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(v.trim())
            .ok()?,
    )
    .ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

fn token_set(t: TokenSet) -> Response {
    let mut body = json!({"token_type": "Bearer", "access_token": t.access_token, "expires_in": t.expires_in, "id_token": t.id_token, "scope": t.scope});
    if let Some(r) = t.refresh_token {
        crate::json::set(&mut body, "refresh_token", json!(r));
    }
    no_store(Json(body).into_response())
}

/// `POST /oauth2/v2.0/token` (also under `/{tenant}/…`).
pub async fn token(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Response {
    let Ok(Form(req)) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The body must be application/x-www-form-urlencoded with string parameters.",
        );
    };
    match req.grant_type.as_deref() {
        Some("authorization_code" | "refresh_token" | "client_credentials") => {}
        Some(other) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!(
                    "The grant type '{}' is not supported here.",
                    other.chars().take(60).collect::<String>()
                ),
            )
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required.",
            )
        }
    }
    let basic = basic_credentials(&headers);
    let auth = match (basic, req.client_id.clone(), req.client_secret.clone()) {
        (Some(_), _, Some(_)) => return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Use one client authentication method: Basic or client_secret in the body, not both.",
        ),
        (Some((id, _)), Some(body_id), None) if id != body_id => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "client_id differs from the Basic credentials.",
            )
        }
        (Some((id, secret)), _, None) => ClientAuth::Secret(id, secret),
        (None, Some(id), Some(secret)) => ClientAuth::Secret(id, secret),
        (None, Some(id), None) => ClientAuth::Id(id),
        (None, None, _) => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "The client did not identify itself (client_id or Basic authentication).",
            )
        }
    };
    let issuer = st.config.issuer();
    let ctx = request_context(&st, peer, &headers);
    let outcome = match req.grant_type.as_deref() {
        Some("authorization_code") => {
            let Some(code) = req.code.as_deref() else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "code is required.",
                );
            };
            st.service
                .exchange_code(
                    &issuer,
                    &auth,
                    code,
                    req.redirect_uri.as_deref(),
                    req.code_verifier.as_deref(),
                    &ctx,
                )
                .await
        }
        Some("refresh_token") => {
            let Some(rt) = req.refresh_token.as_deref() else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is required.",
                );
            };
            st.service
                .refresh(&issuer, &auth, rt, req.scope.as_deref(), &ctx)
                .await
        }
        _ => {
            return client_credentials(&st, &issuer, auth, req.scope.unwrap_or_default(), &ctx)
                .await
        }
    };
    match outcome {
        Ok(Ok(t)) => token_set(t),
        Ok(Err(e)) => grant_error(e),
        Err(e) => failed(e),
    }
}

/// A service error at the token endpoint: the client's mistake is `invalid_request`, only
/// the server's own failure is `server_error`.
fn failed(e: portcullis_service::ServiceError) -> Response {
    if e.is_server_fault() {
        tracing::error!(error = %e, "token request failed");
        oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "The server failed; try again.",
        )
    } else {
        oauth_error(StatusCode::BAD_REQUEST, "invalid_request", e.to_string())
    }
}

async fn client_credentials(
    st: &AppState,
    issuer: &str,
    auth: ClientAuth,
    scope: String,
    ctx: &portcullis_service::RequestContext,
) -> Response {
    if !scope
        .split_whitespace()
        .any(|s| s.eq_ignore_ascii_case("https://graph.microsoft.com/.default"))
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "The client-credentials grant takes scope=https://graph.microsoft.com/.default.",
        );
    }
    let ClientAuth::Secret(client_id, secret) = auth else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The client-credentials grant needs a confidential client and its secret.",
        );
    };
    match st.service.client_credentials(issuer, &client_id, &secret, ctx).await {
        Ok(Ok(token)) => no_store(Json(json!({"token_type": "Bearer", "expires_in": TOKEN_LIFETIME.whole_seconds(), "access_token": token})).into_response()),
        Ok(Err(GrantError::InvalidClient)) => grant_error(OAuthError { error: "invalid_client", description: GrantError::InvalidClient.to_string(), retry_after: None }),
        Ok(Err(e @ GrantError::TooMany { retry_after })) => grant_error(OAuthError { error: "invalid_client", description: e.to_string(), retry_after: Some(retry_after) }),
        Err(e) => failed(e),
    }
}
