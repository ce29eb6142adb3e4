//! Temporary Access Pass rules (R11–R12): issuing, usability windows, redemption.

use rand::Rng;
use serde::Serialize;
use time::Duration;
use uuid::Uuid;

use crate::policy::{MethodState, Scope, ScopeMiss, TapConfiguration};
use crate::time_fmt::rfc3339;
use crate::Timestamp;

/// Characters of generated codes: no look-alikes (0/O, 1/l/I), nothing that needs quoting in a shell.
pub const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/// How far ahead a pass may start.
pub const MAX_START_AHEAD_DAYS: i64 = 365;

/// Longest code accepted on input; anything longer is refused before hashing.
pub const MAX_CODE_INPUT: usize = 64;

/// A stored pass (never the code; the shell keeps only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemporaryAccessPass {
    /// Method id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it becomes usable.
    pub start_at: Timestamp,
    /// Minutes from start to expiry.
    pub lifetime_minutes: i64,
    /// One-time pass?
    pub is_usable_once: bool,
    /// When a one-time pass was used.
    pub consumed_at: Option<Timestamp>,
}

impl TemporaryAccessPass {
    /// End of the usability window.
    pub fn expires_at(&self) -> Timestamp {
        self.start_at
            .saturating_add(Duration::minutes(self.lifetime_minutes))
    }
}

/// What an administrator asks for; absent fields take the policy's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssueRequest {
    /// When the pass becomes usable (default: now).
    pub start_at: Option<Timestamp>,
    /// Lifetime in minutes (default: the policy's `defaultLifetimeInMinutes`).
    pub lifetime_minutes: Option<i64>,
    /// One-time use (default: the policy's `isUsableOnce`).
    pub is_usable_once: Option<bool>,
}

/// The terms a new pass is issued under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueTerms {
    /// Start of the window.
    pub start_at: Timestamp,
    /// Minutes.
    pub lifetime_minutes: i64,
    /// One-time?
    pub is_usable_once: bool,
    /// Length of the code to generate.
    pub code_length: usize,
}

/// Why a pass cannot be issued as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    /// R11: lifetime outside the policy's bounds.
    #[error("Invalid lifetimeInMinutes {given}: the valid range is between {min} and {max} minutes (the Temporary Access Pass policy's bounds)")]
    Lifetime {
        /// Requested.
        given: i64,
        /// Policy minimum.
        min: i64,
        /// Policy maximum.
        max: i64,
    },
    /// The policy makes every pass one-time.
    #[error("the Temporary Access Pass policy requires one-time passes (isUsableOnce is true), so a multi-use pass cannot be created")]
    MultiUseForbidden,
    /// The window would start too far ahead.
    #[error("startDateTime {start} is more than {MAX_START_AHEAD_DAYS} days ahead; a pass must start within a year")]
    StartTooLate {
        /// Requested start.
        start: String,
    },
    /// The window would already be over.
    #[error("a pass starting at {start} with a lifetime of {minutes} minutes would already have expired")]
    AlreadyExpired {
        /// Requested start.
        start: String,
        /// Requested lifetime.
        minutes: i64,
    },
}

/// R11: works out the terms of a new pass from the request and the policy.
pub fn plan_issue(
    config: &TapConfiguration,
    req: &IssueRequest,
    now: Timestamp,
) -> Result<IssueTerms, IssueError> {
    let lifetime = req
        .lifetime_minutes
        .unwrap_or(config.default_lifetime_in_minutes);
    let (min, max) = (
        config.minimum_lifetime_in_minutes,
        config.maximum_lifetime_in_minutes,
    );
    if !(min..=max).contains(&lifetime) {
        return Err(IssueError::Lifetime {
            given: lifetime,
            min,
            max,
        });
    }
    let once = match req.is_usable_once {
        Some(false) if config.is_usable_once => return Err(IssueError::MultiUseForbidden),
        Some(v) => v,
        None => config.is_usable_once,
    };
    let start = req.start_at.unwrap_or(now);
    if start > now.saturating_add(Duration::days(MAX_START_AHEAD_DAYS)) {
        return Err(IssueError::StartTooLate {
            start: rfc3339(start),
        });
    }
    if start.saturating_add(Duration::minutes(lifetime)) <= now {
        return Err(IssueError::AlreadyExpired {
            start: rfc3339(start),
            minutes: lifetime,
        });
    }
    Ok(IssueTerms {
        start_at: start,
        lifetime_minutes: lifetime,
        is_usable_once: once,
        code_length: usize::try_from(config.default_length).unwrap_or(8),
    })
}

/// Generates a code of `len` characters from [`CODE_ALPHABET`] with the given RNG.
pub fn generate_code(len: usize, rng: &mut impl Rng) -> String {
    (0..len)
        .filter_map(|_| CODE_ALPHABET.get(rng.gen_range(0..CODE_ALPHABET.len())))
        .map(|b| char::from(*b))
        .collect()
}

/// Graph's `methodUsabilityReason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum UsabilityReason {
    /// Usable now.
    EnabledByPolicy,
    /// The method is disabled for this user.
    DisabledByPolicy,
    /// Past its window.
    Expired,
    /// Before its window.
    NotYetValid,
    /// A one-time pass that was used.
    OneTimeUsed,
}

