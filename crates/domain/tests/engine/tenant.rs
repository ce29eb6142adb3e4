//! The generated tenants and sign-ins: users, groups, roles, devices, named locations,
//! strengths with AAGUIDs, Conditional Access policies of every kind and state, Passkey
//! (FIDO2) and TAP settings, and what a user holds.

pub(crate) use std::collections::BTreeMap;
pub(crate) use std::net::IpAddr;

pub(crate) use portcullis_domain::access::{
    decide, decide_registration, lets_through, usable_methods, MethodsPolicy, SignIn,
};
pub(crate) use portcullis_domain::application::{Application, AttributeValue};
pub(crate) use portcullis_domain::conditional_access::evaluate::{
    AppliedResult, Config, Detail, Outcome,
};
pub(crate) use portcullis_domain::conditional_access::filter::{Attribute, Op, Rule};
pub(crate) use portcullis_domain::conditional_access::guard::{admins_still_in, Admin};
pub(crate) use portcullis_domain::conditional_access::location::NamedLocation;
pub(crate) use portcullis_domain::conditional_access::parsed::{
    Control, FilterMode, Grant, LocationCondition, LocationRef, ModeFilter, ParsedPolicy,
    PlatformCondition, Target, UserAssignment,
};
pub(crate) use portcullis_domain::conditional_access::platform::{ClientAppType, Platform};
pub(crate) use portcullis_domain::conditional_access::remedy::{Refusal, Verdict};
pub(crate) use portcullis_domain::conditional_access::set::PolicySet;
pub(crate) use portcullis_domain::conditional_access::write::to_graph;
pub(crate) use portcullis_domain::conditional_access::{parse, Policy, PolicyState};
pub(crate) use portcullis_domain::device::{DeviceFacts, DeviceProperty};
pub(crate) use portcullis_domain::directory::{DirectoryRole, Upn, User, SECURITY_INFO_APP};
pub(crate) use portcullis_domain::passkey::{
    decide_registration as register_passkey, may_start_registration, sign_in_usability, Passkey,
    RegistrationFacts,
};
pub(crate) use portcullis_domain::policy::fido2::{AttestationEnforcement, EnforcementType};
pub(crate) use portcullis_domain::policy::{
    targets, ExcludeTarget, Fido2Configuration, IncludeTarget, KeyRestrictions, MethodState,
    PasskeyProfile, PasskeyTypes, TapConfiguration, TargetId,
};
pub(crate) use portcullis_domain::session::{AuthMethod, Session};
pub(crate) use portcullis_domain::strength::{Strength, UsedMethod, BUILT_IN};
pub(crate) use portcullis_domain::tap::{decide_redeem, TemporaryAccessPass};
pub(crate) use proptest::prelude::*;
pub(crate) use proptest::sample::select;
pub(crate) use time::macros::datetime;
pub(crate) use uuid::Uuid;

pub(crate) const NOW: time::OffsetDateTime = datetime!(2026-11-29 12:00 UTC);
pub(crate) const USERS: u128 = 6;
pub(crate) const GROUPS: u128 = 5;
pub(crate) const ROLES: [DirectoryRole; 3] = [
    DirectoryRole::GlobalAdministrator,
    DirectoryRole::SecurityReader,
    DirectoryRole::AuthenticationAdministrator,
];
pub(crate) const APPS: [&str; 3] = ["payroll", "wiki", "crm"];
pub(crate) const MODEL_A: u128 = 0xA;
pub(crate) const MODEL_B: u128 = 0xB;
/// A model no strength names.
pub(crate) const MODEL_C: u128 = 0xC;
/// A model no strength and no key restriction names (any other authenticator).
pub(crate) const MODEL_D: u128 = 0xD;

pub(crate) fn user_id(n: u128) -> Uuid {
    Uuid::from_u128(0x1000 + n)
}

pub(crate) fn group_id(n: u128) -> Uuid {
    Uuid::from_u128(0x2000 + n)
}

