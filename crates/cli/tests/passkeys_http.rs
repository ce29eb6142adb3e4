//! Passkey rules over HTTP against the real binary, with a software authenticator that can
//! be told to misbehave. Each test names the rule it shows (SPEC R…).

// A test crate: a failed assumption is a failed test (the product denies these, Cargo.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use portcullis_testkit::softkey::{Quirks, SoftKey};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;
use support::{cli, client, get_following, sign_in, Server};

const CHROMIUM: &str = "01020304-0506-0708-0102-030405060708";
const OTHER: &str = "2fc0579f-8113-47ea-b116-bb5a8db9202a";
const ADMIN: &str = "admin@portcullis.local";

async fn post(c: &reqwest::Client, s: &Server, path: &str, body: &Value) -> (StatusCode, Value) {
    let r = c.post(s.url(path)).json(body).send().await.expect("POST");
    let st = r.status();
    (st, r.json().await.unwrap_or(Value::Null))
}

/// A client signed in as the administrator with the bootstrap TAP, with Security info open.
async fn admin(s: &Server) -> reqwest::Client {
    let c = client();
    assert_eq!(
        sign_in(&c, s, ADMIN, s.tap.as_deref().expect("bootstrap pass"))
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    support::open_security_info(&c, s).await;
    c
}

async fn register(
    c: &reqwest::Client,
    s: &Server,
    key: &mut SoftKey,
    q: &Quirks,
) -> (StatusCode, Value) {
    support::open_security_info(c, s).await;
    let (st, o) = post(c, s, "/api/passkeys/registration/options", &json!({})).await;
    if st != StatusCode::OK {
        return (st, o);
    }
    let cred = key.register(&o["publicKey"], &s.origin(), q);
    post(
        c,
        s,
        "/api/passkeys/registration",
        &json!({"ceremonyId": o["ceremonyId"], "credential": cred}),
    )
    .await
}

async fn passkey_sign_in(
    s: &Server,
    username: Option<&str>,
    key: &mut SoftKey,
    q: &Quirks,
) -> (StatusCode, Value) {
    let c = client();
    let (st, o) = post(
        &c,
        s,
        "/api/signin/passkey/options",
        &json!({"username": username}),
    )
    .await;
    if st != StatusCode::OK {
        return (st, o);
    }
    let cred = key.assert(&o["publicKey"], &s.origin(), q);
    post(
        &c,
        s,
        "/api/signin/passkey",
        &json!({"ceremonyId": o["ceremonyId"], "credential": cred}),
    )
    .await
}

/// Patches the Fido2 configuration through the CLI; returns its warnings (stderr).
fn patch_fido2(dir: &Path, body: &str) -> String {
    let f = dir.join("fido2.json");
    std::fs::write(&f, body).unwrap();
    let (st, _, err) = cli(
        dir,
        None,
        &["policy", "patch", "fido2", f.to_str().unwrap()],
    );
    assert_eq!(st, 0, "{err}");
    err
}

fn passkeys(dir: &Path, user: &str) -> Vec<Value> {
    let (st, out, err) = cli(dir, None, &["passkeys", "list", "--user", user, "--json"]);
    assert_eq!(st, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// Runs the CLI, which must succeed; its output.
fn ok(d: &Path, args: &[&str]) -> String {
    let (st, out, err) = cli(d, None, args);
    assert_eq!(st, 0, "{args:?}: {err}");
    out
}

/// JSON Lines, one value per line.
fn jsonl(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn code(v: &Value) -> &str {
    v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not the error shape: {v}"))
}

#[tokio::test]
async fn r17_options_and_r21_username_first_lists_only_usable_passkeys() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), None).await;
    let c = admin(&s).await;
    let (st, o) = post(&c, &s, "/api/passkeys/registration/options", &json!({})).await;
    assert_eq!(st, StatusCode::OK);
    let pk = &o["publicKey"];
    assert_eq!(
        pk["authenticatorSelection"]["residentKey"], "required",
        "R17: discoverable credential"
    );
    assert_eq!(pk["authenticatorSelection"]["requireResidentKey"], true);
    assert_eq!(
        pk["authenticatorSelection"]["userVerification"], "required",
        "R17: UV"
    );
    assert_eq!(
        pk["attestation"], "none",
        "R17: none while attestation is not enforced"
    );
    let algs: Vec<i64> = pk["pubKeyCredParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["alg"].as_i64().unwrap())
        .collect();
    assert_eq!(algs, vec![-7, -257, -8], "R17: ES256, RS256, EdDSA");
    assert_eq!(pk["rp"]["id"], "localhost");

    let mut a = SoftKey::new(CHROMIUM);
    let mut b = SoftKey::new(OTHER);
    assert_eq!(
        register(&c, &s, &mut a, &Quirks::default()).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        register(&c, &s, &mut b, &Quirks::default()).await.0,
        StatusCode::CREATED
    );
    let (_, o) = post(&c, &s, "/api/passkeys/registration/options", &json!({})).await;
    let excluded: Vec<&str> = o["publicKey"]["excludeCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert!(
        excluded.contains(&a.id().as_str()) && excluded.contains(&b.id().as_str()),
        "R17: excludeCredentials lists the user's passkeys"
    );

    patch_fido2(dir.path(), r#"{"isAttestationEnforced": true}"#);
    let (_, o) = post(&c, &s, "/api/passkeys/registration/options", &json!({})).await;
    assert_eq!(
        o["publicKey"]["attestation"], "direct",
        "R17: direct when enforced"
    );
    let warnings = patch_fido2(
        dir.path(),
        &format!(
            r#"{{"isAttestationEnforced": false, "keyRestrictions": {{"isEnforced": true, "enforcementType": "block", "aaGuids": ["{CHROMIUM}"]}}}}"#
        ),
    );
    assert!(
        warnings.contains("1 registered passkey(s) of Chromium virtual authenticator")
            && warnings.contains("stop working"),
        "R5: saving says who is stranded: {warnings}"
    );

    let (st, o) = post(
        &client(),
        &s,
        "/api/signin/passkey/options",
        &json!({"username": ADMIN}),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let allowed: Vec<&str> = o["publicKey"]["allowCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        allowed,
        vec![b.id().as_str()],
        "R21: only usable passkeys are offered"
    );
    let (_, o) = post(&client(), &s, "/api/signin/passkey/options", &json!({})).await;
    assert!(
        o["publicKey"]
            .get("allowCredentials")
            .is_none_or(|a| a.as_array().is_some_and(|a| a.is_empty())),
        "usernameless: a discoverable request"
    );
    assert_eq!(
        passkey_sign_in(&s, Some(ADMIN), &mut b, &Quirks::default())
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        passkey_sign_in(&s, None, &mut b, &Quirks::default())
            .await
            .0,
        StatusCode::OK,
        "R21: found by user handle"
    );
    let (st, v) = passkey_sign_in(&s, None, &mut a, &Quirks::default()).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::FORBIDDEN, "keyRestricted"),
        "R5 at sign-in, usernameless too: {v}"
    );
    s.stop().await;
}

#[tokio::test]
async fn r22_every_verification_failure_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), None).await;
    let c = admin(&s).await;
    let mut key = SoftKey::new(CHROMIUM);
    assert_eq!(
        register(&c, &s, &mut key, &Quirks::default()).await.0,
        StatusCode::CREATED
    );

    let cases: Vec<(Quirks, StatusCode, &str)> = vec![
        (
            Quirks {
                origin: Some("https://evil.example".into()),
                ..Default::default()
            },
            StatusCode::UNAUTHORIZED,
            "originMismatch",
        ),
        (
            Quirks {
                rp_id: Some("evil.example".into()),
                ..Default::default()
            },
            StatusCode::UNAUTHORIZED,
            "rpIdMismatch",
        ),
        (
            Quirks {
                no_uv: true,
                ..Default::default()
            },
            StatusCode::UNAUTHORIZED,
            "userNotVerified",
        ),
        (
            Quirks {
                bad_signature: true,
                ..Default::default()
            },
            StatusCode::UNAUTHORIZED,
            "badSignature",
        ),
        (
            Quirks {
                challenge: Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()),
                ..Default::default()
            },
            StatusCode::UNAUTHORIZED,
            "challengeMismatch",
        ),
    ];
    for (q, status, want) in cases {
        let (st, v) = passkey_sign_in(&s, Some(ADMIN), &mut key, &q).await;
        assert_eq!((st, code(&v)), (status, want), "{q:?}: {v}");
        assert!(!v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .is_empty());
    }

    // Replayed challenge: the same ceremony and response twice.
    let c2 = client();
    let (_, o) = post(
        &c2,
        &s,
        "/api/signin/passkey/options",
        &json!({"username": ADMIN}),
    )
    .await;
    let cred = key.assert(&o["publicKey"], &s.origin(), &Quirks::default());
    let body = json!({"ceremonyId": o["ceremonyId"], "credential": cred});
    assert_eq!(
        post(&c2, &s, "/api/signin/passkey", &body).await.0,
        StatusCode::OK
    );
    let (st, v) = post(&client(), &s, "/api/signin/passkey", &body).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::BAD_REQUEST, "challengeUnknown"),
        "a replay is refused: {v}"
    );

    // Bad input changes nothing: a malformed answer leaves the ceremony usable.
    let c4 = client();
    let (_, o) = post(
        &c4,
        &s,
        "/api/signin/passkey/options",
        &json!({"username": ADMIN}),
    )
    .await;
    let (st, v) = post(
        &c4,
        &s,
        "/api/signin/passkey",
        &json!({"ceremonyId": o["ceremonyId"], "credential": {"id": 5}}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    code(&v);
    let cred = key.assert(&o["publicKey"], &s.origin(), &Quirks::default());
    let (st, v) = post(
        &c4,
        &s,
        "/api/signin/passkey",
        &json!({"ceremonyId": o["ceremonyId"], "credential": cred}),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::OK,
        "the malformed answer spent nothing: {v}"
    );

    // R17, R22: a refused answer uses its challenge up as well: after a bad signature, even a
    // correct answer to the same ceremony is refused.
    let c3 = client();
    let (_, o) = post(
        &c3,
        &s,
        "/api/signin/passkey/options",
        &json!({"username": ADMIN}),
    )
    .await;
    // An explicit counter leaves the key's own count where the server's is.
    let next = Some(key.counter + 1);
    let forged = key.assert(
        &o["publicKey"],
        &s.origin(),
        &Quirks {
            bad_signature: true,
            counter: next,
            ..Default::default()
        },
    );
    let (st, v) = post(
        &c3,
        &s,
        "/api/signin/passkey",
        &json!({"ceremonyId": o["ceremonyId"], "credential": forged}),
    )
    .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::UNAUTHORIZED, "badSignature"),
        "{v}"
    );
    let genuine = key.assert(
        &o["publicKey"],
        &s.origin(),
        &Quirks {
            counter: next,
            ..Default::default()
        },
    );
    let (st, v) = post(
        &c3,
        &s,
        "/api/signin/passkey",
        &json!({"ceremonyId": o["ceremonyId"], "credential": genuine}),
    )
    .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::BAD_REQUEST, "challengeUnknown"),
        "the refused ceremony is spent: {v}"
    );

    // Counter regression: refused, and the passkey is flagged as possibly cloned.
    let now = key.counter;
    let (st, v) = passkey_sign_in(
        &s,
        Some(ADMIN),
        &mut key,
        &Quirks {
            counter: Some(now.saturating_sub(1).max(1)),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::UNAUTHORIZED, "counterRegression"),
        "{v}"
    );
    let listed = passkeys(dir.path(), ADMIN);
    assert_eq!(listed[0]["flaggedClone"], true);
    assert_eq!(listed[0]["usable"], false);
    let (st, v) = passkey_sign_in(&s, Some(ADMIN), &mut key, &Quirks::default()).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::FORBIDDEN, "passkeyFlaggedClone"),
        "a flagged passkey stays refused: {v}"
    );

    let (_, out, _) = cli(
        dir.path(),
        None,
        &["logs", "signins", "--json", "--limit", "100"],
    );
    let log: Vec<Value> = serde_json::from_str(&out).unwrap();
    for want in [
        "originMismatch",
        "rpIdMismatch",
        "userNotVerified",
        "badSignature",
        "challengeUnknown",
        "counterRegression",
    ] {
        assert!(
            log.iter().any(|e| e["failureCode"] == want),
            "{want} is in the sign-in log"
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn r1_r2_r3_r4_r5_r6_policy_gates_registration_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let c = admin(&s).await;
    let mut key = SoftKey::new(CHROMIUM);

    // R4: none and self attestation are refused while attestation is enforced.
    patch_fido2(d, r#"{"isAttestationEnforced": true}"#);
    let (st, v) = register(&c, &s, &mut key, &Quirks::default()).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::FORBIDDEN, "attestationRequired"),
        "{v}"
    );
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no attestation"));
    let (st, v) = register(
        &c,
        &s,
        &mut key,
        &Quirks {
            self_attestation: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::FORBIDDEN, "attestationRequired")
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("only self attestation"),
        "{v}"
    );
    patch_fido2(d, r#"{"isAttestationEnforced": false}"#);

    // R5 at registration.
    patch_fido2(
        d,
        &format!(
            r#"{{"keyRestrictions": {{"isEnforced": true, "enforcementType": "allow", "aaGuids": ["{OTHER}"]}}}}"#
        ),
    );
    let (st, v) = register(&c, &s, &mut key, &Quirks::default()).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::FORBIDDEN, "keyRestricted"),
        "{v}"
    );

    // R6: the guided Authenticator option appears only with both Authenticator AAGUIDs allowed;
    // the shortcut switch puts them there and takes them away.
    let page = get_following(&c, &s, "/security-info")
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("add-authenticator"));
    let (st, out, _) = cli(d, None, &["policy", "authenticator-shortcut", "on"]);
    assert_eq!(st, 0);
    assert!(
        out.contains("de1e552d-db1d-4423-a619-566b625cdc84")
            && out.contains(&format!("\"{OTHER}\"")),
        "added to the existing allow list: {out}"
    );
    let page = get_following(&c, &s, "/security-info")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("add-authenticator") && page.contains("Passkey in Microsoft Authenticator")
    );
    let (st, _, warnings) = cli(d, None, &["policy", "authenticator-shortcut", "off"]);
    assert_eq!(st, 0);
    assert!(
        warnings.contains("shortcut no longer applies"),
        "R6: switching off warns: {warnings}"
    );
    patch_fido2(
        d,
        r#"{"keyRestrictions": {"isEnforced": true, "enforcementType": "allow", "aaGuids": ["de1e552d-db1d-4423-a619-566b625cdc84", "90a3ccdf-635c-4729-a248-9b709135078f"]}}"#,
    );
    let warnings = patch_fido2(
        d,
        r#"{"keyRestrictions": {"isEnforced": false, "enforcementType": "block", "aaGuids": []}}"#,
    );
    assert!(
        warnings.contains("shortcut no longer applies"),
        "R6: turning restrictions off is accepted with a warning: {warnings}"
    );

    // R3: self-service off.
    patch_fido2(d, r#"{"isSelfServiceRegistrationAllowed": false}"#);
    let (st, v) = register(&c, &s, &mut key, &Quirks::default()).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::FORBIDDEN, "selfServiceDisabled")
    );
    patch_fido2(d, r#"{"isSelfServiceRegistrationAllowed": true}"#);

    // R2: excluded through a security group.
    assert_eq!(cli(d, None, &["groups", "add", "No passkeys"]).0, 0);
    assert_eq!(
        cli(
            d,
            None,
            &[
                "groups",
                "members",
                "add",
                "--group",
                "No passkeys",
                "--user",
                ADMIN
            ]
        )
        .0,
        0
    );
    let (_, out, _) = cli(d, None, &["groups", "list", "--json"]);
    let gid = serde_json::from_str::<Value>(&out).unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    patch_fido2(
        d,
        &format!(r#"{{"excludeTargets": [{{"id": "{gid}", "targetType": "group"}}]}}"#),
    );
    let (st, v) = register(&c, &s, &mut key, &Quirks::default()).await;
    assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "fido2NotInScope"));
    patch_fido2(d, r#"{"excludeTargets": []}"#);

    // R1: disabled.
    patch_fido2(d, r#"{"state": "disabled"}"#);
    let (st, v) = register(&c, &s, &mut key, &Quirks::default()).await;
    assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "fido2Disabled"));
    assert!(
        passkeys(d, ADMIN).is_empty(),
        "no refused registration stored anything"
    );

    // Enabled again it registers; disabled, the kept passkey cannot sign in (R1), and works once re-enabled.
    patch_fido2(d, r#"{"state": "enabled"}"#);
    assert_eq!(
        register(&c, &s, &mut key, &Quirks::default()).await.0,
        StatusCode::CREATED
    );
    patch_fido2(d, r#"{"state": "disabled"}"#);
    let (st, v) = passkey_sign_in(&s, Some(ADMIN), &mut key, &Quirks::default()).await;
    assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "fido2Disabled"));
    let listed = passkeys(d, ADMIN);
    assert_eq!(
        (listed.len(), listed[0]["usable"].clone()),
        (1, Value::Bool(false)),
        "R1: kept, shown unusable with the reason"
    );
    assert!(listed[0]["reason"].as_str().unwrap().contains("turned off"));
    patch_fido2(d, r#"{"state": "enabled"}"#);
    assert_eq!(
        passkey_sign_in(&s, Some(ADMIN), &mut key, &Quirks::default())
            .await
            .0,
        StatusCode::OK
    );
    s.stop().await;
}

