//! A software authenticator for HTTP-level tests: it answers the server's options like a
//! real authenticator would, and can be told to misbehave (wrong origin or RP ID, no UV,
//! a bad signature, a counter that goes backwards) so each refusal path can be shown.
//!
//! It only *produces* WebAuthn data (test support); the server verifies with
//! `webauthn-rs-core`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::DerSignature;
use rand::RngCore;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use serde_cbor_2::Value as Cbor;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// How one response should (mis)behave.
#[derive(Debug, Clone, Default)]
pub struct Quirks {
    /// Origin written into clientDataJSON (default: the server's).
    pub origin: Option<String>,
    /// RP ID whose hash goes into authenticatorData (default: from the options).
    pub rp_id: Option<String>,
    /// Leave the UV flag unset.
    pub no_uv: bool,
    /// Corrupt the signature.
    pub bad_signature: bool,
    /// Use this counter instead of the next one.
    pub counter: Option<u32>,
    /// Self attestation (`packed` without x5c) instead of `none`.
    pub self_attestation: bool,
    /// Answer this challenge instead of the one in the options.
    pub challenge: Option<String>,
    /// Full `packed` attestation signed by this leaf (x5c = [leaf]).
    pub attestation: Option<crate::testca::AttestationLeaf>,
    /// An `android-safetynet` statement instead.
    pub safetynet: Option<SafetyNet>,
    /// A `fido-u2f` statement signed by this leaf (x5c = [leaf]). The statement signs the
    /// credential, never the AAGUID: a real U2F client writes zeros there, and whatever the
    /// key reports goes in authenticatorData unsigned.
    pub u2f: Option<crate::testca::AttestationLeaf>,
}

/// How to make an `android-safetynet` statement: the JWS is signed by `leaf` (issue it
/// with [`crate::testca::TestCa::signer`] for `attest.android.com`).
#[derive(Debug, Clone)]
pub struct SafetyNet {
    /// The JWS signer, sent as `x5c = [leaf]`.
    pub leaf: crate::testca::AttestationLeaf,
    /// Google's device verdict.
    pub cts_profile_match: bool,
    /// `timestampMs`.
    pub timestamp_ms: u64,
    /// A nonce other than the right one.
    pub nonce: Option<String>,
}

/// The credential key of a software passkey.
enum Key {
    /// ES256, signed with ring: the load generator of `scripts/bench.sh` signs one answer per
    /// sign-in, and RustCrypto's P-256 made that a tenth of the machine's two cores (a real
    /// authenticator signs on its own hardware).
    P256(EcdsaKeyPair),
    /// EdDSA (Ed25519).
    Ed25519(ring::signature::Ed25519KeyPair),
}

/// A software passkey: one credential of one model.
pub struct SoftKey {
    key: Key,
    /// Credential id.
    pub credential_id: Vec<u8>,
    /// AAGUID it reports.
    pub aaguid: [u8; 16],
    /// Its signature counter.
    pub counter: u32,
    /// Backup eligible (a synced passkey).
    pub synced: bool,
    user_handle: Option<String>,
}

/// A new P-256 credential key.
fn p256_key() -> EcdsaKeyPair {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).expect("P-256 key");
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
        .expect("P-256 key")
}

fn b64(b: &[u8]) -> String {
    B64.encode(b)
}

fn text(k: &str) -> Cbor {
    Cbor::Text(k.to_string())
}

