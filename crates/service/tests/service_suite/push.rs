//! Issue 17 on both backends: Microsoft Authenticator push with number matching, tried as an
//! attacker would — a link used twice, another device's signature, a wrong number, a late
//! answer, an approval spent twice.

use super::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::EncodePublicKey;
use portcullis_domain::password::PasswordRefusal;
use portcullis_domain::policy::AuthenticatorConfiguration;
use portcullis_domain::push::{ApprovalState, DenyReason};
use portcullis_domain::session::AuthMethod;
use portcullis_service::password::{PasswordSignInError, PasswordStep, PushProgress};
use portcullis_service::push::PushError;

const PW: &str = "violet-canoe-hums-at-dusk";

struct Phone {
    key: SigningKey,
    device: uuid::Uuid,
}

impl Phone {
    fn sign(&self, m: &str) -> String {
        let s: DerSignature = self.key.sign(m.as_bytes());
        URL_SAFE_NO_PAD.encode(s.as_bytes())
    }
}

async fn enable_push(svc: &Service) {
    let cfg = AuthenticatorConfiguration {
        state: MethodState::Enabled,
        ..Default::default()
    };
    svc.save_method_configuration(
        &op(),
        MethodConfiguration::MicrosoftAuthenticator(cfg),
        false,
    )
    .await
    .unwrap();
}

async fn user_with_phone(svc: &Service, upn: &str) -> Phone {
    svc.add_user(&op(), upn, "Ana Lopez").await.unwrap();
    svc.set_password(&op(), upn, PW, false).await.unwrap();
    let PasswordStep::SignedIn(s) = svc
        .sign_in_with_password(upn, PW, &ctx("10.0.0.1"))
        .await
        .unwrap()
    else {
        panic!("one factor held")
    };
    let a = svc
        .begin_authenticator(&s.user, &s.session, &ctx("10.0.0.1"), "http://localhost")
        .await
        .unwrap();
    let key = SigningKey::random(&mut rand::rngs::OsRng);
    let public =
        URL_SAFE_NO_PAD.encode(key.verifying_key().to_public_key_der().unwrap().as_bytes());
    let (d, user) = svc
        .activate_authenticator(&a.code, &public, "Pixel 8", "android")
        .await
        .unwrap();
    assert_eq!(user.id, s.user.id);
    // The link works once: a second phone cannot join with it.
    let other = SigningKey::random(&mut rand::rngs::OsRng);
    let other_public = URL_SAFE_NO_PAD.encode(
        other
            .verifying_key()
            .to_public_key_der()
            .unwrap()
            .as_bytes(),
    );
    assert!(matches!(
        svc.activate_authenticator(&a.code, &other_public, "Attacker", "android")
            .await,
        Err(PushError::Activation)
    ));
    Phone { key, device: d.id }
}

fn refusal(e: PasswordSignInError) -> PasswordRefusal {
    match e {
        PasswordSignInError::Refused(r) => r,
        e => panic!("not a refusal: {e}"),
    }
}

async fn push_step(svc: &Service, upn: &str) -> (String, u8) {
    match svc
        .sign_in_with_password(upn, PW, &ctx("10.0.0.1"))
        .await
        .unwrap()
    {
        PasswordStep::Push { pending, number } => (pending, number),
        other => panic!("a phone is held: {other:?}"),
    }
}

async fn the_request(svc: &Service, clock: &ManualClock, p: &Phone) -> uuid::Uuid {
    use portcullis_service::clock::Clock;
    let at = clock.now().unix_timestamp();
    let found = svc
        .pending_approvals(
            p.device,
            at,
            &p.sign(&format!("portcullis-poll|{}|{at}", p.device)),
            std::time::Duration::ZERO,
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "one request is pending");
    found[0].id
}

async fn answer(
    svc: &Service,
    p: &Phone,
    request: uuid::Uuid,
    approve: bool,
    number: u8,
) -> Result<ApprovalState, PushError> {
    let m = format!("portcullis-answer|{request}|{}|{number}", u8::from(approve));
    svc.answer_approval(
        request,
        p.device,
        approve,
        number,
        &p.sign(&m),
        &ctx("10.0.0.7"),
    )
    .await
}

