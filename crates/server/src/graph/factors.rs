//! A user's password and authenticator app in Graph's shape (issue 17):
//! `passwordMethods` (never the password) and `softwareOathMethods` (never the secret).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_domain::time_fmt::rfc3339;
use portcullis_service::oath::OathView;
use portcullis_service::push::DeviceView;
use serde_json::{json, Value};

use super::{gerr, Ctx, GraphError};

/// The fixed id Graph gives every user's password method.
pub(crate) const PASSWORD_METHOD_ID: &str = "28c10230-6103-485e-b985-444c60001490";

pub(crate) fn oath_json(m: &OathView) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.softwareOathAuthenticationMethod",
        "id": m.id, "secretKey": null, "createdDateTime": rfc3339(m.created_at)
    })
}

pub(crate) fn password_json(changed: Option<portcullis_domain::Timestamp>) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.passwordAuthenticationMethod",
        "id": PASSWORD_METHOD_ID, "password": null, "createdDateTime": changed.map(rfc3339)
    })
}

fn collection(cx: &Ctx<'_>, what: &str, value: Vec<Value>) -> Response {
    let user = cx.params.id.unwrap_or_default();
    axum::Json(json!({"@odata.context": format!("{}/$metadata#users('{user}')/authentication/{what}", cx.base), "value": value})).into_response()
}

fn not_found(what: &str) -> GraphError {
    gerr(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        format!("No {what} with that id exists for this user."),
    )
}

async fn oath(cx: &Ctx<'_>) -> Result<Option<OathView>, GraphError> {
    let (_, m) = cx
        .st
        .service
        .oath_for(cx.actor, cx.params.id.unwrap_or_default())
        .await?;
    Ok(m)
}

/// `GET …/softwareOathMethods` (at most one).
pub(crate) async fn list_oath(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let v = oath(cx).await?.iter().map(oath_json).collect();
    Ok(collection(cx, "softwareOathMethods", v))
}

fn sub_is(cx: &Ctx<'_>, id: &str) -> bool {
    cx.params.sub.is_some_and(|s| s.eq_ignore_ascii_case(id))
}

/// `GET …/softwareOathMethods/{id}`.
pub(crate) async fn get_oath(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let m = oath(cx)
        .await?
        .filter(|m| sub_is(cx, &m.id.to_string()))
        .ok_or_else(|| not_found("software OATH method"))?;
    Ok(axum::Json(oath_json(&m)).into_response())
}

/// `DELETE …/softwareOathMethods/{id}` → 204; audited.
pub(crate) async fn delete_oath(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let id = cx
        .params
        .sub
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
        .ok_or_else(|| not_found("software OATH method"))?;
    cx.st
        .service
        .delete_oath(cx.actor, cx.params.id.unwrap_or_default(), id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn password(cx: &Ctx<'_>) -> Result<Option<portcullis_domain::Timestamp>, GraphError> {
    Ok(cx
        .st
        .service
        .password_for(cx.actor, cx.params.id.unwrap_or_default())
        .await?)
}

/// `GET …/passwordMethods`: the password, if set (never its value).
pub(crate) async fn list_passwords(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let v = password(cx)
        .await?
        .map(|t| password_json(Some(t)))
        .into_iter()
        .collect();
    Ok(collection(cx, "passwordMethods", v))
}

/// `GET …/passwordMethods/{id}`.
pub(crate) async fn get_password(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let t = password(cx)
        .await?
        .filter(|_| sub_is(cx, PASSWORD_METHOD_ID))
        .ok_or_else(|| not_found("password method"))?;
    Ok(axum::Json(password_json(Some(t))).into_response())
}

pub(crate) fn authenticator_json(d: &DeviceView) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
        "id": d.id, "displayName": d.display_name, "deviceTag": "SoftwareTokenActivated",
        "phoneAppVersion": null, "clientAppName": "microsoftAuthenticator",
        "createdDateTime": rfc3339(d.created_at)
    })
}

async fn authenticators(cx: &Ctx<'_>) -> Result<Vec<DeviceView>, GraphError> {
    Ok(cx
        .st
        .service
        .authenticators_for(cx.actor, cx.params.id.unwrap_or_default())
        .await?)
}

/// `GET …/microsoftAuthenticatorMethods`.
pub(crate) async fn list_authenticators(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let v = authenticators(cx)
        .await?
        .iter()
        .map(authenticator_json)
        .collect();
    Ok(collection(cx, "microsoftAuthenticatorMethods", v))
}

/// `GET …/microsoftAuthenticatorMethods/{id}`.
pub(crate) async fn get_authenticator(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let d = authenticators(cx)
        .await?
        .into_iter()
        .find(|d| sub_is(cx, &d.id.to_string()))
        .ok_or_else(|| not_found("Microsoft Authenticator method"))?;
    Ok(axum::Json(authenticator_json(&d)).into_response())
}

/// `DELETE …/microsoftAuthenticatorMethods/{id}` → 204: removed from the server (the phone
/// keeps the account until it is removed there); the user's sessions end. Audited.
pub(crate) async fn delete_authenticator(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let id = cx
        .params
        .sub
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
        .ok_or_else(|| not_found("Microsoft Authenticator method"))?;
    cx.st
        .service
        .delete_authenticator(cx.actor, cx.params.id.unwrap_or_default(), id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
