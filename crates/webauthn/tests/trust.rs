//! R4: trust verdicts for packed chains from a test CA, at a given time.

use portcullis_testkit::softkey::{Quirks, SoftKey};
use portcullis_testkit::testca::TestCa;
use portcullis_webauthn::{verify_trust, AttestationKind, RelyingParty, RootEntry, TrustRoots, TrustVerdict};
use std::time::SystemTime;

const ORIGIN: &str = "https://id.contoso.test";
const AAGUID: &str = "cb69481e-8ff7-4039-93ec-0a2729a154a8";

#[test]
fn a_packed_chain_is_trusted_only_by_its_root_and_for_its_aaguid() {
    let rp = RelyingParty::new(&url::Url::parse(ORIGIN).unwrap(), "Contoso").unwrap();
    let ca = TestCa::new("Vendor");
    let (opts, state) = rp.start_registration(&[1], "a@b.c", "A", vec![], true).unwrap();
    let resp = SoftKey::new(AAGUID).register(&opts, ORIGIN, &Quirks { attestation: Some(ca.issue(AAGUID)), ..Default::default() });
    let cred = rp.finish_registration(&resp, &state).expect("verified");
    assert_eq!((cred.fmt.as_str(), cred.attestation), ("packed", AttestationKind::Basic));
    let aaguid = uuid::Uuid::parse_str(AAGUID).unwrap();
    let mine = TrustRoots::new(&[RootEntry { aaguid, name: "Vendor".into(), roots: vec![ca.der()] }]);
    assert_eq!(verify_trust(&cred, &mine, SystemTime::now()), TrustVerdict::Trusted);
    let other = TrustRoots::new(&[RootEntry { aaguid, name: "Other".into(), roots: vec![TestCa::new("Other").der()] }]);
    assert!(matches!(verify_trust(&cred, &other, SystemTime::now()), TrustVerdict::Untrusted(_)));
    let wrong_model = TrustRoots::new(&[RootEntry { aaguid: uuid::Uuid::new_v4(), name: "Vendor".into(), roots: vec![ca.der()] }]);
    assert!(matches!(verify_trust(&cred, &wrong_model, SystemTime::now()), TrustVerdict::Untrusted(_)));
    // The verification time is an argument: far in the future the certificates have expired.
    let later = SystemTime::now() + std::time::Duration::from_secs(60 * 60 * 24 * 365 * 5000);
    assert!(matches!(verify_trust(&cred, &mine, later), TrustVerdict::Untrusted(_)));
}
