//! R55: the registration campaign's parse, decision and snooze.

use super::*;
use crate::policy::fido2::{EnforcementType, KeyRestrictions};
use crate::policy::{ExcludeTarget, MethodState};
use time::macros::datetime;

const NOW: Timestamp = datetime!(2026-06-01 12:00 UTC);
const YUBIKEY: Uuid = uuid::uuid!("2fc0579f-8113-47ea-b116-bb5a8db9202a");
const USER: Uuid = uuid::uuid!("00000000-0000-0000-0000-0000000000aa");
const PILOTS: Uuid = uuid::uuid!("00000000-0000-0000-0000-0000000000b1");
const EXEMPT: Uuid = uuid::uuid!("00000000-0000-0000-0000-0000000000b2");

fn fido2() -> Fido2Configuration {
    crate::test_support::fido2_for_everyone()
}

fn passkey(aaguid: Uuid) -> Passkey {
    Passkey {
        id: Uuid::nil(),
        ..crate::test_support::passkey_of(USER, aaguid, NOW)
    }
}

fn campaign(patch: Value) -> RegistrationCampaign {
    RegistrationCampaign::default()
        .patched(&patch)
        .expect("valid campaign")
}

fn running() -> RegistrationCampaign {
    campaign(json!({"state": "enabled", "snoozeDurationInDays": 2,
        "includeTargets": [{"id": "all_users", "targetType": "group", "targetedAuthenticationMethod": "fido2"}]}))
}

fn facts<'a>(
    member_of: &'a [Uuid],
    passkeys: &'a [Passkey],
    progress: Progress,
) -> CampaignFacts<'a> {
    CampaignFacts {
        user: USER,
        member_of,
        passkeys,
        progress,
    }
}

fn nudge(
    c: &RegistrationCampaign,
    member_of: &[Uuid],
    passkeys: &[Passkey],
    progress: Progress,
) -> Nudge {
    decide(c, &fido2(), &facts(member_of, passkeys, progress), NOW)
}

#[test]
fn r55_parses_graph_shapes_in_any_casing_and_round_trips() {
    let c = campaign(json!({
        "@odata.type": "#microsoft.graph.authenticationMethodsRegistrationCampaign",
        "state": "Enabled", "snoozeDurationInDays": 14, "enforceRegistrationAfterAllowedSnoozes": true,
        "includeTargets": [
            {"@odata.type": "#microsoft.graph.authenticationMethodsRegistrationCampaignIncludeTarget",
             "id": PILOTS.to_string(), "targetType": "group", "targetedAuthenticationMethod": "Fido2"},
            {"id": USER.to_string(), "targetType": "user", "targetedAuthenticationMethod": "MICROSOFTAUTHENTICATOR"}],
        "excludeTargets": [{"id": EXEMPT.to_string(), "targetType": "group"}]}));
    assert_eq!(c.state, CampaignState::Enabled);
    assert_eq!(c.snooze_duration_in_days, 14);
    assert!(c.enforce_registration_after_allowed_snoozes);
    assert_eq!(
        c.include_targets[0],
        CampaignInclude {
            who: Who::Group(PILOTS),
            method: TargetedMethod::Fido2
        }
    );
    assert_eq!(
        c.include_targets[1],
        CampaignInclude {
            who: Who::User(USER),
            method: TargetedMethod::MicrosoftAuthenticator
        }
    );
    assert_eq!(c.exclude_targets, vec![Who::Group(EXEMPT)]);
    assert_eq!(
        RegistrationCampaign::default().patched(&c.to_json()),
        Ok(c.clone())
    );
    // A PATCH of one field keeps the others.
    let only_state = c.patched(&json!({"state": "disabled"})).expect("patch");
    assert_eq!(only_state.state, CampaignState::Disabled);
    assert_eq!(only_state.include_targets, c.include_targets);
}

#[test]
fn r55_refuses_bad_campaigns_naming_the_field() {
    for (bad, field) in [
        (json!({"state": "on"}), "state"),
        (json!({"snoozeDurationInDays": 15}), "snoozeDurationInDays"),
        (json!({"snoozeDurationInDays": -1}), "snoozeDurationInDays"),
        (json!({"snoozeDurationInDays": "2"}), "snoozeDuration"),
        (
            json!({"includeTargets": [{"id": "nobody", "targetType": "group"}]}),
            "includeTargets",
        ),
        (
            json!({"includeTargets": [{"id": "all_users", "targetType": "user"}]}),
            "includeTargets",
        ),
        (
            json!({"includeTargets": [{"id": "all_users", "targetedAuthenticationMethod": "sms"}]}),
            "sms",
        ),
        (
            json!({"includeTargets": [{"id": PILOTS.to_string()}, {"id": PILOTS.to_string()}]}),
            "more than once",
        ),
        (
            json!({"excludeTargets": [{"id": "all_users", "targetType": "group"}]}),
            "excludeTargets",
        ),
        (
            json!({"excludeTargets": [{"id": PILOTS.to_string(), "targetedAuthenticationMethod": "fido2"}]}),
            "excludeTargets",
        ),
        (json!({"snoozeDays": 1}), "snoozeDays"),
    ] {
        let e = RegistrationCampaign::default()
            .patched(&bad)
            .expect_err("refused");
        assert!(e.to_string().contains(field), "{bad}: {e}");
    }
}

