//! Applications (service principals): registration with redirect URIs, client type, the
//! flags and custom security attributes Conditional Access reads; client secrets (hashed)
//! and application permissions; and the client-credentials grant.

use portcullis_domain::actor::{may_manage_app_credentials, Actor};
use portcullis_domain::application::{
    patch_custom_security_attributes, validate_redirect_uris, Application,
    CustomSecurityAttributes, IdTokenSigning,
};
use portcullis_domain::audit::{kinds, AuditRecord, AuditTarget, Operation};
use portcullis_domain::directory::validate_display_name;
use portcullis_domain::lockout::{assess, Gate};
use portcullis_domain::time_fmt::rfc3339;
use portcullis_domain::Timestamp;
pub use portcullis_store::applications::PasswordCredential;
use portcullis_store::{applications, audit, commit, lockout, Conn};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::secrets::new_token;
use crate::{RequestContext, Result, Service, ServiceError};

/// How long a client secret lives unless its creator says otherwise (Graph's default).
const SECRET_DEFAULT_LIFETIME: time::Duration = time::Duration::days(730);
/// The longest a client secret may live.
const SECRET_MAX_LIFETIME: time::Duration = time::Duration::days(731);
/// How many characters of a secret its `hint` shows (and a presented secret is matched by).
const SECRET_HINT: usize = 3;
/// Most client secrets one application may hold.
const SECRETS_MAX: usize = 20;

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

/// What to register.
#[derive(Debug, Clone, Default)]
pub struct NewApplication {
    /// Name.
    pub display_name: String,
    /// A public client (native or browser app) has no secret and must use PKCE.
    pub public_client: bool,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// "Approved client app".
    pub approved_client_app: bool,
    /// Supports an app protection policy.
    pub app_protection_policy: bool,
    /// Graph-shaped `customSecurityAttributes` to set, if any.
    pub custom_security_attributes: Option<Value>,
    /// How its ID tokens are signed.
    pub id_token_signing: IdTokenSigning,
    /// Issue a client secret now (confidential clients only; Graph callers use
    /// `addPassword` afterwards instead).
    pub issue_secret: bool,
}

/// A change to an application; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct ApplicationPatch {
    /// Name.
    pub display_name: Option<String>,
    /// Redirect URIs (replacing the list).
    pub redirect_uris: Option<Vec<String>>,
    /// "Approved client app".
    pub approved_client_app: Option<bool>,
    /// Supports an app protection policy.
    pub app_protection_policy: Option<bool>,
    /// Graph-shaped `customSecurityAttributes` to merge (`null` values remove).
    pub custom_security_attributes: Option<Value>,
    /// How its ID tokens are signed.
    pub id_token_signing: Option<IdTokenSigning>,
}

fn summary(a: &Application) -> Value {
    json!({
        "appId": a.app_id, "displayName": a.display_name, "publicClient": a.public_client, "redirectUris": a.redirect_uris,
        "approvedClientApp": a.approved_client_app, "appProtectionPolicy": a.app_protection_policy,
        "idTokenSigningAlgorithm": a.id_token_signing.alg(),
        "customSecurityAttributes": portcullis_domain::application::custom_security_attributes_json(&a.custom_security_attributes),
    })
}

fn app_record(
    activity: &'static str,
    operation: Operation,
    actor: &Actor,
    a: &Application,
    before: Option<Value>,
    after: Option<Value>,
    reason: String,
) -> AuditRecord {
    AuditRecord {
        activity,
        category: kinds::APPLICATION_MANAGEMENT,
        service: kinds::CORE_DIRECTORY,
        operation,
        actor: actor.clone(),
        target: AuditTarget {
            id: a.app_id.clone(),
            display_name: a.display_name.clone(),
            kind: "Application",
        },
        before,
        after,
        reason,
    }
}

/// An application named by client id, application object id or service principal id.
async fn find(c: &mut Conn, id: &str) -> Result<Application> {
    let id = id.trim();
    if let Some(a) = applications::by_app_id(c, id).await? {
        return Ok(a);
    }
    if let Some(a) = applications::by_object_id(c, id).await? {
        return Ok(a);
    }
    if let Some(a) = applications::by_service_principal_id(c, id).await? {
        return Ok(a);
    }
    // Client ids are GUIDs: accept any case.
    let lower = id.to_ascii_lowercase();
    if lower != id {
        if let Some(a) = applications::by_app_id(c, &lower).await? {
            return Ok(a);
        }
    }
    Err(ServiceError::NotFound(format!(
        "no application '{}' is registered",
        id.chars().take(80).collect::<String>()
    )))
}

