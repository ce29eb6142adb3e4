//! Issue 17 on both backends: the password (Argon2id, strength, lock-out) and the
//! authenticator app (enrolment sealed until confirmed, codes once, R14), read by an
//! authenticator app that is not ours (`totp-rs`).

use super::*;
use portcullis_domain::oath::EnrolRefusal;
use portcullis_domain::password::{NewPasswordRefusal, PasswordRefusal};
use portcullis_domain::policy::SoftwareOathConfiguration;
use portcullis_domain::session::AuthMethod;
use portcullis_service::oath::{OathEnrolment, OathError};
use portcullis_service::password::{PasswordSignInError, PasswordStep, SetPasswordError};
use portcullis_service::tap::SignedIn;

const PW: &str = "violet-canoe-hums-at-dusk";

async fn enable_oath(svc: &Service) {
    let cfg = SoftwareOathConfiguration {
        state: MethodState::Enabled,
        ..Default::default()
    };
    svc.save_method_configuration(&op(), MethodConfiguration::SoftwareOath(cfg), false)
        .await
        .unwrap();
}

async fn with_password(svc: &Service, upn: &str) -> portcullis_domain::directory::User {
    svc.add_user(&op(), upn, "Ana Lopez").await.unwrap();
    svc.set_password(&op(), upn, PW, false).await.unwrap()
}

async fn password_only(svc: &Service, upn: &str) -> SignedIn {
    match svc
        .sign_in_with_password(upn, PW, &ctx("10.0.0.1"))
        .await
        .unwrap()
    {
        PasswordStep::SignedIn(s) => *s,
        other => panic!("no second factor is held yet: {other:?}"),
    }
}

/// An authenticator app that is not ours, set up from the enrolment's URI.
fn app(e: &OathEnrolment) -> totp_rs::TOTP {
    totp_rs::TOTP::from_url(&e.key_uri).expect("a Key Uri Format URI")
}

fn code_at(app: &totp_rs::TOTP, clock: &ManualClock) -> String {
    use portcullis_service::clock::Clock;
    app.generate(u64::try_from(clock.now().unix_timestamp()).unwrap())
}

async fn enrolled(svc: &Service, clock: &ManualClock, upn: &str) -> totp_rs::TOTP {
    let s = password_only(svc, upn).await;
    let e = svc
        .begin_oath(&s.user, &s.session, &ctx("10.0.0.1"))
        .await
        .unwrap();
    let a = app(&e);
    svc.confirm_oath(
        &s.user,
        &s.session,
        &e.token,
        &code_at(&a, clock),
        &ctx("10.0.0.1"),
    )
    .await
    .unwrap();
    a
}

fn refusal(e: PasswordSignInError) -> PasswordRefusal {
    match e {
        PasswordSignInError::Refused(r) => r,
        e => panic!("not a refusal: {e}"),
    }
}

#[tokio::test]
async fn a_weak_password_is_refused_and_nothing_is_stored() {
    for t in both().await {
        let (svc, _) = service(&t, LockoutPolicy::default()).await;
        let u = svc
            .add_user(&op(), "ana@contoso.com", "Ana Lopez")
            .await
            .unwrap();
        for (weak, want) in [
            ("short1!", NewPasswordRefusal::TooShort),
            ("password123", NewPasswordRefusal::TooWeak { hint: None }),
            ("lopezcontoso", NewPasswordRefusal::TooWeak { hint: None }),
        ] {
            let e = svc
                .set_password(&op(), "ana@contoso.com", weak, false)
                .await
                .unwrap_err();
            match (e, want) {
                (
                    SetPasswordError::Weak(NewPasswordRefusal::TooWeak { .. }),
                    NewPasswordRefusal::TooWeak { .. },
                ) => {}
                (SetPasswordError::Weak(got), want) => assert_eq!(got, want, "{weak}"),
                (e, _) => panic!("{weak}: {e}"),
            }
        }
        assert!(!svc.has_password(u.id).await.unwrap());
        let e = svc
            .sign_in_with_password("ana@contoso.com", "short1!", &ctx("10.0.0.1"))
            .await
            .unwrap_err();
        assert_eq!(refusal(e), PasswordRefusal::NoPassword);
    }
}

