use super::super::{Applications, Conditions, GrantControls, Locations, Platforms, Policy, Users};
use super::*;
use crate::directory::{Upn, SECURITY_INFO_APP};
use crate::strength::BUILT_IN;
use serde_json::json;
use time::macros::datetime;

const NOW: Timestamp = datetime!(2026-11-21 12:00 UTC);
const PHISH: &str = "00000000-0000-0000-0000-000000000004";

fn user() -> User {
    User {
        id: Uuid::from_u128(7),
        user_principal_name: Upn::parse("ada@contoso.com").unwrap(),
        display_name: "Ada".into(),
        account_enabled: true,
        created_date_time: NOW,
    }
}

fn app(id: &str, approved: bool) -> Application {
    Application {
        app_id: id.into(),
        display_name: id.into(),
        public_client: true,
        approved_client_app: approved,
        ..Default::default()
    }
}

fn policy(name: &str, state: PolicyState, controls: &[&str], strength: Option<&str>) -> Policy {
    Policy {
        id: name.into(),
        display_name: name.into(),
        description: None,
        state,
        conditions: Conditions {
            users: Users {
                include_users: vec!["All".into()],
                ..Default::default()
            },
            applications: Applications {
                include_applications: vec!["All".into()],
                ..Default::default()
            },
            ..Default::default()
        },
        grant_controls: Some(GrantControls {
            operator: "OR".into(),
            built_in_controls: controls.iter().map(|c| c.to_string()).collect(),
            authentication_strength: strength.map(|s| json!({"id": s})),
            ..Default::default()
        }),
        session_controls: None,
        created_date_time: None,
        modified_date_time: None,
    }
}

fn signals<'a>(u: &'a User, a: &'a Application, methods: &'a [UsedMethod]) -> Signals<'a> {
    Signals {
        user: u,
        groups: &[],
        roles: &[],
        resource: Resource::Application(a),
        client: Some(a),
        platform: Some(Platform::Windows),
        ip: None,
        client_app_type: ClientAppType::Browser,
        device: None,
        methods,
        now: NOW,
    }
}

fn strengths() -> Vec<Strength> {
    BUILT_IN.iter().map(|b| b.to_strength()).collect()
}

const TAP: UsedMethod = UsedMethod::TAP;
const PASSKEY: UsedMethod = UsedMethod::passkey(None, false);

/// Roles are accepted by template id or by name when a policy is saved; either way they
/// match (the bug where role names were saved and never applied).
#[test]
fn roles_named_by_name_or_template_id_both_match() {
    use crate::directory::DirectoryRole;
    let (u, a, st) = (user(), app("payroll", false), strengths());
    let admin = [DirectoryRole::GlobalAdministrator];
    for spelling in [
        "Global Administrator",
        "62e90394-69f5-4237-9190-012177145e10",
    ] {
        let mut p = policy("Block", PolicyState::Enabled, &["block"], None);
        p.conditions.users.exclude_roles = vec![spelling.into()];
        let cfg = Config {
            policies: &PolicySet::new(vec![p]),
            strengths: &st,
            locations: &[],
        };
        let mut s = signals(&u, &a, &[]);
        s.roles = &admin;
        assert_eq!(evaluate(&cfg, &s).outcome, Outcome::Allow, "{spelling}");
        s.roles = &[];
        assert!(
            matches!(evaluate(&cfg, &s).outcome, Outcome::Block { .. }),
            "{spelling}"
        );
    }
}

#[test]
fn r41_a_strength_is_met_by_a_passkey_not_by_a_tap() {
    let (u, a, st) = (user(), app("payroll", false), strengths());
    let policies = [policy(
        "Phishing-resistant",
        PolicyState::Enabled,
        &[],
        Some(PHISH),
    )];
    let cfg = Config {
        policies: &PolicySet::new(policies.to_vec()),
        strengths: &st,
        locations: &[],
    };
    assert_eq!(
        evaluate(&cfg, &signals(&u, &a, &[PASSKEY])).outcome,
        Outcome::Allow
    );
    let e = evaluate(&cfg, &signals(&u, &a, &[TAP]));
    assert!(
        matches!(&e.outcome, Outcome::Unmet(v) if v[0].unmet == vec![Unmet::Strength { id: PHISH.into(), name: "Phishing resistant MFA".into() }]),
        "{e:?}"
    );
    assert_eq!(e.policies[0].result, AppliedResult::Failure);
}

