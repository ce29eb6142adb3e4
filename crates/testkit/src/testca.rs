//! A test certificate authority that issues FIDO attestation certificates for a chosen
//! AAGUID (TESTING.md): leaf with `OU=Authenticator Attestation`, `CA=false` and the
//! extension 1.3.6.1.4.1.45724.1.1.4 = OCTET STRING(AAGUID). Test support only.

use p256::ecdsa::SigningKey;
use p256::pkcs8::EncodePrivateKey;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, KeyPair,
    KeyUsagePurpose,
};

/// A root CA.
pub struct TestCa {
    cert: rcgen::Certificate,
    key: KeyPair,
}

/// An attestation leaf: its DER and its private key (which signs the attestation statement).
#[derive(Clone, Debug)]
pub struct AttestationLeaf {
    /// DER of the leaf certificate.
    pub der: Vec<u8>,
    /// Its key.
    pub key: SigningKey,
}

impl TestCa {
    /// A new self-signed root named `name`.
    pub fn new(name: &str) -> TestCa {
        let key = KeyPair::generate().expect("CA key");
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        dn.push(DnType::OrganizationName, "Portcullis Test");
        p.distinguished_name = dn;
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = p.self_signed(&key).expect("self-signed CA");
        TestCa { cert, key }
    }

    /// The root's DER.
    pub fn der(&self) -> Vec<u8> {
        self.cert.der().to_vec()
    }

    /// The root as PEM.
    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// The root as standard base64 (as in a FIDO metadata statement).
    pub fn base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(self.der())
    }

    /// Issues a plain signing leaf (e.g. the signer of a metadata BLOB).
    pub fn signer(&self, cn: &str) -> AttestationLeaf {
        let leaf_key = SigningKey::random(&mut rand::rngs::OsRng);
        let pkcs8 = leaf_key.to_pkcs8_der().expect("pkcs8");
        let kp = KeyPair::try_from(pkcs8.as_bytes()).expect("leaf key pair");
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, cn);
        p.distinguished_name = dn;
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let cert = p.signed_by(&kp, &self.cert, &self.key).expect("leaf");
        AttestationLeaf {
            der: cert.der().to_vec(),
            key: leaf_key,
        }
    }

    /// A compact ES256 JWS of `payload`, signed by `leaf`, with `x5c = [leaf]`.
    pub fn jws(leaf: &AttestationLeaf, payload: &serde_json::Value) -> String {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        use base64::Engine;
        use p256::ecdsa::signature::Signer;
        let header =
            serde_json::json!({"alg": "ES256", "typ": "JWT", "x5c": [STANDARD.encode(&leaf.der)]});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string())
        );
        let sig: p256::ecdsa::Signature = leaf.key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }

    /// Issues an attestation leaf for `aaguid` (hex with dashes).
    pub fn issue(&self, aaguid: &str) -> AttestationLeaf {
        self.issue_for(Some(aaguid))
    }

    /// Issues a packed attestation leaf that meets the packed certificate requirements but
    /// carries no AAGUID extension: its statements sign no model (R32).
    pub fn issue_without_aaguid(&self) -> AttestationLeaf {
        self.issue_for(None)
    }

    fn issue_for(&self, aaguid: Option<&str>) -> AttestationLeaf {
        let leaf_key = SigningKey::random(&mut rand::rngs::OsRng);
        let pkcs8 = leaf_key.to_pkcs8_der().expect("pkcs8");
        let kp = KeyPair::try_from(pkcs8.as_bytes()).expect("leaf key pair");
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "SE");
        dn.push(DnType::OrganizationName, "Portcullis Test");
        dn.push(DnType::OrganizationalUnitName, "Authenticator Attestation");
        dn.push(DnType::CommonName, "Test Authenticator");
        p.distinguished_name = dn;
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if let Some(aaguid) = aaguid {
            let hex: String = aaguid.chars().filter(|c| *c != '-').collect();
            let bytes: Vec<u8> = (0..16)
                .map(|i| {
                    u8::from_str_radix(hex.get(i * 2..i * 2 + 2).unwrap_or("00"), 16).unwrap_or(0)
                })
                .collect();
            let mut octet = vec![0x04, 16];
            octet.extend_from_slice(&bytes);
            p.custom_extensions.push(CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 4, 1, 45724, 1, 1, 4],
                octet,
            ));
        }
        let cert = p.signed_by(&kp, &self.cert, &self.key).expect("leaf");
        AttestationLeaf {
            der: cert.der().to_vec(),
            key: leaf_key,
        }
    }
}
