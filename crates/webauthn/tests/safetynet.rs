//! R4: `android-safetynet` statements from a test CA standing in for Google's — each of the
//! statement's checks refuses when broken, the library's own checks still run, and a good
//! statement is basic attestation whose chain is trusted only by its root.

// A test crate: a failed assumption is a failed test (the product denies these, Cargo.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use portcullis_testkit::softkey::{Quirks, SafetyNet, SoftKey};
use portcullis_testkit::testca::{AttestationLeaf, TestCa};
use portcullis_webauthn::{
    verify_trust, AttestationKind, CeremonyError, NewCredential, RelyingParty, RootEntry,
    RootScope, TrustRoots, TrustVerdict,
};
use std::time::SystemTime;

const ORIGIN: &str = "https://id.contoso.test";
const AAGUID: &str = "b93fd961-f2e6-462f-b122-82002247de78";

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn statement(leaf: &AttestationLeaf) -> SafetyNet {
    SafetyNet {
        leaf: leaf.clone(),
        cts_profile_match: true,
        timestamp_ms: now_ms(),
        nonce: None,
    }
}

fn register(sn: SafetyNet, origin: &str) -> Result<NewCredential, CeremonyError> {
    let rp = RelyingParty::new(&url::Url::parse(ORIGIN).unwrap(), "Contoso").unwrap();
    let (opts, state) = rp
        .start_registration(&[1], "a@b.c", "A", vec![], true)
        .unwrap();
    let resp = SoftKey::new(AAGUID).register(
        &opts,
        origin,
        &Quirks {
            safetynet: Some(sn),
            ..Default::default()
        },
    );
    rp.finish_registration(&resp, &state, SystemTime::now())
}

#[test]
fn r4_a_good_statement_is_basic_attestation_trusted_only_by_its_root() {
    let google = TestCa::new("Test Google Root");
    let leaf = google.signer("attest.android.com");
    let cred = register(statement(&leaf), ORIGIN).expect("accepted");
    assert_eq!(
        (cred.fmt.as_str(), cred.attestation, cred.x5c.clone()),
        ("android-safetynet", AttestationKind::Basic, vec![leaf.der])
    );
    let aaguid = uuid::Uuid::parse_str(AAGUID).unwrap();
    let roots = |scope: RootScope, der: Vec<u8>| {
        TrustRoots::new(&[RootEntry {
            scope,
            name: "Android".into(),
            roots: vec![der],
        }])
    };
    assert_eq!(
        verify_trust(
            &cred,
            &roots(RootScope::AnyModel, google.der()),
            SystemTime::now()
        ),
        TrustVerdict::Trusted {
            aaguid_attested: false
        },
        "R32: a SafetyNet statement signs no AAGUID, so a trusted chain leaves it self-reported"
    );
    assert!(
        matches!(
            verify_trust(&cred, &roots(RootScope::Model(aaguid), google.der()), SystemTime::now()),
            TrustVerdict::Untrusted(why) if why.contains("does not sign the AAGUID")
        ),
        "R4: a root trusted for this one model cannot vouch for an AAGUID the statement does not sign"
    );
    assert!(matches!(
        verify_trust(
            &cred,
            &roots(RootScope::AnyModel, TestCa::new("Other").der()),
            SystemTime::now()
        ),
        TrustVerdict::Untrusted(_)
    ));
}

#[test]
fn r4_each_statement_check_refuses_when_broken() {
    let google = TestCa::new("Test Google Root");
    let leaf = google.signer("attest.android.com");
    let refused = |sn: SafetyNet| register(sn, ORIGIN).expect_err("refused");

    let e = refused(SafetyNet {
        cts_profile_match: false,
        ..statement(&leaf)
    });
    assert_eq!(e.code, "deviceIntegrity", "{e}");

    let e = refused(SafetyNet {
        nonce: Some("AAAA".into()),
        ..statement(&leaf)
    });
    assert_eq!(e.code, "attestationInvalid", "{e}");
    assert!(e.message.contains("nonce"), "{e}");

    let e = refused(statement(&google.signer("attest.evil.example")));
    assert_eq!(e.code, "attestationInvalid", "{e}");
    assert!(e.message.contains("attest.android.com"), "{e}");

    let e = refused(SafetyNet {
        timestamp_ms: now_ms() + 10 * 60 * 1000,
        ..statement(&leaf)
    });
    assert!(e.message.contains("dated after"), "{e}");

    // Signed by a key other than its certificate's.
    let mut forged = leaf.clone();
    forged.key = google.signer("attest.android.com").key;
    let e = refused(statement(&forged));
    assert_eq!(e.code, "attestationInvalid", "{e}");
    assert!(e.message.contains("signature"), "{e}");

    // The library's checks still run on a safetynet response.
    let e = register(statement(&leaf), "https://evil.example").expect_err("refused");
    assert_eq!(e.code, "originMismatch", "{e}");

    // A statement made moments ago (within the clock skew) is accepted.
    register(
        SafetyNet {
            timestamp_ms: now_ms() + 30_000,
            ..statement(&leaf)
        },
        ORIGIN,
    )
    .expect("within skew");
}

#[test]
fn a_malformed_statement_is_refused_by_name_without_panicking() {
    use portcullis_testkit::softkey::edit_attestation_object;
    use serde_cbor_2::Value as Cbor;
    let google = TestCa::new("Test Google Root");
    let rp = RelyingParty::new(&url::Url::parse(ORIGIN).unwrap(), "Contoso").unwrap();
    let text = |s: &str| Cbor::Text(s.into());
    for (stmt, expect) in [
        (
            vec![(text("response"), Cbor::Bytes(b"a.b.c".to_vec()))],
            "ver",
        ),
        (
            vec![
                (text("ver"), text("1")),
                (text("response"), Cbor::Bytes(vec![0xff, 0xfe])),
            ],
            "UTF-8",
        ),
        (
            vec![
                (text("ver"), text("1")),
                (text("response"), Cbor::Bytes(b"not a jws".to_vec())),
            ],
            "not a JWS",
        ),
        (vec![(text("ver"), text("1"))], "response is missing"),
    ] {
        let (opts, state) = rp
            .start_registration(&[1], "a@b.c", "A", vec![], true)
            .unwrap();
        let mut resp = SoftKey::new(AAGUID).register(
            &opts,
            ORIGIN,
            &Quirks {
                safetynet: Some(statement(&google.signer("attest.android.com"))),
                ..Default::default()
            },
        );
        edit_attestation_object(&mut resp, |m| {
            m.insert(text("attStmt"), Cbor::Map(stmt.into_iter().collect()));
        });
        let e = rp
            .finish_registration(&resp, &state, SystemTime::now())
            .expect_err("refused");
        assert_eq!(e.code, "attestationInvalid", "{e}");
        assert!(e.message.contains(expect), "{expect}: {e}");
    }
}
