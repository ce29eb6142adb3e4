//! The admin center (issue 15) as an administrator uses it: real Chromium following the
//! source documents click by click, and over HTTP the attacker's side — a read-only role, a
//! user without one, a visitor, another site and bad input — each refused with nothing saved.

use portcullis_testkit::browser::{
    click, fill_tap_sign_in, low_contrast_text, text, type_into, unreachable_by_keyboard, Browser,
};
use portcullis_testkit::fantoccini::{Client, Locator};
use portcullis_testkit::softkey::SoftKey;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;

use crate::support::{self, cli, client, screenshot, Server};

mod adoption;
mod ca;
mod logs;
mod methods;
mod overview;
mod paging;
mod profiles;
mod strengths;
mod users;

const ADMIN: &str = "admin@portcullis.local";
const CHROMIUM: &str = "01020304-0506-0708-0102-030405060708";
const AUTHN_ANDROID: &str = "de1e552d-db1d-4423-a619-566b625cdc84";
const AUTHN_IOS: &str = "90a3ccdf-635c-4729-a248-9b709135078f";
const FIDO2_PAGE: &str = "/admin/authentication-methods/fido2";
const FIDO2_GRAPH: &str =
    "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2";

/// Asserts that the page shows, next to `field`, an error that says `says`.
fn assert_error_next_to(body: &str, field: &str, says: &str) {
    let at = body
        .find(&format!("id=\"{field}-error\""))
        .unwrap_or_else(|| panic!("no error next to {field}: {body}"));
    let error = body.get(at..).unwrap_or_default();
    let error = error
        .get(..error.find("</p>").unwrap_or(error.len()))
        .unwrap_or_default();
    assert!(
        error.contains(says),
        "{field} does not say '{says}': {error}"
    );
}

fn ok(d: &Path, args: &[&str]) -> String {
    let (st, out, err) = cli(d, None, args);
    assert_eq!(st, 0, "{args:?}: {err}");
    out
}

/// The Passkey (FIDO2) configuration as the CLI reads it from the store.
fn stored_fido2(d: &Path) -> Value {
    serde_json::from_str(&ok(d, &["policy", "show", "fido2"])).unwrap()
}

fn patch_fido2(d: &Path, body: &Value) {
    let f = d.join("fido2-patch.json");
    std::fs::write(&f, body.to_string()).unwrap();
    ok(d, &["policy", "patch", "fido2", f.to_str().unwrap()]);
}

/// Chromium signed in as the administrator with the bootstrap pass.
async fn admin_browser(s: &Server) -> Browser {
    let b = Browser::launch().await;
    let tap = s.tap.clone().expect("bootstrap pass");
    fill_tap_sign_in(&b.client, &s.origin(), ADMIN, &tap).await;
    click(&b.client, "signin").await;
    b.client
        .wait()
        .for_element(Locator::Id("signed-in"))
        .await
        .unwrap();
    b
}

async fn select(c: &Client, id: &str, value: &str) {
    c.find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
        .select_by_value(value)
        .await
        .unwrap();
}

/// Ticks (or unticks) the checkbox `#id`.
async fn tick(c: &Client, id: &str, on: bool) {
    let e = c
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"));
    if e.is_selected().await.unwrap() != on {
        e.click().await.unwrap();
    }
}

fn with(
    mut f: Vec<(&'static str, String)>,
    k: &'static str,
    v: &str,
) -> Vec<(&'static str, String)> {
    f.retain(|(x, _)| *x != k);
    f.push((k, v.into()));
    f
}

/// Waits until the browser's address holds `part` (a filter form's GET has landed).
async fn wait_for_query(c: &Client, part: &str) {
    for _ in 0..100 {
        if c.current_url().await.unwrap().as_str().contains(part) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the address never held {part}");
}

/// A passkey sign-in over HTTP with `key`; the status of the final answer.
async fn passkey_sign_in(s: &Server, upn: &str, key: &mut SoftKey) -> (StatusCode, Value) {
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
    let cred = key.assert(&o["publicKey"], &s.origin(), &Default::default());
    let r = c
        .post(s.url("/api/signin/passkey"))
        .json(&json!({"ceremonyId": o["ceremonyId"], "credential": cred}))
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or_default())
}

/// The custom strength "Passkey in Authenticator" (both Authenticator AAGUIDs), through
/// the CLI; its id.
fn authenticator_strength(d: &Path) -> String {
    strength_id(
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
}

/// The id `ca strength` printed: "Authentication strength 'NAME' (ID)".
fn strength_id(d: &Path, args: &[&str]) -> String {
    let out = ok(d, args);
    out.trim()
        .rsplit_once('(')
        .and_then(|(_, r)| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{out}"))
        .to_string()
}
