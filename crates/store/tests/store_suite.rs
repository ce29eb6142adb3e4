//! The store suite: every test runs on SQLite and on PostgreSQL.

// A test crate: a failed assumption is a failed test (the product denies these, Cargo.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use portcullis_domain::actor::Actor;
use portcullis_domain::application::IdTokenSigning;
use portcullis_domain::audit::{kinds, AuditRecord, AuditTarget, Operation};
use portcullis_domain::directory::{DirectoryRole, Group, Upn, User};
use portcullis_domain::policy::{MethodConfiguration, MethodId, MethodState};
use portcullis_domain::session::{AuthMethod, Session};
use portcullis_domain::tap::TemporaryAccessPass;
use portcullis_domain::Timestamp;
use portcullis_store::{audit, directory, lockout, policy, sessions, tap, tenant, token_reads};
use portcullis_testkit::both;
use time::macros::datetime;
use time::Duration;
use uuid::Uuid;

#[path = "store_suite/batches.rs"]
mod batches;
#[path = "store_suite/bulk.rs"]
mod bulk;
#[path = "store_suite/campaign.rs"]
mod campaign;
#[path = "store_suite/connections.rs"]
mod connections;
#[path = "store_suite/decision_reads.rs"]
mod decision_reads;
#[path = "store_suite/forwarders.rs"]
mod forwarders;
#[path = "store_suite/signins.rs"]
mod signins;

const NOW: Timestamp = datetime!(2026-06-01 12:00 UTC);

/// A session of `user` with no passkey (its NULLs bound as text, as PostgreSQL needs).
fn session_for(user: Uuid) -> Session {
    Session {
        id: Uuid::new_v4(),
        user_id: user,
        auth_time: NOW,
        methods: vec![AuthMethod::Passkey],
        expires_at: NOW + Duration::hours(1),
        passkey_aaguid: None,
        passkey_attested: false,
        credential_id: None,
        campaign_pending: false,
    }
}

fn user(upn: &str) -> User {
    User {
        id: Uuid::new_v4(),
        user_principal_name: Upn::parse(upn).unwrap(),
        display_name: upn.into(),
        account_enabled: true,
        created_date_time: NOW,
    }
}

#[tokio::test]
async fn users_roundtrip_unique_upn_and_paging() {
    for t in both().await {
        let mut c = t.store.conn().await.unwrap();
        let mut made = vec![];
        for i in 0..7 {
            let u = user(&format!("user{i}@contoso.com"));
            directory::insert_user(&mut c, &u).await.unwrap();
            made.push(u);
        }
        let got = directory::user_by_upn(&mut c, &made[3].user_principal_name)
            .await
            .unwrap();
        assert_eq!(got.as_ref(), Some(&made[3]), "{}", t.name);
        let dup = User {
            id: Uuid::new_v4(),
            ..made[0].clone()
        };
        let err = directory::insert_user(&mut c, &dup).await.unwrap_err();
        assert!(
            err.is_unique_violation(),
            "{}: duplicate UPN must violate uniqueness: {err}",
            t.name
        );
        directory::set_user_enabled(&mut c, made[1].id, false)
            .await
            .unwrap();
        assert!(
            !directory::user_by_id(&mut c, made[1].id)
                .await
                .unwrap()
                .unwrap()
                .account_enabled,
            "{}",
            t.name
        );
        let page1 = directory::list_users(&mut c, None, 3).await.unwrap();
        let page2 = directory::list_users(&mut c, Some(page1[2].user_principal_name.as_str()), 3)
            .await
            .unwrap();
        let page3 = directory::list_users(&mut c, Some(page2[2].user_principal_name.as_str()), 3)
            .await
            .unwrap();
        assert_eq!(
            (page1.len(), page2.len(), page3.len()),
            (3, 3, 1),
            "{}",
            t.name
        );
        assert_eq!(directory::count_users(&mut c).await.unwrap(), 7);
    }
}

#[tokio::test]
async fn groups_memberships_and_roles() {
    for t in both().await {
        let mut c = t.store.conn().await.unwrap();
        let u = user("alice@contoso.com");
        directory::insert_user(&mut c, &u).await.unwrap();
        let g = Group {
            id: Uuid::new_v4(),
            display_name: "Pilots".into(),
            security_enabled: true,
        };
        let m = Group {
            id: Uuid::new_v4(),
            display_name: "Marketing".into(),
            security_enabled: false,
        };
        directory::insert_group(&mut c, &g, NOW).await.unwrap();
        directory::insert_group(&mut c, &m, NOW).await.unwrap();
        assert!(directory::add_member(&mut c, g.id, u.id).await.unwrap());
        assert!(
            !directory::add_member(&mut c, g.id, u.id).await.unwrap(),
            "{}: second add is a no-op",
            t.name
        );
        assert_eq!(
            directory::member_of(&mut c, u.id).await.unwrap(),
            vec![g.id]
        );
        assert_eq!(
            directory::members(&mut c, g.id).await.unwrap(),
            vec![u.clone()]
        );
        assert_eq!(
            directory::group_by_name(&mut c, "Marketing").await.unwrap(),
            Some(m.clone())
        );
        assert!(
            !directory::group_by_id(&mut c, m.id)
                .await
                .unwrap()
                .unwrap()
                .security_enabled
        );
        assert!(
            directory::assign_role(&mut c, u.id, DirectoryRole::GlobalAdministrator, NOW)
                .await
                .unwrap()
        );
        assert!(
            !directory::assign_role(&mut c, u.id, DirectoryRole::GlobalAdministrator, NOW)
                .await
                .unwrap()
        );
        assert_eq!(
            directory::roles_of(&mut c, u.id).await.unwrap(),
            vec![DirectoryRole::GlobalAdministrator]
        );
        assert_eq!(
            directory::holders_of(&mut c, DirectoryRole::GlobalAdministrator)
                .await
                .unwrap(),
            vec![u]
        );
    }
}

