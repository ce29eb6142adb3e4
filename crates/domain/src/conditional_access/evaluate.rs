//! Evaluation (R41–R43, graph-api.md §6): which policies apply to a sign-in, whether each is
//! satisfied, and the outcome with what is unmet and what would satisfy it. Sign-in, What If
//! and registration all call [`evaluate`].

use std::net::IpAddr;
use uuid::Uuid;

use super::location::NamedLocation;
use super::parsed::{Control, FilterMode, LocationRef, ParsedPolicy, Target};
use super::platform::{ClientAppType, Platform};
use super::set::PolicySet;
use super::PolicyState;
use crate::application::Application;
use crate::device::DeviceFacts;
use crate::directory::{DirectoryRole, User, AUTHENTICATOR_APP};
use crate::strength::{Strength, UsedMethod, MFA_STRENGTH_ID};
use crate::Timestamp;

/// What the sign-in is for.
#[derive(Debug, Clone, Copy)]
pub enum Resource<'a> {
    /// A token for an application.
    Application(&'a Application),
    /// The "register security info" user action, through a client app.
    RegisterSecurityInfo,
}

/// Everything evaluation reads about one sign-in.
#[derive(Debug, Clone, Copy)]
pub struct Signals<'a> {
    /// Who.
    pub user: &'a User,
    /// Their (transitive) group ids.
    pub groups: &'a [Uuid],
    /// Their directory roles.
    pub roles: &'a [DirectoryRole],
    /// For what.
    pub resource: Resource<'a>,
    /// The client application making the request (for approved-app controls, R42).
    pub client: Option<&'a Application>,
    /// Device platform, if known.
    pub platform: Option<Platform>,
    /// Client address, if known.
    pub ip: Option<IpAddr>,
    /// Browser or native app.
    pub client_app_type: ClientAppType,
    /// The device, when the client proved possession of an enrolled one (or What If describes
    /// one); `None` for an unknown device, to which every device filter property is null.
    pub device: Option<&'a DeviceFacts>,
    /// Methods used in this session.
    pub methods: &'a [UsedMethod],
    /// Now.
    pub now: Timestamp,
}

/// The tenant's configuration that evaluation reads.
#[derive(Debug, Clone, Copy)]
pub struct Config<'a> {
    /// All policies, parsed and indexed.
    pub policies: &'a PolicySet,
    /// All strengths (built-in and custom).
    pub strengths: &'a [Strength],
    /// Named locations.
    pub locations: &'a [NamedLocation],
}

/// One unmet requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmet {
    /// Blocked outright.
    Block,
    /// Multifactor authentication.
    Mfa,
    /// An authentication strength.
    Strength {
        /// Id.
        id: String,
        /// Name.
        name: String,
    },
    /// A device marked compliant.
    CompliantDevice,
    /// A hybrid-joined device (never, in Portcullis).
    DomainJoinedDevice,
    /// An approved client app.
    ApprovedApplication,
    /// An app with an app protection policy.
    CompliantApplication,
}

/// Why a policy does not apply (`analysisReasons`), as a set without allocation: most
/// policies in a large tenant do not apply to a given sign-in, and listing them must be cheap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reasons(u16);

const REASONS: [&str; 9] = [
    "users",
    "application",
    "userActions",
    "devicePlatform",
    "devices",
    "location",
    "clientApps",
    "policyNotEnabled",
    "time",
];

impl Reasons {
    fn add(&mut self, reason: &'static str) {
        let i = REASONS.iter().position(|r| *r == reason);
        // Reasons are literals in this file; a missing one is a bug to catch in tests.
        debug_assert!(i.is_some(), "unknown analysis reason {reason}");
        if let Some(i) = i {
            self.0 |= 1 << i;
        }
    }

    /// No reason: the policy applies.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The reasons, in Graph's order.
    pub fn list(self) -> Vec<&'static str> {
        REASONS
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, r)| *r)
            .collect()
    }
}

/// A policy's `result` in the sign-in log (graph-api.md §7.1): serialised in Graph's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AppliedResult {
    /// Applies and is satisfied.
    Success,
    /// Applies and is not satisfied.
    Failure,
    /// Does not apply.
    NotApplied,
    /// Disabled.
    NotEnabled,
    /// Report-only; would have been satisfied.
    ReportOnlySuccess,
    /// Report-only; would have failed.
    ReportOnlyFailure,
    /// Report-only; does not apply.
    ReportOnlyNotApplied,
    /// Report-only; would have interrupted the user for a method.
    ReportOnlyInterrupted,
}

