//! Conditional Access through the real OIDC flow of the real binary, with software
//! authenticators; What If (the CLI) must give the same outcome as the sign-in (R43).

// A test crate: a failed assumption is a failed test (the product denies these, Cargo.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "conditional_access_http/factors.rs"]
mod factors;
#[path = "conditional_access_http/same_device.rs"]
mod same_device;
#[path = "conditional_access_http/same_engine.rs"]
mod same_engine;
mod support;

use portcullis_testkit::softkey::{Quirks, SoftKey};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;
use support::{cli, client, code_from, enroll_device, sign_in, Server};

const CHROMIUM: &str = "01020304-0506-0708-0102-030405060708";
const AUTHN_ANDROID: &str = "de1e552d-db1d-4423-a619-566b625cdc84";
const AUTHN_IOS: &str = "90a3ccdf-635c-4729-a248-9b709135078f";
const AUTHENTICATOR_APP: &str = "4813382a-8fa7-425e-ab75-3b753aab3abb";
const AUTHENTICATOR_CB: &str = "msauth.com.microsoft.azureauthenticator://auth";
const PHISHING_RESISTANT: &str = "00000000-0000-0000-0000-000000000004";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn ok(d: &Path, args: &[&str]) -> String {
    let (st, out, err) = cli(d, None, args);
    assert_eq!(st, 0, "{args:?}: {err}");
    out
}

fn last_word(s: &str) -> String {
    s.lines()
        .next()
        .and_then(|l| l.split_whitespace().last())
        .unwrap()
        .trim_matches(|c| c == '(' || c == ')')
        .to_string()
}

/// The Authenticator app's own attestation root in these tests (R4): every server here trusts
/// it through its app attestation service.
static APP_CA: std::sync::LazyLock<portcullis_testkit::testca::TestCa> =
    std::sync::LazyLock::new(|| {
        portcullis_testkit::testca::TestCa::new("Test App Attestation Root")
    });

/// A server on `d` whose app attestation service trusts [`APP_CA`].
async fn start(d: &Path) -> Server {
    let pem = d.join("app-attestation-root.pem");
    std::fs::write(&pem, APP_CA.pem()).unwrap();
    Server::start_env(
        d,
        None,
        &[("PORTCULLIS_APP_ATTESTATION_ROOT", pem.display().to_string())],
    )
    .await
}

/// Adds a passkey. A passkey in the Authenticator comes with the app's own attestation, as
/// the real app's does, so its AAGUID is attested (R32); any other model sends none.
async fn register(c: &reqwest::Client, s: &Server, key: &mut SoftKey) {
    let authenticator = [AUTHN_ANDROID, AUTHN_IOS]
        .iter()
        .find(|a| uuid::Uuid::parse_str(a).unwrap().as_bytes() == &key.aaguid);
    let q = Quirks {
        attestation: authenticator.map(|a| APP_CA.issue(a)),
        ..Default::default()
    };
    let (st, body) = register_with(c, s, key, None, &q).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
}

/// Options, then the answer: both requests carry `proof` (a device proof header), if any.
/// Refusals of either step are returned, not asserted.
async fn register_proving(
    c: &reqwest::Client,
    s: &Server,
    key: &mut SoftKey,
    proof: Option<&str>,
) -> (StatusCode, Value) {
    register_with(c, s, key, proof, &Quirks::default()).await
}

