//! A user's authentication methods: TAP (graph-api.md §2.2) and passkeys (§3).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_domain::tap::{IssueRequest, TemporaryAccessPass, UsabilityReason};
use portcullis_domain::time_fmt::rfc3339;
use portcullis_service::passkeys::{PasskeyError, PasskeyView};
use portcullis_service::tap::PassView;
use serde_json::{json, Value};

use super::{gerr, Ctx, GraphError};

impl From<PasskeyError> for GraphError {
    fn from(e: PasskeyError) -> Self {
        match e {
            PasskeyError::Failed(s) => s.into(),
            PasskeyError::Rejected {
                code: "notFound",
                message,
            } => gerr(StatusCode::NOT_FOUND, "Request_ResourceNotFound", message),
            other => gerr(StatusCode::BAD_REQUEST, "badRequest", other.to_string()),
        }
    }
}

fn reason(u: UsabilityReason) -> &'static str {
    match u {
        UsabilityReason::EnabledByPolicy => "EnabledByPolicy",
        UsabilityReason::DisabledByPolicy => "DisabledByPolicy",
        UsabilityReason::Expired => "Expired",
        UsabilityReason::NotYetValid => "NotYetValid",
        UsabilityReason::OneTimeUsed => "OneTimeUsed",
    }
}

fn tap_json(p: &TemporaryAccessPass, usability: UsabilityReason, code: Option<&str>) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
        "id": p.id, "temporaryAccessPass": code, "createdDateTime": rfc3339(p.created_at), "startDateTime": rfc3339(p.start_at),
        "lifetimeInMinutes": p.lifetime_minutes, "isUsableOnce": p.is_usable_once,
        "isUsable": usability == UsabilityReason::EnabledByPolicy, "methodUsabilityReason": reason(usability)
    })
}

fn fido2_json(v: &PasskeyView, beta: bool) -> Value {
    let p = &v.stored.passkey;
    let mut j = json!({
        "@odata.type": "#microsoft.graph.fido2AuthenticationMethod",
        "id": p.id, "displayName": p.display_name, "createdDateTime": rfc3339(p.created_at),
        "aaGuid": p.aaguid, "model": v.model, "attestationCertificates": [],
        "attestationLevel": if p.attested { "attested" } else { "notAttested" },
        "passkeyType": if p.synced { "synced" } else { "deviceBound" }
    });
    if beta {
        crate::json::set(
            &mut j,
            "lastUsedDateTime",
            json!(p.last_used_at.map(rfc3339)),
        );
    }
    j
}

fn collection(cx: &Ctx<'_>, what: &str, value: Vec<Value>) -> Response {
    let user = cx.params.id.unwrap_or_default();
    axum::Json(json!({"@odata.context": format!("{}/$metadata#users('{user}')/authentication/{what}", cx.base), "value": value})).into_response()
}

async fn tap_view(cx: &Ctx<'_>) -> Result<Option<PassView>, GraphError> {
    Ok(cx
        .st
        .service
        .tap_for(cx.actor, cx.params.id.unwrap_or_default())
        .await?)
}

/// `GET …/temporaryAccessPassMethods` (at most one; never the code).
pub(crate) async fn list_taps(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let v = tap_view(cx)
        .await?
        .map(|v| tap_json(&v.pass, v.usability, None));
    Ok(collection(
        cx,
        "temporaryAccessPassMethods",
        v.into_iter().collect(),
    ))
}

fn not_found(what: &str) -> GraphError {
    gerr(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        format!("No {what} with that id exists for this user."),
    )
}

/// `GET …/temporaryAccessPassMethods/{id}`.
pub(crate) async fn get_tap(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let v = tap_view(cx)
        .await?
        .filter(|v| {
            cx.params
                .sub
                .is_some_and(|s| s.eq_ignore_ascii_case(&v.pass.id.to_string()))
        })
        .ok_or_else(|| not_found("Temporary Access Pass"))?;
    Ok(axum::Json(tap_json(&v.pass, v.usability, None)).into_response())
}