#[tokio::test]
async fn r9_profiles_and_r20_device_and_profile_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let c = admin(&s).await;
    assert_eq!(cli(d, None, &["groups", "add", "Open"]).0, 0);
    let (_, out, _) = cli(d, None, &["groups", "list", "--json"]);
    let gid = serde_json::from_str::<Value>(&out).unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (strict, open) = (
        "11111111-1111-1111-1111-111111111111",
        "22222222-2222-2222-2222-222222222222",
    );
    patch_fido2(
        d,
        &format!(
            r#"{{"passkeyProfiles": [
                {{"id": "{strict}", "name": "Authenticator only", "passkeyTypes": "deviceBound", "attestationEnforcement": "disabled",
                  "keyRestrictions": {{"isEnforced": true, "enforcementType": "allow", "aaGuids": ["de1e552d-db1d-4423-a619-566b625cdc84", "90a3ccdf-635c-4729-a248-9b709135078f"]}}}},
                {{"id": "{open}", "name": "Anything", "passkeyTypes": "deviceBound,synced", "attestationEnforcement": "disabled",
                  "keyRestrictions": {{"isEnforced": false, "enforcementType": "block", "aaGuids": []}}}}],
              "defaultPasskeyProfile": "{strict}",
              "includeTargets": [{{"id": "all_users", "targetType": "group", "allowedPasskeyProfiles": ["{strict}"]}},
                                 {{"id": "{gid}", "targetType": "group", "allowedPasskeyProfiles": ["{open}"]}}]}}"#
        ),
    );
    let mut key = SoftKey::new(CHROMIUM);
    let (st, v) = register(&c, &s, &mut key, &Quirks::default()).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::FORBIDDEN, "keyRestricted"),
        "R9: the default profile allows only Authenticator: {v}"
    );
    assert_eq!(
        cli(
            d,
            None,
            &["groups", "members", "add", "--group", "Open", "--user", ADMIN]
        )
        .0,
        0
    );
    let (st, o) = post(&c, &s, "/api/passkeys/registration/options", &json!({})).await;
    assert_eq!(st, StatusCode::OK);
    let cred = key.register(&o["publicKey"], &s.origin(), &Quirks::default());
    let (st, v) = post(&c, &s, "/api/passkeys/registration", &json!({"ceremonyId": o["ceremonyId"], "credential": cred, "name": "Work phone", "device": "Pixel 8", "deviceProfile": "work"})).await;
    assert_eq!(
        st,
        StatusCode::CREATED,
        "R9: the Open profile accepts it: {v}"
    );
    let listed = passkeys(d, ADMIN);
    assert_eq!(
        (
            listed[0]["displayName"].as_str(),
            listed[0]["device"].as_str(),
            listed[0]["deviceProfile"].as_str()
        ),
        (Some("Work phone"), Some("Pixel 8"), Some("work")),
        "R20"
    );
    let page = get_following(&c, &s, "/security-info")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Pixel 8") && page.contains("work profile"),
        "R20: Security info shows device and profile"
    );
    s.stop().await;
}

