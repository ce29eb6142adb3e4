//! The access decision: may this user, signed in this way, get a token for this application
//! from here? The authorization endpoint asks this one function before it issues a code; it
//! evaluates Conditional Access (R40–R44) with the same functions What If uses.

use std::net::IpAddr;
use uuid::Uuid;

use crate::application::Application;
use crate::conditional_access::evaluate::{evaluate, Config, Evaluation, Resource, Signals};
use crate::conditional_access::platform::{ClientAppType, Platform};
use crate::conditional_access::remedy::{verdict, Holdings, Verdict};
use crate::device::DeviceFacts;
use crate::directory::{DirectoryRole, User};
use crate::session::Session;
use crate::strength::UsedMethod;
use crate::Timestamp;

/// Everything the decision may read about one sign-in to one application.
#[derive(Debug, Clone, Copy)]
pub struct AccessRequest<'a> {
    /// Who.
    pub user: &'a User,
    /// Their groups.
    pub groups: &'a [Uuid],
    /// Their directory roles.
    pub roles: &'a [DirectoryRole],
    /// To what.
    pub application: &'a Application,
    /// The session (methods used, when).
    pub session: &'a Session,
    /// Methods the user has registered and may use.
    pub registered: &'a [UsedMethod],
    /// Security info, where a user registers methods (to tell "register there first" from a
    /// loop, R44).
    pub portal: Option<&'a Application>,
    /// Policies, strengths, named locations.
    pub config: Config<'a>,
    /// Device platform, if known.
    pub platform: Option<Platform>,
    /// Source address, if it parses.
    pub ip: Option<IpAddr>,
    /// Browser or native client.
    pub client_app_type: ClientAppType,
    /// The device the client proved possession of, if any.
    pub device: Option<&'a DeviceFacts>,
    /// Now.
    pub now: Timestamp,
}

/// The outcome with its evaluation (for the sign-in log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessDecision {
    /// Every policy's result.
    pub evaluation: Evaluation,
    /// What happens.
    pub verdict: Verdict,
}

/// The methods a session used, as strengths see them.
pub fn used_methods(s: &Session) -> Vec<UsedMethod> {
    s.methods
        .iter()
        .map(|m| m.as_used(s.passkey_aaguid, s.passkey_attested))
        .collect()
}

/// Decides access.
pub fn decide(req: &AccessRequest<'_>) -> AccessDecision {
    let used = used_methods(req.session);
    let signals = Signals {
        user: req.user,
        groups: req.groups,
        roles: req.roles,
        resource: Resource::Application(req.application),
        client: Some(req.application),
        platform: req.platform,
        ip: req.ip,
        client_app_type: req.client_app_type,
        device: req.device,
        methods: &used,
        now: req.now,
    };
    let evaluation = evaluate(&req.config, &signals);
    if !req.user.account_enabled {
        let verdict = Verdict::Refused {
            policy: String::new(),
            reason: format!("{} is disabled.", req.user.user_principal_name),
            remedy: "Ask your administrator.".into(),
            is_loop: false,
        };
        return AccessDecision {
            evaluation,
            verdict,
        };
    }
    let holdings = Holdings {
        used: &used,
        registered: req.registered,
        client_app_id: Some(&req.application.app_id),
        registration_open: false,
    };
    let verdict = judge(&evaluation, &req.config, &signals, &holdings, req.portal);
    AccessDecision {
        evaluation,
        verdict,
    }
}

/// The verdict on an evaluated sign-in (R18, R44). Only a refusal that would be a loop if
/// Security info were closed asks whether it is open to this user, with the same signals:
/// if it is, registering there first is the remedy, not a circle. Sign-in and What If both
/// judge through here.
pub fn judge(
    evaluation: &Evaluation,
    cfg: &Config<'_>,
    signals: &Signals<'_>,
    holdings: &Holdings<'_>,
    portal: Option<&Application>,
) -> Verdict {
    let closed = Holdings {
        registration_open: false,
        ..*holdings
    };
    let v = verdict(&evaluation.outcome, cfg.strengths, &closed);
    match (&v, signals.resource, portal) {
        (Verdict::Refused { is_loop: true, .. }, Resource::Application(_), Some(p))
            if security_info_open(cfg, signals, p, &closed) =>
        {
            let open = Holdings {
                registration_open: true,
                ..closed
            };
            verdict(&evaluation.outcome, cfg.strengths, &open)
        }
        _ => v,
    }
}

/// Whether the same sign-in, made to Security info (a browser page), would get through.
fn security_info_open(
    cfg: &Config<'_>,
    signals: &Signals<'_>,
    portal: &Application,
    holdings: &Holdings<'_>,
) -> bool {
    let at = Signals {
        resource: Resource::Application(portal),
        client: Some(portal),
        client_app_type: ClientAppType::Browser,
        ..*signals
    };
    let h = Holdings {
        client_app_id: Some(&portal.app_id),
        ..*holdings
    };
    lets_through(&verdict(&evaluate(cfg, &at).outcome, cfg.strengths, &h))
}

/// Whether an outcome lets the user through (fully or for registration only).
pub fn lets_through(v: &Verdict) -> bool {
    matches!(v, Verdict::Allow | Verdict::AllowForRegistration { .. })
}