/// `POST …/temporaryAccessPassMethods` → 201 with the code, this once.
pub(crate) async fn create_tap(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let b = cx.json_body()?;
    let bad = |m: String| gerr(StatusCode::BAD_REQUEST, "badRequest", m);
    if let Some(k) = b.keys().find(|k| {
        ![
            "@odata.type",
            "startDateTime",
            "lifetimeInMinutes",
            "isUsableOnce",
        ]
        .contains(&k.as_str())
    }) {
        return Err(bad(format!(
            "Property '{k}' cannot be set when creating a Temporary Access Pass."
        )));
    }
    let start_at = super::body::date_time(&b, "startDateTime", "startDateTime")?;
    let lifetime_minutes = match b.get("lifetimeInMinutes") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .ok_or_else(|| bad("lifetimeInMinutes must be an integer".into()))?,
        ),
    };
    let is_usable_once = match b.get("isUsableOnce") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_bool()
                .ok_or_else(|| bad("isUsableOnce must be a boolean".into()))?,
        ),
    };
    let user = cx.params.id.unwrap_or_default();
    let issued = cx
        .st
        .service
        .create_tap(
            cx.actor,
            user,
            IssueRequest {
                start_at,
                lifetime_minutes,
                is_usable_once,
            },
        )
        .await?;
    let usability = cx
        .st
        .service
        .tap_for(cx.actor, user)
        .await?
        .map(|v| v.usability)
        .unwrap_or(UsabilityReason::EnabledByPolicy);
    let mut v = tap_json(&issued.pass, usability, Some(&issued.code));
    crate::json::set(
        &mut v,
        "@odata.context",
        json!(format!(
            "{}/$metadata#users('{user}')/authentication/temporaryAccessPassMethods/$entity",
            cx.base
        )),
    );
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

