//! R55: the registration campaign (Graph `registrationEnforcement.
//! authenticationMethodsRegistrationCampaign`). Targeted users who sign in without the
//! targeted passkey are interrupted after sign-in and sent to Security info; they may snooze
//! for the allowed days, the allowed number of times, and then must register.
//!
//! The wire shape is parsed once into [`RegistrationCampaign`]; [`decide`] and [`snooze`]
//! are what sign-in, the interrupt page and the adoption report all call.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::fido2::{Fido2Configuration, AUTHENTICATOR_AAGUIDS};
use super::targets::{TargetType, ALL_USERS};
use super::PolicyError;
use crate::passkey::{self, Passkey, PasskeyRefusal};
use crate::Timestamp;

/// How many times a user may choose "Not now" when the campaign limits snoozes
/// (`enforceRegistrationAfterAllowedSnoozes`), as in Entra's "Limited number of snoozes".
pub const ALLOWED_SNOOZES: u32 = 3;

/// The longest snooze Graph allows, in days.
pub const MAX_SNOOZE_DAYS: u8 = 14;

/// `state`: Graph's `advancedConfigState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CampaignState {
    /// Not set explicitly; Graph documents the default as disabled, and so it behaves.
    #[default]
    Default,
    /// The campaign runs.
    Enabled,
    /// The campaign does not run.
    Disabled,
}

impl CampaignState {
    fn code(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
        }
    }
}

/// `targetedAuthenticationMethod`: what the user is asked to register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetedMethod {
    /// `Fido2`: any passkey the policy lets the user sign in with.
    Fido2,
    /// `microsoftAuthenticator`: a passkey in Microsoft Authenticator (its AAGUIDs), which
    /// is how Portcullis supports the Authenticator today.
    MicrosoftAuthenticator,
}

impl TargetedMethod {
    /// The Graph value.
    pub fn code(self) -> &'static str {
        match self {
            Self::Fido2 => "Fido2",
            Self::MicrosoftAuthenticator => "microsoftAuthenticator",
        }
    }

    /// What a user is asked for, in words.
    pub fn label(self) -> &'static str {
        match self {
            Self::Fido2 => "a passkey",
            Self::MicrosoftAuthenticator => "a passkey in Microsoft Authenticator",
        }
    }

    fn held_by(self, p: &Passkey) -> bool {
        match self {
            Self::Fido2 => true,
            Self::MicrosoftAuthenticator => AUTHENTICATOR_AAGUIDS.contains(&p.aaguid),
        }
    }
}

/// Who a target names. Unlike method targets (R2), the campaign accepts single users, as
/// Graph does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Who {
    /// `all_users`.
    AllUsers,
    /// A group (by object id).
    Group(Uuid),
    /// One user (by object id).
    User(Uuid),
}

impl Who {
    fn covers(self, user: Uuid, member_of: &[Uuid]) -> bool {
        match self {
            Who::AllUsers => true,
            Who::Group(g) => member_of.contains(&g),
            Who::User(u) => u == user,
        }
    }

    fn to_json(self) -> (String, &'static str) {
        match self {
            Who::AllUsers => (ALL_USERS.into(), "group"),
            Who::Group(g) => (g.to_string(), "group"),
            Who::User(u) => (u.to_string(), "user"),
        }
    }
}

/// An include target: who, and what they are asked to register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CampaignInclude {
    /// Who is targeted.
    pub who: Who,
    /// What they are asked to register.
    pub method: TargetedMethod,
}

/// The campaign, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationCampaign {
    /// Whether it runs.
    pub state: CampaignState,
    /// Days a "Not now" lasts; 0 asks again at every sign-in.
    pub snooze_duration_in_days: u8,
    /// After [`ALLOWED_SNOOZES`] snoozes, registration is required.
    pub enforce_registration_after_allowed_snoozes: bool,
    /// Who is asked.
    pub include_targets: Vec<CampaignInclude>,
    /// Who is never asked (wins over inclusion).
    pub exclude_targets: Vec<Who>,
}

