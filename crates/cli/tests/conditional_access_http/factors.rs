//! Issue 17: strengths and Conditional Access meet the password and the authenticator app as
//! Entra does — password + app code is MFA and meets a `password,softwareOath` strength; a
//! password alone meets neither; neither is phishing-resistant — through the real OIDC flow.

use super::*;

#[tokio::test]
async fn r31_password_and_app_code_meet_their_strength_and_mfa_but_never_phishing_resistance() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    let cb = "http://127.0.0.1:8765/cb";
    let app = |name: &str| {
        last_word(&ok(
            d,
            &[
                "apps",
                "add",
                "--name",
                name,
                "--public",
                "--redirect-uri",
                cb,
            ],
        ))
    };
    let (payroll, wiki, vault) = (app("Payroll"), app("Wiki"), app("Vault"));
    let strength = ok(
        d,
        &[
            "ca",
            "strength",
            "--name",
            "Password and app",
            "--combination",
            "password,softwareOath",
        ],
    );
    let strength = last_word(&strength);
    let policy = |name: &str, app: &str, grant: Value| {
        let f = policy_file(
            d,
            name,
            json!({
                "displayName": name, "state": "enabled",
                "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": [app]}, "clientAppTypes": ["all"]},
                "grantControls": grant
            }),
        );
        ok(d, &["ca", "save", &f]);
    };
    policy(
        "Payroll needs password and app",
        &payroll,
        json!({"operator": "OR", "authenticationStrength": {"id": strength}}),
    );
    policy(
        "Wiki needs MFA",
        &wiki,
        json!({"operator": "OR", "builtInControls": ["mfa"]}),
    );
    policy(
        "Vault needs phishing-resistant MFA",
        &vault,
        json!({"operator": "OR", "authenticationStrength": {"id": PHISHING_RESISTANT}}),
    );
    let upn = "carol@portcullis.local";
    ok(d, &["users", "add", "--upn", upn]);
    let pw = "violet-canoe-hums-at-dusk";
    let (st, _, err) =
        support::cli_input(d, None, &["users", "set-password", upn], &format!("{pw}\n"));
    assert_eq!(st, 0, "{err}");
    support::enable_oath(d, None);

    // A password alone: one factor. Each application refuses, naming its policy.
    let c = support::password_client(&s, upn, pw, None).await;
    for (app, name) in [
        (&payroll, "Payroll needs password and app"),
        (&wiki, "Wiki needs MFA"),
        (&vault, "Vault needs phishing-resistant MFA"),
    ] {
        let (st, loc, page) = authorize(&c, &s, app, cb).await;
        assert_eq!(
            (st, loc.as_str()),
            (StatusCode::FORBIDDEN, ""),
            "{name}: {page}"
        );
        assert!(page.contains(name), "{page}");
    }

    // Carol adds her app (her first second factor, after the password), then signs in with both.
    let authenticator = support::enrol_oath(&c, &s).await;
    let c = support::password_client(&s, upn, pw, Some(&support::code_in(&authenticator, 1))).await;
    for app in [&payroll, &wiki] {
        let (st, loc, page) = authorize(&c, &s, app, cb).await;
        assert_eq!(st, StatusCode::SEE_OTHER, "{page}");
        assert!(loc.starts_with(cb) && loc.contains("code="), "{loc}");
    }
    // Neither a password nor an app code resists phishing.
    let (st, _, page) = authorize(&c, &s, &vault, cb).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{page}");
    assert!(
        page.contains("Vault needs phishing-resistant MFA"),
        "{page}"
    );

    // The sign-in log names the methods of each sign-in, the applications' included.
    let log = signins(d);
    let of = |app: &str, method: &str, ok: bool| {
        log.iter().any(|e| {
            e["userPrincipalName"] == upn
                && e["method"] == method
                && (app.is_empty() || e["appDisplayName"] == app)
                && (e["errorCode"] == 0) == ok
        })
    };
    assert!(of("", "password", true), "{log:#?}");
    assert!(of("Payroll", "password", false), "{log:#?}");
    assert!(of("", "password,softwareOath", true), "{log:#?}");
    assert!(of("Payroll", "password,softwareOath", true), "{log:#?}");
    assert!(of("Vault", "password,softwareOath", false), "{log:#?}");
}

