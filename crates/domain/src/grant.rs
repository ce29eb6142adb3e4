//! A token grant ends with what started it (R47): an absolute end fixed when it is made —
//! its refresh family's lifetime, and for a Temporary Access Pass sign-in never past the
//! pass's own expiry — and on every refresh the access decision again: the account, the
//! passkey or pass that signed the user in, and Conditional Access for the application.

use serde::{Deserialize, Serialize};
use time::Duration;

use crate::conditional_access::remedy::Verdict;
use crate::passkey::PasskeyRefusal;
use crate::session::{AuthMethod, Session};
use crate::time_fmt::rfc3339;
use crate::Timestamp;

/// How long a grant's refresh family may live, whatever its refresh tokens say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrantLifetimes {
    /// A grant from a Temporary Access Pass sign-in, in hours.
    pub tap_hours: u32,
    /// Any other grant, in days.
    pub days: u32,
}

impl Default for GrantLifetimes {
    fn default() -> Self {
        GrantLifetimes {
            tap_hours: 24,
            days: 90,
        }
    }
}

impl GrantLifetimes {
    /// Whether both lifetimes are positive (a zero one would end every grant at birth).
    pub fn is_valid(&self) -> bool {
        self.tap_hours > 0 && self.days > 0
    }
}

/// R47: when a grant made at `now` from `session` ends. A grant from a pass ends when the
/// pass does (`tap_expires`; the session's own end when the pass is not known), or after
/// `tap_hours` if that is sooner; any other after `days`.
pub fn grant_end(
    session: &Session,
    tap_expires: Option<Timestamp>,
    lifetimes: &GrantLifetimes,
    now: Timestamp,
) -> Timestamp {
    let from_tap = session.methods.contains(&AuthMethod::TemporaryAccessPass);
    if from_tap {
        let family = now.saturating_add(Duration::hours(i64::from(lifetimes.tap_hours)));
        family.min(tap_expires.unwrap_or(session.expires_at))
    } else {
        now.saturating_add(Duration::days(i64::from(lifetimes.days)))
    }
}

/// An access or ID token's expiry: its own lifetime, never past the grant's end.
pub fn token_expiry(now: Timestamp, lifetime: Duration, grant_end: Option<Timestamp>) -> Timestamp {
    let own = now.saturating_add(lifetime);
    grant_end.map_or(own, |end| own.min(end))
}

/// What a refresh finds, now, of the passkey or pass that signed the user in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// The passkey is registered; whether policy lets it sign in now (R1, R2, R5, R9, R22).
    Passkey(Result<(), PasskeyRefusal>),
    /// The passkey was deleted (by the user or an administrator, R25).
    PasskeyDeleted,
    /// The pass is still the user's; when it expires.
    Tap {
        /// Its expiry.
        expires_at: Timestamp,
    },
    /// The pass was deleted or replaced by another.
    TapGone,
    /// The session predates the record of what signed it in: only the rest is re-checked.
    Unrecorded,
}

/// Why a grant cannot be refreshed; each says what ended it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantEnded {
    /// Its absolute end passed.
    #[error("The sign-in behind this refresh token ended at {0} (its refresh tokens live no longer than that: a Temporary Access Pass sign-in ends with the pass, every other one after a fixed time). Sign in again.")]
    Expired(String),
    /// The account is disabled or gone.
    #[error("The account is disabled or no longer exists.")]
    AccountDisabled,
    /// The passkey used to sign in was deleted.
    #[error("The passkey used to sign in was deleted. Sign in again.")]
    PasskeyDeleted,
    /// The passkey used to sign in may no longer be used.
    #[error("The passkey used to sign in can no longer be used: {0}")]
    PasskeyUnusable(PasskeyRefusal),
    /// The pass used to sign in was deleted or replaced.
    #[error("The Temporary Access Pass used to sign in was deleted or replaced. Sign in again.")]
    TapGone,
    /// The pass used to sign in has expired.
    #[error("The Temporary Access Pass used to sign in expired at {0}. Sign in again.")]
    TapExpired(String),
    /// Conditional Access no longer lets the user into the application: the verdict says
    /// why (each surface renders it).
    #[error("Conditional Access no longer allows this sign-in{}.", verdict.policy().filter(|p| !p.is_empty()).map(|p| format!(" (policy '{p}')")).unwrap_or_default())]
    AccessRefused {
        /// What the access decision says now.
        verdict: Verdict,
    },
}

impl GrantEnded {
    /// Stable code for logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Expired(_) => "grantExpired",
            Self::AccountDisabled => "accountDisabled",
            Self::PasskeyDeleted => "passkeyDeleted",
            Self::PasskeyUnusable(_) => "passkeyUnusable",
            Self::TapGone => "tapDeleted",
            Self::TapExpired(_) => "tapExpired",
            Self::AccessRefused { .. } => "conditionalAccess",
        }
    }
}

/// What a refresh re-reads.
#[derive(Debug, Clone)]
pub struct RefreshFacts<'a> {
    /// The grant's absolute end (`None` for grants made before ends were recorded).
    pub ends_at: Option<Timestamp>,
    /// The account exists and is enabled.
    pub account_enabled: bool,
    /// What became of the credential that signed the user in.
    pub credential: &'a Credential,
    /// The access decision for the application, now, with the sign-in's signals.
    pub access: &'a Verdict,
    /// Now.
    pub now: Timestamp,
}

