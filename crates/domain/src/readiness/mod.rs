//! Readiness (R50): every user, as every persona, from what they hold now — can they reach
//! each application, and register what the policies ask for? Each step is a call of the same
//! entry points sign-in, registration and What If use ([`decide`], [`decide_registration`],
//! [`usable_methods`]); nothing here decides access itself. What fails is classified into a
//! [`FindingCode`] with the policies the verdict names and the documents' remedies.

mod classes;
mod deployment;
mod dry_run;
mod facts;
mod finding;
mod persona;

pub use classes::{analyse, classes};
pub use deployment::{deployment_findings, DeploymentFinding, UntrustedForwarder, SIGHTING_WINDOW};
pub use dry_run::{dry_run, DryRun};
pub use facts::AttestationTrust;
pub use finding::{FindingCode, RemedyCode, Setting, Severity, Step, UserFinding};
pub use persona::Persona;

use std::collections::BTreeMap;
use std::net::IpAddr;
use uuid::Uuid;

use crate::access::{
    decide, decide_registration, lets_through, usable_methods, MethodsPolicy, SignIn,
};
use crate::application::Application;
use crate::conditional_access::evaluate::{Config, Detail, Unmet};
use crate::conditional_access::guard::{admins_still_in, Admin};
use crate::conditional_access::location::{parse_cidr, NamedLocation};
use crate::conditional_access::platform::ClientAppType;
use crate::conditional_access::remedy::{Refusal, Verdict};
use crate::device::{Device, DeviceFacts};
use crate::directory::{DirectoryRole, User};
use crate::passkey::{self, Passkey, PasskeyRefusal};
use crate::policy::fido2::AUTHENTICATOR_AAGUIDS;
use crate::policy::{targets, MethodState};
use crate::strength::UsedMethod;
use crate::tap::TemporaryAccessPass;
use crate::Timestamp;

/// The tenant as the analysis reads it.
#[derive(Debug, Clone, Copy)]
pub struct Tenant<'a> {
    /// Policies, strengths, named locations.
    pub config: Config<'a>,
    /// The Passkey (FIDO2) and TAP settings.
    pub methods: MethodsPolicy<'a>,
    /// The applications users are to reach.
    pub applications: &'a [Application],
    /// Security info.
    pub portal: &'a Application,
    /// The Authenticator app, where a phone registers a passkey same-device (R15).
    pub authenticator: &'a Application,
    /// Where users sign in from: anywhere, and inside each named location.
    pub networks: &'a [Option<IpAddr>],
    /// What can vouch for attestation.
    pub trust: &'a AttestationTrust,
    /// Now.
    pub now: Timestamp,
}

/// One user's facts.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Who.
    pub user: &'a User,
    /// Their groups.
    pub groups: &'a [Uuid],
    /// Their directory roles.
    pub roles: &'a [DirectoryRole],
    /// Their live passkeys.
    pub passkeys: &'a [Passkey],
    /// Their pass, if any.
    pub pass: Option<&'a TemporaryAccessPass>,
    /// Their enrolled devices.
    pub devices: &'a [Device],
}

/// Where a sign-in can come from: anywhere, and from inside each named location.
pub fn networks(locations: &[NamedLocation]) -> Vec<Option<IpAddr>> {
    let inside = locations
        .iter()
        .filter_map(|l| l.cidrs.iter().find_map(|c| parse_cidr(c).ok()))
        .map(|(ip, _)| Some(ip));
    std::iter::once(None).chain(inside).collect()
}

/// Whether the TAP settings would let an administrator's pass sign this user in.
fn pass_possible(t: &Tenant<'_>, groups: &[Uuid]) -> bool {
    let tap = t.methods.tap;
    tap.state == MethodState::Enabled
        && matches!(
            targets::scope(&tap.include_targets, &tap.exclude_targets, groups),
            targets::Scope::Included(_)
        )
}

/// One question asked of a sign-in: `Ok` with the verdict when it gets the user there,
/// `Err` with the verdict when it does not.
type Ask<'a> = dyn Fn(&SignIn<'_>) -> Result<Verdict, Verdict> + 'a;

/// Every sign-in a persona can try with some of its methods (and every device and network),
/// asked one question.
type Attempts<'a> = dyn Fn(&[UsedMethod], &Ask<'_>) -> Reach + 'a;