#[test]
fn r41_block_wins_and_report_only_never_enforces() {
    let (u, a, st) = (user(), app("payroll", false), strengths());
    let policies = [
        policy(
            "Report block",
            PolicyState::EnabledForReportingButNotEnforced,
            &["block"],
            None,
        ),
        policy("Off", PolicyState::Disabled, &["block"], None),
    ];
    let cfg = Config {
        policies: &PolicySet::new(policies.to_vec()),
        strengths: &st,
        locations: &[],
    };
    let e = evaluate(&cfg, &signals(&u, &a, &[PASSKEY]));
    assert_eq!(e.outcome, Outcome::Allow);
    // Evaluated in name order: "Off", then "Report block".
    assert_eq!(
        (e.policies[0].result, e.policies[1].result),
        (AppliedResult::NotEnabled, AppliedResult::ReportOnlyFailure)
    );
    let policies = [
        policy("MFA", PolicyState::Enabled, &["mfa"], None),
        policy("Block", PolicyState::Enabled, &["block"], None),
    ];
    let cfg = Config {
        policies: &PolicySet::new(policies.to_vec()),
        strengths: &st,
        locations: &[],
    };
    assert_eq!(
        evaluate(&cfg, &signals(&u, &a, &[PASSKEY])).outcome,
        Outcome::Block {
            policy: "Block".into()
        }
    );
}

#[test]
fn r42_authenticator_cannot_satisfy_approved_app_a_compliant_device_can() {
    let (u, st) = (user(), strengths());
    let authn = Application {
        app_id: AUTHENTICATOR_APP.app_id.into(),
        ..app("x", true)
    };
    let mut p = policy(
        "Approved app",
        PolicyState::Enabled,
        &["approvedApplication", "compliantApplication"],
        None,
    );
    let cfg = Config {
        policies: &PolicySet::new(vec![p.clone()]),
        strengths: &st,
        locations: &[],
    };
    assert!(
        matches!(
            evaluate(&cfg, &signals(&u, &authn, &[TAP])).outcome,
            Outcome::Unmet(_)
        ),
        "even when flagged approved"
    );
    let approved = app("outlook", true);
    assert_eq!(
        evaluate(&cfg, &signals(&u, &approved, &[TAP])).outcome,
        Outcome::Allow
    );
    p.grant_controls
        .as_mut()
        .unwrap()
        .built_in_controls
        .push("compliantDevice".into());
    let cfg = Config {
        policies: &PolicySet::new(vec![p.clone()]),
        strengths: &st,
        locations: &[],
    };
    let device = DeviceFacts {
        is_compliant: true,
        ..Default::default()
    };
    let compliant = Signals {
        device: Some(&device),
        ..signals(&u, &authn, &[TAP])
    };
    assert_eq!(
        evaluate(&cfg, &compliant).outcome,
        Outcome::Allow,
        "compliant device as an OR alternative"
    );
}

/// A device filter: include mode applies the policy to matching devices only; exclude mode
/// to every other device, including a sign-in that proved none (R40, graph-api.md §5.3).
#[test]
fn device_filters_include_or_exclude_and_an_unknown_device_is_null() {
    let (u, st) = (user(), strengths());
    let a = app("portal", false);
    let saw = DeviceFacts {
        values: [(
            crate::device::DeviceProperty::parse("extensionAttribute1").unwrap(),
            "SAW".to_string(),
        )]
        .into(),
        is_compliant: true,
    };
    let laptop = DeviceFacts {
        values: [(
            crate::device::DeviceProperty::parse("extensionAttribute1").unwrap(),
            "laptop".to_string(),
        )]
        .into(),
        is_compliant: true,
    };
    let on = |mode: &str, device: Option<&DeviceFacts>| {
        let mut p = policy(
            "Admins on SAWs only",
            PolicyState::Enabled,
            &["block"],
            None,
        );
        p.conditions.devices = Some(super::super::Devices {
            device_filter: Some(super::super::Filter {
                mode: mode.into(),
                rule: r#"device.extensionAttribute1 -eq "SAW""#.into(),
            }),
        });
        let e = evaluate(
            &Config {
                policies: &PolicySet::new(vec![p.clone()]),
                strengths: &st,
                locations: &[],
            },
            &Signals {
                device,
                ..signals(&u, &a, &[])
            },
        );
        (
            e.policies[0].not_applied_because.list(),
            matches!(e.outcome, Outcome::Block { .. }),
        )
    };
    assert_eq!(
        on("exclude", Some(&saw)),
        (vec!["devices"], false),
        "the SAW is excluded from the block"
    );
    assert_eq!(on("exclude", Some(&laptop)), (vec![], true));
    assert_eq!(
        on("exclude", None),
        (vec![], true),
        "no proved device: the rule is false, so not excluded"
    );
    assert_eq!(on("include", Some(&saw)), (vec![], true));
    assert_eq!(on("include", Some(&laptop)), (vec!["devices"], false));
    assert_eq!(on("include", None), (vec!["devices"], false));
}

