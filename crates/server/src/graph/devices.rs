//! `devices`: the enrolled devices, as Graph shows them, and the changes an MDM-style
//! administrator makes — compliance and the properties device filters read. Enrolment needs
//! the device's public key and is done with `portcullis devices add`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_domain::device::{
    Device, DeviceProperty, ExtensionAttribute, PropertiesPatch, RawPropertiesPatch,
};
use portcullis_domain::time_fmt::rfc3339;
use portcullis_service::devices::DevicePatch;
use serde_json::{json, Map, Value};

use super::body::{bad, flag, list_body, only_known, string};
use super::{gerr, Ctx, GraphError};

fn device_json(d: &Device) -> Value {
    let f = d.facts();
    let extension: Map<String, Value> = (1..=15)
        .filter_map(|n| {
            format!("extensionAttribute{n}")
                .parse::<ExtensionAttribute>()
                .ok()
        })
        .map(|a| {
            let v = d
                .properties
                .extension_attributes
                .get(&a)
                .map_or(Value::Null, |v| json!(v));
            (a.to_string(), v)
        })
        .collect();
    let text = |p: DeviceProperty| f.get(p).map_or(Value::Null, |v| json!(v));
    json!({
        "id": d.id, "deviceId": d.id, "displayName": d.display_name, "accountEnabled": true,
        "operatingSystem": text(DeviceProperty::OperatingSystem),
        "operatingSystemVersion": text(DeviceProperty::OperatingSystemVersion),
        "isCompliant": d.is_compliant, "isManaged": true, "trustType": text(DeviceProperty::TrustType),
        "deviceOwnership": text(DeviceProperty::DeviceOwnership),
        "manufacturer": text(DeviceProperty::Manufacturer), "model": text(DeviceProperty::Model),
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
    let devices = cx.st.service.devices().await?;
    Ok(list_body(
        cx,
        "devices",
        devices.iter().map(device_json).collect(),
    ))
}

/// `GET devices/{id}`.
pub(crate) async fn get_device(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    Ok(axum::Json(device_json(&cx.st.service.device(by_path(cx)?).await?)).into_response())
}

/// A string property that may be cleared: absent → `None`; `null` or `""` → `Some(None)`.
fn clearable(b: &Map<String, Value>, key: &str) -> Result<Option<Option<String>>, GraphError> {
    match b.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(bad(format!("'{key}' must be a string."))),
    }
}

/// `PATCH devices/{id}` → 204: `displayName`, `isCompliant` (the MDM's verdict), `trustType`,
/// `deviceOwnership`, `manufacturer`, `model`, `operatingSystemVersion`, and
/// `extensionAttributes` (merged; `null` clears one).
pub(crate) async fn update_device(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let b = cx.json_body()?;
    only_known(
        &b,
        &[
            "@odata.type",
            "displayName",
            "isCompliant",
            "trustType",
            "deviceOwnership",
            "manufacturer",
            "model",
            "operatingSystemVersion",
            "extensionAttributes",
        ],
        "device",
    )?;
    let mut properties = RawPropertiesPatch {
        trust_type: clearable(&b, "trustType")?,
        device_ownership: clearable(&b, "deviceOwnership")?,
        manufacturer: clearable(&b, "manufacturer")?,
        model: clearable(&b, "model")?,
        operating_system_version: clearable(&b, "operatingSystemVersion")?,
        ..Default::default()
    };
    match b.get("extensionAttributes") {
        None | Some(Value::Null) => {}
        Some(Value::Object(o)) => {
            for (k, _) in o.iter().filter(|(k, _)| !k.starts_with('@')) {
                properties
                    .extension_attributes
                    .push((k.clone(), clearable(o, k)?.flatten()));
            }
        }
        Some(_) => return Err(bad("'extensionAttributes' must be an object.")),
    }
    let patch = DevicePatch {
        display_name: string(&b, "displayName")?,
        is_compliant: flag(&b, "isCompliant")?,
        properties: PropertiesPatch::parse(properties).map_err(|e| bad(e.to_string()))?,
    };
    cx.st
        .service
        .update_device(cx.actor, by_path(cx)?, patch)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE devices/{id}` → 204.
pub(crate) async fn delete_device(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    cx.st.service.delete_device(cx.actor, by_path(cx)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
