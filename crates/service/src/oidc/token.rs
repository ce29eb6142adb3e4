//! The token endpoint's grants for users: authorization code (with PKCE) and refresh token
//! (rotated on every use; a reused one revokes its whole family).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use portcullis_domain::application::{Application, IdTokenSigning};
use portcullis_domain::grant::{token_expiry, GrantEnded};
use portcullis_domain::oidc::{amr, satisfied_builtin_strengths, REFRESH_LIFETIME, TOKEN_LIFETIME};
use portcullis_domain::time_fmt::rfc3339;
use portcullis_store::oauth::{self, Grant, Taken};
use portcullis_store::token_reads::{self, Minting, TokenReads};
use portcullis_store::{applications, commit};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::{userinfo_audience, AccessTokenClaims, IdTokenClaims};
use crate::apps::GrantError;
use crate::keys::Alg;
use crate::secrets::{new_token, token_key};
use crate::{RequestContext, Result, Service};

/// How the client authenticated at the token endpoint.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    /// Only a client id (public clients).
    Id(String),
    /// Client id and secret (Basic or in the body).
    Secret(String, String),
}

/// An RFC 6749 §5.2 error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// `invalid_grant`, `invalid_client`, …
    pub error: &'static str,
    /// Human text.
    pub description: String,
    /// For `invalid_client` lock-outs: seconds to wait.
    pub retry_after: Option<i64>,
}

fn err(error: &'static str, description: impl Into<String>) -> OAuthError {
    OAuthError {
        error,
        description: description.into(),
        retry_after: None,
    }
}

/// What a successful grant returns.
#[derive(Debug, Clone)]
pub struct TokenSet {
    /// Bearer token for userinfo.
    pub access_token: String,
    /// ID token.
    pub id_token: String,
    /// A new refresh token when `offline_access` was granted.
    pub refresh_token: Option<String>,
    /// Seconds the access token lives.
    pub expires_in: i64,
    /// Granted scopes.
    pub scope: String,
}

/// Whether `verifier` is a valid PKCE verifier whose S256 is `challenge` (RFC 7636 §4.6).
fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let shape_ok = (43..=128).contains(&verifier.len())
        && verifier
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c));
    shape_ok
        && bool::from(
            B64.encode(Sha256::digest(verifier.as_bytes()))
                .as_bytes()
                .ct_eq(challenge.as_bytes()),
        )
}

/// `at_hash`: the left half of the access token's SHA-256 (RS256 and ES256 both use it).
fn at_hash(access_token: &str) -> String {
    let d = Sha256::digest(access_token.as_bytes());
    B64.encode(d.get(..16).unwrap_or_default())
}

impl Service {
    /// Authenticates the client: a public client by id alone (it must not send a secret), a
    /// confidential one by its secret.
    async fn token_client(
        &self,
        auth: &ClientAuth,
        ctx: &RequestContext,
    ) -> Result<std::result::Result<Application, OAuthError>> {
        let id = match auth {
            ClientAuth::Id(id) | ClientAuth::Secret(id, _) => id.trim(),
        };
        let app = applications::by_app_id_read(self.store().reader(), id).await?;
        let invalid = || {
            err(
                "invalid_client",
                "Client authentication failed: unknown client, or the wrong credentials for it.",
            )
        };
        match (app, auth) {
            (None, _) => Ok(Err(invalid())),
            (Some(a), ClientAuth::Id(_)) if a.public_client => Ok(Ok(a)),
            (Some(a), ClientAuth::Secret(..)) if a.public_client => Ok(Err(err(
                "invalid_client",
                format!(
                    "'{}' is a public client: it must not send a client secret.",
                    a.display_name
                ),
            ))),
            (Some(a), ClientAuth::Id(_)) => Ok(Err(err(
                "invalid_client",
                format!(
                    "'{}' is a confidential client: authenticate with its client secret.",
                    a.display_name
                ),
            ))),
            (Some(_), ClientAuth::Secret(id, secret)) => {
                match self.authenticate_client(id, secret, ctx).await? {
                    Ok(a) => Ok(Ok(a)),
                    Err(GrantError::InvalidClient) => Ok(Err(invalid())),
                    Err(e @ GrantError::TooMany { retry_after }) => Ok(Err(OAuthError {
                        error: "invalid_client",
                        description: e.to_string(),
                        retry_after: Some(retry_after),
                    })),
                }
            }
        }
    }

