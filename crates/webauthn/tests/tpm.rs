//! R4: a real Windows Hello `tpm` statement signed with RS1 (webauthn-rs-core's
//! `test_win_hello_attest_tpm`, kept as data in the CLI's vectors) is verified, trusted by
//! the Microsoft TPM root at its time, and each part of the statement refuses when altered.

// A test crate: a failed assumption is a failed test (the product denies these, Cargo.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use portcullis_testkit::softkey::edit_attestation_object;
use portcullis_webauthn::{
    verify_trust, AttestationKind, CeremonyError, NewCredential, RelyingParty, RootEntry,
    RootScope, TrustRoots, TrustVerdict,
};
use serde_cbor_2::Value as Cbor;
use serde_json::Value;
use std::time::{Duration, SystemTime};

fn vector() -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/tests/vectors/tpm.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn at(v: &Value) -> SystemTime {
    // 2021-01-01T00:00:00Z, inside the AIK certificate's validity.
    assert_eq!(v["at"], "2021-01-01T00:00:00Z");
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_609_459_200)
}

fn verify(v: &Value, response: &Value) -> Result<NewCredential, CeremonyError> {
    let rp = RelyingParty::danger_with_origin(
        v["rpId"].as_str().unwrap(),
        &url::Url::parse(v["origin"].as_str().unwrap()).unwrap(),
        "test",
    );
    let challenge = URL_SAFE_NO_PAD
        .decode(v["challenge"].as_str().unwrap())
        .unwrap();
    let state = rp.danger_state_for_foreign_challenge(&challenge).unwrap();
    rp.finish_registration(response, &state, at(v))
}

/// The vector with its attestation object changed by `f`.
fn altered(v: &Value, f: impl FnOnce(&mut Vec<u8>, &mut Vec<(String, Cbor)>)) -> Value {
    let mut r = v["response"].clone();
    edit_attestation_object(&mut r, |m| {
        let Some(Cbor::Bytes(mut ad)) = m.remove(&Cbor::Text("authData".into())) else {
            panic!("authData")
        };
        let Some(Cbor::Map(stmt)) = m.remove(&Cbor::Text("attStmt".into())) else {
            panic!("attStmt")
        };
        let mut stmt: Vec<(String, Cbor)> = stmt
            .into_iter()
            .map(|(k, v)| match k {
                Cbor::Text(k) => (k, v),
                _ => panic!("text keys"),
            })
            .collect();
        f(&mut ad, &mut stmt);
        m.insert(Cbor::Text("authData".into()), Cbor::Bytes(ad));
        m.insert(
            Cbor::Text("attStmt".into()),
            Cbor::Map(stmt.into_iter().map(|(k, v)| (Cbor::Text(k), v)).collect()),
        );
    });
    r
}

/// A change to authData and the statement's members.
type Alteration<'a> = &'a dyn Fn(&mut Vec<u8>, &mut Vec<(String, Cbor)>);

fn flip(stmt: &mut [(String, Cbor)], field: &str, at: usize) {
    for (k, v) in stmt.iter_mut() {
        if k == field {
            if let Cbor::Bytes(b) = v {
                b[at] ^= 0x01;
            }
        }
    }
}

#[test]
fn r4_a_real_rs1_tpm_statement_is_attca_and_trusted_by_its_root_at_its_time() {
    let v = vector();
    let cred = verify(&v, &v["response"]).expect("accepted");
    assert_eq!(
        (cred.fmt.as_str(), cred.attestation, cred.x5c.len()),
        ("tpm", AttestationKind::AttCa, 2)
    );
    let roots: Vec<Vec<u8>> = v["roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| STANDARD.decode(r.as_str().unwrap()).unwrap())
        .collect();
    // R32: this Windows Hello AIK certificate carries no AAGUID extension, so the statement
    // does not sign the AAGUID: a root listed for the model cannot vouch for it, one trusted
    // for every model vouches for the chain and leaves the AAGUID self-reported.
    assert!(!cred.aaguid_signed);
    let per_model = TrustRoots::new(&[RootEntry {
        scope: RootScope::Model(cred.aaguid),
        name: "Windows Hello".into(),
        roots: roots.clone(),
    }]);
    assert!(matches!(
        verify_trust(&cred, &per_model, at(&v)),
        TrustVerdict::Untrusted(why) if why.contains("R32")
    ));
    let store = TrustRoots::new(&[RootEntry {
        scope: RootScope::AnyModel,
        name: "Microsoft TPM roots".into(),
        roots,
    }]);
    assert_eq!(
        verify_trust(&cred, &store, at(&v)),
        TrustVerdict::Trusted {
            aaguid_attested: false
        }
    );
    let later = SystemTime::UNIX_EPOCH + Duration::from_secs(4_102_444_800);
    assert!(matches!(
        verify_trust(&cred, &store, later),
        TrustVerdict::Untrusted(_)
    ));
}

#[test]
fn r4_each_part_of_a_tpm_statement_refuses_when_altered() {
    let v = vector();
    let refused = |f: Alteration<'_>, expect: &str| {
        let e = verify(&v, &altered(&v, |ad, s| f(ad, s))).expect_err(expect);
        assert_eq!(e.code, "attestationInvalid", "{expect}: {e}");
        assert!(e.message.contains(expect), "{expect}: {e}");
    };
    // The signature counter is not checked by anything else, so only extraData notices.
    refused(&|ad, _| ad[36] ^= 0x01, "extraData");
    refused(&|_, s| flip(s, "sig", 10), "signature over certInfo");
    // objectAttributes (bytes 4..8 of pubArea): same key, different name.
    refused(&|_, s| flip(s, "pubArea", 6), "name mismatch");
    // A byte of the RSA modulus at the end of pubArea: a different key.
    refused(
        &|_, s| {
            for (k, v) in s.iter_mut() {
                if k == "pubArea" {
                    if let Cbor::Bytes(b) = v {
                        let last = b.len() - 1;
                        b[last] ^= 0x01;
                    }
                }
            }
        },
        "not the credential's public key",
    );
    refused(&|_, s| flip(s, "certInfo", 0), "certInfo does not parse");
    refused(
        &|_, s| {
            for (k, v) in s.iter_mut() {
                if k == "ver" {
                    *v = Cbor::Text("1.0".into());
                }
            }
        },
        "2.0",
    );
    refused(&|_, s| s.retain(|(k, _)| k != "x5c"), "x5c");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
    /// Random damage to the binary TPM structures is refused, never a panic.
    #[test]
    fn damaged_tpm_structures_never_panic(
        field in proptest::sample::select(vec!["pubArea", "certInfo", "sig"]),
        at in 0usize..400,
        xor in 1u8..=255,
        cut in proptest::option::of(0usize..400),
    ) {
        let v = vector();
        let r = altered(&v, |_, s| {
            for (k, val) in s.iter_mut() {
                if k == field {
                    if let Cbor::Bytes(b) = val {
                        let i = at % b.len();
                        b[i] ^= xor;
                        if let Some(c) = cut {
                            b.truncate(c % b.len());
                        }
                    }
                }
            }
        });
        proptest::prop_assert!(verify(&v, &r).is_err());
    }
}