/// A browser sign-in of this user as `persona` with `used`, holding `held`, from no known
/// device and address (callers set those).
fn browser<'a>(
    t: &Tenant<'a>,
    s: &Subject<'a>,
    persona: Persona,
    used: &'a [UsedMethod],
    held: &'a [UsedMethod],
) -> SignIn<'a> {
    SignIn {
        user: s.user,
        groups: s.groups,
        roles: s.roles,
        used,
        registered: held,
        config: t.config,
        methods: t.methods,
        platform: Some(persona.platform()),
        ip: None,
        client_app_type: ClientAppType::Browser,
        device: None,
        now: t.now,
        detail: Detail::FirstReason,
    }
}

/// What asking every attempt found.
enum Reach {
    /// Some attempt got through: its verdict (none when there was nothing to try).
    Yes(Option<Verdict>),
    /// None did: the verdict of the first attempt.
    No(Verdict),
}

/// Gets there now, after a step-up, or by registering first.
fn reaches(v: Verdict) -> Result<Verdict, Verdict> {
    match v {
        Verdict::Allow | Verdict::StepUp { .. } | Verdict::RegisterFirst { .. } => Ok(v),
        v => Err(v),
    }
}

/// Gets there with what the user holds, without registering anything.
fn reaches_directly(v: Verdict) -> Result<Verdict, Verdict> {
    match v {
        Verdict::Allow | Verdict::StepUp { .. } => Ok(v),
        v => Err(v),
    }
}