#[tokio::test]
async fn r25_deleted_passkeys_are_refused_with_the_explanation() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let c = admin(&s).await;
    let (mut mine, mut theirs) = (SoftKey::new(CHROMIUM), SoftKey::new(OTHER));
    let (_, a) = register(&c, &s, &mut mine, &Quirks::default()).await;
    let (_, b) = register(&c, &s, &mut theirs, &Quirks::default()).await;
    // R27: a sign-in hands the Signal API the passkeys the server accepts.
    let accepted = |v: &Value| v["signal"]["allAcceptedCredentialIds"].clone();
    let (st, v) = passkey_sign_in(&s, None, &mut theirs, &Quirks::default()).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(accepted(&v), json!([mine.id(), theirs.id()]));

    // The delete form belongs to Security info, which has its own (OIDC) sign-in.
    assert_eq!(
        get_following(&c, &s, "/security-info").await.status(),
        StatusCode::OK
    );
    let r = c
        .post(s.url(&format!(
            "/security-info/passkeys/{}/delete",
            a["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (st, v) = passkey_sign_in(&s, None, &mut mine, &Quirks::default()).await;
    assert_eq!((st, code(&v)), (StatusCode::UNAUTHORIZED, "passkeyDeleted"));
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("You removed this passkey"),
        "{v}"
    );
    let (st, v) = passkey_sign_in(&s, None, &mut theirs, &Quirks::default()).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        accepted(&v),
        json!([theirs.id()]),
        "the deleted one is not offered"
    );

    let (st, _, err) = cli(
        d,
        None,
        &[
            "passkeys",
            "delete",
            "--user",
            ADMIN,
            "--id",
            b["id"].as_str().unwrap(),
        ],
    );
    assert_eq!(st, 0, "{err}");
    let (st, v) = passkey_sign_in(&s, None, &mut theirs, &Quirks::default()).await;
    assert_eq!((st, code(&v)), (StatusCode::UNAUTHORIZED, "passkeyDeleted"));
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("removed by your administrator"),
        "{v}"
    );
    let (_, out, _) = cli(d, None, &["logs", "audit"]);
    assert!(
        out.contains("User deleted security info") && out.contains("Admin deleted security info")
    );
    s.stop().await;
}

