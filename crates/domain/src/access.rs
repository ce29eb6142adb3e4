//! The access decision: may this user, signed in this way, get a token for this application
//! from here? The authorization endpoint asks this one function before it issues a code,
//! so Conditional Access (SPEC §4) has exactly one place to plug in.

use crate::application::Application;
use crate::directory::User;
use crate::session::AuthMethod;
use crate::Timestamp;

/// Everything the decision may read about one sign-in to one application.
#[derive(Debug, Clone, Copy)]
pub struct AccessRequest<'a> {
    /// Who.
    pub user: &'a User,
    /// To what.
    pub application: &'a Application,
    /// With which methods, in this session.
    pub methods: &'a [AuthMethod],
    /// When they last authenticated.
    pub auth_time: Timestamp,
    /// Source address as the server saw it.
    pub source_ip: &'a str,
    /// The client's user agent.
    pub user_agent: &'a str,
    /// Now.
    pub now: Timestamp,
}

/// The outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessDecision {
    /// Issue the code.
    Allow,
    /// Refuse, saying why (`code` is stable; `reason` is for the user and the log).
    Deny {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        reason: String,
    },
}

/// Decides access. No access policy exists yet, so every enabled user who signed in may
/// reach every application; disabled users never get here (their sessions end).
pub fn decide(req: &AccessRequest<'_>) -> AccessDecision {
    if !req.user.account_enabled {
        return AccessDecision::Deny { code: "accountDisabled", reason: format!("{} is disabled.", req.user.user_principal_name) };
    }
    AccessDecision::Allow
}
