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
