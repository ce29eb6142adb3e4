//! Passkeys end to end in real Chromium with its WebAuthn virtual authenticator.

// A test crate: a failed assumption is a failed test (the product denies these, Cargo.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use portcullis_testkit::browser::{
    click, fill_tap_sign_in, open_without_autofill, sign_out, sign_out_without_autofill, text,
    Browser,
};
use portcullis_testkit::fantoccini::{Client, Locator};
use std::path::Path;
use support::{cli, Server};

const CHROMIUM_AAGUID: &str = "01020304-0506-0708-0102-030405060708";

async fn tap_sign_in(c: &Client, s: &Server, code: &str) {
    fill_tap_sign_in(c, &s.origin(), "admin@portcullis.local", code).await;
    click(c, "signin").await;
    assert_eq!(text(c, "#signed-in").await, "Signed in as Administrator");
}

fn patch_fido2(dir: &Path, body: &str) {
    let f = dir.join("fido2.json");
    std::fs::write(&f, body).unwrap();
    let (st, _, err) = cli(
        dir,
        None,
        &["policy", "patch", "fido2", f.to_str().unwrap()],
    );
    assert_eq!(st, 0, "{err}");
}

async fn shot(c: &Client, name: &str) {
    if let Ok(dir) = std::env::var("SCREENSHOT_DIR") {
        let png = c.screenshot().await.unwrap();
        std::fs::write(Path::new(&dir).join(name), png).unwrap();
    }
}

/// Successful passkey sign-ins in the sign-in log.
fn passkey_sign_ins(dir: &Path) -> usize {
    let (st, out, err) = cli(dir, None, &["logs", "signins", "--json", "--limit", "500"]);
    assert_eq!(st, 0, "{err}");
    let log: serde_json::Value = serde_json::from_str(&out).unwrap();
    log.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["errorCode"] == 0 && e["method"] == "passkey")
        .count()
}

/// Signs out from the account page; passkey autofill on the sign-in page it lands on signs
/// straight back in (Chromium's virtual authenticator picks the suggestion by itself).
async fn sign_out_to_autofill(c: &Client, origin: &str) {
    c.goto(&format!("{origin}/me")).await.unwrap();
    let old = c.find(Locator::Id("signed-in")).await.unwrap();
    click(c, "signout").await;
    // Until this page is gone, a wait for the signed-in page would find this one.
    for _ in 0..100 {
        if old.text().await.is_err() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("signing out never left the page");
}

/// Waits (up to 10 s) until the element's text contains `needle`; returns the text.
async fn wait_text(c: &Client, css: &str, needle: &str) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            last = e.text().await.unwrap_or_default();
            if last.contains(needle) {
                return last;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{css} never contained '{needle}'; last text: '{last}'");
}

#[tokio::test]
async fn add_a_passkey_then_sign_in_usernameless_and_username_first_and_r5_block_and_unblock() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), None).await;
    let b = Browser::launch().await;
    let c = &b.client;
    let auth = b.add_virtual_authenticator().await;

    // Bootstrap TAP → Security info → add a passkey.
    tap_sign_in(c, &s, s.tap.as_deref().unwrap()).await;
    click(c, "security-info").await;
    assert!(text(c, "#no-passkeys").await.contains("no passkey"));
    assert!(
        c.find(Locator::Id("add-authenticator")).await.is_err(),
        "R6: no guided Authenticator option without the allow list"
    );
    click(c, "add-passkey").await;
    let item = text(c, "li.method").await;
    assert!(
        item.contains("Chromium virtual authenticator")
            && item.contains(CHROMIUM_AAGUID)
            && item.contains("Can be used to sign in"),
        "{item}"
    );
    assert_eq!(b.virtual_credentials(&auth).await.len(), 1);
    shot(c, "security-info.png").await;

    // Usernameless ("Sign-in options").
    sign_out_without_autofill(&b, &auth, &s.origin()).await;
    click(c, "signin-options").await;
    click(c, "passkey-usernameless").await;
    assert_eq!(text(c, "#signed-in").await, "Signed in as Administrator");
    assert!(text(c, "dl").await.contains("Passkey"));

    // Passkey autofill (conditional mediation): the sign-in page asks for it as it loads;
    // Chromium's virtual authenticator picks the suggestion at once, so signing out lands
    // straight back in, by passkey, with no click and no username typed.
    let before = passkey_sign_ins(dir.path());
    sign_out_to_autofill(c, &s.origin()).await;
    assert_eq!(text(c, "#signed-in").await, "Signed in as Administrator");
    assert!(text(c, "dl").await.contains("Passkey"));
    assert_eq!(
        passkey_sign_ins(dir.path()),
        before + 1,
        "a new passkey sign-in, by autofill"
    );

    // Username first.
    sign_out_without_autofill(&b, &auth, &s.origin()).await;
    c.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys("admin@portcullis.local")
        .await
        .unwrap();
    click(c, "passkey-signin").await;
    assert_eq!(text(c, "#signed-in").await, "Signed in as Administrator");

    // R23: after the first passkey sign-in, the username alone opens the passkey prompt.
    sign_out_without_autofill(&b, &auth, &s.origin()).await;
    c.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys("admin@portcullis.local")
        .await
        .unwrap();
    click(c, "next").await;
    assert_eq!(
        text(c, "#signed-in").await,
        "Signed in as Administrator",
        "R23: straight to the passkey"
    );
    open_without_autofill(
        &b,
        &auth,
        &format!("{}/signin?username=nobody@portcullis.local", s.origin()),
    )
    .await;
    assert!(
        c.current_url().await.unwrap().as_str().contains("/signin"),
        "no autostart for a user without a passkey preference"
    );

    // R5: the administrator blocks Chromium's AAGUID; the next sign-in is refused with the reason.
    sign_out_without_autofill(&b, &auth, &s.origin()).await;
    patch_fido2(
        dir.path(),
        &format!(
            r#"{{"keyRestrictions": {{"isEnforced": true, "enforcementType": "block", "aaGuids": ["{CHROMIUM_AAGUID}"]}}}}"#
        ),
    );
    c.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys("admin@portcullis.local")
        .await
        .unwrap();
    click(c, "passkey-signin").await;
    let err = wait_text(c, "#error", "blocked").await;
    assert!(
        err.contains(CHROMIUM_AAGUID) && err.contains("blocked"),
        "{err}"
    );
    click(c, "signin-options").await;
    click(c, "passkey-usernameless").await;
    wait_text(c, "#error", "key restrictions").await;
    shot(c, "signin-blocked.png").await;

    // Allowed again: sign-in works.
    patch_fido2(
        dir.path(),
        r#"{"keyRestrictions": {"isEnforced": false, "enforcementType": "block", "aaGuids": []}}"#,
    );
    click(c, "passkey-signin").await;
    assert_eq!(text(c, "#signed-in").await, "Signed in as Administrator");
    b.close().await;
    s.stop().await;
}

