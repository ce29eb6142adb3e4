//! Issue 17 in real Chromium: a password, then an authenticator app set up from the QR code
//! Security info shows — read from the screen by a QR reader, as a phone's camera would —
//! then password + code sign-in, where a code works once.

use super::support::{self, Server};
use portcullis_testkit::browser::{click, sign_out, text, type_into, Browser};
use portcullis_testkit::fantoccini::{Client, Locator};

const PW: &str = "violet-canoe-hums-at-dusk";

/// Every QR code on the page's screenshot, decoded.
async fn qr_codes_on_screen(c: &Client) -> Vec<String> {
    let png = c.screenshot().await.unwrap();
    let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
        .unwrap()
        .to_luma8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        img.get_pixel(x as u32, y as u32).0[0]
    });
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, s)| s))
        .collect()
}

/// Waits for an element's text to contain `want`; returns it.
async fn wait_text(c: &Client, css: &str, want: &str) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        last = text(c, css).await;
        if last.contains(want) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{css} never said {want:?}; it said {last:?}");
}

async fn password_sign_in(c: &Client, origin: &str, upn: &str, password: &str) {
    c.goto(&format!("{origin}/signin/password")).await.unwrap();
    type_into(c, "username", upn).await;
    type_into(c, "password", password).await;
    click(c, "signin-password").await;
}

/// Seconds until the next 30-second TOTP step begins.
fn until_next_step() -> std::time::Duration {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    std::time::Duration::from_millis(30_000 - (now.as_millis() % 30_000) as u64 + 300)
}

