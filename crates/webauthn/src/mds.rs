//! FIDO Metadata Service (MDS3) BLOBs (R7): a compact JWS whose `x5c` chain must be a
//! certification path to a trusted root (GlobalSign Root CA – R3 or Root R46 for the real
//! service), issued to the MDS signer, unrevoked when CRLs are given, at a given time; whose
//! signature must verify; and whose `nextUpdate` has not passed.
//!
//! The path is validated by `rustls-webpki` (the validator rustls uses): path building in any
//! `x5c` order (the real BLOB has carried cross-signed roots), validity at the time, CA and
//! path-length constraints on every issuer, name constraints, critical extensions, and CRLs.
//! webpki reads basicConstraints but not keyUsage on issuers, so keyCertSign is checked here
//! on each intermediate of the path it found (with `x509-parser`). The JWS is read by
//! [`crate::jws`] and verified by `jsonwebtoken`; nothing is hand-parsed.

use rustls_pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use serde::Deserialize;
use std::time::SystemTime;
use time::format_description::well_known::Iso8601;
use time::{Date, OffsetDateTime};
use uuid::Uuid;
use webpki::{
    anchor_from_trusted_cert, CertRevocationList, EndEntityCert, ExpirationPolicy, KeyUsage,
    OwnedCertRevocationList, RevocationCheckDepth, RevocationOptionsBuilder, UnknownStatusPolicy,
    VerifiedPath,
};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

/// The roots the real FIDO MDS3 BLOB chains to.
const GLOBALSIGN: [&str; 2] = [
    include_str!("mds_roots/globalsign-root-r3.pem"),
    include_str!("mds_roots/globalsign-root-r46.pem"),
];

/// The name the real MDS3 BLOB's signing certificate is issued to.
pub const MDS_SIGNER: &str = "mds.fidoalliance.org";

/// Status reports that withdraw trust in a model's attestation.
const UNTRUSTED_STATUS: [&str; 5] = [
    "REVOKED",
    "ATTESTATION_KEY_COMPROMISE",
    "USER_KEY_REMOTE_COMPROMISE",
    "USER_KEY_PHYSICAL_COMPROMISE",
    "USER_VERIFICATION_BYPASS",
];

/// One authenticator model from the BLOB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdsEntry {
    /// The model.
    pub aaguid: Uuid,
    /// `metadataStatement.description`.
    pub description: String,
    /// Attestation roots (standard base64 DER); empty once any report in effect withdrew
    /// trust (revoked, a key compromised, user verification bypassed) — a later report does
    /// not restore it.
    pub roots: Vec<String>,
    /// The status in effect at the verification time: the report with the latest
    /// `effectiveDate` not after it (a report without a date counts as the oldest), e.g.
    /// `FIDO_CERTIFIED_L1` or `REVOKED`.
    pub status: Option<String>,
}

/// A verified BLOB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdsBlob {
    /// Serial number of the BLOB (`no`): each one published is one more than the last.
    pub no: u64,
    /// When the service publishes the next one (`nextUpdate`).
    pub next_update: Date,
    /// Entries with an AAGUID (FIDO2 authenticators).
    pub entries: Vec<MdsEntry>,
}

/// What a BLOB must pass besides its signature.
#[derive(Debug, Clone, Copy)]
pub struct BlobCheck<'a> {
    /// Trust anchors (DER).
    pub roots: &'a [Vec<u8>],
    /// CRLs (DER) for the certificates of the path; each must be issued by one of them.
    pub crls: &'a [Vec<u8>],
    /// The DNS name the signing certificate must be issued to ([`MDS_SIGNER`]).
    pub signer: &'a str,
    /// The verification time.
    pub at: SystemTime,
    /// Whether a BLOB whose `nextUpdate` has passed is refused.
    pub staleness: Staleness,
}

/// Whether a stale BLOB (its `nextUpdate` passed) may be imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staleness {
    /// Refused: a newer BLOB exists, and it may revoke what this one trusts.
    Refuse,
    /// Accepted. Weakens the check: an offline import of an old BLOB on purpose only.
    DangerAcceptStale,
}

