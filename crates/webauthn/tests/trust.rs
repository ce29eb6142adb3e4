//! R4, R32: trust verdicts at a given time, for statements that sign their AAGUID and for
//! statements that do not — and the attacks on the difference.

// A test crate: a failed assumption is a failed test (the product denies these, Cargo.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use portcullis_testkit::softkey::{Quirks, SoftKey};
use portcullis_testkit::testca::IssuerKind;
use portcullis_testkit::testca::TestCa;
use portcullis_webauthn::{
    verify_blob, verify_trust, AttestationKind, BlobCheck, MdsError, NewCredential, RelyingParty,
    RootEntry, RootScope, Staleness, TrustRoots, TrustVerdict, MDS_SIGNER,
};
use std::time::SystemTime;
use uuid::Uuid;

const ORIGIN: &str = "https://id.contoso.test";
const AAGUID: &str = "cb69481e-8ff7-4039-93ec-0a2729a154a8";
/// A cheaper model of the same vendor, whose root is the same.
const CHEAP: &str = "ee882879-721c-4913-9775-3dfcce97072a";

fn rp() -> RelyingParty {
    RelyingParty::new(&url::Url::parse(ORIGIN).unwrap(), "Contoso").unwrap()
}

/// Registers a soft key reporting `aaguid`, with the quirks' statement.
fn register(aaguid: &str, q: &Quirks) -> Result<NewCredential, portcullis_webauthn::CeremonyError> {
    let rp = rp();
    let (opts, state) = rp
        .start_registration(&[1], "a@b.c", "A", vec![], true)
        .unwrap();
    let resp = SoftKey::new(aaguid).register(&opts, ORIGIN, q);
    rp.finish_registration(&resp, &state, SystemTime::now())
}

fn roots(scope: RootScope, ca: &TestCa) -> TrustRoots {
    TrustRoots::new(&[RootEntry {
        scope,
        name: "Vendor".into(),
        roots: vec![ca.der()],
    }])
}

fn model(a: &str) -> RootScope {
    RootScope::Model(Uuid::parse_str(a).unwrap())
}

#[test]
fn r4_a_packed_chain_is_trusted_only_by_its_root_and_for_its_aaguid() {
    let ca = TestCa::new("Vendor");
    let cred = register(
        AAGUID,
        &Quirks {
            attestation: Some(ca.issue(AAGUID)),
            ..Default::default()
        },
    )
    .expect("verified");
    assert_eq!(
        (cred.fmt.as_str(), cred.attestation, cred.aaguid_signed),
        ("packed", AttestationKind::Basic, true)
    );
    let mine = roots(model(AAGUID), &ca);
    assert_eq!(
        verify_trust(&cred, &mine, SystemTime::now()),
        TrustVerdict::Trusted {
            aaguid_attested: true
        }
    );
    assert!(matches!(
        verify_trust(
            &cred,
            &roots(model(AAGUID), &TestCa::new("Other")),
            SystemTime::now()
        ),
        TrustVerdict::Untrusted(_)
    ));
    assert!(matches!(
        verify_trust(
            &cred,
            &roots(RootScope::Model(Uuid::new_v4()), &ca),
            SystemTime::now()
        ),
        TrustVerdict::Untrusted(_)
    ));
    // The verification time is an argument: far in the future the certificates have expired.
    let later = SystemTime::now() + std::time::Duration::from_secs(60 * 60 * 24 * 365 * 5000);
    assert!(matches!(
        verify_trust(&cred, &mine, later),
        TrustVerdict::Untrusted(_)
    ));
}

/// The attack: a statement that does not sign the AAGUID, from a genuine key of a cheap model
/// whose vendor root is also listed for the expensive model, claiming the expensive one.
#[test]
fn r4_r32_a_root_listed_for_a_model_does_not_attest_an_aaguid_the_statement_does_not_sign() {
    let ca = TestCa::new("Vendor");
    // Both models list the vendor's one root, as metadata statements do.
    let listed = TrustRoots::new(&[
        RootEntry {
            scope: model(AAGUID),
            name: "Expensive".into(),
            roots: vec![ca.der()],
        },
        RootEntry {
            scope: model(CHEAP),
            name: "Cheap".into(),
            roots: vec![ca.der()],
        },
    ]);
    // packed, certificate without the AAGUID extension, claiming the expensive model.
    let unsigned = register(
        AAGUID,
        &Quirks {
            attestation: Some(ca.issue_without_aaguid()),
            ..Default::default()
        },
    )
    .expect("the statement itself verifies");
    assert!(!unsigned.aaguid_signed);
    match verify_trust(&unsigned, &listed, SystemTime::now()) {
        TrustVerdict::Untrusted(why) => assert!(why.contains("does not sign the AAGUID"), "{why}"),
        v => panic!("a per-model root vouched for an unsigned AAGUID: {v:?}"),
    }
    // packed, certificate of the cheap model (its extension says CHEAP), claiming the
    // expensive one: the library refuses the mismatch before trust is asked.
    assert!(
        register(
            AAGUID,
            &Quirks {
                attestation: Some(ca.issue(CHEAP)),
                ..Default::default()
            },
        )
        .is_err(),
        "an AAGUID extension that disagrees with authenticatorData is refused"
    );
    // A root the store trusts for every model vouches for the chain, never for the AAGUID.
    assert_eq!(
        verify_trust(
            &unsigned,
            &roots(RootScope::AnyModel, &ca),
            SystemTime::now()
        ),
        TrustVerdict::Trusted {
            aaguid_attested: false
        }
    );
}

