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
