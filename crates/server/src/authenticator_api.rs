//! The protocol between Portcullis and a Microsoft Authenticator instance (issue 17,
//! docs/authenticator-protocol.md): activate a device, fetch pending requests (long poll),
//! answer one with the number the user typed. Every call but the activation proves the
//! device key by a signature; the service decides, this module translates.

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_domain::push::{AnswerRefusal, ApprovalState, DenyReason};
use portcullis_domain::time_fmt::rfc3339;
use portcullis_service::push::PushError;
use serde::Deserialize;
use serde_json::json;
use std::net::SocketAddr;
use uuid::Uuid;

use crate::api::{json_error, ApiError};
use crate::routes::request_context;
use crate::AppState;

impl From<PushError> for ApiError {
    fn from(e: PushError) -> Self {
        let (status, code) = match &e {
            PushError::Activation => (StatusCode::GONE, "activationExpired"),
            PushError::BadKey | PushError::Invalid(_) => (StatusCode::BAD_REQUEST, "badRequest"),
            PushError::Unknown => (StatusCode::UNAUTHORIZED, "unknownDeviceOrRequest"),
            PushError::Answer(AnswerRefusal::Expired) => (StatusCode::GONE, "requestExpired"),
            PushError::Answer(_) => (StatusCode::CONFLICT, "alreadyAnswered"),
            PushError::Enrol(_) | PushError::ConditionalAccess(_) => {
                (StatusCode::FORBIDDEN, "forbidden")
            }
            PushError::Failed(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

/// The per-source limit of sign-in attempts applies to every call of an app: each costs a
/// signature check and store reads (and a long poll holds a request open).
pub(crate) fn limited(st: &AppState, source: &str) -> Option<Response> {
    st.limits
        .tap_attempts
        .take(source, std::time::Instant::now())
        .err()
        .map(crate::api::too_many)
}

pub(crate) fn bad(m: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "badRequest", m)
}

pub(crate) fn id(s: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| bad(&format!("{what} must be a GUID")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ActivateBody {
    code: String,
    public_key: String,
    display_name: String,
    platform: String,
}

/// `POST /api/authenticator/devices` → 201: the activation link's code and the app's key.
pub(crate) async fn activate(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<ActivateBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    if let Some(res) = limited(&st, &request_context(&st, peer, &headers).source_key()) {
        return Ok(res);
    }
    let Json(b) = body.map_err(json_error)?;
    if b.code.len() > 4096 || b.public_key.len() > 4096 {
        return Err(bad("code and publicKey are at most 4096 characters"));
    }
    let (d, user) = st
        .service
        .activate_authenticator(&b.code, &b.public_key, &b.display_name, &b.platform)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "deviceId": d.id, "userPrincipalName": user.user_principal_name,
            "displayName": d.display_name, "createdDateTime": rfc3339(d.created_at)
        })),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PollBody {
    device_id: String,
    signed_at: i64,
    signature: String,
    #[serde(default)]
    wait_seconds: u64,
}

/// `POST /api/authenticator/requests` → 200: the pending requests of the device's user,
/// waiting up to `waitSeconds` (at most 25) for one.
pub(crate) async fn poll(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<PollBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    if let Some(res) = limited(&st, &request_context(&st, peer, &headers).source_key()) {
        return Ok(res);
    }
    let Json(b) = body.map_err(json_error)?;
    let device = id(&b.device_id, "deviceId")?;
    let wait = std::time::Duration::from_secs(b.wait_seconds.min(25));
    let found = st
        .service
        .pending_approvals(device, b.signed_at, &b.signature, wait)
        .await?;
    let value: Vec<_> = found
        .iter()
        .map(|a| {
            json!({
                "id": a.id, "appName": a.app_name, "location": a.location,
                "createdDateTime": rfc3339(a.created_at), "expiresDateTime": rfc3339(a.expires_at())
            })
        })
        .collect();
    Ok(Json(json!({"value": value})).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AnswerBody {
    device_id: String,
    approve: bool,
    number: u8,
    signature: String,
}

/// `POST /api/authenticator/requests/{id}` → 200 with what the answer did.
pub(crate) async fn answer(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(request): Path<String>,
    body: Result<Json<AnswerBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let ctx = request_context(&st, peer, &headers);
    if let Some(res) = limited(&st, &ctx.source_key()) {
        return Ok(res);
    }
    let request = id(&request, "the request id")?;
    let Json(b) = body.map_err(json_error)?;
    let device = id(&b.device_id, "deviceId")?;
    let state = st
        .service
        .answer_approval(request, device, b.approve, b.number, &b.signature, &ctx)
        .await?;
    let state = match state {
        ApprovalState::Approved => "approved",
        ApprovalState::Denied(DenyReason::WrongNumber) => "deniedWrongNumber",
        ApprovalState::Denied(DenyReason::UserDenied) => "denied",
        ApprovalState::Pending => "pending",
    };
    Ok(Json(json!({"state": state})).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RemoveBody {
    signed_at: i64,
    signature: String,
}

/// `POST /api/authenticator/devices/{id}/remove` → 204: the app deletes its own account, and
/// the method goes from the server with it (R25).
pub(crate) async fn remove(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(device): Path<String>,
    body: Result<Json<RemoveBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    if let Some(res) = limited(&st, &request_context(&st, peer, &headers).source_key()) {
        return Ok(res);
    }
    let device = id(&device, "the device id")?;
    let Json(b) = body.map_err(json_error)?;
    st.service
        .remove_authenticator_signed(device, b.signed_at, &b.signature)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