#[test]
fn r55_default_and_disabled_campaigns_ask_nobody() {
    assert_eq!(
        nudge(
            &RegistrationCampaign::default(),
            &[],
            &[],
            Progress::default()
        ),
        Nudge::Off
    );
    let off = running()
        .patched(&json!({"state": "disabled"}))
        .expect("patch");
    assert_eq!(nudge(&off, &[], &[], Progress::default()), Nudge::Off);
    let default = running()
        .patched(&json!({"state": "default"}))
        .expect("patch");
    assert_eq!(nudge(&default, &[], &[], Progress::default()), Nudge::Off);
}

#[test]
fn r55_a_targeted_user_without_a_passkey_is_interrupted() {
    assert_eq!(
        nudge(&running(), &[], &[], Progress::default()),
        Nudge::Interrupt {
            method: TargetedMethod::Fido2,
            snoozes_left: SnoozesLeft::Unlimited
        }
    );
}

#[test]
fn r55_targets_by_group_and_by_user_and_exclusion_wins() {
    let c = campaign(json!({"state": "enabled",
        "includeTargets": [{"id": PILOTS.to_string(), "targetType": "group", "targetedAuthenticationMethod": "fido2"}],
        "excludeTargets": [{"id": EXEMPT.to_string(), "targetType": "group"}]}));
    assert_eq!(nudge(&c, &[], &[], Progress::default()), Nudge::NotTargeted);
    assert!(nudge(&c, &[PILOTS], &[], Progress::default()).interrupts());
    assert_eq!(
        nudge(&c, &[PILOTS, EXEMPT], &[], Progress::default()),
        Nudge::Excluded(Who::Group(EXEMPT))
    );
    let by_user = campaign(json!({"state": "enabled",
        "includeTargets": [{"id": USER.to_string(), "targetType": "user", "targetedAuthenticationMethod": "fido2"}]}));
    assert!(nudge(&by_user, &[], &[], Progress::default()).interrupts());
    let user_excluded = by_user
        .patched(&json!({"excludeTargets": [{"id": USER.to_string(), "targetType": "user"}]}))
        .expect("patch");
    assert_eq!(
        nudge(&user_excluded, &[], &[], Progress::default()),
        Nudge::Excluded(Who::User(USER))
    );
}

#[test]
fn r55_only_a_usable_passkey_of_the_targeted_kind_satisfies_it() {
    assert_eq!(
        nudge(&running(), &[], &[passkey(YUBIKEY)], Progress::default()),
        Nudge::Registered
    );
    // A disabled passkey (R26) signs nobody in, so it does not count.
    let disabled = Passkey {
        disabled: true,
        ..passkey(YUBIKEY)
    };
    assert!(nudge(&running(), &[], &[disabled], Progress::default()).interrupts());
    // The Authenticator target wants a passkey in the Authenticator.
    let app = campaign(json!({"state": "enabled",
        "includeTargets": [{"id": "all_users", "targetType": "group", "targetedAuthenticationMethod": "microsoftAuthenticator"}]}));
    assert_eq!(
        nudge(&app, &[], &[passkey(YUBIKEY)], Progress::default()),
        Nudge::Interrupt {
            method: TargetedMethod::MicrosoftAuthenticator,
            snoozes_left: SnoozesLeft::Unlimited
        }
    );
    assert_eq!(
        nudge(
            &app,
            &[],
            &[passkey(AUTHENTICATOR_AAGUIDS[0])],
            Progress::default()
        ),
        Nudge::Registered
    );
}

#[test]
fn r55_users_who_could_not_register_are_not_sent_round_in_a_loop() {
    let f = facts(&[], &[], Progress::default());
    let disabled = Fido2Configuration {
        state: MethodState::Disabled,
        ..fido2()
    };
    assert_eq!(
        decide(&running(), &disabled, &f, NOW),
        Nudge::CannotRegister(PasskeyRefusal::MethodDisabled)
    );
    let excluded = Fido2Configuration {
        exclude_targets: vec![ExcludeTarget::group(PILOTS)],
        ..fido2()
    };
    let f_pilot = facts(&[PILOTS], &[], Progress::default());
    assert!(matches!(
        decide(&running(), &excluded, &f_pilot, NOW),
        Nudge::CannotRegister(_)
    ));
    let no_self_service = Fido2Configuration {
        is_self_service_registration_allowed: false,
        ..fido2()
    };
    assert_eq!(
        decide(&running(), &no_self_service, &f, NOW),
        Nudge::CannotRegister(PasskeyRefusal::SelfServiceDisabled)
    );
    // Key restrictions that allow only a security key make the Authenticator unreachable.
    let keys_only = Fido2Configuration {
        key_restrictions: KeyRestrictions {
            is_enforced: true,
            enforcement_type: EnforcementType::Allow,
            aa_guids: vec![YUBIKEY],
            ..Default::default()
        },
        ..fido2()
    };
    let app = campaign(json!({"state": "enabled",
        "includeTargets": [{"id": "all_users", "targetedAuthenticationMethod": "microsoftAuthenticator"}]}));
    assert!(matches!(
        decide(&app, &keys_only, &f, NOW),
        Nudge::CannotRegister(PasskeyRefusal::KeyRestricted { .. })
    ));
    assert!(decide(&running(), &keys_only, &f, NOW).interrupts());
}