    /// The authorization-code grant (RFC 6749 §4.1.3, RFC 7636). A code works once; a second
    /// use revokes every token the first one produced.
    pub async fn exchange_code(
        &self,
        issuer: &str,
        auth: &ClientAuth,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        ctx: &RequestContext,
    ) -> Result<std::result::Result<TokenSet, OAuthError>> {
        let app = match self.token_client(auth, ctx).await? {
            Ok(a) => a,
            Err(e) => return Ok(Err(e)),
        };
        if code.is_empty() || code.len() > 128 {
            return Ok(Err(err(
                "invalid_grant",
                "The authorization code is malformed.",
            )));
        }
        let now = self.now();
        // Taken holding no connection of the pool: its mark waits for the write gate.
        let taken = oauth::take_code(self.store(), &token_key(code), now).await?;
        let record = match taken {
            Taken::Fresh(r) => r,
            Taken::Unknown => {
                return Ok(Err(err(
                    "invalid_grant",
                    "The authorization code is unknown.",
                )))
            }
            Taken::Reused(grant) => {
                let mut c = self.store().conn().await?;
                oauth::revoke_grant(&mut c, grant, "authorization code reused", now).await?;
                tracing::warn!(%grant, client = %app.app_id, "authorization code reused: grant revoked");
                return Ok(Err(err("invalid_grant", "The authorization code was already presented once; a code works once, so every token issued from it has been revoked.")));
            }
        };
        // The grant, its user and the signing keys, in one read.
        let TokenReads { grant, minting } =
            token_reads::for_grant(self.store().reader(), record.grant_id, now).await?;
        let Some(grant) = grant else {
            return Ok(Err(err(
                "invalid_grant",
                "The authorization code is unknown.",
            )));
        };
        if grant.client_id != app.app_id {
            let mut c = self.store().conn().await?;
            oauth::revoke_grant(&mut c, grant.id, "code presented by another client", now).await?;
            return Ok(Err(err(
                "invalid_grant",
                "The authorization code was issued to another client.",
            )));
        }
        if now >= record.expires_at {
            return Ok(Err(err(
                "invalid_grant",
                "The authorization code has expired; start the sign-in again.",
            )));
        }
        let redirect_ok = match redirect_uri {
            Some(r) => r == record.redirect_uri,
            None => app.redirect_uris.len() == 1,
        };
        if !redirect_ok {
            return Ok(Err(err(
                "invalid_grant",
                "redirect_uri does not match the one of the authorization request.",
            )));
        }
        match (&record.code_challenge, verifier) {
            (Some(ch), Some(v)) if pkce_matches(v, ch) => {}
            (Some(_), Some(_)) => {
                return Ok(Err(err(
                    "invalid_grant",
                    "The PKCE code_verifier does not match the code_challenge.",
                )))
            }
            (Some(_), None) => {
                return Ok(Err(err(
                    "invalid_grant",
                    "This code was requested with PKCE: code_verifier is required.",
                )))
            }
            (None, Some(_)) => {
                return Ok(Err(err(
                    "invalid_grant",
                    "code_verifier was sent but the authorization request had no code_challenge.",
                )))
            }
            (None, None) => {}
        }
        if grant.revoked_at.is_some() {
            return Ok(Err(err("invalid_grant", ended_by(&grant, "code"))));
        }
        // R47: a pass that expired between the authorization and this exchange ends it.
        if let Some(end) = grant.ends_at.filter(|e| now >= *e) {
            return Ok(Err(err(
                "invalid_grant",
                GrantEnded::Expired(rfc3339(end)).to_string(),
            )));
        }
        self.tokens_for(issuer, &app, &grant, record.nonce, minting)
            .await
    }