#[tokio::test]
async fn r13_wrong_passwords_lock_the_account_out_and_read_like_an_unknown_name() {
    for t in both().await {
        let (svc, _) = service(&t, LockoutPolicy::default()).await;
        with_password(&svc, "ana@contoso.com").await;
        let wrong = svc
            .sign_in_with_password("ana@contoso.com", "not-the-password", &ctx("10.0.0.2"))
            .await
            .unwrap_err();
        let unknown = svc
            .sign_in_with_password("nobody@contoso.com", "not-the-password", &ctx("10.0.0.3"))
            .await
            .unwrap_err();
        assert_eq!(wrong.to_string(), unknown.to_string(), "the same words");
        for _ in 0..4 {
            let _ = svc
                .sign_in_with_password("ana@contoso.com", "not-the-password", &ctx("10.0.0.2"))
                .await;
        }
        // Locked: even the right password is refused now, from anywhere.
        let e = svc
            .sign_in_with_password("ana@contoso.com", PW, &ctx("10.9.9.9"))
            .await
            .unwrap_err();
        assert!(matches!(refusal(e), PasswordRefusal::LockedOut { .. }));
        let mut c = svc.store().conn().await.unwrap();
        let log = signins::recent(&mut c, 100).await.unwrap();
        assert!(log
            .iter()
            .any(|e| e.method == "password" && e.failure_code.as_deref() == Some("lockedOut")));
    }
}

#[tokio::test]
async fn password_then_app_code_is_mfa_and_a_code_works_once() {
    for t in both().await {
        let (svc, clock) = service(&t, LockoutPolicy::default()).await;
        enable_oath(&svc).await;
        let u = with_password(&svc, "ana@contoso.com").await;
        let alone = password_only(&svc, "ana@contoso.com").await;
        assert_eq!(alone.session.methods, [AuthMethod::Password]);
        let a = enrolled(&svc, &clock, "ana@contoso.com").await;
        assert!(svc.oath_of(u.id).await.unwrap().is_some());

        clock.advance(Duration::seconds(30));
        let PasswordStep::SecondFactor { pending } = svc
            .sign_in_with_password("ana@contoso.com", PW, &ctx("10.0.0.1"))
            .await
            .unwrap()
        else {
            panic!("a user with an app is asked for its code");
        };
        let code = code_at(&a, &clock);
        let PasswordStep::SignedIn(s) = svc
            .sign_in_with_code(&pending, &code, &ctx("10.0.0.1"))
            .await
            .unwrap()
        else {
            panic!("the code completes the sign-in");
        };
        assert_eq!(
            s.session.methods,
            [AuthMethod::Password, AuthMethod::SoftwareOath]
        );
        assert!(portcullis_domain::session::is_mfa(&s.session.methods));
        // The same code again, with the same pending sign-in: refused, named as a replay.
        let e = svc
            .sign_in_with_code(&pending, &code, &ctx("10.0.0.1"))
            .await
            .unwrap_err();
        assert_eq!(refusal(e), PasswordRefusal::CodeAlreadyUsed);
        // The previous step's code, still inside the window, is older than the one taken.
        let before = {
            use portcullis_service::clock::Clock;
            a.generate(u64::try_from(clock.now().unix_timestamp() - 30).unwrap())
        };
        let e = svc
            .sign_in_with_code(&pending, &before, &ctx("10.0.0.1"))
            .await
            .unwrap_err();
        assert_eq!(refusal(e), PasswordRefusal::CodeAlreadyUsed);
        // A pending sign-in expires; a forged one never opens.
        clock.advance(Duration::minutes(6));
        let e = svc
            .sign_in_with_code(&pending, &code_at(&a, &clock), &ctx("10.0.0.1"))
            .await
            .unwrap_err();
        assert_eq!(refusal(e), PasswordRefusal::SecondStepExpired);
        let mut forged = pending.clone();
        forged.pop();
        forged.push('A');
        let e = svc
            .sign_in_with_code(&forged, &code_at(&a, &clock), &ctx("10.0.0.1"))
            .await
            .unwrap_err();
        assert_eq!(refusal(e), PasswordRefusal::SecondStepExpired);
    }
}

