//! Readiness (R50), on both backends: each trap built through the service, found for the
//! right user, persona, application, step and policy — and gone once its remedy is applied.

use super::*;
use portcullis_domain::passkey::Passkey;
use portcullis_domain::policy::{MethodConfiguration, MethodId};
use portcullis_domain::readiness::{FindingCode, Persona, Setting, Severity, Step, UserFinding};
use portcullis_service::apps::NewApplication;
use portcullis_service::attestation::RootAppAttestation;
use portcullis_store::passkeys::StoredPasskey;
use portcullis_testkit::testca::TestCa;
use uuid::Uuid;

const PHISHING_RESISTANT: &str = "00000000-0000-0000-0000-000000000004";
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const YUBIKEY: Uuid = uuid::uuid!("cb69481e-8ff7-4039-93ec-0a2729a154a8");

async fn tenant(t: &portcullis_testkit::TestStore) -> (Service, String) {
    let clock = Arc::new(ManualClock::new(T0));
    // The Authenticator's app attestation service is configured: without it no passkey in
    // the Authenticator could be attested (`attestationUnverifiable`).
    let app = RootAppAttestation::new(
        vec![TestCa::new("Authenticator app attestation").der()],
        true,
    );
    let svc = Service::new(t.store.clone(), clock, LockoutPolicy::default())
        .with_app_attestation(Arc::new(app));
    svc.bootstrap("Contoso", "contoso.com")
        .await
        .unwrap()
        .unwrap();
    let (app, _) = svc
        .add_application(
            &op(),
            NewApplication {
                display_name: "Payroll".into(),
                public_client: true,
                redirect_uris: vec!["http://127.0.0.1:8765/cb".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    (svc, app.app_id)
}

/// A user holding a pass (the default: multi-use, the policy's lifetime).
async fn user_with_pass(
    svc: &Service,
    upn: &str,
    name: &str,
) -> portcullis_domain::directory::User {
    let u = svc.add_user(&op(), upn, name).await.unwrap();
    svc.create_tap(&op(), upn, IssueRequest::default())
        .await
        .unwrap();
    u
}

/// A policy on every user but the Global Administrators (so no lock-out guard stands in the
/// way), enabled.
fn everyone(
    name: &str,
    applications: serde_json::Value,
    grant: serde_json::Value,
) -> serde_json::Value {
    json!({"displayName": name, "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"], "excludeRoles": [GLOBAL_ADMIN]}, "applications": applications},
        "grantControls": grant})
}

/// A grant: the strength `id`.
fn requires(id: &str) -> serde_json::Value {
    json!({"operator": "OR", "authenticationStrength": {"id": id}})
}

/// Target: one application.
fn only(app: &str) -> serde_json::Value {
    json!({"includeApplications": [app]})
}

/// Target: the "register security info" user action.
fn registering() -> serde_json::Value {
    json!({"includeUserActions": ["urn:user:registersecurityinfo"]})
}

async fn save(svc: &Service, policy: serde_json::Value) -> Policy {
    svc.save_ca_policy(&op(), serde_json::from_value(policy).unwrap(), false)
        .await
        .unwrap()
}

/// A passkey of `model` the user registered earlier.
async fn holds_passkey(t: &portcullis_testkit::TestStore, user: Uuid, model: Uuid) {
    holds_passkey_in(t, user, model, None).await;
}

/// A passkey of `model` the user registered earlier, in an Android `profile` (R20).
async fn holds_passkey_in(
    t: &portcullis_testkit::TestStore,
    user: Uuid,
    model: Uuid,
    profile: Option<&str>,
) {
    let mut c = t.store.conn().await.unwrap();
    portcullis_store::passkeys::insert(
        &mut c,
        &StoredPasskey {
            passkey: Passkey {
                id: Uuid::new_v4(),
                user_id: user,
                credential_id: format!("cred-{}", Uuid::new_v4()),
                aaguid: model,
                display_name: "key".into(),
                fmt: "packed".into(),
                attested: true,
                synced: false,
                created_at: T0,
                last_used_at: None,
                sign_count: 0,
                device: None,
                device_profile: profile.map(str::to_string),
                flagged_clone: false,
                disabled: false,
            },
            credential_json: "{}".into(),
            x5c: vec![],
            profile_id: None,
            deleted: None,
            attestation: portcullis_domain::inventory::Attestation::None,
            backed_up: None,
            client: Default::default(),
        },
    )
    .await
    .unwrap();
}

/// A strength of passkeys in the Authenticator, with attestation enforced so its AAGUIDs
/// can be attested (R32).
async fn authenticator_strength(svc: &Service) -> portcullis_domain::strength::Strength {
    svc.patch_method_configuration(
        &op(),
        MethodId::Fido2,
        json!({"isAttestationEnforced": true}),
        false,
    )
    .await
    .unwrap();
    svc.add_strength(
        &op(),
        "Authenticator",
        "",
        &["fido2".to_string()],
        Some(portcullis_domain::policy::fido2::AUTHENTICATOR_AAGUIDS.to_vec()),
    )
    .await
    .unwrap()
}

/// "Authenticator for payroll": a passkey in the Authenticator required on `app`.
async fn authenticator_on(svc: &Service, app: &str) -> Policy {
    let strength = authenticator_strength(svc).await;
    save(
        svc,
        everyone(
            "Authenticator for payroll",
            only(app),
            requires(&strength.id),
        ),
    )
    .await
}

