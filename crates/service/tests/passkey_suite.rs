//! Passkey rules that need a clock: ceremony expiry (R17, R22) and MFA freshness (R14),
//! plus the counter compare-and-set across two "nodes" — on both backends.

// A test crate: a failed assumption is a failed test (the product denies these, Cargo.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use portcullis_domain::actor::Actor;
use portcullis_domain::lockout::LockoutPolicy;
use portcullis_domain::passkey::PasskeyRefusal;
use portcullis_domain::tap::IssueRequest;
use portcullis_domain::Timestamp;
use portcullis_service::passkeys::{DeviceInfo, PasskeyError, RegistrationRequest};
use portcullis_service::{ManualClock, RequestContext, Service};
use portcullis_testkit::both;
use portcullis_testkit::softkey::{Quirks, SoftKey};
use portcullis_webauthn::RelyingParty;
use std::sync::Arc;
use time::macros::datetime;
use time::Duration;

const T0: Timestamp = datetime!(2026-06-01 12:00 UTC);
const ORIGIN: &str = "https://id.contoso.test";

fn req(ceremony_id: uuid::Uuid, response: &serde_json::Value) -> RegistrationRequest<'_> {
    RegistrationRequest {
        ceremony_id,
        response,
        name: None,
        device: DeviceInfo::default(),
    }
}

fn ctx() -> RequestContext {
    RequestContext {
        source: "10.0.0.1".parse().ok(),
        user_agent: "test".into(),
        ..Default::default()
    }
}

async fn setup(t: &portcullis_testkit::TestStore) -> (Service, Arc<ManualClock>, RelyingParty) {
    let clock = Arc::new(ManualClock::new(T0));
    let svc = Service::new(t.store.clone(), clock.clone(), LockoutPolicy::default());
    svc.bootstrap("Contoso", "contoso.com").await.unwrap();
    svc.add_user(&Actor::System, "lee@contoso.com", "Lee")
        .await
        .unwrap();
    let rp = RelyingParty::new(&url::Url::parse(ORIGIN).unwrap(), "Contoso").unwrap();
    (svc, clock, rp)
}