impl SoftKey {
    /// A new key reporting `aaguid` (e.g. `01020304-0506-0708-0102-030405060708`).
    pub fn new(aaguid: &str) -> SoftKey {
        let mut id = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut id);
        let hex: String = aaguid.chars().filter(|c| *c != '-').collect();
        let mut a = [0u8; 16];
        for (i, byte) in a.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(i * 2..i * 2 + 2).unwrap_or("00"), 16).unwrap_or(0);
        }
        SoftKey {
            key: Key::P256(p256_key()),
            credential_id: id,
            aaguid: a,
            counter: 0,
            synced: false,
            user_handle: None,
        }
    }

    /// A new key reporting `aaguid` whose credential key is Ed25519 (COSE alg -8).
    pub fn ed25519(aaguid: &str) -> SoftKey {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).expect("Ed25519 key");
        let pair =
            ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("Ed25519 key");
        SoftKey {
            key: Key::Ed25519(pair),
            ..SoftKey::new(aaguid)
        }
    }

    /// The COSE algorithm of the credential key.
    fn alg(&self) -> i128 {
        match self.key {
            Key::P256(_) => -7,
            Key::Ed25519(_) => -8,
        }
    }

    /// The credential id, base64url.
    pub fn id(&self) -> String {
        b64(&self.credential_id)
    }

    fn cose_key(&self) -> Vec<u8> {
        let point = match &self.key {
            Key::P256(k) => k.public_key().as_ref(),
            Key::Ed25519(pair) => {
                let m = Cbor::Map(
                    [
                        (Cbor::Integer(1), Cbor::Integer(1)),
                        (Cbor::Integer(3), Cbor::Integer(-8)),
                        (Cbor::Integer(-1), Cbor::Integer(6)),
                        (
                            Cbor::Integer(-2),
                            Cbor::Bytes(pair.public_key().as_ref().to_vec()),
                        ),
                    ]
                    .into_iter()
                    .collect(),
                );
                return serde_cbor_2::to_vec(&m).unwrap_or_default();
            }
        };
        // Uncompressed: 0x04 ‖ x ‖ y.
        assert_eq!(
            (point.len(), point.first()),
            (65, Some(&4)),
            "ring's P-256 public key is an uncompressed point"
        );
        let (x, y) = (point[1..33].to_vec(), point[33..65].to_vec());
        let m = Cbor::Map(
            [
                (Cbor::Integer(1), Cbor::Integer(2)),
                (Cbor::Integer(3), Cbor::Integer(-7)),
                (Cbor::Integer(-1), Cbor::Integer(1)),
                (Cbor::Integer(-2), Cbor::Bytes(x)),
                (Cbor::Integer(-3), Cbor::Bytes(y)),
            ]
            .into_iter()
            .collect(),
        );
        serde_cbor_2::to_vec(&m).unwrap_or_default()
    }

    fn auth_data(&self, rp_id: &str, q: &Quirks, counter: u32, attested: bool) -> Vec<u8> {
        let mut d = Sha256::digest(q.rp_id.as_deref().unwrap_or(rp_id).as_bytes()).to_vec();
        let mut flags = 0x01u8; // UP
        if !q.no_uv {
            flags |= 0x04;
        }
        if self.synced {
            flags |= 0x08;
        }
        if attested {
            flags |= 0x40;
        }
        d.push(flags);
        d.extend_from_slice(&counter.to_be_bytes());
        if attested {
            d.extend_from_slice(&self.aaguid);
            d.extend_from_slice(
                &u16::try_from(self.credential_id.len())
                    .unwrap_or(0)
                    .to_be_bytes(),
            );
            d.extend_from_slice(&self.credential_id);
            d.extend_from_slice(&self.cose_key());
        }
        d
    }

    fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
        json!({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    fn sign(&self, auth_data: &[u8], client_data: &[u8], corrupt: bool) -> Vec<u8> {
        let mut msg = auth_data.to_vec();
        msg.extend_from_slice(&Sha256::digest(client_data));
        let mut sig = match &self.key {
            Key::P256(k) => k
                .sign(&ring::rand::SystemRandom::new(), &msg)
                .expect("ES256 signature")
                .as_ref()
                .to_vec(),
            Key::Ed25519(pair) => pair.sign(&msg).as_ref().to_vec(),
        };
        if corrupt {
            if let Some(b) = sig.last_mut() {
                *b ^= 0x55;
            }
        }
        sig
    }

    /// Answers creation options (`publicKey` JSON) the way `PublicKeyCredential.toJSON()` would.
    pub fn register(&mut self, options: &Value, origin: &str, q: &Quirks) -> Value {
        let rp_id = options["rp"]["id"].as_str().unwrap_or_default().to_string();
        let challenge = q.challenge.clone().unwrap_or_else(|| {
            options["challenge"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        });
        self.user_handle = options["user"]["id"].as_str().map(str::to_string);
        let cd = Self::client_data(
            "webauthn.create",
            &challenge,
            q.origin.as_deref().unwrap_or(origin),
        );
        let counter = q.counter.unwrap_or(self.counter);
        let ad = self.auth_data(&rp_id, q, counter, true);
        let (fmt, stmt) = if let Some(sn) = &q.safetynet {
            let mut signed = ad.clone();
            signed.extend_from_slice(&Sha256::digest(&cd));
            let nonce = sn.nonce.clone().unwrap_or_else(|| {
                base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&signed))
            });
            let payload = json!({
                "nonce": nonce, "timestampMs": sn.timestamp_ms, "apkPackageName": "com.google.android.gms",
                "apkCertificateDigestSha256": [], "ctsProfileMatch": sn.cts_profile_match, "basicIntegrity": true
            });
            let jws = crate::testca::TestCa::jws(&sn.leaf, &payload);
            (
                "android-safetynet",
                Cbor::Map(
                    [
                        (text("ver"), text("14366018")),
                        (text("response"), Cbor::Bytes(jws.into_bytes())),
                    ]
                    .into_iter()
                    .collect(),
                ),
            )
        } else if let Some(leaf) = &q.u2f {
            // FIDO U2F: 0x00 ‖ rpIdHash ‖ clientDataHash ‖ credentialId ‖ public key (65 bytes).
            let mut msg = vec![0u8];
            msg.extend_from_slice(&Sha256::digest(
                q.rp_id.as_deref().unwrap_or(&rp_id).as_bytes(),
            ));
            msg.extend_from_slice(&Sha256::digest(&cd));
            msg.extend_from_slice(&self.credential_id);
            if let Key::P256(k) = &self.key {
                msg.extend_from_slice(k.public_key().as_ref());
            }
            let sig: DerSignature = leaf.key.sign(&msg);
            (
                "fido-u2f",
                Cbor::Map(
                    [
                        (text("sig"), Cbor::Bytes(sig.as_bytes().to_vec())),
                        (
                            text("x5c"),
                            Cbor::Array(vec![Cbor::Bytes(leaf.der.clone())]),
                        ),
                    ]
                    .into_iter()
                    .collect(),
                ),
            )
        } else if let Some(leaf) = &q.attestation {
            let mut msg = ad.clone();
            msg.extend_from_slice(&Sha256::digest(&cd));
            let sig: DerSignature = leaf.key.sign(&msg);
            let mut sig = sig.as_bytes().to_vec();
            if q.bad_signature {
                if let Some(b) = sig.last_mut() {
                    *b ^= 0x55;
                }
            }
            let x5c = Cbor::Array(vec![Cbor::Bytes(leaf.der.clone())]);
            (
                "packed",
                Cbor::Map(
                    [
                        (text("alg"), Cbor::Integer(-7)),
                        (text("sig"), Cbor::Bytes(sig)),
                        (text("x5c"), x5c),
                    ]
                    .into_iter()
                    .collect(),
                ),
            )
        } else if q.self_attestation {
            let sig = self.sign(&ad, &cd, q.bad_signature);
            (
                "packed",
                Cbor::Map(
                    [
                        (text("alg"), Cbor::Integer(self.alg())),
                        (text("sig"), Cbor::Bytes(sig)),
                    ]
                    .into_iter()
                    .collect(),
                ),
            )
        } else {
            ("none", Cbor::Map(Default::default()))
        };
        let ao = Cbor::Map(
            [
                (text("fmt"), text(fmt)),
                (text("attStmt"), stmt),
                (text("authData"), Cbor::Bytes(ad)),
            ]
            .into_iter()
            .collect(),
        );
        let ao = serde_cbor_2::to_vec(&ao).unwrap_or_default();
        json!({
            "id": self.id(), "rawId": self.id(), "type": "public-key", "authenticatorAttachment": "platform",
            "response": {"clientDataJSON": b64(&cd), "attestationObject": b64(&ao), "transports": ["internal"]},
            "clientExtensionResults": {}
        })
    }

    /// Answers request options (`publicKey` JSON) with an assertion.
    pub fn assert(&mut self, options: &Value, origin: &str, q: &Quirks) -> Value {
        let rp_id = options["rpId"].as_str().unwrap_or_default().to_string();
        let challenge = q.challenge.clone().unwrap_or_else(|| {
            options["challenge"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        });
        let cd = Self::client_data(
            "webauthn.get",
            &challenge,
            q.origin.as_deref().unwrap_or(origin),
        );
        let counter = match q.counter {
            Some(c) => c,
            None => {
                self.counter += 1;
                self.counter
            }
        };
        let ad = self.auth_data(&rp_id, q, counter, false);
        let sig = self.sign(&ad, &cd, q.bad_signature);
        json!({
            "id": self.id(), "rawId": self.id(), "type": "public-key", "authenticatorAttachment": "platform",
            "response": {"clientDataJSON": b64(&cd), "authenticatorData": b64(&ad), "signature": b64(&sig), "userHandle": self.user_handle},
            "clientExtensionResults": {}
        })
    }
}

/// Rewrites the attestation object of a registration response (`toJSON()` shape) through
/// `f`, which edits its top-level CBOR map (`fmt`, `attStmt`, `authData`). Test support
/// for responses no well-behaved authenticator would send.
pub fn edit_attestation_object(
    response: &mut Value,
    f: impl FnOnce(&mut std::collections::BTreeMap<Cbor, Cbor>),
) {
    // An object that does not decode is a broken test, not a case to edit.
    let ao = response["response"]["attestationObject"]
        .as_str()
        .and_then(|s| B64.decode(s).ok())
        .expect("the response carries a base64url attestation object");
    let Ok(Cbor::Map(mut m)) = serde_cbor_2::from_slice::<Cbor>(&ao) else {
        panic!("the attestation object is a CBOR map")
    };
    f(&mut m);
    response["response"]["attestationObject"] =
        Value::String(b64(&serde_cbor_2::to_vec(&Cbor::Map(m)).unwrap_or_default()));
}
