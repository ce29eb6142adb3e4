//! The OpenID Connect provider's HTTP surface: discovery, JWKS, authorize, token, userinfo
//! and sign-out. Paths follow Entra's (`/oauth2/v2.0/…`, `/discovery/v2.0/keys`) so clients
//! configured for Entra need only a different authority.

pub mod authorize;
pub mod token;
pub mod userinfo;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_domain::oidc::SUPPORTED_SCOPES;
use portcullis_service::oidc::USERINFO_PATH;
use serde_json::json;

use crate::AppState;

/// The token of an `Authorization: Bearer …` header, trimmed, if there is one.
pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

/// Authorization endpoint path.
pub const AUTHORIZE_PATH: &str = "/oauth2/v2.0/authorize";
/// Token endpoint path.
pub const TOKEN_PATH: &str = "/oauth2/v2.0/token";
/// End-session endpoint path.
pub const LOGOUT_PATH: &str = "/oauth2/v2.0/logout";
/// JWKS path.
pub const JWKS_PATH: &str = "/discovery/v2.0/keys";

/// `GET /.well-known/openid-configuration`.
pub async fn discovery(State(st): State<AppState>) -> Response {
    let iss = st.config.issuer();
    let mut res = Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}{AUTHORIZE_PATH}"),
        "token_endpoint": format!("{iss}{TOKEN_PATH}"),
        "userinfo_endpoint": format!("{iss}{USERINFO_PATH}"),
        "jwks_uri": format!("{iss}{JWKS_PATH}"),
        "end_session_endpoint": format!("{iss}{LOGOUT_PATH}"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "userinfo_signing_alg_values_supported": ["none"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": SUPPORTED_SCOPES,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_supported": ["iss", "sub", "aud", "azp", "exp", "iat", "nbf", "auth_time", "nonce", "amr", "sid", "at_hash", "name", "preferred_username", "authentication_strengths"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": false,
    }))
    .into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

/// `GET /discovery/v2.0/keys`: current keys and retired keys whose tokens may still live.
pub async fn jwks(State(st): State<AppState>) -> Response {
    match st.service.jwks().await {
        Ok(keys) => {
            let mut res = Json(keys).into_response();
            // A rotation publishes new keys for longer than this before they sign
            // (PREPUBLICATION), so a client that refreshes on schedule is never caught out.
            if let Ok(v) = HeaderValue::from_str(&format!(
                "public, max-age={}",
                portcullis_service::keys::JWKS_MAX_AGE.whole_seconds()
            )) {
                res.headers_mut().insert(header::CACHE_CONTROL, v);
            }
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "JWKS failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "temporarily_unavailable"})),
            )
                .into_response()
        }
    }
}
