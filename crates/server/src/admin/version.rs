//! Lost updates refused: a settings form carries the version of what it was opened on
//! (`portcullis_service::version`), and a save passes it on, so that the service refuses it
//! inside the save's transaction when the stored object has changed since. The handlers also
//! check it up front, to answer before running a dry run for nothing. A post without a
//! version (no page sends one) is not checked: this guards against lost updates; who may
//! post at all is the job of `AdminPost` and the capability checks.

use axum::http::StatusCode;
use portcullis_service::ServiceError;
use serde::Serialize;

use super::form::Fields;

/// The form field that carries it.
pub(crate) const FIELD: &str = "version";

/// The version of a stored object.
pub(crate) fn of(v: &impl Serialize) -> String {
    portcullis_service::version::of(v)
}

/// The version the form was opened on, if it says.
pub(crate) fn opened_on(f: &Fields) -> Option<&str> {
    Some(f.get(FIELD)).filter(|v| !v.is_empty())
}

/// Whether the form was opened on another version than `current`.
pub(crate) fn stale(f: &Fields, current: &str) -> bool {
    opened_on(f).is_some_and(|v| v != current)
}

/// What the page says, and its status, when a save is refused as stale.
pub(crate) fn refusal() -> (StatusCode, String) {
    (StatusCode::CONFLICT, ServiceError::Stale.to_string())
}
