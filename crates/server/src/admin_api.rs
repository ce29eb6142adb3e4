//! Admin APIs of Portcullis's own, beside Graph: bearer tokens, the domain's authorization
//! table, and Graph's error shape.
//!
//! `POST /api/admin/readiness` (R50, R51): body `{"proposed": [<Graph JSON>...],
//! "deletePolicies": [ids], "users": [upn or id]}` (every field optional), answer the
//! readiness document (`delta` with a proposal).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_domain::authz::Capability;
use portcullis_service::readiness::Proposal;
use serde_json::Value;

use crate::graph::{authenticate, finish, gerr, GraphError};
use crate::AppState;

/// The routes of Portcullis's own admin APIs and what each requires (the domain's one table):
/// beside Graph's `graph::ROUTES`, walked by the same test.
pub const ROUTES: &[(&str, &str, Capability)] =
    &[("POST", "/api/admin/readiness", Capability::RunReadiness)];

fn bad(message: impl Into<String>) -> GraphError {
    gerr(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
}

/// The strings of an optional array field.
fn strings(v: Option<&Value>, field: &str) -> Result<Vec<String>, GraphError> {
    match v {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(String::from)
                    .ok_or_else(|| bad(format!("'{field}' must be an array of strings.")))
            })
            .collect(),
        Some(_) => Err(bad(format!("'{field}' must be an array of strings."))),
    }
}

/// `POST /api/admin/readiness`.
pub(crate) async fn readiness(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        authenticate(&st, &headers, Capability::RunReadiness).await?;
        let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(&body).map_err(|e| bad(format!("The body is not JSON: {e}")))?
        };
        let Value::Object(b) = body else {
            return Err(bad("The body must be a JSON object."));
        };
        if let Some(k) = b
            .keys()
            .find(|k| !matches!(k.as_str(), "proposed" | "deletePolicies" | "users"))
        {
            return Err(bad(format!(
                "Unknown property '{k}': use proposed, deletePolicies, users."
            )));
        }
        let mut proposal = Proposal::default();
        match b.get("proposed") {
            None | Some(Value::Null) => {}
            Some(Value::Array(docs)) => {
                for doc in docs {
                    proposal.add(doc.clone())?;
                }
            }
            Some(_) => return Err(bad("'proposed' must be an array of Graph JSON documents.")),
        }
        for id in strings(b.get("deletePolicies"), "deletePolicies")? {
            proposal.delete_policy(&id);
        }
        let users = strings(b.get("users"), "users")?;
        let r = st.service.readiness(&users, Some(&proposal)).await?;
        Ok(axum::Json(portcullis_service::render::readiness::json(&r)).into_response())
    }
    .await;
    finish(&st, &headers, result)
}
