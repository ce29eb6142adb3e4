//! Ed25519 credentials (COSE `OKP`, alg -8) beside the library (R17). `webauthn-rs-core` 0.6
//! reads an Ed25519 key from authenticator data but refuses to use it; everything else it
//! checks — client data type, challenge, origin, RP ID hash, flags, user verification,
//! excluded credentials, the signature counter — does not depend on the key. So:
//!
//! - At registration the statement is checked here over the *original* authenticator data
//!   (`none`; `packed` self attestation signed with the Ed25519 key; `packed` with a
//!   certificate, through the library's own packed certificate requirements and signature
//!   check), and the library checks the rest on the object re-encoded as `none` with the
//!   credential key replaced by a stand-in P-256 key. The credential is then stored with its
//!   real Ed25519 key.
//! - At sign-in the Ed25519 signature over authenticatorData ‖ SHA-256(clientDataJSON) is
//!   verified with `ring`, and the library checks the rest, as for ES256 (see `assertion`).
//!
//! Either way no byte the authenticator signed is changed before it is verified.

use ring::signature::{self, UnparsedPublicKey};
use serde_cbor_2::Value as Cbor;
use webauthn_rs_core::attestation::{
    assert_packed_attest_req, validate_extension, FidoGenCeAaguid,
};
use webauthn_rs_core::proto::{
    AttestationFormat, AttestationMetadata, COSEAlgorithm, COSEKey, COSEKeyType, COSEOKPKey,
    EDDSACurve, SerialisableAttestationData,
};

use crate::error::{classify, CeremonyError};
use crate::statement::{invalid, Object, Verified};

/// An Ed25519 public key (32 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ed25519Key(pub [u8; 32]);

fn int(i: i128) -> Cbor {
    Cbor::Integer(i)
}

fn unsupported(message: impl Into<String>) -> CeremonyError {
    CeremonyError::new("unsupportedKey", message)
}

/// Reads the credential's COSE key: `Some` for an Ed25519 key, `None` for any key the library
/// reads itself; another OKP curve (Ed448) is refused by name.
pub(crate) fn ed25519_key(credential_pk: &Cbor) -> Result<Option<Ed25519Key>, CeremonyError> {
    let Cbor::Map(m) = credential_pk else {
        return Ok(None);
    };
    if m.get(&int(1)) != Some(&int(1)) {
        return Ok(None);
    }
    if m.get(&int(3)) != Some(&int(-8)) || m.get(&int(-1)) != Some(&int(6)) {
        return Err(unsupported(
            "The passkey's key is an octet key pair this service does not verify: only Ed25519 (COSE alg -8, curve 6) is.",
        ));
    }
    match m.get(&int(-2)) {
        Some(Cbor::Bytes(x)) => <[u8; 32]>::try_from(x.as_slice())
            .map(|x| Some(Ed25519Key(x)))
            .map_err(|_| unsupported("The passkey's Ed25519 key is not 32 bytes long.")),
        _ => Err(unsupported(
            "The passkey's Ed25519 key has no public key (x).",
        )),
    }
}

impl Ed25519Key {
    /// Whether `sig` is this key's signature of `msg`.
    pub(crate) fn verifies(&self, msg: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&signature::ED25519, self.0)
            .verify(msg, sig)
            .is_ok()
    }

    /// The key as the library stores it with a credential.
    pub(crate) fn cose(&self) -> COSEKey {
        COSEKey {
            type_: COSEAlgorithm::EDDSA,
            key: COSEKeyType::EC_OKP(COSEOKPKey {
                curve: EDDSACurve::ED25519,
                x: self.0.to_vec(),
            }),
        }
    }
}

/// The stored credential key, if it is Ed25519.
pub(crate) fn stored_ed25519(key: &COSEKey) -> Option<Ed25519Key> {
    match &key.key {
        COSEKeyType::EC_OKP(k) if k.curve == EDDSACurve::ED25519 => {
            <[u8; 32]>::try_from(k.x.as_slice()).ok().map(Ed25519Key)
        }
        _ => None,
    }
}