#[tokio::test]
async fn twenty_concurrent_uses_of_one_code_sign_in_once() {
    for t in both().await {
        let (svc, clock) = service(
            &t,
            LockoutPolicy {
                max_failures_per_user: 100,
                max_failures_per_source: 100,
                ..Default::default()
            },
        )
        .await;
        enable_oath(&svc).await;
        with_password(&svc, "ana@contoso.com").await;
        let a = enrolled(&svc, &clock, "ana@contoso.com").await;
        clock.advance(Duration::seconds(30));
        let mut pendings = vec![];
        for _ in 0..20 {
            match svc
                .sign_in_with_password("ana@contoso.com", PW, &ctx("10.0.0.1"))
                .await
                .unwrap()
            {
                PasswordStep::SecondFactor { pending } => pendings.push(pending),
                other => panic!("the app is held: {other:?}"),
            }
        }
        let code = code_at(&a, &clock);
        let svc = Arc::new(svc);
        let tasks: Vec<_> = pendings
            .into_iter()
            .map(|p| {
                let svc = svc.clone();
                let code = code.clone();
                tokio::spawn(
                    async move { svc.sign_in_with_code(&p, &code, &ctx("10.0.0.1")).await },
                )
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(e) => assert_eq!(refusal(e), PasswordRefusal::CodeAlreadyUsed),
            }
        }
        assert_eq!(ok, 1, "one code, one sign-in");
    }
}

#[tokio::test]
async fn r14_enrolment_is_sealed_to_its_user_its_time_and_its_session() {
    for t in both().await {
        let (svc, clock) = service(&t, LockoutPolicy::default()).await;
        with_password(&svc, "ana@contoso.com").await;
        with_password(&svc, "ben@contoso.com").await;
        let s = password_only(&svc, "ana@contoso.com").await;
        // The method is disabled by default.
        let e = svc
            .begin_oath(&s.user, &s.session, &ctx("10.0.0.1"))
            .await
            .unwrap_err();
        assert!(
            matches!(e, OathError::Enrol(EnrolRefusal::MethodDisabled)),
            "{e}"
        );
        enable_oath(&svc).await;
        let e = svc
            .begin_oath(&s.user, &s.session, &ctx("10.0.0.1"))
            .await
            .unwrap();
        let a = app(&e);
        assert_eq!(a.issuer.as_deref(), Some("Contoso"));
        assert_eq!(a.account_name, "ana@contoso.com");
        // Ben cannot confirm Ana's enrolment (and so cannot learn whether a code fits it).
        let ben = password_only(&svc, "ben@contoso.com").await;
        let err = svc
            .confirm_oath(
                &ben.user,
                &ben.session,
                &e.token,
                &code_at(&a, &clock),
                &ctx("10.0.0.1"),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, OathError::EnrolmentExpired), "{err}");
        // A wrong code stores nothing.
        let wrong = format!(
            "{:06}",
            (code_at(&a, &clock).parse::<u32>().unwrap() + 1) % 1_000_000
        );
        let err = svc
            .confirm_oath(&s.user, &s.session, &e.token, &wrong, &ctx("10.0.0.1"))
            .await
            .unwrap_err();
        assert!(matches!(err, OathError::Code(_)), "{err}");
        assert!(svc.oath_of(s.user.id).await.unwrap().is_none());
        // Too late.
        clock.advance(Duration::minutes(11));
        let err = svc
            .confirm_oath(
                &s.user,
                &s.session,
                &e.token,
                &code_at(&a, &clock),
                &ctx("10.0.0.1"),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, OathError::EnrolmentExpired), "{err}");
        assert!(svc.oath_of(s.user.id).await.unwrap().is_none());
        // A session opened before the user held a pass cannot add an app once they do (R14)…
        svc.create_tap(&op(), "ana@contoso.com", IssueRequest::default())
            .await
            .unwrap();
        let e = svc
            .begin_oath(&s.user, &s.session, &ctx("10.0.0.1"))
            .await
            .unwrap_err();
        assert!(
            matches!(e, OathError::Enrol(EnrolRefusal::StepUpRequired)),
            "{e}"
        );
        // …and the password alone no longer signs in: it would be weaker than what she holds.
        let e = svc
            .sign_in_with_password("ana@contoso.com", PW, &ctx("10.0.0.1"))
            .await
            .unwrap_err();
        assert_eq!(refusal(e), PasswordRefusal::SecondFactorRequired);
    }
}

