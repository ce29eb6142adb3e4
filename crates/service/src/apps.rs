//! Applications (service principals) with client secrets and granted application
//! permissions, and the client-credentials grant that turns them into app-only tokens.

use portcullis_domain::actor::Actor;
use portcullis_domain::audit::{kinds, AuditRecord, AuditTarget, Operation};
use portcullis_domain::directory::validate_display_name;
use portcullis_domain::lockout::{assess, Gate};
use portcullis_domain::time_fmt::rfc3339;
use portcullis_store::directory::{self, ApplicationRow};
use portcullis_store::{audit, commit, lockout};
use serde_json::json;
use uuid::Uuid;

use crate::secrets::new_token;
use crate::{RequestContext, Result, Service, ServiceError};

/// Why a client-credentials request was refused (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// Unknown client, no secret, or the wrong secret.
    #[error("Client authentication failed: the client id or secret is wrong.")]
    InvalidClient,
    /// Too many wrong secrets from this source.
    #[error("Too many failed client authentications; retry after {retry_after} seconds.")]
    TooMany {
        /// Seconds until the source may try again.
        retry_after: i64,
    },
}

impl Service {
    /// Registers an application; a confidential one gets a client secret, returned once.
    pub async fn add_application(&self, actor: &Actor, name: &str, public_client: bool) -> Result<(ApplicationRow, Option<String>)> {
        let name = validate_display_name(name).map_err(ServiceError::Invalid)?;
        let now = self.now();
        let app = ApplicationRow { app_id: Uuid::new_v4().to_string(), display_name: name, public_client, first_party: false };
        let secret = (!public_client).then(new_token);
        let hash = match &secret {
            Some(s) => Some(self.secrets.hash(s).await?),
            None => None,
        };
        let mut tx = self.store().begin().await?;
        directory::insert_application(&mut tx, &app, now).await?;
        if let Some(h) = &hash {
            directory::set_app_secret(&mut tx, &app.app_id, h, now).await?;
        }
        audit::append(
            &mut tx,
            &AuditRecord {
                activity: "Add application",
                category: kinds::APPLICATION_MANAGEMENT,
                service: kinds::CORE_DIRECTORY,
                operation: Operation::Add,
                actor: actor.clone(),
                target: AuditTarget { id: app.app_id.clone(), display_name: app.display_name.clone(), kind: "Application" },
                before: None,
                after: Some(json!({"appId": app.app_id, "displayName": app.display_name, "publicClient": public_client, "hasSecret": secret.is_some()})),
                reason: format!("Application '{}' registered", app.display_name),
            },
            now,
        )
        .await?;
        commit(tx).await?;
        Ok((app, secret))
    }

    /// Every registered application with its granted permissions.
    pub async fn applications(&self) -> Result<Vec<(ApplicationRow, Vec<String>)>> {
        let mut c = self.store().conn().await?;
        let mut out = vec![];
        for a in directory::list_applications(&mut c).await? {
            let p = directory::app_permissions(&mut c, &a.app_id).await?;
            out.push((a, p));
        }
        Ok(out)
    }

    /// Grants an application permission (an app role in its tokens); audited.
    pub async fn grant_app_permission(&self, actor: &Actor, app_id: &str, permission: &str) -> Result<bool> {
        let permission = permission.trim();
        if permission.is_empty() || permission.len() > 100 || !permission.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c)) {
            return Err(ServiceError::Invalid(format!("'{permission}' is not a permission name (e.g. Policy.Read.All)")));
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let app = directory::list_applications(&mut tx).await?.into_iter().find(|a| a.app_id.eq_ignore_ascii_case(app_id.trim())).ok_or_else(|| ServiceError::NotFound(format!("no application '{app_id}' is registered")))?;
        if !directory::grant_app_permission(&mut tx, &app.app_id, permission).await? {
            return Ok(false);
        }
        audit::append(
            &mut tx,
            &AuditRecord {
                activity: "Add app role assignment to service principal",
                category: kinds::APPLICATION_MANAGEMENT,
                service: kinds::CORE_DIRECTORY,
                operation: Operation::Assign,
                actor: actor.clone(),
                target: AuditTarget { id: app.app_id.clone(), display_name: app.display_name.clone(), kind: "Application" },
                before: None,
                after: Some(json!({"permission": permission})),
                reason: format!("{permission} granted to '{}'", app.display_name),
            },
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(true)
    }

    /// The client-credentials grant: a confidential application proves its secret and gets an
    /// app-only token carrying its granted permissions. Wrong secrets are counted per source
    /// with the same lock-out as TAP codes.
    pub async fn client_credentials(&self, issuer: &str, client_id: &str, secret: &str, ctx: &RequestContext) -> Result<std::result::Result<String, GrantError>> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let since = now - self.lockout.window();
        let failures = lockout::source_failures(&mut c, &ctx.source, since, i64::from(self.lockout.max_failures_per_source)).await?;
        if let Gate::Locked { until, .. } = assess(&self.lockout, &[], &failures, now) {
            tracing::warn!(source = %ctx.source, until = %rfc3339(until), "client credentials locked out");
            return Ok(Err(GrantError::TooMany { retry_after: (until - now).whole_seconds().max(1) }));
        }
        let app = directory::list_applications(&mut c).await?.into_iter().find(|a| a.app_id == client_id.trim());
        let hash = match &app {
            Some(a) => directory::app_secret(&mut c, &a.app_id).await?,
            None => None,
        };
        drop(c);
        let ok = match &hash {
            Some(h) if !secret.is_empty() && secret.len() <= 256 => self.secrets.verify(secret, h).await?,
            _ => false,
        };
        let (Some(app), true) = (app, ok) else {
            let mut c = self.store().conn().await?;
            lockout::record_failure(&mut c, None, &ctx.source, now).await?;
            return Ok(Err(GrantError::InvalidClient));
        };
        let roles = {
            let mut c = self.store().conn().await?;
            directory::app_permissions(&mut c, &app.app_id).await?
        };
        Ok(Ok(self.mint_app(issuer, &app.app_id, &roles).await?))
    }
}
