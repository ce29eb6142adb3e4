//! R24: cross-device sign-in and registration are the client platform's; the server records
//! what the client reports — `authenticatorAttachment` and the transports — on the passkey and
//! on each sign-in, and shows it. A client's words are unsigned: they are kept only as the
//! names WebAuthn defines, and decide nothing.

use super::*;

/// Registers `key` with its response's unsigned hints replaced by `attachment` and
/// `transports`; the status and answer.
async fn register_reporting(
    c: &reqwest::Client,
    s: &Server,
    key: &mut SoftKey,
    attachment: Value,
    transports: Value,
) -> (StatusCode, Value) {
    support::open_security_info(c, s).await;
    let (st, o) = post(c, s, "/api/passkeys/registration/options", &json!({})).await;
    assert_eq!(st, StatusCode::OK, "{o}");
    let mut cred = key.register(&o["publicKey"], &s.origin(), &Quirks::default());
    cred["authenticatorAttachment"] = attachment;
    match transports {
        Value::Null => {
            cred["response"]
                .as_object_mut()
                .unwrap()
                .remove("transports");
        }
        t => cred["response"]["transports"] = t,
    }
    post(
        c,
        s,
        "/api/passkeys/registration",
        &json!({"ceremonyId": o["ceremonyId"], "credential": cred}),
    )
    .await
}

/// Signs in with `key`, the response saying `attachment`; the status.
async fn sign_in_reporting(s: &Server, key: &mut SoftKey, attachment: &str) -> StatusCode {
    let c = client();
    let (st, o) = post(
        &c,
        s,
        "/api/signin/passkey/options",
        &json!({"username": ADMIN}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{o}");
    let mut cred = key.assert(&o["publicKey"], &s.origin(), &Quirks::default());
    cred["authenticatorAttachment"] = json!(attachment);
    post(
        &c,
        s,
        "/api/signin/passkey",
        &json!({"ceremonyId": o["ceremonyId"], "credential": cred}),
    )
    .await
    .0
}

/// The newest successful passkey sign-in in the log.
fn last_passkey_sign_in(d: &Path) -> Value {
    let log: Vec<Value> =
        serde_json::from_str(&ok(d, &["logs", "signins", "--json", "--limit", "50"])).unwrap();
    log.into_iter()
        .find(|e| e["method"] == "passkey" && e["errorCode"] == 0)
        .unwrap_or_else(|| panic!("no passkey sign-in logged"))
}

fn inventory_row(d: &Path, id: &str) -> Value {
    jsonl(&ok(d, &["inventory", "passkeys"]))
        .into_iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in the inventory"))
}

#[tokio::test]
async fn r24_the_reported_attachment_and_transports_are_kept_on_the_passkey_and_each_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let c = admin(&s).await;

    // A phone across devices: cross-platform, reachable by hybrid. Names WebAuthn does not
    // define and overlong strings are not kept.
    let mut phone = SoftKey::new(CHROMIUM);
    let (st, v) = register_reporting(
        &c,
        &s,
        &mut phone,
        json!("cross-platform"),
        json!([
            "hybrid",
            "internal",
            "x".repeat(5000),
            "cable",
            "smart-card",
            "HYBRID"
        ]),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let id = v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string();
    let row = inventory_row(d, &id);
    assert_eq!(
        (&row["reach"], &row["transports"]),
        (
            &json!("hybrid"),
            &json!(["internal", "hybrid", "smart-card"])
        ),
        "{row}"
    );
    let page = get_following(&c, &s, "/security-info")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"data-reach="hybrid""#)
            && page.contains("Across devices (hybrid: QR code and Bluetooth)"),
        "Security info shows how the passkey was added"
    );

    // Signed in from the phone across devices, then as a platform authenticator: each
    // sign-in's record carries its own attachment beside the passkey's transports.
    assert_eq!(
        sign_in_reporting(&s, &mut phone, "cross-platform").await,
        StatusCode::OK
    );
    let e = last_passkey_sign_in(d);
    assert_eq!(
        e["passkeyClient"],
        json!({"attachment": "cross-platform", "transports": ["internal", "hybrid", "smart-card"], "reach": "hybrid"}),
        "{e}"
    );
    assert_eq!(
        sign_in_reporting(&s, &mut phone, "platform").await,
        StatusCode::OK
    );
    assert_eq!(
        last_passkey_sign_in(d)["passkeyClient"]["reach"],
        "thisDevice"
    );
    // An attachment WebAuthn does not define is no report, and refuses nothing.
    assert_eq!(
        sign_in_reporting(&s, &mut phone, "PLATFORM").await,
        StatusCode::OK
    );
    let e = last_passkey_sign_in(d);
    assert_eq!(
        (
            &e["passkeyClient"]["attachment"],
            &e["passkeyClient"]["reach"]
        ),
        (&Value::Null, &json!("unreported")),
        "{e}"
    );

    // A security key over USB; and a client that says nothing is recorded as saying nothing.
    let mut key = SoftKey::new(OTHER);
    let (st, v) =
        register_reporting(&c, &s, &mut key, json!("cross-platform"), json!(["usb"])).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(
        inventory_row(d, v["id"].as_str().unwrap())["reach"],
        "securityKey"
    );
    let mut quiet = SoftKey::new(OTHER);
    let (st, v) = register_reporting(&c, &s, &mut quiet, Value::Null, Value::Null).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let row = inventory_row(d, v["id"].as_str().unwrap());
    assert_eq!(
        (&row["reach"], &row["transports"]),
        (&json!("unreported"), &json!([])),
        "{row}"
    );

    // Hints not in WebAuthn's shape (an attachment that is no string, transports that are no
    // list of strings) make a malformed response, refused before anything is stored.
    let before = jsonl(&ok(d, &["inventory", "passkeys"])).len();
    for (attachment, transports) in [
        (json!(["platform"]), json!([])),
        (json!("platform"), json!("usb")),
        (json!("platform"), json!(["usb", 7])),
        (json!("platform"), json!([null])),
    ] {
        let mut odd = SoftKey::new(OTHER);
        let (st, v) = register_reporting(&c, &s, &mut odd, attachment, transports).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::BAD_REQUEST, "malformedResponse"),
            "{v}"
        );
    }
    assert_eq!(jsonl(&ok(d, &["inventory", "passkeys"])).len(), before);

    // The administrator reads it in the admin center, and Graph's sign-in log says it.
    let me: Value = serde_json::from_str(&ok(d, &["users", "show", ADMIN, "--json"])).unwrap();
    let user = get_following(
        &c,
        &s,
        &format!("/admin/users/{}", me["user"]["id"].as_str().unwrap()),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        user.contains("Added via") && user.contains(r#"data-reach="securityKey""#),
        "the admin center's user page shows how each passkey was added"
    );
    let token = support::token(d, None, &s.origin(), ADMIN, &["AuditLog.Read.All"]);
    let signins: Value = client()
        .get(s.url("/v1.0/auditLogs/signIns?$top=5"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        signins["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(
                |e| e["authenticationDetails"][0]["authenticationMethodDetail"]
                    .as_str()
                    .is_some_and(|d| d.contains("Across devices (hybrid"))
            ),
        "{signins}"
    );
    s.stop().await;
}
