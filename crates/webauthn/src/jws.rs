//! A compact JWS signed by the leaf of the certificate chain in its `x5c` header: the shape
//! of both the FIDO metadata BLOB and an `android-safetynet` attestation. The signature is
//! checked by `jsonwebtoken` against the leaf's key as parsed by `x509-parser`; whether the
//! chain is trusted is each caller's own question.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use x509_parser::certificate::X509Certificate;

/// Why a JWS was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum JwsError {
    /// Not a compact JWS with an `x5c` header, or a part does not decode.
    #[error("{0}")]
    Format(String),
    /// The signature does not verify with the leaf certificate's key.
    #[error("{0}")]
    Signature(String),
}

/// A compact JWS whose header names its algorithm and carries an `x5c` chain.
#[derive(Debug, Clone)]
pub(crate) struct X5cJws<'a> {
    compact: &'a str,
    alg: Algorithm,
    /// The header's certificates (DER), leaf first.
    pub x5c: Vec<Vec<u8>>,
}

/// The members of a JWS header read here.
#[derive(serde::Deserialize)]
struct Header {
    alg: Option<String>,
    x5c: Option<Vec<String>>,
}

/// Reads the header of a compact JWS: `alg` (RS256 or ES256) and the `x5c` chain.
pub(crate) fn parse(compact: &str) -> Result<X5cJws<'_>, JwsError> {
    let compact = compact.trim();
    let parts: Vec<&str> = compact.split('.').collect();
    let [header_b64, _, _] = parts.as_slice() else {
        return Err(JwsError::Format(
            "expected a compact JWS (three base64url segments)".into(),
        ));
    };
    let header: Header = URL_SAFE_NO_PAD
        .decode(header_b64)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| JwsError::Format("the JWS header is not base64url JSON".into()))?;
    let alg = match header.alg.as_deref() {
        Some("RS256") => Algorithm::RS256,
        Some("ES256") => Algorithm::ES256,
        other => {
            return Err(JwsError::Format(format!(
                "unsupported JWS algorithm {other:?} (RS256 or ES256)"
            )))
        }
    };
    let x5c: Vec<Vec<u8>> = header
        .x5c
        .ok_or_else(|| JwsError::Format("the JWS header has no x5c chain".into()))?
        .iter()
        .map(|c| {
            STANDARD
                .decode(c)
                .map_err(|_| JwsError::Format("an x5c entry is not base64".into()))
        })
        .collect::<Result<_, _>>()?;
    if x5c.is_empty() {
        return Err(JwsError::Format("the x5c chain is empty".into()));
    }
    Ok(X5cJws { compact, alg, x5c })
}

impl X5cJws<'_> {
    /// The signing certificate (DER): the first of `x5c`, which [`parse`] requires.
    pub(crate) fn leaf(&self) -> &[u8] {
        self.x5c.first().map(Vec::as_slice).unwrap_or_default()
    }

    /// Verifies the signature with `leaf`'s key and returns the JSON payload. Registered
    /// claims (`exp` …) are not required: neither format uses them.
    pub(crate) fn verify_with(&self, leaf: &X509Certificate<'_>) -> Result<Value, JwsError> {
        let spki = &leaf.public_key().subject_public_key.data;
        let key = match self.alg {
            Algorithm::RS256 => DecodingKey::from_rsa_der(spki),
            _ => DecodingKey::from_ec_der(spki),
        };
        let mut v = Validation::new(self.alg);
        v.validate_exp = false;
        v.validate_aud = false;
        v.required_spec_claims.clear();
        jsonwebtoken::decode::<Value>(self.compact, &key, &v)
            .map(|d| d.claims)
            .map_err(|e| JwsError::Signature(e.to_string()))
    }
}