impl AppliedResult {
    /// Graph's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AppliedResult::Success => "success",
            AppliedResult::Failure => "failure",
            AppliedResult::NotApplied => "notApplied",
            AppliedResult::NotEnabled => "notEnabled",
            AppliedResult::ReportOnlySuccess => "reportOnlySuccess",
            AppliedResult::ReportOnlyFailure => "reportOnlyFailure",
            AppliedResult::ReportOnlyNotApplied => "reportOnlyNotApplied",
            AppliedResult::ReportOnlyInterrupted => "reportOnlyInterrupted",
        }
    }
}

/// What a policy that applies enforces, and what of it is unmet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enforced {
    /// The controls the policy enforces.
    pub controls: Vec<Unmet>,
    /// What is unmet; for an OR policy, the alternatives (any one would do).
    pub unmet: Vec<Unmet>,
}

/// One policy's result (graph-api.md §7.1 `appliedConditionalAccessPolicies`). Small: a
/// decision lists every policy, and a thousand of them must cost little; only a policy that
/// applies carries its controls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyResult {
    /// The policy's position in [`Config::policies`] (names are read from there, so that
    /// listing a thousand policies allocates nothing for those that do not apply).
    pub index: usize,
    /// State.
    pub state: PolicyState,
    /// Whether its assignments and conditions all matched.
    pub applies: bool,
    /// Why not, when it does not apply.
    pub not_applied_because: Reasons,
    /// The result.
    pub result: AppliedResult,
    /// Whether the unmet items are alternatives (OR) or all required (AND).
    pub any_of: bool,
    /// For a policy that applies: its controls and what is unmet.
    pub enforced: Option<Box<Enforced>>,
}

impl PolicyResult {
    /// What is unmet (empty unless the policy applies and is not satisfied).
    pub fn unmet(&self) -> &[Unmet] {
        self.enforced.as_ref().map_or(&[], |e| e.unmet.as_slice())
    }

    /// The controls the policy enforces (empty unless it applies).
    pub fn controls(&self) -> &[Unmet] {
        self.enforced
            .as_ref()
            .map_or(&[], |e| e.controls.as_slice())
    }
}

/// The outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every applicable enforced policy is satisfied.
    Allow,
    /// A policy blocks.
    Block {
        /// The blocking policy.
        policy: String,
    },
    /// Requirements are unmet, per policy.
    Unmet(Vec<PolicyUnmet>),
}

/// What one enforced policy leaves unmet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyUnmet {
    /// The policy's name.
    pub policy: String,
    /// The unmet controls.
    pub unmet: Vec<Unmet>,
    /// Whether any one of them would do (`OR`) or all are required (`AND`).
    pub any_of: bool,
}

/// The whole evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// Every policy, in the order given.
    pub policies: Vec<PolicyResult>,
    /// The final outcome (report-only policies never change it).
    pub outcome: Outcome,
}

/// The user's ids, computed once per evaluation (not per policy).
struct Who {
    user_id: Uuid,
    group_ids: Vec<u128>,
    role_ids: Vec<u128>,
    /// One bit per group id (its low 6 bits): most policy groups are ruled out by one AND.
    group_mask: u64,
}

impl Who {
    fn in_groups(&self, groups: &[Uuid]) -> bool {
        groups.iter().any(|g| {
            let g = g.as_u128();
            self.group_mask & bit(g) != 0 && self.group_ids.contains(&g)
        })
    }

    fn holds(&self, roles: &[DirectoryRole]) -> bool {
        roles
            .iter()
            .any(|r| self.role_ids.contains(&r.template_id().as_u128()))
    }
}

fn bit(id: u128) -> u64 {
    1u64 << (id & 63)
}

/// Whether an include/exclude filter lets this through.
fn filter_passes(mode: FilterMode, matched: bool) -> bool {
    matched == (mode == FilterMode::Include)
}

/// How much of each policy's evaluation to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Detail {
    /// Stop at the first assignment that does not match (sign-in: most policies in a large
    /// tenant miss on users, and are ruled out without being read).
    #[default]
    FirstReason,
    /// Test every condition of every policy and report each that fails (What If: unlike
    /// Entra's, which names only the first).
    EveryReason,
}

