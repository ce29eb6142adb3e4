//! The OpenID Connect provider's use cases: authorization codes, the token endpoint's
//! grants, userinfo and sign-out. Decisions (request validation, sign-in freshness, access,
//! `amr`, strengths) are the domain's; this module loads, asks and persists.

mod authorize;
mod refresh_check;
mod token;
mod userinfo;

pub(crate) use authorize::CodeDecision;
pub use authorize::{redirect_with, AuthorizeOutcome, Continuation, NextStep};
pub use token::{ClientAuth, OAuthError, TokenSet};

use serde::{Deserialize, Serialize};

/// Where userinfo lives, relative to the issuer; access tokens are issued for it.
pub const USERINFO_PATH: &str = "/oidc/userinfo";

/// The audience of access tokens from the authorization-code flow: the userinfo endpoint.
pub fn userinfo_audience(issuer: &str) -> String {
    format!("{issuer}{USERINFO_PATH}")
}

/// ID token claims.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// The user's id.
    pub sub: String,
    /// The client id.
    pub aud: String,
    /// Authorized party (the client id).
    pub azp: String,
    /// Expiry.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The authorization request's nonce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// How the user authenticated (RFC 8176 values where one fits).
    pub amr: Vec<String>,
    /// The ids of the built-in authentication strengths this sign-in satisfies.
    pub authentication_strengths: Vec<String>,
    /// The single-sign-on session.
    pub sid: String,
    /// Left half of the access token's SHA-256, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// Display name (`profile` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// userPrincipalName (`profile` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
}

/// Access token claims (audience: the userinfo endpoint).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// The user's id.
    pub sub: String,
    /// The client id.
    pub azp: String,
    /// Expiry.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Granted scopes, space-separated.
    pub scp: String,
    /// The grant: revoking it revokes this token.
    pub gid: String,
    /// The single-sign-on session.
    pub sid: String,
    /// How the user authenticated.
    pub amr: Vec<String>,
    /// Strengths satisfied.
    pub authentication_strengths: Vec<String>,
    /// When the user authenticated.
    pub auth_time: i64,
    /// Unique id.
    pub jti: String,
}