pub(crate) fn strengths() -> Vec<Strength> {
    let custom = |id: &str, combos: &[&str], aaguids: Option<Vec<Uuid>>| Strength {
        id: id.into(),
        display_name: id.into(),
        description: String::new(),
        built_in: false,
        allowed_combinations: combos
            .iter()
            .map(|c| portcullis_domain::strength::Combination::parse(c).unwrap())
            .collect(),
        fido2_allowed_aaguids: aaguids,
        fido2_configuration_id: None,
        created: String::new(),
        modified: String::new(),
    };
    let mut all: Vec<Strength> = BUILT_IN.iter().map(|b| b.to_strength()).collect();
    all.extend([
        custom("modelA", &["fido2"], Some(vec![Uuid::from_u128(MODEL_A)])),
        custom("modelB", &["fido2"], Some(vec![Uuid::from_u128(MODEL_B)])),
        custom("bootstrap", &["temporaryAccessPassOneTime", "fido2"], None),
        custom("passOnly", &["temporaryAccessPassOneTime"], None),
    ]);
    all
}

pub(crate) fn locations() -> Vec<NamedLocation> {
    let loc = |id: &str, trusted: bool, cidr: &str| NamedLocation {
        id: id.into(),
        display_name: id.into(),
        is_trusted: trusted,
        cidrs: vec![cidr.into()],
        created: String::new(),
        modified: String::new(),
    };
    vec![
        loc("hq", true, "10.0.0.0/8"),
        loc("cafe", false, "192.0.2.0/24"),
        loc("lab", true, "2001:db8::/32"),
    ]
}

pub(crate) fn app(id: &str, tier: Option<&str>) -> Application {
    let mut attrs = BTreeMap::new();
    if let Some(t) = tier {
        attrs.insert(
            "Rollout".to_string(),
            BTreeMap::from([("Tier".to_string(), AttributeValue::Text(t.into()))]),
        );
    }
    Application {
        app_id: id.into(),
        display_name: id.into(),
        public_client: true,
        custom_security_attributes: attrs,
        ..Default::default()
    }
}

pub(crate) fn portal() -> Application {
    app(SECURITY_INFO_APP.app_id, None)
}

pub(crate) fn subset<T: Clone + std::fmt::Debug>(items: Vec<T>) -> impl Strategy<Value = Vec<T>> {
    sparse(items, 0.5)
}

/// Each item kept with probability `p`.
pub(crate) fn sparse<T: Clone + std::fmt::Debug>(
    items: Vec<T>,
    p: f64,
) -> impl Strategy<Value = Vec<T>> {
    let n = items.len();
    proptest::collection::vec(prop::bool::weighted(p), n).prop_map(move |keep| {
        items
            .iter()
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|(x, _)| x.clone())
            .collect()
    })
}

pub(crate) fn ids(pool: fn(u128) -> Uuid, n: u128) -> impl Strategy<Value = Vec<Uuid>> {
    subset((0..n).map(pool).collect())
}

/// Exclusions are rarer than inclusions, so that policies apply often enough to matter.
pub(crate) fn few_ids(pool: fn(u128) -> Uuid, n: u128) -> impl Strategy<Value = Vec<Uuid>> {
    sparse((0..n).map(pool).collect(), 0.1)
}

pub(crate) fn op() -> impl Strategy<Value = Op> {
    select(vec![
        Op::Eq,
        Op::Ne,
        Op::Contains,
        Op::NotContains,
        Op::StartsWith,
        Op::NotStartsWith,
        Op::EndsWith,
        Op::NotEndsWith,
        Op::In,
        Op::NotIn,
    ])
}

pub(crate) fn test_rule(
    set: &'static str,
    names: Vec<&'static str>,
) -> impl Strategy<Value = Rule> {
    (
        select(names),
        op(),
        proptest::collection::vec(select(vec!["pilot", "passkeys", "SAW", "x y", ""]), 1..3),
    )
        .prop_map(move |(name, op, values)| {
            let values = if matches!(op, Op::In | Op::NotIn) {
                values.into_iter().map(String::from).collect()
            } else {
                values.into_iter().take(1).map(String::from).collect()
            };
            let attribute = if set == "device" {
                Attribute::Device(DeviceProperty::parse(name).expect("a device property"))
            } else {
                Attribute::Custom {
                    set: set.into(),
                    name: name.into(),
                }
            };
            Rule::Test {
                attribute,
                op,
                values,
            }
        })
}

