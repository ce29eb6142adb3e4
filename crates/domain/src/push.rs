//! Microsoft Authenticator push approvals with number matching (issue 17): the sign-in page
//! shows a number; the user types it into the app, which answers signed by its device key.
//! A wrong number denies the request (and is logged): a user tricked into approving a push
//! they did not start cannot, because they do not see the number.

use uuid::Uuid;

use crate::policy::{AuthenticatorConfiguration, MethodState};
use crate::Timestamp;

/// How long an approval request waits for its answer.
pub const APPROVAL_LIFETIME: time::Duration = time::Duration::seconds(60);

/// How many requests one user's phone receives within [`FLOOD_WINDOW`]; a password sign-in
/// beyond that sends none. Against MFA fatigue: whoever holds the password cannot keep the
/// phone ringing until the user approves one to make it stop.
pub const FLOOD_LIMIT: usize = 5;
/// The window [`FLOOD_LIMIT`] counts over.
pub const FLOOD_WINDOW: time::Duration = time::Duration::minutes(10);

/// Whether another request may go to the user's phone at `now`, given when their recent
/// requests were sent (any order): `Err` with when the next one may.
pub fn may_send(sent: &[Timestamp], now: Timestamp) -> Result<(), Timestamp> {
    let mut inside: Vec<Timestamp> = sent
        .iter()
        .copied()
        .filter(|t| t.saturating_add(FLOOD_WINDOW) > now && *t <= now)
        .collect();
    // Newest first: the next may go once the limit's oldest of them has left the window.
    inside.sort_unstable_by(|a, b| b.cmp(a));
    match inside.get(FLOOD_LIMIT.saturating_sub(1)) {
        Some(t) => Err(t.saturating_add(FLOOD_WINDOW)),
        None => Ok(()),
    }
}

/// Where an approval request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalState {
    /// Waiting for the app.
    Pending,
    /// Approved with the right number.
    Approved,
    /// Denied in the app, or answered with a wrong number.
    Denied(DenyReason),
}

/// Why a request was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    /// The user pressed "No, it's not me".
    UserDenied,
    /// The number typed was not the one shown.
    WrongNumber,
}

/// An approval request, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// Its id.
    pub id: Uuid,
    /// Whose sign-in.
    pub user_id: Uuid,
    /// The number the sign-in page shows (10–99).
    pub number: u8,
    /// When it was made.
    pub created_at: Timestamp,
    /// Where it stands.
    pub state: ApprovalState,
    /// The application signed in to, when the policy shows it.
    pub app_name: Option<String>,
    /// The sign-in's network address, when the policy shows it.
    pub location: Option<String>,
}

impl Approval {
    /// When it stops waiting.
    pub fn expires_at(&self) -> Timestamp {
        self.created_at.saturating_add(APPROVAL_LIFETIME)
    }
}

/// Why an answer from the app was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AnswerRefusal {
    /// The device's signature does not verify: not the registered app.
    #[error("the answer is not signed by this account's registered device")]
    BadSignature,
    /// Answered already (approved or denied).
    #[error("this request was already answered")]
    Answered,
    /// Too late.
    #[error("this request expired; sign in again to get a new one")]
    Expired,
}

/// What the app's answer does to the request: `approve` with the number the user typed,
/// or a denial. The signature is checked first, so nothing about the request is revealed
/// to anyone but its device.
pub fn answer(
    a: &Approval,
    signature_ok: bool,
    approve: bool,
    typed: u8,
    now: Timestamp,
) -> Result<ApprovalState, AnswerRefusal> {
    if !signature_ok {
        return Err(AnswerRefusal::BadSignature);
    }
    if a.state != ApprovalState::Pending {
        return Err(AnswerRefusal::Answered);
    }
    if now >= a.expires_at() {
        return Err(AnswerRefusal::Expired);
    }
    Ok(match (approve, typed == a.number) {
        (false, _) => ApprovalState::Denied(DenyReason::UserDenied),
        (true, true) => ApprovalState::Approved,
        (true, false) => ApprovalState::Denied(DenyReason::WrongNumber),
    })
}

/// What the sign-in page learns when it asks about its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Still waiting.
    Waiting,
    /// Approved: the second factor is proven.
    Approved,
    /// Denied, with why.
    Denied(DenyReason),
    /// Nobody answered in time.
    TimedOut,
}

