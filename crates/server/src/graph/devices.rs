//! `devices`: the enrolled devices, as Graph shows them, and the changes an MDM-style
//! administrator makes — compliance and the properties device filters read. Enrolment needs
//! the device's public key and is done with `portcullis devices add`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_domain::device::{filter_property, Device};
use portcullis_domain::time_fmt::rfc3339;
use portcullis_service::devices::DevicePatch;
use serde_json::{json, Map, Value};

use super::{gerr, Ctx, GraphError};

fn bad(message: impl Into<String>) -> GraphError {
    gerr(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
}

fn device_json(d: &Device) -> Value {
    let f = d.facts();
    let extension: Map<String, Value> = (1..=15)
        .map(|n| {
            let k = format!("extensionAttribute{n}");
            let v = d
                .properties
                .extension_attributes
                .get(&k)
                .map_or(Value::Null, |v| json!(v));
            (k, v)
        })
        .collect();
    let text = |name: &str| f.get(name).map_or(Value::Null, |v| json!(v));
    json!({
        "id": d.id, "deviceId": d.id, "displayName": d.display_name, "accountEnabled": true,
        "operatingSystem": text("operatingSystem"), "operatingSystemVersion": text("operatingSystemVersion"),
        "isCompliant": d.is_compliant, "isManaged": true, "trustType": text("trustType"),
        "deviceOwnership": text("deviceOwnership"), "manufacturer": text("manufacturer"), "model": text("model"),
        "registrationDateTime": rfc3339(d.created_at), "extensionAttributes": extension,
        "portcullisOwnerId": d.owner,
    })
}

fn by_path(cx: &Ctx<'_>) -> Result<uuid::Uuid, GraphError> {
    let id = cx.params.id.unwrap_or_default();
    uuid::Uuid::parse_str(id).map_err(|_| {
        gerr(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!("No device '{id}' exists."),
        )
    })
}

/// `GET devices`.
pub(crate) async fn list_devices(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let value: Vec<Value> = cx
        .st
        .service
        .devices()
        .await?
        .iter()
        .map(device_json)
        .collect();
    Ok(axum::Json(
        json!({"@odata.context": format!("{}/$metadata#devices", cx.base), "value": value}),
    )
    .into_response())
}

/// `GET devices/{id}`.
pub(crate) async fn get_device(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    Ok(axum::Json(device_json(&cx.st.service.device(by_path(cx)?).await?)).into_response())
}

fn optional_string(
    b: &Map<String, Value>,
    key: &str,
) -> Result<Option<Option<String>>, GraphError> {
    match b.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()).filter(|s| !s.is_empty()))),
        Some(_) => Err(bad(format!("'{key}' must be a string."))),
    }
}

/// `PATCH devices/{id}` → 204: `displayName`, `isCompliant` (the MDM's verdict), `trustType`,
/// `deviceOwnership`, `manufacturer`, `model`, `operatingSystemVersion`, and
/// `extensionAttributes` (merged; `null` clears one).
pub(crate) async fn update_device(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let b = cx.json_body()?;
    const KNOWN: [&str; 9] = [
        "@odata.type",
        "displayName",
        "isCompliant",
        "trustType",
        "deviceOwnership",
        "manufacturer",
        "model",
        "operatingSystemVersion",
        "extensionAttributes",
    ];
    if let Some(k) = b.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(bad(format!("Property '{k}' cannot be changed on microsoft.graph.device in Portcullis (changeable: {}).", KNOWN[1..].join(", "))));
    }
    let id = by_path(cx)?;
    let current = cx.st.service.device(id).await?;
    let mut p = current.properties.clone();
    for (key, slot) in [
        ("trustType", &mut p.trust_type),
        ("deviceOwnership", &mut p.device_ownership),
        ("manufacturer", &mut p.manufacturer),
        ("model", &mut p.model),
        ("operatingSystemVersion", &mut p.operating_system_version),
    ] {
        if let Some(v) = optional_string(&b, key)? {
            *slot = v;
        }
    }
    match b.get("extensionAttributes") {
        None | Some(Value::Null) => {}
        Some(Value::Object(o)) => {
            for (k, v) in o.iter().filter(|(k, _)| !k.starts_with('@')) {
                let name = filter_property(k)
                    .filter(|n| n.starts_with("extensionAttribute"))
                    .ok_or_else(|| {
                        bad(format!(
                            "'{k}' is not one of extensionAttribute1 … extensionAttribute15."
                        ))
                    })?;
                match v {
                    Value::Null => {
                        p.extension_attributes.remove(&name);
                    }
                    Value::String(s) if s.is_empty() => {
                        p.extension_attributes.remove(&name);
                    }
                    Value::String(s) => {
                        p.extension_attributes.insert(name, s.clone());
                    }
                    _ => {
                        return Err(bad(format!(
                            "extensionAttributes.{k} must be a string or null."
                        )))
                    }
                }
            }
        }
        Some(_) => return Err(bad("'extensionAttributes' must be an object.")),
    }
    let is_compliant = match b.get("isCompliant") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(v)) => Some(*v),
        Some(_) => return Err(bad("'isCompliant' must be a boolean.")),
    };
    let display_name = match b.get("displayName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(bad("'displayName' must be a string.")),
    };
    cx.st
        .service
        .update_device(
            cx.actor,
            id,
            DevicePatch {
                display_name,
                is_compliant,
                properties: Some(p),
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE devices/{id}` → 204.
pub(crate) async fn delete_device(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    cx.st.service.delete_device(cx.actor, by_path(cx)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