async fn findings(svc: &Service, upn: &str) -> Vec<UserFinding> {
    svc.readiness(&[upn.to_string()], None)
        .await
        .unwrap()
        .findings
}

fn codes(f: &[UserFinding]) -> Vec<FindingCode> {
    let mut c: Vec<FindingCode> = f.iter().map(|f| f.code).collect();
    c.dedup();
    c
}

/// 000/001: a strength requiring a passkey in the Authenticator on All resources, for a
/// user whose only passkey is a security key: Security info is covered too, so every way
/// in asks for what they can only get inside. A TAP (the remedy) opens proof-up.
#[tokio::test]
async fn strength_loop_is_found_and_a_pass_resolves_it() {
    for t in both().await {
        let (svc, payroll) = tenant(&t).await;
        let gina = svc
            .add_user(&op(), "gina@contoso.com", "Gina")
            .await
            .unwrap();
        holds_passkey(&t, gina.id, YUBIKEY).await;
        let strength = authenticator_strength(&svc).await;
        let policy = save(
            &svc,
            everyone(
                "Authenticator everywhere",
                json!({"includeApplications": ["All"]}),
                requires(&strength.id),
            ),
        )
        .await;
        let f = findings(&svc, "gina@contoso.com").await;
        let loops: Vec<&UserFinding> = f
            .iter()
            .filter(|f| f.code == FindingCode::StrengthLoop)
            .collect();
        assert_eq!(
            loops.len(),
            Persona::ALL.len(),
            "every persona, on Payroll: {f:?}"
        );
        assert!(loops.iter().all(|l| l.user == gina.id
            && l.application.as_deref() == Some(payroll.as_str())
            && l.step == Step::Register
            && l.policies == vec![policy.display_name.clone()]));
        // The report names the policy by id and gives the documents' remedies.
        let r = svc.readiness(&[], None).await.unwrap();
        let doc = portcullis_service::render::readiness::json(&r);
        let loop_doc = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["code"] == "strengthLoop")
            .unwrap();
        assert_eq!(loop_doc["policyIds"], json!([policy.id]));
        assert_eq!(loop_doc["remedies"][0]["code"], "issueTap");
        assert!(portcullis_service::render::readiness::has_blocker(
            &r.findings
        ));
        // One remedy: the application filter (the policy on Payroll, not All resources), so
        // Security info stays open — she adds the Authenticator passkey on her security key's
        // strength (which readiness tells, as info).
        let mut filtered = policy.clone();
        filtered.conditions.applications.include_applications = vec![payroll.clone()];
        svc.save_ca_policy(&op(), filtered, false).await.unwrap();
        let f = findings(&svc, "gina@contoso.com").await;
        assert!(
            !f.iter().any(|x| x.code == FindingCode::StrengthLoop)
                && !portcullis_service::render::readiness::has_blocker(&f),
            "an application filter resolves it: {f:?}"
        );
        svc.save_ca_policy(&op(), policy.clone(), false)
            .await
            .unwrap();
        // The other: a pass opens Security info for proof-up.
        svc.create_tap(&op(), "gina@contoso.com", IssueRequest::default())
            .await
            .unwrap();
        // From a desktop she is told the Authenticator passkey is added across devices.
        assert_eq!(
            codes(&findings(&svc, "gina@contoso.com").await),
            vec![FindingCode::CrossDeviceNeedsBluetooth],
            "a pass resolves it"
        );
    }
}

/// A user who holds nothing must start with a TAP; with TAP off for them, nothing works.
#[tokio::test]
async fn tap_unavailable_is_found_and_including_the_user_resolves_it() {
    for t in both().await {
        let (svc, _) = tenant(&t).await;
        svc.add_user(&op(), "hal@contoso.com", "Hal").await.unwrap();
        let off = json!({"state": "disabled"});
        svc.patch_method_configuration(&op(), MethodId::TemporaryAccessPass, off, false)
            .await
            .unwrap();
        let f = findings(&svc, "hal@contoso.com").await;
        assert_eq!(codes(&f), vec![FindingCode::TapUnavailable]);
        assert_eq!(f[0].step, Step::ObtainPass);
        svc.patch_method_configuration(
            &op(),
            MethodId::TemporaryAccessPass,
            json!({"state": "enabled"}),
            false,
        )
        .await
        .unwrap();
        assert!(findings(&svc, "hal@contoso.com").await.is_empty());
    }
}

/// Conditional Access requires a phishing-resistant passkey on Payroll, and passkeys are
/// off: the user can never get one. Turning the method on resolves it.
#[tokio::test]
async fn not_enabled_for_passkeys_is_found_and_enabling_them_resolves_it() {
    for t in both().await {
        let (svc, payroll) = tenant(&t).await;
        user_with_pass(&svc, "ivy@contoso.com", "Ivy").await;
        save(&svc, json!({"displayName": "Phishing-resistant payroll", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": [payroll]}},
            "grantControls": {"operator": "OR", "authenticationStrength": {"id": PHISHING_RESISTANT}}})).await;
        let MethodConfiguration::Fido2(mut fido2) =
            svc.method_configuration(MethodId::Fido2).await.unwrap()
        else {
            unreachable!()
        };
        fido2.state = portcullis_domain::policy::MethodState::Disabled;
        svc.save_method_configuration(&op(), MethodConfiguration::Fido2(fido2.clone()), false)
            .await
            .unwrap();
        let f = findings(&svc, "ivy@contoso.com").await;
        assert_eq!(codes(&f), vec![FindingCode::NotEnabledForPasskeys], "{f:?}");
        assert!(f
            .iter()
            .all(|x| x.application.as_deref() == Some(payroll.as_str())));
        fido2.state = portcullis_domain::policy::MethodState::Enabled;
        svc.save_method_configuration(&op(), MethodConfiguration::Fido2(fido2), false)
            .await
            .unwrap();
        assert!(findings(&svc, "ivy@contoso.com").await.is_empty());
    }
}