/// Analyses one user: every persona, every application, and registering.
pub fn analyse_user(t: &Tenant<'_>, s: &Subject<'_>) -> Vec<UserFinding> {
    let mut out = vec![];
    if !s.user.account_enabled {
        return out;
    }
    let finding = |code: FindingCode,
                   severity,
                   persona,
                   application: Option<&Application>,
                   step,
                   policies: Vec<String>,
                   settings: Vec<Setting>| UserFinding {
        code,
        severity,
        user: s.user.id,
        persona,
        application: application.map(|a| a.app_id.clone()),
        step,
        policies,
        settings,
    };
    let held = usable_methods(t.methods, s.groups, s.passkeys, s.pass, t.now);
    let holds_passkey = held.iter().any(|m| !m.is_pass());
    // Passkeys the key restrictions now keep from signing in.
    let mut restricted: Vec<Setting> = s
        .passkeys
        .iter()
        .filter_map(
            |p| match passkey::sign_in_usability(t.methods.fido2, s.groups, p) {
                Err(PasskeyRefusal::KeyRestricted { aaguid, .. }) => {
                    Some(Setting::KeyRestrictions(aaguid))
                }
                _ => None,
            },
        )
        .collect();
    restricted.sort();
    restricted.dedup();
    if !restricted.is_empty() {
        let severity = if held.is_empty() {
            Severity::Blocker
        } else {
            Severity::Warning
        };
        out.push(finding(
            FindingCode::AaguidBlockedInUse,
            severity,
            None,
            None,
            Step::SignIn,
            vec![],
            restricted,
        ));
    }
    if let Some((severity, settings)) = facts::attestation_unverifiable(t, s.groups, holds_passkey)
    {
        out.push(finding(
            FindingCode::AttestationUnverifiable,
            severity,
            None,
            None,
            Step::Register,
            vec![],
            settings,
        ));
    }
    let pass_ok = pass_possible(t, s.groups);
    if held.is_empty() && !pass_ok {
        out.push(finding(
            FindingCode::TapUnavailable,
            Severity::Blocker,
            None,
            None,
            Step::ObtainPass,
            vec![],
            vec![Setting::TapTargets],
        ));
        return out;
    }
    // What the user starts from: what they hold, else a pass an administrator could issue.
    let start_all: Vec<UsedMethod> = if held.is_empty() {
        vec![UsedMethod::TAP]
    } else {
        held.clone()
    };
    // R20: a passkey made in one Android profile is not there in the other.
    let profiled = s.passkeys.iter().any(|p| p.android_profile().is_some());
    let missing_profile = facts::single_android_profile(t, s);
    let old_phones = facts::phones_too_old(s);
    // Per application some persona reaches: whether every one that does, does so only by
    // adding a passkey in the Authenticator.
    let mut reached_by: BTreeMap<&str, bool> = BTreeMap::new();
    // Whether some persona can register a passkey (when the user needs one).
    let mut registers_somewhere = false;
    for persona in Persona::ALL {
        let held_here = if profiled {
            let mine: Vec<Passkey> = s
                .passkeys
                .iter()
                .filter(|p| persona.can_use(p))
                .cloned()
                .collect();
            usable_methods(t.methods, s.groups, &mine, s.pass, t.now)
        } else {
            held.clone()
        };
        if persona.android_profile().is_some() && persona.android_profile() == missing_profile {
            out.push(finding(
                FindingCode::AndroidSingleProfile,
                Severity::Warning,
                Some(persona),
                None,
                Step::SignIn,
                vec![],
                vec![Setting::PasskeyProfile],
            ));
        }
        // Nothing opens this persona (its profile holds none of the user's passkeys, and no
        // pass can be issued): there is nothing to try from it.
        if held_here.is_empty() && !pass_ok {
            continue;
        }
        let start: Vec<UsedMethod> = if held_here.is_empty() {
            vec![UsedMethod::TAP]
        } else {
            held_here.clone()
        };
        let devices: Vec<DeviceFacts> = s
            .devices
            .iter()
            .filter(|d| d.platform == persona.platform())
            .map(Device::facts)
            .collect();
        let attempts = |methods: &[UsedMethod], ask: &Ask<'_>| -> Reach {
            let mut first = None;
            for device in std::iter::once(None).chain(devices.iter().map(Some)) {
                for ip in t.networks {
                    for m in methods {
                        let once = [*m];
                        let sign_in = SignIn {
                            ip: *ip,
                            device,
                            ..browser(t, s, persona, &once, &start)
                        };
                        match ask(&sign_in) {
                            Ok(v) => return Reach::Yes(Some(v)),
                            Err(v) => {
                                first.get_or_insert(v);
                            }
                        }
                    }
                }
            }
            first.map_or(Reach::Yes(None), Reach::No)
        };
        if !held_here.iter().any(|m| !m.is_pass()) {
            let registers = attempts(&start, &|si| {
                let v = decide_registration(si, t.portal).verdict;
                if lets_through(&v) {
                    Ok(v)
                } else {
                    Err(v)
                }
            });
            registers_somewhere |= matches!(registers, Reach::Yes(_));
            if let Reach::No(v) = registers {
                let policies = v.policy().map(|p| vec![p.to_string()]).unwrap_or_default();
                out.push(finding(
                    FindingCode::RegisterSecurityInfoUnsatisfiable,
                    Severity::Warning,
                    Some(persona),
                    None,
                    Step::Register,
                    policies,
                    vec![],
                ));
            }
            // R15, R40: on a phone, the Authenticator app registers same-device — a sign-in
            // to the app itself, which Conditional Access covers as a client app.
            if persona.is_mobile() {
                let in_app = attempts(&start, &|si| {
                    let si = SignIn {
                        client_app_type: ClientAppType::MobileAppsAndDesktopClients,
                        ..*si
                    };
                    match decide(&si, t.authenticator, Some(t.portal)).verdict {
                        v @ (Verdict::Allow
                        | Verdict::AllowForRegistration { .. }
                        | Verdict::StepUp { .. }) => Ok(v),
                        v => Err(v),
                    }
                });
                if let Reach::No(v) = in_app {
                    if let Some((FindingCode::ApprovedClientAppBlock, _, settings)) =
                        classify(t, s, persona, &v)
                    {
                        out.push(finding(
                            FindingCode::ApprovedClientAppBlock,
                            Severity::Blocker,
                            Some(persona),
                            Some(t.authenticator),
                            Step::Register,
                            v.policy().map(|p| vec![p.to_string()]).unwrap_or_default(),
                            settings,
                        ));
                    }
                }
            }
        }
        for app in t.applications {
            let reach = attempts(&start, &|si| {
                reaches(decide(si, app, Some(t.portal)).verdict)
            });
            let v = match reach {
                Reach::No(v) => v,
                Reach::Yes(how) => {
                    let only = reached_by.entry(app.app_id.as_str()).or_insert(true);
                    // Reached only by registering first?
                    let directly =
                        matches!(how, None | Some(Verdict::Allow | Verdict::StepUp { .. }))
                            || matches!(
                                attempts(&start, &|si| reaches_directly(
                                    decide(si, app, Some(t.portal)).verdict
                                )),
                                Reach::Yes(_)
                            );
                    if directly {
                        *only = false;
                        continue;
                    }
                    // R14: Security info lets a held passkey that does not meet the
                    // requirement add one that does — on its strength alone.
                    let weaker: Vec<UsedMethod> =
                        held_here.iter().filter(|m| !m.is_pass()).copied().collect();
                    let registers_on_it = attempts(&weaker, &|si| match decide_registration(
                        si, t.portal,
                    )
                    .verdict
                    {
                        Verdict::Allow => Ok(Verdict::Allow),
                        v => Err(v),
                    });
                    if let (Reach::Yes(Some(_)), Some(v)) = (registers_on_it, how) {
                        out.push(finding(
                            FindingCode::WeakMfaCanRegister,
                            Severity::Info,
                            None,
                            Some(app),
                            Step::Register,
                            v.policy().map(|p| vec![p.to_string()]).unwrap_or_default(),
                            vec![],
                        ));
                    }
                    if !needs_authenticator(t, app, &start, &attempts) {
                        *only = false;
                    } else {
                        // R24: from a desktop, a passkey in the Authenticator is added across
                        // devices (a QR code and Bluetooth) — worth knowing.
                        if !persona.is_mobile() {
                            out.push(finding(
                                FindingCode::CrossDeviceNeedsBluetooth,
                                Severity::Info,
                                Some(persona),
                                Some(app),
                                Step::Register,
                                vec![],
                                vec![],
                            ));
                        }
                    }
                    continue;
                }
            };
            if let Some((code, step, settings)) = classify(t, s, persona, &v) {
                let policies = v.policy().map(|p| vec![p.to_string()]).unwrap_or_default();
                out.push(finding(
                    code,
                    Severity::Blocker,
                    Some(persona),
                    Some(app),
                    step,
                    policies,
                    settings,
                ));
            }
        }
    }
    // A blocker is a user who cannot get there at all: where another persona reaches the
    // application (or registers), what fails in one persona is a warning.
    // (Reached only through a passkey in the Authenticator, with phones too old to hold one,
    // is not reached: R19.)
    let reached = |a: &str| match reached_by.get(a) {
        Some(only_by_authenticator) => !(old_phones && *only_by_authenticator),
        None => false,
    };
    for f in &mut out {
        let elsewhere = match f.application.as_deref() {
            Some(a) if a == t.authenticator.app_id => registers_somewhere,
            Some(a) => reached(a),
            None => false,
        };
        if f.severity == Severity::Blocker && f.persona.is_some() && elsewhere {
            f.severity = Severity::Warning;
        }
    }
    // R19: the only way to an application is a passkey in the Authenticator, and the user's
    // known phones are too old to hold one.
    if old_phones {
        for app in t.applications {
            if reached_by.get(app.app_id.as_str()) == Some(&true) {
                out.push(finding(
                    FindingCode::OsTooOld,
                    Severity::Blocker,
                    None,
                    Some(app),
                    Step::Register,
                    vec![],
                    vec![Setting::DeviceOsVersion],
                ));
            }
        }
    }
    // Required before registered: for an application, Conditional Access leaves no persona a
    // way to register what it requires (004). (When the methods policy is why, that is
    // `notEnabledForPasskeys`.)
    for app in t.applications {
        let register_blocked: Vec<&UserFinding> = out
            .iter()
            .filter(|f| {
                f.application.as_deref() == Some(app.app_id.as_str())
                    && f.code == FindingCode::StrengthLoop
            })
            .collect();
        let personas: std::collections::BTreeSet<Persona> =
            register_blocked.iter().filter_map(|f| f.persona).collect();
        if !holds_passkey && personas.len() == Persona::ALL.len() {
            let mut policies: Vec<String> = register_blocked
                .iter()
                .flat_map(|f| f.policies.clone())
                .collect();
            policies.sort();
            policies.dedup();
            out.push(finding(
                FindingCode::EnforcedBeforeRegistered,
                Severity::Blocker,
                None,
                Some(app),
                Step::Register,
                policies,
                vec![],
            ));
        }
    }
    // A platform block is a trap only where desktops get through: a block everywhere is the
    // administrator's intent.
    if out
        .iter()
        .any(|f| f.code == FindingCode::MobilePlatformBlocked)
    {
        let everywhere = blocked_on_desktops(t, s, &start_all);
        out.retain(|f| {
            f.code != FindingCode::MobilePlatformBlocked
                || !f
                    .application
                    .as_ref()
                    .is_some_and(|a| everywhere.contains(a))
        });
    }
    out.sort();
    out.dedup();
    out
}

