//! Access tokens for the admin API (graph-api.md §8.3): JWTs signed (ES256) with the
//! store's keys (see [`crate::keys`]), so every node verifies what any node minted.

use portcullis_domain::authz::Principal;
use portcullis_domain::directory::{Upn, User};
use portcullis_store::{applications, directory};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::keys::Alg;
use crate::{Result, Service, ServiceError};

/// The audience of admin API tokens (Microsoft Graph's app id URI).
pub const GRAPH_AUDIENCE: &str = "https://graph.microsoft.com";

/// Token lifetime: one for every token Portcullis signs, so key rotation has one grace period.
pub use portcullis_domain::oidc::TOKEN_LIFETIME;

/// The claims Portcullis puts in, and reads from, an admin API token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Subject: the user's or the application's id.
    pub sub: String,
    /// Issued at (seconds).
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expiry.
    pub exp: i64,
    /// `user` or `app`.
    pub idtyp: String,
    /// Delegated scopes, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    /// Application permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// The user's UPN (delegated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    /// The calling application's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
}

/// Why a token was refused (HTTP 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT of ours, bad signature, wrong issuer or audience.
    #[error("Access token validation failure: {0}")]
    Invalid(String),
    /// Past its expiry.
    #[error("Lifetime validation failed, the token is expired.")]
    Expired,
    /// The user is gone or disabled.
    #[error("The user of this token no longer exists or is disabled.")]
    UserGone,
}

impl Service {
    /// Records the issuer this store's server puts in its tokens (its public URL).
    pub async fn record_issuer(&self, issuer: &str) -> Result<()> {
        let mut c = self.store().conn().await?;
        Ok(portcullis_store::tenant::set_issuer(&mut c, issuer).await?)
    }

    /// The issuer the last server started on this store recorded, if one has started.
    pub async fn recorded_issuer(&self) -> Result<Option<String>> {
        let mut c = self.store().conn().await?;
        Ok(portcullis_store::tenant::issuer(&mut c).await?)
    }

    /// A delegated token for a user with these scopes (like Graph Explorer's), for scripting.
    pub async fn mint_delegated(
        &self,
        issuer: &str,
        user: &str,
        scopes: &[String],
    ) -> Result<String> {
        let upn = Upn::parse(user)?;
        let mut c = self.store().conn().await?;
        let u = directory::user_by_upn(&mut c, &upn).await?.ok_or_else(|| {
            ServiceError::NotFound(format!("no user '{user}' exists in the directory"))
        })?;
        if !u.account_enabled {
            return Err(ServiceError::Invalid(format!(
                "{} is disabled",
                u.user_principal_name
            )));
        }
        // Given back before signing, which may make the first key on a connection of its own.
        drop(c);
        let now = self.now().unix_timestamp();
        let claims = Claims {
            iss: issuer.into(),
            aud: GRAPH_AUDIENCE.into(),
            sub: u.id.to_string(),
            iat: now,
            nbf: now,
            exp: now + TOKEN_LIFETIME.whole_seconds(),
            idtyp: "user".into(),
            scp: Some(scopes.join(" ")),
            roles: None,
            upn: Some(u.user_principal_name.to_string()),
            appid: None,
        };
        self.sign_jwt(Alg::Es256, &claims).await
    }

    /// An app-only token for a registered application with these application permissions.
    pub async fn mint_app(&self, issuer: &str, app_id: &str, roles: &[String]) -> Result<String> {
        let mut c = self.store().conn().await?;
        let apps = applications::list(&mut c).await?;
        // Given back before signing, which may make the first key on a connection of its own.
        drop(c);
        let app = apps
            .iter()
            .find(|a| a.app_id.eq_ignore_ascii_case(app_id.trim()))
            .ok_or_else(|| {
                ServiceError::NotFound(format!("no application '{app_id}' is registered"))
            })?;
        let now = self.now().unix_timestamp();
        let claims = Claims {
            iss: issuer.into(),
            aud: GRAPH_AUDIENCE.into(),
            sub: app.app_id.clone(),
            iat: now,
            nbf: now,
            exp: now + TOKEN_LIFETIME.whole_seconds(),
            idtyp: "app".into(),
            scp: None,
            roles: Some(roles.to_vec()),
            upn: None,
            appid: Some(app.app_id.clone()),
        };
        self.sign_jwt(Alg::Es256, &claims).await
    }

    /// Verifies a bearer token: signature with the stored key named by `kid`, issuer,
    /// audience, lifetime; a delegated caller's directory roles are read now, not from the token.
    pub async fn verify_token(
        &self,
        issuer: &str,
        token: &str,
    ) -> Result<std::result::Result<(Principal, Option<User>), TokenError>> {
        let claims: Claims = match self.verify_jwt(token, issuer, GRAPH_AUDIENCE).await? {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let mut c = self.store().conn().await?;
        if claims.idtyp == "app" {
            let app_id = claims.appid.clone().unwrap_or(claims.sub.clone());
            // The application must still be registered.
            if applications::by_app_id(&mut c, &app_id).await?.is_none() {
                return Ok(Err(TokenError::Invalid(
                    "the application is not registered".into(),
                )));
            }
            return Ok(Ok((
                Principal::App {
                    app_id,
                    roles: claims.roles.unwrap_or_default(),
                },
                None,
            )));
        }
        let Ok(id) = Uuid::parse_str(&claims.sub) else {
            return Ok(Err(TokenError::Invalid("bad subject".into())));
        };
        let Some(user) = directory::user_by_id(&mut c, id)
            .await?
            .filter(|u| u.account_enabled)
        else {
            return Ok(Err(TokenError::UserGone));
        };
        let roles = directory::roles_of(&mut c, id).await?;
        let scopes = claims
            .scp
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        Ok(Ok((
            Principal::Delegated {
                user_id: id,
                scopes,
                roles,
            },
            Some(user),
        )))
    }
}
