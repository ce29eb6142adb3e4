//! R4: trust verdicts for packed chains from a test CA, at a given time.

use portcullis_testkit::softkey::{Quirks, SoftKey};
use portcullis_testkit::testca::TestCa;
use portcullis_webauthn::{
    verify_trust, AttestationKind, RelyingParty, RootEntry, TrustRoots, TrustVerdict,
};
use std::time::SystemTime;

const ORIGIN: &str = "https://id.contoso.test";
const AAGUID: &str = "cb69481e-8ff7-4039-93ec-0a2729a154a8";

#[test]
fn a_packed_chain_is_trusted_only_by_its_root_and_for_its_aaguid() {
    let rp = RelyingParty::new(&url::Url::parse(ORIGIN).unwrap(), "Contoso").unwrap();
    let ca = TestCa::new("Vendor");
    let (opts, state) = rp
        .start_registration(&[1], "a@b.c", "A", vec![], true)
        .unwrap();
    let resp = SoftKey::new(AAGUID).register(
        &opts,
        ORIGIN,
        &Quirks {
            attestation: Some(ca.issue(AAGUID)),
            ..Default::default()
        },
    );
    let cred = rp
        .finish_registration(&resp, &state, std::time::SystemTime::now())
        .expect("verified");
    assert_eq!(
        (cred.fmt.as_str(), cred.attestation),
        ("packed", AttestationKind::Basic)
    );
    let aaguid = uuid::Uuid::parse_str(AAGUID).unwrap();
    let mine = TrustRoots::new(&[RootEntry {
        aaguid,
        name: "Vendor".into(),
        roots: vec![ca.der()],
    }]);
    assert_eq!(
        verify_trust(&cred, &mine, SystemTime::now()),
        TrustVerdict::Trusted
    );
    let other = TrustRoots::new(&[RootEntry {
        aaguid,
        name: "Other".into(),
        roots: vec![TestCa::new("Other").der()],
    }]);
    assert!(matches!(
        verify_trust(&cred, &other, SystemTime::now()),
        TrustVerdict::Untrusted(_)
    ));
    let wrong_model = TrustRoots::new(&[RootEntry {
        aaguid: uuid::Uuid::new_v4(),
        name: "Vendor".into(),
        roots: vec![ca.der()],
    }]);
    assert!(matches!(
        verify_trust(&cred, &wrong_model, SystemTime::now()),
        TrustVerdict::Untrusted(_)
    ));
    // The verification time is an argument: far in the future the certificates have expired.
    let later = SystemTime::now() + std::time::Duration::from_secs(60 * 60 * 24 * 365 * 5000);
    assert!(matches!(
        verify_trust(&cred, &mine, later),
        TrustVerdict::Untrusted(_)
    ));
}

#[test]
fn r7_an_mds3_blob_is_verified_to_its_root_at_a_given_time() {
    use portcullis_webauthn::{verify_blob, MdsError};
    let root = TestCa::new("Test MDS Root");
    let signer = root.signer("Test MDS signer");
    let payload = serde_json::json!({
        "legalHeader": "test", "no": 42, "nextUpdate": "2026-12-01",
        "entries": [
            {"aaguid": AAGUID, "metadataStatement": {"description": "Test Key", "attestationRootCertificates": ["MIIB"]}, "statusReports": [{"status": "FIDO_CERTIFIED_L1"}]},
            {"aaguid": "11111111-2222-3333-4444-555555555555", "metadataStatement": {"description": "Revoked Key", "attestationRootCertificates": ["MIIB"]}, "statusReports": [{"status": "FIDO_CERTIFIED"}, {"status": "REVOKED"}]},
            {"aaid": "4e4e#4005", "metadataStatement": {"description": "UAF only"}}
        ]
    });
    let jws = TestCa::jws(&signer, &payload);
    let blob = verify_blob(&jws, &[root.der()], SystemTime::now()).expect("verified");
    assert_eq!(
        (blob.no, blob.next_update.as_str(), blob.entries.len()),
        (42, "2026-12-01", 2)
    );
    assert_eq!(blob.entries[0].roots, vec!["MIIB".to_string()]);
    assert!(
        blob.entries[1].roots.is_empty(),
        "a revoked model keeps its name, not its roots"
    );
    assert!(matches!(
        verify_blob(&jws, &[TestCa::new("Other").der()], SystemTime::now()),
        Err(MdsError::Chain(_))
    ));
    let later = SystemTime::now() + std::time::Duration::from_secs(60 * 60 * 24 * 365 * 5000);
    assert!(
        matches!(
            verify_blob(&jws, &[root.der()], later),
            Err(MdsError::Chain(_))
        ),
        "expired at that time"
    );
    let mut parts: Vec<String> = jws.split('.').map(str::to_string).collect();
    parts[1] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        serde_json::json!({"no": 43, "entries": []}).to_string(),
    );
    assert!(
        matches!(
            verify_blob(&parts.join("."), &[root.der()], SystemTime::now()),
            Err(MdsError::Signature(_))
        ),
        "a tampered payload"
    );
    assert!(matches!(
        verify_blob("not a jws", &[root.der()], SystemTime::now()),
        Err(MdsError::Format(_))
    ));
    assert!(
        !portcullis_webauthn::mds::globalsign_roots().is_empty(),
        "the GlobalSign roots ship with the binary"
    );
}