/// 001/004: blocking iOS and Android keeps the Authenticator from registering; desktops
/// still get in, so the block is a trap only on the phones. Removing it resolves it.
#[tokio::test]
async fn a_mobile_platform_block_is_found_on_phones_only_and_removing_it_resolves_it() {
    for t in both().await {
        let (svc, payroll) = tenant(&t).await;
        user_with_pass(&svc, "jo@contoso.com", "Jo").await;
        let block = save(&svc, json!({"displayName": "Block mobile", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"], "excludeRoles": [GLOBAL_ADMIN]}, "applications": {"includeApplications": ["All"]},
                "platforms": {"includePlatforms": ["android", "iOS"]}},
            "grantControls": {"operator": "OR", "builtInControls": ["block"]}})).await;
        let f = findings(&svc, "jo@contoso.com").await;
        let mobile: Vec<&UserFinding> = f
            .iter()
            .filter(|x| x.code == FindingCode::MobilePlatformBlocked)
            .collect();
        let personas: Vec<Persona> = mobile.iter().filter_map(|x| x.persona).collect();
        assert_eq!(
            personas,
            vec![Persona::Ios, Persona::AndroidPersonal, Persona::AndroidWork],
            "{f:?}"
        );
        assert!(mobile
            .iter()
            .all(|x| x.application.as_deref() == Some(payroll.as_str())));
        svc.delete_ca_policy(&op(), &block.id).await.unwrap();
        assert!(findings(&svc, "jo@contoso.com").await.is_empty());
    }
}

