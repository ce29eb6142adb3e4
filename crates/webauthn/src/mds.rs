//! FIDO Metadata Service (MDS3) BLOBs (R7): a compact JWS whose `x5c` chain must reach a
//! trusted root (GlobalSign Root CA – R3 or Root R46 for the real service) at a given time,
//! and whose signature must verify. Certificates are parsed and checked by `x509-parser`,
//! the JWS (read by [`crate::jws`]) by `jsonwebtoken`; nothing is hand-parsed here.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::time::SystemTime;
use uuid::Uuid;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::{ASN1Time, FromDer};

/// The roots the real FIDO MDS3 BLOB chains to.
const GLOBALSIGN: [&str; 2] = [
    include_str!("mds_roots/globalsign-root-r3.pem"),
    include_str!("mds_roots/globalsign-root-r46.pem"),
];

/// Status reports that withdraw trust in a model's attestation.
const UNTRUSTED_STATUS: [&str; 4] = [
    "REVOKED",
    "ATTESTATION_KEY_COMPROMISE",
    "USER_KEY_REMOTE_COMPROMISE",
    "USER_KEY_PHYSICAL_COMPROMISE",
];

/// One authenticator model from the BLOB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdsEntry {
    /// The model.
    pub aaguid: Uuid,
    /// `metadataStatement.description`.
    pub description: String,
    /// Attestation roots (standard base64 DER); empty when the latest status withdraws trust.
    pub roots: Vec<String>,
    /// The latest status report, e.g. `FIDO_CERTIFIED_L1` or `REVOKED`.
    pub status: Option<String>,
}

/// A verified BLOB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdsBlob {
    /// Serial number of the BLOB.
    pub no: i64,
    /// When the service publishes the next one (`nextUpdate`).
    pub next_update: String,
    /// Entries with an AAGUID (FIDO2 authenticators).
    pub entries: Vec<MdsEntry>,
}

/// Why a BLOB was refused; each names the failed check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MdsError {
    /// Not a compact JWS, or its parts do not decode.
    #[error("format: {0}")]
    Format(String),
    /// The certificate chain does not reach a trusted root, or a certificate is not valid at the time.
    #[error("certificate chain: {0}")]
    Chain(String),
    /// The JWS signature does not verify.
    #[error("signature: {0}")]
    Signature(String),
}

impl From<crate::jws::JwsError> for MdsError {
    fn from(e: crate::jws::JwsError) -> Self {
        match e {
            crate::jws::JwsError::Format(m) => MdsError::Format(m),
            crate::jws::JwsError::Signature(m) => MdsError::Signature(m),
        }
    }
}

/// The GlobalSign roots (DER) the real MDS3 BLOB chains to.
pub fn globalsign_roots() -> Vec<Vec<u8>> {
    GLOBALSIGN.iter().flat_map(|p| pem_to_der(p)).collect()
}

/// DER of every certificate in a PEM text.
pub fn pem_to_der(pem: &str) -> Vec<Vec<u8>> {
    let mut out = vec![];
    let mut cur: Option<String> = None;
    for line in pem.lines().map(str::trim) {
        if line.starts_with("-----BEGIN CERTIFICATE") {
            cur = Some(String::new());
        } else if line.starts_with("-----END CERTIFICATE") {
            if let Some(b) = cur.take().and_then(|b| STANDARD.decode(b).ok()) {
                out.push(b);
            }
        } else if let Some(b) = cur.as_mut() {
            b.push_str(line);
        }
    }
    out
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, MdsError> {
    X509Certificate::from_der(der)
        .map(|(_, c)| c)
        .map_err(|e| MdsError::Chain(format!("a certificate does not parse: {e}")))
}

fn valid_at(c: &X509Certificate<'_>, at: &ASN1Time) -> Result<(), MdsError> {
    if c.validity().is_valid_at(*at) {
        Ok(())
    } else {
        Err(MdsError::Chain(format!(
            "'{}' is not valid at the verification time (valid {} to {})",
            c.subject(),
            c.validity().not_before,
            c.validity().not_after
        )))
    }
}

/// Verifies a BLOB against `roots` (DER) at time `at` and returns its entries.
pub fn verify_blob(jws: &str, roots: &[Vec<u8>], at: SystemTime) -> Result<MdsBlob, MdsError> {
    let jws = crate::jws::parse(jws)?;
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let at = ASN1Time::from_timestamp(i64::try_from(secs).unwrap_or(i64::MAX))
        .map_err(|e| MdsError::Format(format!("verification time: {e}")))?;
    let chain: Vec<X509Certificate<'_>> =
        jws.x5c.iter().map(|d| parse(d)).collect::<Result<_, _>>()?;
    let leaf = chain
        .first()
        .ok_or_else(|| MdsError::Chain("the x5c chain is empty".into()))?;
    for (i, c) in chain.iter().enumerate() {
        valid_at(c, &at)?;
        if let Some(issuer) = chain.get(i + 1) {
            c.verify_signature(Some(issuer.public_key())).map_err(|_| {
                MdsError::Chain(format!(
                    "'{}' is not signed by '{}'",
                    c.subject(),
                    issuer.subject()
                ))
            })?;
        }
    }
    let last = chain
        .last()
        .ok_or_else(|| MdsError::Chain("the x5c chain is empty".into()))?;
    let parsed_roots: Vec<X509Certificate<'_>> =
        roots.iter().filter_map(|d| parse(d).ok()).collect();
    let anchored = parsed_roots.iter().any(|r| {
        valid_at(r, &at).is_ok()
            && (r.as_ref() == last.as_ref()
                || (r.subject() == last.issuer()
                    && last.verify_signature(Some(r.public_key())).is_ok()))
    });
    if !anchored {
        return Err(MdsError::Chain(format!(
            "'{}' does not chain to a trusted root (issuer '{}')",
            last.subject(),
            last.issuer()
        )));
    }
    let payload = jws.verify_with(leaf)?;
    let entries = payload["entries"].as_array().cloned().unwrap_or_default();
    Ok(MdsBlob {
        no: payload["no"].as_i64().unwrap_or(0),
        next_update: payload["nextUpdate"].as_str().unwrap_or("").to_string(),
        entries: entries
            .iter()
            .filter_map(|e| {
                let aaguid = Uuid::parse_str(e["aaguid"].as_str()?).ok()?;
                let st = &e["metadataStatement"];
                let status = e["statusReports"]
                    .as_array()
                    .and_then(|r| r.last())
                    .and_then(|r| r["status"].as_str())
                    .map(str::to_string);
                let withdrawn = status
                    .as_deref()
                    .is_some_and(|s| UNTRUSTED_STATUS.contains(&s));
                let roots = if withdrawn {
                    vec![]
                } else {
                    st["attestationRootCertificates"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|r| r.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                Some(MdsEntry {
                    aaguid,
                    description: st["description"]
                        .as_str()
                        .unwrap_or("Unnamed authenticator")
                        .chars()
                        .take(200)
                        .collect(),
                    roots,
                    status,
                })
            })
            .collect(),
    })
}