impl Default for RegistrationCampaign {
    fn default() -> Self {
        RegistrationCampaign {
            state: CampaignState::Default,
            snooze_duration_in_days: 1,
            enforce_registration_after_allowed_snoozes: false,
            include_targets: vec![CampaignInclude {
                who: Who::AllUsers,
                method: TargetedMethod::MicrosoftAuthenticator,
            }],
            exclude_targets: vec![],
        }
    }
}

/// The wire shape of a target, read leniently for casing and `@odata.type`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WireTarget {
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    id: String,
    #[serde(default)]
    target_type: Option<TargetType>,
    #[serde(default)]
    targeted_authentication_method: Option<String>,
}

/// The wire shape of the campaign; every field optional, for PATCH.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WireCampaign {
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    #[serde(default)]
    state: Option<Value>,
    #[serde(default)]
    snooze_duration_in_days: Option<Value>,
    #[serde(default)]
    enforce_registration_after_allowed_snoozes: Option<Value>,
    #[serde(default)]
    include_targets: Option<Vec<WireTarget>>,
    #[serde(default)]
    exclude_targets: Option<Vec<WireTarget>>,
}

const FIELD: &str = "registrationEnforcement.authenticationMethodsRegistrationCampaign";

fn invalid(field: &'static str, message: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        field,
        message: message.into(),
    }
}

fn who(t: &WireTarget, field: &'static str) -> Result<Who, PolicyError> {
    let kind = t.target_type.unwrap_or(TargetType::Group);
    if t.id.eq_ignore_ascii_case(ALL_USERS) {
        return match kind {
            TargetType::Group => Ok(Who::AllUsers),
            TargetType::User => Err(invalid(
                field,
                "'all_users' is sent with targetType 'group'",
            )),
        };
    }
    let id = Uuid::parse_str(t.id.trim()).map_err(|_| {
        invalid(
            field,
            format!(
                "'{}' is neither 'all_users' nor an object id (a GUID)",
                t.id
            ),
        )
    })?;
    Ok(match kind {
        TargetType::Group => Who::Group(id),
        TargetType::User => Who::User(id),
    })
}

impl RegistrationCampaign {
    /// The campaign in the policy's stored settings (Graph's default when absent).
    /// Settings are only stored after [`RegistrationCampaign::patched`] accepted them.
    pub fn from_settings(settings: &Value) -> Result<Self, PolicyError> {
        match settings
            .get("registrationEnforcement")
            .and_then(|r| r.get("authenticationMethodsRegistrationCampaign"))
        {
            Some(c) => Self::default().patched(c),
            None => Ok(Self::default()),
        }
    }