#[tokio::test]
async fn bad_input_to_every_ceremony_endpoint_is_a_4xx_in_the_error_shape_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let c = admin(&s).await;
    let mut key = SoftKey::new(CHROMIUM);
    let (_, o) = post(&c, &s, "/api/passkeys/registration/options", &json!({})).await;
    let good = key.register(&o["publicKey"], &s.origin(), &Quirks::default());

    let with = |path: &str, v: Value| {
        let mut g = good.clone();
        let mut cur = &mut g;
        let parts: Vec<&str> = path.split('/').collect();
        for p in &parts[..parts.len() - 1] {
            cur = &mut cur[*p];
        }
        cur[parts[parts.len() - 1]] = v;
        g
    };
    let bad_cbor = with("response/attestationObject", json!("oWNmbXQ"));
    let bad_b64 = with("response/clientDataJSON", json!("%%%not base64%%%"));
    let truncated = {
        // A valid CBOR map whose authData is cut short.
        let ao = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            serde_cbor_2::to_vec(&serde_cbor_2::Value::Map(
                [
                    (
                        serde_cbor_2::Value::Text("fmt".into()),
                        serde_cbor_2::Value::Text("none".into()),
                    ),
                    (
                        serde_cbor_2::Value::Text("attStmt".into()),
                        serde_cbor_2::Value::Map(Default::default()),
                    ),
                    (
                        serde_cbor_2::Value::Text("authData".into()),
                        serde_cbor_2::Value::Bytes(vec![1, 2, 3, 4, 5]),
                    ),
                ]
                .into_iter()
                .collect(),
            ))
            .unwrap(),
        );
        with("response/attestationObject", json!(ao))
    };
    let wrong_type = with("response", json!(42));
    let cases: Vec<(&str, Value, StatusCode, &str)> = vec![
        (
            "/api/passkeys/registration",
            json!({"ceremonyId": 5, "credential": good}),
            StatusCode::BAD_REQUEST,
            "malformedJson",
        ),
        (
            "/api/passkeys/registration",
            json!({"ceremonyId": o["ceremonyId"], "credential": good, "extra": 1}),
            StatusCode::BAD_REQUEST,
            "malformedJson",
        ),
        (
            "/api/passkeys/registration",
            json!({"ceremonyId": uuid_v4(), "credential": good}),
            StatusCode::BAD_REQUEST,
            "challengeUnknown",
        ),
        (
            "/api/signin/passkey",
            json!({"ceremonyId": 5, "credential": {}}),
            StatusCode::BAD_REQUEST,
            "malformedJson",
        ),
        (
            "/api/signin/passkey",
            json!({"ceremonyId": "not-a-ceremony", "credential": {}}),
            StatusCode::BAD_REQUEST,
            "malformedResponse",
        ),
        (
            "/api/signin/passkey/options",
            json!({"username": 7}),
            StatusCode::BAD_REQUEST,
            "malformedJson",
        ),
        (
            "/api/signin/passkey/options",
            json!({"username": "not a name"}),
            StatusCode::BAD_REQUEST,
            "malformedUsername",
        ),
    ];
    for (path, body, status, want) in cases {
        let (st, v) = post(&c, &s, path, &body).await;
        assert_eq!((st, code(&v)), (status, want), "{path} {body}: {v}");
    }
    // Each malformed credential against a fresh ceremony.
    for (cred, want) in [
        (bad_cbor, "malformedCbor"),
        (bad_b64, "malformedResponse"),
        (truncated, "malformedAuthenticatorData"),
        (wrong_type, "malformedResponse"),
    ] {
        let (_, o) = post(&c, &s, "/api/passkeys/registration/options", &json!({})).await;
        let (st, v) = post(
            &c,
            &s,
            "/api/passkeys/registration",
            &json!({"ceremonyId": o["ceremonyId"], "credential": cred}),
        )
        .await;
        assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, want), "{v}");
    }
    // Unknown credential id at sign-in: refused as a wrong signature is (issue 12, point 9).
    let (_, o) = post(&client(), &s, "/api/signin/passkey/options", &json!({})).await;
    let mut stranger = SoftKey::new(CHROMIUM);
    let _ = stranger.register(
        &json!({"rp": {"id": "localhost"}, "challenge": "AA", "user": {"id": "AA"}}),
        &s.origin(),
        &Quirks::default(),
    );
    let cred = stranger.assert(&o["publicKey"], &s.origin(), &Quirks::default());
    let (st, v) = post(
        &client(),
        &s,
        "/api/signin/passkey",
        &json!({"ceremonyId": o["ceremonyId"], "credential": cred}),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::UNAUTHORIZED, "badSignature"));
    // Malformed JSON, wrong media type, oversized body, not signed in, cross-origin.
    let r = c
        .post(s.url("/api/signin/passkey"))
        .header("content-type", "application/json")
        .body("{ nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(code(&r.json::<Value>().await.unwrap()), "malformedJson");
    let r = c
        .post(s.url("/api/signin/passkey"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        code(&r.json::<Value>().await.unwrap()),
        "unsupportedMediaType"
    );
    let big = json!({"ceremonyId": uuid_v4(), "credential": {"pad": "x".repeat(200_000)}});
    let (st, v) = post(&c, &s, "/api/signin/passkey", &big).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::PAYLOAD_TOO_LARGE, "bodyTooLarge")
    );
    let (st, v) = post(
        &client(),
        &s,
        "/api/passkeys/registration/options",
        &json!({}),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::UNAUTHORIZED, "notSignedIn"));
    let r = c
        .post(s.url("/api/passkeys/registration/options"))
        .header("origin", "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(code(&r.json::<Value>().await.unwrap()), "crossOrigin");

    assert!(passkeys(d, ADMIN).is_empty(), "nothing was stored");
    let h = c.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(h.status(), StatusCode::OK, "the server is still healthy");
    s.stop().await;
}