/// Lee gets a multi-use pass and signs in with it.
async fn lee_signs_in_with_a_tap(
    svc: &Service,
) -> (
    portcullis_service::tap::IssuedPass,
    portcullis_service::tap::SignedIn,
) {
    let pass = svc
        .create_tap(
            &Actor::System,
            "lee@contoso.com",
            IssueRequest {
                is_usable_once: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let signed = svc
        .sign_in_with_tap("lee@contoso.com", &pass.code, &ctx())
        .await
        .unwrap();
    (pass, signed)
}

#[tokio::test]
async fn r14_adding_a_passkey_needs_a_fresh_mfa_claim_and_r17_ceremonies_expire_after_five_minutes()
{
    for t in both().await {
        let (svc, clock, rp) = setup(&t).await;
        let (pass, s) = lee_signs_in_with_a_tap(&svc).await;
        let mut key = SoftKey::new("01020304-0506-0708-0102-030405060708");

        // A ceremony answered after five minutes is refused and stores nothing.
        let start = svc
            .begin_passkey_registration(&rp, &s.session, &s.user, &RequestContext::default())
            .await
            .unwrap();
        clock.advance(Duration::minutes(5));
        let cred = key.register(&start.options, ORIGIN, &Quirks::default());
        let r = svc
            .finish_passkey_registration(
                &rp,
                &s.session,
                &s.user,
                req(start.ceremony_id, &cred),
                &RequestContext::default(),
            )
            .await;
        assert!(
            matches!(&r, Err(e) if e.code() == "challengeExpired"),
            "{}: {r:?}",
            t.name
        );
        assert!(svc.passkeys_of(&s.user).await.unwrap().is_empty());

        // Eleven minutes after the TAP sign-in the claim is stale: step up first.
        clock.advance(Duration::minutes(6));
        let r = svc
            .begin_passkey_registration(&rp, &s.session, &s.user, &RequestContext::default())
            .await;
        assert!(
            matches!(
                r,
                Err(PasskeyError::Refused(PasskeyRefusal::StepUpRequired))
            ),
            "{}",
            t.name
        );

        // A fresh TAP sign-in allows it again, within ten minutes.
        let s = svc
            .sign_in_with_tap("lee@contoso.com", &pass.code, &ctx())
            .await
            .unwrap();
        let start = svc
            .begin_passkey_registration(&rp, &s.session, &s.user, &RequestContext::default())
            .await
            .unwrap();
        clock.advance(Duration::minutes(4));
        let cred = key.register(&start.options, ORIGIN, &Quirks::default());
        svc.finish_passkey_registration(
            &rp,
            &s.session,
            &s.user,
            req(start.ceremony_id, &cred),
            &RequestContext::default(),
        )
        .await
        .expect("registered");

        // Sign-in ceremonies expire too.
        let start = svc
            .begin_passkey_sign_in(&rp, Some("lee@contoso.com"))
            .await
            .unwrap();
        clock.advance(Duration::minutes(5) + Duration::seconds(1));
        let a = key.assert(&start.options, ORIGIN, &Quirks::default());
        let r = svc
            .finish_passkey_sign_in(&rp, &start.ceremony, &a, &ctx())
            .await;
        assert!(
            matches!(&r, Err(e) if e.code() == "challengeExpired"),
            "{}",
            t.name
        );

        // A passkey sign-in is itself an MFA claim (R14).
        let start = svc.begin_passkey_sign_in(&rp, None).await.unwrap();
        let a = key.assert(&start.options, ORIGIN, &Quirks::default());
        let s2 = svc
            .finish_passkey_sign_in(&rp, &start.ceremony, &a, &ctx())
            .await
            .expect("sign in");
        svc.begin_passkey_registration(
            &rp,
            &s2.signed_in.session,
            &s2.signed_in.user,
            &RequestContext::default(),
        )
        .await
        .expect("a passkey sign-in may add another passkey");
    }
}

#[tokio::test]
async fn r22_a_ceremony_begun_on_one_node_finishes_on_another_and_a_counter_is_accepted_once() {
    for t in both().await {
        let (svc, _clock, rp) = setup(&t).await;
        // A second "node": another service over the same database.
        let other = Service::new(
            portcullis_store::Store::open(&t.url).await.unwrap(),
            Arc::new(ManualClock::new(T0)),
            LockoutPolicy::default(),
        );
        let pass = svc
            .create_tap(&Actor::System, "lee@contoso.com", IssueRequest::default())
            .await
            .unwrap();
        let s = svc
            .sign_in_with_tap("lee@contoso.com", &pass.code, &ctx())
            .await
            .unwrap();
        let mut key = SoftKey::new("01020304-0506-0708-0102-030405060708");
        let start = svc
            .begin_passkey_registration(&rp, &s.session, &s.user, &RequestContext::default())
            .await
            .unwrap();
        let cred = key.register(&start.options, ORIGIN, &Quirks::default());
        other
            .finish_passkey_registration(
                &rp,
                &s.session,
                &s.user,
                req(start.ceremony_id, &cred),
                &RequestContext::default(),
            )
            .await
            .expect("finished on the other node");

        // Two ceremonies answered with the same counter on two nodes: one sign-in wins.
        let a = svc
            .begin_passkey_sign_in(&rp, Some("lee@contoso.com"))
            .await
            .unwrap();
        let b = other
            .begin_passkey_sign_in(&rp, Some("lee@contoso.com"))
            .await
            .unwrap();
        let ra = key.assert(
            &a.options,
            ORIGIN,
            &Quirks {
                counter: Some(7),
                ..Default::default()
            },
        );
        let rb = key.assert(
            &b.options,
            ORIGIN,
            &Quirks {
                counter: Some(7),
                ..Default::default()
            },
        );
        let c = ctx();
        let (x, y) = tokio::join!(
            svc.finish_passkey_sign_in(&rp, &a.ceremony, &ra, &c),
            other.finish_passkey_sign_in(&rp, &b.ceremony, &rb, &c)
        );
        let oks = usize::from(x.is_ok()) + usize::from(y.is_ok());
        assert_eq!(oks, 1, "{}: {x:?} / {y:?}", t.name);
        let loser = if x.is_err() { x.err() } else { y.err() };
        let code = loser.map(|e| e.code()).unwrap_or_default();
        assert!(
            code == "counterReplay" || code == "counterRegression",
            "{}: {code}",
            t.name
        );
    }
}

/// Issue 12 (R25, R47): deleting a passkey — by its user or by an administrator — ends the
/// sessions it opened at once, not only its next sign-in; sessions opened otherwise stay.
#[tokio::test]
async fn r25_deleting_a_passkey_ends_the_sessions_it_opened() {
    for t in both().await {
        let (svc, _clock, rp) = setup(&t).await;
        let (_, by_tap) = lee_signs_in_with_a_tap(&svc).await;
        let mut keys = vec![];
        for aaguid in [
            "01020304-0506-0708-0102-030405060708",
            "2fc0579f-8113-47ea-b116-bb5a8db9202a",
        ] {
            let mut key = SoftKey::new(aaguid);
            let start = svc
                .begin_passkey_registration(&rp, &by_tap.session, &by_tap.user, &ctx())
                .await
                .unwrap();
            let cred = key.register(&start.options, ORIGIN, &Quirks::default());
            svc.finish_passkey_registration(
                &rp,
                &by_tap.session,
                &by_tap.user,
                req(start.ceremony_id, &cred),
                &ctx(),
            )
            .await
            .expect("registered");
            keys.push(key);
        }
        let mut opened = vec![];
        for key in &mut keys {
            let start = svc
                .begin_passkey_sign_in(&rp, Some("lee@contoso.com"))
                .await
                .unwrap();
            let a = key.assert(&start.options, ORIGIN, &Quirks::default());
            opened.push(
                svc.finish_passkey_sign_in(&rp, &start.ceremony, &a, &ctx())
                    .await
                    .expect("signed in"),
            );
        }
        let ids: Vec<_> = opened
            .iter()
            .map(|s| s.signed_in.session.credential_id)
            .collect();
        let views = svc.passkeys_of(&by_tap.user).await.unwrap();
        let id_of = |n: usize| {
            views
                .iter()
                .find(|v| Some(v.stored.passkey.id) == ids[n])
                .unwrap()
                .stored
                .passkey
                .id
        };
        svc.delete_own_passkey(&by_tap.user, id_of(0))
            .await
            .unwrap();
        assert!(
            svc.session(&opened[0].signed_in.token)
                .await
                .unwrap()
                .is_none(),
            "{}: the user's deletion ends its session",
            t.name
        );
        assert!(svc
            .session(&opened[1].signed_in.token)
            .await
            .unwrap()
            .is_some());
        svc.admin_delete_passkey(&Actor::System, "lee@contoso.com", id_of(1))
            .await
            .unwrap();
        assert!(
            svc.session(&opened[1].signed_in.token)
                .await
                .unwrap()
                .is_none(),
            "{}: the administrator's too",
            t.name
        );
        assert!(
            svc.session(&by_tap.token).await.unwrap().is_some(),
            "{}: the TAP session is not the passkeys'",
            t.name
        );
    }
}

/// A cold server under a burst: every first sign-in needs the stored key decoy ids are made
/// with. A request that held a connection while it waited for another to read that key
/// starved the pool — on SQLite's two connections, sixteen concurrent first sign-ins waited
/// for the pool's 30 s timeout and failed. Here more requests than either pool holds start at
/// once, and all must be answered promptly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_first_sign_ins_on_a_cold_server_does_not_starve_the_pool() {
    for t in both().await {
        let (svc, _clock, rp) = setup(&t).await;
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let (svc, rp) = (svc.clone(), rp.clone());
                tokio::spawn(async move {
                    let name = format!("nobody{i}@contoso.com");
                    svc.begin_passkey_sign_in(&rp, Some(name.as_str())).await
                })
            })
            .collect();
        let answered = portcullis_testkit::all_within(10, t.name, tasks).await;
        for r in answered {
            assert!(r.is_ok(), "{}: {:?}", t.name, r.err());
        }
    }
}

