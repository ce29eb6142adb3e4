//! Attestation trust: does a registration's certificate chain reach a trusted root for
//! its AAGUID, at a given time? Chain checks are `webauthn-rs-core`'s; the roots come from
//! the metadata store (R7) or an app attestation service (R4).

use std::collections::BTreeMap;
use std::time::SystemTime;
use uuid::Uuid;
use webauthn_rs_core::attestation::verify_attestation_ca_chain;
use webauthn_rs_core::proto::{AttestationCaList, AttestationCaListBuilder};

use crate::ceremony::NewCredential;
use crate::error::classify;

/// Trusted attestation roots, each for a set of AAGUIDs.
#[derive(Debug, Clone, Default)]
pub struct TrustRoots {
    list: AttestationCaList,
}

/// One model's roots.
#[derive(Debug, Clone)]
pub struct RootEntry {
    /// The model.
    pub aaguid: Uuid,
    /// Its name.
    pub name: String,
    /// Root certificates, DER.
    pub roots: Vec<Vec<u8>>,
}

impl TrustRoots {
    /// Builds the store; a root that does not parse is skipped with a warning, not fatal.
    pub fn new(entries: &[RootEntry]) -> TrustRoots {
        let mut b = AttestationCaListBuilder::new();
        for e in entries {
            for der in &e.roots {
                if let Err(err) =
                    b.insert_device_der(der, e.aaguid, e.name.clone(), BTreeMap::new())
                {
                    tracing::warn!(aaguid = %e.aaguid, error = ?err, "skipping an unreadable attestation root");
                }
            }
        }
        TrustRoots { list: b.build() }
    }

    /// Whether no root is known.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// The verdict on a registration's attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustVerdict {
    /// The chain reaches a root trusted for this AAGUID.
    Trusted,
    /// It does not; why.
    Untrusted(String),
}

/// R4: checks the registration's chain against `roots` at time `at` (real attestation
/// certificates are short-lived, so the time is an argument), and that the root is
/// trusted for the credential's AAGUID.
pub fn verify_trust(cred: &NewCredential, roots: &TrustRoots, at: SystemTime) -> TrustVerdict {
    if !cred.attestation.has_chain() {
        return TrustVerdict::Untrusted("no certificate chain".into());
    }
    if roots.is_empty() {
        return TrustVerdict::Untrusted(format!(
            "no trusted attestation root is known for AAGUID {}",
            cred.aaguid
        ));
    }
    match verify_attestation_ca_chain(&cred.credential.attestation.data, &roots.list, at) {
        Ok(Some(ca)) if ca.blanket_allow() || ca.aaguids().contains_key(&cred.aaguid) => {
            TrustVerdict::Trusted
        }
        Ok(Some(_)) => TrustVerdict::Untrusted(format!(
            "the chain reaches a trusted root, but that root is not trusted for AAGUID {}",
            cred.aaguid
        )),
        Ok(None) => TrustVerdict::Untrusted("no certificate chain".into()),
        Err(e) => TrustVerdict::Untrusted(classify(&e).message),
    }
}
