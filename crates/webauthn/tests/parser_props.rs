//! Property tests of the response parsers: whatever arrives — random bytes, or a valid
//! response with bytes flipped or cut — verification returns an error and never panics.
//! Bounded so it runs in the normal suite (`PROPTEST_CASES` raises the count).

// A test crate: a failed assumption is a failed test (the product denies these, Cargo.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use portcullis_testkit::softkey::{Quirks, SoftKey};
use portcullis_webauthn::RelyingParty;
use proptest::prelude::*;
use serde_json::{json, Value};

const ORIGIN: &str = "https://id.contoso.test";

fn rp() -> RelyingParty {
    RelyingParty::new(&url::Url::parse(ORIGIN).unwrap(), "Contoso").unwrap()
}

fn valid_registration() -> (RelyingParty, Value, portcullis_webauthn::RegistrationState) {
    let rp = rp();
    let (opts, state) = rp
        .start_registration(&[1, 2, 3], "a@b.c", "A", vec![], false)
        .unwrap();
    let cred = SoftKey::new("01020304-0506-0708-0102-030405060708").register(
        &opts,
        ORIGIN,
        &Quirks::default(),
    );
    (rp, cred, state)
}

fn mutate(b64: &str, at: usize, xor: u8, cut: Option<usize>) -> String {
    let mut bytes = B64.decode(b64).unwrap_or_default();
    if !bytes.is_empty() {
        let i = at % bytes.len();
        bytes[i] ^= xor.max(1);
    }
    if let Some(c) = cut {
        bytes.truncate(c % (bytes.len() + 1));
    }
    B64.encode(bytes)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn random_registration_bytes_are_refused_without_panic(ao in proptest::collection::vec(any::<u8>(), 0..512), cd in proptest::collection::vec(any::<u8>(), 0..256)) {
        let (rp, _, state) = valid_registration();
        let body = json!({"id": "AA", "rawId": "AA", "type": "public-key", "response": {"attestationObject": B64.encode(&ao), "clientDataJSON": B64.encode(&cd)}});
        prop_assert!(rp.finish_registration(&body, &state, std::time::SystemTime::now()).is_err());
    }

    #[test]
    fn a_flipped_or_truncated_attestation_object_is_refused_without_panic(at in any::<usize>(), xor in any::<u8>(), cut in proptest::option::of(any::<usize>())) {
        let (rp, mut cred, state) = valid_registration();
        let ao = cred["response"]["attestationObject"].as_str().unwrap().to_string();
        cred["response"]["attestationObject"] = json!(mutate(&ao, at, xor, cut));
        // Most mutations must fail; a flip inside a part nobody signs (none attestation) may
        // still verify, which is fine — the point is that nothing panics.
        let _ = rp.finish_registration(&cred, &state, std::time::SystemTime::now());
    }

    #[test]
    fn random_assertions_are_refused_without_panic(ad in proptest::collection::vec(any::<u8>(), 0..128), sig in proptest::collection::vec(any::<u8>(), 0..96), cd in proptest::collection::vec(any::<u8>(), 0..256)) {
        let (rp, cred, state) = valid_registration();
        let registered = rp.finish_registration(&cred, &state, std::time::SystemTime::now()).unwrap();
        let (_, auth_state) = rp.start_authentication(vec![registered.credential.clone()]).unwrap();
        let body = json!({"id": cred["id"], "rawId": cred["rawId"], "type": "public-key", "response": {"authenticatorData": B64.encode(&ad), "signature": B64.encode(&sig), "clientDataJSON": B64.encode(&cd)}});
        // Refused when read (client data or authenticator data that do not read), or else
        // when verified; never accepted, never a panic.
        match RelyingParty::parse_assertion(&body) {
            Err(e) => prop_assert_eq!(e.code, "malformedResponse"),
            Ok(p) => prop_assert!(rp.finish_authentication(&p, &auth_state, &registered.credential, 0).is_err()),
        }
    }
}