/// Why the policy does not apply (empty when it does).
fn applicability(
    p: &ParsedPolicy,
    s: &Signals<'_>,
    cfg: &Config<'_>,
    who: &Who,
    detail: Detail,
) -> Reasons {
    let mut why = Reasons::default();
    let u = &p.users;
    let included =
        u.all || u.users.contains(&who.user_id) || who.in_groups(&u.groups) || who.holds(&u.roles);
    let excluded = u.exclude_users.contains(&who.user_id)
        || who.in_groups(&u.exclude_groups)
        || who.holds(&u.exclude_roles)
        || u.excluded_until
            .iter()
            .any(|(user, until)| *user == who.user_id && s.now < *until);
    if !included || excluded {
        why.add("users");
        // In a large tenant most policies miss on users: stop there rather than test the
        // rest, unless every reason is asked for.
        if detail == Detail::FirstReason {
            return why;
        }
    }
    match (&p.target, s.resource) {
        (Target::RegisterSecurityInfo, Resource::RegisterSecurityInfo) => {}
        (Target::Resources { .. }, Resource::RegisterSecurityInfo) => why.add("userActions"),
        (Target::RegisterSecurityInfo, Resource::Application(_)) => why.add("application"),
        (
            Target::Resources {
                all,
                include,
                exclude,
                filter,
            },
            Resource::Application(app),
        ) => {
            let named = |list: &[String]| list.iter().any(|x| x.eq_ignore_ascii_case(&app.app_id));
            let mut inc = *all || named(include);
            let mut exc = named(exclude);
            if let Some(f) = filter {
                let m = f.rule.matches(&app.custom_security_attributes);
                match f.mode {
                    FilterMode::Include => inc = inc || m,
                    FilterMode::Exclude => exc = exc || m,
                }
            }
            if !inc || exc {
                why.add("application");
            }
        }
    }
    if let Some(pl) = &p.platforms {
        let named = |list: &[Platform]| s.platform.is_some_and(|x| list.contains(&x));
        if !(pl.all || named(&pl.include)) || named(&pl.exclude) {
            why.add("devicePlatform");
        }
    }
    if let Some(f) = &p.device_filter {
        if !filter_passes(f.mode, f.rule.matches_device(s.device)) {
            why.add("devices");
        }
    }
    if let Some(l) = &p.locations {
        let at = |r: &LocationRef| -> bool {
            match r {
                LocationRef::All => true,
                LocationRef::AllTrusted => s
                    .ip
                    .is_some_and(|ip| cfg.locations.iter().any(|n| n.is_trusted && n.contains(ip))),
                LocationRef::Named(id) => s
                    .ip
                    .is_some_and(|ip| cfg.locations.iter().any(|n| &n.id == id && n.contains(ip))),
            }
        };
        let inc = l.include.is_empty() || l.include.iter().any(at);
        if !inc || l.exclude.iter().any(at) {
            why.add("location");
        }
    }
    if p.client_apps
        .as_ref()
        .is_some_and(|types| !types.contains(&s.client_app_type))
    {
        why.add("clientApps");
    }
    why
}

/// Whether one control is met by this sign-in.
fn met(control: &Unmet, s: &Signals<'_>, cfg: &Config<'_>) -> bool {
    let not_authenticator = s
        .client
        .is_some_and(|c| c.app_id != AUTHENTICATOR_APP.app_id);
    match control {
        Unmet::Block => false,
        Unmet::Mfa => cfg
            .strengths
            .iter()
            .find(|x| x.id == MFA_STRENGTH_ID)
            .is_some_and(|x| x.satisfied_by(s.methods)),
        Unmet::Strength { id, .. } => cfg
            .strengths
            .iter()
            .find(|x| &x.id == id)
            .is_some_and(|x| x.satisfied_by(s.methods)),
        Unmet::CompliantDevice => s.device.is_some_and(|d| d.is_compliant),
        Unmet::DomainJoinedDevice => false,
        // R42: the Authenticator app is neither an approved client app nor app-protected.
        Unmet::ApprovedApplication => {
            not_authenticator && s.client.is_some_and(|c| c.approved_client_app)
        }
        Unmet::CompliantApplication => {
            not_authenticator && s.client.is_some_and(|c| c.app_protection_policy)
        }
    }
}

/// The controls a policy requires.
fn controls(p: &ParsedPolicy, cfg: &Config<'_>) -> Vec<Unmet> {
    let mut out: Vec<Unmet> = p
        .grant
        .controls
        .iter()
        .map(|c| match c {
            Control::Block => Unmet::Block,
            Control::Mfa => Unmet::Mfa,
            Control::CompliantDevice => Unmet::CompliantDevice,
            Control::DomainJoinedDevice => Unmet::DomainJoinedDevice,
            Control::ApprovedApplication => Unmet::ApprovedApplication,
            Control::CompliantApplication => Unmet::CompliantApplication,
        })
        .collect();
    if let Some(id) = &p.grant.strength {
        let name = cfg.strengths.iter().find(|s| &s.id == id).map_or_else(
            || format!("(missing strength {id})"),
            |s| s.display_name.clone(),
        );
        out.push(Unmet::Strength {
            id: id.clone(),
            name,
        });
    }
    out
}