/// (x, y) of the stand-in P-256 key that replaces an Ed25519 key in the `none` object the
/// library checks at registration: a key nobody holds the private half of.
fn stand_in_coordinates() -> Result<(Vec<u8>, Vec<u8>), CeremonyError> {
    let point = crate::assertion::nobodys_point()?;
    let x = point.get(1..33).unwrap_or_default().to_vec();
    let y = point.get(33..65).unwrap_or_default().to_vec();
    Ok((x, y))
}

/// `auth_data` with its credential key replaced by the stand-in's, every other byte (the
/// extensions after the key included) kept.
pub(crate) fn with_stand_in_key(auth_data: &[u8]) -> Result<Vec<u8>, CeremonyError> {
    let malformed = || {
        CeremonyError::new(
            "malformedAuthenticatorData",
            "The authenticator data is truncated.",
        )
    };
    // rpIdHash (32) flags (1) counter (4) aaguid (16) credentialIdLength (2) credentialId.
    let len_at: [u8; 2] = auth_data
        .get(53..55)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(malformed)?;
    let id_len = usize::from(u16::from_be_bytes(len_at));
    let key_at = 55usize.checked_add(id_len).ok_or_else(malformed)?;
    let rest = auth_data.get(key_at..).ok_or_else(malformed)?;
    let mut de = serde_cbor_2::Deserializer::from_slice(rest);
    serde::Deserialize::deserialize(&mut de)
        .map(|_: Cbor| ())
        .map_err(|_| malformed())?;
    let key_end = key_at.checked_add(de.byte_offset()).ok_or_else(malformed)?;
    let (x, y) = stand_in_coordinates()?;
    let cose = Cbor::Map(
        [
            (int(1), int(2)),
            (int(3), int(-7)),
            (int(-1), int(1)),
            (int(-2), Cbor::Bytes(x)),
            (int(-3), Cbor::Bytes(y)),
        ]
        .into_iter()
        .collect(),
    );
    let mut out = auth_data.get(..key_at).ok_or_else(malformed)?.to_vec();
    out.extend(serde_cbor_2::to_vec(&cose).map_err(|_| malformed())?);
    out.extend_from_slice(auth_data.get(key_end..).ok_or_else(malformed)?);
    Ok(out)
}