#[tokio::test]
async fn a_required_change_comes_after_every_factor_and_cannot_be_reached_without_them() {
    for t in both().await {
        let (svc, clock) = service(&t, LockoutPolicy::default()).await;
        enable_oath(&svc).await;
        with_password(&svc, "ana@contoso.com").await;
        let a = enrolled(&svc, &clock, "ana@contoso.com").await;
        // The administrator resets the password and requires a new one at the next sign-in.
        let temp = "amber-kettle-sings-twice";
        svc.set_password(&op(), "ana@contoso.com", temp, true)
            .await
            .unwrap();
        clock.advance(Duration::seconds(30));
        let PasswordStep::SecondFactor { pending } = svc
            .sign_in_with_password("ana@contoso.com", temp, &ctx("10.0.0.1"))
            .await
            .unwrap()
        else {
            panic!("the code comes before the new password");
        };
        // An attacker holding the password but not the app takes the code step's token to
        // the new-password step: it does not open there.
        let e = svc
            .sign_in_with_new_password(&pending, "glass-otter-paints-rain", &ctx("10.0.0.1"))
            .await
            .unwrap_err();
        assert_eq!(refusal(e), PasswordRefusal::SecondStepExpired);
        let PasswordStep::MustChange { pending: change } = svc
            .sign_in_with_code(&pending, &code_at(&a, &clock), &ctx("10.0.0.1"))
            .await
            .unwrap()
        else {
            panic!("a required change is asked for before the session opens");
        };
        // Nor does the new-password token open as a code step.
        let e = svc
            .sign_in_with_code(&change, &code_at(&a, &clock), &ctx("10.0.0.1"))
            .await
            .unwrap_err();
        assert_eq!(refusal(e), PasswordRefusal::SecondStepExpired);
        // A weak new password is refused and may be tried again on the same step.
        let e = svc
            .sign_in_with_new_password(&change, "password1", &ctx("10.0.0.1"))
            .await
            .unwrap_err();
        assert!(matches!(e, PasswordSignInError::Weak(_)), "{e}");
        let s = svc
            .sign_in_with_new_password(&change, "glass-otter-paints-rain", &ctx("10.0.0.1"))
            .await
            .unwrap();
        assert_eq!(
            s.session.methods,
            [AuthMethod::Password, AuthMethod::SoftwareOath]
        );
        // The step is taken once: the same page again changes nothing and opens nothing.
        let e = svc
            .sign_in_with_new_password(&change, "quiet-harbor-lamps-glow", &ctx("10.0.0.1"))
            .await
            .unwrap_err();
        assert_eq!(refusal(e), PasswordRefusal::SecondStepExpired);
        // The old password no longer works; the new one does, with no change asked again.
        let e = svc
            .sign_in_with_password("ana@contoso.com", temp, &ctx("10.0.0.1"))
            .await
            .unwrap_err();
        assert_eq!(refusal(e), PasswordRefusal::WrongPassword);
        assert!(matches!(
            svc.sign_in_with_password(
                "ana@contoso.com",
                "glass-otter-paints-rain",
                &ctx("10.0.0.1")
            )
            .await
            .unwrap(),
            PasswordStep::SecondFactor { .. }
        ));
    }
}