    /// The refresh-token grant: rotates the refresh token; presenting a used one is theft or
    /// a bug, so the whole family is revoked (RFC 9700 §4.14.2).
    pub async fn refresh(
        &self,
        issuer: &str,
        auth: &ClientAuth,
        refresh_token: &str,
        scope: Option<&str>,
        ctx: &RequestContext,
    ) -> Result<std::result::Result<TokenSet, OAuthError>> {
        let app = match self.token_client(auth, ctx).await? {
            Ok(a) => a,
            Err(e) => return Ok(Err(e)),
        };
        if refresh_token.is_empty() || refresh_token.len() > 128 {
            return Ok(Err(err("invalid_grant", "The refresh token is malformed.")));
        }
        let now = self.now();
        let mut c = self.store().conn().await?;
        let (grant_id, expires_at) = match oauth::take_refresh(
            &mut c,
            &token_key(refresh_token),
            now,
        )
        .await?
        {
            Taken::Fresh(t) => t,
            Taken::Unknown => {
                return Ok(Err(err("invalid_grant", "The refresh token is unknown.")))
            }
            Taken::Reused(grant) => {
                oauth::revoke_grant(&mut c, grant, "refresh token reused", now).await?;
                tracing::warn!(%grant, client = %app.app_id, "refresh token reused: grant revoked");
                return Ok(Err(err("invalid_grant", "The refresh token was already used. The whole sign-in has been revoked; sign in again.")));
            }
        };
        let Some(grant) = oauth::grant(&mut c, grant_id).await? else {
            return Ok(Err(err("invalid_grant", "The refresh token is unknown.")));
        };
        if grant.client_id != app.app_id {
            oauth::revoke_grant(
                &mut c,
                grant.id,
                "refresh token presented by another client",
                now,
            )
            .await?;
            return Ok(Err(err(
                "invalid_grant",
                "The refresh token was issued to another client.",
            )));
        }
        if grant.revoked_at.is_some() {
            return Ok(Err(err("invalid_grant", ended_by(&grant, "refresh token"))));
        }
        // R47: a family that reached its end says so, rather than "this token expired".
        if let Some(end) = grant.ends_at.filter(|e| now >= *e) {
            return Ok(Err(err(
                "invalid_grant",
                GrantEnded::Expired(rfc3339(end)).to_string(),
            )));
        }
        if now >= expires_at {
            return Ok(Err(err(
                "invalid_grant",
                "The refresh token has expired; sign in again.",
            )));
        }
        if let Some(asked) = scope {
            let granted: Vec<&str> = grant.scope.split_whitespace().collect();
            if let Some(extra) = asked.split_whitespace().find(|s| !granted.contains(s)) {
                return Ok(Err(err(
                    "invalid_scope",
                    format!("'{extra}' was not granted; a refresh may only narrow the scopes."),
                )));
            }
        }
        drop(c);
        // R47: every refresh re-runs the access decision; a grant that fails it is over.
        if let Err(ended) = self.recheck_grant(&grant, &app).await? {
            let mut c = self.store().conn().await?;
            oauth::revoke_grant(&mut c, grant.id, ended.code(), now).await?;
            tracing::info!(grant = %grant.id, client = %app.app_id, code = ended.code(), "refresh refused: {ended}");
            let description = match &ended {
                GrantEnded::AccessRefused { verdict } => {
                    format!("{ended} {}", crate::render::refresh_refusal(verdict))
                }
                _ => ended.to_string(),
            };
            return Ok(Err(err("invalid_grant", description)));
        }
        let minting = token_reads::for_grant(self.store().reader(), grant.id, now)
            .await?
            .minting;
        self.tokens_for(issuer, &app, &grant, None, minting).await
    }