pub(crate) fn rule(set: &'static str, names: Vec<&'static str>) -> impl Strategy<Value = Rule> {
    test_rule(set, names).prop_recursive(3, 8, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Rule::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Rule::Or(Box::new(a), Box::new(b))),
        ]
    })
}

pub(crate) fn mode_filter(rule: impl Strategy<Value = Rule>) -> impl Strategy<Value = ModeFilter> {
    (select(vec![FilterMode::Include, FilterMode::Exclude]), rule)
        .prop_map(|(mode, rule)| ModeFilter { mode, rule })
}

pub(crate) fn users() -> impl Strategy<Value = UserAssignment> {
    (
        (any::<bool>(), any::<bool>(), ids(user_id, USERS)),
        ids(group_id, GROUPS),
        subset(ROLES.to_vec()),
        few_ids(user_id, USERS),
        few_ids(group_id, GROUPS),
        sparse(ROLES.to_vec(), 0.1),
        proptest::option::weighted(0.2, (0..USERS, select(vec![-1i64, 1]))),
    )
        .prop_map(
            |((all, none, users), groups, roles, xu, xg, xr, temporary)| {
                let mut u = UserAssignment {
                    all,
                    none,
                    users,
                    groups,
                    roles,
                    exclude_users: xu,
                    exclude_groups: xg,
                    exclude_roles: xr,
                    excluded_until: temporary
                        .map(|(n, days)| (user_id(n), NOW + time::Duration::days(days)))
                        .into_iter()
                        .collect(),
                };
                // Someone must be included, as Graph requires.
                if !u.all && u.users.is_empty() && u.groups.is_empty() && u.roles.is_empty() {
                    u.none = true;
                }
                u
            },
        )
}

pub(crate) fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        1 => Just(Target::RegisterSecurityInfo),
        4 => (
            any::<bool>(),
            subset(APPS.iter().map(|a| a.to_string()).chain([SECURITY_INFO_APP.app_id.to_string()]).collect()),
            subset(APPS.iter().map(|a| a.to_string()).collect()),
            proptest::option::weighted(0.2, mode_filter(rule("Rollout", vec!["Tier", "Ring"]))),
        )
            .prop_map(|(all, include, exclude, filter)| {
                let include_filter = filter.as_ref().is_some_and(|f| f.mode == FilterMode::Include);
                let all = all || (include.is_empty() && !include_filter);
                Target::Resources { all, include, exclude, filter }
            }),
    ]
}

pub(crate) fn platforms() -> impl Strategy<Value = Option<PlatformCondition>> {
    let all = vec![
        Platform::Android,
        Platform::Ios,
        Platform::Windows,
        Platform::MacOs,
        Platform::Linux,
    ];
    proptest::option::weighted(
        0.25,
        (any::<bool>(), subset(all.clone()), subset(all)).prop_map(|(every, include, exclude)| {
            PlatformCondition {
                all: every || include.is_empty(),
                include,
                exclude,
            }
        }),
    )
}

pub(crate) fn location_refs() -> impl Strategy<Value = Vec<LocationRef>> {
    subset(vec![
        LocationRef::All,
        LocationRef::AllTrusted,
        LocationRef::Named("hq".into()),
        LocationRef::Named("cafe".into()),
        LocationRef::Named("lab".into()),
    ])
}

pub(crate) fn grant() -> impl Strategy<Value = Grant> {
    let strength = proptest::option::of(select(vec![
        "00000000-0000-0000-0000-000000000002",
        "00000000-0000-0000-0000-000000000003",
        "00000000-0000-0000-0000-000000000004",
        "modelA",
        "modelB",
        "bootstrap",
        "passOnly",
    ]));
    let controls = sparse(
        vec![
            Control::Mfa,
            Control::CompliantDevice,
            Control::DomainJoinedDevice,
            Control::ApprovedApplication,
            Control::CompliantApplication,
        ],
        0.2,
    );
    prop_oneof![
        1 => Just(Grant { any_of: true, controls: vec![Control::Block], strength: None }),
        40 => (any::<bool>(), controls, strength).prop_map(|(any_of, mut controls, strength)| {
            if strength.is_some() {
                controls.retain(|c| *c != Control::Mfa);
            }
            if controls.is_empty() && strength.is_none() {
                controls.push(Control::Mfa);
            }
            Grant { any_of, controls, strength: strength.map(String::from) }
        }),
    ]
}