/// Whether this user, not reaching `app` with what they hold, reaches it by registering
/// first only a passkey in the Authenticator (every strength asked for names Authenticator
/// models only).
fn needs_authenticator(
    t: &Tenant<'_>,
    app: &Application,
    start: &[UsedMethod],
    attempts: &Attempts<'_>,
) -> bool {
    let names_authenticator_only = |st: &crate::strength::Strength| {
        st.fido2_allowed_aaguids.as_ref().is_some_and(|models| {
            !models.is_empty() && models.iter().all(|m| AUTHENTICATOR_AAGUIDS.contains(m))
        })
    };
    // Most tenants have no such strength: then there is nothing to ask.
    if !t.config.strengths.iter().any(names_authenticator_only) {
        return false;
    }
    let authenticator_only = |id: &str| {
        t.config
            .strengths
            .iter()
            .find(|st| st.id == id)
            .is_some_and(names_authenticator_only)
    };
    let by_authenticator = attempts(start, &|si| match decide(si, app, Some(t.portal)).verdict {
        Verdict::RegisterFirst { requirement }
            if requirement.unmet.iter().all(|u| match u {
                Unmet::Strength { id, .. } => authenticator_only(id),
                _ => false,
            }) =>
        {
            Ok(Verdict::RegisterFirst { requirement })
        }
        v => Err(v),
    });
    matches!(by_authenticator, Reach::Yes(_))
}

