//! R17: the algorithms offered are the ones the server verifies — ES256, RS256 and EdDSA
//! (Ed25519, verified beside the library) — and a key of another kind is refused by name.

// A test crate: a failed assumption is a failed test (the product denies these, Cargo.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use portcullis_testkit::softkey::{edit_attestation_object, Quirks, SoftKey};
use portcullis_testkit::testca::TestCa;
use portcullis_webauthn::{AttestationKind, RelyingParty};
use serde_cbor_2::Value as Cbor;
use std::time::SystemTime;

const ORIGIN: &str = "https://id.contoso.test";
const AAGUID: &str = "cb69481e-8ff7-4039-93ec-0a2729a154a8";

fn rp() -> RelyingParty {
    RelyingParty::new(&url::Url::parse(ORIGIN).unwrap(), "Contoso").unwrap()
}

#[test]
fn r17_offers_es256_rs256_and_eddsa_and_names_another_okp_key_unsupported() {
    let rp = rp();
    let (opts, state) = rp
        .start_registration(&[1], "a@b.c", "A", vec![], false)
        .unwrap();
    let algs: Vec<i64> = opts["pubKeyCredParams"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["alg"].as_i64())
        .collect();
    assert_eq!(
        algs,
        vec![-7, -257, -8],
        "EdDSA last: others choose as before"
    );

    // An Ed448 key (OKP, curve 7) is not verified here: refused by name, before anything else.
    let mut key = SoftKey::new("01020304-0506-0708-0102-030405060708");
    let mut resp = key.register(&opts, ORIGIN, &Quirks::default());
    edit_attestation_object(&mut resp, |m| {
        let Some(Cbor::Bytes(ad)) = m.get(&Cbor::Text("authData".into())).cloned() else {
            panic!("authData")
        };
        let id_len = usize::from(u16::from_be_bytes([ad[53], ad[54]]));
        let mut new_ad = ad[..55 + id_len].to_vec();
        let okp = Cbor::Map(
            [
                (Cbor::Integer(1), Cbor::Integer(1)),
                (Cbor::Integer(3), Cbor::Integer(-8)),
                (Cbor::Integer(-1), Cbor::Integer(7)),
                (Cbor::Integer(-2), Cbor::Bytes(vec![7; 57])),
            ]
            .into_iter()
            .collect(),
        );
        new_ad.extend(serde_cbor_2::to_vec(&okp).unwrap());
        m.insert(Cbor::Text("authData".into()), Cbor::Bytes(new_ad));
    });
    let e = rp
        .finish_registration(&resp, &state, SystemTime::now())
        .expect_err("refused");
    assert_eq!(e.code, "unsupportedKey", "{e}");
    assert!(e.message.contains("Ed25519"), "{e}");
}

