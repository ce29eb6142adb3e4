//! First start: the tenant, its first Global Administrator and a one-time pass for them.

use portcullis_domain::actor::Actor;
use portcullis_domain::audit::{kinds, AuditRecord, AuditTarget, Operation};
use portcullis_domain::directory::{DirectoryRole, Upn, User, FIRST_PARTY_APPS};
use portcullis_domain::policy::{
    Fido2Configuration, MethodConfiguration, MethodState, TapConfiguration,
};
use portcullis_domain::tap::{self, IssueRequest, TemporaryAccessPass};
use portcullis_store::{applications, audit, commit, directory, policy, tap as tap_store, tenant};
use serde_json::json;
use uuid::Uuid;

use crate::tap::IssuedPass;
use crate::{Result, Service};

/// The tenant's starting policy: unlike Graph's all-disabled defaults, a new
/// Portcullis tenant can be used at once — TAP on for everyone (so the printed pass
/// works) and passkeys on for everyone without attestation (so any authenticator
/// can be added until an administrator tightens it).
pub fn starting_policy() -> [MethodConfiguration; 2] {
    [
        MethodConfiguration::TemporaryAccessPass(TapConfiguration {
            state: MethodState::Enabled,
            ..Default::default()
        }),
        MethodConfiguration::Fido2(Fido2Configuration {
            state: MethodState::Enabled,
            is_attestation_enforced: false,
            ..Default::default()
        }),
    ]
}

impl Service {
    /// Bootstraps an empty store: tenant, administrator `admin@{domain}` holding Global
    /// Administrator, the first-party applications, the starting policy, and a one-time
    /// pass valid for the policy's longest lifetime. Returns `None` (and changes
    /// nothing) when the tenant already exists — so a restart prints no new pass.
    pub async fn bootstrap(&self, org_name: &str, domain: &str) -> Result<Option<IssuedPass>> {
        let now = self.now();
        let actor = Actor::System;
        let upn = Upn::parse(&format!("admin@{domain}"))?;
        {
            let mut c = self.store().conn().await?;
            if tenant::get(&mut c).await?.is_some() {
                return Ok(None);
            }
        }
        let policies = starting_policy();
        let tap_cfg = match &policies[0] {
            MethodConfiguration::TemporaryAccessPass(t) => t.clone(),
            _ => TapConfiguration::default(),
        };
        let terms = tap::plan_issue(
            &tap_cfg,
            &IssueRequest {
                lifetime_minutes: Some(tap_cfg.maximum_lifetime_in_minutes),
                is_usable_once: Some(true),
                start_at: None,
            },
            now,
        )?;
        let code = tap::generate_code(terms.code_length, &mut rand::rngs::OsRng);
        let hash = self.secrets.hash(&code).await?;

        let admin = User {
            id: Uuid::new_v4(),
            user_principal_name: upn,
            display_name: "Administrator".into(),
            account_enabled: true,
            created_date_time: now,
        };
        let mut tx = self.store().begin().await?;
        let t = tenant::Tenant {
            id: Uuid::new_v4(),
            display_name: org_name.into(),
            domain: domain.into(),
            created_at: now,
            bootstrap_admin_id: Some(admin.id),
        };
        if !tenant::create_if_absent(&mut tx, &t).await? {
            // Another node bootstrapped first; roll back.
            return Ok(None);
        }
        directory::insert_user(&mut tx, &admin).await?;
        directory::assign_role(&mut tx, admin.id, DirectoryRole::GlobalAdministrator, now).await?;
        for app in &FIRST_PARTY_APPS {
            // Security info's redirect URI is set when the server starts (it needs the public URL).
            applications::ensure_first_party(
                &mut tx,
                app,
                &app.redirect_uri
                    .map(|u| vec![u.to_string()])
                    .unwrap_or_default(),
                now,
            )
            .await?;
        }
        for p in &policies {
            policy::put(&mut tx, p, now).await?;
        }
        let pass = TemporaryAccessPass {
            id: Uuid::new_v4(),
            user_id: admin.id,
            created_at: now,
            start_at: terms.start_at,
            lifetime_minutes: terms.lifetime_minutes,
            is_usable_once: true,
            consumed_at: None,
        };
        tap_store::replace(&mut tx, &pass, &hash).await?;
        let user_target = AuditTarget {
            id: admin.id.to_string(),
            display_name: admin.user_principal_name.to_string(),
            kind: "User",
        };
        let records = [
            AuditRecord {
                activity: "Add user",
                category: kinds::USER_MANAGEMENT,
                service: kinds::CORE_DIRECTORY,
                operation: Operation::Add,
                actor: actor.clone(),
                target: user_target.clone(),
                before: None,
                after: serde_json::to_value(&admin).ok(),
                reason: format!("Tenant '{org_name}' bootstrapped with its first administrator"),
            },
            AuditRecord {
                activity: "Add member to role",
                category: kinds::ROLE_MANAGEMENT,
                service: kinds::CORE_DIRECTORY,
                operation: Operation::Assign,
                actor: actor.clone(),
                target: user_target.clone(),
                before: Some(json!([])),
                after: Some(json!([DirectoryRole::GlobalAdministrator])),
                reason: "Bootstrap administrator holds Global Administrator".into(),
            },
            AuditRecord {
                activity: "Admin registered security info",
                category: kinds::USER_MANAGEMENT,
                service: kinds::AUTH_METHODS,
                operation: Operation::Add,
                actor: actor.clone(),
                target: user_target,
                before: None,
                after: Some(
                    json!({"id": pass.id, "lifetimeInMinutes": pass.lifetime_minutes, "isUsableOnce": true}),
                ),
                reason: "Admin registered temporary access pass method for user".into(),
            },
        ];
        for r in &records {
            audit::append(&mut tx, r, now).await?;
        }
        for p in &policies {
            let rec = crate::policy::method_record(
                "Authentication Methods Policy Update",
                &actor,
                p,
                None,
                "Starting policy of a new tenant".into(),
            );
            audit::append(&mut tx, &rec, now).await?;
        }
        commit(tx).await?;
        Ok(Some(IssuedPass {
            pass,
            code,
            user: admin,
        }))
    }

    /// Brings the first-party applications up to date for a server reached at `public_base`:
    /// Security info's redirect URI follows the public URL. Also gives object ids to
    /// applications registered before they had any.
    pub async fn prepare_applications(&self, public_base: &str) -> Result<()> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        for app in &FIRST_PARTY_APPS {
            applications::ensure_first_party(&mut tx, app, &app.redirect_uris(public_base), now)
                .await?;
        }
        applications::backfill_ids(&mut tx).await?;
        commit(tx).await?;
        Ok(())
    }
}
