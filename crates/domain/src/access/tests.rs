use super::*;
use crate::conditional_access::set::PolicySet;
use crate::conditional_access::Policy;
use crate::directory::{Upn, SECURITY_INFO_APP};
use crate::strength::{Strength, BUILT_IN};
use serde_json::json;
use time::macros::datetime;

const PHISH: &str = "00000000-0000-0000-0000-000000000004";

fn user(enabled: bool) -> User {
    User {
        id: Uuid::from_u128(7),
        user_principal_name: Upn::parse("ada@contoso.com").unwrap(),
        display_name: "Ada".into(),
        account_enabled: enabled,
        created_date_time: datetime!(2026-11-01 0:00 UTC),
    }
}

fn app(id: &str) -> Application {
    Application {
        app_id: id.into(),
        display_name: id.into(),
        public_client: true,
        ..Default::default()
    }
}

fn policy(name: &str, target: serde_json::Value, grant: serde_json::Value) -> Policy {
    serde_json::from_value(json!({
        "id": name, "displayName": name, "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": target},
        "grantControls": grant,
    }))
    .unwrap()
}

fn phishing_resistant_everywhere() -> Policy {
    policy(
        "Phishing-resistant everywhere",
        json!({"includeApplications": ["All"]}),
        json!({"operator": "OR", "authenticationStrength": {"id": PHISH}}),
    )
}

fn phishing_resistant_to_register() -> Policy {
    policy(
        "Phishing-resistant to register",
        json!({"includeUserActions": ["urn:user:registersecurityinfo"]}),
        json!({"operator": "OR", "authenticationStrength": {"id": PHISH}}),
    )
}

fn strengths() -> Vec<Strength> {
    BUILT_IN.iter().map(|b| b.to_strength()).collect()
}

/// A custom strength of one combination, limited to `models` when given.
fn custom(id: &str, combination: &str, models: Option<Vec<Uuid>>) -> Strength {
    Strength {
        id: id.into(),
        display_name: id.into(),
        description: String::new(),
        built_in: false,
        allowed_combinations: vec![crate::strength::Combination::parse(combination).unwrap()],
        fido2_allowed_aaguids: models,
        fido2_configuration_id: None,
        created: String::new(),
        modified: String::new(),
    }
}

fn sign_in<'a>(
    u: &'a User,
    set: &'a PolicySet,
    st: &'a [Strength],
    used: &'a [UsedMethod],
) -> SignIn<'a> {
    SignIn {
        user: u,
        groups: &[],
        roles: &[],
        used,
        registered: used,
        config: Config {
            policies: set,
            strengths: st,
            locations: &[],
        },
        methods: methods_on(),
        platform: Some(Platform::Windows),
        ip: None,
        client_app_type: ClientAppType::Browser,
        device: None,
        now: datetime!(2026-11-29 12:00 UTC),
        detail: Detail::EveryReason,
    }
}

/// Passkeys (attestation enforced, as Graph's defaults have it) and passes on for everyone.
fn methods_on() -> MethodsPolicy<'static> {
    use crate::policy::{Fido2Configuration, MethodState, TapConfiguration};
    MethodsPolicy {
        fido2: Box::leak(Box::new(Fido2Configuration {
            state: MethodState::Enabled,
            ..Default::default()
        })),
        tap: Box::leak(Box::new(TapConfiguration {
            state: MethodState::Enabled,
            ..Default::default()
        })),
    }
}

fn portal() -> Application {
    app(SECURITY_INFO_APP.app_id)
}

/// Issue 13, point 10: a TAP-only user under a register-security-info policy that needs
/// more than a pass. What If asked the Security info app (where the pass skips the strength
/// for proof-up) and said "allow for registration"; the registration API refused. Both now
/// ask decide_registration: the app lets the pass through, the user action does not.
#[test]
fn a_registration_policy_that_needs_more_than_a_pass_is_not_skipped_for_it() {
    let (u, st) = (user(true), strengths());
    let set = PolicySet::new(vec![
        phishing_resistant_everywhere(),
        phishing_resistant_to_register(),
    ]);
    let tap = [UsedMethod::TAP];
    let s = sign_in(&u, &set, &st, &tap);
    let at_portal = decide(&s, &portal(), None);
    assert!(
        matches!(at_portal.verdict, Verdict::AllowForRegistration { .. }),
        "the pass opens Security info itself: {:?}",
        at_portal.verdict
    );
    let d = decide_registration(&s, &portal());
    assert!(!lets_through(&d.verdict), "{:?}", d.verdict);
    // Without the user-action policy the pass registers.
    let set = PolicySet::new(vec![phishing_resistant_everywhere()]);
    let s = sign_in(&u, &set, &st, &tap);
    assert!(lets_through(&decide_registration(&s, &portal()).verdict));
}