/// An administrator who holds only a password reaches no administration with it, and a token
/// that may write users but not credentials cannot set anyone's password.
#[tokio::test]
async fn a_password_alone_administers_nothing_and_setting_one_needs_a_credential_scope() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    let upn = "erin@portcullis.local";
    ok(d, &["users", "add", "--upn", upn]);
    ok(
        d,
        &[
            "roles",
            "assign",
            "--user",
            upn,
            "--role",
            "Global Administrator",
        ],
    );
    let pw = "violet-canoe-hums-at-dusk";
    let (st, _, err) =
        support::cli_input(d, None, &["users", "set-password", upn], &format!("{pw}\n"));
    assert_eq!(st, 0, "{err}");
    let c = support::password_client(&s, upn, pw, None).await;
    let r = c.get(s.url("/admin")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("two factors"));

    // Graph: User.ReadWrite.All writes users, not their passwords.
    let users_only = support::token(
        d,
        None,
        &s.origin(),
        "admin@portcullis.local",
        &["User.ReadWrite.All"],
    );
    let set = json!({"passwordProfile": {"password": "amber-kettle-sings-twice"}});
    let r = client()
        .patch(s.url(&format!("/v1.0/users/{upn}")))
        .bearer_auth(&users_only)
        .json(&set)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let new_user = json!({"displayName": "Fay", "userPrincipalName": "fay@portcullis.local", "accountEnabled": true, "passwordProfile": {"password": "amber-kettle-sings-twice"}});
    let r = client()
        .post(s.url("/v1.0/users"))
        .bearer_auth(&users_only)
        .json(&new_user)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (st, _, _) = cli(d, None, &["users", "show", "fay@portcullis.local"]);
    assert_ne!(st, 0, "nothing was created");
    // The old password still signs in: nothing was changed.
    support::password_client(&s, upn, pw, None).await;
    let both = support::token(
        d,
        None,
        &s.origin(),
        "admin@portcullis.local",
        &[
            "User.ReadWrite.All",
            "UserAuthenticationMethod.ReadWrite.All",
        ],
    );
    let r = client()
        .patch(s.url(&format!("/v1.0/users/{upn}")))
        .bearer_auth(&both)
        .json(&set)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

/// The id in the first `/security-info/authenticator-app/{id}/delete` link of a page.
fn oath_id(page: &str) -> String {
    let at = page
        .find("/security-info/authenticator-app/")
        .unwrap_or_else(|| panic!("no app to delete in {page}"))
        + "/security-info/authenticator-app/".len();
    page[at..at + 36].to_string()
}

/// Whether a client's session still opens Security info (else it is sent to sign in).
/// The password step, asked by a fresh client that wants its answer as JSON.
fn password_step(s: &Server) -> reqwest::RequestBuilder {
    client()
        .post(s.url("/signin/password"))
        .header("accept", "application/json")
}

async fn signed_in(c: &reqwest::Client, s: &Server) -> bool {
    support::get_following(c, s, "/security-info")
        .await
        .url()
        .path()
        == "/security-info"
}