/// R51: the dry run reports exactly the users a change strands, and a change that
/// changes nothing changes nothing.
#[tokio::test]
async fn a_dry_run_reports_exactly_the_users_a_change_strands() {
    use portcullis_domain::policy::fido2::AUTHENTICATOR_AAGUIDS;
    use portcullis_service::readiness::Proposal;
    use std::collections::BTreeSet;
    for t in both().await {
        let (svc, _) = tenant(&t).await;
        svc.patch_method_configuration(
            &op(),
            MethodId::Fido2,
            json!({"isAttestationEnforced": true}),
            false,
        )
        .await
        .unwrap();
        let kim = svc.add_user(&op(), "kim@contoso.com", "Kim").await.unwrap();
        let lee = svc.add_user(&op(), "lee@contoso.com", "Lee").await.unwrap();
        let mo = svc.add_user(&op(), "mo@contoso.com", "Mo").await.unwrap();
        holds_passkey(&t, kim.id, YUBIKEY).await;
        holds_passkey(&t, lee.id, AUTHENTICATOR_AAGUIDS[0]).await;
        svc.create_tap(&op(), "mo@contoso.com", IssueRequest::default())
            .await
            .unwrap();
        let now = svc.readiness(&[], None).await.unwrap();
        assert!(
            now.findings.is_empty(),
            "a ready tenant: {:?}",
            now.findings
        );
        let dry = |p: Proposal| {
            let svc = &svc;
            async move { svc.readiness(&[], Some(&p)).await.unwrap().delta.unwrap() }
        };
        let new_users =
            |d: &portcullis_service::readiness::Delta, code: FindingCode| -> BTreeSet<Uuid> {
                d.new
                    .iter()
                    .filter(|f| f.code == code)
                    .map(|f| f.user)
                    .collect()
            };

        // Removing the security key's model from what key restrictions allow.
        let mut p = Proposal::default();
        p.add(json!({"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration", "state": "enabled",
            "isAttestationEnforced": true,
            "keyRestrictions": {"isEnforced": true, "enforcementType": "allow", "aaGuids": AUTHENTICATOR_AAGUIDS}})).unwrap();
        let d = dry(p).await;
        assert_eq!(
            new_users(&d, FindingCode::AaguidBlockedInUse),
            BTreeSet::from([kim.id]),
            "{:?}",
            d.new
        );
        assert!(
            d.new.iter().all(|f| f.user == kim.id),
            "only Kim is stranded: {:?}",
            d.new
        );
        assert!(d.resolved.is_empty());

        // Blocking the mobile platforms strands everyone on their phones.
        let mut p = Proposal::default();
        p.add(json!({"@odata.type": "#microsoft.graph.conditionalAccessPolicy", "displayName": "Block mobile", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"], "excludeRoles": [GLOBAL_ADMIN]}, "applications": {"includeApplications": ["All"]},
                "platforms": {"includePlatforms": ["android", "iOS"]}},
            "grantControls": {"operator": "OR", "builtInControls": ["block"]}})).unwrap();
        let d = dry(p).await;
        assert_eq!(
            new_users(&d, FindingCode::MobilePlatformBlocked),
            BTreeSet::from([kim.id, lee.id, mo.id])
        );

        // A passkey in the Authenticator on All resources strands the security-key holder.
        let strength = authenticator_strength(&svc).await;
        let mut p = Proposal::default();
        p.add(json!({"@odata.type": "#microsoft.graph.conditionalAccessPolicy", "displayName": "Authenticator everywhere", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"], "excludeRoles": [GLOBAL_ADMIN]}, "applications": {"includeApplications": ["All"]}},
            "grantControls": {"operator": "OR", "authenticationStrength": {"id": strength.id}}})).unwrap();
        let d = dry(p.clone()).await;
        let stranded: BTreeSet<Uuid> = d
            .new
            .iter()
            .filter(|f| f.severity == portcullis_domain::readiness::Severity::Blocker)
            .map(|f| f.user)
            .collect();
        assert_eq!(stranded, BTreeSet::from([kim.id]), "{:?}", d.new);
        let r = svc.readiness(&[], Some(&p)).await.unwrap();
        assert!(
            portcullis_service::render::readiness::gates(&r),
            "a proposal that adds a blocker fails the pipeline"
        );

        // A strength proposed with the policy that names it: the Authenticator only strands
        // the security-key holder; the same strength with her model too strands nobody.
        let proposed_strength = |models: Vec<Uuid>| {
            let mut p = Proposal::default();
            p.add(json!({"@odata.type": "#microsoft.graph.authenticationStrengthPolicy",
                "id": "6d1f6a8e-1b0e-4c8e-9a55-0c3f7d1e2a10", "displayName": "Passkeys we issue",
                "allowedCombinations": ["fido2"],
                "combinationConfigurations": [{"@odata.type": "#microsoft.graph.fido2CombinationConfiguration", "allowedAAGUIDs": models}]}))
                .unwrap();
            p.add(json!({"@odata.type": "#microsoft.graph.conditionalAccessPolicy", "displayName": "Issued passkeys everywhere", "state": "enabled",
                "conditions": {"users": {"includeUsers": ["All"], "excludeRoles": [GLOBAL_ADMIN]}, "applications": {"includeApplications": ["All"]}},
                "grantControls": {"operator": "OR", "authenticationStrength": {"id": "6d1f6a8e-1b0e-4c8e-9a55-0c3f7d1e2a10"}}}))
                .unwrap();
            p
        };
        let blockers = |d: &portcullis_service::readiness::Delta| -> BTreeSet<Uuid> {
            d.new
                .iter()
                .filter(|f| f.severity == Severity::Blocker)
                .map(|f| f.user)
                .collect()
        };
        let d = dry(proposed_strength(AUTHENTICATOR_AAGUIDS.to_vec())).await;
        assert_eq!(blockers(&d), BTreeSet::from([kim.id]), "{:?}", d.new);
        let mut with_key = AUTHENTICATOR_AAGUIDS.to_vec();
        with_key.push(YUBIKEY);
        let d = dry(proposed_strength(with_key)).await;
        assert!(blockers(&d).is_empty(), "{:?}", d.new);
        // A built-in strength cannot be proposed changed.
        let mut p = Proposal::default();
        p.add(json!({"@odata.type": "#microsoft.graph.authenticationStrengthPolicy", "id": PHISHING_RESISTANT,
            "displayName": "Weaker", "allowedCombinations": ["temporaryAccessPassMultiUse"]}))
            .unwrap();
        assert!(svc.readiness(&[], Some(&p)).await.is_err());

        // A proposal that changes nothing: the current TAP settings, re-proposed.
        let mut p = Proposal::default();
        p.add(
            svc.method_configuration(MethodId::TemporaryAccessPass)
                .await
                .unwrap()
                .to_json(),
        )
        .unwrap();
        let d = dry(p).await;
        assert!(d.new.is_empty() && d.resolved.is_empty());
        // Deleting a policy that does not exist is refused, not analysed.
        let mut p = Proposal::default();
        p.delete_policy("no-such-policy");
        assert!(svc.readiness(&[], Some(&p)).await.is_err());
        assert!(Proposal::default()
            .add(json!({"@odata.type": "#microsoft.graph.user"}))
            .is_err());
    }
}

/// 004: a passkey enforced on Payroll, and the "register security info" user action
/// enforcing it too, before users registered: a user who holds nothing has no way to
/// register in any persona. Switching the registration policy off until users have
/// registered (the remedy) resolves it.
#[tokio::test]
async fn enforced_before_registered_is_found_and_switching_the_policy_off_resolves_it() {
    for t in both().await {
        let (svc, payroll) = tenant(&t).await;
        let nell = svc
            .add_user(&op(), "nell@contoso.com", "Nell")
            .await
            .unwrap();
        save(
            &svc,
            everyone(
                "Phishing-resistant payroll",
                only(&payroll),
                requires(PHISHING_RESISTANT),
            ),
        )
        .await;
        let mut register = save(
            &svc,
            everyone(
                "Phishing-resistant to register",
                registering(),
                requires(PHISHING_RESISTANT),
            ),
        )
        .await;
        let f = findings(&svc, "nell@contoso.com").await;
        let enforced: Vec<&UserFinding> = f
            .iter()
            .filter(|x| x.code == FindingCode::EnforcedBeforeRegistered)
            .collect();
        assert_eq!(enforced.len(), 1, "{f:?}");
        assert_eq!(
            (
                enforced[0].user,
                enforced[0].application.as_deref(),
                enforced[0].persona,
                enforced[0].step
            ),
            (nell.id, Some(payroll.as_str()), None, Step::Register)
        );
        assert!(f
            .iter()
            .any(|x| x.code == FindingCode::RegisterSecurityInfoUnsatisfiable
                && x.policies == vec![register.display_name.clone()]));
        // (User actions have no report-only state: the remedy here is to switch it off.)
        register.state = portcullis_domain::conditional_access::PolicyState::Disabled;
        svc.save_ca_policy(&op(), register, false).await.unwrap();
        let f = findings(&svc, "nell@contoso.com").await;
        assert!(f.is_empty(), "a pass registers again: {f:?}");
    }
}

