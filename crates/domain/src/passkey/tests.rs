use super::*;
use crate::policy::fido2::PasskeyProfile;
use crate::policy::{ExcludeTarget, IncludeTarget};
use crate::session::AuthMethod;
use time::macros::datetime;

const NOW: Timestamp = datetime!(2026-06-01 12:00 UTC);
const CHROMIUM: Uuid = uuid::uuid!("01020304-0506-0708-0102-030405060708");

fn cfg() -> Fido2Configuration {
    crate::test_support::fido2_for_everyone()
}

fn facts(aaguid: Uuid) -> RegistrationFacts {
    RegistrationFacts {
        aaguid,
        has_chain: false,
        trusted: false,
        aaguid_attested: false,
        self_attested: false,
        synced: false,
    }
}

fn session(methods: Vec<AuthMethod>, age_min: i64) -> Session {
    Session {
        id: Uuid::nil(),
        user_id: Uuid::nil(),
        auth_time: NOW - Duration::minutes(age_min),
        methods,
        expires_at: NOW + Duration::hours(1),
        passkey_aaguid: None,
        passkey_attested: false,
        credential_id: None,
        campaign_pending: false,
    }
}

fn passkey(aaguid: Uuid) -> Passkey {
    Passkey {
        id: Uuid::nil(),
        ..crate::test_support::passkey_of(Uuid::nil(), aaguid, NOW)
    }
}

#[test]
fn r1_disabled_method_blocks_registration_and_sign_in() {
    let c = Fido2Configuration {
        state: MethodState::Disabled,
        ..cfg()
    };
    assert_eq!(
        may_start_registration(
            &c,
            &[],
            &session(vec![AuthMethod::TemporaryAccessPass], 1),
            NOW
        ),
        Err(PasskeyRefusal::MethodDisabled)
    );
    assert_eq!(
        sign_in_usability(&c, &[], &passkey(CHROMIUM)),
        Err(PasskeyRefusal::MethodDisabled)
    );
    assert_eq!(
        sign_in_usability(&cfg(), &[], &passkey(CHROMIUM)),
        Ok(()),
        "re-enabled, the kept passkey works again"
    );
}

#[test]
fn r2_targets_apply_to_registration_and_sign_in() {
    let g = Uuid::new_v4();
    let c = Fido2Configuration {
        exclude_targets: vec![ExcludeTarget::group(g)],
        ..cfg()
    };
    assert!(matches!(
        sign_in_usability(&c, &[g], &passkey(CHROMIUM)),
        Err(PasskeyRefusal::NotInScope(_))
    ));
    assert!(matches!(
        decide_registration(&c, &[g], &facts(CHROMIUM)),
        Err(PasskeyRefusal::NotInScope(_))
    ));
    let only_g = Fido2Configuration {
        include_targets: vec![IncludeTarget::of(crate::policy::TargetId::Group(g))],
        ..cfg()
    };
    assert!(matches!(
        sign_in_usability(&only_g, &[], &passkey(CHROMIUM)),
        Err(PasskeyRefusal::NotInScope(_))
    ));
    assert_eq!(sign_in_usability(&only_g, &[g], &passkey(CHROMIUM)), Ok(()));
}

#[test]
fn r3_r14_self_service_and_fresh_mfa_are_needed_to_start() {
    let s = session(vec![AuthMethod::TemporaryAccessPass], 1);
    assert!(may_start_registration(&cfg(), &[], &s, NOW).is_ok());
    let c = Fido2Configuration {
        is_self_service_registration_allowed: false,
        ..cfg()
    };
    assert_eq!(
        may_start_registration(&c, &[], &s, NOW),
        Err(PasskeyRefusal::SelfServiceDisabled)
    );
    assert_eq!(
        may_start_registration(
            &cfg(),
            &[],
            &session(vec![AuthMethod::TemporaryAccessPass], 11),
            NOW
        ),
        Err(PasskeyRefusal::StepUpRequired)
    );
    assert!(
        may_start_registration(&cfg(), &[], &session(vec![AuthMethod::Passkey], 10), NOW).is_ok()
    );
}

