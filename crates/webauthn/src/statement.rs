//! The attestation object as Portcullis reads it before the library does: the AAGUID, and
//! the statements Portcullis verifies itself because `webauthn-rs-core` 0.6 refuses them
//! outright — `android-safetynet`, and `tpm` signed with RS1 (SHA-1), which is what real
//! Windows Hello TPMs emit. For those, the library still checks everything that is not the
//! statement — client data, challenge, origin, RP ID hash, flags, the credential key — on
//! the attestation object re-encoded as `none` (authenticatorData untouched, so nothing it
//! signs changes); the statement is then checked by [`crate::safetynet`] or [`crate::tpm`].
//! Every other statement is the library's alone.

use serde_cbor_2::Value as Cbor;
use std::collections::BTreeMap;
use std::time::SystemTime;
use uuid::Uuid;
use webauthn_rs_core::internals::AuthenticatorData;
use webauthn_rs_core::proto::{
    AttestationFormat, AttestationMetadata, COSEAlgorithm, Credential, Registration,
    SerialisableAttestationData,
};

use crate::error::{classify, CeremonyError};

/// What is read from an attestation object before the library checks it.
#[derive(Debug, Clone)]
pub(crate) struct Read {
    /// The AAGUID from authenticatorData, read even without attestation, as Entra does (it
    /// is then self-reported by the authenticator).
    pub aaguid: Uuid,
    /// A statement verified here, if the object carries one.
    pub own: Option<Detached>,
}

/// The parts of an attestation object a statement is verified against.
#[derive(Debug, Clone)]
pub(crate) struct Object {
    /// `authData`, the bytes every statement signs over.
    pub auth_data: Vec<u8>,
    /// `attStmt`.
    stmt: BTreeMap<Cbor, Cbor>,
}

impl Object {
    /// A member of `attStmt`.
    pub fn field(&self, name: &str) -> Option<&Cbor> {
        self.stmt.get(&text(name))
    }
}

/// A statement to verify here, with the object the library is to check instead.
#[derive(Debug, Clone)]
pub(crate) struct Detached {
    /// The same attestation object with `fmt: none` and an empty `attStmt` (and, for an
    /// Ed25519 credential, the stand-in key in place of the credential key).
    pub as_none: Vec<u8>,
    kind: Kind,
    object: Object,
}

/// Why a statement is verified here.
#[derive(Debug, Clone)]
enum Kind {
    /// A format the library refuses outright (android-safetynet, RS1 tpm).
    Statement(AttestationFormat),
    /// Any statement of an Ed25519 credential, whose key the library does not use.
    Ed25519 {
        key: crate::okp::Ed25519Key,
        fmt: String,
    },
}

/// A certificate as the library's own checks take it.
pub(crate) fn library_certificate(
    der: &[u8],
) -> Result<crypto_glue::x509::Certificate, CeremonyError> {
    use crypto_glue::traits::DecodeDer;
    crypto_glue::x509::Certificate::from_der(der).map_err(|e| {
        invalid(format!(
            "A certificate of the statement does not parse: {e}"
        ))
    })
}

/// What a statement verified here establishes.
#[derive(Debug, Clone)]
pub(crate) struct Verified {
    /// The library's attestation type and chain (DER, leaf first).
    pub data: SerialisableAttestationData,
    /// Format-specific facts kept with the credential.
    pub metadata: AttestationMetadata,
}

/// A refusal of the statement itself.
pub(crate) fn invalid(message: impl Into<String>) -> CeremonyError {
    CeremonyError::new("attestationInvalid", message)
}

fn text(s: &str) -> Cbor {
    Cbor::Text(s.into())
}

fn malformed(message: impl Into<String>) -> CeremonyError {
    CeremonyError::new("malformedCbor", message)
}

/// The authenticator data holds exactly what its flags announce: the fixed 37 bytes, the
/// attested credential data when AT is set (its public key one CBOR value), the extensions
/// when ED is set (one CBOR map) — and nothing after them.
fn exact_length(auth_data: &[u8]) -> Result<(), CeremonyError> {
    const AT: u8 = 0x40;
    const ED: u8 = 0x80;
    let bad = |m: String| CeremonyError::new("malformedAuthenticatorData", m);
    let short = || bad("The authenticator data is shorter than its flags announce.".into());
    let flags = *auth_data.get(32).ok_or_else(short)?;
    let mut rest = auth_data.get(37..).ok_or_else(short)?;
    let one_value = |rest: &mut &[u8], what: &str| -> Result<(), CeremonyError> {
        let mut de = serde_cbor_2::Deserializer::from_slice(rest);
        serde::Deserialize::deserialize(&mut de)
            .map(|_: Cbor| ())
            .map_err(|e| {
                bad(format!(
                    "The authenticator data's {what} is not valid CBOR: {e}"
                ))
            })?;
        *rest = rest.get(de.byte_offset()..).ok_or_else(short)?;
        Ok(())
    };
    if flags & AT != 0 {
        let (Some(len), Some(after)) = (
            rest.get(16..18).and_then(|l| <[u8; 2]>::try_from(l).ok()),
            rest.get(18..),
        ) else {
            return Err(short());
        };
        let len = usize::from(u16::from_be_bytes(len));
        rest = after.get(len..).ok_or_else(short)?;
        one_value(&mut rest, "credential public key")?;
    }
    if flags & ED != 0 {
        one_value(&mut rest, "extensions")?;
    }
    if !rest.is_empty() {
        return Err(bad(format!(
            "The authenticator data has {} byte(s) after what its flags announce.",
            rest.len()
        )));
    }
    Ok(())
}