#[test]
fn r4_a_fido_u2f_statement_claiming_an_aaguid_is_refused_and_a_zero_one_is_never_attested() {
    let ca = TestCa::new("U2F Vendor");
    let forged = register(
        AAGUID,
        &Quirks {
            u2f: Some(ca.issue(AAGUID)),
            ..Default::default()
        },
    )
    .expect_err("a fido-u2f object claiming a model");
    assert_eq!(forged.code, "aaguidNotAttestable");
    assert!(forged.message.contains("R4"), "{}", forged.message);
    let honest = register(
        "00000000-0000-0000-0000-000000000000",
        &Quirks {
            u2f: Some(ca.issue(AAGUID)),
            ..Default::default()
        },
    )
    .expect("a U2F key reports no model");
    assert_eq!(honest.fmt, "fido-u2f");
    assert!(
        !honest.aaguid_signed,
        "fido-u2f never signs a model, whatever its certificate carries"
    );
    assert!(matches!(
        verify_trust(
            &honest,
            &roots(RootScope::Model(Uuid::nil()), &ca),
            SystemTime::now()
        ),
        TrustVerdict::Untrusted(_)
    ));
    assert_eq!(
        verify_trust(&honest, &roots(RootScope::AnyModel, &ca), SystemTime::now()),
        TrustVerdict::Trusted {
            aaguid_attested: false
        }
    );
}

/// A BLOB as the real service signs it: a leaf for mds.fidoalliance.org under an
/// intermediate under the root; `next_update` days from now; serial 42.
struct Mds {
    root: TestCa,
    intermediate: TestCa,
    signer: portcullis_testkit::testca::AttestationLeaf,
}

impl Mds {
    fn new() -> Mds {
        let root = TestCa::new("Test MDS Root");
        let intermediate = root.issue_ca("Test MDS CA", IssuerKind::Ca);
        let signer = intermediate.signer_for(MDS_SIGNER);
        Mds {
            root,
            intermediate,
            signer,
        }
    }

    fn blob(&self, next_update_days: i64) -> String {
        TestCa::jws_with_chain(
            &self.signer,
            &[self.intermediate.der()],
            &payload(next_update_days),
        )
    }
}

fn payload(next_update_days: i64) -> serde_json::Value {
    let next = (time::OffsetDateTime::now_utc() + time::Duration::days(next_update_days)).date();
    serde_json::json!({
        "legalHeader": "test", "no": 42, "nextUpdate": next.to_string(),
        "entries": [
            {"aaguid": AAGUID, "metadataStatement": {"description": "Test Key", "attestationRootCertificates": ["MIIB"]}, "statusReports": [{"status": "FIDO_CERTIFIED_L1", "effectiveDate": "2020-01-01"}]},
            {"aaguid": "11111111-2222-3333-4444-555555555555", "metadataStatement": {"description": "Revoked Key", "attestationRootCertificates": ["MIIB"]},
             "statusReports": [{"status": "REVOKED", "effectiveDate": "2024-05-01"}, {"status": "FIDO_CERTIFIED", "effectiveDate": "2020-01-01"}]},
            {"aaid": "4e4e#4005", "metadataStatement": {"description": "UAF only"}}
        ]
    })
}

fn check<'a>(roots: &'a [Vec<u8>], crls: &'a [Vec<u8>], at: SystemTime) -> BlobCheck<'a> {
    BlobCheck {
        roots,
        crls,
        signer: MDS_SIGNER,
        at,
        staleness: Staleness::Refuse,
    }
}

fn chain_refusal(r: Result<portcullis_webauthn::MdsBlob, MdsError>) -> String {
    match r {
        Err(MdsError::Chain(why)) => why,
        other => panic!("expected a certificate chain refusal, got {other:?}"),
    }
}