fn uuid_v4() -> String {
    format!("{}", uuid::Uuid::new_v4())
}

/// R5, R6: from the default state, the Authenticator shortcut switched on and off again leaves
/// key restrictions off as they were — not an enforced, empty allow list that refuses every
/// passkey while the warning promised the opposite. The warning says what now happens, and an
/// enforced empty allow list is saved only when that consequence is confirmed.
#[tokio::test]
async fn r6_the_shortcut_off_never_leaves_an_enforced_empty_allow_list() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let c = admin(&s).await;
    let mut key = SoftKey::new(CHROMIUM);
    let (st, v) = register(&c, &s, &mut key, &Quirks::default()).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, _, _) = cli(d, None, &["policy", "authenticator-shortcut", "on"]);
    assert_eq!(st, 0);
    let (st, v) = passkey_sign_in(&s, Some(ADMIN), &mut key, &Quirks::default()).await;
    assert_ne!(
        st,
        StatusCode::OK,
        "the shortcut allows only the Authenticator: {v}"
    );
    let (st, out, warnings) = cli(d, None, &["policy", "authenticator-shortcut", "off"]);
    assert_eq!(st, 0);
    let cfg: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        cfg["keyRestrictions"]["isEnforced"], false,
        "back to no key restrictions: {cfg}"
    );
    assert!(
        warnings.contains("every authenticator model may register"),
        "the warning says what happens: {warnings}"
    );
    let (st, v) = passkey_sign_in(&s, Some(ADMIN), &mut key, &Quirks::default()).await;
    assert_eq!(st, StatusCode::OK, "every passkey works again: {v}");

    // An enforced empty allow list refuses every passkey: saved only when confirmed.
    let f = d.join("empty.json");
    std::fs::write(
        &f,
        r#"{"keyRestrictions": {"isEnforced": true, "enforcementType": "allow", "aaGuids": []}}"#,
    )
    .unwrap();
    let (st, _, err) = cli(d, None, &["policy", "patch", "fido2", f.to_str().unwrap()]);
    assert_ne!(st, 0, "refused without confirmation");
    assert!(err.contains("every passkey would be refused"), "{err}");
    let (st, v) = passkey_sign_in(&s, Some(ADMIN), &mut key, &Quirks::default()).await;
    assert_eq!(st, StatusCode::OK, "nothing was saved: {v}");
    let (st, _, err) = cli(
        d,
        None,
        &[
            "policy",
            "patch",
            "fido2",
            f.to_str().unwrap(),
            "--accept-empty-allow-list",
        ],
    );
    assert_eq!(st, 0, "{err}");
    let (st, v) = passkey_sign_in(&s, Some(ADMIN), &mut key, &Quirks::default()).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::FORBIDDEN, "keyRestricted"),
        "as confirmed: {v}"
    );
    s.stop().await;
}