/// Why a BLOB was refused; each names the failed check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MdsError {
    /// Not a compact JWS, or its parts do not decode.
    #[error("format: {0}")]
    Format(String),
    /// The certificates are no path to a trusted root, are not valid at the time, are
    /// revoked, or the signer is not the MDS signer.
    #[error("certificate chain: {0}")]
    Chain(String),
    /// The JWS signature does not verify.
    #[error("signature: {0}")]
    Signature(String),
    /// `nextUpdate` has passed: a newer BLOB has been published.
    #[error("stale: its nextUpdate ({0}) has passed, so a newer BLOB exists; fetch it (or import this one knowingly with --allow-stale)")]
    Stale(Date),
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
    pem_blocks(pem, "CERTIFICATE")
}

/// DER of every `label` block (`CERTIFICATE`, `X509 CRL`) in a PEM text.
pub fn pem_blocks(pem: &str, label: &str) -> Vec<Vec<u8>> {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let (begin, end) = (format!("-----BEGIN {label}"), format!("-----END {label}"));
    let mut out = vec![];
    let mut cur: Option<String> = None;
    for line in pem.lines().map(str::trim) {
        if line.starts_with(&begin) {
            cur = Some(String::new());
        } else if line.starts_with(&end) {
            if let Some(b) = cur.take().and_then(|b| STANDARD.decode(b).ok()) {
                out.push(b);
            }
        } else if let Some(b) = cur.as_mut() {
            b.push_str(line);
        }
    }
    out
}

fn chain_err(what: &str) -> impl Fn(webpki::Error) -> MdsError + '_ {
    move |e| MdsError::Chain(format!("{what}: {e:?}"))
}

/// webpki ignores keyUsage on issuers; an intermediate must be allowed to sign certificates.
fn intermediates_sign_certificates(path: &VerifiedPath<'_>) -> Result<(), webpki::Error> {
    for c in path.intermediate_certificates() {
        let der = c.der();
        let (_, x) = X509Certificate::from_der(der.as_ref()).map_err(|_| webpki::Error::BadDer)?;
        match x.key_usage() {
            Ok(Some(ku)) if ku.value.key_cert_sign() => {}
            Ok(_) => return Err(webpki::Error::EndEntityUsedAsCa),
            Err(_) => return Err(webpki::Error::BadDer),
        }
    }
    Ok(())
}