/// An Ed25519 passkey registers with `none`, packed self and packed certificate
/// attestation, and signs in; every refusal the library makes for other keys holds for it.
#[test]
fn r17_r22_an_ed25519_passkey_registers_and_signs_in_and_its_refusals_hold() {
    let rp = rp();
    let ca = TestCa::new("Vendor");
    for (q, kind) in [
        (Quirks::default(), AttestationKind::None),
        (
            Quirks {
                self_attestation: true,
                ..Default::default()
            },
            AttestationKind::SelfAttestation,
        ),
        (
            Quirks {
                attestation: Some(ca.issue(AAGUID)),
                ..Default::default()
            },
            AttestationKind::Basic,
        ),
    ] {
        let (opts, state) = rp
            .start_registration(&[1], "a@b.c", "A", vec![], true)
            .unwrap();
        let mut key = SoftKey::ed25519(AAGUID);
        let resp = key.register(&opts, ORIGIN, &q);
        let cred = rp
            .finish_registration(&resp, &state, SystemTime::now())
            .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!(cred.attestation, kind);
        let stored = serde_json::to_value(&cred.credential).unwrap();
        assert_eq!(
            stored["cred"]["type_"], "EDDSA",
            "stored with its real key, not the stand-in: {stored}"
        );
        assert_eq!(cred.aaguid_signed, kind == AttestationKind::Basic);

        // Sign-in: accepted; a bad signature, a wrong origin, a replayed counter refused.
        let (req, st) = rp
            .start_authentication(vec![cred.credential.clone()])
            .unwrap();
        let ok = key.assert(&req, ORIGIN, &Quirks::default());
        let a = rp
            .finish_authentication(
                &RelyingParty::parse_assertion(&ok).unwrap(),
                &st,
                &cred.credential,
                0,
            )
            .unwrap_or_else(|e| panic!("{kind:?} sign-in: {e}"));
        assert_eq!(a.counter, 1);
        for (quirks, code) in [
            (
                Quirks {
                    bad_signature: true,
                    ..Default::default()
                },
                "badSignature",
            ),
            (
                Quirks {
                    origin: Some("https://evil.example".into()),
                    ..Default::default()
                },
                "originMismatch",
            ),
            (
                Quirks {
                    no_uv: true,
                    ..Default::default()
                },
                "userNotVerified",
            ),
            // Checked in the library's order, as for any other key and for a decoy: a wrong
            // origin is named before a wrong signature.
            (
                Quirks {
                    origin: Some("https://evil.example".into()),
                    bad_signature: true,
                    ..Default::default()
                },
                "originMismatch",
            ),
        ] {
            let (req, st) = rp
                .start_authentication(vec![cred.credential.clone()])
                .unwrap();
            let bad = key.assert(&req, ORIGIN, &quirks);
            let e = rp
                .finish_authentication(
                    &RelyingParty::parse_assertion(&bad).unwrap(),
                    &st,
                    &cred.credential,
                    0,
                )
                .expect_err("refused");
            assert_eq!(e.code, code, "{kind:?}: {e}");
        }
        let (req, st) = rp
            .start_authentication(vec![cred.credential.clone()])
            .unwrap();
        let old = key.assert(
            &req,
            ORIGIN,
            &Quirks {
                counter: Some(1),
                ..Default::default()
            },
        );
        let e = rp
            .finish_authentication(
                &RelyingParty::parse_assertion(&old).unwrap(),
                &st,
                &cred.credential,
                1,
            )
            .expect_err("counter replay");
        assert_eq!(e.code, "counterRegression");
        // A forged assertion with an old counter is a bad signature, not a cloned passkey.
        let (req, st) = rp
            .start_authentication(vec![cred.credential.clone()])
            .unwrap();
        let forged = key.assert(
            &req,
            ORIGIN,
            &Quirks {
                counter: Some(1),
                bad_signature: true,
                ..Default::default()
            },
        );
        let e = rp
            .finish_authentication(
                &RelyingParty::parse_assertion(&forged).unwrap(),
                &st,
                &cred.credential,
                1,
            )
            .expect_err("forged");
        assert_eq!(e.code, "badSignature", "{kind:?}");
    }

    // A forged self attestation, and registration refusals of the library.
    let (opts, state) = rp
        .start_registration(&[1], "a@b.c", "A", vec![], true)
        .unwrap();
    let mut key = SoftKey::ed25519(AAGUID);
    let forged = key.register(
        &opts,
        ORIGIN,
        &Quirks {
            self_attestation: true,
            bad_signature: true,
            ..Default::default()
        },
    );
    assert_eq!(
        rp.finish_registration(&forged, &state, SystemTime::now())
            .unwrap_err()
            .code,
        "attestationInvalid"
    );
    // A forged certificate attestation, and one whose certificate names another model.
    for (q, what) in [
        (
            Quirks {
                attestation: Some(ca.issue(AAGUID)),
                bad_signature: true,
                ..Default::default()
            },
            "a certificate attestation with a wrong signature",
        ),
        (
            Quirks {
                attestation: Some(ca.issue("2fc0579f-8113-47ea-b116-bb5a8db9202a")),
                ..Default::default()
            },
            "a certificate whose AAGUID extension names another model",
        ),
    ] {
        let (opts, state) = rp
            .start_registration(&[1], "a@b.c", "A", vec![], true)
            .unwrap();
        let resp = SoftKey::ed25519(AAGUID).register(&opts, ORIGIN, &q);
        assert_eq!(
            rp.finish_registration(&resp, &state, SystemTime::now())
                .map(|c| c.aaguid_signed)
                .map_err(|e| e.code),
            Err("attestationInvalid"),
            "{what}"
        );
    }
    for (q, code) in [
        (
            Quirks {
                origin: Some("https://evil.example".into()),
                ..Default::default()
            },
            "originMismatch",
        ),
        (
            Quirks {
                rp_id: Some("evil.example".into()),
                ..Default::default()
            },
            "rpIdMismatch",
        ),
        (
            Quirks {
                challenge: Some("QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI".into()),
                ..Default::default()
            },
            "challengeMismatch",
        ),
    ] {
        let (opts, state) = rp
            .start_registration(&[1], "a@b.c", "A", vec![], false)
            .unwrap();
        let resp = SoftKey::ed25519(AAGUID).register(&opts, ORIGIN, &q);
        assert_eq!(
            rp.finish_registration(&resp, &state, SystemTime::now())
                .unwrap_err()
                .code,
            code
        );
    }
}

