//! The `tpm` attestation statement signed with RS1 (WebAuthn Level 2, §8.3). Real Windows
//! Hello TPMs sign their `certInfo` with RSASSA-PKCS1-v1_5 over SHA-1, which
//! `webauthn-rs-core` 0.6 refuses outright (see [`crate::statement`]); statements with any
//! other algorithm stay the library's. The TPM structures are read by `tpm2-protocol`,
//! the attestation identity key's certificate by `x509-parser`, and digests and the
//! signature are checked by `ring`.
//!
//! SHA-1 is accepted here only because of where it is used: the TPM signs, with a
//! restricted key, a `certInfo` it generated itself and that starts with
//! `TPM_GENERATED_VALUE`, so an attacker cannot have it sign a chosen colliding message.
//! The chain is still trusted or not by [`crate::trust::verify_trust`], like every format's.

use ring::digest::{self, Algorithm};
use ring::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY};
use serde_cbor_2::Value as Cbor;
use std::str::FromStr;
use tpm2_protocol::data::{
    TpmAlgId, TpmEccCurve, TpmSt, TpmsAttest, TpmtPublic, TpmuAttest, TpmuPublicId, TpmuPublicParms,
};
use tpm2_protocol::TpmUnmarshal;
use uuid::Uuid;
use webauthn_rs_core::proto::{
    AttestationMetadata, COSEKeyType, Credential, ECDSACurve, SerialisableAttestationData,
};
use x509_parser::certificate::X509Certificate;
use x509_parser::der_parser::der::parse_der_octetstring;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::Oid;
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Version;

use crate::error::CeremonyError;
use crate::statement::{Object, Verified};

/// tcg-kp-AIKCertificate, required in the AIK certificate's extended key usage.
const AIK_CERTIFICATE: &str = "2.23.133.8.3";
/// tcg-at-tpmManufacturer, tpmModel and tpmVersion, required in its subject alternative name.
const TPM_SAN: [&str; 3] = ["2.23.133.2.1", "2.23.133.2.2", "2.23.133.2.3"];
/// id-fido-gen-ce-aaguid.
const FIDO_AAGUID: &str = "1.3.6.1.4.1.45724.1.1.4";

fn invalid(message: impl Into<String>) -> CeremonyError {
    crate::statement::invalid(format!("tpm: {}", message.into()))
}

fn bytes<'a>(o: &'a Object, name: &str) -> Result<&'a [u8], CeremonyError> {
    match o.field(name) {
        Some(Cbor::Bytes(b)) => Ok(b),
        _ => Err(invalid(format!("attStmt.{name} is missing or not bytes."))),
    }
}

fn name_digest(alg: TpmAlgId) -> Option<&'static Algorithm> {
    match alg {
        TpmAlgId::Sha1 => Some(&digest::SHA1_FOR_LEGACY_USE_ONLY),
        TpmAlgId::Sha256 => Some(&digest::SHA256),
        TpmAlgId::Sha384 => Some(&digest::SHA384),
        TpmAlgId::Sha512 => Some(&digest::SHA512),
        _ => None,
    }
}

/// The key in `pubArea` must be the credential's key.
fn same_key(p: &TpmtPublic, credential: &Credential) -> bool {
    match (&p.parameters, &p.unique, &credential.cred.key) {
        (TpmuPublicParms::Rsa(parms), TpmuPublicId::Rsa(n), COSEKeyType::RSA(k)) => {
            // An exponent of zero means the default, 65537.
            let e = match parms.exponent.value() {
                0 => 65537,
                e => e,
            };
            let [a, b, c] = k.e;
            **n == k.n[..] && e == u32::from_be_bytes([0, a, b, c])
        }
        (TpmuPublicParms::Ecc(parms), TpmuPublicId::Ecc(point), COSEKeyType::EC_EC2(k)) => {
            let curve = matches!(
                (parms.curve_id, &k.curve),
                (TpmEccCurve::NistP256, ECDSACurve::SECP256R1)
                    | (TpmEccCurve::NistP384, ECDSACurve::SECP384R1)
                    | (TpmEccCurve::NistP521, ECDSACurve::SECP521R1)
            );
            curve && *point.x == k.x[..] && *point.y == k.y[..]
        }
        _ => false,
    }
}