/// Validates `x5c` (leaf first) as a certification path to `check.roots` for `check.signer`.
fn verify_path(x5c: &[Vec<u8>], check: &BlobCheck<'_>) -> Result<(), MdsError> {
    let (leaf, rest) = x5c
        .split_first()
        .ok_or_else(|| MdsError::Chain("the x5c chain is empty".into()))?;
    let leaf = CertificateDer::from(leaf.as_slice());
    let intermediates: Vec<CertificateDer<'_>> = rest
        .iter()
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    let root_ders: Vec<CertificateDer<'_>> = check
        .roots
        .iter()
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    let anchors: Vec<TrustAnchor<'_>> = root_ders
        .iter()
        .map(anchor_from_trusted_cert)
        .collect::<Result<_, _>>()
        .map_err(chain_err("a trusted root does not parse"))?;
    let crls: Vec<CertRevocationList<'static>> = check
        .crls
        .iter()
        .map(|d| OwnedCertRevocationList::from_der(d).map(CertRevocationList::from))
        .collect::<Result<_, _>>()
        .map_err(chain_err("a CRL does not parse"))?;
    let crl_refs: Vec<&CertRevocationList<'_>> = crls.iter().collect();
    // Every given CRL must be about this path (a CRL for another issuer would be silently
    // useless); certificates no given CRL covers are not checked for revocation.
    let revocation = RevocationOptionsBuilder::new(&crl_refs).ok().map(|b| {
        b.with_depth(RevocationCheckDepth::Chain)
            .with_status_policy(UnknownStatusPolicy::Allow)
            .with_expiration_policy(ExpirationPolicy::Enforce)
            .build()
    });
    let secs = check
        .at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|_| MdsError::Format("the verification time is before 1970".into()))?;
    let ee = EndEntityCert::try_from(&leaf).map_err(chain_err("the signing certificate"))?;
    let path = ee
        .verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            &intermediates,
            UnixTime::since_unix_epoch(secs),
            KeyUsage::server_auth(),
            revocation,
            Some(&intermediates_sign_certificates),
        )
        .map_err(chain_err("no valid certification path to a trusted root"))?;
    let name = ServerName::try_from(check.signer)
        .map_err(|_| MdsError::Chain(format!("'{}' is not a DNS name", check.signer)))?;
    ee.verify_is_valid_for_subject_name(&name)
        .map_err(chain_err(&format!(
            "the signing certificate is not issued to {}",
            check.signer
        )))?;
    // Issued to that very name, not to a wildcard that also covers it.
    let (_, leaf_cert) = X509Certificate::from_der(leaf.as_ref())
        .map_err(|e| MdsError::Chain(format!("the signing certificate does not parse: {e}")))?;
    let exact = leaf_cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .is_some_and(|san| {
            san.value.general_names.iter().any(|n| {
                matches!(n, x509_parser::extensions::GeneralName::DNSName(d) if d.eq_ignore_ascii_case(check.signer))
            })
        });
    if !exact {
        return Err(MdsError::Chain(format!(
            "the signing certificate names {} only through a wildcard",
            check.signer
        )));
    }
    // A CRL whose issuer signs nothing on the path checked nothing: say so.
    let path_ders: Vec<Vec<u8>> = std::iter::once(leaf.as_ref().to_vec())
        .chain(
            path.intermediate_certificates()
                .map(|c| c.der().as_ref().to_vec()),
        )
        .collect();
    let issuers: Vec<Vec<u8>> = path_ders
        .iter()
        .filter_map(|d| X509Certificate::from_der(d).ok())
        .map(|(_, c)| c.issuer().as_raw().to_vec())
        .collect();
    let mut seen: Vec<Vec<u8>> = vec![];
    for der in check.crls {
        let issuer = x509_parser::revocation_list::CertificateRevocationList::from_der(der)
            .map(|(_, crl)| crl.issuer().as_raw().to_vec())
            .map_err(|e| MdsError::Chain(format!("a CRL does not parse: {e}")))?;
        // The validator reads the first CRL of an issuer: a second one (a newer one that
        // revokes, after an older one that does not) would be ignored. Give only the latest.
        if seen.contains(&issuer) {
            return Err(MdsError::Chain(
                "two CRLs of the same authority were given; give only its latest".into(),
            ));
        }
        seen.push(issuer.clone());
        if !issuers.contains(&issuer) {
            return Err(MdsError::Chain(
                "a given CRL is issued by no certificate authority of the BLOB's path".into(),
            ));
        }
    }
    Ok(())
}

/// The BLOB's payload, as far as it is read here (FIDO MDS3 §3.1.6).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    no: Option<u64>,
    next_update: Option<String>,
    #[serde(default)]
    entries: Vec<RawEntry>,
}

/// One entry of the payload; UAF entries carry no AAGUID and are passed over.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawEntry {
    aaguid: Option<String>,
    metadata_statement: RawStatement,
    status_reports: Vec<StatusReport>,
}

/// The parts of a metadata statement read here.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawStatement {
    description: Option<String>,
    attestation_root_certificates: Vec<String>,
}

/// A status report: its status and the date it takes effect.
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
struct StatusReport {
    status: String,
    effective_date: Option<String>,
}

/// A date or date-time, as MDS writes `nextUpdate` and `effectiveDate` (`2026-12-01`).
fn date(s: &str) -> Option<Date> {
    Date::parse(s.trim(), &Iso8601::DATE).ok().or_else(|| {
        OffsetDateTime::parse(s.trim(), &Iso8601::DEFAULT)
            .ok()
            .map(|t| t.date())
    })
}

/// Whether any report in effect on `day` withdraws trust: once revoked or compromised, a
/// model stays so whatever is reported after; a report whose date cannot be read counts as
/// in effect.
fn trust_withdrawn(reports: &[StatusReport], day: Date) -> bool {
    reports.iter().any(|r| {
        let in_effect = match r.effective_date.as_deref() {
            None => true,
            Some(d) => date(d).is_none_or(|d| d <= day),
        };
        in_effect && UNTRUSTED_STATUS.contains(&r.status.as_str())
    })
}