    /// This campaign with a PATCH's fields applied (absent fields keep their value).
    pub fn patched(&self, patch: &Value) -> Result<Self, PolicyError> {
        if !patch.is_object() {
            return Err(PolicyError::Shape {
                kind: "authenticationMethodsRegistrationCampaign",
                message: "expected a JSON object".into(),
            });
        }
        let w: WireCampaign =
            serde_json::from_value(patch.clone()).map_err(|e| PolicyError::Shape {
                kind: "authenticationMethodsRegistrationCampaign",
                message: e.to_string(),
            })?;
        let mut next = self.clone();
        if let Some(s) = w.state {
            let s = s.as_str().unwrap_or_default().to_ascii_lowercase();
            next.state =
                match s.as_str() {
                    "default" => CampaignState::Default,
                    "enabled" => CampaignState::Enabled,
                    "disabled" => CampaignState::Disabled,
                    _ => return Err(invalid(
                        "registrationEnforcement.authenticationMethodsRegistrationCampaign.state",
                        "must be default, enabled or disabled",
                    )),
                };
        }
        if let Some(d) = w.snooze_duration_in_days {
            next.snooze_duration_in_days = d
                .as_u64()
                .and_then(|d| u8::try_from(d).ok())
                .filter(|d| *d <= MAX_SNOOZE_DAYS)
                .ok_or_else(|| {
                    invalid("snoozeDurationInDays", "must be an integer from 0 to 14")
                })?;
        }
        if let Some(e) = w.enforce_registration_after_allowed_snoozes {
            next.enforce_registration_after_allowed_snoozes = e.as_bool().ok_or_else(|| {
                invalid(
                    "enforceRegistrationAfterAllowedSnoozes",
                    "must be true or false",
                )
            })?;
        }
        if let Some(ts) = w.include_targets {
            next.include_targets = ts
                .iter()
                .map(|t| {
                    let method = match t.targeted_authentication_method.as_deref() {
                        None => TargetedMethod::MicrosoftAuthenticator,
                        Some(m) if m.eq_ignore_ascii_case("fido2") => TargetedMethod::Fido2,
                        Some(m) if m.eq_ignore_ascii_case("microsoftAuthenticator") => {
                            TargetedMethod::MicrosoftAuthenticator
                        }
                        Some(m) => {
                            return Err(invalid(
                                "includeTargets.targetedAuthenticationMethod",
                                format!("'{m}' is not Fido2 or microsoftAuthenticator"),
                            ))
                        }
                    };
                    Ok(CampaignInclude {
                        who: who(t, "includeTargets")?,
                        method,
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(ts) = w.exclude_targets {
            next.exclude_targets = ts
                .iter()
                .map(|t| {
                    if t.targeted_authentication_method.is_some() {
                        return Err(invalid(
                            "excludeTargets",
                            "an exclude target has no targetedAuthenticationMethod",
                        ));
                    }
                    match who(t, "excludeTargets")? {
                        Who::AllUsers => Err(invalid(
                            "excludeTargets",
                            "'all_users' cannot be excluded; set the campaign's state to disabled instead",
                        )),
                        w => Ok(w),
                    }
                })
                .collect::<Result<_, _>>()?;
        }
        let includes: Vec<Who> = next.include_targets.iter().map(|t| t.who).collect();
        for list in [&includes, &next.exclude_targets] {
            let mut seen = std::collections::HashSet::new();
            if let Some(w) = list.iter().find(|w| !seen.insert(**w)) {
                let id = w.to_json().0;
                return Err(invalid(
                    FIELD,
                    format!("target '{id}' appears more than once"),
                ));
            }
        }
        Ok(next)
    }

    /// Groups and users the targets name (the shell checks that they exist).
    pub fn named_objects(&self) -> impl Iterator<Item = Who> + '_ {
        self.include_targets
            .iter()
            .map(|t| t.who)
            .chain(self.exclude_targets.iter().copied())
            .filter(|w| *w != Who::AllUsers)
    }

    /// Whether the campaign runs (`default` behaves as Graph documents it: disabled).
    pub fn is_running(&self) -> bool {
        self.state == CampaignState::Enabled
    }

    /// The Graph JSON of the campaign.
    pub fn to_json(&self) -> Value {
        let target = |w: Who| {
            let (id, kind) = w.to_json();
            json!({"id": id, "targetType": kind})
        };
        json!({
            "snoozeDurationInDays": self.snooze_duration_in_days,
            "enforceRegistrationAfterAllowedSnoozes": self.enforce_registration_after_allowed_snoozes,
            "state": self.state.code(),
            "excludeTargets": self.exclude_targets.iter().map(|w| target(*w)).collect::<Vec<_>>(),
            "includeTargets": self.include_targets.iter().map(|t| {
                let mut v = target(t.who);
                if let Value::Object(m) = &mut v {
                    m.insert("targetedAuthenticationMethod".into(), Value::from(t.method.code()));
                }
                v
            }).collect::<Vec<_>>(),
        })
    }
}

/// What a user has done with the campaign so far (stored per user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// How many times they chose "Not now".
    pub snoozes: u32,
    /// Until when the last one lasts.
    pub snoozed_until: Option<Timestamp>,
}

/// How many more times the user may snooze.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnoozesLeft {
    /// The campaign does not limit snoozes.
    Unlimited,
    /// This many (at least one).
    Some(u32),
    /// None: the user must register now.
    None,
}

/// What the campaign asks of a user after they sign in, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nudge {
    /// The campaign is not running.
    Off,
    /// No include target covers the user.
    NotTargeted,
    /// An exclude target covers the user.
    Excluded(Who),
    /// The user could not register what they would be asked for (not enabled for passkeys,
    /// self-service registration off, or key restrictions block the Authenticator): asking
    /// would send them round in a loop, so they are not asked.
    CannotRegister(PasskeyRefusal),
    /// The user already holds a usable passkey of the targeted kind.
    Registered,
    /// The user chose "Not now" and is not asked again before `until`.
    Snoozed {
        /// When they are asked again.
        until: Timestamp,
    },
    /// Interrupt the sign-in and send the user to Security info.
    Interrupt {
        /// What they are asked to register.
        method: TargetedMethod,
        /// Whether, and how often, they may still say "Not now".
        snoozes_left: SnoozesLeft,
    },
}

impl Nudge {
    /// Whether the user must see the interrupt now.
    pub fn interrupts(&self) -> bool {
        matches!(self, Nudge::Interrupt { .. })
    }