#[tokio::test]
async fn the_right_number_from_the_phone_signs_in_once_and_is_mfa() {
    for t in both().await {
        let (svc, clock) = service(&t, LockoutPolicy::default()).await;
        enable_push(&svc).await;
        let phone = user_with_phone(&svc, "ana@contoso.com").await;
        let (pending, number) = push_step(&svc, "ana@contoso.com").await;
        assert!((10..=99).contains(&number));
        assert!(matches!(
            svc.sign_in_with_push(&pending, &ctx("10.0.0.1"))
                .await
                .unwrap(),
            PushProgress::Waiting
        ));
        let request = the_request(&svc, &clock, &phone).await;
        assert_eq!(
            answer(&svc, &phone, request, true, number).await.unwrap(),
            ApprovalState::Approved
        );
        // A second answer changes nothing.
        assert!(matches!(
            answer(&svc, &phone, request, false, 0).await,
            Err(PushError::Answer(_))
        ));
        let PushProgress::Done(PasswordStep::SignedIn(s)) = svc
            .sign_in_with_push(&pending, &ctx("10.0.0.1"))
            .await
            .unwrap()
        else {
            panic!("approved")
        };
        assert_eq!(
            s.session.methods,
            [AuthMethod::Password, AuthMethod::AuthenticatorPush]
        );
        assert!(portcullis_domain::session::is_mfa(&s.session.methods));
        // One approval, one session: the same page asking again opens nothing.
        let e = svc
            .sign_in_with_push(&pending, &ctx("10.0.0.1"))
            .await
            .unwrap_err();
        assert_eq!(refusal(e), PasswordRefusal::SecondStepExpired);
    }
}

#[tokio::test]
async fn a_wrong_number_denies_and_a_late_or_foreign_answer_does_nothing() {
    for t in both().await {
        let (svc, clock) = service(&t, LockoutPolicy::default()).await;
        enable_push(&svc).await;
        let ana = user_with_phone(&svc, "ana@contoso.com").await;
        let ben = user_with_phone(&svc, "ben@contoso.com").await;
        // A push the user did not start: Ben's phone cannot answer Ana's request, nor can a
        // signature by another key than the device's.
        let (pending, number) = push_step(&svc, "ana@contoso.com").await;
        let request = the_request(&svc, &clock, &ana).await;
        assert!(matches!(
            answer(&svc, &ben, request, true, number).await,
            Err(PushError::Unknown)
        ));
        let forged = Phone {
            key: SigningKey::random(&mut rand::rngs::OsRng),
            device: ana.device,
        };
        assert!(matches!(
            answer(&svc, &forged, request, true, number).await,
            Err(PushError::Unknown)
        ));
        // A stale poll signature is refused too.
        use portcullis_service::clock::Clock;
        let old = clock.now().unix_timestamp() - 3600;
        let m = format!("portcullis-poll|{}|{old}", ana.device);
        assert!(matches!(
            svc.pending_approvals(ana.device, old, &ana.sign(&m), std::time::Duration::ZERO)
                .await,
            Err(PushError::Unknown)
        ));
        // A signed time at the edge of the integers is refused, never an overflow.
        for at in [i64::MIN, i64::MAX] {
            let m = format!("portcullis-poll|{}|{at}", ana.device);
            assert!(matches!(
                svc.pending_approvals(ana.device, at, &ana.sign(&m), std::time::Duration::ZERO)
                    .await,
                Err(PushError::Unknown)
            ));
        }
        // The wrong number denies the request for good, and the sign-in says so.
        let wrong = if number == 99 { 10 } else { number + 1 };
        assert_eq!(
            answer(&svc, &ana, request, true, wrong).await.unwrap(),
            ApprovalState::Denied(DenyReason::WrongNumber)
        );
        assert!(matches!(
            answer(&svc, &ana, request, true, number).await,
            Err(PushError::Answer(_))
        ));
        let e = svc
            .sign_in_with_push(&pending, &ctx("10.0.0.1"))
            .await
            .unwrap_err();
        assert_eq!(refusal(e), PasswordRefusal::PushWrongNumber);
        let mut c = svc.store().conn().await.unwrap();
        let log = signins::recent(&mut c, 50).await.unwrap();
        assert!(log
            .iter()
            .any(|e| e.failure_code.as_deref() == Some("pushWrongNumber")));
        drop(c);
        // Nobody answers: the request times out.
        let (pending, number) = push_step(&svc, "ana@contoso.com").await;
        let request = the_request(&svc, &clock, &ana).await;
        clock.advance(Duration::seconds(61));
        let e = svc
            .sign_in_with_push(&pending, &ctx("10.0.0.1"))
            .await
            .unwrap_err();
        assert_eq!(refusal(e), PasswordRefusal::PushTimedOut);
        assert!(matches!(
            answer(&svc, &ana, request, true, number).await,
            Err(PushError::Answer(_))
        ));
        // Denied by the user.
        let (pending, _) = push_step(&svc, "ana@contoso.com").await;
        let request = the_request(&svc, &clock, &ana).await;
        assert_eq!(
            answer(&svc, &ana, request, false, 0).await.unwrap(),
            ApprovalState::Denied(DenyReason::UserDenied)
        );
        let e = svc
            .sign_in_with_push(&pending, &ctx("10.0.0.1"))
            .await
            .unwrap_err();
        assert_eq!(refusal(e), PasswordRefusal::PushDenied);
    }
}

