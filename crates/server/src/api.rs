//! The small JSON API the pages use for WebAuthn ceremonies.
//!
//! Every error has one shape: `{"error": {"code": "<stable code>", "message": "<sentence>"}}`,
//! with a 4xx status for anything the client can fix and nothing stored.

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_domain::passkey::PasskeyRefusal;
use portcullis_domain::time_fmt::rfc3339;
use portcullis_service::passkeys::{
    DeviceInfo, PasskeyError, PasskeySignedIn, RegistrationRequest,
};
use portcullis_service::{RequestContext, ServiceError};
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::SocketAddr;
use uuid::Uuid;

use crate::routes::{check_same_origin, request_context, safe_return_to, signed_in_any};
use crate::{session_cookie, AppState};

/// An API error in the one JSON shape.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: String,
    message: String,
}

impl ApiError {
    /// An error with a status, code and sentence.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let internal = self.status == StatusCode::INTERNAL_SERVER_ERROR;
        if internal {
            tracing::error!(code = %self.code, message = %self.message, "API request failed");
        }
        let message = if internal {
            "Something went wrong on our side. Try again in a moment.".to_string()
        } else {
            self.message
        };
        let mut res = (
            self.status,
            Json(json!({"error": {"code": self.code, "message": message}})),
        )
            .into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // Retryable: the client may try again after this many seconds.
            res.headers_mut().insert(
                header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("30"),
            );
        }
        res
    }
}

impl From<PasskeyError> for ApiError {
    fn from(e: PasskeyError) -> Self {
        let e = e.answered();
        let status = match &e {
            PasskeyError::Refused(PasskeyRefusal::StepUpRequired) => StatusCode::UNAUTHORIZED,
            PasskeyError::Refused(_) => StatusCode::FORBIDDEN,
            PasskeyError::Ceremony(c)
                if c.code.starts_with("malformed") || c.code == "wrongCeremony" =>
            {
                StatusCode::BAD_REQUEST
            }
            PasskeyError::Ceremony(c) if c.code == "alreadyRegistered" => StatusCode::CONFLICT,
            PasskeyError::Ceremony(c) if c.code == "aaguidNotAttestable" => StatusCode::FORBIDDEN,
            PasskeyError::Ceremony(_) => StatusCode::UNAUTHORIZED,
            PasskeyError::Rejected { code, .. } => match *code {
                "alreadyRegistered" => StatusCode::CONFLICT,
                "attestationServiceUnavailable" => StatusCode::SERVICE_UNAVAILABLE,
                "notFound" => StatusCode::NOT_FOUND,
                "conditionalAccess"
                | "conditionalAccessLoop"
                | "strengthNotMet"
                | "osVersionTooOld"
                | "passkeyProviderDisabled" => StatusCode::FORBIDDEN,
                "unknownCredential" | "passkeyDeleted" | "counterReplay" | "userHandleMismatch"
                | "challengeMismatch" | "accountDisabled" => StatusCode::UNAUTHORIZED,
                _ => StatusCode::BAD_REQUEST,
            },
            PasskeyError::Failed(f) if f.is_server_fault() => StatusCode::INTERNAL_SERVER_ERROR,
            PasskeyError::Failed(ServiceError::NotFound(_)) => StatusCode::NOT_FOUND,
            PasskeyError::Failed(ServiceError::Forbidden(_) | ServiceError::AppPrivilege(_)) => {
                StatusCode::FORBIDDEN
            }
            PasskeyError::Failed(ServiceError::Conflict(_)) => StatusCode::CONFLICT,
            PasskeyError::Failed(_) => StatusCode::BAD_REQUEST,
            PasskeyError::Unrecognised(_) => StatusCode::UNAUTHORIZED,
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

pub(crate) fn json_error(r: JsonRejection) -> ApiError {
    match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "bodyTooLarge",
            "The request body is too large.",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupportedMediaType",
            "Send the body as application/json.",
        ),
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformedJson",
            format!("The body is not the expected JSON: {}", r.body_text()),
        ),
    }
}

fn same_origin(headers: &HeaderMap, st: &AppState) -> Result<(), ApiError> {
    check_same_origin(headers, st)
        .map_err(|e| ApiError::new(StatusCode::FORBIDDEN, "crossOrigin", e.to_string()))
}

/// A browser session and its user.
type SignedInUser = (
    portcullis_domain::session::Session,
    portcullis_domain::directory::User,
);

/// The signed-in session and user, or `notSignedIn`.
async fn require_session(st: &AppState, headers: &HeaderMap) -> Result<SignedInUser, ApiError> {
    signed_in_any(st, headers)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internalError",
                "session lookup failed",
            )
        })?
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "notSignedIn", "Sign in first."))
}

/// R40: the registration calls belong to Security info, so they need its application
/// session — the ID token its own sign-in received, bound to this browser session — exactly
/// as its page does; a session cookie alone (a stolen one, or one whose Security info
/// sign-in Conditional Access refused) is not enough. The service then decides the
/// application and the user action again for this very request.
async fn require_security_info_session(
    st: &AppState,
    headers: &HeaderMap,
) -> Result<SignedInUser, ApiError> {
    match crate::security_info::app_session(st, headers).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(_)) => {
            let (_, _) = require_session(st, headers).await?;
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "securityInfoSessionRequired",
                "Open Security info to add a passkey: registering security info needs its sign-in, which applies your organisation's Conditional Access policies (R40).",
            ))
        }
        Err(e) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internalError",
            e.to_string(),
        )),
    }
}

