//! Issue 17 from the phone's side, through `portcullis authenticator` and over HTTP: the app
//! signs in to the Authenticator application (Conditional Access applies), adds a passkey
//! same-device and turns on what the policy allows (R15); old systems and a disabled passkey
//! provider are refused by name (R19); a passkey works only from its Android profile (R20);
//! deleting it in the app removes it from the account, an administrator's delete leaves it
//! on the phone and its next use is refused with why (R25).

use super::*;
use p256::pkcs8::{EncodePrivateKey, LineEnding};

/// The app's attestation key and chain as the operator hands them to the app (PEM).
fn attestation_pem(d: &Path, aaguid: &str) -> String {
    use base64::Engine;
    let leaf = APP_CA.issue(aaguid);
    let key = leaf.key.to_pkcs8_pem(LineEnding::LF).unwrap();
    let cert = base64::engine::general_purpose::STANDARD.encode(&leaf.der);
    let f = d.join(format!("app-attestation-{aaguid}.pem"));
    std::fs::write(
        &f,
        format!(
            "{}-----BEGIN CERTIFICATE-----\n{cert}\n-----END CERTIFICATE-----\n",
            key.as_str()
        ),
    )
    .unwrap();
    f.to_str().unwrap().to_string()
}

/// Runs the app; (exit status, JSON or stdout as a string, stderr).
fn app(phone: &Path, args: &[&str]) -> (i32, Value, String) {
    let (st, out, err) = support::authenticator(phone, args);
    let v = serde_json::from_str(&out).unwrap_or(Value::String(out));
    (st, v, err)
}

/// `portcullis authenticator [--json] add-passkey --server … --upn … --tap …`: the app signs
/// in to `origin` as `upn` with a pass and adds a passkey.
fn add_with_tap(
    phone: &Path,
    json: bool,
    origin: &str,
    upn: &str,
    code: &str,
) -> (i32, Value, String) {
    let mut args = vec![
        "add-passkey",
        "--server",
        origin,
        "--upn",
        upn,
        "--tap",
        code,
    ];
    if json {
        args.insert(0, "--json");
    }
    app(phone, &args)
}

fn tap(d: &Path, upn: &str) -> String {
    code_from(&ok(d, &["tap", "create", "--user", upn]))
}

fn passkeys(d: &Path, upn: &str) -> Vec<Value> {
    serde_json::from_str(&ok(d, &["passkeys", "list", "--user", upn, "--json"])).unwrap()
}

fn init_phone(d: &Path, phone: &Path, platform: &str, os: &str, profile: &str) {
    let aaguid = if platform == "ios" {
        AUTHN_IOS
    } else {
        AUTHN_ANDROID
    };
    let mut args = vec![
        "init",
        "--force",
        "--platform",
        platform,
        "--os-version",
        os,
        "--name",
        "Pixel 8",
    ];
    let pem = attestation_pem(d, aaguid);
    args.extend_from_slice(&["--app-attestation", &pem]);
    if platform == "android" {
        args.extend_from_slice(&["--profile", profile]);
    }
    let (st, _, err) = app(phone, &args);
    assert_eq!(st, 0, "{err}");
}

