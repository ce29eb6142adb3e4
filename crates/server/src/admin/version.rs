//! Optimistic concurrency for the admin center's forms: a form carries the version of what
//! it was opened on — a digest of the stored object's JSON — and a save whose version is
//! not the stored object's now is refused and saves nothing, so that one administrator
//! never silently overwrites another's change. (A post without a version, which no page
//! sends, is not checked: this guards against lost updates, it is not an access control.)

use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::form::Fields;

/// The form field that carries it.
pub(crate) const FIELD: &str = "version";

/// The version of a stored object.
pub(crate) fn of(v: &impl Serialize) -> String {
    let bytes = serde_json::to_vec(v).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.get(..16).unwrap_or_default())
}

/// Whether the form was opened on another version than `current`.
pub(crate) fn stale(f: &Fields, current: &str) -> bool {
    let posted = f.get(FIELD);
    !posted.is_empty() && posted != current
}

/// What the page says when a save is refused as stale.
pub(crate) const STALE: &str = "Someone changed these settings after you opened this page (the audit log says who and what). Nothing was saved: open the page again to see their change, then make yours.";