/// The attestation identity key's certificate requirements (§8.3.1).
fn check_aik(aik: &X509Certificate<'_>, aaguid: Uuid) -> Result<(), CeremonyError> {
    if aik.version() != X509Version::V3 {
        return Err(invalid("the AIK certificate is not version 3."));
    }
    if aik.subject().iter().next().is_some() {
        return Err(invalid("the AIK certificate's subject is not empty."));
    }
    let oid = |s: &str| Oid::from_str(s).map_err(|_| invalid(format!("bad OID {s}")));
    let tpm_san = TPM_SAN.map(oid);
    let (aik_certificate, fido_aaguid) = (oid(AIK_CERTIFICATE)?, oid(FIDO_AAGUID)?);
    let mut san_ok = false;
    let mut eku_ok = false;
    let mut ca = false;
    for ext in aik.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                san_ok = san.general_names.iter().any(|n| match n {
                    GeneralName::DirectoryName(dn) => tpm_san.iter().all(|want| {
                        want.as_ref()
                            .is_ok_and(|want| dn.iter_attributes().any(|a| a.attr_type() == want))
                    }),
                    _ => false,
                });
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                eku_ok = eku.other.contains(&aik_certificate);
            }
            ParsedExtension::BasicConstraints(bc) => ca = bc.ca,
            _ => {}
        }
        if ext.oid == fido_aaguid {
            // Its value is an OCTET STRING holding the 16 bytes.
            let named = parse_der_octetstring(ext.value)
                .ok()
                .and_then(|(_, o)| o.as_slice().ok().map(<[u8]>::to_vec));
            if named.as_deref() != Some(aaguid.as_bytes().as_slice()) {
                return Err(invalid(
                    "the AIK certificate names a different AAGUID than the authenticator data.",
                ));
            }
        }
    }
    if !san_ok {
        return Err(invalid(
            "the AIK certificate's subject alternative name does not name the TPM manufacturer, model and version.",
        ));
    }
    if !eku_ok {
        return Err(invalid(
            "the AIK certificate's extended key usage lacks tcg-kp-AIKCertificate.",
        ));
    }
    if ca {
        return Err(invalid("the AIK certificate is a CA certificate."));
    }
    Ok(())
}

/// The statement's `x5c` (DER, AIK certificate first), non-empty.
fn x5c(o: &Object) -> Result<Vec<Vec<u8>>, CeremonyError> {
    match o.field("x5c") {
        Some(Cbor::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|c| match c {
                Cbor::Bytes(b) => Ok(b.clone()),
                _ => Err(invalid("an x5c entry is not bytes.")),
            })
            .collect(),
        _ => Err(invalid("attStmt.x5c is missing or empty.")),
    }
}

