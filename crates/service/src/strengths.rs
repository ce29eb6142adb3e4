//! Custom authentication strengths as a whole document (R31): the admin center's form and
//! Graph's combination configurations change name, description, combinations and the
//! passkey models allowed in one audited write, checked as a create is.

use portcullis_domain::actor::Actor;
use portcullis_domain::strength::{Strength, StrengthDocument};
use uuid::Uuid;

use crate::{Result, Service, ServiceError};

impl Service {
    /// Replaces a custom strength's name, description, combinations and allowed passkey
    /// models with the document's (its `id` is ignored: `id` names the strength).
    pub async fn replace_strength(
        &self,
        actor: &Actor,
        id: &str,
        doc: &StrengthDocument,
        opened_on: Option<&str>,
    ) -> Result<Strength> {
        let name = portcullis_domain::directory::validate_display_name(&doc.display_name)?;
        let (combos, aaguids) = doc.checked()?;
        let others = self.ca_data().await?;
        if others
            .strengths
            .iter()
            .any(|s| s.id != id && s.display_name.eq_ignore_ascii_case(&name))
        {
            return Err(ServiceError::Conflict(format!(
                "a strength named '{name}' already exists"
            )));
        }
        self.change_strength(actor, id, "Update authentication strength policy", |s| {
            crate::version::check(opened_on, &*s)?;
            s.display_name = name;
            s.description = doc.description.clone();
            s.allowed_combinations = combos;
            s.fido2_configuration_id = aaguids.as_ref().map(|_| {
                s.fido2_configuration_id
                    .clone()
                    .unwrap_or_else(|| Uuid::new_v4().to_string())
            });
            s.fido2_allowed_aaguids = aaguids;
            Ok(())
        })
        .await
    }
}

/// A change to a custom strength's `fido2CombinationConfiguration` (R31), as Graph's
/// `combinationConfigurations` makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fido2Restriction {
    /// Adds the restriction (there is none yet).
    Add(Vec<Uuid>),
    /// Replaces the models of the configuration with this id.
    Replace {
        /// The configuration's id.
        id: String,
        /// The models now allowed.
        aaguids: Vec<Uuid>,
    },
    /// Removes the configuration with this id: any model meets the fido2 combination again.
    Remove {
        /// The configuration's id.
        id: String,
    },
}

impl Service {
    /// Adds, replaces or removes a custom strength's passkey-model restriction; audited.
    pub async fn change_fido2_restriction(
        &self,
        actor: &Actor,
        strength: &str,
        change: Fido2Restriction,
    ) -> Result<Strength> {
        let no_models = || {
            ServiceError::Invalid(
                "allowedAAGUIDs must list at least one AAGUID (to allow any model, delete the configuration)".into(),
            )
        };
        self.change_strength(actor, strength, "Update authentication strength policy", |s| {
            let current = s.fido2_configuration_id.clone();
            let not_found = |id: &str| {
                ServiceError::NotFound(format!(
                    "the strength '{}' has no combination configuration '{id}'",
                    s.display_name
                ))
            };
            match change {
                Fido2Restriction::Add(aaguids) => {
                    if let Some(existing) = current {
                        return Err(ServiceError::Conflict(format!(
                            "the strength '{}' already has a fido2CombinationConfiguration ('{existing}'); change it with PATCH",
                            s.display_name
                        )));
                    }
                    if !s
                        .allowed_combinations
                        .iter()
                        .any(|c| c.factors() == [portcullis_domain::strength::Factor::Fido2])
                    {
                        return Err(
                            portcullis_domain::strength::StrengthDocumentError::AaguidsWithoutFido2
                                .into(),
                        );
                    }
                    if aaguids.is_empty() {
                        return Err(no_models());
                    }
                    s.fido2_configuration_id = Some(Uuid::new_v4().to_string());
                    s.fido2_allowed_aaguids = Some(aaguids);
                }
                Fido2Restriction::Replace { id, aaguids } => {
                    if current.as_deref() != Some(id.as_str()) {
                        return Err(not_found(&id));
                    }
                    if aaguids.is_empty() {
                        return Err(no_models());
                    }
                    s.fido2_allowed_aaguids = Some(aaguids);
                }
                Fido2Restriction::Remove { id } => {
                    if current.as_deref() != Some(id.as_str()) {
                        return Err(not_found(&id));
                    }
                    s.fido2_configuration_id = None;
                    s.fido2_allowed_aaguids = None;
                }
            }
            Ok(())
        })
        .await
    }
}