/// [`register_proving`], answering with the quirks' attestation.
async fn register_with(
    c: &reqwest::Client,
    s: &Server,
    key: &mut SoftKey,
    proof: Option<&str>,
    q: &Quirks,
) -> (StatusCode, Value) {
    let with_proof = |r: reqwest::RequestBuilder| match proof {
        Some(p) => r.header("x-portcullis-device-proof", p),
        None => r,
    };
    support::open_security_info(c, s).await;
    let r = with_proof(c.post(s.url("/api/passkeys/registration/options")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let (st, o) = (r.status(), r.json::<Value>().await.unwrap());
    if st != StatusCode::OK {
        return (st, o);
    }
    let cred = key.register(&o["publicKey"], &s.origin(), q);
    let r = with_proof(c.post(s.url("/api/passkeys/registration")))
        .json(&json!({"ceremonyId": o["ceremonyId"], "credential": cred}))
        .send()
        .await
        .unwrap();
    (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
}

async fn passkey_client(s: &Server, upn: &str, key: &mut SoftKey) -> reqwest::Client {
    let c = client();
    let o: Value = c
        .post(s.url("/api/signin/passkey/options"))
        .json(&json!({"username": upn}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cred = key.assert(&o["publicKey"], &s.origin(), &Quirks::default());
    let r = c
        .post(s.url("/api/signin/passkey"))
        .json(&json!({"ceremonyId": o["ceremonyId"], "credential": cred}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    c
}

/// Runs an authorization for `client_id` in a signed-in client: (status, Location, page).
async fn authorize(
    c: &reqwest::Client,
    s: &Server,
    client_id: &str,
    redirect: &str,
) -> (StatusCode, String, String) {
    authorize_from(
        c,
        s,
        client_id,
        redirect,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
    )
    .await
}

/// [`authorize`] from a device whose browser says `user_agent`.
async fn authorize_from(
    c: &reqwest::Client,
    s: &Server,
    client_id: &str,
    redirect: &str,
    user_agent: &str,
) -> (StatusCode, String, String) {
    authorize_proving(c, s, client_id, redirect, user_agent, None).await
}

/// [`authorize_from`] with an `X-Portcullis-Device-Proof` header, when given.
async fn authorize_proving(
    c: &reqwest::Client,
    s: &Server,
    client_id: &str,
    redirect: &str,
    user_agent: &str,
    proof: Option<String>,
) -> (StatusCode, String, String) {
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256")
        .finish();
    let mut r = c
        .get(s.url(&format!("/oauth2/v2.0/authorize?{q}")))
        .header("user-agent", user_agent);
    if let Some(p) = proof {
        r = r.header("x-portcullis-device-proof", p);
    }
    let r = r.send().await.unwrap();
    let st = r.status();
    let loc = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (st, loc, r.text().await.unwrap_or_default())
}

/// A token of the administrator's that may read policies (What If, readiness).
fn admin_token(d: &Path, s: &Server) -> String {
    support::token(
        d,
        None,
        &s.origin(),
        "admin@portcullis.local",
        &["Policy.Read.All"],
    )
}

/// R50 over HTTP, as the administrator (so with the server's own configuration, its app
/// attestation service included): the report for `users`.
async fn readiness_report(s: &Server, token: &str, users: &[&str]) -> Value {
    let r = client()
        .post(s.url("/api/admin/readiness"))
        .bearer_auth(token)
        .json(&json!({"users": users}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// `upn`'s findings as (code, severity, persona).
async fn readiness(d: &Path, s: &Server, upn: &str) -> Vec<(String, String, String)> {
    let v = readiness_report(s, &admin_token(d, s), &[upn]).await;
    let mut out = vec![];
    for f in v["findings"].as_array().unwrap() {
        for u in f["users"].as_array().unwrap() {
            out.push((
                f["code"].as_str().unwrap().to_string(),
                u["severity"].as_str().unwrap().to_string(),
                u["persona"].as_str().unwrap_or("any").to_string(),
            ));
        }
    }
    out
}

fn blockers(found: &[(String, String, String)]) -> Vec<&(String, String, String)> {
    found.iter().filter(|(_, s, _)| s == "blocker").collect()
}

/// Creates the custom strength "Passkey in Authenticator" (both Authenticator AAGUIDs) and
/// returns its id.
fn in_authenticator(d: &Path) -> String {
    last_word(
        &ok(
            d,
            &[
                "ca",
                "strength",
                "--name",
                "Passkey in Authenticator",
                "--combination",
                "fido2",
                "--aaguid",
                AUTHN_ANDROID,
                "--aaguid",
                AUTHN_IOS,
            ],
        )
        .replace("Authentication strength 'Passkey in Authenticator' ", ""),
    )
}

fn policy_file(d: &Path, name: &str, body: Value) -> String {
    let f = d.join(format!("{name}.json"));
    std::fs::write(&f, body.to_string()).unwrap();
    f.to_str().unwrap().to_string()
}

fn what_if(d: &Path, args: &[&str]) -> Value {
    let mut all = vec!["whatif"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok(d, &all)).unwrap()
}

fn signins(d: &Path) -> Vec<Value> {
    serde_json::from_str(&ok(d, &["logs", "signins", "--json", "--limit", "100"])).unwrap()
}

#[tokio::test]
async fn phishing_resistant_mfa_on_an_application_refuses_a_tap_and_accepts_a_passkey() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    let app = last_word(&ok(
        d,
        &[
            "apps",
            "add",
            "--name",
            "Payroll",
            "--public",
            "--redirect-uri",
            "http://127.0.0.1:8765/cb",
        ],
    ));
    ok(d, &["users", "add", "--upn", "bob@portcullis.local"]);
    let f = policy_file(
        d,
        "p8",
        json!({
            "displayName": "Payroll needs phishing-resistant MFA", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": [app]}, "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "authenticationStrength": {"id": PHISHING_RESISTANT}}
        }),
    );
    ok(d, &["ca", "save", &f]);

    // Scenario 8: a TAP is MFA, not phishing-resistant: refused with the policy and the remedy.
    let c = support::tap_client(d, &s, "bob@portcullis.local").await;
    let (st, loc, page) = authorize(&c, &s, &app, "http://127.0.0.1:8765/cb").await;
    assert_eq!(
        (st, loc.as_str()),
        (StatusCode::FORBIDDEN, ""),
        "refused, never redirected"
    );
    assert!(
        page.contains("Payroll needs phishing-resistant MFA")
            && page.contains("Phishing resistant MFA")
            && !page.contains("id=\"loop\""),
        "{page}"
    );
    // R18: the sign-in offers no passkey registration of its own (interrupt mode has none);
    // it sends Bob to Security info (wizard mode), and back to a fresh sign-in that resumes it.
    assert!(
        page.contains("registrationRequired")
            && page.contains("cannot be added in the middle of a sign-in"),
        "{page}"
    );
    assert!(
        !page.contains("navigator.credentials") && !page.contains("/api/passkeys/registration"),
        "no registration inside the sign-in: {page}"
    );
    let href = |id: &str| -> String {
        let at = page
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no #{id}: {page}"));
        let h = &page[at..];
        let start = h.find("href=\"").unwrap() + 6;
        h[start..start + h[start..].find('"').unwrap()].replace("&amp;", "&")
    };
    assert_eq!(href("open-security-info"), "/security-info");
    let again = href("sign-in-again");
    assert!(
        again.starts_with("/signin?return_to=") && again.contains("login_after"),
        "{again}"
    );
    let w = what_if(
        d,
        &[
            "--user",
            "bob@portcullis.local",
            "--app",
            &app,
            "--method",
            "tap",
        ],
    );
    assert_eq!(
        w["outcome"]["result"], "registerFirst",
        "What If agrees: {w}"
    );
    assert_eq!(signins(d)[0]["failureCode"], "registrationRequired");

    // He adds a passkey in Security info (the TAP session is an MFA claim), then signs in with
    // it: the link's authorization resumes and Payroll gets a code.
    let mut key = SoftKey::new(CHROMIUM);
    register(&c, &s, &mut key).await;
    let return_to: String =
        url::form_urlencoded::parse(again.split_once('?').unwrap().1.as_bytes())
            .find(|(k, _)| k == "return_to")
            .unwrap()
            .1
            .into_owned();
    let c = passkey_client(&s, "bob@portcullis.local", &mut key).await;
    let r = c.get(s.url(&return_to)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with("http://127.0.0.1:8765/cb?code="), "{loc}");
    let w = what_if(
        d,
        &[
            "--user",
            "bob@portcullis.local",
            "--app",
            &app,
            "--method",
            "passkey",
        ],
    );
    assert_eq!(w["outcome"]["result"], "allow", "What If agrees: {w}");

    let log = signins(d);
    let app_events: Vec<&Value> = log.iter().filter(|e| e["appId"] == app.as_str()).collect();
    assert_eq!(app_events.len(), 2, "{log:?}");
    assert_eq!(app_events[0]["conditionalAccessStatus"], "success");
    assert_eq!(app_events[1]["conditionalAccessStatus"], "failure");
    assert_eq!(
        app_events[1]["appliedConditionalAccessPolicies"][0]["result"],
        "failure"
    );

    // Signed in with a pass while holding the passkey, Bob is asked to step up with it...
    let tap_step_up = || {
        what_if(
            d,
            &[
                "--user",
                "bob@portcullis.local",
                "--app",
                &app,
                "--method",
                "tap",
            ],
        )
    };
    assert_eq!(tap_step_up()["outcome"]["result"], "stepUp");
    // ...until key restrictions block its model: that passkey can never sign in, so a step-up
    // with it could never complete (issue 13, point 10). What If and the sign-in say so.
    let kr = d.join("block-chromium.json");
    std::fs::write(
        &kr,
        json!({"keyRestrictions": {"isEnforced": true, "enforcementType": "block", "aaGuids": [CHROMIUM]}}).to_string(),
    )
    .unwrap();
    ok(d, &["policy", "patch", "fido2", kr.to_str().unwrap()]);
    assert_eq!(tap_step_up()["outcome"]["result"], "registerFirst");
    let c = support::tap_client(d, &s, "bob@portcullis.local").await;
    let (st, _, page) = authorize(&c, &s, &app, "http://127.0.0.1:8765/cb").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(page.contains("registrationRequired"), "{page}");
    assert_eq!(signins(d)[0]["failureCode"], "registrationRequired");
    // With self-service registration off, Security info would refuse every passkey: sending
    // Bob there is a circle. What If and the sign-in both call it a loop and blame the
    // methods policy, with the fix an administrator can make.
    let off = d.join("no-self-service.json");
    std::fs::write(
        &off,
        json!({"isSelfServiceRegistrationAllowed": false}).to_string(),
    )
    .unwrap();
    ok(d, &["policy", "patch", "fido2", off.to_str().unwrap()]);
    let w = tap_step_up();
    assert_eq!(w["outcome"]["result"], "loop", "{w}");
    assert!(
        w["outcome"]["remedy"]
            .as_str()
            .is_some_and(|r| r.contains("Passkey (FIDO2) settings")),
        "{w}"
    );
    let (st, _, page) = authorize(&c, &s, &app, "http://127.0.0.1:8765/cb").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(page.contains("conditionalAccessLoop"), "{page}");
    assert!(page.contains("passkey settings let you add none"), "{page}");
    assert_eq!(signins(d)[0]["failureCode"], "conditionalAccessLoop");
    s.stop().await;
}

#[tokio::test]
async fn passkey_in_authenticator_everywhere_is_a_loop_without_a_tap_and_proof_up_with_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    let strength = in_authenticator(d);
    ok(d, &["users", "add", "--upn", "carol@portcullis.local"]);
    // Carol already has a passkey of another model (a security key).
    let c = support::tap_client(d, &s, "carol@portcullis.local").await;
    let mut yubikey = SoftKey::new(CHROMIUM);
    register(&c, &s, &mut yubikey).await;
    let f = policy_file(
        d,
        "p1",
        json!({
            "displayName": "Passkey in Authenticator for everything", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "authenticationStrength": {"id": strength}}
        }),
    );
    ok(d, &["ca", "save", &f]);

    // Scenario 1: adding a passkey through the Authenticator app needs the Authenticator sign-in,
    // which needs a passkey in the Authenticator: the loop is explained, never looped.
    let c = passkey_client(&s, "carol@portcullis.local", &mut yubikey).await;
    let (st, loc, page) = authorize(&c, &s, AUTHENTICATOR_APP, AUTHENTICATOR_CB).await;
    assert_eq!((st, loc.as_str()), (StatusCode::FORBIDDEN, ""));
    assert!(
        page.contains("id=\"loop\"")
            && page.contains("Temporary Access Pass")
            && page.contains("Passkey in Authenticator for everything"),
        "{page}"
    );
    let log = signins(d);
    assert_eq!(
        log[0]["failureCode"], "conditionalAccessLoop",
        "the sign-in log marks the loop: {}",
        log[0]
    );
    let w = what_if(
        d,
        &[
            "--user",
            "carol@portcullis.local",
            "--app",
            AUTHENTICATOR_APP,
            "--native",
            "--method",
            &format!("passkey:{CHROMIUM}"),
        ],
    );
    assert_eq!(w["outcome"]["result"], "loop", "What If agrees: {w}");

    // With a TAP the same user gets through (skipped for proof-up) and registers.
    let c = support::tap_client(d, &s, "carol@portcullis.local").await;
    let (st, loc, _) = authorize(&c, &s, AUTHENTICATOR_APP, AUTHENTICATOR_CB).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert!(
        loc.starts_with(&format!("{AUTHENTICATOR_CB}?code=")),
        "{loc}"
    );
    assert_eq!(
        signins(d)[0]["appliedConditionalAccessPolicies"][0]["authenticationStrength"]
            ["authenticationStrengthResult"],
        "skippedForProofUp"
    );
    let w = what_if(
        d,
        &[
            "--user",
            "carol@portcullis.local",
            "--app",
            AUTHENTICATOR_APP,
            "--native",
            "--method",
            "tap",
        ],
    );
    assert_eq!(
        w["outcome"]["result"], "allowForRegistration",
        "What If agrees: {w}"
    );
    // R48 (source 000): Security info offers only what would meet the strength — a passkey
    // in the Authenticator — and asks for attestation, since only an attested AAGUID counts.
    let page = c
        .get(s.url("/security-info"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"add-authenticator\"")
            && !page.contains("id=\"add-passkey\"")
            && page.contains("id=\"strength-note\""),
        "{page}"
    );
    let o: Value = c
        .post(s.url("/api/passkeys/registration/options"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(o["publicKey"]["attestation"], "direct", "{o}");
    // A security key would only lead to the loop page at the next sign-in: refused before
    // anything is stored, with the reason; and so is an Authenticator passkey whose AAGUID
    // is only self-reported.
    let before = ok(d, &["passkeys", "list", "--user", "carol@portcullis.local"]);
    for model in [CHROMIUM, AUTHN_ANDROID] {
        // Quirks::default(): no attestation, so the AAGUID is only self-reported.
        let mut key = SoftKey::new(model);
        let (st, body) = register_with(&c, &s, &mut key, None, &Quirks::default()).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{model}: {body}");
        assert_eq!(body["error"]["code"], "strengthNotMet", "{body}");
    }
    assert_eq!(
        ok(d, &["passkeys", "list", "--user", "carol@portcullis.local"]),
        before,
        "nothing was stored"
    );
    let mut in_authenticator = SoftKey::new(AUTHN_ANDROID);
    register(&c, &s, &mut in_authenticator).await;
    // And now the passkey in the Authenticator meets the strength everywhere.
    let c = passkey_client(&s, "carol@portcullis.local", &mut in_authenticator).await;
    let (st, loc, _) = authorize(&c, &s, AUTHENTICATOR_APP, AUTHENTICATOR_CB).await;
    assert_eq!(st, StatusCode::SEE_OTHER, "{loc}");

    // The admin center lists the sign-ins, the loop among them; not for other users.
    assert_eq!(
        c.get(s.url("/admin/sign-ins"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let admin = support::tap_client(d, &s, "admin@portcullis.local").await;
    let page = admin
        .get(s.url("/admin/sign-ins"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("data-failure=\"conditionalAccessLoop\"")
            && page.contains("Passkey in Authenticator for everything: failure"),
        "{page}"
    );
    s.stop().await;
}

#[tokio::test]
async fn report_only_logs_and_never_blocks_and_the_lockout_guard_refuses_blocking_every_admin() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    let app = last_word(&ok(
        d,
        &[
            "apps",
            "add",
            "--name",
            "Wiki",
            "--public",
            "--redirect-uri",
            "http://127.0.0.1:8765/cb",
        ],
    ));
    let block_all = |state: &str| {
        json!({
            "displayName": format!("Block everyone ({state})"), "state": state,
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "builtInControls": ["block"]}
        })
    };
    // Scenario 6: report-only block logs reportOnlyFailure and does not block.
    ok(
        d,
        &[
            "ca",
            "save",
            &policy_file(d, "ro", block_all("enabledForReportingButNotEnforced")),
        ],
    );
    let c = support::tap_client(d, &s, "admin@portcullis.local").await;
    let (st, loc, _) = authorize(&c, &s, &app, "http://127.0.0.1:8765/cb").await;
    assert_eq!(st, StatusCode::SEE_OTHER, "{loc}");
    let log = signins(d);
    assert_eq!(
        log[0]["appliedConditionalAccessPolicies"][0]["result"], "reportOnlyFailure",
        "{}",
        log[0]
    );
    assert_eq!(log[0]["conditionalAccessStatus"], "notApplied");

    // Scenario 7: blocking every Global Administrator is refused without explicit acceptance.
    let f = policy_file(d, "block", block_all("enabled"));
    let (st, _, err) = cli(d, None, &["ca", "save", &f]);
    assert_ne!(st, 0);
    assert!(
        err.contains("R45") && err.contains("admin@portcullis.local"),
        "{err}"
    );
    assert_eq!(
        serde_json::from_str::<Vec<Value>>(&ok(d, &["ca", "list"]))
            .unwrap()
            .len(),
        1,
        "nothing saved"
    );
    // Excluding the administrator's role makes it acceptable; accepting explicitly works too.
    let mut excluded = block_all("enabled");
    excluded["conditions"]["users"]["excludeRoles"] =
        json!(["62e90394-69f5-4237-9190-012177145e10"]);
    ok(d, &["ca", "save", &policy_file(d, "excl", excluded)]);
    ok(d, &["ca", "save", &f, "--accept-lockout"]);
    let (st, _, page) = authorize(&c, &s, &app, "http://127.0.0.1:8765/cb").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(
        page.contains("Block everyone (enabled)"),
        "block wins: {page}"
    );
    s.stop().await;
}

const ANDROID_UA: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) Authenticator";

#[tokio::test]
async fn split_desktop_and_mobile_policies_let_a_new_user_register_on_mobile_and_sign_in_on_desktop(
) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    let app = last_word(&ok(
        d,
        &[
            "apps",
            "add",
            "--name",
            "Wiki",
            "--public",
            "--redirect-uri",
            "http://127.0.0.1:8765/cb",
        ],
    ));
    let in_authn = in_authenticator(d);
    let bootstrap = last_word(&ok(
        d,
        &[
            "ca",
            "strength",
            "--name",
            "TAP or passkey in Authenticator",
            "--combination",
            "temporaryAccessPassOneTime",
            "--combination",
            "fido2",
            "--aaguid",
            AUTHN_ANDROID,
            "--aaguid",
            AUTHN_IOS,
        ],
    ));
    let policy = |name: &str, platforms: Value, strength: &str| {
        json!({
            "displayName": name, "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "platforms": platforms, "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "authenticationStrength": {"id": strength}}
        })
    };
    ok(
        d,
        &[
            "ca",
            "save",
            &policy_file(
                d,
                "desktop",
                policy(
                    "Desktop: passkey in Authenticator",
                    json!({"includePlatforms": ["all"], "excludePlatforms": ["android", "iOS"]}),
                    &in_authn,
                ),
            ),
        ],
    );
    ok(
        d,
        &[
            "ca",
            "save",
            &policy_file(
                d,
                "mobile",
                policy(
                    "Mobile: TAP or passkey in Authenticator",
                    json!({"includePlatforms": ["android", "iOS"]}),
                    &bootstrap,
                ),
            ),
        ],
    );
    ok(d, &["users", "add", "--upn", "dave@portcullis.local"]);
    // R50, no false alarm: the documents' split leaves Dave, who holds nothing yet, no
    // blocker — and he does get through below.
    let found = readiness(d, &s, "dave@portcullis.local").await;
    assert!(blockers(&found).is_empty(), "{found:?}");

    // Scenario 2: on the phone, the TAP gets the new user into the Authenticator, which registers.
    let c = support::tap_client(d, &s, "dave@portcullis.local").await;
    let (st, loc, page) =
        authorize_from(&c, &s, AUTHENTICATOR_APP, AUTHENTICATOR_CB, ANDROID_UA).await;
    assert_eq!(st, StatusCode::SEE_OTHER, "{page}");
    assert!(loc.starts_with(AUTHENTICATOR_CB), "{loc}");
    let mut phone = SoftKey::new(AUTHN_ANDROID);
    register(&c, &s, &mut phone).await;
    // On the desktop, the TAP is refused (the user now holds the passkey: step up to it).
    let (st, _, page) = authorize(&c, &s, &app, "http://127.0.0.1:8765/cb").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(
        page.contains("stepUpRequired") && page.contains("Passkey in Authenticator"),
        "{page}"
    );
    // R18 step-up: the page prompts for the method she holds, with a fresh sign-in that resumes.
    assert!(
        page.contains("id=\"sign-in-again\"")
            && page.contains("href=\"/signin?return_to=")
            && !page.contains("open-security-info"),
        "{page}"
    );
    let w = what_if(
        d,
        &[
            "--user",
            "dave@portcullis.local",
            "--app",
            &app,
            "--platform",
            "windows",
            "--method",
            "tap",
        ],
    );
    assert_eq!(w["outcome"]["result"], "stepUp", "What If agrees: {w}");
    // With the passkey, the desktop sign-in works.
    let c = passkey_client(&s, "dave@portcullis.local", &mut phone).await;
    let (st, loc, _) = authorize(&c, &s, &app, "http://127.0.0.1:8765/cb").await;
    assert_eq!(st, StatusCode::SEE_OTHER, "{loc}");
    let w = what_if(
        d,
        &[
            "--user",
            "dave@portcullis.local",
            "--app",
            &app,
            "--platform",
            "windows",
            "--method",
            &format!("passkey:{AUTHN_ANDROID}:attested"),
        ],
    );
    assert_eq!(w["outcome"]["result"], "allow");
    s.stop().await;
}

#[tokio::test]
async fn an_application_filter_leaves_the_authenticator_out_and_protects_tagged_apps() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    let hr = last_word(&ok(
        d,
        &[
            "apps",
            "add",
            "--name",
            "HR",
            "--public",
            "--redirect-uri",
            "http://127.0.0.1:8765/cb",
            "--attribute",
            "Rollout.Tier=strict",
        ],
    ));
    let wiki = last_word(&ok(
        d,
        &[
            "apps",
            "add",
            "--name",
            "Wiki",
            "--public",
            "--redirect-uri",
            "http://127.0.0.1:8765/cb",
        ],
    ));
    ok(
        d,
        &[
            "ca",
            "save",
            &policy_file(
                d,
                "filter",
                json!({
                    "displayName": "Tagged apps need phishing-resistant MFA", "state": "enabled",
                    "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": [], "applicationFilter": {"mode": "include", "rule": "CustomSecurityAttribute.Rollout_Tier -eq \"strict\""}}, "clientAppTypes": ["all"]},
                    "grantControls": {"operator": "OR", "authenticationStrength": {"id": PHISHING_RESISTANT}}
                }),
            ),
        ],
    );
    ok(d, &["users", "add", "--upn", "erin@portcullis.local"]);
    // R50, no false alarm: the application filter leaves Erin no blocker.
    let found = readiness(d, &s, "erin@portcullis.local").await;
    assert!(blockers(&found).is_empty(), "{found:?}");
    // Scenario 3: the Authenticator is not tagged, so a TAP sign-in registers there.
    let c = support::tap_client(d, &s, "erin@portcullis.local").await;
    let (st, _, _) = authorize_from(&c, &s, AUTHENTICATOR_APP, AUTHENTICATOR_CB, ANDROID_UA).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (st, _, _) = authorize(&c, &s, &wiki, "http://127.0.0.1:8765/cb").await;
    assert_eq!(st, StatusCode::SEE_OTHER, "untagged apps are not targeted");
    let (st, _, page) = authorize(&c, &s, &hr, "http://127.0.0.1:8765/cb").await;
    assert_eq!(
        st,
        StatusCode::FORBIDDEN,
        "the tagged app requires the strength: {page}"
    );
    let mut key = SoftKey::new(AUTHN_ANDROID);
    register(&c, &s, &mut key).await;
    let c = passkey_client(&s, "erin@portcullis.local", &mut key).await;
    let (st, _, _) = authorize(&c, &s, &hr, "http://127.0.0.1:8765/cb").await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let w = what_if(
        d,
        &[
            "--user",
            "erin@portcullis.local",
            "--app",
            &hr,
            "--method",
            "tap",
        ],
    );
    assert_eq!(w["policies"][0]["result"], "failure", "{w}");
    let w = what_if(
        d,
        &[
            "--user",
            "erin@portcullis.local",
            "--app",
            &wiki,
            "--method",
            "tap",
        ],
    );
    assert_eq!(
        (
            w["policies"][0]["result"].as_str(),
            w["outcome"]["result"].as_str()
        ),
        (Some("notApplied"), Some("allow")),
        "{w}"
    );
    s.stop().await;
}

#[tokio::test]
async fn registering_security_info_only_from_a_trusted_location_with_its_own_strength() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    ok(
        d,
        &[
            "ca",
            "location",
            "--name",
            "HQ",
            "--cidr",
            "10.0.0.0/8",
            "--trusted",
        ],
    );
    let rsi = |name: &str, grant: Value, locations: Value| {
        json!({
            "displayName": name, "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeUserActions": ["urn:user:registersecurityinfo"]}, "locations": locations, "clientAppTypes": ["all"]},
            "grantControls": grant
        })
    };
    ok(
        d,
        &[
            "ca",
            "save",
            &policy_file(
                d,
                "loc",
                rsi(
                    "Register only from trusted places",
                    json!({"operator": "OR", "builtInControls": ["block"]}),
                    json!({"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}),
                ),
            ),
        ],
    );
    ok(d, &["users", "add", "--upn", "finn@portcullis.local"]);

    // Scenario 5: from outside a trusted location, registration is refused with the reason.
    let c = support::tap_client(d, &s, "finn@portcullis.local").await;
    let r = c
        .post(s.url("/api/passkeys/registration/options"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "conditionalAccess");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Register only from trusted places"),
        "{v}"
    );
    let w = what_if(
        d,
        &[
            "--user",
            "finn@portcullis.local",
            "--action",
            "registersecurityinfo",
            "--ip",
            "127.0.0.1",
            "--method",
            "tap",
        ],
    );
    assert_eq!(w["outcome"]["result"], "refused", "{w}");
    let w = what_if(
        d,
        &[
            "--user",
            "finn@portcullis.local",
            "--action",
            "registersecurityinfo",
            "--ip",
            "10.1.2.3",
            "--method",
            "tap",
        ],
    );
    assert_eq!(w["outcome"]["result"], "allow", "{w}");

    // From inside (this test's loopback becomes a trusted location), it works — and an
    // All-resources phishing-resistant strength does not govern registration, because the
    // user-action policy has its own strength (TAP or passkey).
    ok(
        d,
        &[
            "ca",
            "location",
            "--name",
            "This lab",
            "--cidr",
            "127.0.0.0/8",
            "--cidr",
            "::1/128",
            "--trusted",
        ],
    );
    let tap_or_passkey = last_word(&ok(
        d,
        &[
            "ca",
            "strength",
            "--name",
            "Bootstrap",
            "--combination",
            "temporaryAccessPassOneTime",
            "--combination",
            "fido2",
        ],
    ));
    ok(
        d,
        &[
            "ca",
            "save",
            &policy_file(
                d,
                "rsi-strength",
                rsi(
                    "Registration strength",
                    json!({"operator": "OR", "authenticationStrength": {"id": tap_or_passkey}}),
                    json!({"includeLocations": ["All"]}),
                ),
            ),
        ],
    );
    ok(
        d,
        &[
            "ca",
            "save",
            &policy_file(
                d,
                "all",
                json!({
                    "displayName": "All resources: phishing-resistant", "state": "enabled",
                    "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
                    "grantControls": {"operator": "OR", "authenticationStrength": {"id": PHISHING_RESISTANT}}
                }),
            ),
        ],
    );
    let mut key = SoftKey::new(CHROMIUM);
    register(&c, &s, &mut key).await;
    s.stop().await;
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    // A registration policy that needs the trusted HQ range, reached through a proxy on loopback.
    for (trusted, want) in [(false, StatusCode::FORBIDDEN), (true, StatusCode::OK)] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let env: Vec<(&str, String)> = if trusted {
            vec![(
                "PORTCULLIS_TRUSTED_PROXIES",
                r#"["127.0.0.0/8", "::1/128"]"#.to_string(),
            )]
        } else {
            vec![]
        };
        let s = Server::start_env(d, None, &env).await;
        ok(
            d,
            &[
                "ca",
                "location",
                "--name",
                "HQ",
                "--cidr",
                "10.0.0.0/8",
                "--trusted",
            ],
        );
        ok(
            d,
            &[
                "ca",
                "save",
                &policy_file(
                    d,
                    "loc",
                    json!({
                        "displayName": "Register only at HQ", "state": "enabled",
                        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeUserActions": ["urn:user:registersecurityinfo"]}, "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}, "clientAppTypes": ["all"]},
                        "grantControls": {"operator": "OR", "builtInControls": ["block"]}
                    }),
                ),
            ],
        );
        let c = support::tap_client(d, &s, "admin@portcullis.local").await;
        let r = c
            .post(s.url("/api/passkeys/registration/options"))
            .header("x-forwarded-for", "10.20.30.40")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want, "trusted proxies configured: {trusted}");
        if trusted {
            // A proxy that adds its own line: the client's first line is not believed.
            let r = c
                .post(s.url("/api/passkeys/registration/options"))
                .header("x-forwarded-for", "10.20.30.40")
                .header("x-forwarded-for", "203.0.113.7")
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                StatusCode::FORBIDDEN,
                "two header lines are one list"
            );
        }
        s.stop().await;
    }
}

