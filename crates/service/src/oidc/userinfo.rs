//! userinfo, ID token hints, and revocation at sign-out.

use portcullis_domain::directory::User;
use portcullis_store::{directory, oauth};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{userinfo_audience, AccessTokenClaims};
use crate::tokens::TokenError;
use crate::{Result, Service};

/// What an `id_token_hint` says, once its signature and issuer hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenHint {
    /// The client it was issued to.
    pub client_id: String,
    /// The user.
    pub sub: String,
    /// Its expiry (unix seconds).
    pub exp: i64,
}

#[derive(Deserialize)]
struct HintClaims {
    aud: String,
    sub: String,
    exp: i64,
}

impl Service {
    /// The userinfo response for an access token: signature, issuer, audience (only tokens
    /// issued for userinfo), lifetime, and the grant still alive.
    pub async fn userinfo(
        &self,
        issuer: &str,
        token: &str,
    ) -> Result<std::result::Result<Value, TokenError>> {
        let (claims, user) = match self.live_access(issuer, token).await? {
            Ok(ok) => ok,
            Err(e) => return Ok(Err(e)),
        };
        let out = if claims.scp.split_whitespace().any(|s| s == "profile") {
            json!({
                "sub": user.id.to_string(),
                "name": user.display_name,
                "preferred_username": user.user_principal_name.to_string(),
            })
        } else {
            json!({"sub": user.id.to_string()})
        };
        Ok(Ok(out))
    }

    /// An access token of ours (userinfo audience) whose grant is not revoked and whose user
    /// is still enabled: its claims and the user.
    pub(crate) async fn live_access(
        &self,
        issuer: &str,
        token: &str,
    ) -> Result<std::result::Result<(AccessTokenClaims, User), TokenError>> {
        let claims: AccessTokenClaims = match self
            .verify_jwt(token, issuer, &userinfo_audience(issuer))
            .await?
        {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let (Ok(gid), Ok(uid)) = (Uuid::parse_str(&claims.gid), Uuid::parse_str(&claims.sub))
        else {
            return Ok(Err(TokenError::Invalid(
                "malformed grant or subject".into(),
            )));
        };
        let mut c = self.store().conn().await?;
        match oauth::grant(&mut c, gid).await? {
            Some(g) if g.revoked_at.is_none() && g.user_id == uid => {}
            _ => {
                return Ok(Err(TokenError::Invalid(
                    "the token has been revoked".into(),
                )))
            }
        }
        let Some(user) = directory::user_by_id(&mut c, uid)
            .await?
            .filter(|u| u.account_enabled)
        else {
            return Ok(Err(TokenError::UserGone));
        };
        Ok(Ok((claims, user)))
    }

    /// Reads an `id_token_hint`: our signature and issuer, expiry ignored (a hint may be old).
    pub async fn id_token_hint(&self, issuer: &str, token: &str) -> Result<Option<IdTokenHint>> {
        Ok(self
            .verify_jwt_with::<HintClaims>(token, issuer, None, true)
            .await?
            .ok()
            .map(|h| IdTokenHint {
                client_id: h.aud,
                sub: h.sub,
                exp: h.exp,
            }))
    }

    /// Verifies an ID token issued to `client_id` (used by the first-party Security info
    /// app for its own session); returns (user id, session id).
    pub async fn verify_id_token(
        &self,
        issuer: &str,
        client_id: &str,
        token: &str,
    ) -> Result<Option<(Uuid, Uuid)>> {
        let claims: super::IdTokenClaims = match self.verify_jwt(token, issuer, client_id).await? {
            Ok(c) => c,
            Err(_) => return Ok(None),
        };
        Ok(
            match (Uuid::parse_str(&claims.sub), Uuid::parse_str(&claims.sid)) {
                (Ok(u), Ok(s)) => Some((u, s)),
                _ => None,
            },
        )
    }
}