/// The audit record of a change to an application's client secrets.
fn secrets_record(
    actor: &Actor,
    app: &Application,
    before: Option<Value>,
    after: Option<Value>,
    reason: String,
) -> AuditRecord {
    app_record(
        "Update application – Certificates and secrets management",
        Operation::Update,
        actor,
        app,
        before,
        after,
        reason,
    )
}

impl Service {
    /// Registers an application; a confidential one gets a client secret, returned once.
    pub async fn add_application(
        &self,
        actor: &Actor,
        spec: NewApplication,
    ) -> Result<(Application, Option<String>)> {
        let name = validate_display_name(&spec.display_name)?;
        let redirect_uris = validate_redirect_uris(&spec.redirect_uris, spec.public_client)?;
        let attrs = match &spec.custom_security_attributes {
            Some(v) => patch_custom_security_attributes(&CustomSecurityAttributes::new(), v)?,
            None => CustomSecurityAttributes::new(),
        };
        let now = self.now();
        let app = Application {
            app_id: Uuid::new_v4().to_string(),
            object_id: Uuid::new_v4().to_string(),
            service_principal_id: Uuid::new_v4().to_string(),
            display_name: name,
            public_client: spec.public_client,
            first_party: false,
            redirect_uris,
            approved_client_app: spec.approved_client_app,
            app_protection_policy: spec.app_protection_policy,
            custom_security_attributes: attrs,
            id_token_signing: spec.id_token_signing,
        };
        let secret = (spec.issue_secret && !spec.public_client).then(new_token);
        let hash = match &secret {
            Some(s) => Some(self.secrets.hash(s).await?),
            None => None,
        };
        let mut tx = self.store().begin().await?;
        applications::insert(&mut tx, &app, now).await?;
        if let Some(h) = &hash {
            let cred = PasswordCredential {
                key_id: Uuid::new_v4(),
                hint: secret
                    .as_deref()
                    .unwrap_or_default()
                    .chars()
                    .take(SECRET_HINT)
                    .collect(),
                display_name: None,
                start_at: now,
                end_at: now + SECRET_DEFAULT_LIFETIME,
            };
            applications::add_secret(&mut tx, &app.app_id, &cred, h, now).await?;
        }
        let mut after = summary(&app);
        if let Some(m) = after.as_object_mut() {
            m.insert("hasSecret".into(), json!(secret.is_some()));
        }
        audit::append(
            &mut tx,
            &app_record(
                "Add application",
                Operation::Add,
                actor,
                &app,
                None,
                Some(after),
                format!("Application '{}' registered", app.display_name),
            ),
            now,
        )
        .await?;
        commit(tx).await?;
        Ok((app, secret))
    }

    /// Changes an application; audited with before and after.
    pub async fn update_application(
        &self,
        actor: &Actor,
        id: &str,
        patch: ApplicationPatch,
    ) -> Result<Application> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let before = find(&mut tx, id).await?;
        let mut app = before.clone();
        if let Some(n) = &patch.display_name {
            if before.first_party && n != &before.display_name {
                return Err(ServiceError::Invalid(format!(
                    "'{}' is a first-party application; its name is fixed",
                    before.display_name
                )));
            }
            app.display_name = validate_display_name(n)?;
        }
        if let Some(uris) = &patch.redirect_uris {
            if before.first_party {
                return Err(ServiceError::Invalid(format!(
                    "'{}' is a first-party application; its redirect URIs are fixed",
                    before.display_name
                )));
            }
            app.redirect_uris = validate_redirect_uris(uris, app.public_client)?;
        }
        if let Some(v) = patch.approved_client_app {
            app.approved_client_app = v;
        }
        if let Some(v) = patch.app_protection_policy {
            app.app_protection_policy = v;
        }
        if let Some(v) = patch.id_token_signing {
            app.id_token_signing = v;
        }
        if let Some(v) = &patch.custom_security_attributes {
            app.custom_security_attributes =
                patch_custom_security_attributes(&app.custom_security_attributes, v)?;
        }
        if app == before {
            return Ok(app);
        }
        applications::update(&mut tx, &app).await?;
        audit::append(
            &mut tx,
            &app_record(
                "Update application",
                Operation::Update,
                actor,
                &app,
                Some(summary(&before)),
                Some(summary(&app)),
                format!("Application '{}' changed", app.display_name),
            ),
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(app)
    }

