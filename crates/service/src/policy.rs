//! The authentication methods policy: read, save (validated, atomic, audited), reset.

use portcullis_domain::actor::Actor;
use portcullis_domain::audit::{kinds, AuditRecord, AuditTarget, Operation};
use portcullis_domain::policy::{MethodConfiguration, MethodId};
use portcullis_store::{audit, commit, directory, policy, Conn};
use serde_json::Value;

use crate::{Result, Service};

/// The stored configuration, or Graph's default when none was ever saved.
pub async fn current(c: &mut Conn, id: MethodId) -> Result<MethodConfiguration> {
    Ok(or_default(policy::get(c, id).await?, id))
}

/// `stored`, or Graph's default for `id` when none was ever saved.
pub(crate) fn or_default(stored: Option<MethodConfiguration>, id: MethodId) -> MethodConfiguration {
    stored.unwrap_or_else(|| MethodConfiguration::graph_default(id))
}

/// The audit record of a method configuration change (graph-api.md §7.2).
pub(crate) fn method_record(
    activity: &'static str,
    actor: &Actor,
    cfg: &MethodConfiguration,
    before: Option<&MethodConfiguration>,
    reason: String,
) -> AuditRecord {
    AuditRecord {
        activity,
        category: kinds::APPLICATION_MANAGEMENT,
        service: kinds::AUTH_METHODS,
        operation: Operation::Update,
        actor: actor.clone(),
        target: AuditTarget {
            id: cfg.id().as_str().into(),
            display_name: format!("{} method configuration", cfg.id().as_str()),
            kind: "Policy",
        },
        before: before.map(MethodConfiguration::to_json),
        after: Some(cfg.to_json()),
        reason,
    }
}

/// A saved configuration, with what the change means for users.
#[derive(Debug, Clone)]
pub struct Saved {
    /// The configuration now in force.
    pub config: MethodConfiguration,
    /// Consequences worth telling the administrator (R5, R6).
    pub warnings: Vec<String>,
}

impl Service {
    /// A method's configuration.
    pub async fn method_configuration(&self, id: MethodId) -> Result<MethodConfiguration> {
        let mut c = self.store().conn().await?;
        current(&mut c, id).await
    }

    /// Saves a whole configuration. Every target is checked against the directory in
    /// the same transaction as the write (R2), and either all of it lands or none (R8).
    /// A change that makes key restrictions an enforced allow list with nothing on it —
    /// every passkey refused — needs `accept_empty_allow_list` (R5).
    pub async fn save_method_configuration(
        &self,
        actor: &Actor,
        cfg: MethodConfiguration,
        accept_empty_allow_list: bool,
    ) -> Result<Saved> {
        self.save_method_configuration_opened_on(actor, cfg, accept_empty_allow_list, None)
            .await
    }

    /// [`Service::save_method_configuration`], refused ([`crate::ServiceError::Stale`]) when
    /// the stored configuration is no longer the version `opened_on` names (see
    /// [`crate::version`]).
    pub async fn save_method_configuration_opened_on(
        &self,
        actor: &Actor,
        cfg: MethodConfiguration,
        accept_empty_allow_list: bool,
        opened_on: Option<&str>,
    ) -> Result<Saved> {
        self.write_method(
            actor,
            cfg,
            "Authentication Methods Policy Update",
            accept_empty_allow_list,
            opened_on,
        )
        .await
    }

    /// Applies a Graph PATCH body (absent properties keep their values); see
    /// [`Service::save_method_configuration`] for `accept_empty_allow_list`.
    pub async fn patch_method_configuration(
        &self,
        actor: &Actor,
        id: MethodId,
        patch: Value,
        accept_empty_allow_list: bool,
    ) -> Result<Saved> {
        let base = self.method_configuration(id).await?;
        let next = base.patched(patch)?;
        self.write_method(
            actor,
            next,
            "Authentication Methods Policy Update",
            accept_empty_allow_list,
            None,
        )
        .await
    }

    /// Resets a configuration to Graph's defaults.
    pub async fn reset_method_configuration(&self, actor: &Actor, id: MethodId) -> Result<Saved> {
        self.write_method(
            actor,
            MethodConfiguration::graph_default(id),
            "Authentication Methods Policy Reset",
            false,
            None,
        )
        .await
    }