/// Signs a device proof for an authorization request (what an enrolled device's client does).
fn device_proof(key: &p256::ecdsa::SigningKey, device: &str, client_id: &str) -> String {
    device_proof_bound(key, device, client_id, CHALLENGE)
}

/// Signs a device proof for `client_id`, bound to `binding` (the PKCE challenge, or
/// `registersecurityinfo` for Security info registration), dated now.
fn device_proof_bound(
    key: &p256::ecdsa::SigningKey,
    device: &str,
    client_id: &str,
    binding: &str,
) -> String {
    use base64::Engine;
    use p256::ecdsa::signature::Signer;
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let msg = format!("portcullis-device-proof|{device}|{client_id}|{binding}|{at}");
    let sig: p256::ecdsa::DerSignature = key.sign(msg.as_bytes());
    format!(
        "{device}.{at}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig.as_bytes())
    )
}

#[tokio::test]
async fn approved_app_or_a_compliant_enrolled_device_that_proves_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    ok(d, &["users", "add", "--upn", "hana@portcullis.local"]);
    ok(
        d,
        &[
            "ca",
            "save",
            &policy_file(
                d,
                "approved",
                json!({
                    "displayName": "Approved apps or a compliant device", "state": "enabled",
                    "conditions": {"users": {"includeUsers": ["All"], "excludeRoles": ["62e90394-69f5-4237-9190-012177145e10"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
                    "grantControls": {"operator": "OR", "builtInControls": ["approvedApplication", "compliantApplication", "compliantDevice"]}
                }),
            ),
        ],
    );
    let c = support::tap_client(d, &s, "hana@portcullis.local").await;
    // Scenario 4: the Authenticator is no approved app: without a compliant device, refused.
    let (st, _, page) =
        authorize_from(&c, &s, AUTHENTICATOR_APP, AUTHENTICATOR_CB, ANDROID_UA).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(page.contains("approved client app"), "{page}");

    // R50 found it first: registering in the Authenticator is blocked on every phone.
    let found = readiness(d, &s, "hana@portcullis.local").await;
    let stuck: Vec<&str> = blockers(&found)
        .iter()
        .filter(|(code, _, _)| code == "approvedClientAppBlock")
        .map(|(_, _, persona)| persona.as_str())
        .collect();
    assert_eq!(
        stuck,
        ["ios", "androidPersonal", "androidWork"],
        "{found:?}"
    );

    // The MDM enrolls her phone with its device key; until it is marked compliant, no luck.
    let (key, device) = enroll_device(d, None, "hana@portcullis.local", "Hana's Pixel", "android");
    let with_proof = |proof: String| {
        let (c, s) = (c.clone(), &s);
        async move {
            authorize_proving(
                &c,
                s,
                AUTHENTICATOR_APP,
                AUTHENTICATOR_CB,
                ANDROID_UA,
                Some(proof),
            )
            .await
            .0
        }
    };
    assert_eq!(
        with_proof(device_proof(&key, &device, AUTHENTICATOR_APP)).await,
        StatusCode::FORBIDDEN,
        "enrolled but not compliant"
    );
    ok(d, &["devices", "compliant", &device]);
    assert_eq!(
        with_proof(device_proof(&key, &device, AUTHENTICATOR_APP)).await,
        StatusCode::SEE_OTHER,
        "a compliant device is an OR alternative"
    );
    // …and readiness, no false alarm, says so: her phone gets her through.
    let found = readiness(d, &s, "hana@portcullis.local").await;
    assert!(blockers(&found).is_empty(), "{found:?}");
    // Claiming the device without its key does not work, nor does a proof for another app.
    let stranger = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    assert_eq!(
        with_proof(device_proof(&stranger, &device, AUTHENTICATOR_APP)).await,
        StatusCode::FORBIDDEN,
        "wrong key"
    );
    assert_eq!(
        with_proof(device_proof(&key, &device, "another-app")).await,
        StatusCode::FORBIDDEN,
        "bound to the client"
    );
    assert_eq!(
        with_proof(format!("{device}.1.AAAA")).await,
        StatusCode::FORBIDDEN,
        "stale and forged"
    );
    let w = what_if(
        d,
        &[
            "--user",
            "hana@portcullis.local",
            "--app",
            AUTHENTICATOR_APP,
            "--native",
            "--device-compliant",
            "--method",
            "tap",
        ],
    );
    assert_eq!(w["outcome"]["result"], "allow", "What If agrees: {w}");
    s.stop().await;
}

/// A device filter (R40, graph-api.md §5.3): "block everything except from privileged-access
/// workstations", the workstation being an enrolled device whose `extensionAttribute1` the
/// administrator set. Only a device that proves its key counts; What If agrees throughout.
#[tokio::test]
async fn a_device_filter_admits_only_devices_the_administrator_tagged() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    ok(d, &["users", "add", "--upn", "ivo@portcullis.local"]);
    let saved = ok(
        d,
        &[
            "ca",
            "save",
            &policy_file(
                d,
                "saw",
                json!({
                    "displayName": "Workstations only", "state": "enabled",
                    "conditions": {"users": {"includeUsers": ["All"], "excludeRoles": ["62e90394-69f5-4237-9190-012177145e10"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"],
                        "devices": {"deviceFilter": {"mode": "exclude", "rule": "device.extensionAttribute1 -eq \"SAW\" -and device.trustType -eq \"AzureAD\""}}},
                    "grantControls": {"operator": "OR", "builtInControls": ["block"]}
                }),
            ),
        ],
    );
    assert!(saved.contains("Workstations only"), "{saved}");
    // A rule naming a property devices do not have is refused when saved, with the reason.
    let (st, _, err) = cli(
        d,
        None,
        &[
            "ca",
            "save",
            &policy_file(
                d,
                "typo",
                json!({
                    "displayName": "Typo", "state": "enabled",
                    "conditions": {"users": {"includeUsers": ["None"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"], "devices": {"deviceFilter": {"mode": "exclude", "rule": "device.colour -eq \"red\""}}},
                    "grantControls": {"operator": "OR", "builtInControls": ["block"]}
                }),
            ),
        ],
    );
    assert!(st != 0 && err.contains("device.colour"), "{err}");

    let c = support::tap_client(d, &s, "ivo@portcullis.local").await;
    let (key, device) = enroll_device(d, None, "ivo@portcullis.local", "SAW-01", "windows");
    let attempt = |proof: Option<String>| {
        let (c, s) = (c.clone(), &s);
        async move {
            let (st, _, page) = authorize_proving(
                &c,
                s,
                AUTHENTICATOR_APP,
                AUTHENTICATOR_CB,
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
                proof,
            )
            .await;
            (st, page)
        }
    };
    let what_if_says = |extra: &[&str]| {
        let mut args = vec![
            "--user",
            "ivo@portcullis.local",
            "--app",
            AUTHENTICATOR_APP,
            "--native",
            "--method",
            "tap",
        ];
        args.extend_from_slice(extra);
        what_if(d, &args)["outcome"]["result"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // No device proved: every property is null, so the exclusion does not match; blocked.
    let (st, page) = attempt(None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(
        page.contains("Workstations only"),
        "the refusal names the policy: {page}"
    );
    assert_eq!(what_if_says(&[]), "refused");
    // Her enrolled device, proved, but not yet tagged: still blocked.
    assert_eq!(
        attempt(Some(device_proof(&key, &device, AUTHENTICATOR_APP)))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    // Half the rule is not the rule: tagged, but still only workplace-joined, it is blocked.
    ok(
        d,
        &[
            "devices",
            "set",
            &device,
            "--attribute",
            "extensionAttribute1=SAW",
        ],
    );
    assert_eq!(
        attempt(Some(device_proof(&key, &device, AUTHENTICATOR_APP)))
            .await
            .0,
        StatusCode::FORBIDDEN,
        "-and needs both"
    );
    // The administrator completes it (over Graph or the CLI): now it is excluded from the block.
    ok(d, &["devices", "set", &device, "--trust-type", "AzureAD"]);
    assert_eq!(
        attempt(Some(device_proof(&key, &device, AUTHENTICATOR_APP)))
            .await
            .0,
        StatusCode::SEE_OTHER,
        "a tagged workstation gets through"
    );
    assert_eq!(
        what_if_says(&[
            "--device",
            "extensionAttribute1=SAW",
            "--device",
            "trustType=AzureAD"
        ]),
        "allow",
        "What If agrees"
    );
    // Naming the workstation without its key is no workstation at all.
    let stranger = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    assert_eq!(
        attempt(Some(device_proof(&stranger, &device, AUTHENTICATOR_APP)))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    // The sign-in log shows why the policy did not apply to the workstation's sign-in.
    let logged = signins(d);
    let through = logged
        .iter()
        .find(|e| e["errorCode"] == 0 && e["appId"] == AUTHENTICATOR_APP)
        .expect("the allowed sign-in is logged");
    assert_eq!(
        through["appliedConditionalAccessPolicies"][0]["result"], "notApplied",
        "{through}"
    );
    s.stop().await;
}

/// R46: "register security info only from a compliant device". Security info registration
/// reads the same device proof as sign-in, bound to the registration and to Security info.
#[tokio::test]
async fn registering_security_info_only_from_a_compliant_device() {
    const SECURITY_INFO: &str = "19db86c3-b2b9-44cc-b339-36da233a3be2";
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    ok(d, &["users", "add", "--upn", "jo@portcullis.local"]);
    ok(
        d,
        &[
            "ca",
            "save",
            &policy_file(
                d,
                "compliant-registration",
                json!({
                    "displayName": "Register from a compliant device", "state": "enabled",
                    "conditions": {"users": {"includeUsers": ["All"], "excludeRoles": ["62e90394-69f5-4237-9190-012177145e10"]}, "applications": {"includeUserActions": ["urn:user:registersecurityinfo"]}, "clientAppTypes": ["all"]},
                    "grantControls": {"operator": "OR", "builtInControls": ["compliantDevice"]}
                }),
            ),
        ],
    );
    let (key, device) = enroll_device(d, None, "jo@portcullis.local", "Jo's laptop", "windows");
    let proof = |signer: &p256::ecdsa::SigningKey, client: &str| {
        device_proof_bound(signer, &device, client, "registersecurityinfo")
    };
    let c = support::tap_client(d, &s, "jo@portcullis.local").await;
    let options = |proof: Option<String>| {
        let (c, url) = (c.clone(), s.url("/api/passkeys/registration/options"));
        async move {
            let mut r = c.post(url).json(&json!({}));
            if let Some(p) = proof {
                r = r.header("x-portcullis-device-proof", p);
            }
            let r = r.send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let what_if_says = |extra: &[&str]| {
        let mut args = vec![
            "--user",
            "jo@portcullis.local",
            "--action",
            "registersecurityinfo",
            "--method",
            "tap",
        ];
        args.extend_from_slice(extra);
        what_if(d, &args)["outcome"]["result"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // From an unknown device: refused, with the reason.
    let (st, v) = options(None).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("compliant"),
        "{v}"
    );
    assert_eq!(what_if_says(&[]), "refused");
    // Her enrolled laptop, not yet compliant; then compliant but a proof for another app or
    // signed with another key: all refused.
    assert_eq!(
        options(Some(proof(&key, SECURITY_INFO))).await.0,
        StatusCode::FORBIDDEN,
        "not compliant yet"
    );
    ok(d, &["devices", "compliant", &device]);
    assert_eq!(
        options(Some(proof(&key, AUTHENTICATOR_APP))).await.0,
        StatusCode::FORBIDDEN,
        "bound to Security info"
    );
    let stranger = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    assert_eq!(
        options(Some(proof(&stranger, SECURITY_INFO))).await.0,
        StatusCode::FORBIDDEN,
        "the device's own key"
    );
    // Options from the proved laptop do not carry the answer: finishing without the proof is
    // checked again and refused, and nothing is stored.
    let (st, o) = options(Some(proof(&key, SECURITY_INFO))).await;
    assert_eq!(st, StatusCode::OK, "{o}");
    let cred = SoftKey::new(CHROMIUM).register(&o["publicKey"], &s.origin(), &Quirks::default());
    let r = c
        .post(s.url("/api/passkeys/registration"))
        .json(&json!({"ceremonyId": o["ceremonyId"], "credential": cred}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "the finish is checked too"
    );
    // From the compliant laptop, proved: the passkey is registered (both steps carry the proof).
    let (st, body) = register_proving(
        &c,
        &s,
        &mut SoftKey::new(CHROMIUM),
        Some(&proof(&key, SECURITY_INFO)),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    assert_eq!(
        what_if_says(&["--device-compliant"]),
        "allow",
        "What If agrees"
    );
    s.stop().await;
}

/// R40: Security info is one resource, page and API alike. A policy that blocks the Security
/// info application — or All resources — blocks the registration API too: a session cookie
/// alone (stolen, or whose Security info sign-in was refused) gets nothing, and a Security
/// info session opened before the policy is decided again on every call.
#[tokio::test]
async fn r40_a_policy_on_security_info_blocks_the_registration_api_too() {
    const SECURITY_INFO: &str = "19db86c3-b2b9-44cc-b339-36da233a3be2";
    for target in [json!([SECURITY_INFO]), json!(["All"])] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let s = start(d).await;
        ok(d, &["users", "add", "--upn", "bob@portcullis.local"]);
        // Bob signs in and opens Security info while nothing blocks it; a ceremony is begun.
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let c = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        // Multi-use, so that the same pass signs in again below: a new pass would replace it
        // and end the sessions it opened, the stolen cookie's included.
        let code = code_from(&ok(
            d,
            &[
                "tap",
                "create",
                "--user",
                "bob@portcullis.local",
                "--multi-use",
            ],
        ));
        assert_eq!(
            sign_in(&c, &s, "bob@portcullis.local", &code)
                .await
                .status(),
            StatusCode::SEE_OTHER
        );
        support::open_security_info(&c, &s).await;
        let begun: Value = c
            .post(s.url("/api/passkeys/registration/options"))
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(begun["ceremonyId"].is_string(), "{begun}");
        // What a thief of the session cookie holds: that cookie and nothing else.
        let cookies = reqwest::cookie::CookieStore::cookies(&*jar, &s.url("/").parse().unwrap())
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let session_only = cookies
            .split("; ")
            .find(|c| c.starts_with("portcullis_session="))
            .unwrap()
            .to_string();
        ok(
            d,
            &[
                "ca",
                "save",
                &policy_file(
                    d,
                    "block",
                    json!({
                        "displayName": "No Security info for users", "state": "enabled",
                        "conditions": {"users": {"includeUsers": ["All"], "excludeRoles": ["Global Administrator"]}, "applications": {"includeApplications": target}, "clientAppTypes": ["all"]},
                        "grantControls": {"operator": "OR", "builtInControls": ["block"]}
                    }),
                ),
            ],
        );
        // The page is refused...
        let fresh = client();
        sign_in(&fresh, &s, "bob@portcullis.local", &code).await;
        let page = support::get_following(&fresh, &s, "/security-info").await;
        assert_eq!(page.status(), StatusCode::FORBIDDEN, "{target}: the page");
        // ...and so is the API: with the session cookie alone,
        for path in [
            "/api/passkeys/registration/options",
            "/api/passkeys/registration",
        ] {
            let r = reqwest::Client::new()
                .post(s.url(path))
                .header("cookie", &session_only)
                .json(&json!({"ceremonyId": begun["ceremonyId"], "credential": {}}))
                .send()
                .await
                .unwrap();
            let st = r.status();
            let v: Value = r.json().await.unwrap();
            assert_eq!(
                (st, v["error"]["code"].as_str()),
                (
                    StatusCode::UNAUTHORIZED,
                    Some("securityInfoSessionRequired")
                ),
                "{target} {path}: {v}"
            );
        }
        // with a Security info session opened before the policy, for new options,
        let r = c
            .post(s.url("/api/passkeys/registration/options"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let st = r.status();
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("conditionalAccess")),
            "{target}: {v}"
        );
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("No Security info for users"),
            "the refusal names the policy: {v}"
        );
        // and to finish the ceremony begun before it.
        let cred =
            SoftKey::new(CHROMIUM).register(&begun["publicKey"], &s.origin(), &Quirks::default());
        let r = c
            .post(s.url("/api/passkeys/registration"))
            .json(&json!({"ceremonyId": begun["ceremonyId"], "credential": cred}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{target}: finishing");
        let (_, out, _) = cli(
            d,
            None,
            &[
                "passkeys",
                "list",
                "--user",
                "bob@portcullis.local",
                "--json",
            ],
        );
        assert_eq!(out.trim(), "[]", "{target}: nothing was stored");
        s.stop().await;
    }
}

/// R31, R32: a strength restricted to the Authenticator AAGUIDs is met only by a passkey whose
/// AAGUID was attested. A software key that merely claims to be the iOS Authenticator (`none`
/// attestation) gets no code; saving the strength while nothing enforces attestation warns
/// that no passkey can meet it; an attested Authenticator passkey gets the code.
#[tokio::test]
async fn r32_a_self_reported_authenticator_aaguid_never_meets_an_aaguid_restricted_strength() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let app_ca = portcullis_testkit::testca::TestCa::new("Test App Attestation Root");
    let pem = d.join("app-root.pem");
    std::fs::write(&pem, app_ca.pem()).unwrap();
    let s = Server::start_env(
        d,
        None,
        &[("PORTCULLIS_APP_ATTESTATION_ROOT", pem.display().to_string())],
    )
    .await;
    let app = last_word(&ok(
        d,
        &[
            "apps",
            "add",
            "--name",
            "Payroll",
            "--public",
            "--redirect-uri",
            "http://127.0.0.1:8765/cb",
        ],
    ));
    ok(d, &["users", "add", "--upn", "bob@portcullis.local"]);
    let (st, out, err) = cli(
        d,
        None,
        &[
            "ca",
            "strength",
            "--name",
            "Passkey in Authenticator",
            "--combination",
            "fido2",
            "--aaguid",
            AUTHN_IOS,
            "--aaguid",
            AUTHN_ANDROID,
        ],
    );
    assert_eq!(st, 0, "{err}");
    assert!(
        err.contains("no passkey can meet this strength") && err.contains("R32"),
        "saved with a warning that says what it means: {err}"
    );
    let strength = last_word(&out);
    ok(
        d,
        &[
            "ca",
            "save",
            &policy_file(
                d,
                "authn",
                json!({
                    "displayName": "Payroll needs the Authenticator", "state": "enabled",
                    "conditions": {"users": {"includeUsers": ["All"], "excludeRoles": ["Global Administrator"]}, "applications": {"includeApplications": [app]}, "clientAppTypes": ["all"]},
                    "grantControls": {"operator": "OR", "authenticationStrength": {"id": strength}}
                }),
            ),
        ],
    );
    // The attack: a software key that claims the iOS Authenticator AAGUID, no attestation.
    let c = support::tap_client(d, &s, "bob@portcullis.local").await;
    let mut fake = SoftKey::new(AUTHN_IOS);
    let (st, body) = register_proving(&c, &s, &mut fake, None).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let (_, list, _) = cli(
        d,
        None,
        &["passkeys", "list", "--user", "bob@portcullis.local"],
    );
    assert!(list.contains("self-reported"), "{list}");
    let c = passkey_client(&s, "bob@portcullis.local", &mut fake).await;
    let (st, loc, page) = authorize(&c, &s, &app, "http://127.0.0.1:8765/cb").await;
    assert_eq!(
        (st, loc.as_str()),
        (StatusCode::FORBIDDEN, ""),
        "no code for a claimed model: {page}"
    );
    assert!(page.contains("Payroll needs the Authenticator"), "{page}");
    let w = |m: &str| {
        what_if(
            d,
            &[
                "--user",
                "bob@portcullis.local",
                "--app",
                &app,
                "--method",
                m,
            ],
        )["outcome"]["result"]
            .clone()
    };
    assert_ne!(
        w(&format!("passkey:{AUTHN_IOS}")),
        "allow",
        "What If agrees"
    );
    assert_eq!(w(&format!("passkey:{AUTHN_IOS}:attested")), "allow");

    // The real thing: attestation enforced, the app's own attestation (R4) attests the AAGUID.
    let f = d.join("fido2.json");
    std::fs::write(&f, r#"{"isAttestationEnforced": true}"#).unwrap();
    ok(d, &["policy", "patch", "fido2", f.to_str().unwrap()]);
    let c = support::tap_client(d, &s, "bob@portcullis.local").await;
    let o: Value = c
        .post(s.url("/api/passkeys/registration/options"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut real = SoftKey::new(AUTHN_IOS);
    let cred = real.register(
        &o["publicKey"],
        &s.origin(),
        &Quirks {
            attestation: Some(app_ca.issue(AUTHN_IOS)),
            ..Default::default()
        },
    );
    let r = c
        .post(s.url("/api/passkeys/registration"))
        .json(&json!({"ceremonyId": o["ceremonyId"], "credential": cred}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    let c = passkey_client(&s, "bob@portcullis.local", &mut real).await;
    let (st, loc, page) = authorize(&c, &s, &app, "http://127.0.0.1:8765/cb").await;
    assert_eq!(st, StatusCode::SEE_OTHER, "{page}");
    assert!(loc.starts_with("http://127.0.0.1:8765/cb?code="), "{loc}");
    s.stop().await;
}

/// R40 behind a proxy: one unreadable `X-Forwarded-For` hop (a non-ASCII byte) used to make
/// the trusted proxy itself the client. When the proxy sits inside a trusted location, that
/// walked a forged request past a location policy. Now the source is unknown: outside every
/// named location, and logged as such.
#[tokio::test]
async fn r40_an_unreadable_forwarded_hop_never_makes_the_proxy_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start_env(
        d,
        None,
        &[(
            "PORTCULLIS_TRUSTED_PROXIES",
            r#"["127.0.0.0/8", "::1/128"]"#.to_string(),
        )],
    )
    .await;
    // The office holds the clients and the proxy itself.
    ok(
        d,
        &[
            "ca",
            "location",
            "--name",
            "Office",
            "--cidr",
            "10.0.0.0/8",
            "--cidr",
            "127.0.0.0/8",
            "--trusted",
        ],
    );
    ok(
        d,
        &[
            "ca",
            "save",
            &policy_file(
                d,
                "office",
                json!({
                    "displayName": "Register only in the office", "state": "enabled",
                    "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeUserActions": ["urn:user:registersecurityinfo"]}, "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}, "clientAppTypes": ["all"]},
                    "grantControls": {"operator": "OR", "builtInControls": ["block"]}
                }),
            ),
        ],
    );
    let c = support::tap_client(d, &s, "admin@portcullis.local").await;
    let options = |xff: Option<&'static [u8]>| {
        let c = c.clone();
        let url = s.url("/api/passkeys/registration/options");
        async move {
            let mut r = c.post(url).json(&json!({}));
            if let Some(x) = xff {
                r = r.header(
                    "x-forwarded-for",
                    reqwest::header::HeaderValue::from_bytes(x).unwrap(),
                );
            }
            r.send().await.unwrap().status()
        }
    };
    assert_eq!(
        options(Some(b"10.1.2.3")).await,
        StatusCode::OK,
        "a client in the office"
    );
    assert_eq!(
        options(Some(b"203.0.113.7")).await,
        StatusCode::FORBIDDEN,
        "a client outside"
    );
    assert_eq!(
        options(Some(b"203.0.113.7, caf\xc3\xa9")).await,
        StatusCode::FORBIDDEN,
        "an unreadable hop: the source is unknown, not the proxy in the office"
    );
    assert_eq!(
        options(None).await,
        StatusCode::FORBIDDEN,
        "behind a proxy with no header, the source is unknown"
    );
    let log = signins(d);
    assert!(
        log.iter().any(|e| e["ipAddress"] == "unknown"),
        "logged as unknown: {log:?}"
    );
    s.stop().await;
}

/// What If through Graph `evaluate`, as an administrator's token asks it (from Linux).
async fn evaluate(d: &Path, s: &Server, user_id: &str, context: Value, methods: Value) -> Value {
    evaluate_from(s, &admin_token(d, s), user_id, context, "linux", methods).await
}

/// [`evaluate`] from a browser on `platform`, with a token already minted.
async fn evaluate_from(
    s: &Server,
    token: &str,
    user_id: &str,
    context: Value,
    platform: &str,
    methods: Value,
) -> Value {
    let r = client()
        .post(s.url("/v1.0/identity/conditionalAccess/evaluate"))
        .bearer_auth(token)
        .json(&json!({
            "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": user_id},
            "signInContext": context,
            "signInConditions": {"devicePlatform": platform, "clientAppType": "browser"},
            "portcullisAuthenticationMethods": methods,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// Issue 13, point 10, over HTTP: What If (the CLI and Graph `evaluate`) answers what the
/// registration API and the sign-in do. A TAP-only user under a register-security-info policy
/// that needs a phishing-resistant method: What If used to say "allow for registration" (the
/// pass skipped the strength at the Security info app) while the API refused; a disabled
/// user: What If used to say "allow" while sign-in refused. Graph `evaluate` now carries the
/// verdict, and lists every failing condition of a policy, not only `users`.
#[tokio::test]
async fn what_if_answers_as_registration_and_sign_in_do() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    let save = |name: &str, applications: Value| {
        let body = json!({
            "displayName": name, "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": applications, "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "authenticationStrength": {"id": PHISHING_RESISTANT}}
        });
        ok(d, &["ca", "save", &policy_file(d, name, body)]);
    };
    save(
        "All resources: phishing-resistant",
        json!({"includeApplications": ["All"]}),
    );
    save(
        "Register: phishing-resistant",
        json!({"includeUserActions": ["urn:user:registersecurityinfo"]}),
    );
    // A policy gail is not in, on another app and platform: every failing condition is listed.
    let other = json!({
        "displayName": "Someone else on Android", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["00000000-0000-0000-0000-0000000000aa"]}, "applications": {"includeApplications": ["00000000-0000-0000-0000-0000000000bb"]}, "platforms": {"includePlatforms": ["android"]}, "clientAppTypes": ["all"]},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}
    });
    ok(d, &["ca", "save", &policy_file(d, "other", other)]);
    let gail = last_word(&ok(d, &["users", "add", "--upn", "gail@portcullis.local"]));

    // The registration API refuses the pass...
    let c = support::tap_client(d, &s, "gail@portcullis.local").await;
    let r = c
        .post(s.url("/api/passkeys/registration/options"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let refused: Value = r.json().await.unwrap();
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Register: phishing-resistant"),
        "{refused}"
    );
    // ...and so does What If, through the CLI and through Graph, with the same policy.
    let cli = what_if(
        d,
        &[
            "--user",
            "gail@portcullis.local",
            "--action",
            "registersecurityinfo",
            "--method",
            "tap",
        ],
    );
    let result = cli["outcome"]["result"].as_str().unwrap();
    assert!(
        !["allow", "allowForRegistration"].contains(&result),
        "What If must not let through what the API refuses: {cli}"
    );
    assert_eq!(
        cli["outcome"]["policy"], "Register: phishing-resistant",
        "{cli}"
    );
    let graph = evaluate(
        d,
        &s,
        &gail,
        json!({"@odata.type": "#microsoft.graph.userActionContext", "userAction": "registerSecurityInformation"}),
        json!([{"method": "temporaryAccessPass"}]),
    )
    .await;
    assert_eq!(graph["@portcullis.verdict"], cli["outcome"], "{graph}");

    // An application: the verdict, and every failing condition of the policy gail is not in.
    let graph = evaluate(
        d,
        &s,
        &gail,
        json!({"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": ["19db86c3-b2b9-44cc-b339-36da233a3be2"]}),
        json!([{"method": "fido2"}]),
    )
    .await;
    assert_eq!(graph["@portcullis.verdict"]["result"], "allow", "{graph}");
    let reasons = graph["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["displayName"] == "Someone else on Android")
        .map(|p| p["analysisReasons"].as_str().unwrap().to_string())
        .unwrap();
    assert_eq!(reasons, "users,application,devicePlatform", "{graph}");

    // A disabled account: sign-in refuses it, and so does What If.
    ok(d, &["users", "disable", "gail@portcullis.local"]);
    let code = code_from(&ok(
        d,
        &["tap", "create", "--user", "gail@portcullis.local"],
    ));
    assert_ne!(
        sign_in(&client(), &s, "gail@portcullis.local", &code)
            .await
            .status(),
        StatusCode::SEE_OTHER,
        "a disabled account does not sign in"
    );
    let graph = evaluate(
        d,
        &s,
        &gail,
        json!({"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": ["19db86c3-b2b9-44cc-b339-36da233a3be2"]}),
        json!([{"method": "fido2"}]),
    )
    .await;
    assert_eq!(graph["@portcullis.verdict"]["result"], "refused", "{graph}");
    assert!(
        graph["@portcullis.verdict"]["reason"]
            .as_str()
            .unwrap()
            .contains("disabled"),
        "{graph}"
    );
    s.stop().await;
}

/// The cookies of a client with a cookie jar, as one `Cookie` header value.
fn jar_cookies(jar: &reqwest::cookie::Jar, s: &Server, name: &str) -> String {
    reqwest::cookie::CookieStore::cookies(jar, &s.url("/").parse().unwrap())
        .unwrap()
        .to_str()
        .unwrap()
        .split("; ")
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie"))
        .to_string()
}

/// A client with its cookie jar, signed in with `code`; Security info opened if asked.
async fn jar_sign_in(
    s: &Server,
    upn: &str,
    code: &str,
    open_security_info: bool,
) -> std::sync::Arc<reqwest::cookie::Jar> {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let c = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    assert_eq!(
        sign_in(&c, s, upn, code).await.status(),
        StatusCode::SEE_OTHER
    );
    if open_security_info {
        support::open_security_info(&c, s).await;
    }
    jar
}

/// R40, as an attacker tries it: Security info's application cookie is bound to the user and
/// the session its sign-in made. Moved onto another user's session cookie, or onto another
/// session of the same user, it opens nothing: the registration API answers
/// securityInfoSessionRequired, and each pair on its own still works.
#[tokio::test]
async fn r40_a_security_info_cookie_moved_to_another_session_opens_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    ok(d, &["users", "add", "--upn", "ann@portcullis.local"]);
    ok(d, &["users", "add", "--upn", "ben@portcullis.local"]);
    let pass = |upn: &str| code_from(&ok(d, &["tap", "create", "--user", upn, "--multi-use"]));
    let (ann_pass, ben_pass) = (pass("ann@portcullis.local"), pass("ben@portcullis.local"));
    let ann = jar_sign_in(&s, "ann@portcullis.local", &ann_pass, true).await;
    let ben = jar_sign_in(&s, "ben@portcullis.local", &ben_pass, true).await;
    // Ann signs in a second time elsewhere with the same multi-use pass: another session.
    let ann2 = jar_sign_in(&s, "ann@portcullis.local", &ann_pass, false).await;
    let options = |session: String, app: String| {
        let s = &s;
        async move {
            let r = reqwest::Client::new()
                .post(s.url("/api/passkeys/registration/options"))
                .header("cookie", format!("{session}; {app}"))
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let st = r.status();
            let v: Value = r.json().await.unwrap();
            (st, v["error"]["code"].as_str().map(str::to_string))
        }
    };
    let session = |jar: &reqwest::cookie::Jar| jar_cookies(jar, &s, "portcullis_session");
    let app = |jar: &reqwest::cookie::Jar| jar_cookies(jar, &s, "portcullis_security_info");
    // Each pair as issued works.
    assert_eq!(
        options(session(&ann), app(&ann)).await,
        (StatusCode::OK, None)
    );
    assert_eq!(
        options(session(&ben), app(&ben)).await,
        (StatusCode::OK, None)
    );
    // Ann's application cookie on Ben's session, and on her own other session: nothing.
    for (who, sess) in [
        ("Ben's session", session(&ben)),
        ("Ann's other session", session(&ann2)),
    ] {
        assert_eq!(
            options(sess, app(&ann)).await,
            (
                StatusCode::UNAUTHORIZED,
                Some("securityInfoSessionRequired".to_string())
            ),
            "{who}"
        );
    }
    s.stop().await;
}

/// A policy edited behind the API so that it no longer parses (saving refuses such a policy)
/// is not skipped: it blocks everyone it could concern, What If says which policy, and
/// `ca list` warns about it by name with the reason.
#[tokio::test]
async fn a_stored_policy_that_no_longer_parses_blocks_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    ok(d, &["users", "add", "--upn", "dora@portcullis.local"]);
    s.stop().await;
    let p: portcullis_domain::conditional_access::Policy = serde_json::from_value(json!({
        "id": "11111111-2222-3333-4444-555555555555",
        "displayName": "Edited by hand", "state": "enabled",
        "conditions": {"users": {"includeRoles": ["Chief Everything Officer"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
    }))
    .unwrap();
    let store = portcullis_store::Store::open(&portcullis_store::sqlite_url_for(d))
        .await
        .unwrap();
    let mut c = store.conn().await.unwrap();
    portcullis_store::conditional_access::put_policy(&mut c, &p, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    drop(c);
    store.close().await;
    let (st, _, err) = cli(d, None, &["ca", "list"]);
    assert_eq!(st, 0, "{err}");
    assert!(
        err.contains("Edited by hand") && err.contains("Chief Everything Officer"),
        "{err}"
    );
    let w = what_if(
        d,
        &[
            "--user",
            "dora@portcullis.local",
            "--app",
            "19db86c3-b2b9-44cc-b339-36da233a3be2",
            "--method",
            "passkey",
        ],
    );
    assert_eq!(
        (
            w["outcome"]["result"].as_str(),
            w["outcome"]["policy"].as_str()
        ),
        (Some("refused"), Some("Edited by hand")),
        "{w}"
    );
}
