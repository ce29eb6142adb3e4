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