#[test]
fn r7_an_mds3_blob_is_verified_as_a_certification_path_at_a_given_time() {
    let m = Mds::new();
    let roots = [m.root.der()];
    let now = SystemTime::now();
    let blob = verify_blob(&m.blob(30), &check(&roots, &[], now)).expect("verified");
    assert_eq!((blob.no, blob.entries.len()), (42, 2));
    assert_eq!(blob.entries[0].roots, vec!["MIIB".to_string()]);
    assert_eq!(
        (blob.entries[1].status.as_deref(), blob.entries[1].roots.len()),
        (Some("REVOKED"), 0),
        "the latest report by effectiveDate counts, wherever it is listed; a revoked model keeps its name, not its roots"
    );
    assert!(chain_refusal(verify_blob(
        &m.blob(30),
        &check(&[TestCa::new("Other").der()], &[], now)
    ))
    .contains("path"));
    let later = now + std::time::Duration::from_secs(60 * 60 * 24 * 365 * 5000);
    assert!(
        matches!(
            verify_blob(&m.blob(30), &check(&roots, &[], later)),
            Err(MdsError::Chain(_))
        ),
        "expired at that time"
    );
    let jws = m.blob(30);
    let mut parts: Vec<String> = jws.split('.').map(str::to_string).collect();
    parts[1] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        serde_json::json!({"no": 43, "nextUpdate": "2999-01-01", "entries": []}).to_string(),
    );
    assert!(
        matches!(
            verify_blob(&parts.join("."), &check(&roots, &[], now)),
            Err(MdsError::Signature(_))
        ),
        "a tampered payload"
    );
    assert!(matches!(
        verify_blob("not a jws", &check(&roots, &[], now)),
        Err(MdsError::Format(_))
    ));
    assert!(
        !portcullis_webauthn::mds::globalsign_roots().is_empty(),
        "the GlobalSign roots ship with the binary"
    );
}

#[test]
fn r7_any_certificate_cannot_sign_a_blob_only_a_ca_path_to_the_mds_signer() {
    let m = Mds::new();
    let roots = [m.root.der()];
    let now = SystemTime::now();
    // A certificate for another name, however well chained.
    let other = m.intermediate.signer_for("attacker.example");
    let why = chain_refusal(verify_blob(
        &TestCa::jws_with_chain(&other, &[m.intermediate.der()], &payload(30)),
        &check(&roots, &[], now),
    ));
    assert!(why.contains(MDS_SIGNER), "{why}");
    // An end-entity certificate of the root used as an issuer (no CA constraint).
    let impostor = m
        .root
        .issue_ca("Leaf posing as a CA", IssuerKind::EndEntity);
    let forged = impostor.signer_for(MDS_SIGNER);
    chain_refusal(verify_blob(
        &TestCa::jws_with_chain(&forged, &[impostor.der()], &payload(30)),
        &check(&roots, &[], now),
    ));
    // A CA whose key usage does not allow signing certificates.
    let no_sign = m
        .root
        .issue_ca("CA without keyCertSign", IssuerKind::CaWithoutKeyCertSign);
    let forged = no_sign.signer_for(MDS_SIGNER);
    chain_refusal(verify_blob(
        &TestCa::jws_with_chain(&forged, &[no_sign.der()], &payload(30)),
        &check(&roots, &[], now),
    ));
    // The signer itself signing a "signer" below it.
    let signer_as_ca = m.intermediate.issue_ca(MDS_SIGNER, IssuerKind::EndEntity);
    let forged = signer_as_ca.signer_for(MDS_SIGNER);
    chain_refusal(verify_blob(
        &TestCa::jws_with_chain(
            &forged,
            &[signer_as_ca.der(), m.intermediate.der()],
            &payload(30),
        ),
        &check(&roots, &[], now),
    ));
}

#[test]
fn r7_a_revoked_signer_a_foreign_crl_and_a_stale_blob_are_refused() {
    let m = Mds::new();
    let roots = [m.root.der()];
    let now = SystemTime::now();
    let next = time::OffsetDateTime::now_utc() + time::Duration::days(7);
    let clean = m.intermediate.crl(&[], next);
    verify_blob(&m.blob(30), &check(&roots, &[clean], now)).expect("a CRL that revokes nothing");
    let revoking = m.intermediate.crl(&[&m.signer.serial], next);
    let why = chain_refusal(verify_blob(&m.blob(30), &check(&roots, &[revoking], now)));
    assert!(why.contains("Revoked"), "{why}");
    let foreign = TestCa::new("Unrelated CA").crl(&[], next);
    let why = chain_refusal(verify_blob(&m.blob(30), &check(&roots, &[foreign], now)));
    assert!(why.contains("CRL"), "{why}");
    let expired_crl = m.intermediate.crl(
        &[],
        time::OffsetDateTime::now_utc() - time::Duration::hours(1),
    );
    chain_refusal(verify_blob(
        &m.blob(30),
        &check(&roots, &[expired_crl], now),
    ));

    // nextUpdate passed: a newer BLOB exists and may revoke what this one trusts.
    assert!(matches!(
        verify_blob(&m.blob(-2), &check(&roots, &[], now)),
        Err(MdsError::Stale(_))
    ));
    let knowingly = BlobCheck {
        staleness: Staleness::DangerAcceptStale,
        ..check(&roots, &[], now)
    };
    assert!(verify_blob(&m.blob(-2), &knowingly).is_ok());
}

