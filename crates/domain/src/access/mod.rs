//! The access decisions (issue 13, point 2): may this user, signed in this way, get a token
//! for this application from here ([`decide`]), and may they register security info here
//! ([`decide_registration`])? The authorization endpoint, the registration pages and API, the
//! refresh of a grant and What If all ask these two functions; they evaluate Conditional
//! Access (R40–R44) with [`evaluate`].

mod methods;

use std::net::IpAddr;
use uuid::Uuid;

pub use methods::{registrable, usable_methods, MethodsPolicy};

use crate::application::Application;
use crate::conditional_access::evaluate::{
    evaluate_in, Config, Detail, Evaluation, Outcome, Resource, Signals,
};
use crate::conditional_access::platform::{ClientAppType, Platform};
use crate::conditional_access::remedy::{verdict, Holdings, Refusal, Remedy, Requirement, Verdict};
use crate::device::DeviceFacts;
use crate::directory::{DirectoryRole, User, SECURITY_INFO_APP};
use crate::session::Session;
use crate::strength::UsedMethod;
use crate::Timestamp;

/// The facts of one sign-in, whatever it is for: who, with which methods, from where.
#[derive(Debug, Clone, Copy)]
pub struct SignIn<'a> {
    /// Who.
    pub user: &'a User,
    /// Their groups.
    pub groups: &'a [Uuid],
    /// Their directory roles.
    pub roles: &'a [DirectoryRole],
    /// Methods used in this session.
    pub used: &'a [UsedMethod],
    /// Methods the user has registered and may use ([`usable_methods`]).
    pub registered: &'a [UsedMethod],
    /// Policies, strengths, named locations.
    pub config: Config<'a>,
    /// The methods policy: which passkeys the user could register.
    pub methods: MethodsPolicy<'a>,
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
    /// How much of each policy's evaluation to report: What If lists every failing
    /// condition; sign-in stops at the first.
    pub detail: Detail,
}

impl<'a> SignIn<'a> {
    fn signals(&self, resource: Resource<'a>, client: &'a Application) -> Signals<'a> {
        Signals {
            user: self.user,
            groups: self.groups,
            roles: self.roles,
            resource,
            client: Some(client),
            platform: self.platform,
            ip: self.ip,
            client_app_type: self.client_app_type,
            device: self.device,
            methods: self.used,
            now: self.now,
        }
    }
}

/// The outcome with its evaluation (for the sign-in log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessDecision {
    /// Every policy's result, for the step that decided: for a registration, the Security
    /// info application when it refuses, else the "register security info" user action.
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

/// May this sign-in get a token for `app`? `portal` is Security info: when the only remedy
/// is registering a method, the verdict asks [`decide_registration`] whether the user could
/// register there with the same signals — if so, registering first is the remedy (R18);
/// if not, it is a loop (R44). A step-up is offered only with a held method that, alone,
/// would then let the user in (a session holds the one method it signed in with).
pub fn decide(s: &SignIn<'_>, app: &Application, portal: Option<&Application>) -> AccessDecision {
    if app.app_id == SECURITY_INFO_APP.app_id {
        // Security info is where one registers: a step-up there completes only if registering
        // then goes through (the engine's property test found a pass whose proof-up skip the
        // sign-in traded for a passkey with which the user action could not be met).
        return decide_with(s, app, portal, &|m| registers_alone(s, app, *m));
    }
    decide_with(s, app, portal, &|m| alone_allowed(s, app, *m))
}

/// Whether registering with `m` alone, used and held, would go through at `portal`.
fn registers_alone(s: &SignIn<'_>, portal: &Application, m: UsedMethod) -> bool {
    let once = [m];
    lets_through(&decide_registration(&with_only(s, &once), portal).verdict)
}