/// Lee and Kim each sign in with a pass and register one passkey.
async fn lee_and_kim_with_passkeys(svc: &Service, rp: &RelyingParty) -> (SoftKey, SoftKey) {
    svc.add_user(&Actor::System, "kim@contoso.com", "Kim")
        .await
        .unwrap();
    let mut keys = vec![];
    for upn in ["lee@contoso.com", "kim@contoso.com"] {
        let pass = svc
            .create_tap(&Actor::System, upn, IssueRequest::default())
            .await
            .unwrap();
        let s = svc.sign_in_with_tap(upn, &pass.code, &ctx()).await.unwrap();
        let mut key = SoftKey::new("01020304-0506-0708-0102-030405060708");
        let start = svc
            .begin_passkey_registration(rp, &s.session, &s.user, &ctx())
            .await
            .unwrap();
        let cred = key.register(&start.options, ORIGIN, &Quirks::default());
        svc.finish_passkey_registration(
            rp,
            &s.session,
            &s.user,
            req(start.ceremony_id, &cred),
            &ctx(),
        )
        .await
        .expect("registered");
        keys.push(key);
    }
    let kim = keys.pop().unwrap();
    (keys.pop().unwrap(), kim)
}

/// Issue 18 (R17): a sign-in ceremony is sealed into its id, so asking for options writes
/// nothing — and a sealed ceremony replayed, expired, answered by another user's passkey,
/// changed, moved to another id or made up is refused, as is a registration ceremony's id.
#[tokio::test]
async fn r17_sealed_sign_in_ceremonies_write_nothing_and_open_once_unchanged_for_their_user() {
    for t in both().await {
        let (svc, clock, rp) = setup(&t).await;
        let (mut lee, mut kim) = lee_and_kim_with_passkeys(&svc, &rp).await;
        // Warm: the sealing key's secret is written by the first request ever.
        svc.begin_passkey_sign_in(&rp, None).await.unwrap();
        let dir = t
            ._dir
            .as_ref()
            .map_or(std::path::Path::new("."), |d| d.path());
        let pg = (t.name == "postgres").then_some(t.url.as_str());
        let mut snap = portcullis_testkit::snapshot::Snapshotter::open(dir, pg, &[]).await;
        let before = snap.take().await;
        let mut started = vec![];
        for name in [None, Some("lee@contoso.com"), Some("nobody@contoso.com")] {
            started.push(svc.begin_passkey_sign_in(&rp, name).await.unwrap());
        }
        assert_eq!(
            snap.take().await.changes_since(&before, &[]),
            Vec::<String>::new(),
            "{}: asking for options wrote to the store",
            t.name
        );
        let finish = |token: String, answer: serde_json::Value| {
            let svc = svc.clone();
            let rp = rp.clone();
            async move {
                svc.finish_passkey_sign_in(&rp, &token, &answer, &ctx())
                    .await
                    .map(|s| s.signed_in.user.user_principal_name.to_string())
                    .map_err(|e| e.code())
            }
        };

        // Bound to its user: Lee's ceremony answered with Kim's passkey.
        let for_lee = &started[1];
        let by_kim = kim.assert(&for_lee.options, ORIGIN, &Quirks::default());
        assert_eq!(
            finish(for_lee.ceremony.clone(), by_kim).await,
            Err("challengeMismatch"),
            "{}",
            t.name
        );
        // ... which spent it: the same refused answer again is told only that, and Lee's
        // own answer finds it used.
        let by_kim = kim.assert(&for_lee.options, ORIGIN, &Quirks::default());
        assert_eq!(
            finish(for_lee.ceremony.clone(), by_kim).await,
            Err("challengeUnknown"),
            "{}: a replayed refusal",
            t.name
        );
        let by_lee = lee.assert(&for_lee.options, ORIGIN, &Quirks::default());
        assert_eq!(
            finish(for_lee.ceremony.clone(), by_lee).await,
            Err("challengeUnknown"),
            "{}",
            t.name
        );

        // Changed, moved to another id, made up, or a registration ceremony's id.
        let open = svc.begin_passkey_sign_in(&rp, None).await.unwrap();
        let answer = lee.assert(&open.options, ORIGIN, &Quirks::default());
        let (id, body) = open.ceremony.split_once('.').unwrap();
        let mut flipped = body.as_bytes().to_vec();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let regs = {
            let (_, s) = lee_signs_in_with_a_tap(&svc).await;
            svc.begin_passkey_registration(&rp, &s.session, &s.user, &ctx())
                .await
                .unwrap()
                .ceremony_id
                .to_string()
        };
        for forged in [
            format!("{id}.{}", String::from_utf8(flipped).unwrap()),
            format!("{}.{body}", uuid::Uuid::new_v4()),
            format!("{}.{}", uuid::Uuid::new_v4(), "A".repeat(body.len())),
            regs,
            String::new(),
        ] {
            assert_eq!(
                finish(forged.clone(), answer.clone()).await,
                Err("challengeUnknown"),
                "{}: {forged}",
                t.name
            );
        }
        // Unchanged, it still works — once.
        assert_eq!(
            finish(open.ceremony.clone(), answer.clone()).await,
            Ok("lee@contoso.com".to_string()),
            "{}",
            t.name
        );
        assert_eq!(
            finish(open.ceremony.clone(), answer).await,
            Err("challengeUnknown"),
            "{}: replayed",
            t.name
        );
        // The replay's counter is now the stored one: whoever captured the answer does not
        // get the passkey flagged as cloned by replaying it.
        let lee_user = svc.user("lee@contoso.com").await.unwrap();
        let views = svc.passkeys_of(&lee_user).await.unwrap();
        assert!(
            views.iter().all(|v| !v.stored.passkey.flagged_clone),
            "{}: a replay flagged the passkey",
            t.name
        );

        // Expired: refused, and spends nothing.
        let late = svc.begin_passkey_sign_in(&rp, None).await.unwrap();
        clock.advance(Duration::minutes(5));
        let answer = lee.assert(&late.options, ORIGIN, &Quirks::default());
        assert_eq!(
            finish(late.ceremony.clone(), answer).await,
            Err("challengeExpired"),
            "{}",
            t.name
        );
    }
}

