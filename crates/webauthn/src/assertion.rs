//! Assertion signatures verified with `ring` while the library performs every other check
//! (issue 18). `webauthn-rs-core` verifies ES256 with RustCrypto's `p256`, five to seven times
//! slower on the machines we measured than `ring` (BENCHMARKS.md), and not Ed25519 at all.
//!
//! How: the library is handed the credential with its key replaced by a **sentinel**, a
//! P-521 key. Version 0.6.2 (pinned exactly) reads P-521 keys but answers `false` to every
//! signature made with one, and its sign-in check (`authenticate_single_credential`) returns
//! `AuthenticationFailure` in one place only — the signature, its last check, after the
//! client data's type, challenge and origin, the RP ID hash, user presence and verification
//! and the backup flags. So that error, and only that error, means every other check passed;
//! then `ring` verifies the signature over the same bytes (authenticatorData ‖
//! SHA-256(clientDataJSON)), and the library's counter rule is applied as it states it. Tests
//! hold the library to this: each earlier check still fails with its own error, and a
//! signature `ring` refuses is refused.

use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};
use std::sync::OnceLock;
use webauthn_rs_core::error::WebauthnError;
use webauthn_rs_core::proto::AuthenticationState;
use webauthn_rs_core::proto::{
    COSEAlgorithm, COSEEC2Key, COSEKey, COSEKeyType, Credential, ECDSACurve, PublicKeyCredential,
};
use webauthn_rs_core::WebauthnCore;

use crate::ceremony::Assertion;
use crate::error::{classify, CeremonyError};
use crate::okp::Ed25519Key;

/// A credential key `ring` verifies assertions with.
#[derive(Debug, Clone)]
pub(crate) enum RingKey {
    /// ES256: the uncompressed SEC1 point (0x04 ‖ x ‖ y).
    P256(Vec<u8>),
    /// EdDSA over Ed25519 (which the library reads but does not verify).
    Ed25519(Ed25519Key),
}

impl RingKey {
    /// The key of a stored credential, when `ring` can verify with it (ES256 with full-length
    /// coordinates, Ed25519); other keys are verified by the library itself.
    pub(crate) fn of(key: &COSEKey) -> Option<RingKey> {
        if let Some(k) = crate::okp::stored_ed25519(key) {
            return Some(RingKey::Ed25519(k));
        }
        match (&key.type_, &key.key) {
            (COSEAlgorithm::ES256, COSEKeyType::EC_EC2(k))
                if k.curve == ECDSACurve::SECP256R1 && k.x.len() == 32 && k.y.len() == 32 =>
            {
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(&k.x);
                point.extend_from_slice(&k.y);
                Some(RingKey::P256(point))
            }
            _ => None,
        }
    }

    /// A P-256 key nobody holds the private half of: what a credential this service does
    /// not hold is checked against, with the ES256 verify a real one costs, so that a decoy
    /// id is refused as a wrong signature is.
    pub(crate) fn nobodys() -> Result<RingKey, CeremonyError> {
        nobodys_point().map(RingKey::P256)
    }

    fn verifies(&self, msg: &[u8], sig: &[u8]) -> bool {
        match self {
            RingKey::P256(point) => UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point)
                .verify(msg, sig)
                .is_ok(),
            RingKey::Ed25519(k) => k.verifies(msg, sig),
        }
    }
}

/// The public point (uncompressed SEC1) of a P-256 key made once per process whose private
/// half was dropped as it was made: nothing can sign for it.
pub(crate) fn nobodys_point() -> Result<Vec<u8>, CeremonyError> {
    static POINT: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    POINT
        .get_or_init(|| {
            use ring::signature::KeyPair;
            let rng = ring::rand::SystemRandom::new();
            let alg = &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING;
            let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(alg, &rng).ok()?;
            let pair = ring::signature::EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).ok()?;
            Some(pair.public_key().as_ref().to_vec())
        })
        .clone()
        .ok_or_else(|| CeremonyError::new("internalError", "no key could be made"))
}

