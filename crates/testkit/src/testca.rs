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
    /// Its serial number (for revoking it in a CRL).
    pub serial: Vec<u8>,
}

fn random_serial() -> Vec<u8> {
    use rand::RngCore;
    let mut s = vec![0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut s);
    // Positive, and no leading zero byte.
    if let Some(b) = s.first_mut() {
        *b = (*b & 0x7f) | 0x40;
    }
    s
}

/// How an issued authority may be (mis)constructed, for the path validator's refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuerKind {
    /// A proper intermediate: CA, keyCertSign.
    Ca,
    /// CA=true but a key usage without keyCertSign.
    CaWithoutKeyCertSign,
    /// An end-entity certificate (CA=false) whose key is used to issue anyway.
    EndEntity,
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

    /// An authority issued by this one (an intermediate), of the given kind.
    pub fn issue_ca(&self, name: &str, kind: IssuerKind) -> TestCa {
        let key = KeyPair::generate().expect("CA key");
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        dn.push(DnType::OrganizationName, "Portcullis Test");
        p.distinguished_name = dn;
        p.serial_number = Some(rcgen::SerialNumber::from_slice(&random_serial()));
        (p.is_ca, p.key_usages) = match kind {
            IssuerKind::Ca => (
                IsCa::Ca(BasicConstraints::Unconstrained),
                vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign],
            ),
            IssuerKind::CaWithoutKeyCertSign => (
                IsCa::Ca(BasicConstraints::Unconstrained),
                vec![KeyUsagePurpose::DigitalSignature],
            ),
            IssuerKind::EndEntity => (IsCa::ExplicitNoCa, vec![KeyUsagePurpose::DigitalSignature]),
        };
        let cert = p.signed_by(&key, &self.cert, &self.key).expect("issued CA");
        TestCa { cert, key }
    }

    /// A TLS-style signing certificate for the DNS name `dns` (as the FIDO MDS signer's),
    /// with a serial number to revoke it by.
    pub fn signer_for(&self, dns: &str) -> AttestationLeaf {
        self.signing_leaf(dns, vec![dns.to_string()])
    }

    /// A signing leaf named `cn`, for the DNS names `sans`.
    fn signing_leaf(&self, cn: &str, sans: Vec<String>) -> AttestationLeaf {
        let leaf_key = SigningKey::random(&mut rand::rngs::OsRng);
        let pkcs8 = leaf_key.to_pkcs8_der().expect("pkcs8");
        let kp = KeyPair::try_from(pkcs8.as_bytes()).expect("leaf key pair");
        let mut p = CertificateParams::new(sans).expect("params");
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, cn);
        p.distinguished_name = dn;
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let serial = random_serial();
        p.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
        let cert = p.signed_by(&kp, &self.cert, &self.key).expect("leaf");
        AttestationLeaf {
            der: cert.der().to_vec(),
            key: leaf_key,
            serial,
        }
    }

    /// A CRL from this authority (DER) revoking the given serial numbers, current until
    /// `next_update`.
    pub fn crl(&self, revoked: &[&[u8]], next_update: time::OffsetDateTime) -> Vec<u8> {
        let now = time::OffsetDateTime::now_utc();
        let params = rcgen::CertificateRevocationListParams {
            this_update: now - time::Duration::days(1),
            next_update,
            crl_number: rcgen::SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|s| rcgen::RevokedCertParams {
                    serial_number: rcgen::SerialNumber::from_slice(s),
                    revocation_time: now - time::Duration::hours(1),
                    reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        params
            .signed_by(&self.cert, &self.key)
            .expect("CRL")
            .der()
            .to_vec()
    }

    /// A compact ES256 JWS of `payload`, signed by `leaf`, with `x5c = [leaf, chain…]`.
    pub fn jws_with_chain(
        leaf: &AttestationLeaf,
        chain: &[Vec<u8>],
        payload: &serde_json::Value,
    ) -> String {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        use base64::Engine;
        use p256::ecdsa::signature::Signer;
        let x5c: Vec<String> = std::iter::once(&leaf.der)
            .chain(chain)
            .map(|d| STANDARD.encode(d))
            .collect();
        let header = serde_json::json!({"alg": "ES256", "typ": "JWT", "x5c": x5c});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string())
        );
        let sig: p256::ecdsa::Signature = leaf.key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
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

    /// Issues a plain signing leaf named `cn`, with no name it is valid for.
    pub fn signer(&self, cn: &str) -> AttestationLeaf {
        self.signing_leaf(cn, vec![])
    }

    /// A compact ES256 JWS of `payload`, signed by `leaf`, with `x5c = [leaf]`.
    pub fn jws(leaf: &AttestationLeaf, payload: &serde_json::Value) -> String {
        Self::jws_with_chain(leaf, &[], payload)
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
        let serial = random_serial();
        p.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
        let cert = p.signed_by(&kp, &self.cert, &self.key).expect("leaf");
        AttestationLeaf {
            der: cert.der().to_vec(),
            key: leaf_key,
            serial,
        }
    }
}