#[tokio::test]
async fn r15_same_device_registration_turns_on_what_the_policy_allows_and_names_what_it_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    let origin = s.origin();
    support::enable_push(d, None);
    let phone = d.join("phone.json");
    init_phone(d, &phone, "android", "14", "work");

    // Push on, codes off: the passkey and push are added, codes are named as not.
    let upn = "carol@portcullis.local";
    ok(d, &["users", "add", "--upn", upn]);
    let (st, v, err) = add_with_tap(&phone, true, &origin, upn, &tap(d, upn));
    assert_eq!(st, 0, "{err}");
    assert_eq!(
        v["added"],
        json!(["fido2", "microsoftAuthenticator"]),
        "{v}"
    );
    assert_eq!(v["notAdded"][0]["method"], "softwareOath", "{v}");
    assert!(
        v["notAdded"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("turned off"),
        "{v}"
    );
    // R20, R4: the passkey records its phone and profile; the app's attestation made its
    // AAGUID count.
    let list = passkeys(d, upn);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["aaGuid"], AUTHN_ANDROID);
    assert_eq!(list[0]["device"], "Pixel 8");
    assert_eq!(list[0]["deviceProfile"], "work", "{:?}", list[0]);
    assert_eq!(list[0]["aaGuidAttested"], true, "{:?}", list[0]);
    // Push works from the account the registration added.
    let (_, shown, _) = app(&phone, &["--json", "show"]);
    assert_eq!(shown["accounts"][0]["userPrincipalName"], upn, "{shown}");

    // Codes on as well: a second user gets all three, and the app shows codes that the
    // server takes.
    support::enable_oath(d, None);
    let dave = "dave@portcullis.local";
    ok(d, &["users", "add", "--upn", dave]);
    let (st, v, err) = add_with_tap(&phone, true, &origin, dave, &tap(d, dave));
    assert_eq!(st, 0, "{err}");
    assert_eq!(
        v["added"],
        json!(["fido2", "microsoftAuthenticator", "softwareOath"]),
        "{v}"
    );
    assert_eq!(v["notAdded"], json!([]), "{v}");
    let (_, codes, _) = app(&phone, &["--json", "codes"]);
    assert_eq!(codes["value"][0]["account"], dave, "{codes}");
    let token = support::token(
        d,
        None,
        &origin,
        "admin@portcullis.local",
        &["UserAuthenticationMethod.Read.All"],
    );
    let methods: Value = client()
        .get(s.url(&format!("/v1.0/users/{dave}/authentication/methods")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut kinds: Vec<_> = methods["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["@odata.type"].as_str().unwrap().to_string())
        // The pass that signed the app in is listed too.
        .filter(|k| k != "#microsoft.graph.temporaryAccessPassAuthenticationMethod")
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "#microsoft.graph.fido2AuthenticationMethod",
            "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
            "#microsoft.graph.softwareOathAuthenticationMethod",
        ],
        "{methods}"
    );

    // R6, R16: with key restrictions allowing the Authenticator, Security info's guided
    // option leads to the app: a link naming the server and the account, which it follows.
    let f = d.join("fido2.json");
    std::fs::write(
        &f,
        json!({"keyRestrictions": {"isEnforced": true, "enforcementType": "allow", "aaGuids": [AUTHN_ANDROID, AUTHN_IOS]}}).to_string(),
    )
    .unwrap();
    ok(d, &["policy", "patch", "Fido2", f.to_str().unwrap()]);
    let emma = "emma@portcullis.local";
    ok(d, &["users", "add", "--upn", emma]);
    let c = support::tap_client(d, &s, emma).await;
    let page = c
        .get(s.url("/security-info"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = page
        .find(r#"id="same-device-link" href=""#)
        .unwrap_or_else(|| panic!("no same-device link: {page}"))
        + r#"id="same-device-link" href=""#.len();
    let link = page[at..at + page[at..].find('"').unwrap()].replace("&amp;", "&");
    assert!(page.contains(r#"id="same-device-qr""#));
    let (st, v, err) = app(
        &phone,
        &[
            "--json",
            "add-passkey",
            "--link",
            &link,
            "--tap",
            &tap(d, emma),
        ],
    );
    assert_eq!(st, 0, "{err}");
    assert_eq!(v["userPrincipalName"], emma, "{v}");
    assert_eq!(passkeys(d, emma).len(), 1);
    s.stop().await;
}

#[tokio::test]
async fn r19_old_systems_and_a_disabled_passkey_provider_are_refused_by_name_before_anything_is_made(
) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    let origin = s.origin();
    let upn = "erin@portcullis.local";
    ok(d, &["users", "add", "--upn", upn]);
    let code = tap(d, upn);
    let phone = d.join("phone.json");
    for (platform, os, named) in [
        ("android", "13", "Android 14 or later"),
        ("ios", "16", "iOS 17 or later"),
    ] {
        init_phone(d, &phone, platform, os, "personal");
        let (st, _, err) = add_with_tap(&phone, false, &origin, upn, &code);
        assert_ne!(st, 0);
        assert!(err.contains(named), "{err}");
    }
    init_phone(d, &phone, "android", "14", "personal");
    let (st, _, _) = app(&phone, &["settings", "--passkey-provider", "false"]);
    assert_eq!(st, 0);
    let (st, _, err) = add_with_tap(&phone, false, &origin, upn, &code);
    assert_ne!(st, 0);
    assert!(err.contains("passkey provider"), "{err}");
    assert!(passkeys(d, upn).is_empty(), "nothing was made");
    assert_eq!(
        app(&phone, &["--json", "show"]).1["passkeys"],
        json!([]),
        "nor kept on the phone"
    );
    // Turned on: the same TAP, untouched by the refusals, adds it.
    app(&phone, &["settings", "--passkey-provider", "true"]);
    let (st, _, err) = add_with_tap(&phone, false, &origin, upn, &code);
    assert_eq!(st, 0, "{err}");
    assert_eq!(passkeys(d, upn).len(), 1);

    // The server refuses by name as well: an app that does not check is refused there.
    let c = support::tap_client(d, &s, upn).await;
    let token = authenticator_token(&c, &s).await;
    let options = |phone: Value| {
        let (c, url, token) = (
            client(),
            s.url("/api/authenticator/passkeys/options"),
            token.clone(),
        );
        async move {
            let r = c
                .post(url)
                .bearer_auth(token)
                .json(&json!({"phone": phone}))
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let phone_of = |os: &str, provider: bool| json!({"platform": "android", "osVersion": os, "passkeyProvider": provider, "name": "Old phone"});
    let (st, v) = options(phone_of("13", true)).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["error"]["code"], "osVersionTooOld");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Android 14"));
    let (st, v) = options(phone_of("15", false)).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["error"]["code"], "passkeyProviderDisabled");
    // A phone that passes for the options and not at the finish stores nothing.
    let (st, o) = options(phone_of("15", true)).await;
    assert_eq!(st, StatusCode::OK, "{o}");
    let mut key = SoftKey::new(AUTHN_ANDROID);
    let q = Quirks {
        attestation: Some(APP_CA.issue(AUTHN_ANDROID)),
        ..Default::default()
    };
    let cred = key.register(&o["publicKey"], &s.origin(), &q);
    let device_key = {
        use p256::pkcs8::EncodePublicKey;
        let k = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            k.verifying_key().to_public_key_der().unwrap().as_bytes(),
        )
    };
    let finish = |phone: Value, device_key: &str| {
        let body = json!({"ceremonyId": o["ceremonyId"], "credential": cred, "phone": phone, "deviceKey": device_key});
        let (c, url, token) = (
            client(),
            s.url("/api/authenticator/passkeys"),
            token.clone(),
        );
        async move {
            let r = c
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let (st, v) = finish(phone_of("13", true), &device_key).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    // A key that is not a P-256 key is bad input, refused before the ceremony is spent.
    let (st, v) = finish(phone_of("15", true), "bm90LWEta2V5").await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(passkeys(d, upn).len(), 1, "nothing was stored");
    let (st, v) = finish(phone_of("15", true), &device_key).await;
    assert_eq!(st, StatusCode::CREATED, "the ceremony was still good: {v}");
    assert_eq!(passkeys(d, upn).len(), 2);
    s.stop().await;
}

/// Redeems the authorization code in `location` (a redirect to `redirect_uri`) for `client_id`
/// with RFC 7636's example verifier (its challenge is CHALLENGE); the access token.
async fn redeem(s: &Server, location: &str, redirect_uri: &str, client_id: &str) -> String {
    let code = url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let t: Value = client()
        .post(s.url("/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri),
            ("client_id", client_id),
            (
                "code_verifier",
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            ),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    t["access_token"].as_str().unwrap().to_string()
}

/// An access token of the Authenticator application for the signed-in client `c`.
async fn authenticator_token(c: &reqwest::Client, s: &Server) -> String {
    let (st, loc, page) =
        authorize_from(c, s, AUTHENTICATOR_APP, AUTHENTICATOR_CB, ANDROID_UA).await;
    assert_eq!(st, StatusCode::SEE_OTHER, "{page}");
    redeem(s, &loc, AUTHENTICATOR_CB, AUTHENTICATOR_APP).await
}

#[tokio::test]
async fn the_app_api_takes_only_the_authenticators_own_live_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    let upn = "finn@portcullis.local";
    ok(d, &["users", "add", "--upn", upn]);
    let phone =
        json!({"platform": "android", "osVersion": "14", "passkeyProvider": true, "name": "P"});
    let options = |token: Option<String>| {
        let (url, phone) = (s.url("/api/authenticator/passkeys/options"), phone.clone());
        async move {
            let mut r = client().post(url).json(&json!({"phone": phone}));
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            let r = r.send().await.unwrap();
            (r.status(), r.headers().get("www-authenticate").is_some())
        }
    };
    assert_eq!(options(None).await, (StatusCode::UNAUTHORIZED, true));
    assert_eq!(
        options(Some("not.a.jwt".into())).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Another application's token (here a confidential web app's) is not the app's.
    let cb = "http://127.0.0.1:8765/cb";
    let other = last_word(&ok(
        d,
        &[
            "apps",
            "add",
            "--name",
            "Web",
            "--public",
            "--redirect-uri",
            cb,
        ],
    ));
    let c = support::tap_client(d, &s, upn).await;
    let (st, loc, _) = authorize(&c, &s, &other, cb).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let web = redeem(&s, &loc, cb, &other).await;
    assert_eq!(options(Some(web)).await.0, StatusCode::UNAUTHORIZED);
    // The app's own token works — until its sign-in ends.
    let token = authenticator_token(&c, &s).await;
    assert_eq!(options(Some(token.clone())).await.0, StatusCode::OK);
    c.post(s.url("/signout")).send().await.unwrap();
    assert_eq!(options(Some(token)).await.0, StatusCode::UNAUTHORIZED);
    s.stop().await;
}

#[tokio::test]
async fn r20_r25_a_passkey_works_only_from_its_profile_and_deleting_it_in_the_app_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    let origin = s.origin();
    let upn = "gail@portcullis.local";
    ok(d, &["users", "add", "--upn", upn]);
    let phone = d.join("phone.json");
    init_phone(d, &phone, "android", "15", "work");
    let add = |code: String| add_with_tap(&phone, false, &origin, upn, &code);
    let (st, _, err) = add(tap(d, upn));
    assert_eq!(st, 0, "{err}");
    assert_eq!(app(&phone, &["sign-in"]).0, 0, "from the work profile");

    // R20: from the personal profile the work passkey is not there, and the app says why.
    app(&phone, &["settings", "--profile", "personal"]);
    let (st, _, err) = app(&phone, &["sign-in"]);
    assert_ne!(st, 0);
    assert!(
        err.contains("work profile") && err.contains("personal profile"),
        "{err}"
    );
    // A second passkey, made in the personal profile, works there.
    let (st, _, err) = add(tap(d, upn));
    assert_eq!(st, 0, "{err}");
    assert_eq!(app(&phone, &["sign-in"]).0, 0, "from the personal profile");
    let list = passkeys(d, upn);
    let mut profiles: Vec<_> = list
        .iter()
        .map(|p| p["deviceProfile"].as_str().unwrap().to_string())
        .collect();
    profiles.sort();
    assert_eq!(profiles, ["personal", "work"]);

    // R25: deleted in the app, it leaves the account; the work one stays.
    let (st, v, err) = app(&phone, &["--json", "delete-passkey"]);
    assert_eq!(st, 0, "{err}");
    assert_eq!(v["removedFromServer"], true, "{v}");
    let list = passkeys(d, upn);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["deviceProfile"], "work");
    assert_ne!(app(&phone, &["sign-in"]).0, 0, "gone from the phone too");

    // R25: an administrator's delete leaves it on the phone; its next use is refused with
    // the documents' explanation, and deleting it in the app then clears the phone.
    ok(
        d,
        &[
            "passkeys",
            "delete",
            "--user",
            upn,
            "--id",
            list[0]["id"].as_str().unwrap(),
        ],
    );
    app(&phone, &["settings", "--profile", "work"]);
    let (st, _, err) = app(&phone, &["sign-in"]);
    assert_ne!(st, 0);
    assert!(
        err.contains("removed by your administrator") && err.contains("Remove it from your device"),
        "{err}"
    );
    let (st, v, err) = app(&phone, &["--json", "delete-passkey"]);
    assert_eq!(st, 0, "{err}");
    assert_eq!(v["removedFromServer"], false, "{v}");
    assert_eq!(app(&phone, &["--json", "show"]).1["passkeys"], json!([]));
    s.stop().await;
}

/// Source 001's loop, from the phone: a user moving from a password and codes to a passkey
/// in the Authenticator, with "passkey in Authenticator" required on all resources, cannot
/// sign in to the Authenticator to make one. The app shows the page's policy, reason, loop
/// note and remedy; the documents' split desktop/mobile policies then let a TAP through on
/// the phone.
#[tokio::test]
async fn r44_the_strength_loop_from_the_app_and_its_split_policy_fix() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    let origin = s.origin();
    support::enable_oath(d, None);
    let upn = "hank@portcullis.local";
    ok(d, &["users", "add", "--upn", upn]);
    let pw = "violet-canoe-hums-at-dusk";
    let (st, _, err) =
        support::cli_input(d, None, &["users", "set-password", upn], &format!("{pw}\n"));
    assert_eq!(st, 0, "{err}");
    let c = support::password_client(&s, upn, pw, None).await;
    let totp = support::enrol_oath(&c, &s).await;
    let in_authn = in_authenticator(d);
    let everything = last_word(&ok(
        d,
        &[
            "ca",
            "save",
            &policy_file(
                d,
                "everything",
                json!({
                    "displayName": "Passkey in Authenticator for everything", "state": "enabled",
                    "conditions": {"users": {"includeUsers": ["All"], "excludeRoles": ["62e90394-69f5-4237-9190-012177145e10"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
                    "grantControls": {"operator": "OR", "authenticationStrength": {"id": in_authn}}
                }),
            ),
        ],
    ));
    let phone = d.join("phone.json");
    init_phone(d, &phone, "android", "14", "personal");
    let (st, out, err) = support::authenticator_input(
        &phone,
        &[
            "add-passkey",
            "--server",
            &origin,
            "--upn",
            upn,
            "--password-stdin",
            "--code",
            &support::code_in(&totp, 1),
        ],
        &format!("{pw}\n"),
    );
    assert_ne!(st, 0, "{out}");
    assert!(
        err.contains("Passkey in Authenticator for everything")
            && err.contains("This is a loop")
            && err.contains("Temporary Access Pass"),
        "{err}"
    );
    let log = signins(d);
    assert_eq!(log[0]["appId"], AUTHENTICATOR_APP, "{}", log[0]);
    assert_eq!(log[0]["failureCode"], "conditionalAccessLoop", "{}", log[0]);
    assert!(passkeys(d, upn).is_empty());

    // The fix of source 001: desktops keep the passkey requirement, phones take a TAP.
    ok(d, &["ca", "delete", &everything]);
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
    for (name, platforms, strength) in [
        (
            "Desktop: passkey in Authenticator",
            json!({"includePlatforms": ["all"], "excludePlatforms": ["android", "iOS"]}),
            &in_authn,
        ),
        (
            "Mobile: TAP or passkey in Authenticator",
            json!({"includePlatforms": ["android", "iOS"]}),
            &bootstrap,
        ),
    ] {
        ok(
            d,
            &[
                "ca",
                "save",
                &policy_file(
                    d,
                    name,
                    json!({
                        "displayName": name, "state": "enabled",
                        "conditions": {"users": {"includeUsers": ["All"], "excludeRoles": ["62e90394-69f5-4237-9190-012177145e10"]}, "applications": {"includeApplications": ["All"]}, "platforms": platforms, "clientAppTypes": ["all"]},
                        "grantControls": {"operator": "OR", "authenticationStrength": {"id": strength}}
                    }),
                ),
            ],
        );
    }
    let (st, v, err) = add_with_tap(&phone, true, &origin, upn, &tap(d, upn));
    assert_eq!(st, 0, "{err}");
    assert_eq!(v["added"][0], "fido2", "{v}");
    // And the passkey made on the phone is what the desktop asks for.
    assert_eq!(app(&phone, &["sign-in"]).0, 0);
    s.stop().await;
}

/// R42 from the phone: "approved client app" on all resources blocks the Authenticator (it is
/// not one); the documents' fix — a compliant device as the alternative — lets the enrolled,
/// compliant phone through once it proves its device key.
#[tokio::test]
async fn r42_the_approved_app_block_from_the_app_and_the_compliant_device_fix() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    let origin = s.origin();
    let upn = "ines@portcullis.local";
    ok(d, &["users", "add", "--upn", upn]);
    let policy = |controls: Value| {
        ok(
            d,
            &[
                "ca",
                "save",
                &policy_file(
                    d,
                    "approved",
                    json!({
                        "displayName": "Phones: approved apps", "state": "enabled",
                        "conditions": {"users": {"includeUsers": ["All"], "excludeRoles": ["62e90394-69f5-4237-9190-012177145e10"]}, "applications": {"includeApplications": ["All"]}, "platforms": {"includePlatforms": ["android", "iOS"]}, "clientAppTypes": ["all"]},
                        "grantControls": {"operator": "OR", "builtInControls": controls}
                    }),
                ),
            ],
        )
    };
    let first = last_word(&policy(json!(["approvedApplication"])));
    let phone = d.join("phone.json");
    init_phone(d, &phone, "android", "14", "personal");
    let add = |code: String| add_with_tap(&phone, false, &origin, upn, &code);
    let (st, _, err) = add(tap(d, upn));
    assert_ne!(st, 0);
    assert!(
        err.contains("Phones: approved apps") && err.contains("approved client app"),
        "{err}"
    );
    assert!(passkeys(d, upn).is_empty());

    // The fix: a compliant device as the alternative. The MDM enrols the phone's key and
    // marks it compliant; the app proves the key when it signs in.
    ok(d, &["ca", "delete", &first]);
    policy(json!(["approvedApplication", "compliantDevice"]));
    let (st, pem, err) = app(&phone, &["device-key"]);
    assert_eq!(st, 0, "{err}");
    let pem_file = d.join("phone-key.pem");
    std::fs::write(&pem_file, pem.as_str().unwrap()).unwrap();
    let device = last_word(&ok(
        d,
        &[
            "devices",
            "add",
            "--user",
            upn,
            "--name",
            "Ines's Pixel",
            "--platform",
            "android",
            "--public-key",
            pem_file.to_str().unwrap(),
        ],
    ));
    ok(d, &["devices", "compliant", &device]);
    // Not yet told its device id, the app proves nothing: still refused.
    let (st, _, _) = add(tap(d, upn));
    assert_ne!(st, 0);
    let (st, _, err) = app(&phone, &["settings", "--enrolled-device", &device]);
    assert_eq!(st, 0, "{err}");
    let (st, _, err) = add(tap(d, upn));
    assert_eq!(st, 0, "{err}");
    assert_eq!(passkeys(d, upn).len(), 1);
    s.stop().await;
}