#[tokio::test]
async fn the_policy_decides_push_and_the_context_the_phone_shows() {
    for t in both().await {
        let (svc, clock) = service(&t, LockoutPolicy::default()).await;
        enable_push(&svc).await;
        let ana = user_with_phone(&svc, "ana@contoso.com").await;
        let (_, _) = push_step(&svc, "ana@contoso.com").await;
        use portcullis_service::clock::Clock;
        let at = clock.now().unix_timestamp();
        let m = format!("portcullis-poll|{}|{at}", ana.device);
        let found = svc
            .pending_approvals(ana.device, at, &ana.sign(&m), std::time::Duration::ZERO)
            .await
            .unwrap();
        // Microsoft-managed context is shown: the location (the sign-in's address).
        assert_eq!(found[0].location.as_deref(), Some("10.0.0.1"));
        // Push disabled: the password no longer falls back to one factor.
        svc.save_method_configuration(
            &op(),
            MethodConfiguration::MicrosoftAuthenticator(AuthenticatorConfiguration::default()),
            false,
        )
        .await
        .unwrap();
        let e = svc
            .sign_in_with_password("ana@contoso.com", PW, &ctx("10.0.0.1"))
            .await
            .unwrap_err();
        assert_eq!(refusal(e), PasswordRefusal::SecondFactorRequired);
    }
}

#[tokio::test]
async fn one_request_at_a_time_denials_lock_out_and_a_removed_phone_or_ended_session_opens_nothing()
{
    for t in both().await {
        let (svc, clock) = service(&t, LockoutPolicy::default()).await;
        enable_push(&svc).await;
        let ana = user_with_phone(&svc, "ana@contoso.com").await;
        // The user's own sign-in and an attacker's with her password: only the newest request
        // stands, so the number she sees cannot approve the attacker's older one, or the reverse.
        let (mine, _) = push_step(&svc, "ana@contoso.com").await;
        let (_, theirs) = push_step(&svc, "ana@contoso.com").await;
        let request = the_request(&svc, &clock, &ana).await;
        assert_eq!(
            answer(&svc, &ana, request, true, theirs).await.unwrap(),
            ApprovalState::Approved
        );
        let e = svc
            .sign_in_with_push(&mine, &ctx("10.0.0.1"))
            .await
            .unwrap_err();
        assert_eq!(
            refusal(e),
            PasswordRefusal::PushDenied,
            "the older request was replaced"
        );
        // An approved request whose phone is then removed opens nothing.
        let (pending, number) = push_step(&svc, "ana@contoso.com").await;
        let request = the_request(&svc, &clock, &ana).await;
        assert_eq!(
            answer(&svc, &ana, request, true, number).await.unwrap(),
            ApprovalState::Approved
        );
        let id = svc
            .authenticators_of(svc.user("ana@contoso.com").await.unwrap().id)
            .await
            .unwrap()[0]
            .id;
        svc.delete_authenticator(&op(), "ana@contoso.com", id)
            .await
            .unwrap();
        assert!(svc
            .sign_in_with_push(&pending, &ctx("10.0.0.1"))
            .await
            .is_err());

        // Bob's phone: denials and wrong numbers count towards the lock-out.
        let bob = user_with_phone(&svc, "bob@contoso.com").await;
        for _ in 0..5 {
            let (_, number) = push_step(&svc, "bob@contoso.com").await;
            let request = the_request(&svc, &clock, &bob).await;
            let wrong = if number == 99 { 10 } else { number + 1 };
            answer(&svc, &bob, request, true, wrong).await.unwrap();
        }
        let e = svc
            .sign_in_with_password("bob@contoso.com", PW, &ctx("10.0.0.1"))
            .await
            .unwrap_err();
        assert!(matches!(refusal(e), PasswordRefusal::LockedOut { .. }));

        // An activation link dies with the session that asked for it.
        svc.add_user(&op(), "cy@contoso.com", "Cy").await.unwrap();
        svc.set_password(&op(), "cy@contoso.com", PW, false)
            .await
            .unwrap();
        let PasswordStep::SignedIn(s) = svc
            .sign_in_with_password("cy@contoso.com", PW, &ctx("10.0.0.1"))
            .await
            .unwrap()
        else {
            panic!("one factor")
        };
        let a = svc
            .begin_authenticator(&s.user, &s.session, &ctx("10.0.0.1"), "http://localhost")
            .await
            .unwrap();
        svc.sign_out(&s.token).await.unwrap();
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let public =
            URL_SAFE_NO_PAD.encode(key.verifying_key().to_public_key_der().unwrap().as_bytes());
        assert!(matches!(
            svc.activate_authenticator(&a.code, &public, "Found link", "android")
                .await,
            Err(PushError::Activation)
        ));
    }
}