/// R17: a registration whose options did not offer EdDSA does not store an Ed25519 key.
#[test]
fn r17_an_ed25519_key_is_refused_where_eddsa_was_not_offered() {
    let rp = rp();
    let (opts, state) = rp
        .start_registration(&[1], "a@b.c", "A", vec![], false)
        .unwrap();
    let mut v = serde_json::to_value(&state).unwrap();
    v["credential_algorithms"] = serde_json::json!(["ES256", "RS256"]);
    let state = serde_json::from_value(v).unwrap();
    let resp = SoftKey::ed25519(AAGUID).register(&opts, ORIGIN, &Quirks::default());
    assert_eq!(
        rp.finish_registration(&resp, &state, SystemTime::now())
            .unwrap_err()
            .code,
        "algorithmNotOffered"
    );
}

/// R17, R22: a real Ed25519 passkey (a YubiKey Bio's registration and a later sign-in, from
/// java-webauthn-server's RealExamples) is verified: the registration's packed statement with
/// the Yubico chain, and the assertion's Ed25519 signature; a byte changed refuses it.
#[test]
fn r17_a_real_ed25519_registration_and_sign_in_are_verified() {
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../cli/tests/vectors/packed-ed25519.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let origin = url::Url::parse(v["origin"].as_str().unwrap()).unwrap();
    let rp = RelyingParty::danger_with_origin(v["rpId"].as_str().unwrap(), &origin, "Yubico demo");
    let b64 = |s: &str| {
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, s).unwrap()
    };
    let state = rp
        .danger_state_for_foreign_challenge(&b64(v["challenge"].as_str().unwrap()))
        .unwrap();
    let cred = rp
        .finish_registration(&v["response"], &state, SystemTime::now())
        .expect("the real registration verifies");
    assert_eq!(
        (cred.fmt.as_str(), cred.attestation, cred.user_verified),
        ("packed", AttestationKind::Basic, true)
    );
    assert!(
        cred.aaguid_signed,
        "the Yubico certificate carries the AAGUID"
    );
    assert_eq!(
        serde_json::to_value(&cred.credential).unwrap()["cred"]["type_"],
        "EDDSA"
    );
    // The later sign-in, answering its own challenge.
    let (_, st) = rp
        .start_authentication(vec![cred.credential.clone()])
        .unwrap();
    let mut sv = serde_json::to_value(&st).unwrap();
    sv["challenge"] = v["assertion"]["challenge"].clone();
    let st = serde_json::from_value(sv).unwrap();
    let assertion = RelyingParty::parse_assertion(&v["assertion"]["response"]).unwrap();
    let a = rp
        .finish_authentication(&assertion, &st, &cred.credential, 4)
        .expect("the real assertion verifies");
    assert_eq!((a.counter, a.user_verified), (8, true));
    let mut tampered = assertion.clone();
    if let Some(b) = tampered.response.authenticator_data.last_mut() {
        *b ^= 1;
    }
    assert_eq!(
        rp.finish_authentication(&tampered, &st, &cred.credential, 4)
            .unwrap_err()
            .code,
        "badSignature",
        "a changed counter byte breaks the Ed25519 signature"
    );
}

