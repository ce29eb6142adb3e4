//! Attestation trust for registrations (R4): the metadata store's roots for most models,
//! and the app attestation service for the Authenticator AAGUIDs.

use portcullis_domain::actor::Actor;
use portcullis_domain::audit::{kinds, AuditRecord, AuditTarget, Operation};
use portcullis_domain::metadata::{builtin_name, looks_like_jws, parse_import, MetadataEntry};
use portcullis_store::{audit, commit, metadata};
use portcullis_webauthn::{
    verify_trust, BlobCheck, NewCredential, RootEntry, RootScope, Staleness, TrustRoots,
    TrustVerdict, MDS_SIGNER,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;
use uuid::Uuid;

use crate::{Result, Service, ServiceError};

/// What an import brought in.
#[derive(Debug, Clone)]
pub struct MetadataImport {
    /// The entries stored.
    pub entries: Vec<MetadataEntry>,
    /// For an MDS3 BLOB: when the next one is published.
    pub next_update: Option<String>,
}

/// What an MDS3 BLOB is verified against.
#[derive(Debug, Clone)]
pub struct MdsTrust {
    /// Trust anchors (DER): GlobalSign Root CA – R3 and Root R46 unless configured.
    pub roots: Vec<Vec<u8>>,
    /// CRLs (DER) for the BLOB's certificates, when the operator has them.
    pub crls: Vec<Vec<u8>>,
    /// Whether a BLOB past its `nextUpdate` is refused.
    pub staleness: Staleness,
}

/// The app attestation service could not answer (unavailable or overloaded): retry later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("The Authenticator app attestation service is unavailable right now. Nothing was saved; try again in a few minutes.")]
pub struct AttestationServiceUnavailable;

/// Checks the app's own attestation for the Authenticator AAGUIDs (iOS App Attest,
/// Android Play Integrity or key attestation in Entra). Pluggable so a deployment can
/// call a real verifier; fails closed when unavailable.
pub trait AppAttestation: Send + Sync {
    /// The verdict on a registration's attestation at time `at`.
    fn verify(
        &self,
        cred: &NewCredential,
        at: SystemTime,
    ) -> Result<TrustVerdict, AttestationServiceUnavailable>;

    /// Whether it can vouch for anything at all (readiness: without it, no passkey in the
    /// Authenticator can be attested).
    fn is_configured(&self) -> bool;
}

/// The built-in service: trusts the configured root(s), and can be put in an outage mode.
pub struct RootAppAttestation {
    roots: TrustRoots,
    configured: bool,
    available: AtomicBool,
}

impl RootAppAttestation {
    /// Trusts `roots_der` for both Authenticator AAGUIDs. They are the app's own
    /// attestation roots, which only the app's instances chain to, so a chain to them
    /// vouches for the app whatever the statement's format.
    pub fn new(roots_der: Vec<Vec<u8>>, available: bool) -> Self {
        RootAppAttestation {
            configured: !roots_der.is_empty(),
            roots: TrustRoots::new(&[RootEntry {
                scope: RootScope::AnyModel,
                name: "Authenticator app attestation".into(),
                roots: roots_der,
            }]),
            available: AtomicBool::new(available),
        }
    }

    /// Switches the outage mode.
    pub fn set_available(&self, available: bool) {
        self.available.store(available, Ordering::SeqCst);
    }
}

impl AppAttestation for RootAppAttestation {
    fn verify(
        &self,
        cred: &NewCredential,
        at: SystemTime,
    ) -> Result<TrustVerdict, AttestationServiceUnavailable> {
        if !self.available.load(Ordering::SeqCst) {
            return Err(AttestationServiceUnavailable);
        }
        Ok(verify_trust(cred, &self.roots, at))
    }

    fn is_configured(&self) -> bool {
        self.configured
    }
}

impl Service {
    /// R7: imports a metadata document — a FIDO MDS3 BLOB (its path to `mds.roots`, its
    /// CRLs, signer and freshness checked at the current time, and its serial greater than
    /// the last imported one), metadata statements, or a name list; audited.
    pub async fn import_metadata(
        &self,
        actor: &Actor,
        text: &str,
        mds: &MdsTrust,
    ) -> Result<MetadataImport> {
        let (entries, blob_no, next_update) = if looks_like_jws(text) {
            let check = BlobCheck {
                roots: &mds.roots,
                crls: &mds.crls,
                signer: MDS_SIGNER,
                at: SystemTime::from(self.now()),
                staleness: mds.staleness,
            };
            let blob = portcullis_webauthn::verify_blob(text, &check)
                .map_err(|e| ServiceError::Invalid(format!("the MDS3 BLOB was refused: {e}")))?;
            let entries = blob
                .entries
                .into_iter()
                .map(|e| MetadataEntry {
                    aaguid: e.aaguid,
                    name: e.description,
                    roots: e.roots,
                    source: format!("mds3 #{} ({})", blob.no, e.status.unwrap_or_default()),
                })
                .collect();
            (entries, Some(blob.no), Some(blob.next_update.to_string()))
        } else {
            (
                parse_import(text).map_err(|e| ServiceError::Invalid(e.to_string()))?,
                None,
                None,
            )
        };
        for e in &entries {
            for r in &e.roots {
                let der = base64_std(r).ok_or_else(|| {
                    ServiceError::Invalid(format!(
                        "a root certificate of {} is not base64",
                        e.aaguid
                    ))
                })?;
                if TrustRoots::new(&[RootEntry {
                    scope: RootScope::Model(e.aaguid),
                    name: e.name.clone(),
                    roots: vec![der],
                }])
                .is_empty()
                {
                    return Err(ServiceError::Invalid(format!(
                        "a root certificate of {} is not a valid X.509 certificate",
                        e.aaguid
                    )));
                }
            }
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        // A BLOB older than (or as old as) the last one imported is a replay or a rollback:
        // it may still trust a model a later BLOB revoked.
        if let Some(no) = blob_no {
            if let Some(last) = metadata::advance_blob_serial(&mut tx, no).await? {
                return Err(ServiceError::Invalid(format!(
                    "the MDS3 BLOB was refused: its serial number {no} is not greater than the last one imported ({last}); an older BLOB may still trust models a newer one revoked"
                )));
            }
        }
        // A name list says nothing about roots; a BLOB or statement says all of them (a model
        // it revokes has none).
        let roots = if blob_no.is_none() && entries.iter().all(|e| e.source == "names") {
            metadata::Roots::KeepWhenEmpty
        } else {
            metadata::Roots::Replace
        };
        for e in &entries {
            metadata::upsert(&mut tx, e, roots, now).await?;
        }
        audit::append(
            &mut tx,
            &AuditRecord {
                activity: "Import authenticator metadata",
                category: kinds::APPLICATION_MANAGEMENT,
                service: kinds::AUTH_METHODS,
                operation: Operation::Update,
                actor: actor.clone(),
                target: AuditTarget {
                    id: "metadata".into(),
                    display_name: "Authenticator metadata".into(),
                    kind: "Policy",
                },
                before: None,
                after: serde_json::to_value(
                    entries
                        .iter()
                        .map(|e| (e.aaguid, e.name.clone(), e.roots.len()))
                        .collect::<Vec<_>>(),
                )
                .ok(),
                reason: format!("{} metadata entries imported", entries.len()),
            },
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(MetadataImport {
            entries,
            next_update,
        })
    }

    /// What is known about a model: imported metadata, else the built-in name.
    pub async fn metadata_for(&self, aaguid: Uuid) -> Result<Option<MetadataEntry>> {
        let mut c = self.store().conn().await?;
        Ok(metadata::get(&mut c, aaguid).await?.or_else(|| {
            builtin_name(aaguid).map(|n| MetadataEntry {
                aaguid,
                name: n.into(),
                roots: vec![],
                source: "built-in".into(),
            })
        }))
    }

    /// The model names of `aaguids` that have one (the metadata store's, else built in).
    pub async fn model_names(
        &self,
        aaguids: impl IntoIterator<Item = Uuid>,
    ) -> Result<std::collections::BTreeMap<Uuid, String>> {
        let mut out = std::collections::BTreeMap::new();
        for a in aaguids {
            if let std::collections::btree_map::Entry::Vacant(slot) = out.entry(a) {
                if let Some(m) = self.metadata_for(a).await? {
                    slot.insert(m.name);
                }
            }
        }
        Ok(out)
    }

    /// What can vouch for attestation now (R4, R7), as readiness reads it.
    pub(crate) async fn attestation_trust(
        &self,
        c: &mut portcullis_store::Conn,
    ) -> Result<portcullis_domain::readiness::AttestationTrust> {
        Ok(portcullis_domain::readiness::AttestationTrust {
            rooted: metadata::rooted(c).await?.into_iter().collect(),
            app_attestation: self.app_attestation.is_configured(),
        })
    }

    /// R4, R32: the trust verdict for a verified registration. Authenticator AAGUIDs go to
    /// the app attestation service, whose verdict vouches for the app and so attests the
    /// AAGUID; every other model to the metadata store's roots: those listed for its AAGUID,
    /// which count only when the statement signs the AAGUID, and those listed for the nil
    /// AAGUID, which the store trusts for every model (see `portcullis_webauthn::trust`).
    pub(crate) async fn attestation_verdict(
        &self,
        cred: &NewCredential,
    ) -> Result<std::result::Result<TrustVerdict, AttestationServiceUnavailable>> {
        let at = SystemTime::from(self.now());
        let is_authenticator =
            portcullis_domain::policy::fido2::AUTHENTICATOR_AAGUIDS.contains(&cred.aaguid);
        if is_authenticator {
            return Ok(self.app_attestation.verify(cred, at).map(|v| match v {
                TrustVerdict::Trusted { .. } => TrustVerdict::Trusted {
                    aaguid_attested: true,
                },
                untrusted => untrusted,
            }));
        }
        let decoded = |e: &Option<MetadataEntry>| -> Vec<Vec<u8>> {
            e.as_ref()
                .map(|e| e.roots.iter().filter_map(|r| base64_std(r)).collect())
                .unwrap_or_default()
        };
        let model = self.metadata_for(cred.aaguid).await?;
        let any_model = if cred.aaguid.is_nil() {
            model.clone()
        } else {
            self.metadata_for(Uuid::nil()).await?
        };
        let store = TrustRoots::new(&[
            RootEntry {
                scope: RootScope::Model(cred.aaguid),
                name: model.as_ref().map(|e| e.name.clone()).unwrap_or_default(),
                roots: decoded(&model),
            },
            RootEntry {
                scope: RootScope::AnyModel,
                name: "roots trusted for every model".into(),
                roots: decoded(&any_model),
            },
        ]);
        Ok(Ok(verify_trust(cred, &store, at)))
    }
}

fn base64_std(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let cleaned: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .ok()
}
