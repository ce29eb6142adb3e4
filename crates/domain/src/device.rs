//! Devices (SPEC §1): enrolled by an MDM-style administrator, marked compliant or not, and
//! holding a device key with which the client proves possession at sign-in — so "compliant
//! device" is something the client cannot simply claim.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;

/// How old a possession proof may be.
pub const PROOF_MAX_AGE_SECONDS: i64 = 300;

/// An enrolled device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Id.
    pub id: Uuid,
    /// The user it is registered to.
    pub owner: Uuid,
    /// Name.
    pub display_name: String,
    /// Platform (`android`, `iOS`, `windows`, `macOS`, `linux`).
    pub platform: String,
    /// Marked compliant by the MDM.
    pub is_compliant: bool,
    /// The device key: a P-256 public key, SPKI DER, base64.
    pub public_key: String,
    /// Enrolled at.
    pub created_at: Timestamp,
}

/// A parsed `X-Portcullis-Device-Proof` header: `{device id}.{unix seconds}.{signature}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The device.
    pub device_id: Uuid,
    /// When the client signed.
    pub at: i64,
    /// ECDSA P-256 signature (DER, base64url) over [`proof_message`].
    pub signature: String,
}

/// Parses the header; `None` when malformed.
pub fn parse_proof(header: &str) -> Option<Proof> {
    let mut it = header.trim().splitn(3, '.');
    let device_id = Uuid::parse_str(it.next()?).ok()?;
    let at = it.next()?.parse().ok()?;
    let signature = it.next()?.to_string();
    (!signature.is_empty() && signature.len() <= 200).then_some(Proof {
        device_id,
        at,
        signature,
    })
}

/// What the device signs: binds the proof to this authorization request (its PKCE challenge
/// or state) and this client, at a time.
pub fn proof_message(device_id: Uuid, client_id: &str, request_binding: &str, at: i64) -> String {
    format!("portcullis-device-proof|{device_id}|{client_id}|{request_binding}|{at}")
}

/// Whether the device counts as compliant for this user now: it is theirs, marked compliant,
/// the proof is fresh, and (checked by the caller) its signature verifies.
pub fn counts_as_compliant(
    d: &Device,
    user: Uuid,
    proof: &Proof,
    now: Timestamp,
    signature_ok: bool,
) -> bool {
    d.owner == user
        && d.is_compliant
        && signature_ok
        && (now.unix_timestamp() - proof.at).abs() <= PROOF_MAX_AGE_SECONDS
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn proofs_parse_and_must_be_fresh_owned_and_compliant() {
        let id = Uuid::from_u128(5);
        let p = parse_proof(&format!("{id}.1780000000.c2ln")).unwrap();
        assert_eq!((p.device_id, p.at), (id, 1_780_000_000));
        assert!(
            parse_proof("x.1.y").is_none()
                && parse_proof(&format!("{id}.soon.sig")).is_none()
                && parse_proof(&format!("{id}.1.")).is_none()
        );
        let now = time::OffsetDateTime::from_unix_timestamp(1_780_000_100).unwrap();
        let d = Device {
            id,
            owner: Uuid::from_u128(1),
            display_name: "Pixel".into(),
            platform: "android".into(),
            is_compliant: true,
            public_key: String::new(),
            created_at: datetime!(2026-01-01 0:00 UTC),
        };
        assert!(counts_as_compliant(&d, Uuid::from_u128(1), &p, now, true));
        assert!(
            !counts_as_compliant(&d, Uuid::from_u128(2), &p, now, true),
            "someone else's device"
        );
        assert!(
            !counts_as_compliant(&d, Uuid::from_u128(1), &p, now, false),
            "bad signature"
        );
        assert!(!counts_as_compliant(
            &Device {
                is_compliant: false,
                ..d.clone()
            },
            Uuid::from_u128(1),
            &p,
            now,
            true
        ));
        let later = time::OffsetDateTime::from_unix_timestamp(1_780_000_000 + 301).unwrap();
        assert!(
            !counts_as_compliant(&d, Uuid::from_u128(1), &p, later, true),
            "stale proof"
        );
    }
}