/// R24: a passkey in the Authenticator required on Payroll, for a user with a pass: from a
/// desktop it is added across devices (QR code and Bluetooth) — info, not a blocker; on
/// the phones it is not said.
#[tokio::test]
async fn a_desktop_that_must_add_an_authenticator_passkey_is_told_about_bluetooth() {
    for t in both().await {
        let (svc, payroll) = tenant(&t).await;
        user_with_pass(&svc, "ola@contoso.com", "Ola").await;
        authenticator_on(&svc, &payroll).await;
        let f = findings(&svc, "ola@contoso.com").await;
        assert!(
            f.iter()
                .all(|x| x.code == FindingCode::CrossDeviceNeedsBluetooth
                    && x.severity == portcullis_domain::readiness::Severity::Info),
            "{f:?}"
        );
        let personas: Vec<Persona> = f.iter().filter_map(|x| x.persona).collect();
        assert_eq!(
            personas,
            vec![
                Persona::WindowsDesktop,
                Persona::MacDesktop,
                Persona::LinuxDesktop
            ]
        );
        let r = svc.readiness(&[], None).await.unwrap();
        assert!(
            !portcullis_service::render::readiness::gates(&r),
            "info does not fail a pipeline"
        );
        // The remedy (register on the phone itself): once she holds the passkey, nothing is
        // left to add across devices.
        let ola = svc.user("ola@contoso.com").await.unwrap();
        holds_passkey(
            &t,
            ola.id,
            portcullis_domain::policy::fido2::AUTHENTICATOR_AAGUIDS[0],
        )
        .await;
        let f = findings(&svc, "ola@contoso.com").await;
        assert!(f.is_empty(), "{f:?}");
    }
}

/// A compliant device required on Payroll, for a user with no enrolled device: no
/// persona gets there. A time-bound exclusion (the remedy) lets them in until it ends.
#[tokio::test]
async fn a_compliant_device_nobody_has_is_found_and_a_time_bound_exclusion_resolves_it() {
    for t in both().await {
        let (svc, payroll) = tenant(&t).await;
        let pia = user_with_pass(&svc, "pia@contoso.com", "Pia").await;
        let mut policy = save(&svc, json!({"displayName": "Compliant devices for payroll", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": [payroll]}},
            "grantControls": {"operator": "OR", "builtInControls": ["compliantDevice"]}})).await;
        let f = findings(&svc, "pia@contoso.com").await;
        assert_eq!(codes(&f), vec![FindingCode::CompliantDeviceUnreachable]);
        assert_eq!(f.len(), Persona::ALL.len(), "every persona: {f:?}");
        assert!(f.iter().all(|x| x.step == Step::SignIn
            && x.application.as_deref() == Some(payroll.as_str())
            && x.policies == vec![policy.display_name.clone()]));
        policy.conditions.users.temporary_exclusions =
            vec![portcullis_domain::conditional_access::TemporaryExclusion {
                user_id: pia.id.to_string(),
                until: "2026-06-08T12:00:00Z".into(),
            }];
        svc.save_ca_policy(&op(), policy, false).await.unwrap();
        assert!(findings(&svc, "pia@contoso.com").await.is_empty());
    }
}

/// 002: key restrictions that stop allowing the model of a passkey in use strand its
/// holder (a blocker: it was her only way in); allowing the model again resolves it.
#[tokio::test]
async fn an_aaguid_removed_while_in_use_is_found_and_re_adding_it_resolves_it() {
    use portcullis_domain::policy::fido2::AUTHENTICATOR_AAGUIDS;
    for t in both().await {
        let (svc, _) = tenant(&t).await;
        let quinn = svc
            .add_user(&op(), "quinn@contoso.com", "Quinn")
            .await
            .unwrap();
        holds_passkey(&t, quinn.id, YUBIKEY).await;
        let restrict = |models: Vec<Uuid>| json!({"keyRestrictions": {"isEnforced": true, "enforcementType": "allow", "aaGuids": models}});
        svc.patch_method_configuration(
            &op(),
            MethodId::Fido2,
            restrict(AUTHENTICATOR_AAGUIDS.to_vec()),
            false,
        )
        .await
        .unwrap();
        let f = findings(&svc, "quinn@contoso.com").await;
        assert_eq!(codes(&f), vec![FindingCode::AaguidBlockedInUse], "{f:?}");
        assert_eq!(
            f[0].severity,
            portcullis_domain::readiness::Severity::Blocker
        );
        let mut again = AUTHENTICATOR_AAGUIDS.to_vec();
        again.push(YUBIKEY);
        svc.patch_method_configuration(&op(), MethodId::Fido2, restrict(again), false)
            .await
            .unwrap();
        assert!(findings(&svc, "quinn@contoso.com").await.is_empty());
    }
}