#[tokio::test]
async fn password_then_an_app_set_up_from_the_qr_code_and_each_code_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let upn = "ana@portcullis.local";
    assert_eq!(
        support::cli(
            d,
            None,
            &["users", "add", "--upn", upn, "--display-name", "Ana Lopez"]
        )
        .0,
        0
    );
    support::enable_oath(d, None);
    // A weak password is refused by the CLI too, naming why.
    let (st, _, err) =
        support::cli_input(d, None, &["users", "set-password", upn], "password123\n");
    assert_ne!(st, 0);
    assert!(err.contains("too easy to guess"), "{err}");
    let (st, _, err) =
        support::cli_input(d, None, &["users", "set-password", upn], &format!("{PW}\n"));
    assert_eq!(st, 0, "{err}");

    let b = Browser::launch().await;
    let c = &b.client;
    let origin = s.origin();
    // The sign-in page offers the password.
    c.goto(&format!("{origin}/signin")).await.unwrap();
    click(c, "use-password").await;
    c.wait().for_element(Locator::Id("password")).await.unwrap();
    // A wrong password is refused with the reason; the right one signs in, one factor.
    password_sign_in(c, &origin, upn, "not-my-password").await;
    wait_text(c, "#error", "not correct").await;
    password_sign_in(c, &origin, upn, PW).await;
    c.wait()
        .for_element(Locator::Id("signed-in"))
        .await
        .unwrap();
    assert!(
        text(c, "main").await.contains("Signed in with\nPassword"),
        "{}",
        text(c, "main").await
    );

    // Security info: set up an authenticator app by scanning the QR code on the screen.
    c.goto(&format!("{origin}/security-info")).await.unwrap();
    c.wait().for_element(Locator::Id("add-oath")).await.unwrap();
    click(c, "add-oath").await;
    c.wait().for_element(Locator::Id("oath-qr")).await.unwrap();
    let codes = qr_codes_on_screen(c).await;
    assert_eq!(codes.len(), 1, "one QR code on the page: {codes:?}");
    let uri = url::Url::parse(&codes[0]).unwrap();
    // The Key Uri Format every authenticator app reads, Microsoft Authenticator included.
    assert_eq!(uri.scheme(), "otpauth");
    assert_eq!(uri.host_str(), Some("totp"));
    assert_eq!(uri.path(), "/Portcullis:ana%40portcullis.local");
    let q: std::collections::HashMap<_, _> = uri.query_pairs().into_owned().collect();
    assert_eq!(q["issuer"], "Portcullis");
    assert_eq!(q["algorithm"], "SHA1");
    assert_eq!(q["digits"], "6");
    assert_eq!(q["period"], "30");
    let secret = totp_rs::Secret::Encoded(q["secret"].clone())
        .to_bytes()
        .unwrap();
    assert_eq!(secret.len(), 20, "160 bits, RFC 4226's recommendation");
    assert_eq!(
        text(c, "#oath-secret").await,
        q["secret"],
        "the typed key is the scanned one"
    );
    let app = totp_rs::TOTP::from_url(uri.as_str()).unwrap();
    // A wrong first code is refused and the same QR code stays.
    let wrong = format!(
        "{:06}",
        (app.generate_current().unwrap().parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    type_into(c, "otp", &wrong).await;
    click(c, "confirm-oath").await;
    wait_text(c, "#error", "not correct").await;
    assert_eq!(qr_codes_on_screen(c).await, codes);
    let first = app.generate_current().unwrap();
    type_into(c, "otp", &first).await;
    click(c, "confirm-oath").await;
    wait_text(c, "#notice", "Authenticator app set up").await;
    assert!(text(c, "#oath-row").await.contains("Time-based codes"));

    // Sign out; the password now asks for the app's code.
    sign_out(c, &origin).await;
    password_sign_in(c, &origin, upn, PW).await;
    c.wait().for_element(Locator::Id("otp")).await.unwrap();
    // The code that confirmed the app was taken: it cannot sign in (unless the step has
    // already turned, when the current one is a different code).
    if app.generate_current().unwrap() == first {
        type_into(c, "otp", &first).await;
        click(c, "verify").await;
        wait_text(c, "#error", "already used").await;
    }
    tokio::time::sleep(until_next_step()).await;
    let next = app.generate_current().unwrap();
    type_into(c, "otp", &next).await;
    click(c, "verify").await;
    c.wait()
        .for_element(Locator::Id("signed-in"))
        .await
        .unwrap();
    assert!(text(c, "main")
        .await
        .contains("Password, Authenticator app code"));

    // The same code again, from a fresh password step: refused, named as a replay.
    sign_out(c, &origin).await;
    password_sign_in(c, &origin, upn, PW).await;
    c.wait().for_element(Locator::Id("otp")).await.unwrap();
    type_into(c, "otp", &next).await;
    click(c, "verify").await;
    wait_text(c, "#error", "already used").await;
    b.close().await;
    s.stop().await;
}

/// Password + Microsoft Authenticator push in Chromium, with the command-line app as the
/// phone: the right number signs in, a wrong number is denied, and an unanswered request
/// times out — each said on the page.
#[tokio::test]
async fn password_then_push_with_number_matching_right_wrong_and_unanswered() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let upn = "noor@portcullis.local";
    assert_eq!(
        support::cli(
            d,
            None,
            &[
                "users",
                "add",
                "--upn",
                upn,
                "--display-name",
                "Noor Haddad"
            ]
        )
        .0,
        0
    );
    support::enable_push(d, None);
    let (st, _, err) =
        support::cli_input(d, None, &["users", "set-password", upn], &format!("{PW}\n"));
    assert_eq!(st, 0, "{err}");
    let phone = d.join("phone.json");
    let (st, _, err) = support::authenticator(
        &phone,
        &[
            "init",
            "--platform",
            "android",
            "--os-version",
            "14",
            "--name",
            "Pixel 8",
        ],
    );
    assert_eq!(st, 0, "{err}");

    let b = Browser::launch().await;
    let c = &b.client;
    let origin = s.origin();
    password_sign_in(c, &origin, upn, PW).await;
    c.wait()
        .for_element(Locator::Id("signed-in"))
        .await
        .unwrap();
    // Security info: add Microsoft Authenticator from the QR code on the screen.
    c.goto(&format!("{origin}/security-info")).await.unwrap();
    c.wait().for_element(Locator::Id("add-push")).await.unwrap();
    click(c, "add-push").await;
    c.wait()
        .for_element(Locator::Id("activation-qr"))
        .await
        .unwrap();
    let codes = qr_codes_on_screen(c).await;
    assert_eq!(codes.len(), 1, "{codes:?}");
    let shown = text(c, "#activation-link").await;
    assert_eq!(codes[0], shown, "the QR code holds the link");
    let (st, out, err) =
        support::authenticator(&phone, &["--json", "add-account", "--link", &codes[0]]);
    assert_eq!(st, 0, "{out} {err}");
    let added: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(added["userPrincipalName"], upn);
    assert_eq!(added["added"][0], "microsoftAuthenticatorPush");
    // The link works once.
    let (st, _, err) = support::authenticator(&phone, &["add-account", "--link", &codes[0]]);
    assert_ne!(st, 0);
    assert!(err.contains("expired or was already used"), "{err}");
    c.goto(&format!("{origin}/security-info")).await.unwrap();
    wait_text(c, "#authenticator-row", "Pixel 8").await;

    // The right number: the page goes on by itself once the phone approves.
    sign_out(c, &origin).await;
    password_sign_in(c, &origin, upn, PW).await;
    c.wait()
        .for_element(Locator::Id("push-number"))
        .await
        .unwrap();
    let number = text(c, "#push-number").await;
    let approve = {
        let phone = phone.clone();
        let number = number.clone();
        tokio::task::spawn_blocking(move || {
            support::authenticator(&phone, &["approve", "--number", &number])
        })
    };
    let (st, out, err) = approve.await.unwrap();
    assert_eq!(st, 0, "{out} {err}");
    assert!(out.contains("approved"), "{out}");
    c.wait()
        .for_element(Locator::Id("signed-in"))
        .await
        .unwrap();
    assert!(text(c, "main")
        .await
        .contains("Password, Microsoft Authenticator approval"));

    // A wrong number: denied in the app, and the page says why.
    sign_out(c, &origin).await;
    password_sign_in(c, &origin, upn, PW).await;
    c.wait()
        .for_element(Locator::Id("push-number"))
        .await
        .unwrap();
    let shown: u8 = text(c, "#push-number").await.parse().unwrap();
    let wrong = if shown == 99 { 10 } else { shown + 1 }.to_string();
    let (st, _, err) = tokio::task::spawn_blocking({
        let phone = phone.clone();
        move || support::authenticator(&phone, &["approve", "--number", &wrong])
    })
    .await
    .unwrap();
    assert_ne!(st, 0);
    assert!(err.contains("denied"), "{err}");
    wait_text(c, "#error", "was not the one shown").await;

    // Nobody answers: after a minute the page says so.
    password_sign_in(c, &origin, upn, PW).await;
    c.wait()
        .for_element(Locator::Id("push-number"))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(62)).await;
    wait_text(c, "#error", "did not answer in time").await;

    // R25: deleting the account in the app removes the method from the server.
    let (st, out, err) = support::authenticator(&phone, &["--json", "remove-account"]);
    assert_eq!(st, 0, "{out} {err}");
    assert!(out.contains(r#""removedFromServer":true"#), "{out}");
    password_sign_in(c, &origin, upn, PW).await;
    c.wait()
        .for_element(Locator::Id("signed-in"))
        .await
        .unwrap();
    c.goto(&format!("{origin}/security-info")).await.unwrap();
    wait_text(c, "#authenticator-row", "Not set up").await;
    b.close().await;
    s.stop().await;
}