/// Decodes the attestation object once: its AAGUID, and the statement to verify here, if any.
pub(crate) fn read(attestation_object: &[u8]) -> Result<Read, CeremonyError> {
    let map = match serde_cbor_2::from_slice::<Cbor>(attestation_object) {
        Ok(Cbor::Map(m)) => m,
        Ok(_) => return Err(malformed("The attestation object is not a CBOR map.")),
        Err(e) => {
            return Err(malformed(format!(
                "The attestation object is not valid CBOR: {e}"
            )))
        }
    };
    let Some(Cbor::Bytes(auth_data)) = map.get(&text("authData")) else {
        return Err(malformed("The attestation object has no authData."));
    };
    if !matches!(map.get(&text("attStmt")), Some(Cbor::Map(_))) {
        return Err(malformed(
            "The attestation object's attStmt is missing or not a CBOR map.",
        ));
    }
    exact_length(auth_data)?;
    let acd = AuthenticatorData::<Registration>::try_from(auth_data.as_slice())
        .map_err(|e| classify(&e))?
        .acd
        .ok_or_else(|| {
            CeremonyError::new(
                "missingCredentialData",
                "The authenticator data carries no attested credential data.",
            )
        })?;
    let aaguid = Uuid::from_bytes(acd.aaguid);
    if let Some(key) = crate::okp::ed25519_key(&acd.credential_pk)? {
        let fmt = match map.get(&text("fmt")) {
            Some(Cbor::Text(f)) => f.clone(),
            _ => return Err(malformed("The attestation object has no format (fmt).")),
        };
        let stmt = match map.get(&text("attStmt")) {
            Some(Cbor::Map(s)) => s.clone(),
            _ => BTreeMap::new(),
        };
        let object = Object {
            auth_data: auth_data.clone(),
            stmt,
        };
        let mut none = map.clone();
        none.insert(text("fmt"), text("none"));
        none.insert(text("attStmt"), Cbor::Map(BTreeMap::new()));
        none.insert(
            text("authData"),
            Cbor::Bytes(crate::okp::with_stand_in_key(auth_data)?),
        );
        let as_none = serde_cbor_2::to_vec(&Cbor::Map(none))
            .map_err(|e| invalid(format!("re-encoding the attestation object failed: {e}")))?;
        return Ok(Read {
            aaguid,
            own: Some(Detached {
                as_none,
                kind: Kind::Ed25519 { key, fmt },
                object,
            }),
        });
    }
    let stmt = match map.get(&text("attStmt")) {
        Some(Cbor::Map(s)) => s,
        _ => return Ok(Read { aaguid, own: None }),
    };
    let rs1 = || match stmt.get(&text("alg")) {
        Some(Cbor::Integer(a)) => {
            COSEAlgorithm::try_from(*a).ok() == Some(COSEAlgorithm::INSECURE_RS1)
        }
        _ => false,
    };
    let format = match map.get(&text("fmt")) {
        Some(Cbor::Text(f)) if f == "android-safetynet" => AttestationFormat::AndroidSafetyNet,
        Some(Cbor::Text(f)) if f == "tpm" && rs1() => AttestationFormat::Tpm,
        _ => return Ok(Read { aaguid, own: None }),
    };
    let object = Object {
        auth_data: auth_data.clone(),
        stmt: stmt.clone(),
    };
    let mut none = map;
    none.insert(text("fmt"), text("none"));
    none.insert(text("attStmt"), Cbor::Map(BTreeMap::new()));
    let as_none = serde_cbor_2::to_vec(&Cbor::Map(none))
        .map_err(|e| invalid(format!("re-encoding the attestation object failed: {e}")))?;
    Ok(Read {
        aaguid,
        own: Some(Detached {
            as_none,
            kind: Kind::Statement(format),
            object,
        }),
    })
}

impl Detached {
    /// The Ed25519 key of the credential, when that is why the statement is verified here.
    pub(crate) fn ed25519(&self) -> Option<crate::okp::Ed25519Key> {
        match &self.kind {
            Kind::Ed25519 { key, .. } => Some(*key),
            Kind::Statement(_) => None,
        }
    }

    /// The statement's `x5c` (unit tests of the format checks).
    #[cfg(test)]
    pub(crate) fn object_for_tests(&self) -> &Object {
        &self.object
    }

    /// Verifies the statement for `credential` (already checked by the library) of model
    /// `aaguid`, against the client data it was made for, at time `at`; with its format.
    pub(crate) fn verify(
        &self,
        credential: &Credential,
        aaguid: Uuid,
        client_data_json: &[u8],
        at: SystemTime,
    ) -> Result<(Verified, AttestationFormat), CeremonyError> {
        // Both formats sign over authenticatorData ‖ SHA-256(clientDataJSON).
        let mut signed = self.object.auth_data.clone();
        signed.extend_from_slice(
            ring::digest::digest(&ring::digest::SHA256, client_data_json).as_ref(),
        );
        match &self.kind {
            Kind::Ed25519 { key, fmt } => {
                crate::okp::verify_statement(fmt, &self.object, &signed, *key, *aaguid.as_bytes())
            }
            Kind::Statement(AttestationFormat::AndroidSafetyNet) => {
                crate::safetynet::verify(&self.object, &signed, at)
                    .map(|v| (v, AttestationFormat::AndroidSafetyNet))
            }
            Kind::Statement(_) => crate::tpm::verify(&self.object, &signed, credential, aaguid)
                .map(|v| (v, AttestationFormat::Tpm)),
        }
    }
}