/// The status in effect on `day`: the report with the latest `effectiveDate` not after it
/// (undated reports are the oldest; of equal dates the later in the list wins).
fn current_status(reports: &[StatusReport], day: Date) -> Option<String> {
    let mut dated: Vec<(Option<Date>, usize, &str)> = reports
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let effective = r.effective_date.as_deref().and_then(date);
            (effective, i, r.status.as_str())
        })
        .filter(|(d, _, _)| d.is_none_or(|d| d <= day))
        .collect();
    dated.sort();
    dated.last().map(|(_, _, s)| s.to_string())
}

/// Verifies a BLOB and returns its entries.
pub fn verify_blob(jws: &str, check: &BlobCheck<'_>) -> Result<MdsBlob, MdsError> {
    let jws = crate::jws::parse(jws)?;
    verify_path(&jws.x5c, check)?;
    let (_, leaf) = X509Certificate::from_der(jws.leaf())
        .map_err(|e| MdsError::Chain(format!("the signing certificate does not parse: {e}")))?;
    let payload: Payload = serde_json::from_value(jws.verify_with(&leaf)?)
        .map_err(|e| MdsError::Format(format!("the payload is not an MDS3 payload: {e}")))?;
    let no = payload
        .no
        .ok_or_else(|| MdsError::Format("the payload has no serial number (no)".into()))?;
    let next_update = payload
        .next_update
        .as_deref()
        .and_then(date)
        .ok_or_else(|| MdsError::Format("the payload has no nextUpdate date".into()))?;
    let today = check
        .at
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .ok_or_else(|| MdsError::Format("the verification time is out of range".into()))?
        .date();
    if next_update < today && check.staleness == Staleness::Refuse {
        return Err(MdsError::Stale(next_update));
    }
    Ok(MdsBlob {
        no,
        next_update,
        entries: payload
            .entries
            .into_iter()
            .filter_map(|e| {
                let aaguid = Uuid::parse_str(e.aaguid.as_deref()?).ok()?;
                // The nil AAGUID names no model; its roots would be trusted for every model,
                // which only the operator decides (a statement imported on purpose).
                if aaguid.is_nil() {
                    return None;
                }
                let status = current_status(&e.status_reports, today);
                let roots = if trust_withdrawn(&e.status_reports, today) {
                    vec![]
                } else {
                    e.metadata_statement.attestation_root_certificates
                };
                Some(MdsEntry {
                    aaguid,
                    description: e
                        .metadata_statement
                        .description
                        .as_deref()
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::date;

    fn reports(v: serde_json::Value) -> Vec<StatusReport> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn r7_the_status_in_effect_is_the_latest_by_effective_date_not_the_last_listed() {
        let reports = reports(json!([
            {"status": "REVOKED", "effectiveDate": "2024-03-01"},
            {"status": "FIDO_CERTIFIED_L1", "effectiveDate": "2021-01-01"},
            {"status": "NOT_FIDO_CERTIFIED"},
            {"status": "FIDO_CERTIFIED_L2", "effectiveDate": "2030-01-01"},
        ]));
        assert_eq!(
            current_status(&reports, date!(2025 - 01 - 01)).as_deref(),
            Some("REVOKED"),
            "a revocation listed first is still the latest in effect"
        );
        assert_eq!(
            current_status(&reports, date!(2022 - 01 - 01)).as_deref(),
            Some("FIDO_CERTIFIED_L1")
        );
        assert_eq!(
            current_status(&reports, date!(2020 - 01 - 01)).as_deref(),
            Some("NOT_FIDO_CERTIFIED"),
            "an undated report is the oldest; a future one is not in effect"
        );
        assert_eq!(current_status(&[], date!(2020 - 01 - 01)), None);
        assert!(trust_withdrawn(&reports, date!(2025 - 01 - 01)));
        assert!(!trust_withdrawn(&reports, date!(2022 - 01 - 01)));
        let reinstated = super::tests::reports(json!([
            {"status": "ATTESTATION_KEY_COMPROMISE", "effectiveDate": "2023-01-01"},
            {"status": "FIDO_CERTIFIED_L2", "effectiveDate": "2024-01-01"},
        ]));
        assert!(
            trust_withdrawn(&reinstated, date!(2025 - 01 - 01)),
            "a later certification does not undo a compromise"
        );
        assert!(
            trust_withdrawn(
                &super::tests::reports(json!([{"status": "REVOKED", "effectiveDate": "soon"}])),
                date!(2020 - 01 - 01)
            ),
            "an unreadable date counts as in effect"
        );
    }
}