/// `DELETE …/temporaryAccessPassMethods/{id}` → 204.
pub(crate) async fn delete_tap(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    tap_view(cx)
        .await?
        .filter(|v| {
            cx.params
                .sub
                .is_some_and(|s| s.eq_ignore_ascii_case(&v.pass.id.to_string()))
        })
        .ok_or_else(|| not_found("Temporary Access Pass"))?;
    cx.st
        .service
        .delete_tap(cx.actor, cx.params.id.unwrap_or_default())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn passkeys(cx: &Ctx<'_>) -> Result<Vec<PasskeyView>, GraphError> {
    Ok(cx
        .st
        .service
        .passkeys_for_admin(cx.actor, cx.params.id.unwrap_or_default())
        .await?
        .1)
}

/// `GET …/fido2Methods`.
pub(crate) async fn list_fido2(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let v = passkeys(cx)
        .await?
        .iter()
        .map(|p| fido2_json(p, cx.beta))
        .collect();
    Ok(collection(cx, "fido2Methods", v))
}

/// `GET …/fido2Methods/{id}`.
pub(crate) async fn get_fido2(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let all = passkeys(cx).await?;
    let p = all
        .iter()
        .find(|p| {
            cx.params
                .sub
                .is_some_and(|s| s.eq_ignore_ascii_case(&p.stored.passkey.id.to_string()))
        })
        .ok_or_else(|| not_found("passkey"))?;
    Ok(axum::Json(fido2_json(p, cx.beta)).into_response())
}

/// `DELETE …/fido2Methods/{id}` → 204 (removed from the server; the device keeps it, R25).
pub(crate) async fn delete_fido2(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let id = cx
        .params
        .sub
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
        .ok_or_else(|| not_found("passkey"))?;
    cx.st
        .service
        .admin_delete_passkey(cx.actor, cx.params.id.unwrap_or_default(), id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET …/authentication/methods`: every method, each with its `@odata.type`.
pub(crate) async fn list_all(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let mut v: Vec<Value> = tap_view(cx)
        .await?
        .map(|t| tap_json(&t.pass, t.usability, None))
        .into_iter()
        .collect();
    v.extend(passkeys(cx).await?.iter().map(|p| fido2_json(p, cx.beta)));
    let user = cx.params.id.unwrap_or_default();
    if let Some(t) = cx.st.service.password_for(cx.actor, user).await? {
        v.push(super::factors::password_json(Some(t)));
    }
    if let (_, Some(m)) = cx.st.service.oath_for(cx.actor, user).await? {
        v.push(super::factors::oath_json(&m));
    }
    for d in cx.st.service.authenticators_for(cx.actor, user).await? {
        v.push(super::factors::authenticator_json(&d));
    }
    Ok(collection(cx, "methods", v))
}

/// `me/authentication/…`: the caller's own methods (a user may see and remove their own).
pub(crate) async fn me(
    cx: &Ctx<'_>,
    op: super::Op,
    me: &portcullis_domain::directory::User,
) -> Result<Response, GraphError> {
    let collection_for = |what: &str, value: Vec<Value>| {
        axum::Json(json!({"@odata.context": format!("{}/$metadata#users('{}')/authentication/{what}", cx.base, me.id), "value": value})).into_response()
    };
    match op {
        super::Op::MeDeleteFido2 => {
            let id = cx
                .params
                .sub
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
                .ok_or_else(|| not_found("passkey"))?;
            cx.st.service.delete_own_passkey(me, id).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        super::Op::MeListFido2 => {
            let v = cx
                .st
                .service
                .passkeys_of(me)
                .await?
                .iter()
                .map(|p| fido2_json(p, cx.beta))
                .collect();
            Ok(collection_for("fido2Methods", v))
        }
        _ => {
            let v = cx
                .st
                .service
                .passkeys_of(me)
                .await?
                .iter()
                .map(|p| fido2_json(p, cx.beta))
                .collect();
            Ok(collection_for("methods", v))
        }
    }
}

/// `GET …/fido2Methods/creationOptions(…)`: v1.0 has a fixed 5-minute challenge; beta takes
/// `challengeTimeoutInMinutes` (5–43200) in the function call or the query.
pub(crate) async fn creation_options(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let minutes = if cx.beta {
        match cx
            .q("fn:challengeTimeoutInMinutes")
            .or_else(|| cx.q("challengeTimeoutInMinutes"))
        {
            None => 5,
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|m| (5..=43_200).contains(m))
                .ok_or_else(|| {
                    gerr(
                        StatusCode::BAD_REQUEST,
                        "badRequest",
                        "challengeTimeoutInMinutes must be between 5 and 43200.",
                    )
                })?,
        }
    } else {
        5
    };
    let user = cx.params.id.unwrap_or_default();
    let (options, expires) = cx
        .st
        .service
        .begin_provisioning(&cx.st.rp, cx.actor, user, time::Duration::minutes(minutes))
        .await?;
    Ok(axum::Json(json!({
        "@odata.context": format!("{}/$metadata#microsoft.graph.webauthnCredentialCreationOptions", cx.base),
        "challengeTimeoutDateTime": rfc3339(expires), "publicKey": options
    }))
    .into_response())
}

/// `POST …/fido2Methods`: provisions a passkey created against `creationOptions` → 201.
pub(crate) async fn provision_fido2(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let b = cx.json_body()?;
    if let Some(k) = b
        .keys()
        .find(|k| !["@odata.type", "displayName", "publicKeyCredential"].contains(&k.as_str()))
    {
        return Err(gerr(
            StatusCode::BAD_REQUEST,
            "badRequest",
            format!("Property '{k}' cannot be set when creating a passkey."),
        ));
    }
    let cred = b
        .get("publicKeyCredential")
        .filter(|v| v.is_object())
        .ok_or_else(|| {
            gerr(
                StatusCode::BAD_REQUEST,
                "badRequest",
                "publicKeyCredential is required.",
            )
        })?;
    let name = match b.get("displayName") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_str()
                .ok_or_else(|| {
                    gerr(
                        StatusCode::BAD_REQUEST,
                        "badRequest",
                        "displayName must be a string.",
                    )
                })?
                .to_string(),
        ),
    };
    let user = cx.params.id.unwrap_or_default();
    let p = cx
        .st
        .service
        .finish_provisioning(&cx.st.rp, cx.actor, user, name, cred)
        .await?;
    let view = cx
        .st
        .service
        .passkeys_for_admin(cx.actor, user)
        .await?
        .1
        .into_iter()
        .find(|v| v.stored.passkey.id == p.id)
        .ok_or_else(|| not_found("passkey"))?;
    let mut v = fido2_json(&view, cx.beta);
    crate::json::set(
        &mut v,
        "@odata.context",
        json!(format!(
            "{}/$metadata#users('{user}')/authentication/fido2Methods/$entity",
            cx.base
        )),
    );
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}