    /// A stable code for reports and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Nudge::Off => "off",
            Nudge::NotTargeted => "notTargeted",
            Nudge::Excluded(_) => "excluded",
            Nudge::CannotRegister(_) => "cannotRegister",
            Nudge::Registered => "registered",
            Nudge::Snoozed { .. } => "snoozed",
            Nudge::Interrupt {
                snoozes_left: SnoozesLeft::None,
                ..
            } => "registrationRequired",
            Nudge::Interrupt { .. } => "interrupt",
        }
    }
}

/// What [`decide`] reads about one user.
#[derive(Debug, Clone, Copy)]
pub struct CampaignFacts<'a> {
    /// The user.
    pub user: Uuid,
    /// Their groups.
    pub member_of: &'a [Uuid],
    /// Their passkeys, as stored.
    pub passkeys: &'a [Passkey],
    /// What they did with the campaign so far.
    pub progress: Progress,
}

/// R55: what the campaign asks of this user at `now`. Whether they hold the method and
/// whether they could register it are the passkey rules' own answers
/// ([`passkey::sign_in_usability`], [`passkey::rulesets`]).
pub fn decide(
    campaign: &RegistrationCampaign,
    fido2: &Fido2Configuration,
    facts: &CampaignFacts<'_>,
    now: Timestamp,
) -> Nudge {
    if !campaign.is_running() {
        return Nudge::Off;
    }
    let covers = |w: &Who| w.covers(facts.user, facts.member_of);
    if let Some(w) = campaign.exclude_targets.iter().find(|w| covers(w)) {
        return Nudge::Excluded(*w);
    }
    let methods: Vec<TargetedMethod> = campaign
        .include_targets
        .iter()
        .filter(|t| covers(&t.who))
        .map(|t| t.method)
        .collect();
    // Asked for a passkey in the Authenticator only if no target asks for any passkey.
    let method = if methods.contains(&TargetedMethod::Fido2) {
        TargetedMethod::Fido2
    } else if let Some(m) = methods.first() {
        *m
    } else {
        return Nudge::NotTargeted;
    };
    let held = facts.passkeys.iter().any(|p| {
        method.held_by(p) && passkey::sign_in_usability(fido2, facts.member_of, p).is_ok()
    });
    if held {
        return Nudge::Registered;
    }
    if let Err(r) = can_register(fido2, facts.member_of, method) {
        return Nudge::CannotRegister(r);
    }
    let snoozes_left = if campaign.enforce_registration_after_allowed_snoozes {
        match ALLOWED_SNOOZES.saturating_sub(facts.progress.snoozes) {
            0 => SnoozesLeft::None,
            n => SnoozesLeft::Some(n),
        }
    } else {
        SnoozesLeft::Unlimited
    };
    // Every snooze lasts its days, the last one too: registration is required once it ends.
    if let Some(until) = facts.progress.snoozed_until.filter(|u| now < *u) {
        return Nudge::Snoozed { until };
    }
    Nudge::Interrupt {
        method,
        snoozes_left,
    }
}