#[tokio::test]
async fn tenant_is_created_once() {
    for t in both().await {
        let mut c = t.store.conn().await.unwrap();
        let ten = tenant::Tenant {
            id: Uuid::new_v4(),
            display_name: "Contoso".into(),
            domain: "contoso.com".into(),
            created_at: NOW,
            bootstrap_admin_id: None,
        };
        assert!(tenant::create_if_absent(&mut c, &ten).await.unwrap());
        let other = tenant::Tenant {
            id: Uuid::new_v4(),
            ..ten.clone()
        };
        assert!(
            !tenant::create_if_absent(&mut c, &other).await.unwrap(),
            "{}",
            t.name
        );
        assert_eq!(tenant::get(&mut c).await.unwrap(), Some(ten));
    }
}

#[tokio::test]
async fn method_configurations_roundtrip_as_graph_json() {
    for t in both().await {
        let mut c = t.store.conn().await.unwrap();
        assert_eq!(policy::get(&mut c, MethodId::Fido2).await.unwrap(), None);
        let MethodConfiguration::Fido2(mut f) = MethodConfiguration::graph_default(MethodId::Fido2)
        else {
            unreachable!()
        };
        f.state = MethodState::Enabled;
        f.key_restrictions.aa_guids = vec![uuid::uuid!("90a3ccdf-635c-4729-a248-9b709135078f")];
        let cfg = MethodConfiguration::Fido2(f);
        policy::put(&mut c, &cfg, NOW).await.unwrap();
        assert_eq!(
            policy::get(&mut c, MethodId::Fido2).await.unwrap(),
            Some(cfg.clone()),
            "{}",
            t.name
        );
        policy::put(
            &mut c,
            &MethodConfiguration::graph_default(MethodId::Fido2),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(
            policy::get(&mut c, MethodId::Fido2).await.unwrap(),
            Some(MethodConfiguration::graph_default(MethodId::Fido2))
        );
    }
}

fn pass(user: Uuid) -> TemporaryAccessPass {
    TemporaryAccessPass {
        id: Uuid::new_v4(),
        user_id: user,
        created_at: NOW,
        start_at: NOW,
        lifetime_minutes: 60,
        is_usable_once: true,
        consumed_at: None,
    }
}

#[tokio::test]
async fn r11_one_pass_per_user_replaces_the_old_one() {
    for t in both().await {
        let mut c = t.store.conn().await.unwrap();
        let u = user("bob@contoso.com");
        directory::insert_user(&mut c, &u).await.unwrap();
        let p1 = pass(u.id);
        tap::replace(&mut c, &p1, "hash-1").await.unwrap();
        let p2 = pass(u.id);
        tap::replace(&mut c, &p2, "hash-2").await.unwrap();
        let got = tap::for_user(&mut c, u.id).await.unwrap().unwrap();
        assert_eq!(
            (got.pass.id, got.code_hash.as_str()),
            (p2.id, "hash-2"),
            "{}",
            t.name
        );
        let n: i64 = sqlx::Row::get(
            &sqlx::query("SELECT COUNT(*) AS n FROM temporary_access_passes")
                .fetch_one(&mut *c)
                .await
                .unwrap(),
            "n",
        );
        assert_eq!(n, 1, "{}: exactly one pass per user", t.name);
    }
}

#[tokio::test]
async fn r12_consumption_is_a_compare_and_set_under_50_concurrent_callers() {
    for t in both().await {
        let u = user("carol@contoso.com");
        let p = pass(u.id);
        {
            let mut c = t.store.conn().await.unwrap();
            directory::insert_user(&mut c, &u).await.unwrap();
            tap::replace(&mut c, &p, "h").await.unwrap();
        }
        let mut tasks = vec![];
        for _ in 0..50 {
            let store = t.store.clone();
            tasks.push(tokio::spawn(async move {
                let mut c = store.conn().await.unwrap();
                tap::consume(&mut c, p.id, NOW).await.unwrap()
            }));
        }
        let mut wins = 0;
        for task in tasks {
            wins += usize::from(task.await.unwrap());
        }
        assert_eq!(wins, 1, "{}: exactly one consumer wins", t.name);
    }
}

#[tokio::test]
async fn lockout_failures_are_counted_per_user_and_source() {
    for t in both().await {
        let mut c = t.store.conn().await.unwrap();
        let u = Uuid::new_v4();
        for i in 0..4 {
            lockout::record_failure(&mut c, Some(u), "10.0.0.1", NOW - Duration::minutes(i))
                .await
                .unwrap();
        }
        lockout::record_failure(&mut c, None, "10.0.0.1", NOW - Duration::minutes(30))
            .await
            .unwrap();
        let uf = lockout::user_failures(&mut c, u, NOW - Duration::minutes(15), 3)
            .await
            .unwrap();
        assert_eq!(
            uf,
            vec![NOW, NOW - Duration::minutes(1), NOW - Duration::minutes(2)],
            "{}: newest first, limited",
            t.name
        );
        assert_eq!(
            lockout::source_failures(&mut c, "10.0.0.1", NOW - Duration::minutes(15), 50)
                .await
                .unwrap()
                .len(),
            4
        );
        lockout::clear_user(&mut c, u).await.unwrap();
        assert!(
            lockout::user_failures(&mut c, u, NOW - Duration::minutes(15), 3)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            lockout::prune(&mut c, NOW - Duration::minutes(20))
                .await
                .unwrap(),
            1
        );
    }
}

#[tokio::test]
async fn sessions_are_found_by_token_hash_and_revocable() {
    for t in both().await {
        let mut c = t.store.conn().await.unwrap();
        let u = user("dave@contoso.com");
        directory::insert_user(&mut c, &u).await.unwrap();
        let s = Session {
            id: Uuid::new_v4(),
            user_id: u.id,
            auth_time: NOW,
            methods: vec![AuthMethod::TemporaryAccessPass],
            expires_at: NOW + Duration::hours(1),
            passkey_aaguid: Some(Uuid::from_u128(9)),
            passkey_attested: true,
            credential_id: Some(Uuid::from_u128(10)),
            campaign_pending: false,
        };
        sessions::insert(&mut c, "th", &s, NOW).await.unwrap();
        assert_eq!(
            sessions::by_token_hash(&mut c, "th").await.unwrap(),
            Some(s.clone()),
            "{}",
            t.name
        );
        // The reader's lookup, with its user, reads the same (on PostgreSQL through JSON).
        assert_eq!(
            sessions::with_user(t.store.reader(), "th").await.unwrap(),
            Some((s.clone(), Some(u.clone()))),
            "{}",
            t.name
        );
        assert_eq!(
            sessions::with_user(t.store.reader(), "other")
                .await
                .unwrap(),
            None,
            "{}",
            t.name
        );
        // Its empty cells too (on PostgreSQL JSON nulls).
        let bare = Session {
            id: Uuid::new_v4(),
            passkey_aaguid: None,
            passkey_attested: false,
            credential_id: None,
            campaign_pending: true,
            ..s.clone()
        };
        sessions::insert(&mut c, "bare", &bare, NOW).await.unwrap();
        assert_eq!(
            sessions::with_user(t.store.reader(), "bare").await.unwrap(),
            Some((bare, Some(u.clone()))),
            "{}",
            t.name
        );
        sessions::revoke(&mut c, "th", NOW).await.unwrap();
        assert_eq!(sessions::by_token_hash(&mut c, "th").await.unwrap(), None);
        assert_eq!(
            sessions::with_user(t.store.reader(), "th").await.unwrap(),
            None,
            "a revoked session is not read: {}",
            t.name
        );

        // R47: revoking by credential returns exactly the sessions it revoked (their grants
        // end with them), in one statement; other credentials' sessions stay.
        let mut mine = vec![];
        for (n, cred) in [(1u128, 10u128), (2, 10), (3, 11)] {
            let s = Session {
                id: Uuid::from_u128(1000 + n),
                credential_id: Some(Uuid::from_u128(cred)),
                campaign_pending: false,
                ..s.clone()
            };
            sessions::insert(&mut c, &format!("th{n}"), &s, NOW)
                .await
                .unwrap();
            if cred == 10 {
                mine.push(s.id);
            }
        }
        let mut revoked = sessions::revoke_by_credential(&mut c, u.id, Uuid::from_u128(10), NOW)
            .await
            .unwrap();
        revoked.sort();
        assert_eq!(revoked, mine, "{}", t.name);
        assert_eq!(sessions::by_token_hash(&mut c, "th1").await.unwrap(), None);
        assert!(sessions::by_token_hash(&mut c, "th3")
            .await
            .unwrap()
            .is_some());
        assert!(
            sessions::revoke_by_credential(&mut c, u.id, Uuid::from_u128(10), NOW)
                .await
                .unwrap()
                .is_empty(),
            "already revoked: nothing returned twice"
        );
    }
}

#[tokio::test]
async fn audit_entries_keep_actor_before_after_and_filter() {
    for t in both().await {
        let mut c = t.store.conn().await.unwrap();
        let rec = |activity: &'static str, at_target: &str| AuditRecord {
            activity,
            category: kinds::USER_MANAGEMENT,
            service: kinds::CORE_DIRECTORY,
            operation: Operation::Update,
            actor: Actor::Operator {
                name: "root".into(),
            },
            target: AuditTarget {
                id: at_target.into(),
                display_name: "x".into(),
                kind: "User",
            },
            before: Some(serde_json::json!({"accountEnabled": true})),
            after: Some(serde_json::json!({"accountEnabled": false})),
            reason: "test".into(),
        };
        audit::append(&mut c, &rec("Update user", "u1"), NOW - Duration::hours(2))
            .await
            .unwrap();
        audit::append(&mut c, &rec("Add user", "u2"), NOW)
            .await
            .unwrap();
        let all = audit::list(&mut c, &audit::AuditFilter::default(), 10)
            .await
            .unwrap();
        assert_eq!(all.len(), 2, "{}", t.name);
        assert_eq!(
            all[0].activity_display_name, "Add user",
            "{}: newest first",
            t.name
        );
        assert_eq!(
            all[1].before,
            Some(serde_json::json!({"accountEnabled": true}))
        );
        assert_eq!(all[1].actor_name, "operator root (CLI)");
        let f = audit::AuditFilter {
            since: Some(NOW - Duration::hours(1)),
            ..Default::default()
        };
        assert_eq!(audit::list(&mut c, &f, 10).await.unwrap().len(), 1);
        let f = audit::AuditFilter {
            activity: Some("Update user".into()),
            ..Default::default()
        };
        assert_eq!(
            audit::list(&mut c, &f, 10).await.unwrap()[0].target_id,
            "u1"
        );
    }
}