    async fn write_method(
        &self,
        actor: &Actor,
        cfg: MethodConfiguration,
        activity: &'static str,
        accept_empty_allow_list: bool,
        opened_on: Option<&str>,
    ) -> Result<Saved> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        policy::lock(&mut tx, cfg.id()).await?;
        let groups = directory::groups_by_ids(&mut tx, &cfg.target_groups()).await?;
        cfg.validate(groups.as_slice())?;
        let before = current(&mut tx, cfg.id()).await?;
        match &before {
            MethodConfiguration::Fido2(b) => crate::version::check(opened_on, b)?,
            MethodConfiguration::TemporaryAccessPass(b) => crate::version::check(opened_on, b)?,
            MethodConfiguration::SoftwareOath(b) => crate::version::check(opened_on, b)?,
            MethodConfiguration::MicrosoftAuthenticator(b) => crate::version::check(opened_on, b)?,
        }
        if let (MethodConfiguration::Fido2(b), MethodConfiguration::Fido2(a)) = (&before, &cfg) {
            let had = portcullis_domain::passkey::empty_allow_lists(b);
            let new: Vec<String> = portcullis_domain::passkey::empty_allow_lists(a)
                .into_iter()
                .filter(|r| !had.contains(r))
                .map(|r| crate::render::ruleset(&r))
                .collect();
            if !new.is_empty() && !accept_empty_allow_list {
                return Err(crate::ServiceError::EmptyAllowList { rulesets: new });
            }
        }
        let warnings = match (&before, &cfg) {
            (MethodConfiguration::Fido2(b), MethodConfiguration::Fido2(a)) => {
                let in_use = portcullis_store::passkeys::aaguids_in_use(&mut tx).await?;
                portcullis_domain::passkey::change_warnings(b, a, &in_use)
                    .iter()
                    .map(crate::render::fido2_warning)
                    .collect()
            }
            _ => vec![],
        };
        policy::put(&mut tx, &cfg, now).await?;
        let rec = method_record(
            activity,
            actor,
            &cfg,
            Some(&before),
            format!("{} configuration saved", cfg.id().as_str()),
        );
        audit::append(&mut tx, &rec, now).await?;
        commit(tx).await?;
        for w in &warnings {
            tracing::warn!(method = cfg.id().as_str(), "{w}");
        }
        Ok(Saved {
            config: cfg,
            warnings,
        })
    }
}

impl Service {
    /// The policy's top-level settings (registrationEnforcement, reconfirmationInDays).
    pub async fn policy_settings(&self) -> Result<Value> {
        let mut c = self.store().conn().await?;
        Ok(policy::settings(&mut c)
            .await?
            .unwrap_or_else(portcullis_domain::policy::method::default_settings))
    }

    /// Graph `PATCH policies/authenticationMethodsPolicy`; audited.
    pub async fn patch_policy_settings(&self, actor: &Actor, patch: &Value) -> Result<Value> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let before = policy::settings(&mut tx)
            .await?
            .unwrap_or_else(portcullis_domain::policy::method::default_settings);
        let after = portcullis_domain::policy::method::patched_settings(&before, patch)?;
        // R55: the campaign's targets name groups and users that exist.
        use portcullis_domain::policy::campaign::{RegistrationCampaign, Who};
        for who in RegistrationCampaign::from_settings(&after)?.named_objects() {
            let missing = match who {
                Who::Group(g) if directory::group_by_id(&mut tx, g).await?.is_none() => {
                    Some(("group", g))
                }
                Who::User(u) if directory::user_by_id(&mut tx, u).await?.is_none() => {
                    Some(("user", u))
                }
                _ => None,
            };
            if let Some((kind, id)) = missing {
                return Err(crate::ServiceError::Invalid(format!(
                    "registrationEnforcement.authenticationMethodsRegistrationCampaign: no {kind} with id '{id}' exists in the directory"
                )));
            }
        }
        policy::put_settings(&mut tx, &after, now).await?;
        audit::append(
            &mut tx,
            &AuditRecord {
                activity: "Authentication Methods Policy Update",
                category: kinds::APPLICATION_MANAGEMENT,
                service: kinds::AUTH_METHODS,
                operation: Operation::Update,
                actor: actor.clone(),
                target: AuditTarget {
                    id: "authenticationMethodsPolicy".into(),
                    display_name: "Authentication Methods Policy".into(),
                    kind: "Policy",
                },
                before: Some(before),
                after: Some(after.clone()),
                reason: "Authentication methods policy settings saved".into(),
            },
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(after)
    }
}
