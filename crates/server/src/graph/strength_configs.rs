//! `policies/authenticationStrengthPolicies/{id}/combinationConfigurations` (graph-api.md
//! §4.4): the passkey models a custom strength accepts, as a `fido2CombinationConfiguration`
//! — the same restriction the admin center's Advanced options set.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_domain::strength::Strength;
use portcullis_service::strengths::Fido2Restriction;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{gerr, Ctx, GraphError};

const FIDO2: &str = "#microsoft.graph.fido2CombinationConfiguration";

fn bad(m: impl Into<String>) -> GraphError {
    gerr(StatusCode::BAD_REQUEST, "badRequest", m.into())
}

fn not_found(m: impl Into<String>) -> GraphError {
    gerr(StatusCode::NOT_FOUND, "Request_ResourceNotFound", m.into())
}

async fn strength(cx: &Ctx<'_>) -> Result<Strength, GraphError> {
    let id = cx.params.id.unwrap_or_default();
    cx.st
        .service
        .ca_data()
        .await?
        .strengths
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(id))
        .cloned()
        .ok_or_else(|| not_found(format!("No authentication strength '{id}' exists.")))
}

/// The strength's configurations, as its own JSON lists them.
fn configurations(s: &Strength) -> Vec<Value> {
    s.to_json()
        .get("combinationConfigurations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn context(cx: &Ctx<'_>) -> String {
    format!(
        "{}/$metadata#policies/authenticationStrengthPolicies('{}')/combinationConfigurations",
        cx.base,
        cx.params.id.unwrap_or_default()
    )
}

/// The models a body lists: `allowedAAGUIDs`, each an AAGUID; `appliesToCombinations`, if
/// given, only `["fido2"]`; `@odata.type`, if given, only the fido2 configuration.
fn models(b: &Map<String, Value>, required: bool) -> Result<Option<Vec<Uuid>>, GraphError> {
    if let Some(k) = b.keys().find(|k| {
        ![
            "@odata.type",
            "allowedAAGUIDs",
            "appliesToCombinations",
            "id",
        ]
        .contains(&k.as_str())
    }) {
        return Err(bad(format!(
            "'{k}' is not a property of a fido2CombinationConfiguration."
        )));
    }
    match b.get("@odata.type").and_then(Value::as_str) {
        None | Some(FIDO2) => {}
        Some(other) => {
            return Err(bad(format!(
                "Only {FIDO2} is supported, not '{other}' (Portcullis has no certificate-based authentication)."
            )))
        }
    }
    if let Some(a) = b.get("appliesToCombinations") {
        if a != &json!(["fido2"]) {
            return Err(bad(
                "appliesToCombinations of a fido2CombinationConfiguration must be [\"fido2\"].",
            ));
        }
    }
    match b.get("allowedAAGUIDs") {
        None if required => Err(bad("allowedAAGUIDs is required.")),
        None => Ok(None),
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| {
                v.as_str()
                    .and_then(|s| Uuid::parse_str(s).ok())
                    .ok_or_else(|| bad(format!("allowedAAGUIDs: {v} is not an AAGUID.")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(bad("allowedAAGUIDs must be an array of AAGUIDs.")),
    }
}

/// `GET …/combinationConfigurations`.
pub(crate) async fn list(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let s = strength(cx).await?;
    Ok(
        axum::Json(json!({"@odata.context": context(cx), "value": configurations(&s)}))
            .into_response(),
    )
}

/// `GET …/combinationConfigurations/{ccId}`.
pub(crate) async fn get(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let s = strength(cx).await?;
    let cc = cx.params.sub.unwrap_or_default();
    let found = configurations(&s)
        .into_iter()
        .find(|c| c["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(cc)))
        .ok_or_else(|| {
            not_found(format!(
                "No combination configuration '{cc}' exists on this strength."
            ))
        })?;
    Ok(axum::Json(found).into_response())
}

/// `POST …/combinationConfigurations` → 201.
pub(crate) async fn create(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let b = cx.json_body()?;
    let aaguids = models(&b, true)?.unwrap_or_default();
    let id = strength(cx).await?.id;
    let s = cx
        .st
        .service
        .change_fido2_restriction(cx.actor, &id, Fido2Restriction::Add(aaguids))
        .await?;
    let created = configurations(&s).into_iter().next().unwrap_or(Value::Null);
    Ok((StatusCode::CREATED, axum::Json(created)).into_response())
}

/// The strength and the id of its configuration the path names (case as Graph ignores it),
/// or 404.
async fn configuration(cx: &Ctx<'_>) -> Result<(String, String), GraphError> {
    let s = strength(cx).await?;
    let cc = cx.params.sub.unwrap_or_default();
    let id = s
        .fido2_configuration_id
        .clone()
        .filter(|i| i.eq_ignore_ascii_case(cc))
        .ok_or_else(|| {
            not_found(format!(
                "No combination configuration '{cc}' exists on this strength."
            ))
        })?;
    Ok((s.id, id))
}

/// `PATCH …/combinationConfigurations/{ccId}` → 204.
pub(crate) async fn update(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let b = cx.json_body()?;
    let (strength, id) = configuration(cx).await?;
    let Some(aaguids) = models(&b, false)? else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    cx.st
        .service
        .change_fido2_restriction(
            cx.actor,
            &strength,
            Fido2Restriction::Replace { id, aaguids },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE …/combinationConfigurations/{ccId}` → 204.
pub(crate) async fn delete(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let (strength, id) = configuration(cx).await?;
    cx.st
        .service
        .change_fido2_restriction(cx.actor, &strength, Fido2Restriction::Remove { id })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