/// Issue 13, point 10: "register first" sent users to a registration that was then
/// refused, because only the Security info app was asked. With the user action refusing,
/// the only remedy is blocked by the requirement itself: a loop, with its remedy.
#[test]
fn register_first_is_a_loop_when_registering_is_refused() {
    let (u, st) = (user(true), strengths());
    let payroll = app("payroll");
    let tap = [UsedMethod::TAP];
    let open = PolicySet::new(vec![phishing_resistant_everywhere()]);
    assert!(matches!(
        decide(&sign_in(&u, &open, &st, &tap), &payroll, Some(&portal())).verdict,
        Verdict::RegisterFirst { .. }
    ));
    let closed = PolicySet::new(vec![
        phishing_resistant_everywhere(),
        phishing_resistant_to_register(),
    ]);
    match decide(&sign_in(&u, &closed, &st, &tap), &payroll, Some(&portal())).verdict {
        Verdict::Refused {
            is_loop: true,
            policy,
            remedy,
            ..
        } => {
            assert_eq!(policy, "Phishing-resistant everywhere");
            assert_eq!(
                remedy,
                crate::conditional_access::remedy::Remedy::RegisterInSecurityInfo
            );
        }
        other => panic!("expected a loop, got {other:?}"),
    }
}

/// "Register first" only where the methods policy lets the user add a passkey that then
/// lets them in: passkeys off, self-service off, or a strength naming a model the key
/// restrictions refuse (or whose AAGUID cannot be attested) each make it a loop, blamed on
/// the methods policy, with the remedy an administrator can apply.
#[test]
fn register_first_needs_a_passkey_the_methods_policy_accepts() {
    use crate::policy::fido2::{EnforcementType, AUTHENTICATOR_AAGUIDS};
    use crate::policy::{Fido2Configuration, KeyRestrictions, MethodState};
    let (u, mut st) = (user(true), strengths());
    st.push(custom(
        "authenticator",
        "fido2",
        Some(AUTHENTICATOR_AAGUIDS.to_vec()),
    ));
    let payroll = app("payroll");
    let tap = [UsedMethod::TAP];
    let everywhere = PolicySet::new(vec![phishing_resistant_everywhere()]);
    let authenticator = PolicySet::new(vec![policy(
        "Authenticator for payroll",
        json!({"includeApplications": ["payroll"]}),
        json!({"operator": "OR", "authenticationStrength": {"id": "authenticator"}}),
    )]);
    let on = methods_on();
    let verdict = |set: &PolicySet, fido2: Fido2Configuration| {
        let s = SignIn {
            methods: MethodsPolicy {
                fido2: &fido2,
                tap: on.tap,
            },
            ..sign_in(&u, set, &st, &tap)
        };
        decide(&s, &payroll, Some(&portal())).verdict
    };
    let not_registrable = |v: &Verdict| {
        matches!(
            v,
            Verdict::Refused {
                why: Refusal::NotRegistrable(_),
                remedy: Remedy::AllowAPasskeyThatMeets,
                is_loop: true,
                ..
            }
        )
    };
    assert!(matches!(
        verdict(&everywhere, on.fido2.clone()),
        Verdict::RegisterFirst { .. }
    ));
    // Found by the engine's property test: an allow list naming a model no strength
    // names still lets the user register one, which meets an unrestricted strength.
    let security_key = Uuid::from_u128(0xC);
    let only_that_key = Fido2Configuration {
        is_attestation_enforced: false,
        key_restrictions: KeyRestrictions {
            is_enforced: true,
            enforcement_type: EnforcementType::Allow,
            aa_guids: vec![security_key],
            ..Default::default()
        },
        ..on.fido2.clone()
    };
    assert!(matches!(
        verdict(&everywhere, only_that_key),
        Verdict::RegisterFirst { .. }
    ));
    for fido2 in [
        Fido2Configuration {
            state: MethodState::Disabled,
            ..on.fido2.clone()
        },
        Fido2Configuration {
            is_self_service_registration_allowed: false,
            ..on.fido2.clone()
        },
    ] {
        let v = verdict(&everywhere, fido2);
        assert!(not_registrable(&v), "{v:?}");
    }
    // A strength naming the Authenticator: met only if its model may register, attested.
    assert!(matches!(
        verdict(&authenticator, on.fido2.clone()),
        Verdict::RegisterFirst { .. }
    ));
    let blocked = Fido2Configuration {
        key_restrictions: KeyRestrictions {
            is_enforced: true,
            enforcement_type: EnforcementType::Block,
            aa_guids: AUTHENTICATOR_AAGUIDS.to_vec(),
            ..Default::default()
        },
        ..on.fido2.clone()
    };
    let unattested = Fido2Configuration {
        is_attestation_enforced: false,
        ..on.fido2.clone()
    };
    for fido2 in [blocked, unattested] {
        let v = verdict(&authenticator, fido2);
        assert!(not_registrable(&v), "{v:?}");
    }
}