#[tokio::test]
async fn r25_the_app_removes_its_own_account_from_the_server_and_only_with_its_key() {
    for t in both().await {
        let (svc, clock) = service(&t, LockoutPolicy::default()).await;
        enable_push(&svc).await;
        let ana = user_with_phone(&svc, "ana@contoso.com").await;
        let ben = user_with_phone(&svc, "ben@contoso.com").await;
        use portcullis_service::clock::Clock;
        let at = clock.now().unix_timestamp();
        let m = format!("portcullis-remove|{}|{at}", ana.device);
        // Ben's key cannot remove Ana's phone.
        assert!(matches!(
            svc.remove_authenticator_signed(ana.device, at, &ben.sign(&m))
                .await,
            Err(PushError::Unknown)
        ));
        let uid = svc.user("ana@contoso.com").await.unwrap().id;
        assert_eq!(svc.authenticators_of(uid).await.unwrap().len(), 1);
        svc.remove_authenticator_signed(ana.device, at, &ana.sign(&m))
            .await
            .unwrap();
        assert!(svc.authenticators_of(uid).await.unwrap().is_empty());
        assert!(audit_activities(&svc)
            .await
            .iter()
            .any(|a| a == "User deleted security info"));
        // Once removed, the same signed request names nothing.
        assert!(matches!(
            svc.remove_authenticator_signed(ana.device, at, &ana.sign(&m))
                .await,
            Err(PushError::Unknown)
        ));
    }
}

#[tokio::test]
async fn a_user_removes_only_their_own_second_factors() {
    for t in both().await {
        let (svc, _) = service(&t, LockoutPolicy::default()).await;
        enable_push(&svc).await;
        user_with_phone(&svc, "ana@contoso.com").await;
        let ana = svc.user("ana@contoso.com").await.unwrap();
        let anas = svc.authenticators_of(ana.id).await.unwrap()[0].id;
        svc.add_user(&op(), "ben@contoso.com", "Ben").await.unwrap();
        svc.set_password(&op(), "ben@contoso.com", PW, false)
            .await
            .unwrap();
        let PasswordStep::SignedIn(ben) = svc
            .sign_in_with_password("ben@contoso.com", PW, &ctx("10.0.0.2"))
            .await
            .unwrap()
        else {
            panic!("one factor")
        };
        // Ben names Ana's phone and Ana's (absent) app from his own Security info session.
        assert!(svc
            .delete_own_authenticator(&ben.user, &ben.session, anas)
            .await
            .is_err());
        assert!(svc
            .delete_own_oath(&ben.user, &ben.session, anas)
            .await
            .is_err());
        assert_eq!(svc.authenticators_of(ana.id).await.unwrap().len(), 1);
    }
}

/// Many password sign-ins of a user with a phone at once (a password's holder retrying, or
/// a script): each starts an Authenticator request, and every one is answered promptly —
/// with a request or a refusal, never a database error. A sign-in that held a connection
/// while it waited for the write gate and another connection stalled the pool (SQLite's
/// two) until a timeout, and every other request with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_push_sign_ins_is_answered_promptly() {
    for t in both().await {
        let (svc, _clock) = service(&t, LockoutPolicy::default()).await;
        enable_push(&svc).await;
        user_with_phone(&svc, "ana@contoso.com").await;
        let tasks: Vec<_> = (0..24)
            .map(|i| {
                let svc = svc.clone();
                tokio::spawn(async move {
                    svc.sign_in_with_password("ana@contoso.com", PW, &ctx(&format!("10.3.0.{i}")))
                        .await
                })
            })
            .collect();
        let mut requests = 0;
        for r in portcullis_testkit::all_within(20, t.name, tasks).await {
            match r {
                Ok(PasswordStep::Push { .. }) => requests += 1,
                Ok(other) => panic!("{}: {other:?}", t.name),
                Err(e) => {
                    refusal(e);
                }
            }
        }
        assert!(
            requests >= 1,
            "{}: the first sign-ins send a request",
            t.name
        );
    }
}
