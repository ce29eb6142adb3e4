//! R24 in real Chromium: cross-device (hybrid) registration and sign-in are the browser's;
//! Portcullis keeps what the browser reports — its attachment and the passkey's transports —
//! on the passkey and on each sign-in, and Security info, the admin center and the sign-in
//! log show it. Chromium's virtual authenticator, reached over hybrid (a phone across
//! devices) and then as the computer's own, reports what a real one would.

use super::support::{self, Server};
use portcullis_testkit::browser::{
    click, fill_tap_sign_in, sign_out, sign_out_without_autofill, text, type_into, Browser,
};
use portcullis_testkit::fantoccini::{Client, Locator};
use serde_json::Value;
use std::path::Path;

const ADMIN: &str = "admin@portcullis.local";

/// The newest successful passkey sign-in in the log.
fn last_passkey_sign_in(d: &Path) -> Value {
    let (st, out, err) = support::cli(d, None, &["logs", "signins", "--json", "--limit", "50"]);
    assert_eq!(st, 0, "{err}");
    let log: Vec<Value> = serde_json::from_str(&out).unwrap();
    log.into_iter()
        .find(|e| e["method"] == "passkey" && e["errorCode"] == 0)
        .unwrap_or_else(|| panic!("no passkey sign-in logged"))
}

/// How Security info says each passkey was added, oldest first, once it lists `n` passkeys
/// (the page reloads after an addition: a read that meets the old page is tried again).
async fn reaches(c: &Client, n: usize) -> Vec<(String, String)> {
    let mut last = vec![];
    for _ in 0..100 {
        let mut out = vec![];
        for e in c
            .find_all(Locator::Css(".passkey-reach"))
            .await
            .unwrap_or_default()
        {
            if let (Ok(Some(kind)), Ok(words)) = (e.attr("data-reach").await, e.text().await) {
                out.push((kind, words));
            }
        }
        if out.len() == n {
            return out;
        }
        last = out;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("Security info never listed {n} passkeys: {last:?}");
}

async fn passkey_sign_in(c: &Client) {
    type_into(c, "username", ADMIN).await;
    click(c, "passkey-signin").await;
    assert_eq!(text(c, "#signed-in").await, "Signed in as Administrator");
}

#[tokio::test]
async fn r24_what_chromium_reports_about_a_hybrid_phone_and_a_platform_authenticator_is_kept_and_shown(
) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let b = Browser::launch().await;
    let c = &b.client;

    // A phone across devices: the passkey is made over hybrid.
    let phone = b.add_virtual_authenticator_over("hybrid").await;
    fill_tap_sign_in(c, &s.origin(), ADMIN, s.tap.as_deref().unwrap()).await;
    click(c, "signin").await;
    click(c, "security-info").await;
    click(c, "add-passkey").await;
    let added = reaches(c, 1).await;
    assert_eq!(added[0].0, "hybrid", "{added:?}");
    assert!(
        added[0].1.contains("Across devices") && added[0].1.contains("hybrid"),
        "{added:?}"
    );

    // Signed in with it: the browser reports a cross-platform authenticator, the passkey
    // registered as reachable over hybrid. (Chromium offers no passkey autofill from a phone
    // across devices: the username and the button.)
    sign_out(c, &s.origin()).await;
    passkey_sign_in(c).await;
    let e = last_passkey_sign_in(d);
    assert_eq!(e["passkeyClient"]["attachment"], "cross-platform", "{e}");
    assert_eq!(e["passkeyClient"]["reach"], "hybrid", "{e}");

    // The computer's own authenticator (Windows Hello, a Mac's Touch ID): a platform
    // passkey, and a sign-in on the device itself.
    b.remove_virtual_authenticator(&phone).await;
    let own = b.add_virtual_authenticator().await;
    click(c, "security-info").await;
    click(c, "add-passkey").await;
    let added = reaches(c, 2).await;
    let kinds: Vec<&str> = added.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["hybrid", "thisDevice"], "{added:?}");
    sign_out_without_autofill(&b, &own, &s.origin()).await;
    passkey_sign_in(c).await;
    let e = last_passkey_sign_in(d);
    assert_eq!(
        (
            &e["passkeyClient"]["attachment"],
            &e["passkeyClient"]["reach"]
        ),
        (&Value::from("platform"), &Value::from("thisDevice")),
        "{e}"
    );

    // The admin center's sign-in log shows it in the entry's details.
    c.goto(&format!("{}/admin/sign-ins", s.origin()))
        .await
        .unwrap();
    let newest = c
        .wait()
        .for_element(Locator::Css(".passkey-reach"))
        .await
        .unwrap();
    let shown = newest
        .prop("textContent")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(shown.contains("On the device itself"), "{shown}");
    b.close().await;
    s.stop().await;
}