pub(crate) fn parsed_policy() -> impl Strategy<Value = ParsedPolicy> {
    (
        select(vec![
            PolicyState::Enabled,
            PolicyState::Enabled,
            PolicyState::Disabled,
            PolicyState::EnabledForReportingButNotEnforced,
        ]),
        users(),
        target(),
        platforms(),
        proptest::option::weighted(0.25, (location_refs(), location_refs())),
        proptest::option::weighted(
            0.25,
            subset(vec![
                ClientAppType::Browser,
                ClientAppType::MobileAppsAndDesktopClients,
            ]),
        ),
        proptest::option::weighted(
            0.2,
            mode_filter(rule(
                "device",
                vec!["extensionAttribute1", "isCompliant", "model", "trustType"],
            )),
        ),
        grant(),
    )
        .prop_map(
            |(state, users, target, platforms, locations, client_apps, device_filter, grant)| {
                let state = match (&target, state) {
                    // User actions cannot be report-only.
                    (
                        Target::RegisterSecurityInfo,
                        PolicyState::EnabledForReportingButNotEnforced,
                    ) => PolicyState::Enabled,
                    (_, s) => s,
                };
                ParsedPolicy {
                    state,
                    users,
                    target,
                    platforms,
                    locations: locations
                        .map(|(include, exclude)| LocationCondition { include, exclude }),
                    client_apps: client_apps.filter(|c| !c.is_empty()),
                    device_filter,
                    grant,
                }
            },
        )
}

pub(crate) fn policy(n: usize, p: &ParsedPolicy) -> Policy {
    let (conditions, grant) = to_graph(p);
    Policy {
        id: Uuid::from_u128(0x9000 + n as u128).to_string(),
        // Names repeat, so ties are broken by id.
        display_name: format!("Policy {}", n % 7),
        description: None,
        state: p.state,
        conditions,
        grant_controls: Some(grant),
        session_controls: None,
        created_date_time: None,
        modified_date_time: None,
    }
}

/// The Passkey (FIDO2) and TAP settings: on or off, targets, self-service, attestation, key
/// restrictions over the models strengths name (and one they do not), and sometimes a passkey
/// profile of their own.
pub(crate) fn methods_policy() -> impl Strategy<Value = (Fido2Configuration, TapConfiguration)> {
    let targets = || {
        (
            proptest::option::weighted(0.3, ids(group_id, GROUPS)),
            few_ids(group_id, GROUPS),
        )
            .prop_map(|(only, excluded)| {
                let include = match only {
                    Some(groups) => groups
                        .into_iter()
                        .map(|g| IncludeTarget::of(TargetId::Group(g)))
                        .collect(),
                    None => vec![IncludeTarget::all_users()],
                };
                (
                    include,
                    excluded
                        .into_iter()
                        .map(ExcludeTarget::group)
                        .collect::<Vec<_>>(),
                )
            })
    };
    let restrictions = || {
        (
            any::<bool>(),
            any::<bool>(),
            subset(vec![MODEL_A, MODEL_B, MODEL_C]),
        )
            .prop_map(|(is_enforced, allow, models)| KeyRestrictions {
                odata_type: None,
                is_enforced,
                enforcement_type: if allow {
                    EnforcementType::Allow
                } else {
                    EnforcementType::Block
                },
                aa_guids: models.into_iter().map(Uuid::from_u128).collect(),
            })
    };
    let profile = (
        select(vec![
            PasskeyTypes::BOTH,
            PasskeyTypes::DEVICE_BOUND,
            PasskeyTypes::SYNCED,
        ]),
        any::<bool>(),
        restrictions(),
    )
        .prop_map(|(types, attested, key_restrictions)| PasskeyProfile {
            odata_type: None,
            id: Uuid::from_u128(0x7000),
            name: "Profile".into(),
            passkey_types: types,
            attestation_enforcement: if attested {
                AttestationEnforcement::RegistrationOnly
            } else {
                AttestationEnforcement::Disabled
            },
            key_restrictions,
        });
    (
        (
            prop::bool::weighted(0.85),
            targets(),
            prop::bool::weighted(0.9),
            any::<bool>(),
            restrictions(),
        ),
        proptest::option::weighted(0.2, profile),
        (prop::bool::weighted(0.85), targets(), any::<bool>()),
    )
        .prop_map(
            |(
                (on, (include, exclude), self_service, attestation, key_restrictions),
                profile,
                (tap_on, (tap_include, tap_exclude), once),
            )| {
                let state = |on: bool| {
                    if on {
                        MethodState::Enabled
                    } else {
                        MethodState::Disabled
                    }
                };
                let mut fido2 = Fido2Configuration {
                    state: state(on),
                    include_targets: include,
                    exclude_targets: exclude,
                    is_self_service_registration_allowed: self_service,
                    is_attestation_enforced: attestation,
                    key_restrictions,
                    ..Default::default()
                };
                if let Some(p) = profile {
                    for t in &mut fido2.include_targets {
                        t.allowed_passkey_profiles = Some(vec![p.id]);
                    }
                    fido2.default_passkey_profile = Some(p.id);
                    fido2.passkey_profiles = vec![p];
                }
                assert_eq!(
                    fido2.validate(),
                    Ok(()),
                    "a valid configuration is generated"
                );
                let tap = TapConfiguration {
                    state: state(tap_on),
                    include_targets: tap_include,
                    exclude_targets: tap_exclude,
                    is_usable_once: once,
                    ..Default::default()
                };
                (fido2, tap)
            },
        )
}