/// Issue 13, point 10: two policies on one application each asking for a different
/// passkey model sent the user to step up in a circle (a session holds one method). The
/// step-up is offered only if one held passkey alone gets through both; here none does.
#[test]
fn two_policies_asking_for_different_passkeys_are_a_loop_not_a_step_up() {
    let (u, mut st) = (user(true), strengths());
    let (a, b) = (Uuid::from_u128(0xA), Uuid::from_u128(0xB));
    for (id, model) in [("onlyA", a), ("onlyB", b)] {
        st.push(custom(id, "fido2", Some(vec![model])));
    }
    let asks = |name: &str, strength: &str| {
        policy(
            name,
            json!({"includeApplications": ["payroll"]}),
            json!({"operator": "OR", "authenticationStrength": {"id": strength}}),
        )
    };
    let used = [UsedMethod::TAP];
    let held = [
        UsedMethod::TAP,
        UsedMethod::passkey(Some(a), true),
        UsedMethod::passkey(Some(b), true),
    ];
    let payroll = app("payroll");
    let two = PolicySet::new(vec![asks("Model A", "onlyA"), asks("Model B", "onlyB")]);
    let s = SignIn {
        registered: &held,
        ..sign_in(&u, &two, &st, &used)
    };
    match decide(&s, &payroll, None).verdict {
        Verdict::Refused {
            why: Refusal::NoSingleMethod(rs),
            is_loop: true,
            ..
        } => assert_eq!(rs.len(), 2),
        other => panic!("expected a loop, got {other:?}"),
    }
    // Both asking for model A: the passkey of model A completes the step-up.
    let same = PolicySet::new(vec![asks("Model A", "onlyA"), asks("Also A", "onlyA")]);
    let s = SignIn {
        registered: &held,
        ..sign_in(&u, &same, &st, &used)
    };
    assert!(matches!(
        decide(&s, &payroll, None).verdict,
        Verdict::StepUp { .. }
    ));
}

/// Found by the engine's property test: one policy met by the pass the user signed in
/// with, another asking for a passkey they hold. Stepping up with the passkey would leave
/// the first unmet (a session holds one method): not a step-up, a loop.
#[test]
fn a_step_up_that_would_unmeet_another_policy_is_a_loop() {
    let (u, mut st) = (user(true), strengths());
    st.push(custom("passOnly", "temporaryAccessPassOneTime", None));
    let pass_only = policy(
        "Pass only",
        json!({"includeApplications": ["All"]}),
        json!({"operator": "OR", "authenticationStrength": {"id": "passOnly"}}),
    );
    let set = PolicySet::new(vec![phishing_resistant_everywhere(), pass_only]);
    let used = [UsedMethod::TAP];
    let held = [UsedMethod::TAP, UsedMethod::passkey(None, false)];
    let s = SignIn {
        registered: &held,
        ..sign_in(&u, &set, &st, &used)
    };
    match decide(&s, &app("payroll"), None).verdict {
        Verdict::Refused { is_loop: true, .. } => {}
        other => panic!("expected a loop, got {other:?}"),
    }
    // Without the pass-only policy, the passkey completes the step-up.
    let set = PolicySet::new(vec![phishing_resistant_everywhere()]);
    let s = SignIn {
        registered: &held,
        ..sign_in(&u, &set, &st, &used)
    };
    assert!(matches!(
        decide(&s, &app("payroll"), None).verdict,
        Verdict::StepUp { .. }
    ));
}

/// R48 (source 000): a strength requiring a passkey in the Authenticator on All
/// resources leaves only Authenticator passkeys worth registering: one of another model
/// — or an Authenticator one whose AAGUID is only self-reported — would lead to the loop
/// page at the next sign-in.
#[test]
fn r48_only_passkeys_that_would_sign_in_are_worth_registering() {
    let (u, mut st) = (user(true), strengths());
    let authn = Uuid::parse_str("90a3ccdf-635c-4729-a248-9b709135078f").unwrap();
    st.push(custom("pia", "fido2", Some(vec![authn])));
    let everywhere = policy(
        "Authenticator everywhere",
        json!({"includeApplications": ["All"]}),
        json!({"operator": "OR", "authenticationStrength": {"id": "pia"}}),
    );
    let set = PolicySet::new(vec![everywhere]);
    let tap = [UsedMethod::TAP];
    let s = sign_in(&u, &set, &st, &tap);
    assert_eq!(
        passkey_need(&s, &portal()),
        PasskeyNeed::Models(vec![authn])
    );
    assert!(passkey_suffices(&s, &portal(), UsedMethod::passkey(Some(authn), true)).is_ok());
    assert!(passkey_suffices(&s, &portal(), UsedMethod::passkey(Some(authn), false)).is_err());
    assert!(passkey_suffices(
        &s,
        &portal(),
        UsedMethod::passkey(Some(Uuid::from_u128(1)), true)
    )
    .is_err());
    // Phishing-resistant MFA: any passkey will do.
    let set = PolicySet::new(vec![phishing_resistant_everywhere()]);
    let s = sign_in(&u, &set, &st, &tap);
    assert_eq!(passkey_need(&s, &portal()), PasskeyNeed::Any);
    // A strength no passkey meets (passes only): none is worth registering.
    st.push(Strength {
        id: "passOnly".into(),
        display_name: "Passes only".into(),
        allowed_combinations: vec![crate::strength::Combination::parse(
            "temporaryAccessPassOneTime",
        )
        .unwrap()],
        fido2_allowed_aaguids: None,
        ..st[st.len() - 1].clone()
    });
    let set = PolicySet::new(vec![policy(
        "Passes only",
        json!({"includeApplications": ["All"]}),
        json!({"operator": "OR", "authenticationStrength": {"id": "passOnly"}}),
    )]);
    let s = sign_in(&u, &set, &st, &tap);
    assert!(matches!(
        passkey_need(&s, &portal()),
        PasskeyNeed::NoneCan(_)
    ));
}

