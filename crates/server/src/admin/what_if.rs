//! What If (R43) in the admin center: every input the documents name — user, application
//! or the Register security info action, platform, IP address, client app, the device
//! (compliant, filter properties) and the methods used — read once into the service's
//! `WhatIf`, answered by the same evaluation as a sign-in; the page shows every policy,
//! whether it applies, and every reason.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_domain::authz::Capability;
use portcullis_domain::conditional_access::platform::{ClientAppType, Platform};
use portcullis_domain::device::{DeviceFacts, DeviceProperty};
use portcullis_domain::strength::UsedMethod;
use portcullis_service::conditional_access::WhatIf;
use portcullis_service::render::{applied_policies_json, verdict_json};
use portcullis_service::ServiceError;
use serde::Deserialize;
use uuid::Uuid;

use super::AdminSession;
use crate::error::PageError;
use crate::pages::admin::{self as page, FieldErrors, WhatIfInput};
use crate::AppState;

/// The form, as its GET sends it.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct WhatIfQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    app: String,
    #[serde(default)]
    platform: String,
    #[serde(default)]
    ip: String,
    #[serde(default)]
    client: String,
    #[serde(default)]
    compliant: String,
    #[serde(default)]
    device: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    aaguid: String,
    #[serde(default)]
    attested: String,
}

impl From<&WhatIfQuery> for WhatIfInput {
    fn from(q: &WhatIfQuery) -> Self {
        WhatIfInput {
            user: q.user.clone(),
            target: q.target.clone(),
            app: q.app.clone(),
            platform: q.platform.clone(),
            ip: q.ip.clone(),
            client: q.client.clone(),
            compliant: q.compliant == "on",
            device: q.device.clone(),
            method: q.method.clone(),
            aaguid: q.aaguid.clone(),
            attested: q.attested == "on",
        }
    }
}

/// Reads the form into the service's question; each bad value is an error on its field.
fn question(q: &WhatIfQuery, errors: &mut FieldErrors) -> WhatIf {
    let platform = match q.platform.as_str() {
        "" => None,
        p => Platform::parse(p).or_else(|| {
            errors.insert("platform", format!("'{p}' is not a device platform."));
            None
        }),
    };
    let ip = match q.ip.trim() {
        "" => None,
        s => s.parse().ok().or_else(|| {
            errors.insert("ip", format!("'{s}' is not an IP address."));
            None
        }),
    };
    let application = match q.target.as_str() {
        "action" => None,
        "" | "app" if !q.app.trim().is_empty() => Some(q.app.trim().to_string()),
        "" | "app" => {
            errors.insert(
                "app",
                "Choose an application, or the Register security information action.".into(),
            );
            None
        }
        other => {
            errors.insert(
                "target",
                format!("'{other}' is not a cloud app or a user action."),
            );
            None
        }
    };
    let mut facts = DeviceFacts {
        is_compliant: q.compliant == "on",
        ..DeviceFacts::default()
    };
    for line in q.device.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match line
            .split_once('=')
            .map(|(k, v)| (DeviceProperty::parse(k.trim()), v.trim()))
        {
            Some((Some(p), v)) if p != DeviceProperty::IsCompliant => {
                facts.values.insert(p, v.to_string());
            }
            _ => {
                errors.insert(
                    "device",
                    format!(
                        "'{line}': write a device property and its value, e.g. trustType=AzureAD."
                    ),
                );
            }
        }
    }
    let device = (facts.is_compliant || !facts.values.is_empty()).then_some(facts);
    let aaguid = match q.aaguid.trim() {
        "" => None,
        a => Uuid::parse_str(a).ok().or_else(|| {
            errors.insert("aaguid", format!("'{a}' is not an AAGUID."));
            None
        }),
    };
    let methods = match q.method.as_str() {
        "" | "passkey" => vec![UsedMethod::passkey(aaguid, q.attested == "on")],
        "tap" => vec![UsedMethod::TAP],
        other => {
            errors.insert(
                "method",
                format!("'{other}' is not a passkey or a Temporary Access Pass."),
            );
            vec![]
        }
    };
    WhatIf {
        user: q.user.trim().to_string(),
        application,
        platform,
        ip,
        client_app_type: match q.client.as_str() {
            "" | "browser" => ClientAppType::Browser,
            "native" => ClientAppType::MobileAppsAndDesktopClients,
            other => {
                errors.insert(
                    "client",
                    format!("'{other}' is not Browser or Mobile apps and desktop clients."),
                );
                ClientAppType::Browser
            }
        },
        device,
        methods,
    }
}

/// What If: the form, and with a user the answer.
pub(crate) async fn page(
    admin: AdminSession,
    State(st): State<AppState>,
    query: Result<Query<WhatIfQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    admin.require(Capability::ReadCa, "What If")?;
    let Query(q) = query.map_err(|e| PageError::BadRequest(e.body_text()))?;
    let apps: Vec<(String, String)> = super::applications(&st).await?;
    let input = WhatIfInput::from(&q);
    let mut errors = FieldErrors::new();
    let mut answer = None;
    let mut status = StatusCode::OK;
    if !q.user.trim().is_empty() {
        let question = question(&q, &mut errors);
        if errors.is_empty() {
            // The user is looked up here, so that what the service cannot find after it
            // is the application.
            match st.service.user(&question.user).await {
                Err(e @ (ServiceError::NotFound(_) | ServiceError::Upn(_))) => {
                    errors.insert("user", e.to_string());
                }
                Err(e) => return Err(e.into()),
                Ok(_) => match st.service.what_if(&question).await {
                    Ok((e, v, data)) => {
                        answer =
                            Some((applied_policies_json(&e, data.policies()), verdict_json(&v)));
                    }
                    Err(ServiceError::NotFound(m)) => {
                        errors.insert("app", m);
                    }
                    Err(e) => return Err(e.into()),
                },
            }
        }
        if !errors.is_empty() {
            status = StatusCode::BAD_REQUEST;
        }
    }
    Ok((
        status,
        page::what_if_page(&admin.nav(), &input, &apps, &errors, answer.as_ref()),
    )
        .into_response())
}