    /// Mints the access and ID tokens (and a refresh token with `offline_access`) of a grant.
    async fn tokens_for(
        &self,
        issuer: &str,
        app: &Application,
        grant: &Grant,
        nonce: Option<String>,
        minting: Minting,
    ) -> Result<std::result::Result<TokenSet, OAuthError>> {
        let now = self.now();
        let Some(user) = minting
            .user
            .filter(|u| u.account_enabled && u.id == grant.user_id)
        else {
            return Ok(Err(err(
                "invalid_grant",
                "The user no longer exists or is disabled.",
            )));
        };
        let amr: Vec<String> = amr(&grant.methods)
            .into_iter()
            .map(str::to_string)
            .collect();
        let strengths: Vec<String> = satisfied_builtin_strengths(&grant.methods)
            .into_iter()
            .map(str::to_string)
            .collect();
        // R47: no token outlives its grant.
        let expires = token_expiry(now, TOKEN_LIFETIME, grant.ends_at);
        if expires <= now {
            return Ok(Err(err(
                "invalid_grant",
                GrantEnded::Expired(rfc3339(expires)).to_string(),
            )));
        }
        let (iat, exp) = (now.unix_timestamp(), expires.unix_timestamp());
        let access = AccessTokenClaims {
            iss: issuer.into(),
            aud: userinfo_audience(issuer),
            sub: user.id.to_string(),
            azp: grant.client_id.clone(),
            exp,
            iat,
            nbf: iat,
            scp: grant.scope.clone(),
            gid: grant.id.to_string(),
            sid: grant.session_id.to_string(),
            amr: amr.clone(),
            authentication_strengths: strengths.clone(),
            auth_time: grant.auth_time.unix_timestamp(),
            jti: Uuid::new_v4().to_string(),
        };
        // Its only audience is our own userinfo, and to a client an access token is opaque
        // (RFC 6749 §1.4): signed with ES256, a tenth of an RS256 signature's cost (issue 18:
        // the two RSA signatures were 38% of a pinned server's application sign-ins). The ID
        // token, which relying parties verify themselves, is signed as its application is set
        // to: RS256, OIDC's default, unless it takes ES256.
        let (alg, id_key) = match app.id_token_signing {
            IdTokenSigning::Rs256 => (Alg::Rs256, minting.rs256),
            IdTokenSigning::Es256 => (Alg::Es256, minting.es256.clone()),
        };
        let access_token = self
            .sign_jwt_with(minting.es256, Alg::Es256, &access)
            .await?;
        let profile = grant.scope.split_whitespace().any(|s| s == "profile");
        let id = IdTokenClaims {
            iss: issuer.into(),
            sub: user.id.to_string(),
            aud: grant.client_id.clone(),
            azp: grant.client_id.clone(),
            exp,
            iat,
            nbf: iat,
            auth_time: grant.auth_time.unix_timestamp(),
            nonce,
            amr,
            authentication_strengths: strengths,
            sid: grant.session_id.to_string(),
            at_hash: Some(at_hash(&access_token)),
            name: profile.then(|| user.display_name.clone()),
            preferred_username: profile.then(|| user.user_principal_name.to_string()),
        };
        let id_token = self.sign_jwt_with(id_key, alg, &id).await?;
        let refresh_token = if grant
            .scope
            .split_whitespace()
            .any(|s| s == "offline_access")
        {
            let t = new_token();
            let mut tx = self.store().begin().await?;
            oauth::insert_refresh(
                &mut tx,
                &token_key(&t),
                grant.id,
                now,
                token_expiry(now, REFRESH_LIFETIME, grant.ends_at),
            )
            .await?;
            commit(tx).await?;
            Some(t)
        } else {
            None
        };
        Ok(Ok(TokenSet {
            access_token,
            id_token,
            refresh_token,
            expires_in: (expires - now).whole_seconds(),
            scope: grant.scope.clone(),
        }))
    }
}

/// What a client hears about a revoked grant: that it ended, and why as recorded.
fn ended_by(grant: &oauth::Grant, what: &str) -> String {
    let why = grant
        .revoked_reason
        .as_deref()
        .unwrap_or("signed out or revoked");
    format!("The sign-in behind this {what} has ended ({why}). Sign in again.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_the_rfc_7636_example() {
        // RFC 7636 appendix B.
        assert!(pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "short",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }
}
