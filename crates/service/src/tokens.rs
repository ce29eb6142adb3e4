//! Access tokens for the admin API (graph-api.md §8.3): signed JWTs (ES256) with keys
//! kept in the store, so every node verifies what any node minted.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::ecdsa::{SigningKey as P256Key, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use portcullis_domain::authz::Principal;
use portcullis_domain::directory::{Upn, User};
use portcullis_store::{directory, keys};
use serde::{Deserialize, Serialize};
use time::Duration;
use uuid::Uuid;

use crate::{Result, Service, ServiceError};

/// The audience of admin API tokens (Microsoft Graph's app id URI).
pub const GRAPH_AUDIENCE: &str = "https://graph.microsoft.com";

/// Default token lifetime.
pub const TOKEN_LIFETIME: Duration = Duration::hours(1);

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

fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

impl Service {
    /// The current signing key, created on first use.
    async fn signing_key(&self) -> Result<keys::SigningKey> {
        let mut c = self.store().conn().await?;
        if let Some(k) = keys::current(&mut c).await? {
            return Ok(k);
        }
        let sk = P256Key::random(&mut rand::rngs::OsRng);
        let private_pem = sk.to_pkcs8_pem(LineEnding::LF).map_err(internal)?.to_string();
        let public_pem = sk.verifying_key().to_public_key_pem(LineEnding::LF).map_err(internal)?;
        let key = keys::SigningKey { kid: Uuid::new_v4().simple().to_string(), alg: "ES256".into(), private_pem, public_pem, created_at: self.now() };
        keys::insert(&mut c, &key).await?;
        // Another node may have made one at the same moment; either verifies.
        Ok(keys::current(&mut c).await?.unwrap_or(key))
    }

    async fn sign(&self, claims: &Claims) -> Result<String> {
        let key = self.signing_key().await?;
        let sk = P256Key::from_pkcs8_pem(&key.private_pem).map_err(internal)?;
        let der = sk.to_pkcs8_der().map_err(internal)?;
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(key.kid);
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(der.as_bytes())).map_err(internal)
    }

    /// A delegated token for a user with these scopes (like Graph Explorer's), for scripting.
    pub async fn mint_delegated(&self, issuer: &str, user: &str, scopes: &[String]) -> Result<String> {
        let upn = Upn::parse(user)?;
        let mut c = self.store().conn().await?;
        let u = directory::user_by_upn(&mut c, &upn).await?.ok_or_else(|| ServiceError::NotFound(format!("no user '{user}' exists in the directory")))?;
        if !u.account_enabled {
            return Err(ServiceError::Invalid(format!("{} is disabled", u.user_principal_name)));
        }
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
        self.sign(&claims).await
    }

    /// An app-only token for a registered application with these application permissions.
    pub async fn mint_app(&self, issuer: &str, app_id: &str, roles: &[String]) -> Result<String> {
        let mut c = self.store().conn().await?;
        let apps = directory::list_applications(&mut c).await?;
        let app = apps.iter().find(|a| a.app_id.eq_ignore_ascii_case(app_id.trim())).ok_or_else(|| ServiceError::NotFound(format!("no application '{app_id}' is registered")))?;
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
        self.sign(&claims).await
    }

    /// Verifies a bearer token: signature with the stored key named by `kid`, issuer,
    /// audience, lifetime; a delegated caller's directory roles are read now, not from the token.
    pub async fn verify_token(&self, issuer: &str, token: &str) -> Result<std::result::Result<(Principal, Option<User>), TokenError>> {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Ok(Err(TokenError::Invalid("the token is not a JWT".into())));
        };
        let Some(kid) = header.kid else { return Ok(Err(TokenError::Invalid("the token names no key (kid)".into()))) };
        let mut c = self.store().conn().await?;
        let Some(key) = keys::by_kid(&mut c, &kid).await? else { return Ok(Err(TokenError::Invalid("the signing key is unknown".into()))) };
        let vk = VerifyingKey::from_public_key_pem(&key.public_pem).map_err(internal)?;
        let point = vk.to_encoded_point(false);
        let mut v = Validation::new(Algorithm::ES256);
        v.set_issuer(&[issuer]);
        v.set_audience(&[GRAPH_AUDIENCE]);
        v.leeway = 30;
        let claims = match jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_ec_der(point.as_bytes()), &v) {
            Ok(d) => d.claims,
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => return Ok(Err(TokenError::Expired)),
            Err(e) => return Ok(Err(TokenError::Invalid(e.to_string()))),
        };
        if claims.idtyp == "app" {
            let app_id = claims.appid.clone().unwrap_or(claims.sub.clone());
            // The application must still be registered.
            if !directory::list_applications(&mut c).await?.iter().any(|a| a.app_id == app_id) {
                return Ok(Err(TokenError::Invalid("the application is not registered".into())));
            }
            return Ok(Ok((Principal::App { app_id, roles: claims.roles.unwrap_or_default() }, None)));
        }
        let Ok(id) = Uuid::parse_str(&claims.sub) else { return Ok(Err(TokenError::Invalid("bad subject".into()))) };
        let Some(user) = directory::user_by_id(&mut c, id).await?.filter(|u| u.account_enabled) else { return Ok(Err(TokenError::UserGone)) };
        let roles = directory::roles_of(&mut c, id).await?;
        let scopes = claims.scp.unwrap_or_default().split_whitespace().map(str::to_string).collect();
        Ok(Ok((Principal::Delegated { user_id: id, scopes, roles }, Some(user))))
    }
}