fn stored_passkey(user: Uuid, cred: &str) -> portcullis_store::passkeys::StoredPasskey {
    use portcullis_domain::passkey::Passkey;
    portcullis_store::passkeys::StoredPasskey {
        passkey: Passkey {
            id: Uuid::new_v4(),
            user_id: user,
            credential_id: cred.into(),
            aaguid: Uuid::nil(),
            display_name: "key".into(),
            fmt: "none".into(),
            attested: false,
            synced: true,
            created_at: NOW,
            last_used_at: None,
            sign_count: 5,
            device: Some("Pixel 8".into()),
            device_profile: Some("work".into()),
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
    }
}

#[tokio::test]
async fn r22_ceremonies_are_single_use_even_under_concurrency() {
    use portcullis_store::ceremonies::{self, Ceremony};
    for t in both().await {
        let id = Uuid::new_v4();
        {
            let mut c = t.store.conn().await.unwrap();
            ceremonies::insert(
                &mut c,
                id,
                &Ceremony {
                    kind: "authenticate".into(),
                    user_id: None,
                    state: "{}".into(),
                    expires_at: NOW + Duration::minutes(5),
                },
                NOW,
            )
            .await
            .unwrap();
            assert!(
                ceremonies::take(&mut c, id, "register", NOW)
                    .await
                    .unwrap()
                    .is_none(),
                "{}: bound to its kind",
                t.name
            );
        }
        let mut tasks = vec![];
        for _ in 0..20 {
            let store = t.store.clone();
            tasks.push(tokio::spawn(async move {
                ceremonies::take(&mut store.conn().await.unwrap(), id, "authenticate", NOW)
                    .await
                    .unwrap()
                    .is_some()
            }));
        }
        let mut wins = 0;
        for task in tasks {
            wins += usize::from(task.await.unwrap());
        }
        assert_eq!(wins, 1, "{}: a replayed challenge finds nothing", t.name);
    }
}

#[tokio::test]
async fn r22_counter_update_is_a_compare_and_set_and_r25_deletes_leave_tombstones() {
    use portcullis_store::passkeys;
    for t in both().await {
        let u = user("pat@contoso.com");
        let p = stored_passkey(u.id, "cred-1");
        {
            let mut c = t.store.conn().await.unwrap();
            directory::insert_user(&mut c, &u).await.unwrap();
            passkeys::insert(&mut c, &p).await.unwrap();
            let got = passkeys::by_credential_id(&mut c, "cred-1")
                .await
                .unwrap()
                .unwrap();
            assert_eq!(got, p, "{}: round trip", t.name);
        }
        let mut tasks = vec![];
        for _ in 0..20 {
            let store = t.store.clone();
            let id = p.passkey.id;
            tasks.push(tokio::spawn(async move {
                passkeys::record_use(
                    &mut store.conn().await.unwrap(),
                    id,
                    passkeys::Use {
                        old: 5,
                        new: 6,
                        backed_up: true,
                    },
                    NOW,
                )
                .await
                .unwrap()
            }));
        }
        let mut wins = 0;
        for task in tasks {
            wins += usize::from(task.await.unwrap());
        }
        assert_eq!(
            wins, 1,
            "{}: two nodes cannot both accept counter 6",
            t.name
        );
        let mut c = t.store.conn().await.unwrap();
        assert!(passkeys::delete(&mut c, p.passkey.id, "admin", NOW)
            .await
            .unwrap());
        assert!(passkeys::for_user(&mut c, u.id).await.unwrap().is_empty());
        let tomb = passkeys::by_credential_id(&mut c, "cred-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(tomb.deleted, Some((NOW, "admin".into())), "{}", t.name);
        assert!(
            !passkeys::record_use(
                &mut c,
                p.passkey.id,
                passkeys::Use {
                    old: 6,
                    new: 7,
                    backed_up: true
                },
                NOW
            )
            .await
            .unwrap(),
            "{}: a deleted passkey is not used",
            t.name
        );
        passkeys::insert(&mut c, &stored_passkey(u.id, "cred-1"))
            .await
            .expect("re-registering the same credential replaces the tombstone");
    }
}

#[tokio::test]
async fn metadata_keys_settings_and_application_credentials_on_both_backends() {
    use portcullis_domain::metadata::MetadataEntry;
    use portcullis_store::{applications, keys, metadata, oauth, policy as pol};
    for t in both().await {
        let mut c = t.store.conn().await.unwrap();
        // R7: a name-only import keeps roots imported earlier.
        let aaguid = Uuid::new_v4();
        metadata::upsert(
            &mut c,
            &MetadataEntry {
                aaguid,
                name: "Key".into(),
                roots: vec!["MIIB".into()],
                source: "statement".into(),
            },
            metadata::Roots::Replace,
            NOW,
        )
        .await
        .unwrap();
        metadata::upsert(
            &mut c,
            &MetadataEntry {
                aaguid,
                name: "Key 2".into(),
                roots: vec![],
                source: "names".into(),
            },
            metadata::Roots::KeepWhenEmpty,
            NOW,
        )
        .await
        .unwrap();
        let got = metadata::get(&mut c, aaguid).await.unwrap().unwrap();
        assert_eq!(
            (got.name.as_str(), got.roots.clone()),
            ("Key 2", vec!["MIIB".to_string()]),
            "{}",
            t.name
        );
        // A BLOB that revokes the model takes its roots away.
        metadata::upsert(
            &mut c,
            &MetadataEntry {
                aaguid,
                name: "Key 2".into(),
                roots: vec![],
                source: "mds3 #9 (REVOKED)".into(),
            },
            metadata::Roots::Replace,
            NOW,
        )
        .await
        .unwrap();
        assert!(
            metadata::get(&mut c, aaguid)
                .await
                .unwrap()
                .unwrap()
                .roots
                .is_empty(),
            "{}",
            t.name
        );

        // Signing keys: one live key per algorithm — a second insert while one is live does
        // nothing (two nodes making the first key at once sign with the same one); any is
        // found by kid; retired keys stay published only while their tokens may live.
        for (kid, alg, at, stored) in [
            ("a", "ES256", NOW - Duration::hours(1), true),
            ("b", "ES256", NOW, false),
            ("r", "RS256", NOW, true),
        ] {
            let inserted = keys::insert(
                &mut c,
                &keys::SigningKey {
                    kid: kid.into(),
                    alg: alg.into(),
                    private_pem: "p".into(),
                    public_pem: "q".into(),
                    created_at: at,
                    activates_at: at,
                    retired_at: None,
                },
            )
            .await
            .unwrap();
            assert_eq!(inserted, stored, "{}: {kid}", t.name);
        }
        assert_eq!(
            keys::current(&mut c, "ES256", NOW)
                .await
                .unwrap()
                .unwrap()
                .kid,
            "a",
            "{}",
            t.name
        );
        assert_eq!(
            keys::current(&mut c, "RS256", NOW)
                .await
                .unwrap()
                .unwrap()
                .kid,
            "r",
            "{}",
            t.name
        );
        for alg in ["ES256", "RS256"] {
            assert_eq!(
                keys::current_read(t.store.reader(), alg, NOW)
                    .await
                    .unwrap(),
                keys::current(&mut c, alg, NOW).await.unwrap(),
                "{}: the reader's current {alg} key",
                t.name
            );
        }
        assert!(keys::by_kid(&mut c, "a").await.unwrap().is_some());
        assert!(keys::by_kid(&mut c, "b").await.unwrap().is_none());
        assert_eq!(keys::retire_all(&mut c, NOW).await.unwrap(), 2);
        assert!(keys::current(&mut c, "ES256", NOW).await.unwrap().is_none());
        assert!(keys::current_read(t.store.reader(), "ES256", NOW)
            .await
            .unwrap()
            .is_none());
        assert_eq!(
            keys::published(&mut c, NOW - Duration::minutes(65))
                .await
                .unwrap()
                .len(),
            2,
            "{}",
            t.name
        );
        assert!(
            keys::published(&mut c, NOW + Duration::seconds(1))
                .await
                .unwrap()
                .is_empty(),
            "{}",
            t.name
        );

        // Policy settings document.
        assert_eq!(pol::settings(&mut c).await.unwrap(), None);
        pol::put_settings(&mut c, &serde_json::json!({"reconfirmationInDays": 7}), NOW)
            .await
            .unwrap();
        pol::put_settings(&mut c, &serde_json::json!({"reconfirmationInDays": 8}), NOW)
            .await
            .unwrap();
        assert_eq!(
            pol::settings(&mut c).await.unwrap().unwrap()["reconfirmationInDays"],
            8,
            "{}",
            t.name
        );

        // Applications: every field round-trips, found by each id; secret hash replaced,
        // permissions granted once.
        let mut attrs = portcullis_domain::application::CustomSecurityAttributes::new();
        attrs.entry("Rollout".into()).or_default().insert(
            "Tier".into(),
            portcullis_domain::application::AttributeValue::Text("passkey".into()),
        );
        let mut app = portcullis_domain::application::Application {
            app_id: Uuid::new_v4().to_string(),
            object_id: Uuid::new_v4().to_string(),
            service_principal_id: Uuid::new_v4().to_string(),
            display_name: "Script".into(),
            public_client: false,
            first_party: false,
            redirect_uris: vec!["https://app.example/cb".into()],
            approved_client_app: true,
            app_protection_policy: false,
            custom_security_attributes: attrs,
            id_token_signing: IdTokenSigning::Es256,
        };
        applications::insert(&mut c, &app, NOW).await.unwrap();
        assert_eq!(
            applications::by_app_id(&mut c, &app.app_id)
                .await
                .unwrap()
                .as_ref(),
            Some(&app),
            "{}",
            t.name
        );
        assert_eq!(
            applications::by_object_id(&mut c, &app.object_id)
                .await
                .unwrap()
                .as_ref(),
            Some(&app)
        );
        assert_eq!(
            applications::by_service_principal_id(&mut c, &app.service_principal_id)
                .await
                .unwrap()
                .as_ref(),
            Some(&app)
        );
        app.redirect_uris.push("https://app.example/two".into());
        app.app_protection_policy = true;
        app.id_token_signing = IdTokenSigning::Rs256;
        applications::update(&mut c, &app).await.unwrap();
        assert_eq!(
            applications::by_app_id(&mut c, &app.app_id)
                .await
                .unwrap()
                .as_ref(),
            Some(&app),
            "{}",
            t.name
        );
        assert_eq!(
            applications::by_app_id_read(t.store.reader(), &app.app_id)
                .await
                .unwrap()
                .as_ref(),
            Some(&app),
            "the reader reads an application alike ({})",
            t.name
        );
        // An algorithm the server does not sign with is a corrupt row, never a default.
        sqlx::query("UPDATE applications SET id_token_alg = 'none' WHERE app_id = $1")
            .bind(&app.app_id)
            .execute(&mut *c)
            .await
            .unwrap();
        assert!(
            matches!(
                applications::by_app_id(&mut c, &app.app_id).await,
                Err(portcullis_store::StoreError::Corrupt(_))
            ),
            "{}",
            t.name
        );
        applications::update(&mut c, &app).await.unwrap();
        assert!(
            applications::by_app_id_read(t.store.reader(), "no-such-app")
                .await
                .unwrap()
                .is_none(),
            "{}",
            t.name
        );
        // Client secrets are a list: adding one keeps the others; removing takes one.
        let cred = |hint: &str, end: Timestamp| applications::PasswordCredential {
            key_id: Uuid::new_v4(),
            hint: hint.into(),
            display_name: None,
            start_at: NOW,
            end_at: end,
        };
        let (one, two) = (
            cred("abc", NOW + Duration::days(1)),
            cred("xyz", NOW + Duration::days(2)),
        );
        applications::add_secret(&mut c, &app.app_id, &one, "h1", NOW)
            .await
            .unwrap();
        applications::add_secret(&mut c, &app.app_id, &two, "h2", NOW)
            .await
            .unwrap();
        assert_eq!(
            applications::secrets(&mut c, &app.app_id)
                .await
                .unwrap()
                .len(),
            2,
            "{}",
            t.name
        );
        assert_eq!(
            applications::secret_hashes(&mut c, &app.app_id, "abc", NOW)
                .await
                .unwrap(),
            vec!["h1".to_string()],
            "candidates by hint"
        );
        assert!(
            applications::secret_hashes(&mut c, &app.app_id, "abc", NOW + Duration::days(1))
                .await
                .unwrap()
                .is_empty(),
            "an expired secret is no candidate"
        );
        assert!(applications::remove_secret(&mut c, &app.app_id, one.key_id)
            .await
            .unwrap());
        assert!(
            !applications::remove_secret(&mut c, &app.app_id, one.key_id)
                .await
                .unwrap()
        );
        assert_eq!(
            applications::secrets(&mut c, &app.app_id).await.unwrap(),
            vec![two.clone()]
        );
        assert!(
            applications::grant_permission(&mut c, &app.app_id, "Policy.Read.All")
                .await
                .unwrap()
        );
        assert!(
            !applications::grant_permission(&mut c, &app.app_id, "Policy.Read.All")
                .await
                .unwrap()
        );
        assert_eq!(
            applications::permissions(&mut c, &app.app_id)
                .await
                .unwrap(),
            vec!["Policy.Read.All".to_string()],
            "{}",
            t.name
        );

        // OAuth: a code and a refresh token are taken once; the second take names the grant.
        let u = user("grantee@contoso.com");
        directory::insert_user(&mut c, &u).await.unwrap();
        let grant = oauth::Grant {
            id: Uuid::new_v4(),
            client_id: app.app_id.clone(),
            user_id: u.id,
            session_id: Uuid::new_v4(),
            scope: "openid offline_access".into(),
            auth_time: NOW,
            methods: vec![portcullis_domain::session::AuthMethod::Passkey],
            created_at: NOW,
            revoked_at: None,
            revoked_reason: None,
            ends_at: Some(NOW + Duration::hours(24)),
            source: "2001:db8::1".parse().ok(),
            user_agent: "Test".into(),
            device_id: Some(Uuid::new_v4()),
        };
        oauth::insert_grant(&mut c, &grant).await.unwrap();
        assert_eq!(
            oauth::grant(&mut c, grant.id).await.unwrap().as_ref(),
            Some(&grant),
            "R47: a grant keeps its end and the sign-in's signals ({})",
            t.name
        );
        // What a grant's tokens are minted from, in one read: the grant, its user, and the
        // key of each algorithm that signs now (not a retired one, not one still in its
        // pre-publication).
        let key = |kid: &str, alg: &str, activates: Timestamp, retired: Option<Timestamp>| {
            keys::SigningKey {
                kid: kid.into(),
                alg: alg.into(),
                private_pem: format!("private {kid}"),
                public_pem: format!("public {kid}"),
                created_at: activates - Duration::hours(1),
                activates_at: activates,
                retired_at: retired,
            }
        };
        let es_old = key(
            "es-old",
            "ES256",
            NOW - Duration::days(9),
            Some(NOW - Duration::days(1)),
        );
        let es = key("es", "ES256", NOW - Duration::days(1), None);
        let rs = key("rs", "RS256", NOW - Duration::days(1), None);
        // The store keeps one live key per algorithm: the old one is retired first.
        assert!(
            keys::insert(&mut c, &key("es-old", "ES256", es_old.activates_at, None))
                .await
                .unwrap()
        );
        keys::retire_all(&mut c, NOW - Duration::days(1))
            .await
            .unwrap();
        for k in [&es, &rs] {
            assert!(
                keys::insert(&mut c, k).await.unwrap(),
                "{}: {}",
                t.name,
                k.kid
            );
        }
        let read = token_reads::for_grant(t.store.reader(), grant.id, NOW)
            .await
            .unwrap();
        assert_eq!(read.grant.as_ref(), Some(&grant), "the grant ({})", t.name);
        assert_eq!(
            read.minting.user.as_ref(),
            Some(&u),
            "its user ({})",
            t.name
        );
        assert_eq!(
            read.minting.es256.as_ref(),
            Some(&es),
            "ES256 signs ({})",
            t.name
        );
        assert_eq!(
            read.minting.rs256.as_ref(),
            Some(&rs),
            "RS256 signs ({})",
            t.name
        );
        let before = token_reads::for_grant(t.store.reader(), grant.id, NOW - Duration::days(2))
            .await
            .unwrap();
        assert_eq!(
            before.minting.es256.as_ref(),
            Some(&es_old),
            "then the old key signed ({})",
            t.name
        );
        assert!(
            before.minting.rs256.is_none(),
            "and no RS256 key yet ({})",
            t.name
        );
        let none = token_reads::for_grant(t.store.reader(), Uuid::new_v4(), NOW)
            .await
            .unwrap();
        assert!(
            none.grant.is_none() && none.minting.user.is_none(),
            "an unknown grant has no user ({})",
            t.name
        );
        let code = oauth::CodeRecord {
            grant_id: grant.id,
            redirect_uri: "https://app.example/cb".into(),
            nonce: Some("n".into()),
            code_challenge: None,
            expires_at: NOW + Duration::minutes(5),
        };
        oauth::insert_code(&mut c, "code-hash", &code)
            .await
            .unwrap();
        assert_eq!(
            oauth::take_code(&t.store, "code-hash", NOW).await.unwrap(),
            oauth::Taken::Fresh(code.clone()),
            "{}",
            t.name
        );
        assert_eq!(
            oauth::take_code(&t.store, "code-hash", NOW).await.unwrap(),
            oauth::Taken::Reused(grant.id),
            "{}",
            t.name
        );
        assert_eq!(
            oauth::take_code(&t.store, "other", NOW).await.unwrap(),
            oauth::Taken::Unknown
        );
        // Twenty token requests with one code at once (on SQLite their marks are committed
        // in groups): exactly one takes it, every other is told it was used.
        oauth::insert_code(&mut c, "raced", &code).await.unwrap();
        let racers: Vec<_> = (0..20)
            .map(|_| {
                let store = t.store.clone();
                tokio::spawn(async move { oauth::take_code(&store, "raced", NOW).await.unwrap() })
            })
            .collect();
        let mut fresh = 0;
        for r in racers {
            match r.await.unwrap() {
                oauth::Taken::Fresh(_) => fresh += 1,
                taken => assert_eq!(taken, oauth::Taken::Reused(grant.id), "{}", t.name),
            }
        }
        assert_eq!(fresh, 1, "{}: one code, one token request", t.name);
        oauth::insert_refresh(&mut c, "rt-hash", grant.id, NOW, NOW + Duration::days(1))
            .await
            .unwrap();
        assert!(
            matches!(oauth::take_refresh(&mut c, "rt-hash", NOW).await.unwrap(), oauth::Taken::Fresh((g, _)) if g == grant.id)
        );
        assert_eq!(
            oauth::take_refresh(&mut c, "rt-hash", NOW).await.unwrap(),
            oauth::Taken::Reused(grant.id),
            "{}",
            t.name
        );
        assert_eq!(
            oauth::revoke_session_grants(&mut c, grant.session_id, "signed out", NOW)
                .await
                .unwrap(),
            1
        );
        assert!(
            !oauth::revoke_grant(&mut c, grant.id, "again", NOW)
                .await
                .unwrap(),
            "revocation is idempotent"
        );
        assert!(oauth::grant(&mut c, grant.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some());
        // Devices: compliance and the properties filters read are set, never guessed.
        let dev = portcullis_domain::device::Device {
            id: Uuid::new_v4(),
            owner: u.id,
            display_name: "Pixel".into(),
            platform: portcullis_domain::conditional_access::platform::Platform::Android,
            is_compliant: false,
            public_key: "MFk".into(),
            created_at: NOW,
            properties: Default::default(),
        };
        portcullis_store::devices::insert(&mut c, &dev)
            .await
            .unwrap();
        let managed = portcullis_domain::device::Device {
            is_compliant: true,
            properties: portcullis_domain::device::DeviceProperties {
                trust_type: Some(portcullis_domain::device::TrustType::AzureAd),
                extension_attributes: [("extensionAttribute1".parse().unwrap(), "SAW".to_string())]
                    .into(),
                ..Default::default()
            },
            ..dev.clone()
        };
        assert!(portcullis_store::devices::update(&mut c, &managed)
            .await
            .unwrap());
        assert_eq!(
            portcullis_store::devices::by_id(&mut c, dev.id)
                .await
                .unwrap(),
            Some(managed.clone()),
            "{}",
            t.name
        );
        assert_eq!(
            portcullis_store::devices::of_owner(&mut c, u.id)
                .await
                .unwrap(),
            vec![managed.clone()]
        );
        assert!(!portcullis_store::devices::update(
            &mut c,
            &portcullis_domain::device::Device {
                id: Uuid::new_v4(),
                ..managed.clone()
            }
        )
        .await
        .unwrap());
        assert!(
            portcullis_store::devices::delete(&mut c, dev.id)
                .await
                .unwrap()
                && !portcullis_store::devices::delete(&mut c, dev.id)
                    .await
                    .unwrap()
        );
        // Deleting the application takes its grants with it.
        assert!(applications::delete(&mut c, &app.app_id).await.unwrap());
        assert!(
            oauth::grant(&mut c, grant.id).await.unwrap().is_none(),
            "{}",
            t.name
        );

        // User filter (substr/lower on both backends) and deletion cascades.
        let u = user("Zed.Person@contoso.com");
        directory::insert_user(
            &mut c,
            &User {
                display_name: "Zed Person".into(),
                ..u.clone()
            },
        )
        .await
        .unwrap();
        let f = directory::UserFilter {
            name_prefix: Some("zed p".into()),
            ..Default::default()
        };
        assert_eq!(
            directory::list_users_filtered(&mut c, &f, None, 10)
                .await
                .unwrap()
                .len(),
            1,
            "{}",
            t.name
        );
        let f = directory::UserFilter {
            upn_prefix: Some("ZED.".into()),
            ..Default::default()
        };
        assert_eq!(
            directory::list_users_filtered(&mut c, &f, None, 10)
                .await
                .unwrap()
                .len(),
            1
        );
        lockout::record_failure(&mut c, Some(u.id), "x", NOW)
            .await
            .unwrap();
        let zeds = portcullis_domain::device::Device {
            id: Uuid::new_v4(),
            owner: u.id,
            ..dev.clone()
        };
        portcullis_store::devices::insert(&mut c, &zeds)
            .await
            .unwrap();
        assert!(directory::delete_user(&mut c, u.id).await.unwrap());
        assert!(directory::user_by_id(&mut c, u.id).await.unwrap().is_none());
        assert!(
            portcullis_store::devices::by_id(&mut c, zeds.id)
                .await
                .unwrap()
                .is_none(),
            "{}: a user's devices go with the user",
            t.name
        );
    }
}

/// R7: the serial of the last imported MDS3 BLOB only moves forward, by compare-and-set.
#[tokio::test]
async fn mds_blob_serials_only_move_forward() {
    for t in both().await {
        let mut c = t.store.conn().await.unwrap();
        use portcullis_store::metadata::advance_blob_serial;
        assert_eq!(
            advance_blob_serial(&mut c, 7).await.unwrap(),
            None,
            "{}",
            t.name
        );
        assert_eq!(
            advance_blob_serial(&mut c, 7).await.unwrap(),
            Some(7),
            "{}: a replay",
            t.name
        );
        assert_eq!(
            advance_blob_serial(&mut c, 3).await.unwrap(),
            Some(7),
            "{}: a rollback",
            t.name
        );
        assert_eq!(
            advance_blob_serial(&mut c, 8).await.unwrap(),
            None,
            "{}",
            t.name
        );
    }
}