/// R45: a block on every administrator, saved on purpose: every enabled Global
/// Administrator is named; excluding their role (the break-glass remedy) resolves it.
#[tokio::test]
async fn an_admin_lockout_is_found_and_excluding_the_role_resolves_it() {
    for t in both().await {
        let (svc, _) = tenant(&t).await;
        let policy: Policy = serde_json::from_value(json!({"displayName": "Block everyone", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}},
            "grantControls": {"operator": "OR", "builtInControls": ["block"]}})).unwrap();
        let mut policy = svc.save_ca_policy(&op(), policy, true).await.unwrap();
        let r = svc.readiness(&[], None).await.unwrap();
        let locked: Vec<&UserFinding> = r
            .findings
            .iter()
            .filter(|f| f.code == FindingCode::AdminLockout)
            .collect();
        assert_eq!(locked.len(), 1, "{:?}", r.findings);
        assert_eq!(
            r.users
                .iter()
                .find(|u| u.id == locked[0].user)
                .map(|u| u.user_principal_name.to_string()),
            Some("admin@contoso.com".to_string())
        );
        policy.conditions.users.exclude_roles = vec![GLOBAL_ADMIN.into()];
        svc.save_ca_policy(&op(), policy, false).await.unwrap();
        let r = svc.readiness(&[], None).await.unwrap();
        assert!(!r
            .findings
            .iter()
            .any(|f| f.code == FindingCode::AdminLockout));
    }
}

/// A phone of the user's, enrolled, with its system version and ownership.
async fn phone(
    svc: &Service,
    upn: &str,
    platform: &str,
    version: &str,
    ownership: Option<portcullis_domain::device::Ownership>,
) -> portcullis_domain::device::Device {
    use p256::pkcs8::{EncodePublicKey, LineEnding};
    let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let d = svc
        .enroll_device(&op(), upn, "Phone", platform, &pem)
        .await
        .unwrap();
    set_version(svc, &d, version, ownership).await
}

async fn set_version(
    svc: &Service,
    d: &portcullis_domain::device::Device,
    version: &str,
    ownership: Option<portcullis_domain::device::Ownership>,
) -> portcullis_domain::device::Device {
    let patch = portcullis_service::devices::DevicePatch {
        display_name: None,
        is_compliant: None,
        properties: portcullis_domain::device::PropertiesPatch {
            operating_system_version: Some(Some(version.into())),
            device_ownership: ownership.map(Some),
            ..Default::default()
        },
    };
    svc.update_device(&op(), d.id, patch).await.unwrap()
}

/// R4, R7: attestation enforced, and an allow list naming a security key whose roots the
/// metadata store does not hold: nobody can register it — a blocker for a user with only a
/// pass. Importing the model's statement with its root (the remedy) resolves it. The
/// Authenticator allowed with no app attestation service is found the same way.
#[tokio::test]
async fn attestation_unverifiable_is_found_and_importing_the_root_resolves_it() {
    use portcullis_domain::policy::fido2::AUTHENTICATOR_AAGUIDS;
    for t in both().await {
        let (svc, _) = tenant(&t).await;
        user_with_pass(&svc, "rae@contoso.com", "Rae").await;
        let allow = |models: Vec<Uuid>| {
            json!({"isAttestationEnforced": true,
            "keyRestrictions": {"isEnforced": true, "enforcementType": "allow", "aaGuids": models}})
        };
        svc.patch_method_configuration(&op(), MethodId::Fido2, allow(vec![YUBIKEY]), false)
            .await
            .unwrap();
        let f = findings(&svc, "rae@contoso.com").await;
        assert_eq!(
            codes(&f),
            vec![FindingCode::AttestationUnverifiable],
            "{f:?}"
        );
        assert_eq!(
            (f[0].severity, f[0].step),
            (Severity::Blocker, Step::Register)
        );
        assert_eq!(
            f[0].settings,
            vec![
                Setting::AttestationEnforced(YUBIKEY),
                Setting::MetadataRoots(YUBIKEY)
            ]
        );
        // The remedy: the model's statement, with its attestation root.
        let root = TestCa::new("YubiKey attestation root");
        let statement = json!({"aaguid": YUBIKEY, "description": "YubiKey 5",
            "attestationRootCertificates": [root.base64()]});
        let mds = portcullis_service::attestation::MdsTrust {
            roots: vec![],
            crls: vec![],
            staleness: portcullis_webauthn::Staleness::Refuse,
        };
        svc.import_metadata(&op(), &statement.to_string(), &mds)
            .await
            .unwrap();
        assert!(findings(&svc, "rae@contoso.com").await.is_empty());

        // The Authenticator allowed as well: attested only by the app attestation service.
        let mut models = AUTHENTICATOR_AAGUIDS.to_vec();
        models.push(YUBIKEY);
        svc.patch_method_configuration(&op(), MethodId::Fido2, allow(models), false)
            .await
            .unwrap();
        assert!(findings(&svc, "rae@contoso.com").await.is_empty());
        let without = Service::new(
            t.store.clone(),
            Arc::new(ManualClock::new(T0)),
            LockoutPolicy::default(),
        );
        let f = findings(&without, "rae@contoso.com").await;
        assert_eq!(codes(&f), vec![FindingCode::AttestationUnverifiable]);
        assert_eq!(
            f[0].severity,
            Severity::Warning,
            "the security key still registers"
        );
        assert!(f[0].settings.contains(&Setting::AppAttestationService));
    }
}

