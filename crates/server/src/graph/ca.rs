//! Conditional Access over Graph (graph-api.md §4–§5): policies, named locations, custom
//! authentication strengths, and What If (`evaluate`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_domain::conditional_access::evaluate::Evaluation;
use portcullis_domain::conditional_access::location::NamedLocation;
use portcullis_domain::conditional_access::platform::{ClientAppType, Platform};
use portcullis_domain::conditional_access::Policy;
use portcullis_domain::device::DeviceFacts;
use portcullis_domain::strength::{Strength, StrengthDocument, UsedMethod};
use portcullis_service::conditional_access::WhatIf;
use portcullis_service::render::verdict_json;
use serde_json::{json, Map, Value};

use super::{gerr, Ctx, GraphError};

fn bad(message: impl Into<String>) -> GraphError {
    gerr(StatusCode::BAD_REQUEST, "BadRequest", message)
}

fn not_found(kind: &str, id: &str) -> GraphError {
    gerr(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        format!("No {kind} '{id}' exists."),
    )
}

/// A policy as Graph shows it: the strength expanded in full.
fn policy_json(p: &Policy, strengths: &[Strength]) -> Value {
    let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
    if let Some(id) = p.grant_controls.as_ref().and_then(|g| g.strength_id()) {
        if let Some(s) = strengths.iter().find(|s| s.id == id) {
            crate::json::set_at(
                &mut v,
                "/grantControls",
                "authenticationStrength",
                s.to_json(),
            );
        }
    }
    v
}

/// Deep-merges a PATCH body into a document (objects merge; anything else replaces).
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// Properties of a policy that are written by the server, accepted and ignored in a body.
const POLICY_READ_ONLY: [&str; 5] = [
    "id",
    "createdDateTime",
    "modifiedDateTime",
    "templateId",
    "deletedDateTime",
];

pub(crate) fn parse_policy(v: Value) -> Result<Policy, GraphError> {
    let p: Policy = serde_json::from_value(v.clone()).map_err(|e| {
        bad(format!(
            "The body is not a valid conditionalAccessPolicy: {e}"
        ))
    })?;
    let kept = serde_json::to_value(&p)
        .map_err(|e| GraphError::from(portcullis_service::ServiceError::Internal(e.to_string())))?;
    match super::body::dropped(&v, &kept, &POLICY_READ_ONLY) {
        Some(at) => Err(bad(format!(
            "Property '{at}' does not exist on type 'microsoft.graph.conditionalAccessPolicy' (or Portcullis does not keep it)."
        ))),
        None => Ok(p),
    }
}