#[test]
fn r55_a_snooze_lasts_the_configured_days() {
    let c = running();
    let first = nudge(&c, &[], &[], Progress::default());
    let p = snooze(&c, &first, Progress::default(), NOW).expect("snoozed");
    assert_eq!(
        p,
        Progress {
            snoozes: 1,
            snoozed_until: Some(NOW + time::Duration::days(2))
        }
    );
    let f = facts(&[], &[], p);
    assert_eq!(
        decide(&c, &fido2(), &f, NOW + time::Duration::days(1)),
        Nudge::Snoozed {
            until: NOW + time::Duration::days(2)
        }
    );
    assert!(decide(&c, &fido2(), &f, NOW + time::Duration::days(2)).interrupts());
    // 0 days: asked again at the very next sign-in.
    let every = c
        .patched(&json!({"snoozeDurationInDays": 0}))
        .expect("patch");
    let p0 = snooze(&every, &first, Progress::default(), NOW).expect("snoozed");
    assert!(decide(&every, &fido2(), &facts(&[], &[], p0), NOW).interrupts());
}

#[test]
fn r55_after_the_allowed_snoozes_registration_is_required() {
    let c = running()
        .patched(&json!({"enforceRegistrationAfterAllowedSnoozes": true}))
        .expect("patch");
    let mut p = Progress::default();
    for left in (1..=ALLOWED_SNOOZES).rev() {
        let n = nudge(&c, &[], &[], p);
        assert_eq!(
            n,
            Nudge::Interrupt {
                method: TargetedMethod::Fido2,
                snoozes_left: SnoozesLeft::Some(left)
            }
        );
        p = snooze(&c, &n, p, NOW).expect("snoozed");
        // Time passes beyond the snooze.
        p.snoozed_until = Some(NOW);
    }
    let forced = nudge(&c, &[], &[], p);
    assert_eq!(
        forced,
        Nudge::Interrupt {
            method: TargetedMethod::Fido2,
            snoozes_left: SnoozesLeft::None
        }
    );
    assert_eq!(forced.code(), "registrationRequired");
    assert_eq!(
        snooze(&c, &forced, p, NOW),
        Err(SnoozeRefusal::RegistrationRequired)
    );
    // The last snooze lasts its days like the others; registration is required after it.
    let last_snooze = Progress {
        snoozed_until: Some(NOW + time::Duration::days(2)),
        ..p
    };
    assert_eq!(
        nudge(&c, &[], &[], last_snooze),
        Nudge::Snoozed {
            until: NOW + time::Duration::days(2)
        }
    );
    // Registering ends it.
    assert_eq!(nudge(&c, &[], &[passkey(YUBIKEY)], p), Nudge::Registered);
}

#[test]
fn r55_nothing_to_snooze_when_nothing_is_asked() {
    let c = running();
    for n in [
        Nudge::Off,
        Nudge::Registered,
        Nudge::NotTargeted,
        Nudge::Snoozed { until: NOW },
    ] {
        assert_eq!(
            snooze(&c, &n, Progress::default(), NOW),
            Err(SnoozeRefusal::NotAsked)
        );
    }
}

/// R55: a session the campaign interrupted is held up on its way to any application but
/// the places a passkey is registered; an answered one is held up nowhere.
#[test]
fn r55_a_pending_session_is_held_up_everywhere_but_where_passkeys_are_registered() {
    let session = |pending: bool| crate::session::Session {
        id: Uuid::nil(),
        user_id: USER,
        auth_time: NOW,
        methods: vec![crate::session::AuthMethod::TemporaryAccessPass],
        expires_at: NOW + time::Duration::hours(1),
        passkey_aaguid: None,
        passkey_attested: false,
        credential_id: None,
        campaign_pending: pending,
    };
    let payroll = "6f0c0000-0000-0000-0000-000000000001";
    assert!(holds_up(&session(true), payroll));
    for app in crate::directory::FIRST_PARTY_APPS {
        assert!(!holds_up(&session(true), app.app_id), "{}", app.app_id);
        assert!(
            !holds_up(&session(true), &app.app_id.to_uppercase()),
            "{}",
            app.app_id
        );
    }
    assert!(!holds_up(&session(false), payroll));
}