/// Shapes a lenient parser let through, each refused by name: authenticator data with bytes
/// after what its flags announce (no ED flag), an `attStmt` that is not a map, and a
/// credential whose `type` is not `public-key` (registration and sign-in alike).
#[test]
fn trailing_bytes_a_statement_that_is_no_map_and_a_wrong_type_are_refused() {
    use portcullis_testkit::softkey::edit_attestation_object;
    use serde_cbor_2::Value as Cbor;
    let now = std::time::SystemTime::now();
    let (rp, good, state) = valid_registration();
    assert!(
        rp.finish_registration(&good, &state, now).is_ok(),
        "the unedited response registers"
    );

    let mut trailing = good.clone();
    edit_attestation_object(&mut trailing, |m| {
        if let Some(Cbor::Bytes(ad)) = m.get_mut(&Cbor::Text("authData".into())) {
            assert_eq!(ad[32] & 0x80, 0, "no extensions announced");
            ad.extend([0xa0, 0x00, 0x00]);
        }
    });
    let e = rp
        .finish_registration(&trailing, &state, now)
        .expect_err("trailing bytes");
    assert_eq!(e.code, "malformedAuthenticatorData", "{e}");
    assert!(e.message.contains("3 byte(s) after"), "{e}");

    let mut not_a_map = good.clone();
    edit_attestation_object(&mut not_a_map, |m| {
        m.insert(Cbor::Text("attStmt".into()), Cbor::Array(vec![]));
    });
    let e = rp
        .finish_registration(&not_a_map, &state, now)
        .expect_err("attStmt array");
    assert!(e.message.contains("attStmt"), "{e}");

    for t in [json!("private-key"), json!("")] {
        let mut wrong = good.clone();
        wrong["type"] = t.clone();
        let e = rp
            .finish_registration(&wrong, &state, now)
            .expect_err("wrong type");
        assert_eq!(e.code, "malformedCredentialType", "{t}: {e}");
        let mut assertion = json!({"id": "AA", "rawId": "AA", "type": "public-key",
            "response": {"clientDataJSON": "AA", "authenticatorData": "AA", "signature": "AA"}});
        // With its type right, this one is refused for what it carries…
        let e = RelyingParty::parse_assertion(&assertion).expect_err("junk data");
        assert_eq!(e.code, "malformedResponse", "{e}");
        // …with its type wrong, for its type first.
        assertion["type"] = t.clone();
        let e = RelyingParty::parse_assertion(&assertion).expect_err("wrong type");
        assert_eq!(e.code, "malformedCredentialType", "{t}: {e}");
    }
}

/// SPEC §7 (bad input changes nothing): a response that does not read is refused as
/// malformed when it is read — before any ceremony is looked up, so a service can refuse it
/// without spending one — and an `id` that is not `rawId`, a hint of the wrong type, or
/// client data that is not JSON are such responses.
#[test]
fn a_response_that_does_not_read_is_refused_when_read() {
    let (_, good, _) = valid_registration();
    assert!(RelyingParty::parse_registration(&good).is_ok());
    type Edit = (&'static str, fn(&mut Value));
    let edits: [Edit; 7] = [
        ("id is not rawId", |v| v["id"] = json!("AAAA")),
        ("rawId is empty", |v| {
            v["rawId"] = json!("");
            v["id"] = json!("");
        }),
        ("authenticatorAttachment is a number", |v| {
            v["authenticatorAttachment"] = json!(1)
        }),
        ("clientExtensionResults is a list", |v| {
            v["clientExtensionResults"] = json!([])
        }),
        ("clientDataJSON is not JSON", |v| {
            v["response"]["clientDataJSON"] = json!(B64.encode(b"not json"))
        }),
        ("clientDataJSON has no challenge", |v| {
            v["response"]["clientDataJSON"] =
                json!(B64.encode(br#"{"type":"webauthn.create","origin":"https://x"}"#))
        }),
        ("the attestation object is empty", |v| {
            v["response"]["attestationObject"] = json!("")
        }),
    ];
    for (what, edit) in edits {
        let mut bad = good.clone();
        edit(&mut bad);
        let e = RelyingParty::parse_registration(&bad).expect_err(what);
        assert!(e.code.starts_with("malformed"), "{what}: {e}");
    }
    // The same rules on the sign-in side.
    let assertion = json!({"id": "AAAA", "rawId": "AAAB", "type": "public-key",
        "response": {"clientDataJSON": B64.encode(br#"{"type":"webauthn.get","challenge":"AAAA","origin":"https://x"}"#),
                     "authenticatorData": B64.encode([0u8; 37]), "signature": "AA"}});
    let e = RelyingParty::parse_assertion(&assertion).expect_err("id is not rawId");
    assert_eq!(e.code, "malformedResponse", "{e}");
    let mut fixed = assertion.clone();
    fixed["id"] = json!("AAAB");
    assert!(
        RelyingParty::parse_assertion(&fixed).is_ok(),
        "a response that reads"
    );
    fixed["response"]["authenticatorData"] = json!(B64.encode([0u8; 12]));
    let e = RelyingParty::parse_assertion(&fixed).expect_err("short authenticator data");
    assert_eq!(e.code, "malformedResponse", "{e}");
}