fn accept_lockout(cx: &Ctx<'_>) -> bool {
    cx.q("acceptLockout")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// `GET identity/conditionalAccess/policies`.
pub(crate) async fn list_policies(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let d = cx.st.service.ca_data().await?;
    let value: Vec<Value> = d
        .policies()
        .iter()
        .map(|p| policy_json(p, &d.strengths))
        .collect();
    Ok(axum::Json(json!({"@odata.context": format!("{}/$metadata#identity/conditionalAccess/policies", cx.base), "value": value})).into_response())
}

/// `POST identity/conditionalAccess/policies` → 201. `?acceptLockout=true` accepts R45.
pub(crate) async fn create_policy(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let mut body = Value::Object(cx.json_body()?);
    crate::json::set(&mut body, "id", json!(""));
    let saved = cx
        .st
        .service
        .save_ca_policy(cx.actor, parse_policy(body)?, accept_lockout(cx))
        .await?;
    let d = cx.st.service.ca_data().await?;
    let mut v = policy_json(&saved, &d.strengths);
    crate::json::set(
        &mut v,
        "@odata.context",
        json!(format!(
            "{}/$metadata#identity/conditionalAccess/policies/$entity",
            cx.base
        )),
    );
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

async fn find_policy(cx: &Ctx<'_>) -> Result<(Policy, Vec<Strength>), GraphError> {
    let id = cx.params.id.unwrap_or_default();
    let d = cx.st.service.ca_data().await?;
    let p = d
        .policies()
        .iter()
        .find(|p| p.id.eq_ignore_ascii_case(id))
        .cloned()
        .ok_or_else(|| not_found("conditional access policy", id))?;
    Ok((p, d.strengths.clone()))
}

/// `GET identity/conditionalAccess/policies/{id}`.
pub(crate) async fn get_policy(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let (p, s) = find_policy(cx).await?;
    Ok(axum::Json(policy_json(&p, &s)).into_response())
}

/// `PATCH identity/conditionalAccess/policies/{id}` → 204.
pub(crate) async fn update_policy(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let patch = Value::Object(cx.json_body()?);
    let (p, _) = find_policy(cx).await?;
    let mut doc = serde_json::to_value(&p)
        .map_err(|e| GraphError::from(portcullis_service::ServiceError::Internal(e.to_string())))?;
    // The strength is written as {"id": …}; never merge an expanded one.
    if patch
        .pointer("/grantControls/authenticationStrength")
        .is_some()
    {
        crate::json::set_at(
            &mut doc,
            "/grantControls",
            "authenticationStrength",
            Value::Null,
        );
    }
    merge(&mut doc, &patch);
    crate::json::set(&mut doc, "id", json!(p.id));
    cx.st
        .service
        .save_ca_policy(cx.actor, parse_policy(doc)?, accept_lockout(cx))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE identity/conditionalAccess/policies/{id}` → 204.
pub(crate) async fn delete_policy(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let (p, _) = find_policy(cx).await?;
    cx.st.service.delete_ca_policy(cx.actor, &p.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn location_json(l: &NamedLocation) -> Value {
    let ranges: Vec<Value> = l
        .cidrs
        .iter()
        .map(|c| json!({"@odata.type": if c.contains(':') { "#microsoft.graph.iPv6CidrRange" } else { "#microsoft.graph.iPv4CidrRange" }, "cidrAddress": c}))
        .collect();
    json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "id": l.id, "displayName": l.display_name, "isTrusted": l.is_trusted, "ipRanges": ranges, "createdDateTime": l.created, "modifiedDateTime": l.modified})
}

/// `GET identity/conditionalAccess/namedLocations`.
pub(crate) async fn list_locations(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let d = cx.st.service.ca_data().await?;
    Ok(axum::Json(json!({"@odata.context": format!("{}/$metadata#identity/conditionalAccess/namedLocations", cx.base), "value": d.locations.iter().map(location_json).collect::<Vec<_>>()})).into_response())
}

/// `POST identity/conditionalAccess/namedLocations` → 201 (IP locations).
pub(crate) async fn create_location(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let b = cx.json_body()?;
    super::body::only_known(
        &b,
        &[
            "@odata.type",
            "displayName",
            "isTrusted",
            "ipRanges",
            "id",
            "createdDateTime",
            "modifiedDateTime",
        ],
        "ipNamedLocation",
    )?;
    match b.get("@odata.type").and_then(Value::as_str) {
        Some("#microsoft.graph.ipNamedLocation") => {}
        Some(other) => {
            return Err(bad(format!(
                "'{other}' locations are not supported; use #microsoft.graph.ipNamedLocation."
            )))
        }
        None => {
            return Err(bad(
                "@odata.type is required (#microsoft.graph.ipNamedLocation).",
            ))
        }
    }
    let name = b
        .get("displayName")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("displayName is required."))?;
    let trusted = match b.get("isTrusted") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(t)) => *t,
        Some(_) => return Err(bad("isTrusted must be a boolean.")),
    };
    let ranges = b.get("ipRanges").and_then(Value::as_array).ok_or_else(|| bad("ipRanges is required: [{\"@odata.type\": \"#microsoft.graph.iPv4CidrRange\", \"cidrAddress\": …}]."))?;
    let cidrs = ranges
        .iter()
        .map(|r| {
            if let Some(m) = r.as_object() {
                super::body::only_known(m, &["@odata.type", "cidrAddress"], "ipRange")?;
            }
            r.get("cidrAddress")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| bad("every ipRange needs a cidrAddress."))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let l = cx
        .st
        .service
        .add_named_location(cx.actor, name, &cidrs, trusted)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(location_json(&l))).into_response())
}

/// `GET identity/conditionalAccess/namedLocations/{id}`.
pub(crate) async fn get_location(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let id = cx.params.id.unwrap_or_default();
    let d = cx.st.service.ca_data().await?;
    let l = d
        .locations
        .iter()
        .find(|l| l.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| not_found("named location", id))?;
    Ok(axum::Json(location_json(l)).into_response())
}

/// `DELETE identity/conditionalAccess/namedLocations/{id}` → 204 (not while a policy uses it).
pub(crate) async fn delete_location(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    cx.st
        .service
        .delete_named_location(cx.actor, cx.params.id.unwrap_or_default())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn strings(b: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, GraphError> {
    match b.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(format!("'{key}' must be an array of strings.")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(bad(format!("'{key}' must be an array of strings."))),
    }
}

/// `POST policies/authenticationStrengthPolicies` → 201: a custom strength; a
/// `fido2CombinationConfiguration` may come inline (as beta allows).
pub(crate) async fn create_strength(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let b = cx.json_body()?;
    super::body::only_known(
        &b,
        &[
            "@odata.type",
            "@odata.context",
            "id",
            "displayName",
            "description",
            "allowedCombinations",
            "combinationConfigurations",
            "policyType",
            "requirementsSatisfied",
            "createdDateTime",
            "modifiedDateTime",
        ],
        "authenticationStrengthPolicy",
    )?;
    for c in b
        .get("combinationConfigurations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(m) = c.as_object() {
            super::body::only_known(
                m,
                &[
                    "@odata.type",
                    "id",
                    "allowedAAGUIDs",
                    "appliesToCombinations",
                ],
                "fido2CombinationConfiguration",
            )?;
        }
    }
    let doc = StrengthDocument::parse(Value::Object(b)).map_err(|e| bad(e.to_string()))?;
    let (_, aaguids) = doc.checked().map_err(|e| bad(e.to_string()))?;
    let s = cx
        .st
        .service
        .add_strength(
            cx.actor,
            &doc.display_name,
            &doc.description,
            &doc.allowed_combinations,
            aaguids,
        )
        .await?;
    let mut res = (StatusCode::CREATED, axum::Json(s.to_json())).into_response();
    // R32: a restriction no passkey can meet yet is saved, and said so.
    if let Some(w) = cx
        .st
        .service
        .strength_warnings(&s)
        .await?
        .first()
        .and_then(|w| axum::http::HeaderValue::from_str(&w.replace(['\n', '\r'], " ")).ok())
    {
        res.headers_mut().insert("x-portcullis-warning", w);
    }
    Ok(res)
}

/// `PATCH policies/authenticationStrengthPolicies/{id}` → 204 (name and description only).
pub(crate) async fn update_strength(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let b = cx.json_body()?;
    if let Some(k) = b
        .keys()
        .find(|k| !["displayName", "description", "@odata.type"].contains(&k.as_str()))
    {
        return Err(bad(format!(
            "'{k}' cannot be changed with PATCH; use updateAllowedCombinations for combinations."
        )));
    }
    let name = super::body::string(&b, "displayName")?;
    let description = super::body::string(&b, "description")?;
    cx.st
        .service
        .update_strength(
            cx.actor,
            cx.params.id.unwrap_or_default(),
            name,
            description,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE policies/authenticationStrengthPolicies/{id}` → 204 (custom, unused).
pub(crate) async fn delete_strength(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    cx.st
        .service
        .delete_strength(cx.actor, cx.params.id.unwrap_or_default())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST policies/authenticationStrengthPolicies/{id}/updateAllowedCombinations`.
pub(crate) async fn update_allowed_combinations(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let b = cx.json_body()?;
    super::body::only_known(&b, &["allowedCombinations"], "updateAllowedCombinations")?;
    let combos = strings(&b, "allowedCombinations")?
        .ok_or_else(|| bad("allowedCombinations is required."))?;
    let (previous, current, refs) = cx
        .st
        .service
        .update_allowed_combinations(cx.actor, cx.params.id.unwrap_or_default(), &combos)
        .await?;
    let info = if refs.is_empty() {
        vec![]
    } else {
        vec![format!(
            "{} Conditional Access policies use this strength; the change applies to them at once.",
            refs.len()
        )]
    };
    Ok(axum::Json(json!({
        "@odata.context": format!("{}/$metadata#microsoft.graph.updateAllowedCombinationsResult", cx.base),
        "previousCombinations": previous, "currentCombinations": current, "conditionalAccessReferences": refs, "additionalInformation": info.first(),
    }))
    .into_response())
}

/// `GET …/authenticationStrength/authenticationMethodModes`.
pub(crate) fn method_modes(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let modes = [
        ("password", "Password", "password"),
        ("voice", "Voice", "voice"),
        ("hardwareOath", "Hardware OATH tokens", "hardwareOath"),
        ("softwareOath", "Software OATH tokens", "softwareOath"),
        ("sms", "SMS", "sms"),
        ("fido2", "FIDO2 Security Key", "fido2"),
        (
            "windowsHelloForBusiness",
            "Windows Hello for Business",
            "windowsHelloForBusiness",
        ),
        (
            "microsoftAuthenticatorPush",
            "Microsoft Authenticator (push notification)",
            "microsoftAuthenticator",
        ),
        (
            "deviceBasedPush",
            "Microsoft Authenticator (Passwordless)",
            "microsoftAuthenticator",
        ),
        (
            "temporaryAccessPassOneTime",
            "Temporary Access Pass (one-time use)",
            "temporaryAccessPass",
        ),
        (
            "temporaryAccessPassMultiUse",
            "Temporary Access Pass (multi-use)",
            "temporaryAccessPass",
        ),
        ("email", "Email one-time passcode", "email"),
        (
            "x509CertificateSingleFactor",
            "Certificate-based authentication (single factor)",
            "x509Certificate",
        ),
        (
            "x509CertificateMultiFactor",
            "Certificate-based authentication (multifactor)",
            "x509Certificate",
        ),
        (
            "federatedSingleFactor",
            "Federation (single factor)",
            "federation",
        ),
        (
            "federatedMultiFactor",
            "Federation (multifactor)",
            "federation",
        ),
    ];
    let value: Vec<Value> = modes
        .iter()
        .map(|(id, name, m)| json!({"id": id, "displayName": name, "authenticationMethod": m}))
        .collect();
    Ok(axum::Json(json!({"@odata.context": format!("{}/$metadata#identity/conditionalAccess/authenticationStrength/authenticationMethodModes", cx.base), "value": value})).into_response())
}

/// `POST identity/conditionalAccess/evaluate` (What If, graph-api.md §5.8).
pub(crate) async fn evaluate(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let b = cx.json_body()?;
    super::body::only_known(
        &b,
        &[
            "signInIdentity",
            "signInContext",
            "signInConditions",
            "appliedPoliciesOnly",
            "portcullisAuthenticationMethods",
        ],
        "evaluate",
    )?;
    let user = b
        .get("signInIdentity")
        .and_then(|i| i.get("userId"))
        .and_then(Value::as_str)
        .ok_or_else(|| bad("signInIdentity must be a #microsoft.graph.userSignIn with userId."))?;
    let context = b
        .get("signInContext")
        .ok_or_else(|| bad("signInContext is required."))?;
    let application = match context.get("@odata.type").and_then(Value::as_str) {
        Some("#microsoft.graph.applicationContext") => {
            let apps = context
                .get("includeApplications")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("applicationContext needs includeApplications."))?;
            Some(
                apps.first()
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("includeApplications needs one application id."))?
                    .to_string(),
            )
        }
        Some("#microsoft.graph.userActionContext") => {
            match context.get("userAction").and_then(Value::as_str) {
                Some("registerSecurityInformation") => None,
                other => {
                    return Err(bad(format!(
                        "userAction {other:?} is not supported; registerSecurityInformation is."
                    )))
                }
            }
        }
        other => return Err(bad(format!("signInContext {other:?} is not supported."))),
    };
    let cond = b.get("signInConditions").cloned().unwrap_or(Value::Null);
    let platform = match cond.get("devicePlatform").and_then(Value::as_str) {
        None | Some("all") => None,
        Some(p) => Some(
            Platform::parse(p).ok_or_else(|| bad(format!("devicePlatform '{p}' is not known.")))?,
        ),
    };
    let ip = match cond.get("ipAddress").and_then(Value::as_str) {
        Some(s) => Some(
            s.parse()
                .map_err(|_| bad(format!("'{s}' is not an IP address.")))?,
        ),
        None => None,
    };
    let client_app_type = match cond.get("clientAppType").and_then(Value::as_str) {
        Some("mobileAppsAndDesktopClients") => ClientAppType::MobileAppsAndDesktopClients,
        _ => ClientAppType::Browser,
    };
    let device = match cond.get("deviceInfo") {
        None | Some(Value::Null) => None,
        Some(info) => Some(DeviceFacts::from_graph(info).map_err(|e| bad(e.to_string()))?),
    };
    // Portcullis extension: the methods of the sign-in, so grant controls can be judged too.
    let methods = match b.get("portcullisAuthenticationMethods").and_then(Value::as_array) {
        Some(a) => a
            .iter()
            .map(|m| {
                let aaguid = match m.get("aaguid") {
                    None | Some(Value::Null) => None,
                    Some(a) => Some(a.as_str().and_then(|x| uuid::Uuid::parse_str(x).ok()).ok_or_else(|| bad(format!("{a} is not an AAGUID.")))?),
                };
                // R32: an AAGUID counts for a strength's AAGUID restriction only when attested.
                let attested = match m.get("aaguidAttested") {
                    None | Some(Value::Null) => false,
                    Some(Value::Bool(b)) => *b,
                    Some(_) => return Err(bad("aaguidAttested must be true or false.")),
                };
                match m.get("method").and_then(Value::as_str) {
                    Some("fido2") => Ok(UsedMethod::passkey(aaguid, attested)),
                    Some("temporaryAccessPass") => Ok(UsedMethod::TAP),
                    _ => Err(bad("portcullisAuthenticationMethods items are {\"method\": \"fido2\"|\"temporaryAccessPass\", \"aaguid\"?, \"aaguidAttested\"?}.")),
                }
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => vec![],
    };
    let applied_only = b
        .get("appliedPoliciesOnly")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let q = WhatIf {
        user: user.to_string(),
        application,
        platform,
        ip,
        client_app_type,
        device,
        methods,
    };
    let (e, v, data) = cx.st.service.what_if(&q).await?;
    // The verdict rides as an instance annotation, which Graph clients keep as extra data.
    Ok(axum::Json(json!({
        "@odata.context": format!("{}/$metadata#Collection(microsoft.graph.whatIfAnalysisResult)", cx.base),
        "@portcullis.verdict": verdict_json(&v),
        "value": what_if_results(&e, data.policies(), &data.strengths, applied_only),
    }))
    .into_response())
}

fn what_if_results(
    e: &Evaluation,
    policies: &[Policy],
    strengths: &[Strength],
    applied_only: bool,
) -> Vec<Value> {
    e.policies
        .iter()
        .filter(|r| !applied_only || r.applies)
        .filter_map(|r| {
            let p = policies.get(r.index)?;
            let mut v = policy_json(p, strengths);
            crate::json::set(&mut v, "policyApplies", json!(r.applies));
            crate::json::set(
                &mut v,
                "analysisReasons",
                json!(if r.not_applied_because.is_empty() {
                    "notSet".to_string()
                } else {
                    r.not_applied_because.list().join(",")
                }),
            );
            crate::json::set(&mut v, "portcullisResult", json!(r.result));
            Some(v)
        })
        .collect()
}
