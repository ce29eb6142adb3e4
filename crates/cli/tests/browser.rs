//! Real Chromium against the real server: the bootstrap path a newcomer takes.

// A test crate: a failed assumption is a failed test (the product denies these, Cargo.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "browser/admin_center/mod.rs"]
mod admin_center;
#[path = "browser/factors.rs"]
mod factors;
#[path = "browser/reach.rs"]
mod reach;
mod support;

use portcullis_testkit::browser::{click, fill_tap_sign_in, type_into, Browser};
use portcullis_testkit::fantoccini::Locator;
use support::Server;

#[tokio::test]
async fn bootstrap_pass_signs_the_administrator_in_on_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), None).await;
    let tap = s.tap.clone().expect("bootstrap pass");
    let b = Browser::launch().await;
    let c = &b.client;
    c.goto(&format!("{}/", s.origin())).await.unwrap();
    assert!(
        c.current_url().await.unwrap().as_str().ends_with("/signin"),
        "an anonymous visitor lands on sign-in"
    );

    // A wrong pass is refused with the reason on the page.
    fill_tap_sign_in(c, &s.origin(), "admin@portcullis.local", "WRONGPASS").await;
    click(c, "signin").await;
    // The sign-in page always holds an (empty, hidden) #error: wait for the refusal's text.
    let mut err = String::new();
    for _ in 0..100 {
        // While the refused post reloads the page, the element may briefly not exist.
        if let Ok(e) = c.find(Locator::Id("error")).await {
            err = e.text().await.unwrap_or_default();
            if err.contains("not correct") {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(err.contains("not correct"), "{err}");

    // The username is kept; the printed pass signs in.
    let user = c
        .find(Locator::Id("username"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(user.as_deref(), Some("admin@portcullis.local"));
    type_into(c, "code", &tap).await;
    click(c, "signin").await;
    let h1 = c
        .wait()
        .for_element(Locator::Id("signed-in"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(h1, "Signed in as Administrator");
    assert_eq!(
        c.find(Locator::Id("upn"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "admin@portcullis.local"
    );
    if let Ok(dir) = std::env::var("SCREENSHOT_DIR") {
        let png = c.screenshot().await.unwrap();
        std::fs::write(std::path::Path::new(&dir).join("signed-in.png"), png).unwrap();
    }

    // Signing out ends the session.
    c.find(Locator::Id("signout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Id("username")).await.unwrap();
    c.goto(&format!("{}/me", s.origin())).await.unwrap();
    assert!(c.current_url().await.unwrap().as_str().ends_with("/signin"));
    b.close().await;
    s.stop().await;
}

/// The admin center's readiness page (R50) in Chromium: the administrator signs in with the
/// bootstrap pass and sees who cannot get in and why — here a user who holds nothing while
/// TAP is off — with the remedies and the exports.
#[tokio::test]
async fn the_readiness_page_shows_who_cannot_get_in_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let tap = s.tap.clone().expect("bootstrap pass");
    let b = Browser::launch().await;
    let c = &b.client;
    fill_tap_sign_in(c, &s.origin(), "admin@portcullis.local", &tap).await;
    click(c, "signin").await;
    c.wait()
        .for_element(Locator::Id("signed-in"))
        .await
        .unwrap();
    // Gina holds nothing, and the pass she would start with cannot be issued.
    let (st, _, err) = support::cli(d, None, &["users", "add", "--upn", "gina@portcullis.local"]);
    assert_eq!(st, 0, "{err}");
    let off = d.join("tap-off.json");
    std::fs::write(&off, r#"{"state": "disabled", "excludeTargets": []}"#).unwrap();
    let (st, _, err) = support::cli(
        d,
        None,
        &[
            "policy",
            "patch",
            "TemporaryAccessPass",
            off.to_str().unwrap(),
        ],
    );
    assert_eq!(st, 0, "{err}");
    c.goto(&format!("{}/admin/readiness", s.origin()))
        .await
        .unwrap();
    let section = c
        .wait()
        .for_element(Locator::Id("tapUnavailable"))
        .await
        .unwrap();
    let text = section.text().await.unwrap();
    assert!(
        text.contains("gina@portcullis.local") && text.contains("obtainPass"),
        "{text}"
    );
    assert_eq!(
        section.attr("data-severity").await.unwrap().as_deref(),
        Some("blocker")
    );
    assert!(c
        .find(Locator::Css(
            "#tapUnavailable li[data-remedy='includeInTapPolicy']"
        ))
        .await
        .is_ok());
    let href = c
        .find(Locator::Id("export-csv"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap();
    assert_eq!(href.as_deref(), Some("/admin/readiness?format=csv"));
    assert_eq!(c.title().await.unwrap(), "Readiness · Portcullis");
    b.close().await;
    s.stop().await;
}