/// Evaluates every policy against one sign-in, giving for each policy that does not apply
/// the first reason ([`Detail::FirstReason`]).
pub fn evaluate(cfg: &Config<'_>, s: &Signals<'_>) -> Evaluation {
    evaluate_in(cfg, s, Detail::FirstReason)
}

/// Evaluates every policy against one sign-in, reporting reasons to the given detail; the
/// results and outcome do not depend on it.
pub fn evaluate_in(cfg: &Config<'_>, s: &Signals<'_>, detail: Detail) -> Evaluation {
    let who = Who {
        user_id: s.user.id,
        group_ids: s.groups.iter().map(|g| g.as_u128()).collect(),
        role_ids: s.roles.iter().map(|r| r.template_id().as_u128()).collect(),
        group_mask: s.groups.iter().fold(0, |m, g| m | bit(g.as_u128())),
    };
    let set = cfg.policies;
    let candidates = set
        .index()
        .candidates(who.user_id.as_u128(), &who.group_ids, &who.role_ids);
    let mut next_candidate = 0;
    let mut results = Vec::with_capacity(set.len());
    let mut block = None;
    let mut unmet_all = vec![];
    for (index, &(state, any_of)) in set.meta().iter().enumerate() {
        // Consumed for every policy, disabled ones included, so the cursor stays in step.
        let candidate = candidates.get(next_candidate) == Some(&(index as u32));
        next_candidate = next_candidate.saturating_add(usize::from(candidate));
        let report_only = state == PolicyState::EnabledForReportingButNotEnforced;
        let mut r = PolicyResult {
            index,
            state,
            applies: false,
            not_applied_because: Reasons::default(),
            result: AppliedResult::NotApplied,
            any_of,
            enforced: None,
        };
        if state == PolicyState::Disabled {
            r.result = AppliedResult::NotEnabled;
            r.not_applied_because.add("policyNotEnabled");
            results.push(r);
            continue;
        }
        let parsed = set.parsed().get(index);
        let everything = detail == Detail::EveryReason;
        r.not_applied_because = match (candidate || everything, parsed) {
            (true, Some(Ok(p))) => applicability(p, s, cfg, &who, detail),
            // A policy that no longer parses applies to everyone (and blocks, below).
            (true, _) => Reasons::default(),
            (false, _) => {
                let mut users = Reasons::default();
                users.add("users");
                users
            }
        };
        r.applies = r.not_applied_because.is_empty();
        if !r.applies {
            r.result = if report_only {
                AppliedResult::ReportOnlyNotApplied
            } else {
                AppliedResult::NotApplied
            };
            results.push(r);
            continue;
        }
        // Controls are worked out only for the policies that apply.
        let ctrls = match parsed {
            Some(Ok(p)) => controls(p, cfg),
            _ => vec![Unmet::Block],
        };
        let missing: Vec<Unmet> = ctrls.iter().filter(|c| !met(c, s, cfg)).cloned().collect();
        let satisfied = if r.any_of {
            missing.len() < ctrls.len() || ctrls.is_empty()
        } else {
            missing.is_empty()
        };
        let blocked = ctrls.contains(&Unmet::Block);
        let unmet = if satisfied { vec![] } else { missing };
        // A user can act on a missing method; nothing they do fixes a block, a device or an app.
        let interrupted = !satisfied
            && !blocked
            && unmet
                .iter()
                .any(|u| matches!(u, Unmet::Mfa | Unmet::Strength { .. }));
        r.result = match (report_only, satisfied, blocked, interrupted) {
            (false, true, _, _) => AppliedResult::Success,
            (false, false, _, _) => AppliedResult::Failure,
            (true, true, _, _) => AppliedResult::ReportOnlySuccess,
            (true, false, false, true) => AppliedResult::ReportOnlyInterrupted,
            (true, false, _, _) => AppliedResult::ReportOnlyFailure,
        };
        if !report_only && !satisfied {
            let name = set
                .policies()
                .get(index)
                .map(|p| p.display_name.clone())
                .unwrap_or_default();
            if blocked && block.is_none() {
                block = Some(name.clone());
            }
            unmet_all.push(PolicyUnmet {
                policy: name,
                unmet: unmet.clone(),
                any_of: r.any_of,
            });
        }
        r.enforced = Some(Box::new(Enforced {
            controls: ctrls,
            unmet,
        }));
        results.push(r);
    }
    let outcome = match block {
        Some(policy) => Outcome::Block { policy },
        None if unmet_all.is_empty() => Outcome::Allow,
        None => Outcome::Unmet(unmet_all),
    };
    Evaluation {
        policies: results,
        outcome,
    }
}

#[cfg(test)]
mod tests;
