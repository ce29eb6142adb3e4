//! Service rules on both backends: R2, R8, R10–R13, self-service TAP ban, audit.

// A test crate: a failed assumption is a failed test (the product denies these, Cargo.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use portcullis_domain::actor::{Actor, MethodAdminDenied};
use portcullis_domain::directory::DirectoryRole;
use portcullis_domain::lockout::LockoutPolicy;
use portcullis_domain::policy::{
    ExcludeTarget, IncludeTarget, MethodConfiguration, MethodId, MethodState, PolicyError,
    TapConfiguration, TargetError, TargetId,
};
use portcullis_domain::tap::{IssueError, IssueRequest, TapRefusal};
use portcullis_domain::Timestamp;
use portcullis_service::tap::SignInError;
use portcullis_service::{ManualClock, RequestContext, Service, ServiceError};
use portcullis_store::{audit, signins};
use portcullis_testkit::{both, TestStore};
use sqlx::Row;
use std::sync::Arc;

#[path = "service_suite/adoption.rs"]
mod adoption;
#[path = "service_suite/bursts.rs"]
mod bursts;
#[path = "service_suite/factors.rs"]
mod factors;
#[path = "service_suite/push.rs"]
mod push;
#[path = "service_suite/versions.rs"]
mod versions;
use time::macros::datetime;
use time::Duration;

const T0: Timestamp = datetime!(2026-06-01 12:00 UTC);

fn op() -> Actor {
    Actor::Operator {
        name: "test".into(),
    }
}

fn ctx(ip: &str) -> RequestContext {
    RequestContext {
        source: ip.parse().ok(),
        user_agent: "test".into(),
        ..Default::default()
    }
}

async fn service(t: &TestStore, lockout: LockoutPolicy) -> (Service, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let svc = Service::new(t.store.clone(), clock.clone(), lockout);
    svc.bootstrap("Contoso", "contoso.com")
        .await
        .expect("bootstrap")
        .expect("first bootstrap issues a pass");
    (svc, clock)
}

async fn audit_activities(svc: &Service) -> Vec<String> {
    let mut c = svc.store().conn().await.unwrap();
    audit::list(&mut c, &audit::AuditFilter::default(), 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.activity_display_name)
        .collect()
}

#[tokio::test]
async fn r2_r8_only_security_groups_and_all_or_nothing() {
    for t in both().await {
        let (svc, _) = service(&t, LockoutPolicy::default()).await;
        let sec = svc.add_group(&op(), "Passkey pilots", true).await.unwrap();
        let m365 = svc.add_group(&op(), "Marketing", false).await.unwrap();
        let before = svc.method_configuration(MethodId::Fido2).await.unwrap();
        let audits_before = audit_activities(&svc).await.len();

        // One good group and one non-security group in the same save: nothing lands.
        let MethodConfiguration::Fido2(mut f) = before.clone() else {
            unreachable!()
        };
        f.include_targets = vec![IncludeTarget::of(TargetId::Group(sec.id))];
        f.exclude_targets = vec![ExcludeTarget::group(m365.id)];
        let err = svc
            .save_method_configuration(&op(), MethodConfiguration::Fido2(f.clone()), false)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ServiceError::Policy(PolicyError::Target(TargetError::NotSecurityGroup { .. }))
            ),
            "{}: {err}",
            t.name
        );
        assert!(
            err.to_string().contains("Marketing")
                && err.to_string().contains("not a security group"),
            "{err}"
        );
        assert_eq!(
            svc.method_configuration(MethodId::Fido2).await.unwrap(),
            before,
            "{}: refused save changed nothing",
            t.name
        );
        assert_eq!(
            audit_activities(&svc).await.len(),
            audits_before,
            "{}: refused save logged nothing",
            t.name
        );

        f.exclude_targets.clear();
        svc.save_method_configuration(&op(), MethodConfiguration::Fido2(f.clone()), false)
            .await
            .unwrap();
        assert_eq!(
            svc.method_configuration(MethodId::Fido2).await.unwrap(),
            MethodConfiguration::Fido2(f),
            "{}",
            t.name
        );
        assert_eq!(
            audit_activities(&svc).await[0],
            "Authentication Methods Policy Update"
        );

        // PATCH path: an unknown group id is refused too.
        let patch = serde_json::json!({"includeTargets": [{"id": uuid::Uuid::new_v4().to_string(), "targetType": "group"}]});
        assert!(matches!(
            svc.patch_method_configuration(&op(), MethodId::Fido2, patch, false)
                .await,
            Err(ServiceError::Policy(PolicyError::Target(
                TargetError::UnknownGroup(_)
            )))
        ));
    }
}