    /// Deletes an application (not a first-party one); its grants and tokens die with it.
    pub async fn delete_application(&self, actor: &Actor, id: &str) -> Result<()> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let app = find(&mut tx, id).await?;
        if app.first_party {
            return Err(ServiceError::Invalid(format!(
                "'{}' is a first-party application and cannot be deleted",
                app.display_name
            )));
        }
        applications::delete(&mut tx, &app.app_id).await?;
        audit::append(
            &mut tx,
            &app_record(
                "Delete application",
                Operation::Delete,
                actor,
                &app,
                Some(summary(&app)),
                None,
                format!("Application '{}' deleted", app.display_name),
            ),
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }

    /// Graph `addPassword`: adds a client secret to a confidential application's list (the
    /// others stay) and returns it once; only its hash is stored. An application holding a
    /// privileged permission takes a Global or Privileged Role Administrator
    /// (`may_manage_app_credentials`). Audited.
    pub async fn add_client_secret(
        &self,
        actor: &Actor,
        id: &str,
        display_name: Option<String>,
        end_at: Option<Timestamp>,
    ) -> Result<(Application, PasswordCredential, String)> {
        let now = self.now();
        let app = self.application(id).await?;
        if app.public_client {
            return Err(ServiceError::Invalid(format!(
                "'{}' is a public client; public clients hold no secret",
                app.display_name
            )));
        }
        let end_at = end_at.unwrap_or(now + SECRET_DEFAULT_LIFETIME);
        if end_at <= now || end_at > now + SECRET_MAX_LIFETIME {
            return Err(ServiceError::Invalid(
                "passwordCredential.endDateTime must be in the future and at most two years away"
                    .into(),
            ));
        }
        let display_name = match display_name {
            Some(n) => Some(validate_display_name(&n)?),
            None => None,
        };
        let secret = new_token();
        let hash = self.secrets.hash(&secret).await?;
        let cred = PasswordCredential {
            key_id: Uuid::new_v4(),
            hint: secret.chars().take(SECRET_HINT).collect(),
            display_name,
            start_at: now,
            end_at,
        };
        let mut tx = self.credentials_change(actor, &app).await?;
        if applications::secrets(&mut tx, &app.app_id).await?.len() >= SECRETS_MAX {
            return Err(ServiceError::Invalid(format!(
                "'{}' already holds {SECRETS_MAX} client secrets; remove one first (removePassword)",
                app.display_name
            )));
        }
        applications::add_secret(&mut tx, &app.app_id, &cred, &hash, now).await?;
        audit::append(
            &mut tx,
            &secrets_record(
                actor,
                &app,
                None,
                Some(json!({"passwordCredential": {"keyId": cred.key_id, "hint": cred.hint, "displayName": cred.display_name, "endDateTime": rfc3339(cred.end_at)}})),
                format!("A client secret was added to '{}'", app.display_name),
            ),
            now,
        )
        .await?;
        commit(tx).await?;
        Ok((app, cred, secret))
    }