/// The request's outcome at `now`.
pub fn outcome(a: &Approval, now: Timestamp) -> Outcome {
    match a.state {
        ApprovalState::Approved => Outcome::Approved,
        ApprovalState::Denied(r) => Outcome::Denied(r),
        ApprovalState::Pending if now >= a.expires_at() => Outcome::TimedOut,
        ApprovalState::Pending => Outcome::Waiting,
    }
}

/// Whether the Authenticator's push is enabled for a member of `member_of`.
pub fn push_usable(cfg: &AuthenticatorConfiguration, member_of: &[Uuid]) -> bool {
    use crate::policy::targets::{scope, AuthenticationMode, Scope};
    if cfg.state != MethodState::Enabled {
        return false;
    }
    match scope(&cfg.include_targets, &cfg.exclude_targets, member_of) {
        Scope::Included(t) => t.authentication_mode != Some(AuthenticationMode::DeviceBasedPush),
        _ => false,
    }
}

/// The context a request shows, per the policy's feature settings: (application, location).
pub fn context_shown(cfg: &AuthenticatorConfiguration, member_of: &[Uuid]) -> (bool, bool) {
    let f = &cfg.feature_settings;
    (
        f.display_app_information_required_state.applies(member_of),
        f.display_location_information_required_state
            .applies(member_of),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: Timestamp = datetime!(2026-12-01 10:00 UTC);

    /// Against MFA fatigue: five requests in ten minutes, then none until the oldest of the
    /// five leaves the window; older ones do not count.
    #[test]
    fn a_phone_gets_five_requests_in_ten_minutes_then_waits_for_the_oldest_to_leave() {
        let minutes = time::Duration::minutes;
        let sent: Vec<Timestamp> = [9, 8, 7, 6, 5].iter().map(|m| NOW - minutes(*m)).collect();
        assert_eq!(may_send(sent.get(..4).unwrap_or_default(), NOW), Ok(()));
        assert_eq!(may_send(&sent, NOW), Err(NOW + minutes(1)));
        let mut more = sent.clone();
        more.extend([NOW - minutes(1), NOW - minutes(30)]);
        assert_eq!(may_send(&more, NOW), Err(NOW + minutes(2)));
        assert_eq!(may_send(&[NOW - FLOOD_WINDOW; 6], NOW), Ok(()));
    }

    fn pending() -> Approval {
        Approval {
            id: Uuid::nil(),
            user_id: Uuid::nil(),
            number: 42,
            created_at: NOW,
            state: ApprovalState::Pending,
            app_name: None,
            location: None,
        }
    }

    #[test]
    fn only_the_right_number_from_the_device_approves_and_only_once() {
        let a = pending();
        assert_eq!(answer(&a, true, true, 42, NOW), Ok(ApprovalState::Approved));
        assert_eq!(
            answer(&a, true, true, 24, NOW),
            Ok(ApprovalState::Denied(DenyReason::WrongNumber))
        );
        assert_eq!(
            answer(&a, true, false, 42, NOW),
            Ok(ApprovalState::Denied(DenyReason::UserDenied))
        );
        assert_eq!(
            answer(&a, false, true, 42, NOW),
            Err(AnswerRefusal::BadSignature)
        );
        let done = Approval {
            state: ApprovalState::Approved,
            ..pending()
        };
        assert_eq!(
            answer(&done, true, true, 42, NOW),
            Err(AnswerRefusal::Answered)
        );
        let late = NOW + APPROVAL_LIFETIME;
        assert_eq!(
            answer(&a, true, true, 42, late),
            Err(AnswerRefusal::Expired)
        );
        assert_eq!(outcome(&a, late), Outcome::TimedOut);
        assert_eq!(outcome(&a, NOW), Outcome::Waiting);
    }

    #[test]
    fn the_policy_decides_push_and_the_context_shown() {
        use crate::policy::authenticator_config::{AdvancedState, FeatureSetting};
        use crate::policy::targets::AuthenticationMode;
        let mut cfg = AuthenticatorConfiguration::default();
        assert!(!push_usable(&cfg, &[]), "disabled by default");
        cfg.state = MethodState::Enabled;
        assert!(push_usable(&cfg, &[]));
        if let Some(t) = cfg.include_targets.first_mut() {
            t.authentication_mode = Some(AuthenticationMode::DeviceBasedPush);
        }
        assert!(!push_usable(&cfg, &[]), "passwordless phone sign-in only");
        assert_eq!(context_shown(&cfg, &[]), (true, true));
        cfg.feature_settings
            .display_location_information_required_state = FeatureSetting {
            state: AdvancedState::Disabled,
            ..Default::default()
        };
        assert_eq!(context_shown(&cfg, &[]), (true, false));
    }
}
