//! Conditional Access decisions through the service on both backends, with a clock the test
//! moves: scenario 4 of issue 6 (approved client app on All resources; a time-bound exclusion
//! that lets the user register and then expires on its own), and What If agreeing.

// A test crate: a failed assumption is a failed test (the product denies these, Cargo.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use portcullis_domain::actor::Actor;
use portcullis_domain::conditional_access::platform::ClientAppType;
use portcullis_domain::conditional_access::remedy::Verdict;
use portcullis_domain::conditional_access::Policy;
use portcullis_domain::directory::AUTHENTICATOR_APP;
use portcullis_domain::lockout::LockoutPolicy;
use portcullis_domain::strength::UsedMethod;
use portcullis_domain::tap::IssueRequest;
use portcullis_domain::Timestamp;
use portcullis_service::conditional_access::WhatIf;
use portcullis_service::{ManualClock, RequestContext, Service};
use portcullis_testkit::both;
use serde_json::json;
use std::sync::Arc;
use time::macros::datetime;
use time::Duration;

const T0: Timestamp = datetime!(2026-06-01 12:00 UTC);

fn op() -> Actor {
    Actor::Operator {
        name: "test".into(),
    }
}

fn android() -> RequestContext {
    RequestContext {
        source: "10.9.8.7".parse().ok(),
        user_agent: "Mozilla/5.0 (Linux; Android 14; Pixel 8)".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn approved_app_blocks_the_authenticator_and_a_time_bound_exclusion_expires_by_itself() {
    for t in both().await {
        let clock = Arc::new(ManualClock::new(T0));
        let svc = Service::new(t.store.clone(), clock.clone(), LockoutPolicy::default());
        svc.bootstrap("Contoso", "contoso.com")
            .await
            .unwrap()
            .unwrap();
        let user = svc
            .add_user(&op(), "gina@contoso.com", "Gina")
            .await
            .unwrap();
        let pass = svc
            .create_tap(&op(), "gina@contoso.com", IssueRequest::default())
            .await
            .unwrap();
        let signed_in = svc
            .sign_in_with_tap("gina@contoso.com", &pass.code, &android())
            .await
            .unwrap();
        let authenticator = svc.application(AUTHENTICATOR_APP.app_id).await.unwrap();
        let mut policy: Policy = serde_json::from_value(json!({
            "displayName": "Approved apps only", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"], "excludeRoles": ["62e90394-69f5-4237-9190-012177145e10"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "builtInControls": ["approvedApplication", "compliantApplication"]}
        }))
        .unwrap();
        policy = svc.save_ca_policy(&op(), policy, false).await.unwrap();

        // R42: the Authenticator is neither an approved nor a protected app: registering in it loops.
        let (d, _) = svc
            .access_decision(
                &signed_in.user,
                &signed_in.session,
                &authenticator,
                &android(),
                None,
            )
            .await
            .unwrap();
        assert!(
            matches!(&d.verdict, Verdict::Refused { is_loop: true, .. })
                && portcullis_service::render::denial(&d.verdict)
                    .is_some_and(|d| d.reason.contains("approved client app")),
            "{}: {:?}",
            t.name,
            d.verdict
        );
        let what_if = WhatIf {
            user: "gina@contoso.com".into(),
            application: Some(AUTHENTICATOR_APP.app_id.into()),
            platform: None,
            ip: None,
            client_app_type: ClientAppType::MobileAppsAndDesktopClients,
            device: None,
            methods: vec![UsedMethod::TAP],
        };
        assert!(
            matches!(
                svc.what_if(&what_if).await.unwrap().1,
                Verdict::Refused { is_loop: true, .. }
            ),
            "What If agrees"
        );

        // A time-bound exclusion lets her in for a day, then expires on its own.
        policy.conditions.users.temporary_exclusions =
            vec![portcullis_domain::conditional_access::TemporaryExclusion {
                user_id: user.id.to_string(),
                until: "2026-06-02T12:00:00Z".into(),
            }];
        svc.save_ca_policy(&op(), policy, false).await.unwrap();
        let (d, _) = svc
            .access_decision(
                &signed_in.user,
                &signed_in.session,
                &authenticator,
                &android(),
                None,
            )
            .await
            .unwrap();
        assert_eq!(d.verdict, Verdict::Allow, "{}: excluded for now", t.name);
        assert_eq!(
            d.evaluation.policies[0].not_applied_because.list(),
            vec!["users"]
        );
        clock.advance(Duration::days(1) + Duration::seconds(1));
        let (d, _) = svc
            .access_decision(
                &signed_in.user,
                &signed_in.session,
                &authenticator,
                &android(),
                None,
            )
            .await
            .unwrap();
        assert!(
            matches!(d.verdict, Verdict::Refused { .. }),
            "{}: the exclusion ended by itself: {:?}",
            t.name,
            d.verdict
        );
    }
}

/// Each node keeps its parsed configuration between decisions; a change saved or deleted on
/// another node must be seen by this node's very next decision (R41 on every node).
#[tokio::test]
async fn a_policy_changed_on_another_node_applies_to_the_next_decision_here() {
    for t in both().await {
        let clock = Arc::new(ManualClock::new(T0));
        let here = Service::new(t.store.clone(), clock.clone(), LockoutPolicy::default());
        here.bootstrap("Contoso", "contoso.com")
            .await
            .unwrap()
            .unwrap();
        here.add_user(&op(), "hal@contoso.com", "Hal")
            .await
            .unwrap();
        let there = Service::new(
            portcullis_store::Store::open(&t.url).await.unwrap(),
            clock.clone(),
            LockoutPolicy::default(),
        );
        let ask = WhatIf {
            user: "hal@contoso.com".into(),
            application: Some(AUTHENTICATOR_APP.app_id.into()),
            platform: None,
            ip: None,
            client_app_type: ClientAppType::MobileAppsAndDesktopClients,
            device: None,
            methods: vec![],
        };
        assert_eq!(
            here.what_if(&ask).await.unwrap().1,
            Verdict::Allow,
            "{}: no policy yet (and now cached here)",
            t.name
        );
        let block: Policy = serde_json::from_value(json!({
            "displayName": "Block everyone but admins", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"], "excludeRoles": ["62e90394-69f5-4237-9190-012177145e10"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "builtInControls": ["block"]}
        }))
        .unwrap();
        let saved = there.save_ca_policy(&op(), block, false).await.unwrap();
        assert!(
            matches!(here.what_if(&ask).await.unwrap().1, Verdict::Refused { .. }),
            "{}: the other node's policy applies here at once",
            t.name
        );
        there.delete_ca_policy(&op(), &saved.id).await.unwrap();
        assert_eq!(
            here.what_if(&ask).await.unwrap().1,
            Verdict::Allow,
            "{}: and so does its deletion",
            t.name
        );
    }
}

/// R45 on an update: switching a saved, disabled "block everyone" policy on is checked
/// against the configuration as it would be, not an index of the one before (an update
/// keeps the number of policies, so a stale index once passed for current).
#[tokio::test]
async fn r45_enabling_a_saved_blocking_policy_is_refused_like_saving_it_enabled() {
    for t in both().await {
        let svc = Service::new(
            t.store.clone(),
            Arc::new(ManualClock::new(T0)),
            LockoutPolicy::default(),
        );
        svc.bootstrap("Contoso", "contoso.com")
            .await
            .unwrap()
            .unwrap();
        let block = |state: &str| -> Policy {
            serde_json::from_value(json!({
                "displayName": "Block everyone", "state": state,
                "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
                "grantControls": {"operator": "OR", "builtInControls": ["block"]}
            }))
            .unwrap()
        };
        let saved = svc
            .save_ca_policy(&op(), block("disabled"), false)
            .await
            .unwrap();
        let mut on = block("enabled");
        on.id = saved.id.clone();
        let err = svc
            .save_ca_policy(&op(), on.clone(), false)
            .await
            .expect_err("R45: the update locks every admin out")
            .to_string();
        assert!(err.contains("R45"), "{}: {err}", t.name);
        svc.save_ca_policy(&op(), on, true)
            .await
            .expect("accepted explicitly");
    }
}

mod readiness;
