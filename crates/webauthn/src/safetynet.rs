//! The `android-safetynet` attestation statement (WebAuthn Level 2, §8.5), which
//! `webauthn-rs-core` 0.6 refuses outright. Everything that is not the statement —
//! client data, challenge, origin, RP ID hash, flags, the credential key — is still
//! checked by the library: the attestation object is handed to it re-encoded as `none`
//! (authenticatorData untouched, so nothing it signs changes). The statement itself is a
//! compact JWS from Google Play services: its signature is checked by `jsonwebtoken`
//! (via [`crate::jws`]), its certificates are parsed by `x509-parser`, and whether the
//! chain reaches a trusted root is asked later, like every other format's, by
//! [`crate::trust::verify_trust`].

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_cbor_2::Value as Cbor;
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime};
use webauthn_rs_core::proto::AttestationMetadata;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use crate::error::CeremonyError;

/// The host Google's attestation certificates are issued to.
const ATTEST_HOST: &str = "attest.android.com";

/// How far a statement's `timestampMs` may lie after the verification time (clock skew).
const FUTURE_SKEW: Duration = Duration::from_secs(60);

/// An `android-safetynet` statement taken out of an attestation object.
#[derive(Debug, Clone)]
pub(crate) struct Detached {
    /// The same attestation object with `fmt: none` and an empty `attStmt`.
    pub as_none: Vec<u8>,
    /// The authenticatorData the statement's nonce covers.
    auth_data: Vec<u8>,
    /// `attStmt.response`: the JWS, UTF-8.
    response: String,
}

/// What a verified statement establishes.
#[derive(Debug, Clone)]
pub(crate) struct Verified {
    /// The JWS's certificate chain (DER), leaf first: basic attestation.
    pub x5c: Vec<Vec<u8>>,
    /// Google's verdict on the device, kept with the credential.
    pub metadata: AttestationMetadata,
}

fn invalid(message: impl Into<String>) -> CeremonyError {
    CeremonyError::new("attestationInvalid", message)
}

fn text(k: &Cbor, name: &str) -> bool {
    matches!(k, Cbor::Text(t) if t == name)
}

/// When `attestation_object` carries an `android-safetynet` statement, separates it.
/// Other formats (and objects the library will refuse anyway) give `None`.
pub(crate) fn detach(attestation_object: &[u8]) -> Result<Option<Detached>, CeremonyError> {
    let Ok(Cbor::Map(mut m)) = serde_cbor_2::from_slice::<Cbor>(attestation_object) else {
        return Ok(None);
    };
    let is_safetynet = m
        .iter()
        .any(|(k, v)| text(k, "fmt") && matches!(v, Cbor::Text(f) if f == "android-safetynet"));
    if !is_safetynet {
        return Ok(None);
    }
    let field = |m: &std::collections::BTreeMap<Cbor, Cbor>, name: &str| {
        m.iter()
            .find(|(k, _)| text(k, name))
            .map(|(_, v)| v.clone())
    };
    let Some(Cbor::Bytes(auth_data)) = field(&m, "authData") else {
        return Err(CeremonyError::new(
            "malformedCbor",
            "The attestation object has no authData.",
        ));
    };
    let Some(Cbor::Map(stmt)) = field(&m, "attStmt") else {
        return Err(invalid("android-safetynet: attStmt is not a map."));
    };
    match field(&stmt, "ver") {
        Some(Cbor::Text(v)) if !v.is_empty() => {}
        _ => {
            return Err(invalid(
                "android-safetynet: attStmt.ver is missing or empty.",
            ))
        }
    }
    let Some(Cbor::Bytes(response)) = field(&stmt, "response") else {
        return Err(invalid("android-safetynet: attStmt.response is missing."));
    };
    let response = String::from_utf8(response)
        .map_err(|_| invalid("android-safetynet: attStmt.response is not UTF-8 text."))?;
    m.insert(Cbor::Text("fmt".into()), Cbor::Text("none".into()));
    m.insert(Cbor::Text("attStmt".into()), Cbor::Map(Default::default()));
    let as_none = serde_cbor_2::to_vec(&Cbor::Map(m))
        .map_err(|e| invalid(format!("android-safetynet: re-encoding failed: {e}")))?;
    Ok(Some(Detached {
        as_none,
        auth_data,
        response,
    }))
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

/// Verifies the statement against the client data it was made for, at time `at`:
/// the JWS signature with its leaf key, the leaf issued to `attest.android.com`, the nonce
/// equal to base64(SHA-256(authenticatorData ‖ SHA-256(clientDataJSON))), Google's
/// `ctsProfileMatch`, and a `timestampMs` not after `at`. Freshness beyond that is carried
/// by the nonce, which binds the statement to this ceremony's single-use challenge.
pub(crate) fn verify(
    d: &Detached,
    client_data_json: &[u8],
    at: SystemTime,
) -> Result<Verified, CeremonyError> {
    let jws = crate::jws::parse(&d.response)
        .map_err(|e| invalid(format!("android-safetynet: the response is not a JWS: {e}")))?;
    let leaf_der = jws
        .x5c
        .first()
        .ok_or_else(|| invalid("android-safetynet: the JWS carries no certificate."))?;
    let (_, leaf) = X509Certificate::from_der(leaf_der).map_err(|e| {
        invalid(format!(
            "android-safetynet: the attestation certificate does not parse: {e}"
        ))
    })?;
    let payload = jws.verify_with(&leaf).map_err(|e| {
        invalid(format!(
            "android-safetynet: the JWS signature does not verify: {e}"
        ))
    })?;
    if !issued_to_attest_host(&leaf) {
        return Err(invalid(format!(
            "android-safetynet: the attestation certificate is issued to '{}', not {ATTEST_HOST}.",
            leaf.subject()
        )));
    }
    let mut signed = d.auth_data.clone();
    signed.extend_from_slice(&Sha256::digest(client_data_json));
    let expected = STANDARD.encode(Sha256::digest(&signed));
    if payload["nonce"].as_str() != Some(expected.as_str()) {
        return Err(invalid(
            "android-safetynet: the nonce does not cover this authenticator data and client data.",
        ));
    }
    if payload["ctsProfileMatch"].as_bool() != Some(true) {
        return Err(CeremonyError::new(
            "deviceIntegrity",
            "android-safetynet: Google did not certify this device's integrity (ctsProfileMatch is not true).",
        ));
    }
    let stamp = payload["timestampMs"]
        .as_u64()
        .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms))
        .ok_or_else(|| invalid("android-safetynet: the statement has no timestampMs."))?;
    if stamp > at + FUTURE_SKEW {
        return Err(invalid(
            "android-safetynet: the statement is dated after the verification time.",
        ));
    }
    let strings = |k: &str| -> Vec<Vec<u8>> {
        payload[k]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().and_then(|s| STANDARD.decode(s).ok()))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(Verified {
        x5c: jws.x5c.clone(),
        metadata: AttestationMetadata::AndroidSafetyNet {
            apk_package_name: payload["apkPackageName"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            apk_certificate_digest_sha256: strings("apkCertificateDigestSha256"),
            cts_profile_match: true,
            basic_integrity: payload["basicIntegrity"].as_bool().unwrap_or(false),
            evaluation_type: payload["evaluationType"].as_str().map(str::to_string),
        },
    })
}