/// An attacker who learnt a user's password before the user set up anything stronger keeps
/// no session that could swap the user's new method for the attacker's own (a password alone
/// may add the first second factor): adding an app's codes, the Authenticator or a passkey
/// ends every session that a password alone opened, but the one adding it — and a password
/// alone then signs in no more.
#[tokio::test]
async fn a_session_a_password_alone_opened_ends_when_the_user_adds_a_stronger_method() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    let pw = "violet-canoe-hums-at-dusk";
    support::enable_oath(d, None);
    support::enable_fido2(d, None);
    let user = |upn: &str| {
        ok(d, &["users", "add", "--upn", upn]);
        let (st, _, err) =
            support::cli_input(d, None, &["users", "set-password", upn], &format!("{pw}\n"));
        assert_eq!(st, 0, "{err}");
    };

    // The app's codes: the attacker signed in first with the password; the user adds an app.
    let hana = "hana@portcullis.local";
    user(hana);
    let attacker = support::password_client(&s, hana, pw, None).await;
    let owner = support::password_client(&s, hana, pw, None).await;
    let app = support::enrol_oath(&owner, &s).await;
    assert!(
        !signed_in(&attacker, &s).await,
        "the attacker's session ended"
    );
    assert!(signed_in(&owner, &s).await, "the one that added it stays");
    // What the attacker's session would do next — remove the user's app, then add its own —
    // does nothing: the session is gone.
    let page = support::get_following(&owner, &s, "/security-info")
        .await
        .text()
        .await
        .unwrap();
    let id = oath_id(&page);
    let r = attacker
        .post(s.url(&format!("/security-info/authenticator-app/{id}/delete")))
        .header("origin", s.origin())
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .is_none_or(|l| !l.contains("notice=oath-deleted")),
        "nothing was removed"
    );
    // The user's app still signs in (it was not removed), and a password alone no longer does:
    // the password step now asks for the code.
    support::password_client(&s, hana, pw, Some(&support::code_in(&app, 1))).await;
    let r = client()
        .post(s.url("/signin/password"))
        .form(&[("username", hana), ("password", pw)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains(r#"name="pending""#));

    // A passkey added with a pass ends the password-only session the same way.
    let ines = "ines@portcullis.local";
    user(ines);
    let attacker = support::password_client(&s, ines, pw, None).await;
    let owner = support::tap_client(d, &s, ines).await;
    let mut key = SoftKey::new(CHROMIUM);
    let (st, v) = support::register_key(&owner, &s, &mut key).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert!(
        !signed_in(&attacker, &s).await,
        "the attacker's session ended"
    );
    assert!(signed_in(&owner, &s).await);

    // The Authenticator, added from the owner's own password sign-in: the same.
    support::enable_push(d, None);
    let kira = "kira@portcullis.local";
    user(kira);
    let attacker = support::password_client(&s, kira, pw, None).await;
    let owner = support::password_client(&s, kira, pw, None).await;
    support::add_phone(&owner, &s, &d.join("kira-phone.json")).await;
    assert!(
        !signed_in(&attacker, &s).await,
        "the attacker's session ended"
    );
    assert!(signed_in(&owner, &s).await, "the one that added it stays");

    // A required password change does not open one afterwards either: the attacker proved
    // the password while the user held nothing, the user then added a passkey, and the new
    // password the attacker chooses changes nothing and opens nothing.
    let lina = "lina@portcullis.local";
    user(lina);
    let (st, _, err) = support::cli_input(
        d,
        None,
        &["users", "set-password", lina, "--must-change"],
        &format!("{pw}\n"),
    );
    assert_eq!(st, 0, "{err}");
    let step: Value = password_step(&s)
        .form(&[("username", lina), ("password", pw)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(step["step"], "newPassword", "{step}");
    let owner = support::tap_client(d, &s, lina).await;
    let mut key = SoftKey::new(CHROMIUM);
    let (st, v) = support::register_key(&owner, &s, &mut key).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let attacker = client();
    let r = attacker
        .post(s.url("/signin/password/new"))
        .form(&[
            ("pending", step["pending"].as_str().unwrap()),
            ("new", "mallory-chose-this-one-2026"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(!signed_in(&attacker, &s).await);
    assert!(signed_in(&owner, &s).await, "the owner's session stays");
    let r = password_step(&s)
        .form(&[
            ("username", lina),
            ("password", "mallory-chose-this-one-2026"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "the password did not change"
    );

    // A session that proves more than the password is not touched; the password-only one
    // that added the app (kept then) ends when a passkey is added elsewhere.
    let jana = "jana@portcullis.local";
    user(jana);
    let first = support::password_client(&s, jana, pw, None).await;
    let app = support::enrol_oath(&first, &s).await;
    let strong = support::password_client(&s, jana, pw, Some(&support::code_in(&app, 1))).await;
    let other = support::tap_client(d, &s, jana).await;
    let mut key = SoftKey::new(CHROMIUM);
    let (st, v) = support::register_key(&strong, &s, &mut key).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert!(signed_in(&strong, &s).await && signed_in(&other, &s).await);
    assert!(!signed_in(&first, &s).await);
    s.stop().await;
}

/// A client that asks for JSON (a native app) hears one answer for an unknown name, an account
/// without a password and a wrong password, as a browser does: which accounts exist is not
/// told. The sign-in log keeps the three apart.
#[tokio::test]
async fn password_sign_in_answers_an_unknown_name_a_missing_and_a_wrong_password_alike() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    let pw = "violet-canoe-hums-at-dusk";
    for upn in ["kai@portcullis.local", "lena@portcullis.local"] {
        ok(d, &["users", "add", "--upn", upn]);
    }
    let (st, _, err) = support::cli_input(
        d,
        None,
        &["users", "set-password", "kai@portcullis.local"],
        &format!("{pw}\n"),
    );
    assert_eq!(st, 0, "{err}");
    let mut answers = vec![];
    for (upn, password) in [
        ("nobody@portcullis.local", pw),
        ("lena@portcullis.local", pw),
        ("kai@portcullis.local", "not-her-password-at-all"),
    ] {
        let r = password_step(&s)
            .form(&[("username", upn), ("password", password)])
            .send()
            .await
            .unwrap();
        answers.push((r.status(), r.json::<Value>().await.unwrap()));
    }
    assert_eq!(answers[0].0, StatusCode::UNAUTHORIZED);
    assert_eq!(answers[0].1["error"]["code"], "invalidCredentials");
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "one answer: {answers:?}"
    );
    let codes: Vec<Value> = signins(d)
        .iter()
        .filter(|e| e["method"] == "password")
        .map(|e| e["failureCode"].clone())
        .collect();
    for code in ["userNotFound", "passwordNotSet", "invalidPassword"] {
        assert!(codes.contains(&json!(code)), "{code}: {codes:?}");
    }
}

/// Against MFA fatigue: whoever holds a user's password cannot keep their phone ringing. Five
/// password sign-ins in ten minutes each send a request; the sixth sends none and is refused
/// with when the next may go (429, `Retry-After`), telling the user what it may mean — or,
/// for a user who also has an app's codes, asks for a code instead.
#[tokio::test]
async fn a_password_cannot_flood_the_users_phone_with_authenticator_requests() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    let pw = "violet-canoe-hums-at-dusk";
    support::enable_push(d, None);
    let upn = "mira@portcullis.local";
    ok(d, &["users", "add", "--upn", upn]);
    let (st, _, err) =
        support::cli_input(d, None, &["users", "set-password", upn], &format!("{pw}\n"));
    assert_eq!(st, 0, "{err}");
    // Set up with a pass, as a new user is.
    let first = support::tap_client(d, &s, upn).await;
    let phone = d.join("phone.json");
    support::add_phone(&first, &s, &phone).await;

    let attempt = || async {
        let r = password_step(&s)
            .header("user-agent", "Mallory-Laptop/1.0")
            .form(&[("username", upn), ("password", pw)])
            .send()
            .await
            .unwrap();
        let retry = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        (r.status(), retry, r.json::<Value>().await.unwrap())
    };
    for n in 0..5 {
        let (st, _, v) = attempt().await;
        assert_eq!(
            (st, &v["step"]),
            (StatusCode::OK, &json!("push")),
            "{n}: {v}"
        );
    }
    let (st, retry, v) = attempt().await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["error"]["code"], "pushThrottled", "{v}");
    let secs: i64 = retry.expect("Retry-After").parse().unwrap();
    assert!((1..=600).contains(&secs), "{secs}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("someone may know your password"),
        "{v}"
    );
    // The phone holds one open request, the newest; the refused sign-in sent none.
    let (st, out, err) = support::authenticator(&phone, &["--json", "requests"]);
    assert_eq!(st, 0, "{err}");
    let open: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(open["value"].as_array().map(Vec::len), Some(1), "{open}");
    assert!(signins(d)
        .iter()
        .any(|e| e["failureCode"] == "pushThrottled"));
    // The user denies it on the phone: the denial is logged as the sign-in's, from where the
    // sign-in came (and counts there), not from the phone.
    let (st, _, err) = support::authenticator(&phone, &["deny"]);
    assert_eq!(st, 0, "{err}");
    let log = signins(d);
    let denied = log
        .iter()
        .find(|e| e["failureCode"] == "pushDenied")
        .unwrap_or_else(|| panic!("{log:#?}"));
    assert_eq!(denied["userAgent"], "Mallory-Laptop/1.0", "{denied}");

    // With an app's codes as well, the sign-in asks for a code instead of refusing.
    support::enable_oath(d, None);
    support::enrol_oath(&first, &s).await;
    let (st, _, v) = attempt().await;
    assert_eq!((st, &v["step"]), (StatusCode::OK, &json!("code")), "{v}");
}
