//! Reading Graph request bodies and writing collections, shared by the resources whose
//! bodies are checked field by field: unknown properties and wrong types are a 400 that says
//! which property, never a silent drop.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::{gerr, Ctx, GraphError};

/// A 400 with Graph's `Request_BadRequest` code.
pub(crate) fn bad(message: impl Into<String>) -> GraphError {
    gerr(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
}

/// Refuses a body naming a property outside `known`.
pub(crate) fn only_known(
    b: &Map<String, Value>,
    known: &[&str],
    kind: &str,
) -> Result<(), GraphError> {
    match b.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(bad(format!("Property '{k}' does not exist on type 'microsoft.graph.{kind}' (or Portcullis does not keep it)."))),
        None => Ok(()),
    }
}

/// The first property of `sent` (a request body) that `kept` (the same body read into its
/// type and written back) does not have, as a JSON pointer: a property the type does not
/// know, which serde would drop without a word. Annotations (`@odata.…`, `x@odata.…`), values
/// with nothing in them, and the read-only properties in `read_only` are not counted.
pub(crate) fn dropped(sent: &Value, kept: &Value, read_only: &[&str]) -> Option<String> {
    /// Nothing in it: null, or an array or object holding only such.
    fn empty(v: &Value) -> bool {
        match v {
            Value::Null => true,
            Value::Array(a) => a.iter().all(empty),
            Value::Object(o) => o.values().all(empty),
            _ => false,
        }
    }
    fn walk(sent: &Value, kept: &Value, read_only: &[&str], at: &str) -> Option<String> {
        match (sent, kept) {
            (Value::Object(s), Value::Object(k)) => s.iter().find_map(|(key, v)| {
                // Annotations (`@odata.type`, `authenticationStrength@odata.context`) are
                // not properties.
                if key.contains('@') || (at.is_empty() && read_only.contains(&key.as_str())) {
                    return None;
                }
                let here = format!("{at}/{key}");
                match k.get(key) {
                    Some(kv) => walk(v, kv, read_only, &here),
                    None if empty(v) => None,
                    None => Some(here),
                }
            }),
            (Value::Array(s), Value::Array(k)) if s.len() == k.len() => s
                .iter()
                .zip(k)
                .enumerate()
                .find_map(|(i, (sv, kv))| walk(sv, kv, read_only, &format!("{at}/{i}"))),
            _ => None,
        }
    }
    walk(sent, kept, read_only, "")
}

/// An optional string property (`null` counts as absent).
pub(crate) fn string(b: &Map<String, Value>, key: &str) -> Result<Option<String>, GraphError> {
    match b.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(format!("'{key}' must be a string."))),
    }
}

/// An optional boolean property (`null` counts as absent).
pub(crate) fn flag(b: &Map<String, Value>, key: &str) -> Result<Option<bool>, GraphError> {
    match b.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(v)) => Ok(Some(*v)),
        Some(_) => Err(bad(format!("'{key}' must be a boolean."))),
    }
}

/// An optional RFC 3339 date-time property (`null` counts as absent); `field` names it in
/// the refusal.
pub(crate) fn date_time(
    b: &Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<Option<portcullis_domain::Timestamp>, GraphError> {
    match b.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_str()
            .and_then(|s| portcullis_domain::time_fmt::parse_rfc3339(s).ok())
            .map(Some)
            .ok_or_else(|| bad(format!("{field} must be an RFC 3339 date and time."))),
    }
}

/// A collection answer: `{"@odata.context": …#entity, "value": […]}`.
pub(crate) fn list_body(cx: &Ctx<'_>, entity: &str, value: Vec<Value>) -> Response {
    axum::Json(json!({"@odata.context": format!("{}/$metadata#{entity}", cx.base), "value": value}))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::dropped;
    use serde_json::json;

    #[test]
    fn dropped_names_unknown_properties_and_lets_annotations_and_empties_through() {
        let kept = json!({"displayName": "x", "conditions": {"users": {"includeUsers": ["All"]}}, "grantControls": {"authenticationStrength": {"id": "s"}}});
        let same = json!({"displayName": "x", "conditions": {"users": {"includeUsers": ["All"]}}});
        assert_eq!(dropped(&same, &kept, &[]), None);
        let unknown = json!({"displayName": "x", "zzzUnknown": 1});
        assert_eq!(
            dropped(&unknown, &kept, &[]).as_deref(),
            Some("/zzzUnknown")
        );
        let nested = json!({"conditions": {"users": {"includeUsers": ["All"], "typo": ["x"]}}});
        assert_eq!(
            dropped(&nested, &kept, &[]).as_deref(),
            Some("/conditions/users/typo")
        );
        // An export from Entra carries property annotations and empty sub-objects.
        let exported = json!({"@odata.type": "#microsoft.graph.conditionalAccessPolicy",
            "grantControls": {"authenticationStrength@odata.context": "https://graph.microsoft.com/…", "authenticationStrength": {"id": "s"}},
            "conditions": {"clientApplications": {"includeServicePrincipals": [], "excludeServicePrincipals": []}, "users": {"includeUsers": ["All"]}},
            "id": "ignored"});
        assert_eq!(dropped(&exported, &kept, &["id"]), None);
    }
}
