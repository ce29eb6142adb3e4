//! Admin APIs of Portcullis's own, beside Graph: bearer tokens, the domain's authorization
//! table, and Graph's error shape.
//!
//! `POST /api/admin/readiness` (R50, R51): body `{"proposed": [<Graph JSON>...],
//! "deletePolicies": [ids], "users": [upn or id]}` (every field optional), answer the
//! readiness document (`delta` with a proposal).
//!
//! `GET /api/admin/inventory/passkeys?format=jsonl|csv&aaguid=&model=&usable=&attested=&synced=&unusedSince=&group=&state=`
//! (R52): every passkey the caller may view, streamed with chunked transfer a chunk of the
//! store at a time.

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_domain::authz::Capability;
use portcullis_domain::inventory::{Filter, RawFilter};
use portcullis_service::inventory::Scan;
use portcullis_service::readiness::Proposal;
use portcullis_service::render::inventory as render;
use serde_json::Value;

use crate::graph::{authenticate, finish, gerr, GraphError};
use crate::AppState;

/// The routes of Portcullis's own admin APIs and what each requires (the domain's one table):
/// beside Graph's `graph::ROUTES`, walked by the same test.
pub const ROUTES: &[(&str, &str, Capability)] = &[
    ("POST", "/api/admin/readiness", Capability::RunReadiness),
    (
        "GET",
        "/api/admin/inventory/passkeys",
        Capability::ReadFido2,
    ),
];

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

/// `GET /api/admin/inventory/passkeys`.
pub(crate) async fn inventory(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let result = async {
        let (actor, _) = authenticate(&st, &headers, Capability::ReadFido2).await?;
        let mut raw = RawFilter::default();
        let mut csv = false;
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let v = v.into_owned();
            match k.as_ref() {
                "format" => {
                    csv = match v.as_str() {
                        "jsonl" => false,
                        "csv" => true,
                        other => {
                            return Err(bad(format!("format: '{other}' is not jsonl or csv.")))
                        }
                    }
                }
                other => {
                    if !raw.set(other, v) {
                        return Err(bad(format!(
                            "Unknown parameter '{other}': use format, {}.",
                            RawFilter::NAMES.join(", ")
                        )));
                    }
                }
            }
        }
        let filter = Filter::parse(&raw).map_err(|e| bad(format!("{e}.")))?;
        let scan = st.service.inventory(&actor, filter, None).await?;
        Ok(inventory_response(scan, csv))
    }
    .await;
    finish(&st, &headers, result)
}

/// The inventory as a download: CSV or JSON Lines, streamed (see [`inventory_body`]).
pub(crate) fn inventory_response(scan: Scan, csv: bool) -> Response {
    let (kind, name) = if csv {
        ("text/csv; charset=utf-8", "passkeys.csv")
    } else {
        ("application/x-ndjson", "passkeys.jsonl")
    };
    (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        inventory_body(scan, csv),
    )
        .into_response()
}

/// The inventory as a streamed body: a chunk of the store per piece, CSV (with its header)
/// or JSON Lines. A failure after the status is sent ends the body short, and is logged.
fn inventory_body(scan: Scan, csv: bool) -> Body {
    let head = csv.then(|| render::csv_header(scan.has_proposal()));
    let body = futures_util::stream::try_unfold((scan, head), move |(mut scan, head)| async move {
        let proposal = scan.has_proposal();
        let mut out = head.unwrap_or_default();
        loop {
            match scan.next_rows().await {
                Ok(Some((rows, _))) => {
                    for r in &rows {
                        if csv {
                            render::push_csv_line(&mut out, r, proposal);
                        } else {
                            out.push_str(&render::jsonl_line(r));
                        }
                    }
                    if !out.is_empty() {
                        return Ok(Some((Bytes::from(out), (scan, None))));
                    }
                }
                Ok(None) if out.is_empty() => return Ok(None),
                Ok(None) => return Ok(Some((Bytes::from(out), (scan, None)))),
                Err(e) => {
                    tracing::error!(error = %e, "the passkey inventory stream stopped");
                    return Err(std::io::Error::other(e.to_string()));
                }
            }
        }
    });
    Body::from_stream(body)
}