#[test]
fn r7_a_revoked_intermediate_two_crls_of_one_authority_and_a_wildcard_signer_are_refused() {
    use x509_parser::prelude::FromDer;
    let m = Mds::new();
    let roots = [m.root.der()];
    let now = SystemTime::now();
    let next = time::OffsetDateTime::now_utc() + time::Duration::days(7);
    // The root's CRL revokes the intermediate that issued the signer.
    let der = m.intermediate.der();
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(&der).unwrap();
    let revoking = m.root.crl(&[cert.raw_serial()], next);
    let why = chain_refusal(verify_blob(&m.blob(30), &check(&roots, &[revoking], now)));
    assert!(why.contains("Revoked"), "{why}");
    // An older CRL that revokes nothing, given before the one that revokes the signer, would
    // be the one read: two of one authority are refused.
    let old = m.intermediate.crl(&[], next);
    let revoking = m.intermediate.crl(&[&m.signer.serial], next);
    let why = chain_refusal(verify_blob(
        &m.blob(30),
        &check(&roots, &[old, revoking], now),
    ));
    assert!(why.contains("two CRLs"), "{why}");
    // A wildcard certificate covers the signer's name, but is not issued to it.
    let wildcard = m.intermediate.signer_for("*.fidoalliance.org");
    let why = chain_refusal(verify_blob(
        &TestCa::jws_with_chain(&wildcard, &[m.intermediate.der()], &payload(30)),
        &check(&roots, &[], now),
    ));
    assert!(
        why.contains("wildcard") || why.contains(MDS_SIGNER),
        "{why}"
    );
}

#[test]
fn r7_trust_once_withdrawn_stays_withdrawn_and_the_nil_aaguid_names_no_model() {
    let m = Mds::new();
    let roots = [m.root.der()];
    let next = (time::OffsetDateTime::now_utc() + time::Duration::days(30)).date();
    let entry = |aaguid: &str, reports: serde_json::Value| serde_json::json!({"aaguid": aaguid, "metadataStatement": {"description": aaguid, "attestationRootCertificates": ["MIIB"]}, "statusReports": reports});
    let payload = serde_json::json!({
        "legalHeader": "test", "no": 42, "nextUpdate": next.to_string(),
        "entries": [
            entry("00000000-0000-0000-0000-000000000000", serde_json::json!([{"status": "FIDO_CERTIFIED"}])),
            entry("11111111-1111-1111-1111-111111111111", serde_json::json!([
                {"status": "ATTESTATION_KEY_COMPROMISE", "effectiveDate": "2023-01-01"},
                {"status": "FIDO_CERTIFIED_L2", "effectiveDate": "2024-01-01"}])),
            entry("22222222-2222-2222-2222-222222222222", serde_json::json!([
                {"status": "USER_VERIFICATION_BYPASS", "effectiveDate": "2023-01-01"}])),
            entry("33333333-3333-3333-3333-333333333333", serde_json::json!([
                {"status": "FIDO_CERTIFIED", "effectiveDate": "2023-01-01"}])),
        ]
    });
    let jws = TestCa::jws_with_chain(&m.signer, &[m.intermediate.der()], &payload);
    let blob = verify_blob(&jws, &check(&roots, &[], SystemTime::now())).expect("verified");
    let roots_of = |a: &str| {
        blob.entries
            .iter()
            .find(|e| e.aaguid.to_string() == a)
            .map(|e| e.roots.len())
    };
    assert_eq!(
        roots_of("00000000-0000-0000-0000-000000000000"),
        None,
        "a BLOB cannot make roots trusted for every model"
    );
    assert_eq!(
        roots_of("11111111-1111-1111-1111-111111111111"),
        Some(0),
        "a later certification does not undo a key compromise"
    );
    assert_eq!(roots_of("22222222-2222-2222-2222-222222222222"), Some(0));
    assert_eq!(roots_of("33333333-3333-3333-3333-333333333333"), Some(1));
}