/// Verifies the statement of a registration whose credential key is `key`, over the original
/// authenticator data (`object.auth_data`) and `signed` (authData ‖ SHA-256(clientDataJSON)).
pub(crate) fn verify_statement(
    fmt: &str,
    object: &Object,
    signed: &[u8],
    key: Ed25519Key,
    aaguid: [u8; 16],
) -> Result<(Verified, AttestationFormat), CeremonyError> {
    let none = || Verified {
        data: SerialisableAttestationData::None,
        metadata: AttestationMetadata::None,
    };
    match fmt {
        "none" => Ok((none(), AttestationFormat::None)),
        "packed" => {
            let sig = match object.field("sig") {
                Some(Cbor::Bytes(s)) => s,
                _ => return Err(invalid("The packed statement has no signature (sig).")),
            };
            let alg = match object.field("alg") {
                Some(Cbor::Integer(a)) => COSEAlgorithm::try_from(*a)
                    .map_err(|_| invalid("The packed statement names an unknown algorithm."))?,
                _ => return Err(invalid("The packed statement has no algorithm (alg).")),
            };
            match object.field("x5c") {
                None => {
                    // Self attestation: signed by the credential key itself.
                    if alg != COSEAlgorithm::EDDSA {
                        return Err(invalid("The self attestation's algorithm is not the Ed25519 key's."));
                    }
                    if !key.verifies(signed, sig) {
                        return Err(CeremonyError::new(
                            "attestationInvalid",
                            "The self attestation's Ed25519 signature does not verify.",
                        ));
                    }
                    Ok((
                        Verified {
                            data: SerialisableAttestationData::Self_,
                            metadata: AttestationMetadata::None,
                        },
                        AttestationFormat::Packed,
                    ))
                }
                Some(Cbor::Array(certs)) => {
                    let x5c: Vec<Vec<u8>> = certs
                        .iter()
                        .map(|c| match c {
                            Cbor::Bytes(b) => Ok(b.clone()),
                            _ => Err(invalid("An x5c entry is not a certificate.")),
                        })
                        .collect::<Result<_, _>>()?;
                    let leaf_der = x5c
                        .first()
                        .ok_or_else(|| invalid("The packed statement's x5c is empty."))?;
                    let leaf = crate::statement::library_certificate(leaf_der)?;
                    // The library's own packed certificate requirements and AAGUID extension
                    // check, and its signature check with the certificate's key.
                    assert_packed_attest_req(&leaf).map_err(|e| classify(&e))?;
                    validate_extension::<FidoGenCeAaguid>(&leaf, &aaguid)
                        .map_err(|e| classify(&e))?;
                    let ok = webauthn_rs_core::crypto::verify_signature(&leaf, sig, signed)
                        .map_err(|e| classify(&e))?;
                    if !ok {
                        return Err(CeremonyError::new(
                            "attestationInvalid",
                            "The packed statement's signature does not verify with its certificate.",
                        ));
                    }
                    Ok((
                        Verified {
                            data: SerialisableAttestationData::Basic(x5c),
                            metadata: AttestationMetadata::Packed {
                                aaguid: uuid::Uuid::from_bytes(aaguid),
                            },
                        },
                        AttestationFormat::Packed,
                    ))
                }
                Some(_) => Err(invalid("The packed statement's x5c is not an array.")),
            }
        }
        other => Err(unsupported(format!(
            "An Ed25519 passkey is verified with a 'none' or 'packed' attestation statement, not '{other}'."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ed25519_cose_key_is_read_and_other_okp_curves_are_refused_by_name() {
        let key = |crv: i128, x: Vec<u8>| {
            Cbor::Map(
                [
                    (int(1), int(1)),
                    (int(3), int(-8)),
                    (int(-1), int(crv)),
                    (int(-2), Cbor::Bytes(x)),
                ]
                .into_iter()
                .collect(),
            )
        };
        assert_eq!(
            ed25519_key(&key(6, vec![7; 32])).unwrap(),
            Some(Ed25519Key([7; 32]))
        );
        assert_eq!(
            ed25519_key(&key(7, vec![7; 57])).unwrap_err().code,
            "unsupportedKey"
        );
        assert_eq!(
            ed25519_key(&key(6, vec![7; 31])).unwrap_err().code,
            "unsupportedKey"
        );
        let ec2 = Cbor::Map([(int(1), int(2)), (int(3), int(-7))].into_iter().collect());
        assert_eq!(
            ed25519_key(&ec2).unwrap(),
            None,
            "the library's keys are left to it"
        );
    }

    #[test]
    fn the_stand_in_key_replaces_only_the_credential_key() {
        let mut ad = vec![9u8; 37];
        ad.extend([1u8; 16]);
        ad.extend([0u8, 2]);
        ad.extend([5u8, 6]);
        let okp = Cbor::Map(
            [
                (int(1), int(1)),
                (int(3), int(-8)),
                (int(-1), int(6)),
                (int(-2), Cbor::Bytes(vec![3; 32])),
            ]
            .into_iter()
            .collect(),
        );
        ad.extend(serde_cbor_2::to_vec(&okp).unwrap());
        let extensions = serde_cbor_2::to_vec(&Cbor::Map(
            [(Cbor::Text("credProtect".into()), int(2))]
                .into_iter()
                .collect(),
        ))
        .unwrap();
        ad.extend(&extensions);
        let out = with_stand_in_key(&ad).unwrap();
        assert_eq!(out.get(..57), ad.get(..57), "everything before the key");
        assert!(
            out.ends_with(&extensions),
            "and the extensions after it are kept"
        );
        let mut de = serde_cbor_2::Deserializer::from_slice(out.get(57..).unwrap());
        let k: Cbor = serde::Deserialize::deserialize(&mut de).unwrap();
        assert!(matches!(k, Cbor::Map(m) if m.get(&int(3)) == Some(&int(-7))));
        assert!(
            with_stand_in_key(&ad[..50]).is_err(),
            "truncated: refused, no panic"
        );
    }
}
