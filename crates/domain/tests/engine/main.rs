//! The decision engine, differentially (issue 13): generated tenants — users, groups, roles,
//! devices, named locations, strengths with AAGUIDs, 0–50 Conditional Access policies of every
//! kind and state, Passkey (FIDO2) and TAP settings with the passkeys and pass a user holds —
//! and generated sign-ins. Every question that two entry points both answer
//! must get one answer: sign-in and What If (which lists every reason), the sign-in to Security
//! info and the registration decision, the lock-out guard and sign-in, "register first" and the
//! registration it sends the user to, a step-up and the sign-in it asks for; decisions do not
//! depend on storage order; and every policy round-trips Graph JSON → typed → Graph JSON.

// A test crate: a failed assumption is a failed test (the product denies these, Cargo.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod dry_run;
mod tenant;

use tenant::*;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 10_000,
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn one_engine_answers_every_question_alike(
        parsed in proptest::collection::vec(parsed_policy(), 0..=50),
        ask in ask(),
        (fido2, tap) in methods_policy(),
    ) {
        // Graph JSON → typed → Graph JSON, unchanged.
        let policies: Vec<Policy> = parsed.iter().enumerate().map(|(n, p)| policy(n, p)).collect();
        for (p, typed) in policies.iter().zip(&parsed) {
            let json = serde_json::to_value(p).unwrap();
            let back: Policy = serde_json::from_value(json.clone()).unwrap();
            let again = parse(&back).map_err(|e| TestCaseError::fail(format!("{e}: {json}")))?;
            prop_assert_eq!(&again, typed);
            let (conditions, grant) = to_graph(&again);
            let rewritten = Policy { conditions, grant_controls: Some(grant), ..back };
            prop_assert_eq!(serde_json::to_value(&rewritten).unwrap(), json);
        }

        let (st, locs) = (strengths(), locations());
        let set = PolicySet::new(policies.clone());
        let mut reversed = policies.clone();
        reversed.reverse();
        let reordered = PolicySet::new(reversed);
        let config = |set| Config { policies: set, strengths: &st, locations: &locs };
        let user = a_user(ask.user, ask.enabled);
        let device = device_of(ask.device);
        let target = ask.app.map(|(i, tier)| app(APPS[i], tier));
        let portal = portal();
        let methods = MethodsPolicy { fido2: &fido2, tap: &tap };
        let passkeys = held_passkeys(user.id, &ask.passkeys);
        let pass = held_pass(user.id, ask.pass);
        let registered = usable_methods(methods, &ask.groups, &passkeys, pass.as_ref(), NOW);
        let sign_in = SignIn {
            user: &user,
            groups: &ask.groups,
            roles: &ask.roles,
            used: &ask.used,
            registered: &registered,
            config: config(&set),
            methods,
            platform: ask.platform,
            ip: ask.ip,
            client_app_type: if ask.native { ClientAppType::MobileAppsAndDesktopClients } else { ClientAppType::Browser },
            device: device.as_ref(),
            now: NOW,
            detail: Detail::FirstReason,
        };
        let what_if = SignIn { detail: Detail::EveryReason, ..sign_in };
        let ask_both = |s: &SignIn<'_>| match &target {
            Some(a) => decide(s, a, Some(&portal)),
            None => decide_registration(s, &portal),
        };

        // Sign-in (or the registration API) and What If: one verdict, one outcome, the same
        // result for every policy; What If's reasons include the sign-in's.
        let real = ask_both(&sign_in);
        let asked = ask_both(&what_if);
        prop_assert_eq!(&real.verdict, &asked.verdict);
        prop_assert_eq!(&real.evaluation.outcome, &asked.evaluation.outcome);
        for (r, w) in real.evaluation.policies.iter().zip(&asked.evaluation.policies) {
            prop_assert_eq!((r.index, r.result, r.applies), (w.index, w.result, w.applies));
            for reason in r.not_applied_because.list() {
                prop_assert!(w.not_applied_because.list().contains(&reason));
            }
        }

        // Storage order changes nothing.
        let other = ask_both(&SignIn { config: config(&reordered), ..sign_in });
        prop_assert_eq!(&real.verdict, &other.verdict);
        prop_assert_eq!(by_id(&set, &real), by_id(&reordered, &other));

        // A method is held for a step-up only if the methods policy lets it sign in now: a
        // passkey its key restrictions, targets and profiles let through, a pass its settings do.
        let usable = |m: &UsedMethod| {
            if m.is_pass() {
                let scope = targets::scope(&tap.include_targets, &tap.exclude_targets, &ask.groups);
                pass.as_ref().is_some_and(|p| decide_redeem(p, true, &tap, &scope, NOW).is_ok())
            } else {
                passkeys.iter().any(|p| {
                    Some(p.aaguid) == m.aaguid
                        && sign_in_usability(&fido2, &ask.groups, p).is_ok()
                })
            }
        };
        prop_assert!(registered.iter().all(usable));

        // Registering is let through only where signing in to Security info is.
        let registration = decide_registration(&sign_in, &portal);
        // A step-up to register names a held method with which registering then goes through.
        if let Verdict::StepUp { .. } = &registration.verdict {
            let completes = registered.iter().any(|m| {
                let once = [*m];
                let s = SignIn { used: &once, registered: &once, ..sign_in };
                lets_through(&decide_registration(&s, &portal).verdict)
            });
            prop_assert!(completes, "no held method completes the registration step-up: {:?}", registration.verdict);
        }
        if lets_through(&registration.verdict) {
            let browser = SignIn { client_app_type: ClientAppType::Browser, ..sign_in };
            prop_assert!(lets_through(&decide(&browser, &portal, None).verdict));
        }

        if let Some(a) = &target {
            // Whether signing in with each passkey registering could add would go through.
            let then_in: Vec<bool> = could_register(methods, &ask.groups, user.id)
                .into_iter()
                .map(|m| {
                    let once = [m];
                    let s = SignIn { used: &once, registered: &once, ..sign_in };
                    decide(&s, a, None).verdict == Verdict::Allow
                })
                .collect();
            match &real.verdict {
                // "Register first" sends the user to a registration that lets them in, where
                // the methods policy lets them add a passkey with which signing in then goes
                // through.
                Verdict::RegisterFirst { .. } => {
                    prop_assert!(lets_through(&registration.verdict), "{:?}", registration.verdict);
                    prop_assert!(
                        then_in.iter().any(|ok| *ok),
                        "register first, but no passkey the methods policy accepts lets the user in: {:?}",
                        real.verdict
                    );
                }
                // A loop blamed on the methods policy: no passkey it accepts would do.
                Verdict::Refused { why: Refusal::NotRegistrable(_), .. } => {
                    prop_assert!(!then_in.iter().any(|ok| *ok), "{:?}", real.verdict);
                }
                // A step-up names a method the user holds that meets what was unmet.
                Verdict::StepUp { .. } => {
                    let completes = registered.iter().any(|m| {
                        let once = [*m];
                        let s = SignIn { used: &once, ..sign_in };
                        decide(&s, a, None).verdict == Verdict::Allow && usable(m)
                    });
                    prop_assert!(completes, "no held method completes the step-up: {:?}", real.verdict);
                }
                _ => {}
            }
            // A disabled account is refused, whatever the policies say.
            if !ask.enabled {
                prop_assert!(!lets_through(&real.verdict));
            }
        }

        // The lock-out guard and sign-in agree on who is blocked from Security info: an
        // administrator is in when some platform, client type and device gets past every block.
        let admin = Admin {
            user: a_user(ask.user, true),
            groups: ask.groups.clone(),
            roles: vec![DirectoryRole::GlobalAdministrator],
            devices: device.iter().cloned().collect(),
        };
        let guard_in = !admins_still_in(&config(&set), methods, std::slice::from_ref(&admin), &portal, NOW).is_empty();
        let strongest = [UsedMethod::passkey(None, false), UsedMethod::TAP];
        let compliant = DeviceFacts { is_compliant: true, ..Default::default() };
        let devices: Vec<Option<&DeviceFacts>> =
            [None, Some(&compliant)].into_iter().chain(admin.devices.iter().map(Some)).collect();
        let mut sign_in_in = false;
        for d in &devices {
            for p in [Platform::Windows, Platform::MacOs, Platform::Linux, Platform::Ios, Platform::Android] {
                for t in [ClientAppType::Browser, ClientAppType::MobileAppsAndDesktopClients] {
                    let s = SignIn {
                        user: &admin.user,
                        groups: &admin.groups,
                        roles: &admin.roles,
                        used: &strongest,
                        registered: &strongest,
                        platform: Some(p),
                        ip: None,
                        client_app_type: t,
                        device: *d,
                        ..sign_in
                    };
                    let decided = decide(&s, &portal, None);
                    sign_in_in |= !matches!(decided.evaluation.outcome, Outcome::Block { .. });
                }
            }
        }
        prop_assert_eq!(guard_in, sign_in_in);
    }
}
