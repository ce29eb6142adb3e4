//! The version of a stored object, as a form carries it to refuse lost updates: a digest of
//! the object's JSON. A save that names the version it was prepared on is refused
//! ([`crate::ServiceError::Stale`]) when the stored object is another, checked inside the
//! save's transaction after the object is locked, so two concurrent saves cannot both pass.

use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The version of `v`.
pub fn of(v: &impl Serialize) -> String {
    let bytes = serde_json::to_vec(v).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.get(..16).unwrap_or_default())
}

/// Refuses when a save prepared on `opened_on` would replace `current`, another version.
pub(crate) fn check(opened_on: Option<&str>, current: &impl Serialize) -> crate::Result<()> {
    match opened_on {
        Some(v) if v != of(current) => Err(crate::ServiceError::Stale),
        _ => Ok(()),
    }
}