/// The generator of P-521 (SEC 2, section 2.6.1): a valid point, so the library reads the
/// sentinel as a key, and one whose signatures it never accepts.
const P521_GX: [u8; 66] = [
    0x00, 0xc6, 0x85, 0x8e, 0x06, 0xb7, 0x04, 0x04, 0xe9, 0xcd, 0x9e, 0x3e, 0xcb, 0x66, 0x23, 0x95,
    0xb4, 0x42, 0x9c, 0x64, 0x81, 0x39, 0x05, 0x3f, 0xb5, 0x21, 0xf8, 0x28, 0xaf, 0x60, 0x6b, 0x4d,
    0x3d, 0xba, 0xa1, 0x4b, 0x5e, 0x77, 0xef, 0xe7, 0x59, 0x28, 0xfe, 0x1d, 0xc1, 0x27, 0xa2, 0xff,
    0xa8, 0xde, 0x33, 0x48, 0xb3, 0xc1, 0x85, 0x6a, 0x42, 0x9b, 0xf9, 0x7e, 0x7e, 0x31, 0xc2, 0xe5,
    0xbd, 0x66,
];
const P521_GY: [u8; 66] = [
    0x01, 0x18, 0x39, 0x29, 0x6a, 0x78, 0x9a, 0x3b, 0xc0, 0x04, 0x5c, 0x8a, 0x5f, 0xb4, 0x2c, 0x7d,
    0x1b, 0xd9, 0x98, 0xf5, 0x44, 0x49, 0x57, 0x9b, 0x44, 0x68, 0x17, 0xaf, 0xbd, 0x17, 0x27, 0x3e,
    0x66, 0x2c, 0x97, 0xee, 0x72, 0x99, 0x5e, 0xf4, 0x26, 0x40, 0xc5, 0x50, 0xb9, 0x01, 0x3f, 0xad,
    0x07, 0x61, 0x35, 0x3c, 0x70, 0x86, 0xa2, 0x72, 0xc2, 0x40, 0x88, 0xbe, 0x94, 0x76, 0x9f, 0xd1,
    0x66, 0x50,
];

pub(crate) fn sentinel() -> COSEKey {
    COSEKey {
        type_: COSEAlgorithm::ES521,
        key: COSEKeyType::EC_EC2(COSEEC2Key {
            curve: ECDSACurve::SECP521R1,
            x: P521_GX.to_vec(),
            y: P521_GY.to_vec(),
        }),
    }
}

/// R22: checks an assertion for `credential` (whose stored counter is `stored_counter`) with
/// the library, its signature against `key` with `ring`, then the counter rule.
pub(crate) fn check(
    core: &WebauthnCore,
    response: &PublicKeyCredential,
    state: &AuthenticationState,
    credential: &Credential,
    key: &RingKey,
    stored_counter: u32,
) -> Result<Assertion, CeremonyError> {
    let stand_in = Credential {
        cred: sentinel(),
        counter: stored_counter,
        ..credential.clone()
    };
    match core.authenticate_single_credential(response, state, &stand_in) {
        // Every check before the signature passed.
        Err(WebauthnError::AuthenticationFailure) => {}
        Err(e) => return Err(classify(&e)),
        Ok(_) => {
            return Err(CeremonyError::new(
                "internalError",
                "The WebAuthn library accepted a signature it should never accept; refusing.",
            ))
        }
    }
    let r = &response.response;
    let mut signed = r.authenticator_data.to_vec();
    signed.extend_from_slice(
        ring::digest::digest(&ring::digest::SHA256, r.client_data_json.as_ref()).as_ref(),
    );
    if !key.verifies(&signed, r.signature.as_ref()) {
        return Err(classify(&WebauthnError::AuthenticationFailure));
    }
    let data = webauthn_rs_core::internals::AuthenticatorData::<
        webauthn_rs_core::proto::Authentication,
    >::try_from(r.authenticator_data.as_ref())
    .map_err(|e| classify(&e))?;
    // The library's rule (require_valid_counter_value, on by default): when either counter is
    // in use, the new one must be greater.
    if (data.counter > 0 || stored_counter > 0) && data.counter <= stored_counter {
        return Err(classify(&WebauthnError::CredentialPossibleCompromise));
    }
    Ok(Assertion {
        counter: data.counter,
        user_verified: data.user_verified,
        backup_state: data.backup_state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sentinel_is_a_key_the_library_reads() {
        // A valid point: verifying with it answers false rather than failing to read it.
        let cose = sentinel();
        assert!(matches!(
            cose.verify_signature(&[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01], b"x"),
            Ok(false)
        ));
    }
}