/// Issue 13, point 10: What If never checked whether the account is enabled. Every
/// question goes through decide, which refuses a disabled account whatever the policies.
#[test]
fn a_disabled_account_is_refused_by_every_question() {
    let (u, st) = (user(false), strengths());
    let none = PolicySet::new(vec![]);
    let passkey = [UsedMethod::passkey(None, false)];
    let s = sign_in(&u, &none, &st, &passkey);
    for d in [
        decide(&s, &app("payroll"), Some(&portal())),
        decide_registration(&s, &portal()),
    ] {
        assert!(d.verdict == Verdict::account_disabled(), "{:?}", d.verdict);
    }
}

/// What If lists every failing condition of every policy (Entra's names only the first);
/// the results and the outcome are the sign-in's.
#[test]
fn every_reason_is_listed_and_changes_nothing_else() {
    let (u, st) = (user(true), strengths());
    let mut p = policy(
        "Others on Android",
        json!({"includeApplications": ["other"]}),
        json!({"operator": "OR", "builtInControls": ["block"]}),
    );
    p.conditions.users.include_users = vec![Uuid::from_u128(99).to_string()];
    p.conditions.platforms = Some(crate::conditional_access::Platforms {
        include_platforms: vec!["android".into()],
        exclude_platforms: vec![],
    });
    let set = PolicySet::new(vec![p, phishing_resistant_everywhere()]);
    let passkey = [UsedMethod::passkey(None, false)];
    let every = sign_in(&u, &set, &st, &passkey);
    let first = SignIn {
        detail: Detail::FirstReason,
        ..every
    };
    let payroll = app("payroll");
    let (a, b) = (
        decide(&every, &payroll, None),
        decide(&first, &payroll, None),
    );
    assert_eq!(a.verdict, b.verdict);
    assert_eq!(a.evaluation.outcome, b.evaluation.outcome);
    let reasons = |d: &AccessDecision| -> Vec<Vec<&'static str>> {
        d.evaluation
            .policies
            .iter()
            .map(|r| r.not_applied_because.list())
            .collect()
    };
    assert_eq!(
        reasons(&a),
        vec![vec!["users", "application", "devicePlatform"], vec![]]
    );
    assert_eq!(reasons(&b), vec![vec!["users"], vec![]]);
}

/// Found by the engine's property test: signed in to Security info with a pass, holding a
/// passkey that meets the All-resources strength, while the "register security info" user
/// action accepts only a pass. Stepping up with the passkey would open Security info and
/// then refuse the registration: Security info keeps the pass (proof-up), as registering does.
#[test]
fn a_step_up_at_security_info_that_could_not_register_keeps_the_pass() {
    let (u, mut st) = (user(true), strengths());
    st.push(custom("passOnly", "temporaryAccessPassOneTime", None));
    let register_with_a_pass = policy(
        "Register with a pass",
        json!({"includeUserActions": ["urn:user:registersecurityinfo"]}),
        json!({"operator": "OR", "authenticationStrength": {"id": "passOnly"}}),
    );
    let set = PolicySet::new(vec![phishing_resistant_everywhere(), register_with_a_pass]);
    let used = [UsedMethod::TAP];
    let held = [UsedMethod::TAP, UsedMethod::passkey(None, false)];
    let s = SignIn {
        registered: &held,
        ..sign_in(&u, &set, &st, &used)
    };
    let v = decide(&s, &portal(), None).verdict;
    assert!(matches!(v, Verdict::AllowForRegistration { .. }), "{v:?}");
    assert!(lets_through(&decide_registration(&s, &portal()).verdict));
}
