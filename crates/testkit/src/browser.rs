//! Real Chromium through chromedriver (WebDriver), for page tests.
//!
//! Chromium and chromedriver are required: when they are missing the test fails
//! with a message saying how to install them — it never skips.

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn tool(env: &str, default: &str) -> PathBuf {
    let p = std::env::var(env)
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(default));
    assert!(p.exists(), "{} not found at {} (set {env}, or run scripts/test.sh, which installs chromium and chromium-driver)", default, p.display());
    p
}

/// A headless Chromium session; chromedriver is stopped when this is dropped.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a fresh headless Chromium profile.
    pub async fn launch() -> Browser {
        let chromium = tool("CHROMIUM_BIN", "/usr/bin/chromium");
        let chromedriver = tool("CHROMEDRIVER_BIN", "/usr/bin/chromedriver");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = serde_json::json!({
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--no-default-browser-check", "--window-size=1000,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let caps = match caps {
            serde_json::Value::Object(m) => m,
            _ => unreachable!("a JSON object literal"),
        };
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Browser {
                        client,
                        driver,
                        _profile: profile,
                    }
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("could not start a Chromium session through chromedriver: {last:?}");
    }

    /// Ends the session and stops chromedriver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// A raw WebDriver command under the current session (for the WebAuthn extension).
#[derive(Debug)]
struct SessionCommand {
    method: http::Method,
    path: String,
    body: Option<serde_json::Value>,
}

impl fantoccini::wd::WebDriverCompatibleCommand for SessionCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(|b| b.to_string()),
        )
    }
}

impl Browser {
    async fn session_cmd(
        &self,
        method: http::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        self.client
            .issue_cmd(SessionCommand {
                method,
                path: path.into(),
                body,
            })
            .await
            .unwrap_or_else(|e| panic!("WebDriver {path}: {e}"))
    }

    /// Adds Chromium's WebAuthn virtual authenticator (CTAP2, internal, resident keys,
    /// user verification) and returns its id. Its AAGUID is `01020304-0506-0708-0102-030405060708`.
    pub async fn add_virtual_authenticator(&self) -> String {
        self.add_virtual_authenticator_over("internal").await
    }

    /// [`Self::add_virtual_authenticator`] reached over `transport` (WebDriver's names:
    /// `internal`, `usb`, `nfc`, `ble`, `hybrid` …): Chromium then reports that transport
    /// and the matching attachment, as it does for a real authenticator.
    pub async fn add_virtual_authenticator_over(&self, transport: &str) -> String {
        let body = serde_json::json!({"protocol": "ctap2", "transport": transport, "hasResidentKey": true, "hasUserVerification": true, "isUserConsenting": true, "isUserVerified": true});
        let v = self
            .session_cmd(http::Method::POST, "webauthn/authenticator", Some(body))
            .await;
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| panic!("authenticator id, got {v}"))
    }

    /// Whether the virtual authenticator answers user-presence tests by itself (the default)
    /// or leaves requests pending, as a user who has not touched anything yet would. Chromium
    /// answers a passkey-autofill request at once when presence is simulated, as if the user
    /// had picked the first suggestion; tests of the other buttons turn it off while the
    /// sign-in page loads. (Chromium's DevTools command, through chromedriver.)
    pub async fn simulate_presence(&self, authenticator: &str, on: bool) {
        self.session_cmd(
            http::Method::POST,
            "goog/cdp/execute",
            Some(serde_json::json!({"cmd": "WebAuthn.setAutomaticPresenceSimulation", "params": {"authenticatorId": authenticator, "enabled": on}})),
        )
        .await;
    }

    /// Renders pages as for a viewer whose system asks for `scheme` ("light" or "dark"):
    /// `prefers-color-scheme` as Chromium's DevTools emulate it, through chromedriver.
    pub async fn prefer_color_scheme(&self, scheme: &str) {
        self.session_cmd(
            http::Method::POST,
            "goog/cdp/execute",
            Some(serde_json::json!({"cmd": "Emulation.setEmulatedMedia", "params": {"features": [{"name": "prefers-color-scheme", "value": scheme}]}})),
        )
        .await;
    }

    /// Removes a virtual authenticator, as a user who puts the phone away or unplugs a key.
    pub async fn remove_virtual_authenticator(&self, authenticator: &str) {
        self.session_cmd(
            http::Method::DELETE,
            &format!("webauthn/authenticator/{authenticator}"),
            None,
        )
        .await;
    }

    /// The credentials the virtual authenticator holds.
    pub async fn virtual_credentials(&self, authenticator: &str) -> Vec<serde_json::Value> {
        let v = self
            .session_cmd(
                http::Method::GET,
                &format!("webauthn/authenticator/{authenticator}/credentials"),
                None,
            )
            .await;
        v.as_array().cloned().unwrap_or_default()
    }
}

