//! The authentication methods policy and its method configurations (graph-api.md §1).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_domain::policy::method::{other_method_json, OTHER_METHODS};
use portcullis_domain::policy::MethodId;
use serde_json::{json, Value};

use super::{gerr, Ctx, GraphError, Op};

async fn all_configs(cx: &Ctx<'_>) -> Result<Vec<Value>, GraphError> {
    let mut out = vec![];
    for m in MethodId::ALL {
        out.push(cx.st.service.method_configuration(m).await?.to_json());
    }
    out.extend(
        OTHER_METHODS
            .iter()
            .filter_map(|(id, _)| other_method_json(id)),
    );
    Ok(out)
}

async fn policy_json(cx: &Ctx<'_>) -> Result<Value, GraphError> {
    let settings = cx.st.service.policy_settings().await?;
    let mut v = json!({
        "@odata.context": format!("{}/$metadata#policies/authenticationMethodsPolicy/$entity", cx.base),
        "id": "authenticationMethodsPolicy", "displayName": "Authentication Methods Policy",
        "description": "The tenant-wide policy that controls which authentication methods are allowed in the tenant, authentication method registration requirements, and self-service password reset settings",
        "policyVersion": "1.5", "policyMigrationState": "migrationComplete",
        "authenticationMethodConfigurations": all_configs(cx).await?
    });
    for k in ["reconfirmationInDays", "registrationEnforcement"] {
        crate::json::set(&mut v, k, settings.get(k).cloned().unwrap_or(Value::Null));
    }
    Ok(v)
}

/// Handles the policy routes.
pub(crate) async fn handle(cx: &Ctx<'_>, op: Op) -> Result<Response, GraphError> {
    let raw_id = cx.params.id.unwrap_or_default();
    let config_id = || {
        MethodId::parse(raw_id).ok_or_else(|| {
            gerr(
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                format!("No authentication method configuration '{raw_id}' exists."),
            )
        })
    };
    // Methods Portcullis does not offer are listed (disabled) but cannot be changed.
    let not_offered = || {
        gerr(StatusCode::BAD_REQUEST, "badRequest", format!("Portcullis does not offer the '{raw_id}' method; its configuration stays disabled."))
    };
    match op {
        Op::GetPolicy => Ok(axum::Json(policy_json(cx).await?).into_response()),
        Op::PatchPolicy => {
            let b = serde_json::Value::Object(cx.json_body()?);
            cx.st.service.patch_policy_settings(cx.actor, &b).await?;
            Ok(axum::Json(policy_json(cx).await?).into_response())
        }
        Op::ListConfigs => Ok(axum::Json(json!({"@odata.context": format!("{}/$metadata#policies/authenticationMethodsPolicy/authenticationMethodConfigurations", cx.base), "value": all_configs(cx).await?})).into_response()),
        Op::GetConfig => {
            let mut v = match MethodId::parse(raw_id) {
                Some(m) => cx.st.service.method_configuration(m).await?.to_json(),
                None => other_method_json(raw_id).ok_or_else(|| gerr(StatusCode::NOT_FOUND, "Request_ResourceNotFound", format!("No authentication method configuration '{raw_id}' exists.")))?,
            };
            crate::json::set(&mut v, "@odata.context", json!(format!("{}/$metadata#policies/authenticationMethodsPolicy/authenticationMethodConfigurations/$entity", cx.base)));
            Ok(axum::Json(v).into_response())
        }
        Op::PatchConfig => {
            if other_method_json(raw_id).is_some() {
                return Err(not_offered());
            }
            let m = config_id()?;
            let v = serde_json::Value::Object(cx.json_body()?);
            let t = v.get("@odata.type").and_then(Value::as_str);
            if !t.is_some_and(|t| t.eq_ignore_ascii_case(m.odata_type())) {
                return Err(gerr(StatusCode::BAD_REQUEST, "BadRequest", format!("The request body must carry \"@odata.type\": \"{}\".", m.odata_type())));
            }
            // R5: an enforced allow list with nothing on it refuses every passkey; saving one
            // needs this explicit confirmation.
            let accept = cx.q("acceptEmptyAllowList").is_some_and(|v| v.eq_ignore_ascii_case("true"));
            let saved = cx.st.service.patch_method_configuration(cx.actor, m, v, accept).await?;
            let mut res = StatusCode::NO_CONTENT.into_response();
            // Consequences (R5, R6) travel in a header: a 204 has no body.
            if let Some(w) = saved.warnings.first().and_then(|w| HeaderValue::from_str(&w.replace(['\n', '\r'], " ")).ok()) {
                res.headers_mut().insert("x-portcullis-warning", w);
            }
            Ok(res)
        }
        Op::ResetConfig => {
            if other_method_json(raw_id).is_some() {
                return Err(not_offered());
            }
            cx.st.service.reset_method_configuration(cx.actor, config_id()?).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(gerr(StatusCode::NOT_FOUND, "Request_ResourceNotFound", "No handler.")),
    }
}