/// R20: Sam's phone is his own and enrolled (a work profile beside the personal one), and
/// his passkey was made in the personal profile: from the work profile it is not there. A
/// warning — he reaches everything from elsewhere — whether or not a pass could bootstrap
/// the work profile; a second passkey made in the work profile (the remedy) resolves it.
#[tokio::test]
async fn android_single_profile_is_found_and_a_second_profile_passkey_resolves_it() {
    use portcullis_domain::device::Ownership;
    use portcullis_domain::policy::fido2::AUTHENTICATOR_AAGUIDS;
    for t in both().await {
        let (svc, _) = tenant(&t).await;
        let sam = svc.add_user(&op(), "sam@contoso.com", "Sam").await.unwrap();
        holds_passkey_in(&t, sam.id, AUTHENTICATOR_AAGUIDS[0], Some("personal")).await;
        let f = findings(&svc, "sam@contoso.com").await;
        assert!(f.is_empty(), "no sign of a work profile yet: {f:?}");
        phone(
            &svc,
            "sam@contoso.com",
            "android",
            "15",
            Some(Ownership::Personal),
        )
        .await;
        let f = findings(&svc, "sam@contoso.com").await;
        assert_eq!(codes(&f), vec![FindingCode::AndroidSingleProfile], "{f:?}");
        assert_eq!(
            (
                f[0].persona,
                f[0].severity,
                f[0].step,
                f[0].settings.clone()
            ),
            (
                Some(Persona::AndroidWork),
                Severity::Warning,
                Step::SignIn,
                vec![Setting::PasskeyProfile]
            )
        );
        svc.patch_method_configuration(
            &op(),
            MethodId::TemporaryAccessPass,
            json!({"state": "disabled"}),
            false,
        )
        .await
        .unwrap();
        let f = findings(&svc, "sam@contoso.com").await;
        assert_eq!(
            f.iter()
                .map(|x| (x.code, x.severity, x.persona))
                .collect::<Vec<_>>(),
            vec![(
                FindingCode::AndroidSingleProfile,
                Severity::Warning,
                Some(Persona::AndroidWork)
            )],
            "nothing opens the work profile, and every application is reached from elsewhere: {f:?}"
        );
        holds_passkey_in(&t, sam.id, AUTHENTICATOR_AAGUIDS[0], Some("work")).await;
        assert!(findings(&svc, "sam@contoso.com").await.is_empty());
    }
}

/// R19: Payroll requires a passkey in the Authenticator, Uma holds a pass, and her only
/// known phone runs iOS 16: the Authenticator cannot hold a passkey there. Updating it to
/// iOS 17 (the remedy) resolves it.
#[tokio::test]
async fn a_phone_too_old_for_the_only_path_is_found_and_updating_it_resolves_it() {
    for t in both().await {
        let (svc, payroll) = tenant(&t).await;
        user_with_pass(&svc, "uma@contoso.com", "Uma").await;
        authenticator_on(&svc, &payroll).await;
        let iphone = phone(&svc, "uma@contoso.com", "iOS", "16.7.2", None).await;
        let f = findings(&svc, "uma@contoso.com").await;
        let old: Vec<&UserFinding> = f
            .iter()
            .filter(|x| x.code == FindingCode::OsTooOld)
            .collect();
        assert_eq!(old.len(), 1, "{f:?}");
        assert_eq!(
            (old[0].application.as_deref(), old[0].severity, old[0].step),
            (Some(payroll.as_str()), Severity::Blocker, Step::Register)
        );
        assert!(
            f.iter()
                .filter(|x| x.application.as_deref() == Some(payroll.as_str()))
                .all(|x| x.code != FindingCode::OsTooOld || x.severity == Severity::Blocker),
            "the only way in is closed on her known phone: {f:?}"
        );
        set_version(&svc, &iphone, "17.1", None).await;
        let f = findings(&svc, "uma@contoso.com").await;
        assert!(!f.iter().any(|x| x.code == FindingCode::OsTooOld), "{f:?}");
    }
}

