//! Preview impact (R51 in the admin center): what saving a proposed configuration would do,
//! asked before it is saved — the same checks a save makes, the consequences a save would
//! warn about, and the readiness dry run's delta — so that a form can show who it strands
//! and insist on confirmation. Saving checks again: a preview is advice, never a pass.

use std::collections::BTreeSet;

use portcullis_domain::passkey::{change_warnings, standing_warnings};
use portcullis_domain::policy::MethodConfiguration;
use portcullis_store::{directory, passkeys};
use uuid::Uuid;

use crate::readiness::{Proposal, Readiness};
use crate::{Result, Service};
use portcullis_domain::strength::StrengthDocument;
use portcullis_domain::time_fmt::rfc3339;

/// What saving a method configuration would do.
#[derive(Debug, Clone)]
pub struct MethodPreview {
    /// Consequences a save would warn about (R4, R5, R6), in words.
    pub warnings: Vec<String>,
    /// The dry run: the proposed configuration's findings and the delta.
    pub readiness: Readiness,
}

impl MethodPreview {
    /// Users the change strands: those with a new finding worse than information.
    pub fn stranded(&self) -> BTreeSet<Uuid> {
        self.readiness
            .delta
            .as_ref()
            .map(|d| d.stranded())
            .unwrap_or_default()
    }
}

/// What saving a custom strength would do.
#[derive(Debug, Clone)]
pub struct StrengthPreview {
    /// The warning a save gives (R32), in words.
    pub warnings: Vec<String>,
    /// The dry run.
    pub readiness: Readiness,
}

impl StrengthPreview {
    /// Users the change strands.
    pub fn stranded(&self) -> BTreeSet<Uuid> {
        self.readiness
            .delta
            .as_ref()
            .map(|d| d.stranded())
            .unwrap_or_default()
    }
}

impl Service {
    /// Previews saving `cfg` as the method's configuration: refused exactly as the save
    /// would refuse it (targets and fields, R2), else its warnings and the dry run.
    pub async fn preview_method_configuration(
        &self,
        cfg: &MethodConfiguration,
    ) -> Result<MethodPreview> {
        let mut c = self.store().conn().await?;
        let groups = directory::groups_by_ids(&mut c, &cfg.target_groups()).await?;
        cfg.validate(groups.as_slice())?;
        let before = crate::policy::current(&mut c, cfg.id()).await?;
        let mut warnings = vec![];
        if let (MethodConfiguration::Fido2(b), MethodConfiguration::Fido2(a)) = (&before, cfg) {
            let in_use = passkeys::aaguids_in_use(&mut c).await?;
            warnings.extend(
                change_warnings(b, a, &in_use)
                    .iter()
                    .chain(standing_warnings(a).iter())
                    .map(crate::render::fido2_warning),
            );
        }
        drop(c);
        let mut proposal = Proposal::default();
        proposal.add(cfg.to_json())?;
        let readiness = self.readiness(&[], Some(&proposal)).await?;
        Ok(MethodPreview {
            warnings,
            readiness,
        })
    }

    /// Previews saving a custom strength (a new one when the document has no id): refused
    /// as the save would refuse its combinations and models; else the warning a save gives
    /// (R32) and the dry run — which finds something only when a policy requires it.
    pub async fn preview_strength(&self, doc: &StrengthDocument) -> Result<StrengthPreview> {
        portcullis_domain::directory::validate_display_name(&doc.display_name)?;
        let now = rfc3339(self.now());
        let s = doc.to_strength(
            doc.id.clone().unwrap_or_default(),
            String::new(),
            now.clone(),
            now,
        )?;
        let warnings = self.strength_warnings(&s).await?;
        let mut proposal = Proposal::default();
        proposal.add_strength(doc.clone());
        let readiness = self.readiness(&[], Some(&proposal)).await?;
        Ok(StrengthPreview {
            warnings,
            readiness,
        })
    }

    /// Previews saving a Conditional Access policy (added, or replacing the one its id
    /// names): refused as the save would refuse it, else the dry run.
    pub async fn preview_ca_policy(
        &self,
        policy: &portcullis_domain::conditional_access::Policy,
    ) -> Result<Readiness> {
        let mut proposal = Proposal::default();
        proposal.add_policy(policy.clone());
        self.readiness(&[], Some(&proposal)).await
    }

    /// Each AAGUID with its number of registered (live) passkeys.
    pub async fn aaguid_usage(&self) -> Result<Vec<(Uuid, i64)>> {
        let mut c = self.store().conn().await?;
        Ok(passkeys::aaguids_in_use(&mut c).await?)
    }

    /// A group named by object id or display name.
    pub async fn find_group(&self, key: &str) -> Result<portcullis_domain::directory::Group> {
        let mut c = self.store().conn().await?;
        crate::directory::resolve_group(&mut c, key).await
    }
}