/// Whether a pass is usable now, and why not (graph-api.md §2.2 `isUsable`/`methodUsabilityReason`).
pub fn usability(
    tap: &TemporaryAccessPass,
    method_allows_user: bool,
    now: Timestamp,
) -> UsabilityReason {
    if tap.consumed_at.is_some() {
        UsabilityReason::OneTimeUsed
    } else if now >= tap.expires_at() {
        UsabilityReason::Expired
    } else if now < tap.start_at {
        UsabilityReason::NotYetValid
    } else if !method_allows_user {
        UsabilityReason::DisabledByPolicy
    } else {
        UsabilityReason::EnabledByPolicy
    }
}

/// Why a TAP sign-in was refused: data, with no words in it; the sign-in page says it
/// (`service::render::tap_refusal`). To the person signing in, an unknown user, a user without
/// a pass and a wrong code are one answer, so the page reveals neither who has an account
/// nor who holds a pass; only the sign-in log tells them apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TapRefusal {
    /// The username is not of the form name@domain.
    MalformedUsername,
    /// No account with that name.
    UnknownUser,
    /// The account is disabled (said only to someone who gave its correct pass).
    AccountDisabled,
    /// The user holds no pass.
    NoPass,
    /// Wrong code.
    WrongCode,
    /// TAP method disabled in the policy.
    MethodDisabled,
    /// User excluded from or not included in the TAP targets.
    NotInScope(ScopeMiss),
    /// Before the window, which opens then.
    NotYetValid(Timestamp),
    /// After the window, which closed then.
    Expired(Timestamp),
    /// A one-time pass already used (or lost a race to a concurrent use).
    AlreadyUsed,
    /// The policy demands one-time passes and this pass is multi-use.
    MultiUseBlocked,
    /// Too many wrong attempts, for this name or from this network address (which of the
    /// two is not said: it would tell that the name is an account).
    LockedOut {
        /// When the lock-out ends.
        until: Timestamp,
    },
}

/// The stable code; words are the surfaces' (`service::render`).
impl std::fmt::Display for TapRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::error::Error for TapRefusal {}

impl TapRefusal {
    /// A stable machine-readable code for logs and APIs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedUsername => "malformedUsername",
            Self::UnknownUser => "userNotFound",
            Self::AccountDisabled => "accountDisabled",
            Self::NoPass => "tapNotFound",
            Self::WrongCode => "tapInvalid",
            Self::MethodDisabled => "tapMethodDisabled",
            Self::NotInScope(_) => "tapNotInScope",
            Self::NotYetValid(_) => "tapNotYetValid",
            Self::Expired(_) => "tapExpired",
            Self::AlreadyUsed => "tapAlreadyUsed",
            Self::MultiUseBlocked => "tapBlockedByCredentialPolicy",
            Self::LockedOut { .. } => "lockedOut",
        }
    }

    /// The Entra (AADSTS) error number recorded in the sign-in log where one fits.
    pub fn error_number(&self) -> i64 {
        match self {
            Self::UnknownUser | Self::MalformedUsername => 50034,
            Self::AccountDisabled => 50057,
            Self::LockedOut { .. } => 50053,
            Self::WrongCode => 50126,
            _ => 130_500,
        }
    }
}

/// R12: decides whether a pass whose code was checked (`code_ok`) signs the user in now.
/// The code is checked first so the window is only revealed to someone holding the code.
pub fn decide_redeem(
    tap: &TemporaryAccessPass,
    code_ok: bool,
    config: &TapConfiguration,
    scope: &Scope,
    now: Timestamp,
) -> Result<(), TapRefusal> {
    if !code_ok {
        return Err(TapRefusal::WrongCode);
    }
    if config.state == MethodState::Disabled {
        return Err(TapRefusal::MethodDisabled);
    }
    match scope {
        Scope::Included(_) => {}
        Scope::Excluded(_) => return Err(TapRefusal::NotInScope(ScopeMiss::Excluded)),
        Scope::NotIncluded => return Err(TapRefusal::NotInScope(ScopeMiss::NotIncluded)),
    }
    match usability(tap, true, now) {
        UsabilityReason::OneTimeUsed => Err(TapRefusal::AlreadyUsed),
        UsabilityReason::Expired => Err(TapRefusal::Expired(tap.expires_at())),
        UsabilityReason::NotYetValid => Err(TapRefusal::NotYetValid(tap.start_at)),
        UsabilityReason::DisabledByPolicy | UsabilityReason::EnabledByPolicy => {
            if config.is_usable_once && !tap.is_usable_once {
                Err(TapRefusal::MultiUseBlocked)
            } else {
                Ok(())
            }
        }
    }
}

