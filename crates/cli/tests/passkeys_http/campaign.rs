//! R55: the registration campaign through HTTP against the real binary — the interrupt after
//! sign-in, "Not now" counted down to a required registration, the snooze's days (the
//! server restarted under libfaketime), exclusion, and Graph PATCH turning it on and off.

use super::*;

const DORA: &str = "dora@portcullis.local";
const ERIN: &str = "erin@portcullis.local";
const FRED: &str = "fred@portcullis.local";
const GINA: &str = "gina@portcullis.local";
const POLICY: &str = "/v1.0/policies/authenticationMethodsPolicy";

fn user_id(d: &Path, upn: &str) -> String {
    let v: Value = serde_json::from_str(&ok(d, &["users", "show", upn, "--json"])).unwrap();
    v["user"]["id"].as_str().unwrap().to_string()
}

/// The administrator's Graph token that may write the methods policy.
fn policy_token(d: &Path, s: &Server) -> String {
    support::token(
        d,
        None,
        &s.origin(),
        ADMIN,
        &["Policy.ReadWrite.AuthenticationMethod"],
    )
}

async fn patch_campaign(s: &Server, token: &str, campaign: Value) -> (StatusCode, Value) {
    let r = client()
        .patch(s.url(POLICY))
        .bearer_auth(token)
        .json(&json!({"registrationEnforcement": {"authenticationMethodsRegistrationCampaign": campaign}}))
        .send()
        .await
        .unwrap();
    let st = r.status();
    (st, r.json().await.unwrap_or(Value::Null))
}