/// `POST /api/passkeys/registration/options`: begins adding a passkey (signed-in users).
pub async fn registration_options(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    // It takes no body; the page sends `{}`. Read (and dropped) so the connection is reused.
    _body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    same_origin(&headers, &st)?;
    let (session, user) = require_security_info_session(&st, &headers).await?;
    let start = st
        .service
        .begin_passkey_registration(
            &st.rp,
            &session,
            &user,
            &request_context(&st, peer, &headers),
        )
        .await?;
    Ok(Json(
        json!({"ceremonyId": start.ceremony_id, "publicKey": start.options}),
    ))
}

/// Body of `POST /api/passkeys/registration`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistrationBody {
    ceremony_id: Uuid,
    credential: Value,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    device: Option<String>,
    #[serde(default)]
    device_profile: Option<String>,
}

/// `POST /api/passkeys/registration`: verifies and stores the new passkey.
pub async fn register(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<RegistrationBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    same_origin(&headers, &st)?;
    let Json(body) = body.map_err(json_error)?;
    let (session, user) = require_security_info_session(&st, &headers).await?;
    let device = DeviceInfo {
        device: body.device,
        profile: body.device_profile,
    };
    let req = RegistrationRequest {
        ceremony_id: body.ceremony_id,
        response: &body.credential,
        name: body.name,
        device,
    };
    let p = st
        .service
        .finish_passkey_registration(
            &st.rp,
            &session,
            &user,
            req,
            &request_context(&st, peer, &headers),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"id": p.id, "displayName": p.display_name, "aaGuid": p.aaguid, "createdDateTime": rfc3339(p.created_at)}))).into_response())
}

/// Body of `POST /api/signin/passkey/options`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SignInOptionsBody {
    #[serde(default)]
    username: Option<String>,
}

/// `POST /api/signin/passkey/options`: begins a sign-in (username-first or usernameless).
/// Anyone may ask, so each source is rate-limited. The ceremony is sealed into the answer
/// (`ceremonyId`): asking writes nothing.
pub async fn sign_in_options(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<SignInOptionsBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    same_origin(&headers, &st)?;
    let ctx = request_context(&st, peer, &headers);
    if let Err(wait) = st
        .limits
        .sign_in_options
        .take(&ctx.source_key(), std::time::Instant::now())
    {
        return Ok(too_many(wait));
    }
    let Json(body) = body.map_err(json_error)?;
    let start = st
        .service
        .begin_passkey_sign_in(&st.rp, body.username.as_deref())
        .await?;
    Ok(Json(json!({"ceremonyId": start.ceremony, "publicKey": start.options})).into_response())
}

/// 429 in the API's error shape, with `Retry-After`.
pub(crate) fn too_many(wait: std::time::Duration) -> Response {
    let secs = crate::rate_limit::retry_after_secs(wait);
    let res = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "tooManyRequests",
        format!("Too many requests from your network; try again in {secs} seconds."),
    )
    .into_response();
    crate::rate_limit::with_retry_after(res, secs)
}

/// Body of `POST /api/signin/passkey`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInBody {
    /// The sealed ceremony the options were answered with (opaque).
    ceremony_id: String,
    credential: Value,
    /// Where the sign-in page was to go back to (its `return_to`): the answer's `redirect`
    /// when it is a local path; an authorization request is continued in the answer.
    #[serde(default)]
    return_to: Option<String>,
}

/// `POST /api/signin/passkey`: verifies the assertion and opens a session.
pub async fn sign_in(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<SignInBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    same_origin(&headers, &st)?;
    let ctx: RequestContext = request_context(&st, peer, &headers);
    if let Err(wait) = st
        .limits
        .sign_in_answers
        .take(&ctx.source_key(), std::time::Instant::now())
    {
        return Ok(too_many(wait));
    }
    let Json(body) = body.map_err(json_error)?;
    let back = safe_return_to(body.return_to.as_deref());
    let next = match &back {
        Some(b) => crate::oidc::authorize::continuation(&st, b).await,
        None => None,
    };
    let PasskeySignedIn {
        signed_in: s,
        accepted_credential_ids: accepted,
        continued,
    } = st
        .service
        .finish_passkey_sign_in_continuing(
            &st.rp,
            &body.ceremony_id,
            &body.credential,
            &ctx,
            next.as_ref(),
        )
        .await?;
    let code_issued = continued.is_some();
    let redirect = continued.or(back).unwrap_or_else(|| "/me".into());
    let cookie = session_cookie::set(
        &s.token,
        s.session.expires_at,
        st.service.now(),
        st.config.cookie_secure(),
    );
    // The sign-in (and any code with it) is committed: a hint that cannot be made now costs
    // the next sign-in page its shortcut, never this answer.
    let hint = match st.service.passkey_hint(&s.user.user_principal_name).await {
        Ok(hint) => Some(session_cookie::set_named(
            session_cookie::PASSKEY_HINT,
            &hint,
            "/signin",
            session_cookie::PASSKEY_HINT_MAX_AGE,
            st.config.cookie_secure(),
        )),
        Err(e) => {
            tracing::warn!(error = %e, "no passkey hint for this sign-in");
            None
        }
    };
    let mut res = (
        [(header::SET_COOKIE, cookie)],
        // R27: which of this user's passkeys the server accepts, for the Signal API.
        Json(json!({"redirect": redirect, "userPrincipalName": s.user.user_principal_name,
            "signal": {"userId": crate::pages::security_info::user_handle(&s.user), "allAcceptedCredentialIds": accepted}})),
    )
        .into_response();
    if let Some(hint) = hint {
        // Appended: a second insert would replace the session's cookie.
        res.headers_mut().append(header::SET_COOKIE, hint);
    }
    if code_issued {
        // Counted at the edge, as the authorization endpoint's codes are.
        res.extensions_mut().insert(crate::metrics::CodeInAnswer);
    }
    Ok(res)
}