/// R17, R21, R22: an Ed25519 passkey (COSE alg -8) registers through the API and signs in,
/// username-first and usernameless; a bad Ed25519 signature is refused and spends the ceremony.
#[tokio::test]
async fn r17_an_ed25519_passkey_registers_and_signs_in_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), None).await;
    let c = admin(&s).await;
    let mut key = SoftKey::ed25519(OTHER);
    let (st, v) = register(&c, &s, &mut key, &Quirks::default()).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    for user in [Some(ADMIN), None] {
        let (st, v) = passkey_sign_in(&s, user, &mut key, &Quirks::default()).await;
        assert_eq!(
            (st, v["userPrincipalName"].as_str()),
            (StatusCode::OK, Some(ADMIN)),
            "{v}"
        );
    }
    let (st, v) = passkey_sign_in(
        &s,
        Some(ADMIN),
        &mut key,
        &Quirks {
            bad_signature: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::UNAUTHORIZED, "badSignature"));
    s.stop().await;
}

/// Issue 12, point 9: the anonymous sign-in surfaces do not tell who has an account. A
/// username-first request answers alike for an unknown name, an account without passkeys
/// and one whose passkeys may not sign in (decoy or real ids, same shape, the same decoys
/// every time); why a passkey may not sign in is said only to whoever proves they hold it.
/// A TAP sign-in answers alike to an unknown name, a user without a pass and a wrong code,
/// and an unknown name locks out like an account; the sign-in log keeps the difference.
#[tokio::test]
async fn anonymous_sign_in_answers_do_not_reveal_who_has_an_account() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let c = admin(&s).await;
    // Self-attested (packed), so that the library keeps its transports: the list must not.
    let mut blocked = SoftKey::new(CHROMIUM);
    assert_eq!(
        register(
            &c,
            &s,
            &mut blocked,
            &Quirks {
                self_attestation: true,
                ..Default::default()
            }
        )
        .await
        .0,
        StatusCode::CREATED
    );
    patch_fido2(
        d,
        &format!(
            r#"{{"keyRestrictions": {{"isEnforced": true, "enforcementType": "block", "aaGuids": ["{CHROMIUM}"]}}}}"#
        ),
    );
    assert_eq!(
        cli(
            d,
            None,
            &["users", "add", "--upn", "nopass@portcullis.local"]
        )
        .0,
        0
    );
    let options = |name: &'static str| {
        let s = &s;
        async move {
            post(
                &client(),
                s,
                "/api/signin/passkey/options",
                &json!({"username": name}),
            )
            .await
        }
    };
    let shape = |v: &Value| -> Vec<Vec<String>> {
        v["publicKey"]["allowCredentials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let mut k: Vec<String> = c.as_object().unwrap().keys().cloned().collect();
                k.sort();
                k.push(format!("{}", c["id"].as_str().unwrap().len()));
                k
            })
            .collect()
    };
    let (st_u, unknown) = options("nobody@portcullis.local").await;
    let (st_n, nopass) = options("nopass@portcullis.local").await;
    let (st_a, admin_o) = options(ADMIN).await;
    assert_eq!(
        (st_u, st_n, st_a),
        (StatusCode::OK, StatusCode::OK, StatusCode::OK)
    );
    assert_eq!(shape(&unknown), shape(&nopass), "{unknown} {nopass}");
    assert_eq!(shape(&unknown), shape(&admin_o), "{unknown} {admin_o}");
    let (_, again) = options("nobody@portcullis.local").await;
    assert_eq!(
        again["publicKey"]["allowCredentials"], unknown["publicKey"]["allowCredentials"],
        "the same decoys every time"
    );
    assert_ne!(
        unknown["publicKey"]["allowCredentials"], nopass["publicKey"]["allowCredentials"],
        "each name its own"
    );
    // The blocked passkey is listed; the reason comes only with a valid signature.
    assert_eq!(
        admin_o["publicKey"]["allowCredentials"][0]["id"],
        blocked.id().as_str()
    );
    let (st, v) = passkey_sign_in(
        &s,
        Some(ADMIN),
        &mut blocked,
        &Quirks {
            bad_signature: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::UNAUTHORIZED, "badSignature"),
        "no policy detail without proof: {v}"
    );
    let v_bad = (st, v);
    let (st, v) = passkey_sign_in(&s, Some(ADMIN), &mut blocked, &Quirks::default()).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::FORBIDDEN, "keyRestricted"),
        "{v}"
    );
    // A decoy id sent back, signed by a key of the attacker's own, answers exactly as the
    // real passkey with a wrong signature did; the log still names it.
    let wrong_signature = v_bad.clone();
    let mut stranger = SoftKey::new(CHROMIUM);
    let _ = stranger.register(
        &json!({"rp": {"id": "localhost"}, "challenge": "AA", "user": {"id": "AA"}}),
        &s.origin(),
        &Quirks::default(),
    );
    for name in ["nopass@portcullis.local", "nobody@portcullis.local"] {
        let (_, o) = options(name).await;
        let decoy = o["publicKey"]["allowCredentials"][0]["id"].clone();
        let mut cred = stranger.assert(&o["publicKey"], &s.origin(), &Quirks::default());
        cred["id"] = decoy.clone();
        cred["rawId"] = decoy;
        let (st, v) = post(
            &client(),
            &s,
            "/api/signin/passkey",
            &json!({"ceremonyId": o["ceremonyId"], "credential": cred}),
        )
        .await;
        assert_eq!(
            (st, v),
            wrong_signature,
            "{name}: a decoy tells itself apart"
        );
    }
    let (_, log, _) = cli(d, None, &["logs", "signins", "--json"]);
    assert!(log.contains("unknownCredential"), "the log names decoys");
    // A real id sent to a ceremony for another name, or to a usernameless one, with a
    // signature it cannot have: the same answer again — which account a ceremony was for is
    // checked only after the signature, so it cannot tell a real id from a decoy.
    let real = blocked.id();
    for name in [Some("nobody@portcullis.local"), None] {
        let (_, o) = post(
            &client(),
            &s,
            "/api/signin/passkey/options",
            &json!({ "username": name }),
        )
        .await;
        let mut cred = stranger.assert(&o["publicKey"], &s.origin(), &Quirks::default());
        cred["id"] = json!(real);
        cred["rawId"] = json!(real);
        let (st, v) = post(
            &client(),
            &s,
            "/api/signin/passkey",
            &json!({"ceremonyId": o["ceremonyId"], "credential": cred}),
        )
        .await;
        assert_eq!(
            (st, v),
            wrong_signature,
            "{name:?}: a real id tells itself apart"
        );
    }

    // TAP: one answer to three different mistakes.
    let (_, out, _) = cli(
        d,
        None,
        &["tap", "create", "--user", "nopass@portcullis.local"],
    );
    assert!(out.contains("Temporary Access Pass"));
    assert_eq!(
        cli(
            d,
            None,
            &["users", "add", "--upn", "nopassyet@portcullis.local"]
        )
        .0,
        0
    );
    let tap = |name: &'static str| {
        let s = &s;
        async move {
            let r = client()
                .post(s.url("/signin/tap"))
                .form(&[("username", name), ("code", "WRONGCODE")])
                .send()
                .await
                .unwrap();
            let st = r.status();
            let page = r.text().await.unwrap();
            let start = page.find("id=\"error\"").unwrap();
            let msg = page[start..].split('<').next().unwrap().to_string();
            (st, msg)
        }
    };
    let unknown = tap("nobody@portcullis.local").await;
    assert_eq!(unknown, tap("nopassyet@portcullis.local").await);
    assert_eq!(unknown, tap("nopass@portcullis.local").await);
    assert_eq!(unknown.0, StatusCode::UNAUTHORIZED);
    let (_, log, _) = cli(d, None, &["logs", "signins", "--json"]);
    for code in ["userNotFound", "tapNotFound", "tapInvalid"] {
        assert!(log.contains(code), "the log tells them apart: {code}");
    }
    // An unknown name locks out after as many wrong attempts as an account does.
    let mut last = StatusCode::OK;
    for _ in 0..5 {
        last = tap("ghost@portcullis.local").await.0;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    s.stop().await;
}

