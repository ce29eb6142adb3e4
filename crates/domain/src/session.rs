//! A signed-in session: who, how, since when, until when.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;

/// How a user proved who they are in a session (the future `amr` claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AuthMethod {
    /// A Temporary Access Pass; counts as strong authentication (R12).
    TemporaryAccessPass,
    /// A passkey.
    Passkey,
    /// The account's password: one factor, never MFA on its own.
    Password,
    /// A code from an authenticator app, after the password (the second factor).
    SoftwareOath,
    /// A Microsoft Authenticator push approved with the number shown, after the password.
    AuthenticatorPush,
}

/// Whether the methods used together are an MFA claim (R14): a pass or a passkey alone, or
/// the password with a second factor.
pub fn is_mfa(methods: &[AuthMethod]) -> bool {
    let strong_alone = methods
        .iter()
        .any(|m| matches!(m, AuthMethod::TemporaryAccessPass | AuthMethod::Passkey));
    let second = methods
        .iter()
        .any(|m| matches!(m, AuthMethod::SoftwareOath | AuthMethod::AuthenticatorPush));
    strong_alone || (methods.contains(&AuthMethod::Password) && second)
}

/// The methods as the sign-in log names them: `passkey`, `temporaryAccessPass`, or
/// `password,softwareOath` for a password and its second factor.
pub fn methods_text(methods: &[AuthMethod]) -> String {
    methods
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

impl AuthMethod {
    /// The sign-in log's name of this method.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::TemporaryAccessPass => "temporaryAccessPass",
            AuthMethod::Passkey => "passkey",
            AuthMethod::Password => "password",
            AuthMethod::SoftwareOath => "softwareOath",
            AuthMethod::AuthenticatorPush => "microsoftAuthenticatorPush",
        }
    }

    /// The method as an authentication-strength member (a passkey with its AAGUID, if
    /// known, and whether that AAGUID was attested).
    pub fn as_used(
        self,
        passkey_aaguid: Option<Uuid>,
        aaguid_attested: bool,
    ) -> crate::strength::UsedMethod {
        match self {
            AuthMethod::Passkey => {
                crate::strength::UsedMethod::passkey(passkey_aaguid, aaguid_attested)
            }
            AuthMethod::TemporaryAccessPass => crate::strength::UsedMethod::TAP,
            AuthMethod::Password => crate::strength::UsedMethod::PASSWORD,
            AuthMethod::SoftwareOath => crate::strength::UsedMethod::SOFTWARE_OATH,
            AuthMethod::AuthenticatorPush => crate::strength::UsedMethod::AUTHENTICATOR_PUSH,
        }
    }
}

/// A server-side session record (the cookie only carries a random token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Record id.
    pub id: Uuid,
    /// Who is signed in.
    pub user_id: Uuid,
    /// When they last authenticated.
    pub auth_time: Timestamp,
    /// How.
    pub methods: Vec<AuthMethod>,
    /// When the session ends by itself.
    pub expires_at: Timestamp,
    /// The AAGUID of the passkey used, when one was (strengths may restrict AAGUIDs, R31).
    pub passkey_aaguid: Option<Uuid>,
    /// Whether that AAGUID was attested when the passkey was registered (R32).
    pub passkey_attested: bool,
    /// The passkey or Temporary Access Pass that signed the session in, so that grants made
    /// from it can end with it (R47).
    pub credential_id: Option<Uuid>,
    /// R55: the registration campaign interrupted this sign-in; until its user registers
    /// or chooses "Not now", the session reaches Security info only.
    pub campaign_pending: bool,
}

impl Session {
    /// Whether the session is still valid at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }
}