#[test]
fn r4_attestation_enforced_refuses_none_self_and_untrusted() {
    let c = Fido2Configuration {
        is_attestation_enforced: true,
        ..cfg()
    };
    assert!(matches!(
        decide_registration(&c, &[], &facts(CHROMIUM)),
        Err(PasskeyRefusal::AttestationMissing {
            self_attested: false
        })
    ));
    let selfie = RegistrationFacts {
        self_attested: true,
        ..facts(CHROMIUM)
    };
    assert!(matches!(
        decide_registration(&c, &[], &selfie),
        Err(PasskeyRefusal::AttestationMissing {
            self_attested: true
        })
    ));
    let untrusted = RegistrationFacts {
        has_chain: true,
        ..facts(CHROMIUM)
    };
    assert!(matches!(
        decide_registration(&c, &[], &untrusted),
        Err(PasskeyRefusal::AttestationUntrusted(_))
    ));
    let trusted = RegistrationFacts {
        has_chain: true,
        trusted: true,
        ..facts(CHROMIUM)
    };
    assert!(decide_registration(&c, &[], &trusted).is_ok());
    // R4, R5: an allow list under enforced attestation needs the model proven.
    let allow = Fido2Configuration {
        key_restrictions: KeyRestrictions {
            is_enforced: true,
            enforcement_type: EnforcementType::Allow,
            aa_guids: vec![CHROMIUM],
            ..Default::default()
        },
        ..c.clone()
    };
    assert_eq!(
        decide_registration(&allow, &[], &trusted),
        Err(PasskeyRefusal::AaguidNotAttested(CHROMIUM)),
        "a trusted chain that does not sign the AAGUID proves no model on the list"
    );
    let proven = RegistrationFacts {
        aaguid_attested: true,
        ..trusted
    };
    assert!(decide_registration(&allow, &[], &proven).is_ok());
    let unenforced = Fido2Configuration {
        is_attestation_enforced: false,
        ..allow
    };
    assert!(
        decide_registration(&unenforced, &[], &facts(CHROMIUM)).is_ok(),
        "without enforcement the list reads the self-reported AAGUID, as Entra does"
    );
    assert!(
        may_start_registration(
            &c,
            &[],
            &session(vec![AuthMethod::TemporaryAccessPass], 0),
            NOW
        )
        .unwrap()
        .attestation_direct,
        "R17: direct when enforced"
    );
    assert!(
        !may_start_registration(
            &cfg(),
            &[],
            &session(vec![AuthMethod::TemporaryAccessPass], 0),
            NOW
        )
        .unwrap()
        .attestation_direct,
        "R17: none otherwise"
    );
    assert!(
        !legacy_flow_offered(&c, &[]),
        "R16: no legacy flow under enforcement"
    );
    assert!(legacy_flow_offered(&cfg(), &[]));
}

#[test]
fn r5_key_restrictions_apply_at_registration_and_sign_in() {
    let mut c = cfg();
    c.key_restrictions = KeyRestrictions {
        odata_type: None,
        is_enforced: true,
        enforcement_type: EnforcementType::Block,
        aa_guids: vec![CHROMIUM],
    };
    assert!(matches!(
        decide_registration(&c, &[], &facts(CHROMIUM)),
        Err(PasskeyRefusal::KeyRestricted {
            allow_list: false,
            ..
        })
    ));
    assert!(matches!(
        sign_in_usability(&c, &[], &passkey(CHROMIUM)),
        Err(PasskeyRefusal::KeyRestricted { .. })
    ));
    c.key_restrictions.enforcement_type = EnforcementType::Allow;
    assert_eq!(sign_in_usability(&c, &[], &passkey(CHROMIUM)), Ok(()));
    c.key_restrictions.aa_guids = AUTHENTICATOR_AAGUIDS.to_vec();
    assert!(
        matches!(
            sign_in_usability(&c, &[], &passkey(CHROMIUM)),
            Err(PasskeyRefusal::KeyRestricted {
                allow_list: true,
                ..
            })
        ),
        "removing an AAGUID from the allow list stops existing passkeys at once"
    );
    assert!(authenticator_option_offered(&c), "R6");
    c.key_restrictions.is_enforced = false;
    assert!(!authenticator_option_offered(&c));
}