/// Clicks `#id` once it appears. On a timeout it says where the browser was and what the
/// page showed, since a timeout alone does not tell.
pub async fn click(c: &Client, id: &str) {
    use fantoccini::Locator;
    match c.wait().for_element(Locator::Id(id)).await {
        Ok(e) => e.click().await.unwrap(),
        Err(e) => {
            let url = c
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let page: String = c
                .source()
                .await
                .unwrap_or_default()
                .chars()
                .take(2000)
                .collect();
            panic!("#{id}: {e}; at {url}; page: {page}");
        }
    }
}

/// The text of the first element matching `css`, once it appears.
/// A lookup that meets a navigation is tried again on the page that replaces it. Chromedriver
/// reports that three ways: "aborted by navigation" while the page's script navigates, and
/// "stale element" or, from the inspector, "does not belong to the document" when the page
/// was replaced between finding the element and reading it.
pub async fn text(c: &Client, css: &str) -> String {
    let mut tries = 0;
    loop {
        let found = match c.wait().for_element(fantoccini::Locator::Css(css)).await {
            Ok(e) => e.text().await,
            Err(e) => Err(e),
        };
        match found {
            Ok(t) => return t,
            Err(e)
                if tries < 50
                    && [
                        "aborted by navigation",
                        "stale element",
                        "does not belong to the document",
                    ]
                    .iter()
                    .any(|m| e.to_string().contains(m)) =>
            {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{css}: {e}"),
        }
    }
}

/// Types `text` into the field `#id`.
pub async fn type_into(c: &Client, id: &str, text: &str) {
    c.find(fantoccini::Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

/// Opens the sign-in page at `origin` and fills in a Temporary Access Pass sign-in for
/// `upn`, without submitting it.
pub async fn fill_tap_sign_in(c: &Client, origin: &str, upn: &str, code: &str) {
    c.goto(&format!("{origin}/signin")).await.unwrap();
    type_into(c, "username", upn).await;
    type_into(c, "code", code).await;
}

/// Signs out from the account page at `origin` and waits for the sign-in page.
pub async fn sign_out(c: &Client, origin: &str) {
    c.goto(&format!("{origin}/me")).await.unwrap();
    click(c, "signout").await;
    c.wait()
        .for_element(fantoccini::Locator::Id("username"))
        .await
        .unwrap();
}

/// Opens `url` (a sign-in page) with the virtual authenticator holding still, so passkey
/// autofill waits there, as it does for a user who has not picked a suggestion, instead of
/// signing straight in; presence is simulated again once the autofill is pending. Checks
/// that it did not answer meanwhile.
pub async fn open_without_autofill(b: &Browser, authenticator: &str, url: &str) {
    b.simulate_presence(authenticator, false).await;
    b.client.goto(url).await.unwrap();
    autofill_held(b, authenticator).await;
}

/// Signs out (see `sign_out`) and waits on the sign-in page without passkey autofill
/// answering (see `open_without_autofill`).
pub async fn sign_out_without_autofill(b: &Browser, authenticator: &str, origin: &str) {
    b.simulate_presence(authenticator, false).await;
    sign_out(&b.client, origin).await;
    autofill_held(b, authenticator).await;
}

/// Waits until the sign-in page's autofill request is pending (the username field says so),
/// lets it reach the authenticator, then simulates presence again.
async fn autofill_held(b: &Browser, authenticator: &str) {
    b.client
        .wait()
        .for_element(fantoccini::Locator::Css("#username[data-autofill=pending]"))
        .await
        .unwrap_or_else(|e| panic!("the sign-in page never asked for passkey autofill: {e}"));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    b.simulate_presence(authenticator, true).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let at = b.client.current_url().await.unwrap();
    assert_eq!(at.path(), "/signin", "the autofill stayed pending: {at}");
}

/// Every piece of visible text on the page whose contrast with what is behind it is below
/// WCAG 2 AA (4.5:1; 3:1 for large text), as `"text: ratio"`. Colours are read as the
/// browser computed them; translucent backgrounds and the opacity of the text and its
/// ancestors are blended in. Disabled controls are exempt, as WCAG exempts them.
pub async fn low_contrast_text(c: &Client) -> Vec<String> {
    let v = c
        .execute(CONTRAST_SCRIPT, vec![])
        .await
        .unwrap_or_else(|e| panic!("contrast script: {e}"));
    serde_json::from_value(v).unwrap_or_default()
}

const CONTRAST_SCRIPT: &str = r#"
const rgba = (s) => {
  const m = /rgba?\(([^)]+)\)/.exec(s || "");
  if (!m) return null;
  const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(parseFloat);
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
};
const over = (top, under) => {
  const a = top[3];
  return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat([1]);
};
const lum = (c) => {
  const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
};
const background = (el) => {
  const layers = [];
  for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
    if (e instanceof SVGElement && !(e instanceof SVGSVGElement)) continue;
    const b = rgba(getComputedStyle(e).backgroundColor);
    if (b && b[3] > 0) { layers.push(b); if (b[3] >= 1) break; }
  }
  let c = rgba(getComputedStyle(document.documentElement).backgroundColor);
  if (!c || c[3] < 1) c = matchMedia("(prefers-color-scheme: dark)").matches ? [18, 18, 18, 1] : [255, 255, 255, 1];
  for (let i = layers.length - 1; i >= 0; i--) c = over(layers[i], c);
  return c;
};
const opacity = (el) => {
  let o = 1;
  for (let e = el; e && e.nodeType === 1; e = e.parentElement) o *= parseFloat(getComputedStyle(e).opacity);
  return o;
};
const out = [];
for (const el of document.querySelectorAll("body *")) {
  if (["SCRIPT", "STYLE", "TITLE", "OPTION"].includes(el.tagName)) continue;
  const own = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join("").trim();
  const field = el.matches("input:not([type=hidden]):not([type=checkbox]):not([type=radio]), textarea, select") ? (el.value || "").trim() : "";
  const text = own || field;
  if (!text) continue;
  if (!el.checkVisibility({ visibilityProperty: true })) continue;
  if (el.closest(":disabled, [aria-disabled=true]")) continue;
  const st = getComputedStyle(el);
  let fg = rgba(el instanceof SVGElement ? st.fill : st.color);
  if (!fg) continue;
  fg[3] *= opacity(el);
  const bg = background(el);
  const ink = over(fg, bg);
  const [hi, lo] = [lum(ink), lum(bg)].sort((a, b) => b - a);
  const ratio = (hi + 0.05) / (lo + 0.05);
  const size = parseFloat(st.fontSize);
  const large = size >= 24 || (size >= 18.66 && parseInt(st.fontWeight, 10) >= 700);
  if (ratio < (large ? 3 : 4.5)) out.push(text.slice(0, 40) + ": " + ratio.toFixed(2));
}
return out;
"#;

/// The controls on the page that the Tab key never reaches, as `tag#id` (or their text):
/// presses Tab through the page from its start and compares what took focus with every
/// visible, enabled link, button, field and summary (a closed `<details>` hides its
/// content, as it does from sight). A radio group counts as reached when
/// one of its buttons is (arrow keys move within a group).
pub async fn unreachable_by_keyboard(c: &Client) -> Vec<String> {
    let counts = c
        .execute(
            r#"
const sel = "a[href], button, input:not([type=hidden]), select, textarea, summary";
// checkVisibility: rendered, not hidden, not inside a closed <details>.
const all = [...document.querySelectorAll(sel)].filter((e) => e.checkVisibility({ visibilityProperty: true }) && !e.disabled && !e.closest("fieldset[disabled]"));
all.forEach((e, i) => (e.dataset.kb = e.type === "radio" && e.name ? "radio:" + e.name : String(i)));
document.activeElement && document.activeElement.blur();
window.scrollTo(0, 0);
return [all.length, new Set(all.map((e) => e.dataset.kb)).size];"#,
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("keyboard script: {e}"));
    let count = |i: usize| {
        counts
            .get(i)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or_default()
    };
    let (total, distinct) = (count(0), count(1));
    let mut reached = std::collections::BTreeSet::new();
    // A date field takes a Tab for each of its parts.
    for _ in 0..(4 * total + 10) {
        c.active_element()
            .await
            .unwrap()
            .send_keys("\u{E004}")
            .await
            .unwrap();
        let at = c
            .execute(
                "return document.activeElement && document.activeElement.dataset.kb || ''",
                vec![],
            )
            .await
            .unwrap();
        if let Some(k) = at.as_str().filter(|k| !k.is_empty()) {
            reached.insert(k.to_string());
        }
        if reached.len() as u64 >= distinct {
            break;
        }
    }
    let missing = c
        .execute(
            "const r = new Set(arguments[0]); return [...document.querySelectorAll('[data-kb]')].filter((e) => !r.has(e.dataset.kb)).map((e) => e.tagName.toLowerCase() + '#' + (e.id || e.name || e.textContent.trim().slice(0, 30)))",
            vec![serde_json::json!(reached.into_iter().collect::<Vec<_>>())],
        )
        .await
        .unwrap();
    serde_json::from_value(missing).unwrap_or_default()
}
