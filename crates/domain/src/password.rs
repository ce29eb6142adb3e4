//! The password as a method (issue 17): what a new password must be, and why a password
//! sign-in is refused.

use crate::Timestamp;

/// Shortest password accepted (Entra's minimum).
pub const MIN_CHARS: usize = 8;
/// Longest password accepted (Entra's maximum; also bounds the hashing work one request causes).
pub const MAX_CHARS: usize = 256;
/// The least `zxcvbn` score accepted: 3 of 4, "safely unguessable: moderate protection from an
/// offline slow-hash scenario" (an Argon2id hash is one).
pub const MIN_SCORE: u8 = 3;

/// Why a new password is refused, with what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NewPasswordRefusal {
    /// Fewer than [`MIN_CHARS`] characters.
    #[error("a password needs at least {MIN_CHARS} characters")]
    TooShort,
    /// More than [`MAX_CHARS`] characters.
    #[error("a password may have at most {MAX_CHARS} characters")]
    TooLong,
    /// Easy to guess; `hint` is the estimator's advice when it has some.
    #[error("this password is too easy to guess{}", .hint.as_deref().map(|h| format!(": {h}")).unwrap_or_default())]
    TooWeak {
        /// What the strength estimator says is wrong with it.
        hint: Option<String>,
    },
}

/// Checks a new password: length, then a strength estimate that knows the user's own name,
/// username and the organisation's name (`user_inputs`), so "Contoso2026!" is weak at Contoso.
pub fn check_new(password: &str, user_inputs: &[&str]) -> Result<(), NewPasswordRefusal> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(NewPasswordRefusal::TooShort);
    }
    if chars > MAX_CHARS {
        return Err(NewPasswordRefusal::TooLong);
    }
    let estimate = zxcvbn::zxcvbn(password, user_inputs);
    if (estimate.score() as u8) < MIN_SCORE {
        let hint = estimate.feedback().and_then(|f| {
            f.warning()
                .map(|w| w.to_string())
                .or_else(|| f.suggestions().first().map(|s| s.to_string()))
        });
        return Err(NewPasswordRefusal::TooWeak { hint });
    }
    Ok(())
}

/// Why a password sign-in (or its second step) is refused. Which of "no such user", "no
/// password" and "wrong password" it was is logged, never shown: all three read the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRefusal {
    /// The username is not of the form name@domain.
    MalformedUsername,
    /// No account with that name.
    UnknownUser,
    /// The account has no password.
    NoPassword,
    /// Wrong password.
    WrongPassword,
    /// The account is disabled (said only to someone who gave its password).
    AccountDisabled,
    /// Too many wrong attempts for this name or from this address.
    LockedOut {
        /// When the lock-out ends.
        until: Timestamp,
    },
    /// The second step came after the first had expired, or with a token that does not open.
    SecondStepExpired,
    /// The authenticator app's code was wrong or malformed.
    WrongCode,
    /// The authenticator app's code was right but already used.
    CodeAlreadyUsed,
    /// The password was right, but the user holds a stronger method with no second step here
    /// (a passkey, a pass, an app the policy no longer allows): a password alone would be
    /// weaker than what they hold, so it opens nothing.
    SecondFactorRequired,
    /// The Authenticator request was denied by the user.
    PushDenied,
    /// The number typed in the Authenticator was not the one shown.
    PushWrongNumber,
    /// Nobody answered the Authenticator request in time.
    PushTimedOut,
    /// The user's phone received as many requests as it may in a while
    /// ([`crate::push::FLOOD_LIMIT`]), and the user has no code to give instead.
    PushThrottled {
        /// When the next request may go.
        until: Timestamp,
    },
}

impl PasswordRefusal {
    /// The code a client is told: an unknown name, an account without a password and a wrong
    /// password are one answer (`invalidCredentials`), as their sentence is, so that a client
    /// learns nothing about which accounts exist; the log keeps [`Self::code`].
    pub fn public_code(&self) -> &'static str {
        match self {
            Self::UnknownUser | Self::NoPassword | Self::WrongPassword => "invalidCredentials",
            other => other.code(),
        }
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedUsername => "malformedUsername",
            Self::UnknownUser => "userNotFound",
            Self::NoPassword => "passwordNotSet",
            Self::WrongPassword => "invalidPassword",
            Self::AccountDisabled => "accountDisabled",
            Self::LockedOut { .. } => "lockedOut",
            Self::SecondStepExpired => "signInExpired",
            Self::WrongCode => "oathCodeInvalid",
            Self::CodeAlreadyUsed => "oathCodeReplayed",
            Self::SecondFactorRequired => "strongerMethodRequired",
            Self::PushDenied => "pushDenied",
            Self::PushWrongNumber => "pushWrongNumber",
            Self::PushTimedOut => "pushTimedOut",
            Self::PushThrottled { .. } => "pushThrottled",
        }
    }

    /// The Entra (AADSTS) error number recorded in the sign-in log.
    pub fn error_number(&self) -> i64 {
        match self {
            Self::UnknownUser | Self::MalformedUsername => 50034,
            Self::AccountDisabled => 50057,
            Self::LockedOut { .. } => 50053,
            Self::NoPassword | Self::WrongPassword => 50126,
            Self::SecondStepExpired => 50089,
            Self::WrongCode => 500_121,
            Self::CodeAlreadyUsed => 500_121,
            Self::SecondFactorRequired => 50076,
            Self::PushDenied | Self::PushWrongNumber => 500_121,
            Self::PushTimedOut => 50074,
            Self::PushThrottled { .. } => 500_121,
        }
    }
}

impl std::fmt::Display for PasswordRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::error::Error for PasswordRefusal {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_and_guessability_are_both_required() {
        assert_eq!(check_new("Ab1!", &[]), Err(NewPasswordRefusal::TooShort));
        assert_eq!(
            check_new(&"correct horse ".repeat(20), &[]),
            Err(NewPasswordRefusal::TooLong)
        );
        assert!(matches!(
            check_new("password123", &[]),
            Err(NewPasswordRefusal::TooWeak { .. })
        ));
        assert!(matches!(
            check_new("Qwertyuiop1", &[]),
            Err(NewPasswordRefusal::TooWeak { .. })
        ));
        assert!(check_new("violet-canoe-hums-at-dusk", &[]).is_ok());
    }

    #[test]
    fn the_users_own_names_make_a_password_weak() {
        let pw = "lopezcontoso";
        assert!(check_new(pw, &[]).is_ok());
        assert!(matches!(
            check_new(pw, &["ana", "lopez", "contoso", "ana.lopez@contoso.com"]),
            Err(NewPasswordRefusal::TooWeak { .. })
        ));
    }
}