pub(crate) fn held_passkeys(user: Uuid, held: &[(u128, bool)]) -> Vec<Passkey> {
    held.iter()
        .enumerate()
        .map(|(n, (model, attested))| Passkey {
            id: Uuid::from_u128(0x5000 + n as u128),
            user_id: user,
            credential_id: format!("cred{n}"),
            aaguid: Uuid::from_u128(*model),
            display_name: "key".into(),
            fmt: "packed".into(),
            attested: *attested,
            synced: n % 2 == 1,
            created_at: NOW,
            last_used_at: None,
            sign_count: 0,
            device: None,
            device_profile: None,
            flagged_clone: false,
            disabled: false,
        })
        .collect()
}

pub(crate) fn held_pass(user: Uuid, pass: Option<bool>) -> Option<TemporaryAccessPass> {
    pass.map(|once| TemporaryAccessPass {
        id: Uuid::from_u128(0x6000),
        user_id: user,
        created_at: NOW - time::Duration::minutes(5),
        start_at: NOW - time::Duration::minutes(5),
        lifetime_minutes: 60,
        is_usable_once: once,
        consumed_at: None,
    })
}

/// The passkeys registering could add, as the registration itself decides them: options that
/// ask for attestation when some ruleset enforces it, then the finish's own check, for every
/// model and kind an authenticator could bring — each as strengths would then see it.
pub(crate) fn could_register(m: MethodsPolicy<'_>, groups: &[Uuid], user: Uuid) -> Vec<UsedMethod> {
    let fresh = Session {
        id: Uuid::nil(),
        user_id: user,
        auth_time: NOW,
        methods: vec![AuthMethod::TemporaryAccessPass],
        expires_at: NOW + time::Duration::hours(1),
        passkey_aaguid: None,
        passkey_attested: false,
        credential_id: None,
        campaign_pending: false,
    };
    let Ok(plan) = may_start_registration(m.fido2, groups, &fresh, NOW) else {
        return vec![];
    };
    let mut out = vec![];
    for model in [MODEL_A, MODEL_B, MODEL_C, MODEL_D] {
        for synced in [false, true] {
            for attested in [false, true] {
                let facts = RegistrationFacts {
                    aaguid: Uuid::from_u128(model),
                    has_chain: plan.attestation_direct,
                    trusted: plan.attestation_direct,
                    aaguid_attested: plan.attestation_direct && attested,
                    self_attested: false,
                    synced,
                };
                if register_passkey(m.fido2, groups, &facts).is_ok() {
                    out.push(UsedMethod::passkey(
                        Some(facts.aaguid),
                        facts.aaguid_attested,
                    ));
                }
            }
        }
    }
    out
}