/// The applications every desktop persona is blocked from outright.
fn blocked_on_desktops(t: &Tenant<'_>, s: &Subject<'_>, start: &[UsedMethod]) -> Vec<String> {
    let mut blocked = vec![];
    for app in t.applications {
        let all_blocked = Persona::ALL.iter().filter(|p| !p.is_mobile()).all(|p| {
            start.iter().all(|m| {
                let once = [*m];
                let si = browser(t, s, *p, &once, start);
                matches!(
                    decide(&si, app, None).verdict,
                    Verdict::Refused {
                        why: Refusal::Blocked,
                        ..
                    }
                )
            })
        });
        if all_blocked {
            blocked.push(app.app_id.clone());
        }
    }
    blocked
}

/// Which trap a refusal is, at which step, and the methods settings to blame; `None` for
/// what is no trap (a disabled account, a block that is the administrator's intent on a
/// desktop).
fn classify(
    t: &Tenant<'_>,
    s: &Subject<'_>,
    persona: Persona,
    v: &Verdict,
) -> Option<(FindingCode, Step, Vec<Setting>)> {
    let Verdict::Refused { why, .. } = v else {
        return None;
    };
    match why {
        Refusal::AccountDisabled => None,
        Refusal::Blocked => persona.is_mobile().then_some((
            FindingCode::MobilePlatformBlocked,
            Step::SignIn,
            vec![],
        )),
        Refusal::NotRegistrable(_) => {
            let fido2 = t.methods.fido2;
            let settings = match passkey::rulesets(fido2, s.groups) {
                Err(PasskeyRefusal::MethodDisabled) => vec![Setting::Fido2State],
                Err(_) => vec![Setting::Fido2Targets],
                Ok(_) if !fido2.is_self_service_registration_allowed => {
                    vec![Setting::Fido2SelfService]
                }
                Ok(_) => return Some((FindingCode::StrengthLoop, Step::Register, vec![])),
            };
            Some((FindingCode::NotEnabledForPasskeys, Step::Register, settings))
        }
        Refusal::NoMethod(_) | Refusal::NoSingleMethod(_) => {
            Some((FindingCode::StrengthLoop, Step::Register, vec![]))
        }
        Refusal::CannotMeet(r) => {
            let app_control = r
                .unmet
                .iter()
                .any(|u| matches!(u, Unmet::ApprovedApplication | Unmet::CompliantApplication));
            Some(if app_control {
                (FindingCode::ApprovedClientAppBlock, Step::SignIn, vec![])
            } else {
                (
                    FindingCode::CompliantDeviceUnreachable,
                    Step::SignIn,
                    vec![],
                )
            })
        }
    }
}

/// R45 as a finding: every enabled Global Administrator blocked from Security info.
pub fn admin_lockout(
    config: &Config<'_>,
    methods: MethodsPolicy<'_>,
    admins: &[Admin],
    portal: &Application,
    now: Timestamp,
) -> Vec<UserFinding> {
    let enabled: Vec<&Admin> = admins.iter().filter(|a| a.user.account_enabled).collect();
    if enabled.is_empty() || !admins_still_in(config, methods, admins, portal, now).is_empty() {
        return vec![];
    }
    enabled
        .into_iter()
        .map(|a| UserFinding {
            code: FindingCode::AdminLockout,
            severity: Severity::Blocker,
            user: a.user.id,
            persona: None,
            application: Some(portal.app_id.clone()),
            step: Step::SignIn,
            policies: vec![],
            settings: vec![],
        })
        .collect()
}