#[test]
fn assignments_users_time_bound_exclusions_platforms_locations_filters_and_user_actions() {
    let (u, st) = (user(), strengths());
    let a = app("payroll", false);
    let mut p = policy("Desktop", PolicyState::Enabled, &["block"], None);
    p.conditions.platforms = Some(Platforms {
        include_platforms: vec!["all".into()],
        exclude_platforms: vec!["android".into(), "iOS".into()],
    });
    let cfg = |p: &Policy| {
        evaluate(
            &Config {
                policies: &PolicySet::new(vec![p.clone()]),
                strengths: &st,
                locations: &locs(),
            },
            &signals(&u, &a, &[]),
        )
    };
    fn locs() -> Vec<NamedLocation> {
        vec![NamedLocation {
            id: "hq".into(),
            display_name: "HQ".into(),
            is_trusted: true,
            cidrs: vec!["10.1.0.0/16".into()],
            created: String::new(),
            modified: String::new(),
        }]
    }
    assert!(cfg(&p).policies[0].applies, "windows is not excluded");
    let mobile = Signals {
        platform: Some(Platform::Ios),
        ..signals(&u, &a, &[])
    };
    let e = evaluate(
        &Config {
            policies: &PolicySet::new(vec![p.clone()]),
            strengths: &st,
            locations: &[],
        },
        &mobile,
    );
    assert_eq!(
        e.policies[0].not_applied_because.list(),
        vec!["devicePlatform"]
    );

    // A time-bound exclusion holds until its end, then the policy applies by itself.
    p.conditions.users.temporary_exclusions = vec![super::super::TemporaryExclusion {
        user_id: u.id.to_string(),
        until: "2026-11-22T00:00:00Z".into(),
    }];
    assert_eq!(
        cfg(&p).policies[0].not_applied_because.list(),
        vec!["users"]
    );
    let later = Signals {
        now: datetime!(2026-11-22 00:00:01 UTC),
        ..signals(&u, &a, &[])
    };
    assert!(
        evaluate(
            &Config {
                policies: &PolicySet::new(vec![p.clone()]),
                strengths: &st,
                locations: &[],
            },
            &later
        )
        .policies[0]
            .applies
    );

    // Locations: excluded when inside the trusted range.
    let mut q = policy("Outside", PolicyState::Enabled, &["block"], None);
    q.conditions.locations = Some(Locations {
        include_locations: vec!["All".into()],
        exclude_locations: vec!["AllTrusted".into()],
    });
    let inside = Signals {
        ip: Some("10.1.2.3".parse().unwrap()),
        ..signals(&u, &a, &[])
    };
    let e = evaluate(
        &Config {
            policies: &PolicySet::new(vec![q.clone()]),
            strengths: &st,
            locations: &locs(),
        },
        &inside,
    );
    assert_eq!(e.policies[0].not_applied_because.list(), vec!["location"]);
    assert!(
        cfg(&q).policies[0].applies,
        "no address: not in a trusted location"
    );

    // Application filter over custom security attributes.
    let mut f = policy("Tagged", PolicyState::Enabled, &["block"], None);
    f.conditions.applications = Applications {
        application_filter: Some(super::super::Filter {
            mode: "include".into(),
            rule: r#"CustomSecurityAttribute.Rollout_Tier -eq "strict""#.into(),
        }),
        include_applications: vec![],
        ..Default::default()
    };
    assert_eq!(
        cfg(&f).policies[0].not_applied_because.list(),
        vec!["application"]
    );
    let mut tagged = app("hr", false);
    tagged
        .custom_security_attributes
        .entry("Rollout".into())
        .or_default()
        .insert(
            "Tier".into(),
            crate::application::AttributeValue::Text("strict".into()),
        );
    assert!(
        evaluate(
            &Config {
                policies: &PolicySet::new(vec![f.clone()]),
                strengths: &st,
                locations: &[],
            },
            &signals(&u, &tagged, &[])
        )
        .policies[0]
            .applies
    );

    // User-action policies apply to registration only, resource policies to apps only.
    let mut r = policy("Register", PolicyState::Enabled, &["block"], None);
    r.conditions.applications = Applications {
        include_user_actions: vec![super::super::REGISTER_SECURITY_INFO.into()],
        ..Default::default()
    };
    assert_eq!(
        cfg(&r).policies[0].not_applied_because.list(),
        vec!["application"]
    );
    let si = app(SECURITY_INFO_APP.app_id, false);
    let registering = Signals {
        resource: Resource::RegisterSecurityInfo,
        ..signals(&u, &si, &[])
    };
    assert!(
        evaluate(
            &Config {
                policies: &PolicySet::new(vec![r.clone()]),
                strengths: &st,
                locations: &[],
            },
            &registering
        )
        .policies[0]
            .applies
    );
    let all = policy("All resources", PolicyState::Enabled, &["block"], None);
    assert_eq!(
        evaluate(
            &Config {
                policies: &PolicySet::new(vec![all.clone()]),
                strengths: &st,
                locations: &[],
            },
            &registering
        )
        .policies[0]
            .not_applied_because
            .list(),
        vec!["userActions"]
    );
}
