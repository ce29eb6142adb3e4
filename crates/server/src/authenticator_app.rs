//! Same-device registration in the Authenticator app (R15, R19, R20, R25): the API the app
//! calls with the access token of its own sign-in (docs/authenticator-protocol.md, part 2).
//! The service decides; this module parses the app's requests once and renders the answers.

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_domain::directory::User;
use portcullis_domain::phone::Phone;
use portcullis_domain::session::Session;
use portcullis_domain::time_fmt::rfc3339;
use portcullis_service::oath::OathError;
use portcullis_service::passkeys::{DeviceInfo, RegistrationRequest, SameDeviceRequest};
use portcullis_service::RequestContext;
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::SocketAddr;
use uuid::Uuid;

use crate::api::{json_error, ApiError};
use crate::authenticator_api::{bad, id, limited};
use crate::routes::request_context;
use crate::AppState;

/// The caller is the Authenticator app, signed in: its handler's signature says so. The
/// bearer token must be an access token issued to the Authenticator application whose
/// grant and sign-in are still live; then the call is counted against its source's limit of
/// sign-in attempts (429 beyond it).
pub(crate) struct AuthenticatorApp {
    session: Session,
    user: User,
    ctx: RequestContext,
}

fn unauthorized(message: String) -> Response {
    let mut res = ApiError::new(StatusCode::UNAUTHORIZED, "invalidToken", message).into_response();
    res.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    res
}

impl FromRequestParts<AppState> for AuthenticatorApp {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let Some(token) = crate::oidc::bearer(&parts.headers).filter(|t| !t.is_empty()) else {
            return Err(unauthorized(
                "Sign in to the Authenticator app first: send its access token as a Bearer token."
                    .into(),
            ));
        };
        match st
            .service
            .authenticator_app_caller(&st.config.issuer(), token)
            .await
        {
            Ok(Ok((session, user))) => {
                let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(parts, st)
                    .await
                    .map_err(IntoResponse::into_response)?;
                let ctx = request_context(st, peer, &parts.headers);
                if let Some(res) = limited(st, &ctx.source_key()) {
                    return Err(res);
                }
                Ok(AuthenticatorApp { session, user, ctx })
            }
            Ok(Err(e)) => Err(unauthorized(e.to_string())),
            Err(e) => {
                Err(
                    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
                        .into_response(),
                )
            }
        }
    }
}

/// The phone, as the app describes it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PhoneBody {
    platform: String,
    os_version: String,
    #[serde(default)]
    profile: Option<String>,
    passkey_provider: bool,
    name: String,
}

impl PhoneBody {
    fn parse(&self) -> Result<Phone, ApiError> {
        Phone::parse(
            &self.platform,
            &self.os_version,
            self.profile.as_deref(),
            self.passkey_provider,
            &self.name,
        )
        .map_err(|e| bad(&format!("phone: {e}")))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct OptionsBody {
    phone: PhoneBody,
}

/// `POST /api/authenticator/passkeys/options` → 200: creation options for a passkey in the
/// Authenticator, once the phone can hold one (R19) and the user may add one (R14, R40).
pub(crate) async fn options(
    State(st): State<AppState>,
    app: AuthenticatorApp,
    body: Result<Json<OptionsBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let ctx = &app.ctx;
    let Json(b) = body.map_err(json_error)?;
    let phone = b.phone.parse()?;
    let start = st
        .service
        .begin_same_device(&st.rp, &app.session, &app.user, &phone, ctx)
        .await?;
    Ok(Json(json!({"ceremonyId": start.ceremony_id, "publicKey": start.options})).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct FinishBody {
    ceremony_id: Uuid,
    credential: Value,
    phone: PhoneBody,
    device_key: String,
}

/// `POST /api/authenticator/passkeys` → 201: the passkey stored with its phone and profile,
/// and which other Authenticator methods were turned on (R15).
pub(crate) async fn finish(
    State(st): State<AppState>,
    app: AuthenticatorApp,
    body: Result<Json<FinishBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let ctx = &app.ctx;
    let Json(b) = body.map_err(json_error)?;
    let phone = b.phone.parse()?;
    if b.device_key.len() > 1024 {
        return Err(bad("deviceKey is at most 1024 characters"));
    }
    let r = st
        .service
        .finish_same_device(
            &st.rp,
            &app.session,
            &app.user,
            SameDeviceRequest {
                registration: RegistrationRequest {
                    ceremony_id: b.ceremony_id,
                    response: &b.credential,
                    name: None,
                    device: DeviceInfo::default(),
                },
                phone: &phone,
                device_key: &b.device_key,
            },
            ctx,
        )
        .await?;
    let p = &r.passkey;
    let mut added = vec!["fido2"];
    let mut not_added = vec![];
    let mut out = json!({
        "passkey": {
            "id": p.id, "displayName": p.display_name, "aaGuid": p.aaguid,
            "attested": p.attested, "device": p.device, "profile": p.device_profile,
            "createdDateTime": rfc3339(p.created_at),
        },
    });
    match &r.push {
        Ok(d) => {
            added.push("microsoftAuthenticator");
            crate::json::set(&mut out, "push", json!({"deviceId": d.id}));
        }
        Err(why) => not_added.push(json!({"method": "microsoftAuthenticator", "reason": why})),
    }
    match &r.codes {
        // Stored once the app confirms them with a code: given, not yet added.
        Ok(e) => {
            crate::json::set(
                &mut out,
                "codes",
                json!({"token": e.token, "keyUri": e.key_uri}),
            );
        }
        Err(why) => not_added.push(json!({"method": "softwareOath", "reason": why})),
    }
    crate::json::set(&mut out, "added", json!(added));
    crate::json::set(&mut out, "notAdded", json!(not_added));
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CodesBody {
    token: String,
    code: String,
}

fn oath_error(e: OathError) -> ApiError {
    let status = match &e {
        OathError::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
        OathError::Enrol(_) | OathError::ConditionalAccess(_) => StatusCode::FORBIDDEN,
        OathError::Code(_) | OathError::EnrolmentExpired => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, "codesRefused", e.to_string())
}

/// `POST /api/authenticator/codes` → 201: the app confirms the codes it was given with its
/// first code, as Security info's QR code is confirmed.
pub(crate) async fn confirm_codes(
    State(st): State<AppState>,
    app: AuthenticatorApp,
    body: Result<Json<CodesBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let ctx = &app.ctx;
    let Json(b) = body.map_err(json_error)?;
    if b.token.len() > 4096 || b.code.len() > 16 {
        return Err(bad("token is at most 4096 characters and code at most 16"));
    }
    let v = st
        .service
        .confirm_oath(&app.user, &app.session, &b.token, &b.code, ctx)
        .await
        .map_err(oath_error)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": v.id, "createdDateTime": rfc3339(v.created_at)})),
    )
        .into_response())
}

/// `POST /api/authenticator/passkeys/{id}/delete` → 204: the user deletes the passkey in the
/// app, and it leaves their sign-in methods with it (R25).
pub(crate) async fn delete(
    State(st): State<AppState>,
    app: AuthenticatorApp,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let id = id(&raw, "the passkey id")?;
    st.service.delete_own_passkey(&app.user, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