/// R47: whether a grant may be refreshed now, and if not why.
pub fn may_refresh(f: &RefreshFacts<'_>) -> Result<(), GrantEnded> {
    if let Some(end) = f.ends_at {
        if f.now >= end {
            return Err(GrantEnded::Expired(rfc3339(end)));
        }
    }
    if !f.account_enabled {
        return Err(GrantEnded::AccountDisabled);
    }
    match f.credential {
        Credential::Passkey(Err(r)) => return Err(GrantEnded::PasskeyUnusable(r.clone())),
        Credential::PasskeyDeleted => return Err(GrantEnded::PasskeyDeleted),
        Credential::TapGone => return Err(GrantEnded::TapGone),
        Credential::Tap { expires_at } if f.now >= *expires_at => {
            return Err(GrantEnded::TapExpired(rfc3339(*expires_at)))
        }
        Credential::Passkey(Ok(())) | Credential::Tap { .. } | Credential::Unrecorded => {}
    }
    match f.access {
        Verdict::Allow | Verdict::AllowForRegistration { .. } => Ok(()),
        v => Err(GrantEnded::AccessRefused { verdict: v.clone() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use uuid::Uuid;

    const NOW: Timestamp = datetime!(2026-06-01 12:00 UTC);

    fn session(m: AuthMethod, expires_at: Timestamp) -> Session {
        Session {
            id: Uuid::nil(),
            user_id: Uuid::nil(),
            auth_time: NOW,
            methods: vec![m],
            expires_at,
            passkey_aaguid: None,
            passkey_attested: false,
            credential_id: None,
            campaign_pending: false,
        }
    }

    #[test]
    fn r47_a_grant_from_a_tap_ends_with_the_tap_and_others_after_their_lifetime() {
        let l = GrantLifetimes::default();
        let tap_end = NOW + Duration::hours(2);
        let s = session(AuthMethod::TemporaryAccessPass, tap_end);
        assert_eq!(grant_end(&s, Some(tap_end), &l, NOW), tap_end);
        let long_tap = NOW + Duration::days(30);
        assert_eq!(
            grant_end(&s, Some(long_tap), &l, NOW),
            NOW + Duration::hours(24),
            "a long pass is still capped by the TAP family lifetime"
        );
        let p = session(AuthMethod::Passkey, NOW + Duration::hours(8));
        assert_eq!(grant_end(&p, None, &l, NOW), NOW + Duration::days(90));
        assert_eq!(
            token_expiry(NOW, Duration::hours(1), Some(NOW + Duration::minutes(10))),
            NOW + Duration::minutes(10),
            "an ID token never outlives its grant"
        );
        assert_eq!(
            grant_end(
                &s,
                Some(Timestamp::new_utc(time::Date::MAX, time::Time::MIDNIGHT)),
                &l,
                Timestamp::new_utc(time::Date::MAX, time::Time::MIDNIGHT)
            ),
            Timestamp::new_utc(time::Date::MAX, time::Time::MIDNIGHT),
            "saturating, never a panic"
        );
    }

    #[test]
    fn r47_every_refresh_rechecks_the_grant() {
        let ok = |credential: &Credential, access: &Verdict, ends_at| {
            may_refresh(&RefreshFacts {
                ends_at,
                account_enabled: true,
                credential,
                access,
                now: NOW,
            })
        };
        let allow = Verdict::Allow;
        assert!(ok(
            &Credential::Passkey(Ok(())),
            &allow,
            Some(NOW + Duration::hours(1))
        )
        .is_ok());
        assert_eq!(
            ok(&Credential::Passkey(Ok(())), &allow, Some(NOW))
                .unwrap_err()
                .code(),
            "grantExpired"
        );
        assert_eq!(
            ok(&Credential::PasskeyDeleted, &allow, None),
            Err(GrantEnded::PasskeyDeleted)
        );
        assert_eq!(
            ok(
                &Credential::Passkey(Err(PasskeyRefusal::FlaggedClone)),
                &allow,
                None
            ),
            Err(GrantEnded::PasskeyUnusable(PasskeyRefusal::FlaggedClone))
        );
        assert_eq!(
            ok(&Credential::TapGone, &allow, None),
            Err(GrantEnded::TapGone)
        );
        assert_eq!(
            ok(&Credential::Tap { expires_at: NOW }, &allow, None)
                .unwrap_err()
                .code(),
            "tapExpired"
        );
        let blocked = Verdict::Refused {
            policy: "Block".into(),
            why: crate::conditional_access::remedy::Refusal::Blocked,
            remedy: crate::conditional_access::remedy::Remedy::AskWhichPolicyBlocks,
            is_loop: false,
        };
        assert_eq!(
            ok(&Credential::Unrecorded, &blocked, None)
                .unwrap_err()
                .code(),
            "conditionalAccess"
        );
        assert_eq!(
            may_refresh(&RefreshFacts {
                ends_at: None,
                account_enabled: false,
                credential: &Credential::Unrecorded,
                access: &allow,
                now: NOW
            }),
            Err(GrantEnded::AccountDisabled)
        );
    }
}
