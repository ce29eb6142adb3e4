//! Which statements sign the AAGUID (R4, R32). authenticatorData's AAGUID is whatever the
//! authenticator — or a client forging one — chose to write; a certificate chain proves
//! only what the chain's certificates say. Two formats put the model in a certificate:
//! `packed`, whose attestation certificate may carry the extension
//! `id-fido-gen-ce-aaguid` (1.3.6.1.4.1.45724.1.1.4), and `tpm`, whose AIK certificate may.
//! When that extension is present its value is checked against authenticatorData (by the
//! library, and by `tpm.rs` for RS1 statements) before this question is asked; here it is
//! asked whether it is present at all. Every other format — `fido-u2f`, `android-key`,
//! `android-safetynet`, `apple` — and a `packed` or `tpm` certificate without the
//! extension leave the AAGUID self-reported, however trusted the chain.

use uuid::Uuid;
use webauthn_rs_core::attestation::{AttestationX509Extension, FidoGenCeAaguid};
use webauthn_rs_core::proto::AttestationFormat;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

/// Whether the statement's certificate signs `aaguid`: a `packed` or `tpm` statement whose
/// first certificate (the attestation or AIK certificate) carries the AAGUID extension
/// with exactly this value.
pub(crate) fn signs_aaguid(format: &AttestationFormat, x5c: &[Vec<u8>], aaguid: Uuid) -> bool {
    if !matches!(format, AttestationFormat::Packed | AttestationFormat::Tpm) {
        return false;
    }
    let Some(leaf) = x5c.first() else {
        return false;
    };
    let Ok((_, cert)) = X509Certificate::from_der(leaf) else {
        return false;
    };
    // The extension's OID and value are read by webauthn-rs-core's own FidoGenCeAaguid, the
    // same parser its packed and tpm verification uses.
    cert.extensions()
        .iter()
        .filter(|e| e.oid.as_bytes() == FidoGenCeAaguid::OID.as_bytes())
        .any(|e| {
            FidoGenCeAaguid::parse(e.value).is_ok_and(|(rest, (value, _))| {
                rest.is_empty() && value.as_slice() == aaguid.as_bytes()
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_testkit::testca::TestCa;

    const AAGUID: &str = "cb69481e-8ff7-4039-93ec-0a2729a154a8";

    #[test]
    fn r32_only_packed_and_tpm_certificates_with_the_extension_sign_the_aaguid() {
        let ca = TestCa::new("Vendor");
        let with = vec![ca.issue(AAGUID).der];
        let without = vec![ca.signer("No AAGUID extension").der];
        let aaguid = Uuid::parse_str(AAGUID).unwrap();
        assert!(signs_aaguid(&AttestationFormat::Packed, &with, aaguid));
        assert!(signs_aaguid(&AttestationFormat::Tpm, &with, aaguid));
        assert!(
            !signs_aaguid(&AttestationFormat::Packed, &with, Uuid::new_v4()),
            "another AAGUID than the certificate's is not signed"
        );
        assert!(!signs_aaguid(&AttestationFormat::Packed, &without, aaguid));
        for f in [
            AttestationFormat::FIDOU2F,
            AttestationFormat::AndroidKey,
            AttestationFormat::AndroidSafetyNet,
            AttestationFormat::AppleAnonymous,
            AttestationFormat::None,
        ] {
            assert!(
                !signs_aaguid(&f, &with, aaguid),
                "{f:?} never binds the AAGUID, whatever its certificate says"
            );
        }
        assert!(!signs_aaguid(&AttestationFormat::Packed, &[], aaguid));
        assert!(!signs_aaguid(
            &AttestationFormat::Packed,
            &[vec![0x30, 0x03]],
            aaguid
        ));
    }
}