/// Issue 12, point 9, with R23 kept: the sign-in page goes straight to the passkey prompt only
/// in a browser where that name signed in with a passkey. Anywhere else the page for a name
/// that prefers passkeys is the page any name gets, and a made-up hint changes nothing.
#[tokio::test]
async fn the_sign_in_page_goes_passkey_first_only_where_that_name_used_a_passkey() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), None).await;
    let c = admin(&s).await;
    let mut key = SoftKey::new(CHROMIUM);
    assert_eq!(
        register(&c, &s, &mut key, &Quirks::default()).await.0,
        StatusCode::CREATED
    );
    let browser = client();
    let (_, o) = post(
        &browser,
        &s,
        "/api/signin/passkey/options",
        &json!({"username": ADMIN}),
    )
    .await;
    let cred = key.assert(&o["publicKey"], &s.origin(), &Quirks::default());
    let (st, v) = post(
        &browser,
        &s,
        "/api/signin/passkey",
        &json!({"ceremonyId": o["ceremonyId"], "credential": cred}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        browser.get(s.url("/me")).send().await.unwrap().status(),
        StatusCode::OK,
        "signed in: the hint cookie comes beside the session cookie, not instead of it"
    );
    let autostarts = |c: reqwest::Client, name: &'static str, cookie: Option<&'static str>| {
        let url = s.url(&format!("/signin?username={name}"));
        async move {
            let mut r = c.get(url);
            if let Some(cookie) = cookie {
                r = r.header("cookie", cookie);
            }
            let page = r.send().await.unwrap().text().await.unwrap();
            page.contains("data-autostart")
        }
    };
    assert!(
        autostarts(browser.clone(), ADMIN, None).await,
        "R23: straight to the passkey where it was used"
    );
    // Another user who also prefers passkeys: the admin's browser holds the admin's hint, and
    // it must not send this name straight to the passkey prompt (it would if the hint were
    // "someone here used a passkey" rather than "this name did").
    assert_eq!(
        cli(
            dir.path(),
            None,
            &["users", "add", "--upn", "bea@portcullis.local"]
        )
        .0,
        0
    );
    let (_, out, _) = cli(
        dir.path(),
        None,
        &["tap", "create", "--user", "bea@portcullis.local"],
    );
    let bea = client();
    assert_eq!(
        sign_in(&bea, &s, "bea@portcullis.local", &support::code_from(&out))
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    support::open_security_info(&bea, &s).await;
    let mut beas_key = SoftKey::new(CHROMIUM);
    assert_eq!(
        register(&bea, &s, &mut beas_key, &Quirks::default())
            .await
            .0,
        StatusCode::CREATED
    );
    let (_, o) = post(
        &bea,
        &s,
        "/api/signin/passkey/options",
        &json!({"username": "bea@portcullis.local"}),
    )
    .await;
    let cred = beas_key.assert(&o["publicKey"], &s.origin(), &Quirks::default());
    assert_eq!(
        post(
            &bea,
            &s,
            "/api/signin/passkey",
            &json!({"ceremonyId": o["ceremonyId"], "credential": cred}),
        )
        .await
        .0,
        StatusCode::OK
    );
    assert!(
        autostarts(bea.clone(), "bea@portcullis.local", None).await,
        "bea's own browser goes straight to her passkey"
    );
    assert!(
        !autostarts(browser.clone(), "bea@portcullis.local", None).await,
        "the hint is that name's only"
    );
    assert!(
        !autostarts(client(), ADMIN, None).await,
        "a stranger's browser learns nothing about the name"
    );
    assert!(
        !autostarts(
            client(),
            ADMIN,
            Some("portcullis_passkey_hint=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        )
        .await,
        "a made-up hint is no hint"
    );
    s.stop().await;
}

/// Security info acts only on the signed-in user's own passkeys: renaming, deleting, or
/// opening the delete confirmation of another user's passkey by its id is 404, and theirs
/// is unchanged.
#[tokio::test]
async fn security_info_cannot_rename_or_delete_another_users_passkey() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let (st, _, err) = cli(d, None, &["users", "add", "--upn", "bob@portcullis.local"]);
    assert_eq!(st, 0, "{err}");
    let bob = support::tap_client(d, &s, "bob@portcullis.local").await;
    let (st, body) = support::register_key(&bob, &s, &mut SoftKey::new(CHROMIUM)).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let bobs = passkeys(d, "bob@portcullis.local");
    let id = bobs[0]["id"].as_str().unwrap().to_string();
    let c = admin(&s).await;
    let base = format!("/security-info/passkeys/{id}");
    let r = c
        .post(s.url(&format!("{base}/rename")))
        .form(&[("name", "Mine now")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = c
        .post(s.url(&format!("{base}/delete")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = c
        .get(s.url(&format!("{base}/delete")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(
        !r.text().await.unwrap().contains("Delete “"),
        "no confirmation of another's passkey"
    );
    assert_eq!(
        passkeys(d, "bob@portcullis.local"),
        bobs,
        "Bob's passkey is unchanged"
    );
    s.stop().await;
}

#[path = "passkeys_http/campaign.rs"]
mod campaign;
#[path = "passkeys_http/inventory.rs"]
mod inventory;
#[path = "passkeys_http/reach.rs"]
mod reach;