/// R14: Payroll requires a passkey in the Authenticator, and Vic holds only a security key,
/// which Security info accepts for registering: the Authenticator passkey would be added on
/// the strength of the security key (info). Protecting registration with "the Authenticator
/// or a pass" (the remedy) and bootstrapping with a one-time pass resolves it.
#[tokio::test]
async fn a_weaker_claim_that_registers_is_found_and_protecting_registration_resolves_it() {
    use portcullis_domain::policy::fido2::AUTHENTICATOR_AAGUIDS;
    for t in both().await {
        let (svc, payroll) = tenant(&t).await;
        let vic = svc.add_user(&op(), "vic@contoso.com", "Vic").await.unwrap();
        holds_passkey(&t, vic.id, YUBIKEY).await;
        let policy = authenticator_on(&svc, &payroll).await;
        let f = findings(&svc, "vic@contoso.com").await;
        let weak: Vec<&UserFinding> = f
            .iter()
            .filter(|x| x.code == FindingCode::WeakMfaCanRegister)
            .collect();
        assert_eq!(weak.len(), 1, "{f:?}");
        assert_eq!(
            (
                weak[0].severity,
                weak[0].application.as_deref(),
                weak[0].policies.clone()
            ),
            (
                Severity::Info,
                Some(payroll.as_str()),
                vec![policy.display_name.clone()]
            )
        );
        let bootstrap = svc
            .add_strength(
                &op(),
                "Authenticator or a pass",
                "",
                &[
                    "fido2".to_string(),
                    "temporaryAccessPassOneTime".to_string(),
                ],
                Some(AUTHENTICATOR_AAGUIDS.to_vec()),
            )
            .await
            .unwrap();
        save(
            &svc,
            everyone(
                "Register with the Authenticator or a pass",
                registering(),
                requires(&bootstrap.id),
            ),
        )
        .await;
        svc.create_tap(
            &op(),
            "vic@contoso.com",
            IssueRequest {
                is_usable_once: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let f = findings(&svc, "vic@contoso.com").await;
        assert!(
            !f.iter().any(|x| x.code == FindingCode::WeakMfaCanRegister)
                && !portcullis_service::render::readiness::has_blocker(&f),
            "{f:?}"
        );
    }
}

/// 004, scenario 4: approved client apps on everything. The Authenticator is neither an
/// approved nor a protected app, and no browser is either: Wes can reach nothing and register
/// nowhere. A compliant device as an OR alternative, with his phone enrolled and compliant
/// (the remedy), leaves no blocker — his Android personas get through, the others are told.
#[tokio::test]
async fn an_approved_client_app_block_is_found_and_a_compliant_device_or_resolves_it() {
    use portcullis_domain::directory::AUTHENTICATOR_APP;
    for t in both().await {
        let (svc, payroll) = tenant(&t).await;
        user_with_pass(&svc, "wes@contoso.com", "Wes").await;
        let mut policy = save(&svc, json!({"displayName": "Approved apps only", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"], "excludeRoles": [GLOBAL_ADMIN]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "builtInControls": ["approvedApplication", "compliantApplication"]}})).await;
        let f = findings(&svc, "wes@contoso.com").await;
        let blocked: Vec<&UserFinding> = f
            .iter()
            .filter(|x| x.code == FindingCode::ApprovedClientAppBlock)
            .collect();
        let on = |app: &str| -> Vec<(Option<Persona>, Step, Severity)> {
            blocked
                .iter()
                .filter(|x| x.application.as_deref() == Some(app))
                .map(|x| (x.persona, x.step, x.severity))
                .collect()
        };
        assert_eq!(
            on(&payroll),
            Persona::ALL
                .iter()
                .map(|p| (Some(*p), Step::SignIn, Severity::Blocker))
                .collect::<Vec<_>>(),
            "{f:?}"
        );
        assert_eq!(
            on(AUTHENTICATOR_APP.app_id),
            vec![
                (Some(Persona::Ios), Step::Register, Severity::Blocker),
                (
                    Some(Persona::AndroidPersonal),
                    Step::Register,
                    Severity::Blocker
                ),
                (
                    Some(Persona::AndroidWork),
                    Step::Register,
                    Severity::Blocker
                ),
            ],
            "registering in the Authenticator is blocked too"
        );
        assert!(blocked
            .iter()
            .all(|x| x.policies == vec![policy.display_name.clone()]));
        // The remedy: a compliant device as an OR alternative, and Wes's phone compliant.
        policy
            .grant_controls
            .as_mut()
            .unwrap()
            .built_in_controls
            .push("compliantDevice".into());
        svc.save_ca_policy(&op(), policy, false).await.unwrap();
        let pixel = phone(&svc, "wes@contoso.com", "android", "15", None).await;
        svc.set_device_compliance(&op(), pixel.id, true)
            .await
            .unwrap();
        let f = findings(&svc, "wes@contoso.com").await;
        assert!(
            !portcullis_service::render::readiness::has_blocker(&f),
            "{f:?}"
        );
        assert!(
            f.iter().all(|x| x.persona.is_some_and(|p| p.platform()
                != portcullis_domain::conditional_access::platform::Platform::Android)),
            "from his phone he gets everywhere: {f:?}"
        );
    }
}

/// The "register security info" user action requires phishing-resistant MFA, and Xia holds
/// only a pass: she cannot add the passkey she needs, in any persona. A registration policy
/// that accepts a pass (the remedy) resolves it.
#[tokio::test]
async fn an_unsatisfiable_registration_policy_is_found_and_accepting_a_pass_resolves_it() {
    use portcullis_domain::policy::fido2::AUTHENTICATOR_AAGUIDS;
    for t in both().await {
        let (svc, _) = tenant(&t).await;
        user_with_pass(&svc, "xia@contoso.com", "Xia").await;
        let mut policy = save(
            &svc,
            everyone(
                "Phishing-resistant to register",
                registering(),
                requires(PHISHING_RESISTANT),
            ),
        )
        .await;
        let f = findings(&svc, "xia@contoso.com").await;
        assert_eq!(
            codes(&f),
            vec![FindingCode::RegisterSecurityInfoUnsatisfiable],
            "{f:?}"
        );
        assert_eq!(
            f.iter()
                .map(|x| (x.persona, x.step, x.severity, x.policies.clone()))
                .collect::<Vec<_>>(),
            Persona::ALL
                .iter()
                .map(|p| (
                    Some(*p),
                    Step::Register,
                    Severity::Warning,
                    vec![policy.display_name.clone()]
                ))
                .collect::<Vec<_>>()
        );
        let bootstrap = svc
            .add_strength(
                &op(),
                "Passkey or a pass",
                "",
                &[
                    "fido2".to_string(),
                    "temporaryAccessPassOneTime".to_string(),
                ],
                Some(AUTHENTICATOR_AAGUIDS.to_vec()),
            )
            .await
            .unwrap();
        policy
            .grant_controls
            .as_mut()
            .unwrap()
            .authentication_strength =
            Some(serde_json::from_value(json!({"id": bootstrap.id})).unwrap());
        svc.save_ca_policy(&op(), policy, false).await.unwrap();
        assert!(findings(&svc, "xia@contoso.com").await.is_empty());
    }
}