#[tokio::test]
async fn a_password_alone_never_stands_in_for_a_stronger_method_held() {
    for t in both().await {
        let (svc, _) = service(&t, LockoutPolicy::default()).await;
        enable_oath(&svc).await;
        with_password(&svc, "ana@contoso.com").await;
        // Her app is set up, then the policy stops allowing it: the password does not fall
        // back to signing in alone.
        let s = password_only(&svc, "ana@contoso.com").await;
        assert_eq!(s.session.methods, [AuthMethod::Password]);
        let e = svc
            .begin_oath(&s.user, &s.session, &ctx("10.0.0.1"))
            .await
            .unwrap();
        let a = app(&e);
        let code = a.generate(u64::try_from(svc.now().unix_timestamp()).unwrap());
        svc.confirm_oath(&s.user, &s.session, &e.token, &code, &ctx("10.0.0.1"))
            .await
            .unwrap();
        svc.save_method_configuration(
            &op(),
            MethodConfiguration::SoftwareOath(SoftwareOathConfiguration::default()),
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
async fn a_reset_password_or_a_deleted_app_ends_the_sessions_they_opened() {
    for t in both().await {
        let (svc, clock) = service(&t, LockoutPolicy::default()).await;
        enable_oath(&svc).await;
        with_password(&svc, "ana@contoso.com").await;
        let before = password_only(&svc, "ana@contoso.com").await;
        assert!(svc.session(&before.token).await.unwrap().is_some());
        svc.set_password(&op(), "ana@contoso.com", "amber-kettle-sings-twice", false)
            .await
            .unwrap();
        assert!(
            svc.session(&before.token).await.unwrap().is_none(),
            "an administrator's reset ends what the old password opened"
        );
        // She changes it herself: her other sessions end, the one she changes it from stays.
        let here = svc
            .sign_in_with_password(
                "ana@contoso.com",
                "amber-kettle-sings-twice",
                &ctx("10.0.0.1"),
            )
            .await
            .unwrap();
        let PasswordStep::SignedIn(here) = here else {
            panic!("one factor held")
        };
        let there = match svc
            .sign_in_with_password(
                "ana@contoso.com",
                "amber-kettle-sings-twice",
                &ctx("10.0.0.9"),
            )
            .await
            .unwrap()
        {
            PasswordStep::SignedIn(s) => s,
            other => panic!("{other:?}"),
        };
        svc.change_own_password(
            &here.user,
            &here.session,
            "amber-kettle-sings-twice",
            PW,
            &ctx("10.0.0.1"),
        )
        .await
        .unwrap();
        assert!(svc.session(&here.token).await.unwrap().is_some());
        assert!(svc.session(&there.token).await.unwrap().is_none());
        // A wrong current password counts towards the lock-out.
        for _ in 0..5 {
            let e = svc
                .change_own_password(
                    &here.user,
                    &here.session,
                    "wrong-guess-here",
                    "glass-otter-paints-rain",
                    &ctx("10.0.0.1"),
                )
                .await
                .unwrap_err();
            assert!(matches!(e, SetPasswordError::WrongCurrent), "{e}");
        }
        let e = svc
            .change_own_password(
                &here.user,
                &here.session,
                PW,
                "glass-otter-paints-rain",
                &ctx("10.0.0.1"),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, SetPasswordError::LockedOut { .. }), "{e}");
        // Deleting the app ends the sessions it completed.
        clock.advance(Duration::hours(1));
        let a = enrolled(&svc, &clock, "ana@contoso.com").await;
        clock.advance(Duration::seconds(30));
        let PasswordStep::SecondFactor { pending } = svc
            .sign_in_with_password("ana@contoso.com", PW, &ctx("10.0.0.1"))
            .await
            .unwrap()
        else {
            panic!("the app is held")
        };
        let PasswordStep::SignedIn(two) = svc
            .sign_in_with_code(&pending, &code_at(&a, &clock), &ctx("10.0.0.1"))
            .await
            .unwrap()
        else {
            panic!("signed in")
        };
        let id = svc.oath_of(two.user.id).await.unwrap().unwrap().id;
        svc.delete_oath(&op(), "ana@contoso.com", id).await.unwrap();
        assert!(svc.session(&two.token).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn r13_a_burst_of_code_guesses_gets_no_more_checks_than_the_lock_out_allows() {
    for t in both().await {
        let (svc, clock) = service(&t, LockoutPolicy::default()).await;
        enable_oath(&svc).await;
        with_password(&svc, "ana@contoso.com").await;
        let a = enrolled(&svc, &clock, "ana@contoso.com").await;
        clock.advance(Duration::seconds(30));
        let PasswordStep::SecondFactor { pending } = svc
            .sign_in_with_password("ana@contoso.com", PW, &ctx("10.0.0.1"))
            .await
            .unwrap()
        else {
            panic!("the app is held")
        };
        let right = code_at(&a, &clock);
        let svc = Arc::new(svc);
        // Forty guesses at once, from forty addresses (no source lock-out helps).
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let (svc, pending) = (svc.clone(), pending.clone());
                let guess = format!("{:06}", (right.parse::<u32>().unwrap() + 1 + i) % 1_000_000);
                tokio::spawn(async move {
                    svc.sign_in_with_code(&pending, &guess, &ctx(&format!("10.1.0.{i}")))
                        .await
                })
            })
            .collect();
        let mut checked = 0;
        for t in tasks {
            match refusal(t.await.unwrap().unwrap_err()) {
                PasswordRefusal::WrongCode => checked += 1,
                PasswordRefusal::LockedOut { .. } => {}
                other => panic!("{other:?}"),
            }
        }
        // Only the guesses checked are answered "not correct"; the rest meet the lock-out.
        assert!(checked <= 5, "{checked} guesses were checked");
        assert!(checked >= 1, "the first guesses are checked");
        // And the right code now meets the lock-out too.
        let e = svc
            .sign_in_with_code(&pending, &right, &ctx("10.2.0.1"))
            .await
            .unwrap_err();
        assert!(matches!(refusal(e), PasswordRefusal::LockedOut { .. }));
    }
}

#[tokio::test]
async fn a_pass_used_up_or_expired_is_no_stronger_method_held() {
    for t in both().await {
        let (svc, clock) = service(&t, LockoutPolicy::default()).await;
        with_password(&svc, "ana@contoso.com").await;
        let pass = svc
            .create_tap(
                &op(),
                "ana@contoso.com",
                IssueRequest {
                    is_usable_once: Some(true),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        // While it can sign in, the password alone may not.
        let e = svc
            .sign_in_with_password("ana@contoso.com", PW, &ctx("10.0.0.1"))
            .await
            .unwrap_err();
        assert_eq!(refusal(e), PasswordRefusal::SecondFactorRequired);
        svc.sign_in_with_tap("ana@contoso.com", &pass.code, &ctx("10.0.0.1"))
            .await
            .unwrap();
        // Used up: the password signs in again (one factor).
        assert!(matches!(
            svc.sign_in_with_password("ana@contoso.com", PW, &ctx("10.0.0.1"))
                .await
                .unwrap(),
            PasswordStep::SignedIn(_)
        ));
        // A multi-use pass that expired counts no more either.
        svc.create_tap(&op(), "ana@contoso.com", IssueRequest::default())
            .await
            .unwrap();
        clock.advance(Duration::days(2));
        assert!(matches!(
            svc.sign_in_with_password("ana@contoso.com", PW, &ctx("10.0.0.1"))
                .await
                .unwrap(),
            PasswordStep::SignedIn(_)
        ));
    }
}