/// [`decide`], with what completes a step-up given: for a sign-in, reaching the application
/// with the method alone; for a registration, registering with it alone.
fn decide_with(
    s: &SignIn<'_>,
    app: &Application,
    portal: Option<&Application>,
    completes: &dyn Fn(&UsedMethod) -> bool,
) -> AccessDecision {
    let signals = s.signals(Resource::Application(app), app);
    let evaluation = evaluate_in(&s.config, &signals, s.detail);
    if !s.user.account_enabled {
        return AccessDecision {
            evaluation,
            verdict: Verdict::account_disabled(),
        };
    }
    let closed = Holdings {
        used: s.used,
        registered: s.registered,
        client_app_id: Some(&app.app_id),
        registration_open: false,
        completes,
    };
    let v = verdict(&evaluation.outcome, s.config.strengths, &closed);
    let verdict = match (&v, portal) {
        (Verdict::Refused { is_loop: true, .. }, Some(p))
            if lets_through(&decide_registration(s, p).verdict) =>
        {
            let open = Holdings {
                registration_open: true,
                ..closed
            };
            match verdict(&evaluation.outcome, s.config.strengths, &open) {
                Verdict::RegisterFirst { requirement } => after_registering(s, app, requirement),
                v => v,
            }
        }
        _ => v,
    };
    AccessDecision {
        evaluation,
        verdict,
    }
}

/// This sign-in's signals with one method, used and held: the sign-in after a step-up.
fn with_only<'a>(s: &SignIn<'a>, once: &'a [UsedMethod; 1]) -> SignIn<'a> {
    SignIn {
        used: once,
        registered: once,
        ..*s
    }
}

/// Whether signing in again with `m` alone would reach `app`: what completes a step-up
/// (issue 13, point 10 — the engine's property test found a policy that the pass met and
/// the passkey asked for would not).
fn alone_allowed(s: &SignIn<'_>, app: &Application, m: UsedMethod) -> bool {
    let once = [m];
    let signals = Signals {
        methods: &once,
        ..s.signals(Resource::Application(app), app)
    };
    evaluate_in(&s.config, &signals, Detail::FirstReason).outcome == Outcome::Allow
}

/// "Register first" is a remedy only if a passkey the methods policy lets the user register
/// would then, alone, let them in (issue 13, point 10: a verdict must be reachable in one step).
/// If none would, the answer is what signing in with such a passkey meets (a device the user
/// lacks, say), or a loop: the methods policy lets them register no passkey that meets it.
fn after_registering(s: &SignIn<'_>, app: &Application, requirement: Requirement) -> Verdict {
    let mut then = None;
    for c in registrable(s.methods, s.groups, &named_models(s.config.strengths)) {
        let once = [c];
        let alone = SignIn {
            used: &once,
            registered: &once,
            ..*s
        };
        match decide(&alone, app, None).verdict {
            Verdict::Allow => return Verdict::RegisterFirst { requirement },
            v => {
                then.get_or_insert(v);
            }
        }
    }
    match then {
        Some(
            v @ Verdict::Refused {
                why: Refusal::Blocked | Refusal::CannotMeet(_),
                ..
            },
        ) => v,
        _ => Verdict::Refused {
            policy: requirement.policy.clone(),
            why: Refusal::NotRegistrable(requirement),
            remedy: Remedy::AllowAPasskeyThatMeets,
            is_loop: true,
        },
    }
}

/// Every authenticator model some strength names, in order.
fn named_models(strengths: &[crate::strength::Strength]) -> Vec<Uuid> {
    let pool: std::collections::BTreeSet<Uuid> = strengths
        .iter()
        .flat_map(|st| st.fido2_allowed_aaguids.iter().flatten())
        .copied()
        .collect();
    pool.into_iter().collect()
}

/// R48: which new passkeys would let the user back into Security info with that passkey
/// alone — the same decision, explored with a passkey of each model the tenant's strengths
/// name (an AAGUID counts only when attested, R32).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasskeyNeed {
    /// Any passkey will do.
    Any,
    /// Only a passkey of one of these models, with an attested AAGUID.
    Models(Vec<Uuid>),
    /// No passkey would: what the sign-in would say with one.
    NoneCan(Verdict),
}