#[tokio::test]
async fn r4_r16_attestation_enforced_refuses_the_virtual_authenticator_and_hides_the_legacy_flow() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), None).await;
    let b = Browser::launch().await;
    let c = &b.client;
    b.add_virtual_authenticator().await;
    tap_sign_in(c, &s, s.tap.as_deref().unwrap()).await;
    click(c, "security-info").await;
    assert!(
        c.find(Locator::Id("add-legacy")).await.is_ok(),
        "the legacy flow is offered while attestation is not enforced"
    );

    patch_fido2(dir.path(), r#"{"isAttestationEnforced": true}"#);
    c.refresh().await.unwrap();
    c.wait()
        .for_element(Locator::Id("add-passkey"))
        .await
        .unwrap();
    assert!(
        c.find(Locator::Id("add-legacy")).await.is_err(),
        "R16: no legacy flow under enforcement"
    );
    click(c, "add-passkey").await;
    let msg = wait_text(c, "#error", "Nothing was saved").await;
    assert!(
        msg.contains("does not chain to a root your organisation trusts")
            && msg.contains("Nothing was saved"),
        "{msg}"
    );
    c.refresh().await.unwrap();
    assert!(
        text(c, "#no-passkeys").await.contains("no passkey"),
        "nothing stored"
    );
    let (_, out, _) = cli(
        dir.path(),
        None,
        &[
            "logs",
            "audit",
            "--activity",
            "User registered security info",
        ],
    );
    assert!(out.trim().is_empty(), "no registration was audited: {out}");
    b.close().await;
    s.stop().await;
}