/// One sign-in's facts.
#[derive(Debug, Clone)]
pub(crate) struct Ask {
    pub(crate) user: u128,
    pub(crate) enabled: bool,
    pub(crate) groups: Vec<Uuid>,
    pub(crate) roles: Vec<DirectoryRole>,
    pub(crate) app: Option<(usize, Option<&'static str>)>,
    pub(crate) platform: Option<Platform>,
    pub(crate) ip: Option<IpAddr>,
    pub(crate) native: bool,
    pub(crate) device: Option<(bool, &'static str)>,
    pub(crate) used: Vec<UsedMethod>,
    /// Passkeys held: model and whether its AAGUID was attested.
    pub(crate) passkeys: Vec<(u128, bool)>,
    /// A pass held: whether it is one-time.
    pub(crate) pass: Option<bool>,
}

pub(crate) fn method() -> impl Strategy<Value = UsedMethod> {
    select(vec![
        UsedMethod::TAP,
        UsedMethod::passkey(Some(Uuid::from_u128(MODEL_A)), true),
        UsedMethod::passkey(Some(Uuid::from_u128(MODEL_B)), true),
        UsedMethod::passkey(Some(Uuid::from_u128(MODEL_B)), false),
        UsedMethod::passkey(None, false),
    ])
}

pub(crate) fn ask() -> impl Strategy<Value = Ask> {
    (
        (
            0..USERS,
            prop::bool::weighted(0.9),
            ids(group_id, GROUPS),
            subset(ROLES.to_vec()),
        ),
        proptest::option::of((
            0..APPS.len(),
            proptest::option::of(select(vec!["pilot", "passkeys"])),
        )),
        proptest::option::of(select(vec![
            Platform::Android,
            Platform::Ios,
            Platform::Windows,
            Platform::MacOs,
            Platform::Linux,
        ])),
        proptest::option::of(select(vec![
            "10.1.2.3".parse::<IpAddr>().unwrap(),
            "192.0.2.7".parse().unwrap(),
            "2001:db8::1".parse().unwrap(),
            "203.0.113.9".parse().unwrap(),
        ])),
        any::<bool>(),
        proptest::option::of((any::<bool>(), select(vec!["SAW", "laptop"]))),
        proptest::option::weighted(0.9, method()),
        (
            proptest::collection::vec(
                (select(vec![MODEL_A, MODEL_B, MODEL_C]), any::<bool>()),
                0..3,
            ),
            proptest::option::weighted(0.5, any::<bool>()),
        ),
    )
        .prop_map(
            |(
                (user, enabled, groups, roles),
                app,
                platform,
                ip,
                native,
                device,
                used,
                (passkeys, pass),
            )| {
                Ask {
                    user,
                    enabled,
                    groups,
                    roles,
                    app,
                    platform,
                    ip,
                    native,
                    device,
                    used: used.into_iter().collect(),
                    passkeys,
                    pass,
                }
            },
        )
}

pub(crate) fn device_of(d: Option<(bool, &'static str)>) -> Option<DeviceFacts> {
    d.map(|(compliant, tag)| DeviceFacts {
        values: [(
            DeviceProperty::parse("extensionAttribute1").expect("a device property"),
            tag.to_string(),
        )]
        .into(),
        is_compliant: compliant,
    })
}

pub(crate) fn a_user(n: u128, enabled: bool) -> User {
    User {
        id: user_id(n),
        user_principal_name: Upn::parse(&format!("u{n}@contoso.com")).unwrap(),
        display_name: format!("U{n}"),
        account_enabled: enabled,
        created_date_time: NOW,
    }
}

/// Per policy (by id): result, whether it applies, and its unmet controls.
pub(crate) fn by_id(
    set: &PolicySet,
    d: &portcullis_domain::access::AccessDecision,
) -> Vec<(String, AppliedResult, bool)> {
    let mut out: Vec<_> = d
        .evaluation
        .policies
        .iter()
        .map(|r| (set.policies()[r.index].id.clone(), r.result, r.applies))
        .collect();
    out.sort();
    out
}
