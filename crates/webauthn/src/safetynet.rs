//! The `android-safetynet` attestation statement (WebAuthn Level 2, §8.5), which
//! `webauthn-rs-core` 0.6 refuses outright (see [`crate::statement`]). The statement is a
//! compact JWS from Google Play services: its signature is checked by `jsonwebtoken` (via
//! [`crate::jws`]), its certificates are parsed by `x509-parser`, and whether the chain
//! reaches a trusted root is asked later, like every other format's, by
//! [`crate::trust::verify_trust`].

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_cbor_2::Value as Cbor;
use std::time::{Duration, SystemTime};
use webauthn_rs_core::proto::{AttestationMetadata, SerialisableAttestationData};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use crate::error::CeremonyError;
use crate::statement::{Object, Verified};

/// The host Google's attestation certificates are issued to.
const ATTEST_HOST: &str = "attest.android.com";

/// How far a statement's `timestampMs` may lie after the verification time (clock skew).
const FUTURE_SKEW: Duration = Duration::from_secs(60);

fn invalid(message: impl Into<String>) -> CeremonyError {
    crate::statement::invalid(format!("android-safetynet: {}", message.into()))
}
fn issued_to_attest_host(leaf: &X509Certificate<'_>) -> bool {
    let in_san = leaf
        .subject_alternative_name()
        .ok()
        .flatten()
        .is_some_and(|san| {
            san.value.general_names.iter().any(
                |n| matches!(n, GeneralName::DNSName(h) if h.eq_ignore_ascii_case(ATTEST_HOST)),
            )
        });
    in_san
        || leaf.subject().iter_common_name().any(|cn| {
            cn.as_str()
                .is_ok_and(|s| s.eq_ignore_ascii_case(ATTEST_HOST))
        })
}

/// The SafetyNet attestation payload, as far as it is read here.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    nonce: Option<String>,
    cts_profile_match: Option<bool>,
    basic_integrity: Option<bool>,
    timestamp_ms: Option<u64>,
    apk_package_name: Option<String>,
    #[serde(default)]
    apk_certificate_digest_sha256: Vec<String>,
    evaluation_type: Option<String>,
}

/// Verifies the statement over `signed` (authenticatorData ‖ SHA-256(clientDataJSON)) at
/// time `at`: the JWS signature with its leaf key, the leaf issued to `attest.android.com`,
/// the nonce equal to base64(SHA-256(`signed`)), Google's `ctsProfileMatch`, and a
/// `timestampMs` no later than `at` plus a minute of clock skew. Freshness beyond that is
/// carried by the nonce, which binds the statement to this ceremony's single-use challenge.
pub(crate) fn verify(o: &Object, signed: &[u8], at: SystemTime) -> Result<Verified, CeremonyError> {
    match o.field("ver") {
        Some(Cbor::Text(v)) if !v.is_empty() => {}
        _ => return Err(invalid("attStmt.ver is missing or empty.")),
    }
    let Some(Cbor::Bytes(response)) = o.field("response") else {
        return Err(invalid("attStmt.response is missing."));
    };
    let response = std::str::from_utf8(response)
        .map_err(|_| invalid("attStmt.response is not UTF-8 text."))?;
    let jws = crate::jws::parse(response)
        .map_err(|e| invalid(format!("the response is not a JWS: {e}")))?;
    let (_, leaf) = X509Certificate::from_der(jws.leaf())
        .map_err(|e| invalid(format!("the attestation certificate does not parse: {e}")))?;
    let payload: Payload = serde_json::from_value(
        jws.verify_with(&leaf)
            .map_err(|e| invalid(format!("the JWS signature does not verify: {e}")))?,
    )
    .map_err(|e| invalid(format!("the statement is not a SafetyNet attestation: {e}")))?;
    if !issued_to_attest_host(&leaf) {
        return Err(invalid(format!(
            "the attestation certificate is issued to '{}', not {ATTEST_HOST}.",
            leaf.subject()
        )));
    }
    let expected = STANDARD.encode(ring::digest::digest(&ring::digest::SHA256, signed));
    if payload.nonce.as_deref() != Some(expected.as_str()) {
        return Err(invalid(
            "the nonce does not cover this authenticator data and client data.",
        ));
    }
    if payload.cts_profile_match != Some(true) {
        return Err(CeremonyError::new(
            "deviceIntegrity",
            "android-safetynet: Google did not certify this device's integrity (ctsProfileMatch is not true).",
        ));
    }
    let stamp = payload
        .timestamp_ms
        .and_then(|ms| SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(ms)))
        .ok_or_else(|| invalid("the statement has no timestampMs."))?;
    if stamp > at + FUTURE_SKEW {
        return Err(invalid(
            "the statement is dated after the verification time.",
        ));
    }
    Ok(Verified {
        data: SerialisableAttestationData::Basic(jws.x5c),
        metadata: AttestationMetadata::AndroidSafetyNet {
            apk_package_name: payload.apk_package_name.unwrap_or_default(),
            apk_certificate_digest_sha256: payload
                .apk_certificate_digest_sha256
                .iter()
                .filter_map(|s| STANDARD.decode(s).ok())
                .collect(),
            cts_profile_match: true,
            basic_integrity: payload.basic_integrity.unwrap_or(false),
            evaluation_type: payload.evaluation_type,
        },
    })
}