/// Issue 12, point 10: pressing Enter in the pass field signs in with a POST. It used to
/// submit the form's first button ("Next", a GET), which put `code=<TAP>` in the URL — browser
/// history, proxy logs — and did not sign the user in.
#[tokio::test]
async fn enter_in_the_pass_field_signs_in_and_never_puts_the_pass_in_a_url() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), None).await;
    let b = Browser::launch().await;
    let c = &b.client;
    let code = s.tap.clone().unwrap();
    fill_tap_sign_in(c, &s.origin(), "admin@portcullis.local", &code).await;
    c.find(Locator::Id("code"))
        .await
        .unwrap()
        .send_keys("\u{E007}")
        .await
        .unwrap();
    assert_eq!(text(c, "#signed-in").await, "Signed in as Administrator");
    let url = c.current_url().await.unwrap();
    assert_eq!(url.path(), "/me", "{url}");
    assert!(
        !url.as_str().contains(&code) && !url.as_str().contains("code="),
        "the pass is in no URL: {url}"
    );
    // "Next" still works, carrying only the username.
    sign_out(c, &s.origin()).await;
    fill_tap_sign_in(c, &s.origin(), "admin@portcullis.local", "not-sent").await;
    click(c, "next").await;
    let mut url = c.current_url().await.unwrap();
    for _ in 0..100 {
        if url.query().is_some_and(|q| q.contains("username=")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        url = c.current_url().await.unwrap();
    }
    assert_eq!(
        (url.path(), url.query()),
        ("/signin", Some("username=admin%40portcullis.local")),
        "only the username: {url}"
    );
}