#[test]
fn r9_a_passkey_must_meet_one_of_the_users_profiles() {
    let strict = Uuid::new_v4();
    let open = Uuid::new_v4();
    let g = Uuid::new_v4();
    let mut c = cfg();
    c.passkey_profiles = vec![
        PasskeyProfile {
            odata_type: None,
            id: strict,
            name: "Authenticator only".into(),
            passkey_types: PasskeyTypes::DEVICE_BOUND,
            attestation_enforcement: AttestationEnforcement::Disabled,
            key_restrictions: KeyRestrictions {
                odata_type: None,
                is_enforced: true,
                enforcement_type: EnforcementType::Allow,
                aa_guids: AUTHENTICATOR_AAGUIDS.to_vec(),
            },
        },
        PasskeyProfile {
            odata_type: None,
            id: open,
            name: "Anything".into(),
            passkey_types: PasskeyTypes::BOTH,
            attestation_enforcement: AttestationEnforcement::Disabled,
            key_restrictions: KeyRestrictions::default(),
        },
    ];
    c.default_passkey_profile = Some(strict);
    c.include_targets = vec![
        IncludeTarget {
            allowed_passkey_profiles: Some(vec![strict]),
            ..IncludeTarget::all_users()
        },
        IncludeTarget {
            id: crate::policy::TargetId::Group(g),
            allowed_passkey_profiles: Some(vec![open]),
            ..IncludeTarget::all_users()
        },
    ];
    assert!(matches!(
        decide_registration(&c, &[], &facts(CHROMIUM)),
        Err(PasskeyRefusal::KeyRestricted { .. })
    ));
    let r = decide_registration(&c, &[g], &facts(CHROMIUM)).unwrap();
    assert_eq!(
        r.profile_id,
        Some(open),
        "a member of g also gets the open profile"
    );
    let synced = RegistrationFacts {
        synced: true,
        ..facts(AUTHENTICATOR_AAGUIDS[0])
    };
    assert!(matches!(
        decide_registration(&c, &[], &synced),
        Err(PasskeyRefusal::NoProfileMatch(_))
    ));
}

#[test]
fn r22_flagged_clones_cannot_sign_in() {
    let p = Passkey {
        flagged_clone: true,
        ..passkey(CHROMIUM)
    };
    assert_eq!(
        sign_in_usability(&cfg(), &[], &p),
        Err(PasskeyRefusal::FlaggedClone)
    );
}

/// R26: a disabled passkey is refused whatever the policy says, and says so; enabled again,
/// it signs in as before.
#[test]
fn r26_a_disabled_passkey_cannot_sign_in_until_enabled() {
    let p = Passkey {
        disabled: true,
        ..passkey(CHROMIUM)
    };
    assert_eq!(
        sign_in_usability(&cfg(), &[], &p),
        Err(PasskeyRefusal::Disabled)
    );
    assert_eq!(PasskeyRefusal::Disabled.code(), "passkeyDisabled");
    let enabled = Passkey {
        disabled: false,
        ..p
    };
    assert_eq!(sign_in_usability(&cfg(), &[], &enabled), Ok(()));
}

#[test]
fn r14_a_password_alone_is_not_mfa_but_with_an_app_code_it_is() {
    let pwd = session(vec![AuthMethod::Password], 1);
    assert_eq!(
        may_start_registration(&cfg(), &[], &pwd, NOW),
        Err(PasskeyRefusal::StepUpRequired)
    );
    let both = session(vec![AuthMethod::Password, AuthMethod::SoftwareOath], 1);
    assert!(may_start_registration(&cfg(), &[], &both, NOW).is_ok());
    // An app code without the password is not two factors either.
    let code_only = session(vec![AuthMethod::SoftwareOath], 1);
    assert_eq!(
        may_start_registration(&cfg(), &[], &code_only, NOW),
        Err(PasskeyRefusal::StepUpRequired)
    );
}