/// Issue 18 (R17): one sealed ceremony answered on two nodes at once — one sign-in.
#[tokio::test]
async fn r17_one_sealed_ceremony_answered_on_two_nodes_at_once_signs_in_once() {
    for t in both().await {
        let (svc, _clock, rp) = setup(&t).await;
        let (mut lee, _) = lee_and_kim_with_passkeys(&svc, &rp).await;
        let other = Service::new(
            portcullis_store::Store::open(&t.url).await.unwrap(),
            Arc::new(ManualClock::new(T0)),
            LockoutPolicy::default(),
        );
        for round in 0..5 {
            let start = svc.begin_passkey_sign_in(&rp, None).await.unwrap();
            let a = lee.assert(&start.options, ORIGIN, &Quirks::default());
            let c = ctx();
            let (x, y) = tokio::join!(
                svc.finish_passkey_sign_in(&rp, &start.ceremony, &a, &c),
                other.finish_passkey_sign_in(&rp, &start.ceremony, &a, &c)
            );
            let oks = usize::from(x.is_ok()) + usize::from(y.is_ok());
            assert_eq!(oks, 1, "{} round {round}: {x:?} / {y:?}", t.name);
            let code = if x.is_err() { x.err() } else { y.err() }
                .map(|e| e.code())
                .unwrap_or_default();
            // The loser is refused as a replay — by the spent ceremony or by the counter.
            assert!(
                ["challengeUnknown", "counterReplay"].contains(&code),
                "{} round {round}: {code}",
                t.name
            );
        }
    }
}