/// Issue 15, point 9: Security info to the admin center's standard. A passkey is named as it
/// is added and renamed later (a bad name refused next to its field); adding one the
/// authenticator already holds says so in a sentence, and the buttons work again after;
/// times are in the viewer's time zone; Delete names its passkey, asks first, says the
/// device keeps it, and says so again once done; the site has an icon.
#[tokio::test]
async fn security_info_names_renames_explains_and_deletes_with_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), None).await;
    let b = Browser::launch().await;
    let c = &b.client;
    let _auth = b.add_virtual_authenticator().await;
    tap_sign_in(c, &s, s.tap.as_deref().unwrap()).await;
    click(c, "security-info").await;
    c.wait()
        .for_element(Locator::Id("passkey-name"))
        .await
        .unwrap();
    c.find(Locator::Id("passkey-name"))
        .await
        .unwrap()
        .send_keys("Work laptop")
        .await
        .unwrap();
    click(c, "add-passkey").await;
    let item = wait_text(c, "li.method", "Work laptop").await;
    assert!(item.contains("Can be used to sign in"), "{item}");

    // The same authenticator again: the browser's InvalidStateError, in words.
    click(c, "add-passkey").await;
    let err = wait_text(c, "#error", "already holds a passkey").await;
    assert!(err.contains("Use that passkey"), "{err}");
    let enabled = c
        .find(Locator::Id("add-passkey"))
        .await
        .unwrap()
        .is_enabled()
        .await
        .unwrap();
    assert!(enabled, "the buttons work again after the prompt");

    // While the browser's prompt is open (held open here: the page's call never returns),
    // the page says it is waiting and nothing else can be started.
    c.execute(
        "navigator.credentials.create = () => new Promise(() => {}); return true",
        vec![],
    )
    .await
    .unwrap();
    click(c, "add-passkey").await;
    let waiting = wait_text(c, "#status", "Waiting for your passkey").await;
    assert!(
        waiting.contains("follow your browser's prompt"),
        "{waiting}"
    );
    let busy = c
        .execute(
            "return [document.body.getAttribute('aria-busy'), [...document.querySelectorAll('button, input, select, textarea')].every(b => b.disabled)]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        busy,
        serde_json::json!(["true", true]),
        "every button and field"
    );
    // A link (Delete) does nothing meanwhile.
    let before = c.current_url().await.unwrap();
    c.find(Locator::Css("a.delete-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        c.current_url().await.unwrap(),
        before,
        "no navigation while busy"
    );
    c.refresh().await.unwrap();
    c.wait()
        .for_element(Locator::Id("add-passkey"))
        .await
        .unwrap();

    // Times in the viewer's time zone, the UTC time kept in the title.
    let local = c
        .execute(
            "const t = document.querySelector('li.method time'); return [t.textContent, new Date(t.dateTime).toLocaleString(), t.title]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(local[0], local[1], "{local}");
    assert!(local[2].as_str().unwrap().ends_with("(UTC)"), "{local}");

    // Rename: a blank name is refused next to the field; a good one is saved.
    let id = c
        .find(Locator::Css("li.method"))
        .await
        .unwrap()
        .attr("data-passkey")
        .await
        .unwrap()
        .unwrap();
    let field = c.find(Locator::Id(&format!("rename-{id}"))).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(" ").await.unwrap();
    c.find(Locator::Css("form.rename button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let refused = text(c, &format!("#rename-{id}-error")).await;
    assert!(refused.contains("cannot be used"), "{refused}");
    let field = c.find(Locator::Id(&format!("rename-{id}"))).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys("Laptop").await.unwrap();
    c.find(Locator::Css("form.rename button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(text(c, "#notice").await, "Passkey renamed.");
    assert_eq!(text(c, "li.method .passkey-name").await, "Laptop");

    // Delete names the passkey, asks, and says the device keeps it.
    let link = text(c, &format!("#delete-{id}")).await;
    assert_eq!(link, "Delete Laptop");
    click(c, &format!("delete-{id}")).await;
    let note = text(c, "#device-note").await;
    assert!(
        note.contains("does not remove it from your device"),
        "{note}"
    );
    click(c, "cancel").await;
    assert!(
        text(c, "li.method").await.contains("Laptop"),
        "Cancel keeps it"
    );
    click(c, &format!("delete-{id}")).await;
    click(c, "confirm-delete").await;
    let done = text(c, "#notice").await;
    assert!(done.contains("remove it there too"), "{done}");
    assert!(text(c, "#no-passkeys").await.contains("no passkey"));

    // The icon.
    let icon = reqwest::get(s.url("/favicon.ico")).await.unwrap();
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    assert!(icon.text().await.unwrap().starts_with("<svg"));
    let link = c
        .find(Locator::Css("link[rel=icon]"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap();
    assert_eq!(link.as_deref(), Some("/static/favicon.svg"));
    b.close().await;
    s.stop().await;
}

/// R27: after a sign-in with a passkey the administrator deleted, the page tells the
/// browser's credential manager (`signalUnknownCredential`), so Chromium's authenticator no
/// longer holds it; where a browser lacks the Signal API the refusal still reads as before.
/// After a successful sign-in, and on Security info, the accepted passkeys are signalled and
/// the one kept stays.
#[tokio::test]
async fn r27_a_passkey_the_administrator_deleted_is_dropped_from_the_authenticator() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), None).await;
    let b = Browser::launch().await;
    let c = &b.client;
    let auth = b.add_virtual_authenticator().await;
    tap_sign_in(c, &s, s.tap.as_deref().unwrap()).await;
    click(c, "security-info").await;
    click(c, "add-passkey").await;
    wait_text(c, "li.method", "Can be used to sign in").await;
    // Security info signalled the accepted passkeys: the one just added stays.
    assert_eq!(b.virtual_credentials(&auth).await.len(), 1);
    // A successful sign-in signals them too, and it stays.
    sign_out_to_autofill(c, &s.origin()).await;
    assert_eq!(text(c, "#signed-in").await, "Signed in as Administrator");
    assert_eq!(b.virtual_credentials(&auth).await.len(), 1);

    let id = {
        let (st, out, err) = cli(
            dir.path(),
            None,
            &[
                "passkeys",
                "list",
                "--user",
                "admin@portcullis.local",
                "--json",
            ],
        );
        assert_eq!(st, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v[0]["id"].as_str().unwrap().to_string()
    };
    let (st, _, err) = cli(
        dir.path(),
        None,
        &[
            "passkeys",
            "delete",
            "--user",
            "admin@portcullis.local",
            "--id",
            &id,
        ],
    );
    assert_eq!(st, 0, "{err}");
    // Deleting it ended the session it opened. On the sign-in page autofill still offers the
    // deleted passkey, and the authenticator picks it: the server refuses it, saying why, and
    // the page signals it unknown.
    c.goto(&format!("{}/me", s.origin())).await.unwrap();
    assert_eq!(
        c.current_url().await.unwrap().path(),
        "/signin",
        "deleting the passkey ended the session it opened"
    );
    wait_text(c, "#error", "removed by your administrator").await;
    // The Chromium the suite runs has the Signal API; a browser without it would leave the
    // page as it is, which this test does not pretend to show.
    let supported = c
        .execute(
            "return typeof PublicKeyCredential.signalUnknownCredential === 'function'",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        supported,
        serde_json::json!(true),
        "this Chromium has the Signal API"
    );
    {
        let mut left = usize::MAX;
        for _ in 0..50 {
            left = b.virtual_credentials(&auth).await.len();
            if left == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(
            left, 0,
            "the signal removed the deleted passkey from the authenticator"
        );
    }
    b.close().await;
    s.stop().await;
}
