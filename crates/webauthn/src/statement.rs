//! Attestation statements Portcullis verifies itself because `webauthn-rs-core` 0.6 refuses
//! them outright: `android-safetynet`, and `tpm` signed with RS1 (SHA-1), which is what
//! real Windows Hello TPMs emit. For those, the library still checks everything that is not
//! the statement — client data, challenge, origin, RP ID hash, flags, the credential key —
//! on the attestation object re-encoded as `none` (authenticatorData untouched, so nothing
//! it signs changes); the statement is then checked here with `jsonwebtoken`, `ring`,
//! `x509-parser` and `tpm2-protocol`. Every other statement is the library's alone.

use serde_cbor_2::Value as Cbor;
use std::collections::BTreeMap;
use std::time::SystemTime;
use webauthn_rs_core::proto::{AttestationFormat, AttestationMetadata, Credential};

use crate::error::CeremonyError;

/// COSE `alg` of RSASSA-PKCS1-v1_5 with SHA-1.
pub(crate) const RS1: i128 = -65535;

/// The decoded top level of an attestation object.
#[derive(Debug, Clone)]
pub(crate) struct Object {
    /// `authData`, the bytes every statement signs over.
    pub auth_data: Vec<u8>,
    /// `attStmt`.
    pub stmt: BTreeMap<Cbor, Cbor>,
}

impl Object {
    /// A member of `attStmt`.
    pub fn field(&self, name: &str) -> Option<&Cbor> {
        self.stmt
            .iter()
            .find(|(k, _)| matches!(k, Cbor::Text(t) if t == name))
            .map(|(_, v)| v)
    }
}

/// A statement to verify here, with the object the library is to check instead.
#[derive(Debug, Clone)]
pub(crate) struct Detached {
    /// The same attestation object with `fmt: none` and an empty `attStmt`.
    pub as_none: Vec<u8>,
    format: Format,
    object: Object,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    SafetyNet,
    TpmRs1,
}

/// What a statement verified here establishes.
#[derive(Debug, Clone)]
pub(crate) struct Verified {
    /// The library's attestation type and chain (DER, leaf first).
    pub data: webauthn_rs_core::proto::SerialisableAttestationData,
    /// Format-specific facts kept with the credential.
    pub metadata: AttestationMetadata,
    /// The statement's format.
    pub format: AttestationFormat,
}

/// A refusal of the statement itself.
pub(crate) fn invalid(message: impl Into<String>) -> CeremonyError {
    CeremonyError::new("attestationInvalid", message)
}

fn text_is(v: Option<&Cbor>, s: &str) -> bool {
    matches!(v, Some(Cbor::Text(t)) if t == s)
}

/// Separates a statement this crate verifies itself; `None` leaves everything to the library
/// (including objects it will refuse as malformed).
pub(crate) fn detach(attestation_object: &[u8]) -> Result<Option<Detached>, CeremonyError> {
    let Ok(Cbor::Map(map)) = serde_cbor_2::from_slice::<Cbor>(attestation_object) else {
        return Ok(None);
    };
    let get = |name: &str| {
        map.iter()
            .find(|(k, _)| matches!(k, Cbor::Text(t) if t == name))
            .map(|(_, v)| v)
    };
    let fmt = get("fmt");
    let format = if text_is(fmt, "android-safetynet") {
        Format::SafetyNet
    } else if text_is(fmt, "tpm") {
        let alg = match get("attStmt") {
            Some(Cbor::Map(s)) => s.iter().find_map(|(k, v)| match (k, v) {
                (Cbor::Text(k), Cbor::Integer(a)) if k == "alg" => Some(*a),
                _ => None,
            }),
            _ => None,
        };
        if alg != Some(RS1) {
            return Ok(None);
        }
        Format::TpmRs1
    } else {
        return Ok(None);
    };
    let Some(Cbor::Bytes(auth_data)) = get("authData").cloned() else {
        return Err(CeremonyError::new(
            "malformedCbor",
            "The attestation object has no authData.",
        ));
    };
    let Some(Cbor::Map(stmt)) = get("attStmt").cloned() else {
        return Err(invalid("attStmt is not a map."));
    };
    let mut none = map.clone();
    none.insert(Cbor::Text("fmt".into()), Cbor::Text("none".into()));
    none.insert(Cbor::Text("attStmt".into()), Cbor::Map(BTreeMap::new()));
    let as_none = serde_cbor_2::to_vec(&Cbor::Map(none))
        .map_err(|e| invalid(format!("re-encoding the attestation object failed: {e}")))?;
    Ok(Some(Detached {
        as_none,
        format,
        object: Object { auth_data, stmt },
    }))
}

impl Detached {
    /// The statement's `x5c` (unit tests of the format checks).
    #[cfg(test)]
    pub(crate) fn x5c_for_tests(&self) -> Vec<Vec<u8>> {
        match self.object.field("x5c") {
            Some(Cbor::Array(a)) => a
                .iter()
                .filter_map(|c| match c {
                    Cbor::Bytes(b) => Some(b.clone()),
                    _ => None,
                })
                .collect(),
            _ => vec![],
        }
    }

    /// Verifies the statement for `credential` (already checked by the library) against the
    /// client data it was made for, at time `at`.
    pub(crate) fn verify(
        &self,
        credential: &Credential,
        client_data_json: &[u8],
        at: SystemTime,
    ) -> Result<Verified, CeremonyError> {
        match self.format {
            Format::SafetyNet => crate::safetynet::verify(&self.object, client_data_json, at),
            Format::TpmRs1 => crate::tpm::verify(&self.object, credential, client_data_json),
        }
    }
}