/// Verifies an RS1 `tpm` statement over `signed` (authenticatorData ‖
/// SHA-256(clientDataJSON)) for `credential` (already checked by the library) of model
/// `aaguid`.
pub(crate) fn verify(
    o: &Object,
    signed: &[u8],
    credential: &Credential,
    aaguid: Uuid,
) -> Result<Verified, CeremonyError> {
    if !matches!(o.field("ver"), Some(Cbor::Text(v)) if v == "2.0") {
        return Err(invalid("attStmt.ver is not \"2.0\"."));
    }
    let sig = bytes(o, "sig")?;
    let cert_info = bytes(o, "certInfo")?;
    let pub_area = bytes(o, "pubArea")?;
    let x5c = x5c(o)?;

    let public = match TpmtPublic::unmarshal(pub_area) {
        Ok((p, [])) => p,
        Ok(_) => return Err(invalid("pubArea has trailing bytes.")),
        Err(e) => return Err(invalid(format!("pubArea does not parse: {e}"))),
    };
    if !same_key(&public, credential) {
        return Err(invalid(
            "the key in pubArea is not the credential's public key.",
        ));
    }
    let attest = match TpmsAttest::unmarshal(cert_info) {
        Ok((a, [])) => a,
        Ok(_) => return Err(invalid("certInfo has trailing bytes.")),
        Err(e) => return Err(invalid(format!("certInfo does not parse: {e}"))),
    };
    if attest.attest_type != TpmSt::AttestCertify {
        return Err(invalid("certInfo is not a certify attestation."));
    }
    // extraData is the hash, with the statement's algorithm, of authData ‖ clientDataHash.
    let expected = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, signed);
    if *attest.extra_data != *expected.as_ref() {
        return Err(invalid(
            "certInfo.extraData does not cover this authenticator data and client data.",
        ));
    }
    let TpmuAttest::Certify(certify) = &attest.attested else {
        return Err(invalid("certInfo carries no certify information."));
    };
    let alg = name_digest(public.name_alg)
        .ok_or_else(|| invalid("pubArea's name algorithm is not a known hash."))?;
    let mut name = public.name_alg.value().to_be_bytes().to_vec();
    name.extend_from_slice(digest::digest(alg, pub_area).as_ref());
    if *certify.name != name[..] {
        return Err(invalid(
            "certInfo does not attest this pubArea (name mismatch).",
        ));
    }

    let aik_der = x5c.first().map(Vec::as_slice).unwrap_or_default();
    let (_, aik) = X509Certificate::from_der(aik_der)
        .map_err(|e| invalid(format!("the AIK certificate does not parse: {e}")))?;
    UnparsedPublicKey::new(
        &RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        &aik.public_key().subject_public_key.data,
    )
    .verify(cert_info, sig)
    .map_err(|_| {
        invalid("the signature over certInfo does not verify with the AIK certificate.")
    })?;
    check_aik(&aik, aaguid)?;
    tracing::info!(%aaguid, "accepted a TPM attestation signed with SHA-1 (RS1)");
    Ok(Verified {
        data: SerialisableAttestationData::AttCa(x5c),
        metadata: AttestationMetadata::Tpm {
            aaguid,
            firmware_version: attest.firmware_version.value(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{
        CertificateParams, CustomExtension, DistinguishedName, ExtendedKeyUsagePurpose, IsCa,
        KeyPair,
    };

    const VECTOR_AAGUID: &str = "08987058-cadc-4b81-b6e1-30de50dcbe96";

    /// The real vector's x5c: the AIK certificate and its issuing CA.
    fn real_chain() -> Vec<Vec<u8>> {
        use base64::Engine;
        let p =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/tests/vectors/tpm.json");
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let ao = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(
                v["response"]["response"]["attestationObject"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap();
        let d = crate::statement::read(&ao).unwrap().own.unwrap();
        x5c(d.object_for_tests()).unwrap()
    }

    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match body.len() {
            n @ 0..=127 => out.push(n as u8),
            n => out.extend([0x81, n as u8]),
        }
        out.extend_from_slice(body);
        out
    }

    /// SubjectAltName with a directoryName naming TPM manufacturer, model and version.
    fn tpm_san() -> Vec<u8> {
        let attr = |last: u8, value: &str| {
            let oid = tlv(0x06, &[0x67, 0x81, 0x05, 0x02, last]);
            tlv(
                0x31,
                &tlv(0x30, &[oid, tlv(0x0c, value.as_bytes())].concat()),
            )
        };
        let name = tlv(
            0x30,
            &[attr(1, "id:494E5443"), attr(2, "Test"), attr(3, "id:0001")].concat(),
        );
        tlv(0x30, &tlv(0xa4, &name))
    }

    fn aaguid_ext(aaguid: Uuid) -> CustomExtension {
        CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 4, 1, 45724, 1, 1, 4],
            tlv(0x04, aaguid.as_bytes()),
        )
    }

    fn cert(san: bool, eku: bool, ca: bool, aaguid: Option<Uuid>) -> Vec<u8> {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name = DistinguishedName::new();
        if san {
            let mut e = CustomExtension::from_oid_content(&[2, 5, 29, 17], tpm_san());
            e.set_criticality(true);
            p.custom_extensions.push(e);
        }
        if eku {
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(vec![2, 23, 133, 8, 3])];
        }
        p.is_ca = if ca {
            IsCa::Ca(rcgen::BasicConstraints::Unconstrained)
        } else {
            IsCa::ExplicitNoCa
        };
        if let Some(a) = aaguid {
            p.custom_extensions.push(aaguid_ext(a));
        }
        p.self_signed(&KeyPair::generate().unwrap())
            .unwrap()
            .der()
            .to_vec()
    }

    fn check(der: &[u8], aaguid: Uuid) -> Result<(), String> {
        let (_, c) = X509Certificate::from_der(der).unwrap();
        check_aik(&c, aaguid).map_err(|e| e.message)
    }

    #[test]
    fn r4_the_aik_certificate_requirements_each_refuse() {
        let mine = Uuid::parse_str(VECTOR_AAGUID).unwrap();
        let chain = real_chain();
        assert_eq!(check(&chain[0], mine), Ok(()));
        let e = check(&chain[1], mine).unwrap_err();
        assert!(e.contains("subject is not empty"), "{e}");

        assert_eq!(check(&cert(true, true, false, None), mine), Ok(()));
        let e = check(&cert(false, true, false, None), mine).unwrap_err();
        assert!(e.contains("subject alternative name"), "{e}");
        let e = check(&cert(true, false, false, None), mine).unwrap_err();
        assert!(e.contains("extended key usage"), "{e}");
        let e = check(&cert(true, true, true, None), mine).unwrap_err();
        assert!(e.contains("CA certificate"), "{e}");
        assert_eq!(check(&cert(true, true, false, Some(mine)), mine), Ok(()));
        let e = check(&cert(true, true, false, Some(Uuid::nil())), mine).unwrap_err();
        assert!(e.contains("different AAGUID"), "{e}");
    }
}