/// How long a session started with this pass may last: never beyond the pass's own expiry
/// (graph-api.md §2.2: tokens obtained with a TAP expire when the TAP does).
pub fn session_expiry(
    tap: &TemporaryAccessPass,
    now: Timestamp,
    max_session: Duration,
) -> Timestamp {
    now.saturating_add(max_session).min(tap.expires_at())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::IncludeTarget;
    use time::macros::datetime;

    const NOW: Timestamp = datetime!(2026-06-01 12:00 UTC);

    fn enabled() -> TapConfiguration {
        TapConfiguration {
            state: MethodState::Enabled,
            ..Default::default()
        }
    }

    fn tap(start: Timestamp, minutes: i64, once: bool) -> TemporaryAccessPass {
        TemporaryAccessPass {
            id: Uuid::nil(),
            user_id: Uuid::nil(),
            created_at: NOW,
            start_at: start,
            lifetime_minutes: minutes,
            is_usable_once: once,
            consumed_at: None,
        }
    }

    #[test]
    fn r11_lifetime_must_lie_within_policy_bounds() {
        let c = enabled();
        assert_eq!(
            plan_issue(&c, &IssueRequest::default(), NOW).map(|t| t.lifetime_minutes),
            Ok(60)
        );
        for bad in [59, 481, 0, -5] {
            let r = plan_issue(
                &c,
                &IssueRequest {
                    lifetime_minutes: Some(bad),
                    ..Default::default()
                },
                NOW,
            );
            assert_eq!(
                r,
                Err(IssueError::Lifetime {
                    given: bad,
                    min: 60,
                    max: 480
                })
            );
        }
        assert!(plan_issue(
            &c,
            &IssueRequest {
                lifetime_minutes: Some(480),
                ..Default::default()
            },
            NOW
        )
        .is_ok());
    }

    #[test]
    fn r11_policy_can_force_one_time_passes() {
        let c = TapConfiguration {
            is_usable_once: true,
            ..enabled()
        };
        assert_eq!(
            plan_issue(
                &c,
                &IssueRequest {
                    is_usable_once: Some(false),
                    ..Default::default()
                },
                NOW
            ),
            Err(IssueError::MultiUseForbidden)
        );
        assert_eq!(
            plan_issue(&c, &IssueRequest::default(), NOW).map(|t| t.is_usable_once),
            Ok(true)
        );
        let past = IssueRequest {
            start_at: Some(NOW - Duration::hours(3)),
            lifetime_minutes: Some(60),
            ..Default::default()
        };
        assert!(matches!(
            plan_issue(&enabled(), &past, NOW),
            Err(IssueError::AlreadyExpired { .. })
        ));
    }

    #[test]
    fn r12_pass_is_usable_only_inside_its_window() {
        let c = enabled();
        let inc = Scope::Included(IncludeTarget::all_users());
        let t = tap(NOW + Duration::minutes(10), 60, false);
        assert!(matches!(
            decide_redeem(&t, true, &c, &inc, NOW),
            Err(TapRefusal::NotYetValid(_))
        ));
        assert_eq!(
            decide_redeem(&t, true, &c, &inc, NOW + Duration::minutes(10)),
            Ok(())
        );
        assert_eq!(
            decide_redeem(&t, true, &c, &inc, NOW + Duration::minutes(69)),
            Ok(())
        );
        assert!(matches!(
            decide_redeem(&t, true, &c, &inc, NOW + Duration::minutes(70)),
            Err(TapRefusal::Expired(_))
        ));
        assert_eq!(
            decide_redeem(&t, false, &c, &inc, NOW + Duration::minutes(20)),
            Err(TapRefusal::WrongCode)
        );
        let used = TemporaryAccessPass {
            consumed_at: Some(NOW),
            ..tap(NOW, 60, true)
        };
        assert_eq!(
            decide_redeem(&used, true, &c, &inc, NOW),
            Err(TapRefusal::AlreadyUsed)
        );
    }

    #[test]
    fn r12_policy_and_scope_are_checked_at_sign_in() {
        let t = tap(NOW, 60, false);
        let inc = Scope::Included(IncludeTarget::all_users());
        assert_eq!(
            decide_redeem(&t, true, &TapConfiguration::default(), &inc, NOW),
            Err(TapRefusal::MethodDisabled)
        );
        assert!(matches!(
            decide_redeem(&t, true, &enabled(), &Scope::Excluded(Uuid::nil()), NOW),
            Err(TapRefusal::NotInScope(_))
        ));
        assert!(matches!(
            decide_redeem(&t, true, &enabled(), &Scope::NotIncluded, NOW),
            Err(TapRefusal::NotInScope(_))
        ));
        let once_only = TapConfiguration {
            is_usable_once: true,
            ..enabled()
        };
        assert_eq!(
            decide_redeem(&t, true, &once_only, &inc, NOW),
            Err(TapRefusal::MultiUseBlocked)
        );
    }

    #[test]
    fn codes_use_the_alphabet_and_sessions_end_with_the_pass() {
        let mut rng = rand::rngs::mock::StepRng::new(7, 13);
        let code = generate_code(12, &mut rng);
        assert_eq!(code.len(), 12);
        assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)));
        let t = tap(NOW, 60, false);
        assert_eq!(
            session_expiry(&t, NOW, Duration::hours(8)),
            NOW + Duration::minutes(60)
        );
        assert_eq!(
            session_expiry(&t, NOW, Duration::minutes(5)),
            NOW + Duration::minutes(5)
        );
    }
}