#[tokio::test]
async fn r10_r11_lifetime_bounds_and_one_pass_per_user() {
    for t in both().await {
        let (svc, clock) = service(&t, LockoutPolicy::default()).await;
        svc.add_user(&op(), "bob@contoso.com", "Bob").await.unwrap();
        for bad in [9, 59, 481, 50_000] {
            let err = svc
                .create_tap(
                    &op(),
                    "bob@contoso.com",
                    IssueRequest {
                        lifetime_minutes: Some(bad),
                        ..Default::default()
                    },
                )
                .await
                .unwrap_err();
            assert!(
                matches!(err, ServiceError::Issue(IssueError::Lifetime { .. })),
                "{}: {bad}: {err}",
                t.name
            );
        }
        assert!(
            svc.tap_for(&op(), "bob@contoso.com")
                .await
                .unwrap()
                .is_none(),
            "{}: refused creations stored nothing",
            t.name
        );

        // Policy bounds are themselves bounded (R10).
        let bad_policy = MethodConfiguration::TemporaryAccessPass(TapConfiguration {
            state: MethodState::Enabled,
            minimum_lifetime_in_minutes: 5,
            ..Default::default()
        });
        assert!(matches!(
            svc.save_method_configuration(&op(), bad_policy, false)
                .await,
            Err(ServiceError::Policy(PolicyError::Invalid { .. }))
        ));

        let first = svc
            .create_tap(&op(), "bob@contoso.com", IssueRequest::default())
            .await
            .unwrap();
        let second = svc
            .create_tap(
                &op(),
                "bob@contoso.com",
                IssueRequest {
                    lifetime_minutes: Some(120),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let mut c = t.store.conn().await.unwrap();
        let n: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM temporary_access_passes WHERE user_id = $1")
                .bind(first.user.id.to_string())
                .fetch_one(&mut *c)
                .await
                .unwrap()
                .get("n");
        assert_eq!(n, 1, "{}: one pass per user", t.name);
        assert_eq!(
            svc.tap_for(&op(), "bob@contoso.com")
                .await
                .unwrap()
                .unwrap()
                .pass
                .id,
            second.pass.id
        );
        clock.advance(Duration::seconds(1));
        let r = svc
            .sign_in_with_tap("bob@contoso.com", &first.code, &ctx("10.0.0.1"))
            .await;
        assert!(
            matches!(r, Err(SignInError::Refused(TapRefusal::WrongCode))),
            "{}: the replaced pass no longer works",
            t.name
        );
        svc.sign_in_with_tap("bob@contoso.com", &second.code, &ctx("10.0.0.1"))
            .await
            .expect("the new pass works");
    }
}

#[tokio::test]
async fn r11_code_is_stored_only_as_a_hash() {
    for t in both().await {
        let (svc, _) = service(&t, LockoutPolicy::default()).await;
        svc.add_user(&op(), "erin@contoso.com", "Erin")
            .await
            .unwrap();
        let issued = svc
            .create_tap(&op(), "erin@contoso.com", IssueRequest::default())
            .await
            .unwrap();
        assert_eq!(issued.code.len(), 8, "default length 8");
        let mut c = t.store.conn().await.unwrap();
        let hash: String =
            sqlx::query("SELECT code_hash FROM temporary_access_passes WHERE id = $1")
                .bind(issued.pass.id.to_string())
                .fetch_one(&mut *c)
                .await
                .unwrap()
                .get("code_hash");
        assert!(hash.starts_with("$argon2id$"), "{}: {hash}", t.name);
        assert!(!hash.contains(&issued.code));
        // The code appears in no text column of any table.
        for (table, cols) in [
            ("temporary_access_passes", "id || code_hash"),
            (
                "audit_log",
                "activity || COALESCE(before_json, '') || COALESCE(after_json, '') || reason",
            ),
            ("sign_in_log", "upn || COALESCE(failure_reason, '')"),
        ] {
            let rows = sqlx::query(&format!("SELECT {cols} AS t FROM {table}"))
                .fetch_all(&mut *c)
                .await
                .unwrap();
            for r in rows {
                let text: String = r.get("t");
                assert!(
                    !text.contains(&issued.code),
                    "{}: code leaked into {table}",
                    t.name
                );
            }
        }
    }
}

#[tokio::test]
async fn r12_pass_works_only_inside_its_window() {
    for t in both().await {
        let (svc, clock) = service(&t, LockoutPolicy::default()).await;
        svc.add_user(&op(), "frank@contoso.com", "Frank")
            .await
            .unwrap();
        let start = T0 + Duration::hours(1);
        let p = svc
            .create_tap(
                &op(),
                "frank@contoso.com",
                IssueRequest {
                    start_at: Some(start),
                    lifetime_minutes: Some(60),
                    is_usable_once: Some(false),
                },
            )
            .await
            .unwrap();
        let ip = ctx("10.0.0.2");
        let r = svc
            .sign_in_with_tap("frank@contoso.com", &p.code, &ip)
            .await;
        assert!(
            matches!(r, Err(SignInError::Refused(TapRefusal::NotYetValid(_)))),
            "{}",
            t.name
        );
        clock.set(start);
        let s = svc
            .sign_in_with_tap("frank@contoso.com", &p.code, &ip)
            .await
            .expect("usable at its start");
        assert_eq!(
            s.session.expires_at,
            start + Duration::minutes(60),
            "{}: the session ends with the pass",
            t.name
        );
        clock.set(start + Duration::minutes(59));
        svc.sign_in_with_tap("frank@contoso.com", &p.code, &ip)
            .await
            .expect("multi-use pass works again inside its window");
        clock.set(start + Duration::minutes(60));
        let r = svc
            .sign_in_with_tap("frank@contoso.com", &p.code, &ip)
            .await;
        assert!(
            matches!(r, Err(SignInError::Refused(TapRefusal::Expired(_)))),
            "{}",
            t.name
        );
        assert!(
            svc.session(&s.token).await.unwrap().is_none(),
            "{}: the session expired with the pass",
            t.name
        );
    }
}

#[tokio::test]
async fn r12_one_time_pass_is_consumed_exactly_once_under_50_concurrent_redemptions() {
    for t in both().await {
        let (svc, _) = service(&t, LockoutPolicy::default()).await;
        svc.add_user(&op(), "gina@contoso.com", "Gina")
            .await
            .unwrap();
        let p = svc
            .create_tap(
                &op(),
                "gina@contoso.com",
                IssueRequest {
                    is_usable_once: Some(true),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let mut tasks = vec![];
        for i in 0..50 {
            let svc = svc.clone();
            let code = p.code.clone();
            tasks.push(tokio::spawn(async move {
                svc.sign_in_with_tap("gina@contoso.com", &code, &ctx(&format!("10.1.0.{i}")))
                    .await
            }));
        }
        let (mut ok, mut used) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => ok += 1,
                Err(SignInError::Refused(TapRefusal::AlreadyUsed)) => used += 1,
                Err(e) => panic!("{}: unexpected outcome {e}", t.name),
            }
        }
        assert_eq!(
            (ok, used),
            (1, 49),
            "{}: exactly one redemption succeeds",
            t.name
        );
        let mut c = t.store.conn().await.unwrap();
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM sessions WHERE user_id = $1")
            .bind(p.user.id.to_string())
            .fetch_one(&mut *c)
            .await
            .unwrap()
            .get("n");
        assert_eq!(n, 1, "{}: one session", t.name);
    }
}

#[tokio::test]
async fn r13_wrong_codes_lock_the_account_and_the_source_and_the_lock_out_is_logged() {
    for t in both().await {
        let policy = LockoutPolicy {
            max_failures_per_user: 3,
            max_failures_per_source: 5,
            window_seconds: 600,
        };
        let (svc, clock) = service(&t, policy).await;
        svc.add_user(&op(), "hank@contoso.com", "Hank")
            .await
            .unwrap();
        let p = svc
            .create_tap(&op(), "hank@contoso.com", IssueRequest::default())
            .await
            .unwrap();
        let ip = ctx("10.2.0.1");
        for _ in 0..2 {
            assert!(matches!(
                svc.sign_in_with_tap("hank@contoso.com", "WRONGWRONG", &ip)
                    .await,
                Err(SignInError::Refused(TapRefusal::WrongCode))
            ));
        }
        let third = svc
            .sign_in_with_tap("hank@contoso.com", "WRONGWRONG", &ip)
            .await;
        assert!(
            matches!(
                third,
                Err(SignInError::Refused(TapRefusal::LockedOut { .. }))
            ),
            "{}: third wrong code locks",
            t.name
        );
        // Even the right code is refused while locked, from any address.
        let r = svc
            .sign_in_with_tap("hank@contoso.com", &p.code, &ctx("10.9.9.9"))
            .await;
        assert!(
            matches!(r, Err(SignInError::Refused(TapRefusal::LockedOut { .. }))),
            "{}",
            t.name
        );
        let mut c = t.store.conn().await.unwrap();
        let log = signins::recent(&mut c, 50).await.unwrap();
        assert!(
            log.iter()
                .any(|e| e.failure_code.as_deref() == Some("lockedOut") && e.error_code == 50053),
            "{}: lock-out logged",
            t.name
        );
        drop(c);
        clock.advance(Duration::seconds(601));
        svc.sign_in_with_tap("hank@contoso.com", &p.code, &ctx("10.9.9.9"))
            .await
            .expect("unlocked after the window");

        // Per source: unknown names from one address lock that address for everyone.
        let bad_ip = ctx("10.3.0.1");
        for i in 0..5 {
            let _ = svc
                .sign_in_with_tap(&format!("nobody{i}@contoso.com"), "x", &bad_ip)
                .await;
        }
        let r = svc
            .sign_in_with_tap("hank@contoso.com", &p.code, &bad_ip)
            .await;
        assert!(
            matches!(r, Err(SignInError::Refused(TapRefusal::LockedOut { .. }))),
            "{}",
            t.name
        );
    }
}

#[tokio::test]
async fn administrators_cannot_create_a_pass_for_themselves() {
    for t in both().await {
        let (svc, _) = service(&t, LockoutPolicy::default()).await;
        let ga = svc.add_user(&op(), "ga@contoso.com", "GA").await.unwrap();
        svc.assign_role(&op(), "ga@contoso.com", DirectoryRole::GlobalAdministrator)
            .await
            .unwrap();
        let aa = svc.add_user(&op(), "aa@contoso.com", "AA").await.unwrap();
        svc.assign_role(
            &op(),
            "aa@contoso.com",
            DirectoryRole::AuthenticationAdministrator,
        )
        .await
        .unwrap();
        svc.add_user(&op(), "ivy@contoso.com", "Ivy").await.unwrap();
        let as_ga = Actor::User {
            id: ga.id,
            upn: "ga@contoso.com".into(),
            roles: vec![DirectoryRole::GlobalAdministrator],
        };
        let as_aa = Actor::User {
            id: aa.id,
            upn: "aa@contoso.com".into(),
            roles: vec![DirectoryRole::AuthenticationAdministrator],
        };
        let err = svc
            .create_tap(&as_ga, "ga@contoso.com", IssueRequest::default())
            .await
            .unwrap_err();
        assert!(
            matches!(err, ServiceError::Forbidden(MethodAdminDenied::SelfService)),
            "{}: {err}",
            t.name
        );
        assert!(
            svc.tap_for(&op(), "ga@contoso.com")
                .await
                .unwrap()
                .is_none(),
            "{}: nothing stored",
            t.name
        );
        svc.create_tap(&as_ga, "ivy@contoso.com", IssueRequest::default())
            .await
            .expect("GA for another user");
        assert!(matches!(
            svc.create_tap(&as_aa, "ga@contoso.com", IssueRequest::default())
                .await,
            Err(ServiceError::Forbidden(MethodAdminDenied::TargetIsAdmin))
        ));
        svc.create_tap(&as_aa, "ivy@contoso.com", IssueRequest::default())
            .await
            .expect("AA for a non-admin");
    }
}

#[tokio::test]
async fn every_change_is_audited_with_actor_before_and_after() {
    for t in both().await {
        let (svc, _) = service(&t, LockoutPolicy::default()).await;
        svc.add_user(&op(), "judy@contoso.com", "Judy")
            .await
            .unwrap();
        svc.add_group(&op(), "Pilots", true).await.unwrap();
        svc.add_member(&op(), "Pilots", "judy@contoso.com")
            .await
            .unwrap();
        svc.assign_role(&op(), "judy@contoso.com", DirectoryRole::ReportsReader)
            .await
            .unwrap();
        svc.patch_method_configuration(
            &op(),
            MethodId::TemporaryAccessPass,
            serde_json::json!({"defaultLifetimeInMinutes": 90}),
            false,
        )
        .await
        .unwrap();
        svc.create_tap(&op(), "judy@contoso.com", IssueRequest::default())
            .await
            .unwrap();
        svc.delete_tap(&op(), "judy@contoso.com").await.unwrap();
        svc.set_user_enabled(&op(), "judy@contoso.com", false)
            .await
            .unwrap();
        svc.reset_method_configuration(&op(), MethodId::TemporaryAccessPass)
            .await
            .unwrap();
        let mut c = t.store.conn().await.unwrap();
        let entries = audit::list(&mut c, &audit::AuditFilter::default(), 100)
            .await
            .unwrap();
        let mine: Vec<_> = entries
            .iter()
            .filter(|e| e.actor_type == "operator")
            .collect();
        let acts: Vec<&str> = mine
            .iter()
            .rev()
            .map(|e| e.activity_display_name.as_str())
            .collect();
        assert_eq!(
            acts,
            [
                "Add user",
                "Add group",
                "Add member to group",
                "Add member to role",
                "Authentication Methods Policy Update",
                "Admin registered security info",
                "Admin deleted security info",
                "Disable account",
                "Authentication Methods Policy Reset"
            ],
            "{}",
            t.name
        );
        let upd = mine
            .iter()
            .find(|e| e.activity_display_name == "Authentication Methods Policy Update")
            .unwrap();
        assert_eq!(upd.before.as_ref().unwrap()["defaultLifetimeInMinutes"], 60);
        assert_eq!(upd.after.as_ref().unwrap()["defaultLifetimeInMinutes"], 90);
        let dis = mine
            .iter()
            .find(|e| e.activity_display_name == "Disable account")
            .unwrap();
        assert_eq!(
            (
                dis.before.clone().unwrap()["accountEnabled"].clone(),
                dis.after.clone().unwrap()["accountEnabled"].clone()
            ),
            (true.into(), false.into())
        );
        assert!(mine.iter().all(|e| e.actor_name == "operator test (CLI)"));
        // The bootstrap's own changes are attributed to the system.
        assert!(entries
            .iter()
            .any(|e| e.actor_type == "system" && e.activity_display_name == "Add member to role"));
    }
}

#[tokio::test]
async fn bootstrap_happens_once() {
    for t in both().await {
        let (svc, _) = service(&t, LockoutPolicy::default()).await;
        assert!(
            svc.bootstrap("Contoso", "contoso.com")
                .await
                .unwrap()
                .is_none(),
            "{}",
            t.name
        );
        assert_eq!(svc.list_users().await.unwrap().len(), 1);
        let (admin, _, roles) = svc.user_details("admin@contoso.com").await.unwrap();
        assert!(admin.account_enabled);
        assert_eq!(roles, vec![DirectoryRole::GlobalAdministrator]);
    }
}

#[tokio::test]
async fn tap_sign_in_respects_policy_state_scope_and_disabled_accounts() {
    for t in both().await {
        let (svc, _) = service(&t, LockoutPolicy::default()).await;
        svc.add_user(&op(), "kim@contoso.com", "Kim").await.unwrap();
        let grp = svc.add_group(&op(), "No TAP", true).await.unwrap();
        svc.add_member(&op(), "No TAP", "kim@contoso.com")
            .await
            .unwrap();
        let p = svc
            .create_tap(
                &op(),
                "kim@contoso.com",
                IssueRequest {
                    is_usable_once: Some(false),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let ip = ctx("10.4.0.1");
        let ex = serde_json::json!({"excludeTargets": [{"id": grp.id.to_string(), "targetType": "group"}]});
        svc.patch_method_configuration(&op(), MethodId::TemporaryAccessPass, ex, false)
            .await
            .unwrap();
        assert!(
            matches!(
                svc.sign_in_with_tap("kim@contoso.com", &p.code, &ip).await,
                Err(SignInError::Refused(TapRefusal::NotInScope(_)))
            ),
            "{}",
            t.name
        );
        svc.patch_method_configuration(
            &op(),
            MethodId::TemporaryAccessPass,
            serde_json::json!({"excludeTargets": [], "state": "disabled"}),
            false,
        )
        .await
        .unwrap();
        assert!(matches!(
            svc.sign_in_with_tap("kim@contoso.com", &p.code, &ip).await,
            Err(SignInError::Refused(TapRefusal::MethodDisabled))
        ));
        svc.patch_method_configuration(
            &op(),
            MethodId::TemporaryAccessPass,
            serde_json::json!({"state": "enabled"}),
            false,
        )
        .await
        .unwrap();
        let s = svc
            .sign_in_with_tap("kim@contoso.com", &p.code, &ip)
            .await
            .expect("in scope again");
        svc.set_user_enabled(&op(), "kim@contoso.com", false)
            .await
            .unwrap();
        assert!(
            svc.session(&s.token).await.unwrap().is_none(),
            "{}: disabling ends sessions",
            t.name
        );
        assert!(matches!(
            svc.sign_in_with_tap("kim@contoso.com", &p.code, &ip).await,
            Err(SignInError::Refused(TapRefusal::AccountDisabled))
        ));
        assert!(matches!(
            svc.sign_in_with_tap("not a name", &p.code, &ip).await,
            Err(SignInError::Refused(TapRefusal::MalformedUsername))
        ));
        let huge = "x".repeat(10_000);
        svc.set_user_enabled(&op(), "kim@contoso.com", true)
            .await
            .unwrap();
        assert!(matches!(
            svc.sign_in_with_tap("kim@contoso.com", &huge, &ip).await,
            Err(SignInError::Refused(TapRefusal::WrongCode))
        ));
    }
}

/// R60: housekeeping deletes expired ceremonies, failures the lock-out window no longer
/// counts, and sign-in log entries past the retention — and nothing younger.
#[tokio::test]
async fn housekeeping_bounds_what_anonymous_requests_write() {
    use portcullis_service::housekeeping::Retention;
    use portcullis_store::{ceremonies, lockout, signins};
    for t in both().await {
        let (svc, _clock) = service(&t, LockoutPolicy::default()).await;
        let now = svc.now();
        let mut c = t.store.conn().await.unwrap();
        for (i, ttl) in [(1u128, -1i64), (2, 5)] {
            ceremonies::insert(
                &mut c,
                uuid::Uuid::from_u128(i),
                &ceremonies::Ceremony {
                    kind: "authenticate".into(),
                    user_id: None,
                    state: "{}".into(),
                    expires_at: now + time::Duration::minutes(ttl),
                },
                now,
            )
            .await
            .unwrap();
        }
        lockout::record_failure(&mut c, None, "203.0.113.9", now - time::Duration::hours(2))
            .await
            .unwrap();
        lockout::record_failure(&mut c, None, "203.0.113.9", now)
            .await
            .unwrap();
        for age in [40, 1] {
            let mut e = ctx("203.0.113.9").sign_in_event(
                now - time::Duration::days(age),
                None,
                "nobody@contoso.com",
                "tap",
                Some((50126, "invalidCode", "wrong".into())),
            );
            e.id = uuid::Uuid::new_v4().to_string();
            signins::append(&mut c, &e).await.unwrap();
        }
        // Marks of spent sealed sign-in ceremonies: kept an hour past expiry, for nodes
        // whose clocks differ; one expired two hours ago goes, one 30 minutes ago stays.
        for (i, ago) in [(3u128, 120i64), (4, 30)] {
            assert!(ceremonies::spend(
                &mut c,
                uuid::Uuid::from_u128(i),
                now - time::Duration::minutes(ago)
            )
            .await
            .unwrap());
        }
        drop(c);
        let pruned = svc.housekeeping(&Retention::default()).await.unwrap();
        assert_eq!(
            (pruned.ceremonies, pruned.failures, pruned.sign_ins),
            (2, 1, 1),
            "{}",
            t.name
        );
        let again = svc.housekeeping(&Retention::default()).await.unwrap();
        assert_eq!(
            (again.ceremonies, again.failures, again.sign_ins),
            (0, 0, 0),
            "{}: the young ones stay",
            t.name
        );
        let mut c = t.store.conn().await.unwrap();
        assert!(
            !ceremonies::spend(&mut c, uuid::Uuid::from_u128(4), now)
                .await
                .unwrap(),
            "{}: the mark inside the margin is still there",
            t.name
        );
    }
}

/// Issue 12, point 9: a pass issued while its user was no administrator — perhaps by an
/// Authentication Administrator, who may not manage an administrator's methods — is revoked
/// when the user becomes one, with the sessions it opened.
#[tokio::test]
async fn a_pass_is_revoked_with_its_sessions_when_its_user_becomes_an_administrator() {
    use portcullis_domain::directory::DirectoryRole;
    for t in both().await {
        let (svc, _) = service(&t, LockoutPolicy::default()).await;
        svc.add_user(&op(), "ivy@contoso.com", "Ivy").await.unwrap();
        svc.add_user(&op(), "aa@contoso.com", "AA").await.unwrap();
        svc.assign_role(
            &op(),
            "aa@contoso.com",
            DirectoryRole::AuthenticationAdministrator,
        )
        .await
        .unwrap();
        let aa = svc.user("aa@contoso.com").await.unwrap();
        let aa_actor = Actor::User {
            id: aa.id,
            upn: "aa@contoso.com".into(),
            roles: vec![DirectoryRole::AuthenticationAdministrator],
        };
        let pass = svc
            .create_tap(
                &aa_actor,
                "ivy@contoso.com",
                IssueRequest {
                    is_usable_once: Some(false),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let signed = svc
            .sign_in_with_tap("ivy@contoso.com", &pass.code, &ctx("10.0.0.1"))
            .await
            .unwrap();
        // A Reports Reader is no administrator here: nothing changes.
        svc.assign_role(&op(), "ivy@contoso.com", DirectoryRole::ReportsReader)
            .await
            .unwrap();
        assert!(
            svc.session(&signed.token).await.unwrap().is_some(),
            "{}",
            t.name
        );
        svc.assign_role(&op(), "ivy@contoso.com", DirectoryRole::GlobalAdministrator)
            .await
            .unwrap();
        assert!(
            svc.tap_for(&op(), "ivy@contoso.com")
                .await
                .unwrap()
                .is_none(),
            "{}: the pass is gone",
            t.name
        );
        assert!(
            svc.session(&signed.token).await.unwrap().is_none(),
            "{}: and the session it opened",
            t.name
        );
        assert!(svc
            .sign_in_with_tap("ivy@contoso.com", &pass.code, &ctx("10.0.0.1"))
            .await
            .is_err());
        assert!(audit_activities(&svc)
            .await
            .iter()
            .any(|a| a == "Delete temporary access pass method for user"));
    }
}