    /// Graph `removePassword`: removes one client secret, under the same rule as adding one.
    pub async fn remove_client_secret(&self, actor: &Actor, id: &str, key_id: Uuid) -> Result<()> {
        let now = self.now();
        let app = self.application(id).await?;
        let mut tx = self.credentials_change(actor, &app).await?;
        if !applications::remove_secret(&mut tx, &app.app_id, key_id).await? {
            return Err(ServiceError::NotFound(format!(
                "'{}' has no client secret with keyId {key_id}",
                app.display_name
            )));
        }
        audit::append(
            &mut tx,
            &secrets_record(
                actor,
                &app,
                Some(json!({"passwordCredential": {"keyId": key_id}})),
                None,
                format!("A client secret was removed from '{}'", app.display_name),
            ),
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }

    /// A transaction for changing `app`'s credentials, once `actor` may
    /// (`may_manage_app_credentials`, read over the permissions it holds in that transaction).
    async fn credentials_change(
        &self,
        actor: &Actor,
        app: &Application,
    ) -> Result<portcullis_store::Tx> {
        let mut tx = self.store().begin().await?;
        let permissions = applications::permissions(&mut tx, &app.app_id).await?;
        may_manage_app_credentials(actor, &app.display_name, &permissions)?;
        Ok(tx)
    }

    /// An application's client secrets (never the secrets themselves).
    pub async fn client_secrets(&self, app_id: &str) -> Result<Vec<PasswordCredential>> {
        let mut c = self.store().conn().await?;
        Ok(applications::secrets(&mut c, app_id).await?)
    }

    /// One application, by client id, object id or service principal id.
    pub async fn application(&self, id: &str) -> Result<Application> {
        let mut c = self.store().conn().await?;
        find(&mut c, id).await
    }

    /// Every registered application with its granted permissions.
    pub async fn applications(&self) -> Result<Vec<(Application, Vec<String>)>> {
        let mut c = self.store().conn().await?;
        let mut out = vec![];
        for a in applications::list(&mut c).await? {
            let p = applications::permissions(&mut c, &a.app_id).await?;
            out.push((a, p));
        }
        Ok(out)
    }

    /// Grants an application permission (an app role in its tokens); audited.
    pub async fn grant_app_permission(
        &self,
        actor: &Actor,
        app_id: &str,
        permission: &str,
    ) -> Result<bool> {
        let permission = permission.trim();
        if permission.is_empty()
            || permission.len() > 100
            || !permission
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
        {
            return Err(ServiceError::Invalid(format!(
                "'{permission}' is not a permission name (e.g. Policy.Read.All)"
            )));
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let app = find(&mut tx, app_id).await?;
        // Granting a privileged permission makes the application privileged: the same rule as
        // for its credentials, read over what it would then hold.
        let mut would_hold = applications::permissions(&mut tx, &app.app_id).await?;
        would_hold.push(permission.to_string());
        may_manage_app_credentials(actor, &app.display_name, &would_hold)?;
        if !applications::grant_permission(&mut tx, &app.app_id, permission).await? {
            return Ok(false);
        }
        audit::append(
            &mut tx,
            &app_record(
                "Add app role assignment to service principal",
                Operation::Assign,
                actor,
                &app,
                None,
                Some(json!({"permission": permission})),
                format!("{permission} granted to '{}'", app.display_name),
            ),
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(true)
    }

    /// Authenticates a confidential client by its secret. Wrong secrets are counted per
    /// source with the same lock-out as TAP codes.
    pub async fn authenticate_client(
        &self,
        client_id: &str,
        secret: &str,
        ctx: &RequestContext,
    ) -> Result<std::result::Result<Application, GrantError>> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let since = now - self.lockout.window();
        let failures = lockout::source_failures(
            &mut c,
            &ctx.source_key(),
            since,
            i64::from(self.lockout.max_failures_per_source),
        )
        .await?;
        if let Gate::Locked { until, .. } = assess(&self.lockout, &[], &failures, now) {
            tracing::warn!(source = %ctx.source_text(), until = %rfc3339(until), "client authentication locked out");
            return Ok(Err(GrantError::TooMany {
                retry_after: (until - now).whole_seconds().max(1),
            }));
        }
        let app = applications::by_app_id(&mut c, client_id.trim()).await?;
        let hint: String = secret.chars().take(SECRET_HINT).collect();
        let hashes = match &app {
            Some(a) => applications::secret_hashes(&mut c, &a.app_id, &hint, now).await?,
            None => vec![],
        };
        drop(c);
        let mut ok = false;
        if !secret.is_empty() && secret.len() <= 256 {
            for h in &hashes {
                if self.secrets.verify(secret, h).await? {
                    ok = true;
                    break;
                }
            }
        }
        match (app, ok) {
            (Some(app), true) => Ok(Ok(app)),
            _ => {
                let mut c = self.store().conn().await?;
                lockout::record_failure(&mut c, None, &ctx.source_key(), now).await?;
                Ok(Err(GrantError::InvalidClient))
            }
        }
    }

    /// The client-credentials grant: a confidential application proves its secret and gets an
    /// app-only admin API token carrying its granted permissions.
    pub async fn client_credentials(
        &self,
        issuer: &str,
        client_id: &str,
        secret: &str,
        ctx: &RequestContext,
    ) -> Result<std::result::Result<String, GrantError>> {
        let app = match self.authenticate_client(client_id, secret, ctx).await? {
            Ok(a) => a,
            Err(e) => return Ok(Err(e)),
        };
        let roles = {
            let mut c = self.store().conn().await?;
            applications::permissions(&mut c, &app.app_id).await?
        };
        Ok(Ok(self.mint_app(issuer, &app.app_id, &roles).await?))
    }
}