async fn stored_campaign(s: &Server, token: &str) -> Value {
    let r = client()
        .get(s.url(POLICY))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    v["registrationEnforcement"]["authenticationMethodsRegistrationCampaign"].clone()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Signs `upn` in with a fresh pass; the client and where the sign-in sent it.
async fn tap_sign_in(d: &Path, s: &Server, upn: &str) -> (reqwest::Client, String) {
    let c = client();
    let r = sign_in(
        &c,
        s,
        upn,
        &support::code_from(&ok(d, &["tap", "create", "--user", upn])),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{upn} signs in");
    (c, location(&r))
}

const INTERRUPTED: &str = "/registration-campaign?return_to=%2Fme";

async fn get(c: &reqwest::Client, s: &Server, path: &str) -> (StatusCode, String, String) {
    let r = c.get(s.url(path)).send().await.unwrap();
    let (st, loc) = (r.status(), location(&r));
    (st, loc, r.text().await.unwrap_or_default())
}

async fn snooze(c: &reqwest::Client, s: &Server) -> (StatusCode, String) {
    let r = c
        .post(s.url("/registration-campaign/snooze"))
        .header("origin", s.origin())
        .form(&[("return_to", "/me")])
        .send()
        .await
        .unwrap();
    (r.status(), location(&r))
}

/// Dora (in the campaign's group) is interrupted; Erin (in the group, excluded by user) and
/// Fred (not in the group) are not.
fn campaign_tenant(d: &Path) -> (String, String) {
    patch_fido2(d, r#"{"state": "enabled", "isAttestationEnforced": false}"#);
    for u in [DORA, ERIN, FRED, GINA] {
        ok(d, &["users", "add", "--upn", u]);
    }
    ok(d, &["groups", "add", "Passkey rollout"]);
    for u in [DORA, ERIN, GINA] {
        ok(
            d,
            &[
                "groups",
                "members",
                "add",
                "--group",
                "Passkey rollout",
                "--user",
                u,
            ],
        );
    }
    let groups: Value = serde_json::from_str(&ok(d, &["groups", "list", "--json"])).unwrap();
    let rollout = groups[0]["id"].as_str().unwrap().to_string();
    (rollout, user_id(d, ERIN))
}

#[tokio::test]
async fn r55_interrupt_snoozes_count_down_then_registration_is_required_and_nothing_gets_around_it()
{
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let (rollout, erin) = campaign_tenant(d);
    let token = policy_token(d, &s);
    // Off by default (state "default" behaves as disabled): nobody is interrupted.
    assert_eq!(stored_campaign(&s, &token).await["state"], "default");
    assert_eq!(tap_sign_in(d, &s, DORA).await.1, "/me");

    let (st, v) = patch_campaign(&s, &token, json!({
        "state": "enabled", "snoozeDurationInDays": 0, "enforceRegistrationAfterAllowedSnoozes": true,
        "includeTargets": [{"id": rollout, "targetType": "group", "targetedAuthenticationMethod": "fido2"}],
        "excludeTargets": [{"id": erin, "targetType": "user"}]})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["registrationEnforcement"]["authenticationMethodsRegistrationCampaign"]["includeTargets"]
            [0]["targetedAuthenticationMethod"],
        "Fido2"
    );

    // Excluded and untargeted users go straight on.
    assert_eq!(tap_sign_in(d, &s, ERIN).await.1, "/me");
    assert_eq!(tap_sign_in(d, &s, FRED).await.1, "/me");

    // Three times "Not now", each at a new sign-in (0 days: asked at every sign-in).
    for left in ["3 more times", "2 more times", "1 more time"] {
        let (c, to) = tap_sign_in(d, &s, DORA).await;
        assert_eq!(to, INTERRUPTED);
        // Held up: the signed-in page and the home page send the session back.
        assert_eq!(get(&c, &s, "/me").await.1, INTERRUPTED);
        let (st, _, page) = get(&c, &s, &to).await;
        assert_eq!(st, StatusCode::OK);
        assert!(page.contains(left), "{left}: {page}");
        assert!(page.contains("id=\"not-now\""));
        assert_eq!(snooze(&c, &s).await, (StatusCode::SEE_OTHER, "/me".into()));
        assert_eq!(get(&c, &s, "/me").await.0, StatusCode::OK);
    }

    // The fourth time it is required: no "Not now", and nothing gets around it.
    let (c, to) = tap_sign_in(d, &s, DORA).await;
    assert_eq!(to, INTERRUPTED);
    let (_, _, page) = get(&c, &s, &to).await;
    assert!(
        page.contains("data-code=\"registrationRequired\""),
        "{page}"
    );
    assert!(!page.contains("not-now"), "{page}");
    // Posting "Not now" anyway is refused and changes nothing.
    assert_eq!(snooze(&c, &s).await.0, StatusCode::FORBIDDEN);
    assert_eq!(get(&c, &s, "/me").await.1, INTERRUPTED);
    assert_eq!(get(&c, &s, "/").await.1, INTERRUPTED);
    // Another application's sign-in is held up too, and resumes afterwards.
    let app_id = ok(
        d,
        &[
            "apps",
            "add",
            "--name",
            "Payroll",
            "--redirect-uri",
            "https://payroll.example/cb",
        ],
    )
    .lines()
    .next()
    .unwrap()
    .split_whitespace()
    .last()
    .unwrap()
    .to_string();
    let authorize = format!(
        "/oauth2/v2.0/authorize?client_id={app_id}&redirect_uri=https%3A%2F%2Fpayroll.example%2Fcb&response_type=code&scope=openid&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
    );
    let (st, held, _) = get(&c, &s, &authorize).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert!(
        held.starts_with("/registration-campaign?return_to=%2Foauth2%2Fv2.0%2Fauthorize"),
        "{held}"
    );
    // A cross-site "Not now" is refused before anything is read.
    let r = c
        .post(s.url("/registration-campaign/snooze"))
        .header("origin", "https://evil.example")
        .form(&[("return_to", "/me")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The Authenticator's own sign-in is not held up: it is where a passkey is made, and
    // holding it up would be a registration loop.
    let (st, to_app, _) = get(&c, &s, "/oauth2/v2.0/authorize?client_id=4813382a-8fa7-425e-ab75-3b753aab3abb&redirect_uri=msauth.com.microsoft.azureauthenticator%3A%2F%2Fauth&response_type=code&scope=openid&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256").await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert!(
        to_app.starts_with("msauth.com.microsoft.azureauthenticator://auth?code="),
        "{to_app}"
    );

    // Security info stays open: she adds a passkey there, and that releases the session.
    let (st, v) = support::register_key(&c, &s, &mut SoftKey::new(CHROMIUM)).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(get(&c, &s, "/me").await.0, StatusCode::OK);
    let (st, resumed, _) = get(&c, &s, &authorize).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert!(
        resumed.starts_with("https://payroll.example/cb?code="),
        "{resumed}"
    );
    // She is not asked again.
    assert_eq!(tap_sign_in(d, &s, DORA).await.1, "/me");

    // Graph PATCH turns it off: Gina, interrupted a moment ago, is released by the page, and
    // her next sign-in is not interrupted.
    let (g, to) = tap_sign_in(d, &s, GINA).await;
    assert_eq!(to, INTERRUPTED);
    let (st, _) = patch_campaign(&s, &token, json!({"state": "disabled"})).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(get(&g, &s, &to).await.1, "/me");
    assert_eq!(get(&g, &s, "/me").await.0, StatusCode::OK);
    assert_eq!(tap_sign_in(d, &s, GINA).await.1, "/me");
    // ... and on again, by excluding her group instead: still not interrupted.
    let (st, v) = patch_campaign(
        &s,
        &token,
        json!({"state": "enabled",
        "excludeTargets": [{"id": rollout, "targetType": "group"}]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(tap_sign_in(d, &s, GINA).await.1, "/me");
    let (st, _) = patch_campaign(&s, &token, json!({"excludeTargets": []})).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(tap_sign_in(d, &s, GINA).await.1, INTERRUPTED);
    // A user who is not asked has nothing to postpone.
    let (f, _) = tap_sign_in(d, &s, FRED).await;
    assert_eq!(snooze(&f, &s).await.0, StatusCode::CONFLICT);
}

#[tokio::test]
async fn r55_bad_campaigns_are_refused_over_graph_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let (rollout, _) = campaign_tenant(d);
    let token = policy_token(d, &s);
    let before = stored_campaign(&s, &token).await;
    for bad in [
        json!({"state": "on"}),
        json!({"snoozeDurationInDays": 15}),
        json!({"snoozeDurationInDays": -1}),
        json!({"enforceRegistrationAfterAllowedSnoozes": "yes"}),
        json!({"includeTargets": [{"id": "not-a-guid", "targetType": "group"}]}),
        json!({"includeTargets": [{"id": uuid_v4(), "targetType": "group"}]}),
        json!({"includeTargets": [{"id": uuid_v4(), "targetType": "user"}]}),
        json!({"includeTargets": [{"id": rollout, "targetedAuthenticationMethod": "sms"}]}),
        json!({"excludeTargets": [{"id": "all_users", "targetType": "group"}]}),
        json!({"unknownField": 1}),
        json!([]),
    ] {
        let (st, v) = patch_campaign(&s, &token, bad.clone()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{bad}: {v}"
        );
    }
    assert_eq!(stored_campaign(&s, &token).await, before);
    // Reading is not writing: a reader's token cannot change it.
    let reader = support::token(
        d,
        None,
        &s.origin(),
        ADMIN,
        &["Policy.Read.AuthenticationMethod"],
    );
    let (st, _) = patch_campaign(&s, &reader, json!({"state": "enabled"})).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(stored_campaign(&s, &token).await, before);
}

/// The libfaketime library (Debian package `faketime`), which the test suite's set-up
/// installs: the server is restarted days later without touching its clock or its data.
fn libfaketime() -> String {
    ["x86_64-linux-gnu", "aarch64-linux-gnu"]
        .iter()
        .map(|a| format!("/usr/lib/{a}/faketime/libfaketime.so.1"))
        .find(|p| Path::new(p).exists())
        .expect(
            "libfaketime is missing: install the Debian package 'faketime' (scripts/test.sh does)",
        )
}

/// The CLI run `days` from now, as the restarted server sees it.
fn cli_later(d: &Path, days: u32, args: &[&str]) -> String {
    let out = std::process::Command::new(support::bin())
        .args(args)
        .arg("--data-dir")
        .arg(d)
        .env("LD_PRELOAD", libfaketime())
        .env("FAKETIME", format!("+{days}d"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn server_later(d: &Path, days: u32) -> Server {
    Server::start_env(
        d,
        None,
        &[
            ("LD_PRELOAD", libfaketime()),
            ("FAKETIME", format!("+{days}d")),
        ],
    )
    .await
}

async fn sign_in_later(d: &Path, s: &Server, days: u32, upn: &str) -> String {
    let c = client();
    let r = sign_in(
        &c,
        s,
        upn,
        &support::code_from(&cli_later(d, days, &["tap", "create", "--user", upn])),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{upn} signs in");
    location(&r)
}

#[tokio::test]
async fn r55_not_now_lasts_the_configured_days_measured_by_the_server_clock() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let (rollout, _) = campaign_tenant(d);
    let token = policy_token(d, &s);
    let (st, v) = patch_campaign(&s, &token, json!({"state": "enabled", "snoozeDurationInDays": 3,
        "includeTargets": [{"id": rollout, "targetType": "group", "targetedAuthenticationMethod": "fido2"}]})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (c, to) = tap_sign_in(d, &s, DORA).await;
    assert_eq!(to, INTERRUPTED);
    let (_, _, page) = get(&c, &s, &to).await;
    assert!(
        page.contains("in 3 days") && !page.contains("snoozes-left"),
        "{page}"
    );
    assert_eq!(snooze(&c, &s).await.0, StatusCode::SEE_OTHER);
    // Within the snooze: not asked.
    assert_eq!(tap_sign_in(d, &s, DORA).await.1, "/me");
    s.stop().await;
    // Two days later (the server restarted with its clock two days on): still snoozed.
    let s = server_later(d, 2).await;
    assert_eq!(sign_in_later(d, &s, 2, DORA).await, "/me");
    s.stop().await;
    // Four days later: asked again.
    let s = server_later(d, 4).await;
    assert_eq!(sign_in_later(d, &s, 4, DORA).await, INTERRUPTED);
    s.stop().await;
}

/// A user whom Conditional Access keeps out of Security info from where they sign in is not
/// interrupted: the interrupt would send them to a page they cannot use, and once their
/// snoozes ran out they could reach nothing at all — a loop.
#[tokio::test]
async fn r55_users_conditional_access_keeps_out_of_security_info_are_not_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let (rollout, _) = campaign_tenant(d);
    let token = policy_token(d, &s);
    let (st, v) = patch_campaign(&s, &token, json!({"state": "enabled", "snoozeDurationInDays": 0,
        "enforceRegistrationAfterAllowedSnoozes": true,
        "includeTargets": [{"id": rollout, "targetType": "group", "targetedAuthenticationMethod": "fido2"}]})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(tap_sign_in(d, &s, DORA).await.1, INTERRUPTED);
    // Registering security info only from the office (a named location this test is not in).
    ok(
        d,
        &[
            "ca",
            "location",
            "--name",
            "Office",
            "--cidr",
            "203.0.113.0/24",
            "--trusted",
        ],
    );
    let f = d.join("office-only.json");
    std::fs::write(&f, json!({
        "displayName": "Register security info only from the office", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeUserActions": ["urn:user:registersecurityinfo"]},
            "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}, "clientAppTypes": ["all"]},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}
    }).to_string()).unwrap();
    ok(d, &["ca", "save", f.to_str().unwrap()]);
    assert_eq!(tap_sign_in(d, &s, DORA).await.1, "/me");
    assert_eq!(tap_sign_in(d, &s, GINA).await.1, "/me");
}