/// Issue 18 (R22): ES256 and Ed25519 signatures are verified with `ring` while the library
/// checks the rest against a sentinel key. Every check still fails with its own reason, in
/// the library's order, a signature `ring` refuses is refused, the counter rule holds — and
/// a credential this service does not hold is refused by the same checks.
#[test]
fn r22_signatures_verified_with_ring_keep_every_check_of_the_library() {
    let rp = rp();
    for mut key in [SoftKey::new(AAGUID), SoftKey::ed25519(AAGUID)] {
        let (opts, state) = rp
            .start_registration(&[1], "a@b.c", "A", vec![], true)
            .unwrap();
        let resp = key.register(&opts, ORIGIN, &Quirks::default());
        let cred = rp
            .finish_registration(&resp, &state, SystemTime::now())
            .unwrap()
            .credential;
        let cases: Vec<(Quirks, u32, Result<u32, &str>)> = vec![
            (Quirks::default(), 0, Ok(1)),
            (
                Quirks {
                    counter: Some(9),
                    ..Default::default()
                },
                3,
                Ok(9),
            ),
            (
                Quirks {
                    bad_signature: true,
                    ..Default::default()
                },
                0,
                Err("badSignature"),
            ),
            (
                Quirks {
                    origin: Some("https://evil.example".into()),
                    ..Default::default()
                },
                0,
                Err("originMismatch"),
            ),
            (
                Quirks {
                    rp_id: Some("evil.example".into()),
                    ..Default::default()
                },
                0,
                Err("rpIdMismatch"),
            ),
            (
                Quirks {
                    challenge: Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()),
                    ..Default::default()
                },
                0,
                Err("challengeMismatch"),
            ),
            (
                Quirks {
                    no_uv: true,
                    ..Default::default()
                },
                0,
                Err("userNotVerified"),
            ),
            // The library's order: the origin is named before the signature.
            (
                Quirks {
                    origin: Some("https://evil.example".into()),
                    bad_signature: true,
                    ..Default::default()
                },
                0,
                Err("originMismatch"),
            ),
            // The counter rule: not greater than the stored one.
            (
                Quirks {
                    counter: Some(5),
                    ..Default::default()
                },
                5,
                Err("counterRegression"),
            ),
            // ... checked after the signature: a forgery with an old counter is a forgery.
            (
                Quirks {
                    counter: Some(5),
                    bad_signature: true,
                    ..Default::default()
                },
                5,
                Err("badSignature"),
            ),
        ];
        for (q, stored, want) in cases {
            let (req, st) = rp.start_authentication(vec![cred.clone()]).unwrap();
            let answer = RelyingParty::parse_assertion(&key.assert(&req, ORIGIN, &q)).unwrap();
            let got = rp
                .finish_authentication(&answer, &st, &cred, stored)
                .map(|a| a.counter)
                .map_err(|e| e.code);
            assert_eq!(got, want, "{q:?}, stored counter {stored}");
            // Sent for a credential this service does not hold, the same answer is refused
            // by the same checks — as a wrong signature where it otherwise passes.
            let decoy = rp.refuse_unknown_credential(&answer, &st).code;
            let expected = match want {
                Ok(_) | Err("counterRegression") => "badSignature",
                Err(code) => code,
            };
            assert_eq!(decoy, expected, "decoy: {q:?}");
        }
    }
}
