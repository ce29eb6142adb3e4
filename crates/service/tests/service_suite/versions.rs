//! Lost updates refused: a save prepared on a version of a method configuration, a
//! Conditional Access policy or a custom strength is refused once the stored object is
//! another — and of two saves prepared on the same version and run at once, exactly one
//! lands, on both backends.

use portcullis_domain::conditional_access::Policy;
use portcullis_domain::policy::{Fido2Configuration, MethodConfiguration, MethodId};
use portcullis_domain::strength::StrengthDocument;
use portcullis_service::{version, Service, ServiceError};
use portcullis_testkit::both;
use serde_json::json;

use super::{op, service};

async fn fido2(svc: &Service) -> Fido2Configuration {
    match svc.method_configuration(MethodId::Fido2).await.unwrap() {
        MethodConfiguration::Fido2(f) => f,
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn a_save_prepared_on_an_older_version_is_refused_and_two_at_once_land_once() {
    for t in both().await {
        let (svc, _) = service(&t, Default::default()).await;
        let name = t.name;

        // A method configuration: stale refused, current accepted.
        let opened = fido2(&svc).await;
        let v = version::of(&opened);
        let theirs = Fido2Configuration {
            is_self_service_registration_allowed: false,
            ..opened.clone()
        };
        svc.save_method_configuration(&op(), MethodConfiguration::Fido2(theirs.clone()), false)
            .await
            .unwrap();
        let mine = Fido2Configuration {
            is_attestation_enforced: !opened.is_attestation_enforced,
            ..opened.clone()
        };
        let r = svc
            .save_method_configuration_opened_on(
                &op(),
                MethodConfiguration::Fido2(mine.clone()),
                false,
                Some(&v),
            )
            .await;
        assert!(matches!(r, Err(ServiceError::Stale)), "{name}: {r:?}");
        assert_eq!(fido2(&svc).await, theirs, "{name}: theirs stands");

        // Two saves prepared on the same version, at once: exactly one lands.
        let v = version::of(&theirs);
        // Each changes something, so whichever lands first changes the version.
        let a = Fido2Configuration {
            is_self_service_registration_allowed: true,
            ..theirs.clone()
        };
        let b = Fido2Configuration {
            is_attestation_enforced: !theirs.is_attestation_enforced,
            ..theirs.clone()
        };
        let actor = op();
        let (ra, rb) = tokio::join!(
            svc.save_method_configuration_opened_on(
                &actor,
                MethodConfiguration::Fido2(a),
                false,
                Some(&v)
            ),
            svc.save_method_configuration_opened_on(
                &actor,
                MethodConfiguration::Fido2(b),
                false,
                Some(&v)
            ),
        );
        assert_eq!(
            [ra.is_ok(), rb.is_ok()].iter().filter(|x| **x).count(),
            1,
            "{name}: {ra:?} {rb:?}"
        );
        let lost = [ra, rb].into_iter().find_map(Result::err);
        assert!(
            matches!(
                lost,
                Some(ServiceError::Stale) | Some(ServiceError::Store(_))
            ),
            "{name}: {lost:?}"
        );

        // A Conditional Access policy.
        let policy: Policy = serde_json::from_value(json!({
            "displayName": "Report-only", "state": "enabledForReportingButNotEnforced",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
        }))
        .unwrap();
        let saved = svc.save_ca_policy(&op(), policy, false).await.unwrap();
        let v = version::of(svc.ca_data().await.unwrap().policies().first().unwrap());
        let renamed = Policy {
            display_name: "Renamed".into(),
            ..saved.clone()
        };
        svc.save_ca_policy(&op(), renamed, false).await.unwrap();
        let mine = Policy {
            display_name: "Mine".into(),
            ..saved.clone()
        };
        let r = svc
            .save_ca_policy_opened_on(&op(), mine, false, Some(&v))
            .await;
        assert!(matches!(r, Err(ServiceError::Stale)), "{name}: {r:?}");
        assert_eq!(
            svc.ca_data().await.unwrap().policies()[0].display_name,
            "Renamed"
        );

        // A custom strength.
        let s = svc
            .add_strength(&op(), "Keys", "", &["fido2".to_string()], None)
            .await
            .unwrap();
        let v = version::of(&s);
        svc.update_strength(&op(), &s.id, Some("Keys, renamed".into()), None)
            .await
            .unwrap();
        let doc = StrengthDocument {
            id: None,
            display_name: "Mine".into(),
            description: String::new(),
            allowed_combinations: vec!["fido2".into()],
            combination_configurations: vec![],
        };
        let r = svc.replace_strength(&op(), &s.id, &doc, Some(&v)).await;
        assert!(matches!(r, Err(ServiceError::Stale)), "{name}: {r:?}");
    }
}