/// Whether the user could register the targeted method at all: the registration rules'
/// own answers ([`passkey::rulesets`], [`passkey::registrable`]), with the reason when not.
fn can_register(
    fido2: &Fido2Configuration,
    member_of: &[Uuid],
    method: TargetedMethod,
) -> Result<(), PasskeyRefusal> {
    let rules = passkey::rulesets(fido2, member_of)?;
    if !fido2.is_self_service_registration_allowed {
        return Err(PasskeyRefusal::SelfServiceDisabled);
    }
    if method == TargetedMethod::MicrosoftAuthenticator {
        let in_app = |a: &Uuid| AUTHENTICATOR_AAGUIDS.contains(a);
        let offered = passkey::registrable(fido2, member_of, &AUTHENTICATOR_AAGUIDS);
        if !offered
            .iter()
            .any(|m| m.aaguid.as_ref().is_some_and(in_app))
        {
            let first = AUTHENTICATOR_AAGUIDS.first().copied().unwrap_or_default();
            return Err(rules
                .first()
                .and_then(|r| passkey::key_allowed(&r.key_restrictions, first).err())
                .unwrap_or(PasskeyRefusal::KeyRestricted {
                    aaguid: first,
                    allow_list: true,
                }));
        }
    }
    Ok(())
}

/// Whether the registration campaign holds `session` up on its way to this application
/// (R55): it waits for an answer, and the application is not one where passkeys are
/// registered. The authorization endpoint and a passkey sign-in continuing an
/// authorization ask this same question.
pub fn holds_up(session: &crate::session::Session, app_id: &str) -> bool {
    session.campaign_pending && !registration_path(app_id)
}

/// Whether a session the campaign holds up may still sign in to this application: the
/// places the passkey is registered — Security info, and Microsoft Authenticator for its
/// same-device flow. Holding those up too would make registering impossible: a loop.
pub fn registration_path(app_id: &str) -> bool {
    crate::directory::FIRST_PARTY_APPS
        .iter()
        .any(|a| a.app_id.eq_ignore_ascii_case(app_id))
}

/// Why "Not now" was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SnoozeRefusal {
    /// The snoozes allowed are used up.
    #[error("you have used the {ALLOWED_SNOOZES} times you could postpone this: add a passkey to continue")]
    RegistrationRequired,
    /// Nothing is being asked of the user.
    #[error("nothing is asking you to add a passkey now")]
    NotAsked,
}

impl SnoozeRefusal {
    /// A stable code for the API's error shape.
    pub fn code(self) -> &'static str {
        match self {
            Self::RegistrationRequired => "registrationRequired",
            Self::NotAsked => "notInterrupted",
        }
    }
}

/// "Not now": the progress after snoozing a [`Nudge`] at `now`.
pub fn snooze(
    campaign: &RegistrationCampaign,
    nudge: &Nudge,
    progress: Progress,
    now: Timestamp,
) -> Result<Progress, SnoozeRefusal> {
    match nudge {
        Nudge::Interrupt {
            snoozes_left: SnoozesLeft::None,
            ..
        } => Err(SnoozeRefusal::RegistrationRequired),
        Nudge::Interrupt { .. } => Ok(Progress {
            snoozes: progress.snoozes.saturating_add(1),
            snoozed_until: now.checked_add(time::Duration::days(i64::from(
                campaign.snooze_duration_in_days,
            ))),
        }),
        _ => Err(SnoozeRefusal::NotAsked),
    }
}

#[cfg(test)]
mod tests;
