//! R17/R16: only algorithms the server can verify are offered, and a key of another kind
//! submitted anyway is refused by name rather than as a vague attestation failure.

use portcullis_testkit::softkey::{edit_attestation_object, Quirks, SoftKey};
use portcullis_webauthn::RelyingParty;
use serde_cbor_2::Value as Cbor;
use std::time::SystemTime;

const ORIGIN: &str = "https://id.contoso.test";

#[test]
fn r17_offers_only_verifiable_algorithms_and_names_an_eddsa_key_unsupported() {
    let rp = RelyingParty::new(&url::Url::parse(ORIGIN).unwrap(), "Contoso").unwrap();
    let (opts, state) = rp
        .start_registration(&[1], "a@b.c", "A", vec![], false)
        .unwrap();
    let algs: Vec<i64> = opts["pubKeyCredParams"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["alg"].as_i64())
        .collect();
    assert_eq!(algs, vec![-7, -257]);

    // The same response with its P-256 key swapped for an Ed25519 (OKP) one.
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
                (Cbor::Integer(-1), Cbor::Integer(6)),
                (Cbor::Integer(-2), Cbor::Bytes(vec![7; 32])),
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
    assert!(e.message.contains("EdDSA"), "{e}");
}