/// [`PasskeyNeed`] for this sign-in's signals.
pub fn passkey_need(s: &SignIn<'_>, portal: &Application) -> PasskeyNeed {
    let unknown = passkey_suffices(s, portal, UsedMethod::passkey(None, false));
    let Err(verdict) = unknown else {
        return PasskeyNeed::Any;
    };
    let models: Vec<Uuid> = named_models(s.config.strengths)
        .into_iter()
        .filter(|a| passkey_suffices(s, portal, UsedMethod::passkey(Some(*a), true)).is_ok())
        .collect();
    if models.is_empty() {
        PasskeyNeed::NoneCan(verdict)
    } else {
        PasskeyNeed::Models(models)
    }
}

/// R48: whether signing in to Security info with `passkey` alone, with this sign-in's other
/// signals, would be let through; if not, the verdict that sign-in would get.
pub fn passkey_suffices(
    s: &SignIn<'_>,
    portal: &Application,
    passkey: UsedMethod,
) -> Result<(), Verdict> {
    let once = [passkey];
    let alone = SignIn {
        used: &once,
        registered: &once,
        client_app_type: ClientAppType::Browser,
        ..*s
    };
    let d = decide(&alone, portal, None);
    if lets_through(&d.verdict) {
        Ok(())
    } else {
        Err(d.verdict)
    }
}

/// May this sign-in register security info (R40)? Registering is one resource whichever
/// surface asks: the Security info application (a browser page), as its own sign-in decides
/// it — where a pass skips an unmet strength for proof-up — *and* the "register security
/// info" user action, whose strengths govern registration and are not skipped for a pass
/// (a policy that requires more than a pass for registering means it). A step-up to register
/// is offered only with a held method that, alone, would then let the user register through
/// both (where a pass's proof-up skip is gone if it is not the method).
pub fn decide_registration(s: &SignIn<'_>, portal: &Application) -> AccessDecision {
    let s = SignIn {
        client_app_type: ClientAppType::Browser,
        ..*s
    };
    // With one method used and held, no step-up is asked again: this goes one level deep.
    let registers = |m: &UsedMethod| registers_alone(&s, portal, *m);
    let app = decide_with(&s, portal, None, &registers);
    if !lets_through(&app.verdict) {
        return explain_no_single_method(&s, portal, app);
    }
    let signals = s.signals(Resource::RegisterSecurityInfo, portal);
    let evaluation = evaluate_in(&s.config, &signals, s.detail);
    let h = Holdings {
        used: s.used,
        registered: s.registered,
        client_app_id: None,
        registration_open: true,
        completes: &registers,
    };
    let verdict = verdict(&evaluation.outcome, s.config.strengths, &h);
    explain_no_single_method(
        &s,
        portal,
        AccessDecision {
            evaluation,
            verdict,
        },
    )
}

/// When no one held method would let the user register, say what registering with such a
/// method meets, if that is more than the policies disagreeing: a block on the user action,
/// or a device the user does not have.
fn explain_no_single_method(
    s: &SignIn<'_>,
    portal: &Application,
    d: AccessDecision,
) -> AccessDecision {
    let Verdict::Refused {
        why: Refusal::NoSingleMethod(_),
        ..
    } = &d.verdict
    else {
        return d;
    };
    let first = s.registered.iter().find_map(|m| {
        let once = [*m];
        let r = decide_registration(&with_only(s, &once), portal);
        matches!(
            &r.verdict,
            Verdict::Refused {
                why: Refusal::Blocked | Refusal::CannotMeet(_),
                ..
            }
        )
        .then_some(r)
    });
    first.unwrap_or(d)
}

/// Whether an outcome lets the user through (fully or for registration only).
pub fn lets_through(v: &Verdict) -> bool {
    matches!(v, Verdict::Allow | Verdict::AllowForRegistration { .. })
}

#[cfg(test)]
mod tests;
