//! Attestation trust: does a registration's certificate chain reach a trusted root, and
//! does that make its AAGUID *attested* (R4, R32)? Chain checks are `webauthn-rs-core`'s;
//! the roots come from the metadata store (R7) or an app attestation service (R4).
//!
//! A root is trusted either for particular models (a metadata statement lists it for its
//! AAGUID) or for every model. A root of the first kind vouches for a model only when the
//! statement signs the AAGUID (`binding`): a vendor's root that is listed for a cheap and an
//! expensive model alike would otherwise let a statement from the cheap one claim the other
//! (a `fido-u2f` or `android-key` statement signs no AAGUID at all). A statement that does
//! not sign its AAGUID is therefore trusted only through a root trusted for every model,
//! and even then its AAGUID stays self-reported.

use std::collections::BTreeMap;
use std::time::SystemTime;
use uuid::Uuid;
use webauthn_rs_core::attestation::verify_attestation_ca_chain;
use webauthn_rs_core::proto::{AttestationCaList, AttestationCaListBuilder};

use crate::ceremony::NewCredential;
use crate::error::classify;

/// Trusted attestation roots: for particular models, and for every model.
#[derive(Debug, Clone, Default)]
pub struct TrustRoots {
    per_model: AttestationCaList,
    any_model: AttestationCaList,
}

/// Which models a root vouches for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootScope {
    /// One model (a metadata statement's AAGUID).
    Model(Uuid),
    /// Every model: an authority whose certificates the store trusts whatever the
    /// authenticator claims to be (the app attestation service's roots; roots imported
    /// for the nil AAGUID).
    AnyModel,
}

/// One model's roots.
#[derive(Debug, Clone)]
pub struct RootEntry {
    /// What the roots vouch for.
    pub scope: RootScope,
    /// A name for logs.
    pub name: String,
    /// Root certificates, DER.
    pub roots: Vec<Vec<u8>>,
}

fn pem_of(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

impl TrustRoots {
    /// Builds the store; a root that does not parse is skipped with a warning, not fatal.
    pub fn new(entries: &[RootEntry]) -> TrustRoots {
        let mut b = AttestationCaListBuilder::new();
        let mut any_model = AttestationCaList::default();
        for e in entries {
            for der in &e.roots {
                let added = match e.scope {
                    RootScope::Model(aaguid) => b
                        .insert_device_der(der, aaguid, e.name.clone(), BTreeMap::new())
                        .map_err(|err| format!("{err:?}")),
                    RootScope::AnyModel => AttestationCaList::try_from(pem_of(der).as_bytes())
                        .map(|one| any_model.union(&one))
                        .map_err(|err| format!("{err:?}")),
                };
                if let Err(error) = added {
                    tracing::warn!(root = %e.name, %error, "skipping an unreadable attestation root");
                }
            }
        }
        TrustRoots {
            per_model: b.build(),
            any_model,
        }
    }

    /// Whether no root is known.
    pub fn is_empty(&self) -> bool {
        self.per_model.is_empty() && self.any_model.is_empty()
    }
}

/// The verdict on a registration's attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustVerdict {
    /// The chain reaches a trusted root.
    Trusted {
        /// And the AAGUID is attested: the statement signs it and the root vouches for that
        /// model (or for every model).
        aaguid_attested: bool,
    },
    /// It does not; why.
    Untrusted(String),
}

impl TrustVerdict {
    /// Whether the chain is trusted.
    pub fn is_trusted(&self) -> bool {
        matches!(self, TrustVerdict::Trusted { .. })
    }

    /// Whether the AAGUID is attested.
    pub fn aaguid_attested(&self) -> bool {
        matches!(
            self,
            TrustVerdict::Trusted {
                aaguid_attested: true
            }
        )
    }
}

/// R4, R32: checks the registration's chain against `roots` at time `at` (real attestation
/// certificates are short-lived, so the time is an argument). A statement that signs its
/// AAGUID may reach a root trusted for that model or for every model; one that does not may
/// reach only a root trusted for every model.
pub fn verify_trust(cred: &NewCredential, roots: &TrustRoots, at: SystemTime) -> TrustVerdict {
    if !cred.attestation.has_chain() {
        return TrustVerdict::Untrusted("no certificate chain".into());
    }
    let mut list = roots.any_model.clone();
    if cred.aaguid_signed {
        list.union(&roots.per_model);
    }
    if list.is_empty() {
        return TrustVerdict::Untrusted(if cred.aaguid_signed || roots.per_model.is_empty() {
            format!(
                "no trusted attestation root is known for AAGUID {}",
                cred.aaguid
            )
        } else {
            format!(
                "the {} statement does not sign the AAGUID it reports ({}), so a root trusted for particular models cannot vouch for it; only a root trusted for every model can (R4, R32)",
                cred.fmt, cred.aaguid
            )
        });
    }
    match verify_attestation_ca_chain(&cred.credential.attestation.data, &list, at) {
        Ok(Some(ca)) if ca.blanket_allow() => TrustVerdict::Trusted {
            aaguid_attested: cred.aaguid_signed,
        },
        Ok(Some(ca)) if cred.aaguid_signed && ca.aaguids().contains_key(&cred.aaguid) => {
            TrustVerdict::Trusted {
                aaguid_attested: true,
            }
        }
        Ok(Some(_)) => TrustVerdict::Untrusted(format!(
            "the chain reaches a trusted root, but that root is trusted only for other models than AAGUID {} (R4)",
            cred.aaguid
        )),
        Ok(None) => TrustVerdict::Untrusted("no certificate chain".into()),
        Err(e) if !cred.aaguid_signed && !roots.per_model.is_empty() => {
            TrustVerdict::Untrusted(format!(
                "{} The {} statement does not sign the AAGUID it reports ({}), so only a root trusted for every model could vouch for it (R4, R32).",
                classify(&e).message,
                cred.fmt,
                cred.aaguid
            ))
        }
        Err(e) => TrustVerdict::Untrusted(classify(&e).message),
    }
}
