//! An application's sign-in in real Chromium: its authorization request → Portcullis' sign-in
//! page → a passkey from the WebAuthn virtual authenticator → back at the application with a
//! code, which the application redeems. Also: Security info itself signs in the same way.

// A test crate: a failed assumption is a failed test (the product denies these, Cargo.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use portcullis_testkit::browser::{
    click, fill_tap_sign_in, sign_out_without_autofill, text, Browser,
};
use portcullis_testkit::fantoccini::Client;
use std::collections::HashMap;
use support::{cli, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A stand-in application: answers every request on a loopback port with a small page.
async fn application() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let body = "<html><body><h1 id=app>Application</h1></body></html>";
                let _ = sock.write_all(format!("HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).as_bytes()).await;
            });
        }
    });
    port
}

async fn wait_for_url(c: &Client, prefix: &str) -> url::Url {
    for _ in 0..100 {
        let u = c.current_url().await.unwrap();
        if u.as_str().starts_with(prefix) {
            return u;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let said = c
        .execute(
            "return [...document.querySelectorAll('.notice')].map(e => e.id + ': ' + e.textContent)",
            vec![],
        )
        .await
        .unwrap_or_default();
    panic!(
        "never reached {prefix}; at {}; the page said {said}",
        c.current_url().await.unwrap()
    );
}

#[tokio::test]
async fn an_application_sign_in_goes_through_the_passkey_page_and_comes_back_with_a_code() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), None).await;
    let app_port = application().await;
    let callback = format!("http://127.0.0.1:{app_port}/callback");
    let (st, out, err) = cli(
        dir.path(),
        None,
        &[
            "apps",
            "add",
            "--name",
            "Browser RP",
            "--public",
            "--redirect-uri",
            &callback,
        ],
    );
    assert_eq!(st, 0, "{err}");
    let client_id = out
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().last())
        .unwrap()
        .to_string();

    let b = Browser::launch().await;
    let c = &b.client;
    let auth = b.add_virtual_authenticator().await;
    // The administrator signs in with the TAP and adds a passkey on Security info, which
    // signs them in to Security info through the authorization-code flow on the way.
    fill_tap_sign_in(
        c,
        &s.origin(),
        "admin@portcullis.local",
        s.tap.as_deref().unwrap(),
    )
    .await;
    click(c, "signin").await;
    click(c, "security-info").await;
    click(c, "add-passkey").await;
    assert!(text(c, "li.method")
        .await
        .contains("Can be used to sign in"));
    sign_out_without_autofill(&b, &auth, &s.origin()).await;

    // The application sends the browser to authorize; Portcullis shows its sign-in page.
    let verifier = "browser-test-verifier-0123456789-abcdefghijklmnop";
    let challenge = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()))
    };
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", &client_id)
        .append_pair("redirect_uri", &callback)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid profile")
        .append_pair("state", "browser-state")
        .append_pair("nonce", "browser-nonce")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    c.goto(&format!(
        "{}/oauth2/v2.0/authorize?{}",
        s.origin(),
        q.finish()
    ))
    .await
    .unwrap();
    // The user picks their passkey from the username field's suggestions (passkey autofill:
    // Chromium's virtual authenticator picks it by itself): no username typed, no click.

    // Back at the application with a code and the state.
    let back = wait_for_url(c, &callback).await;
    assert_eq!(text(c, "#app").await, "Application");
    let params: HashMap<String, String> = back.query_pairs().into_owned().collect();
    assert_eq!(params["state"], "browser-state");
    assert_eq!(params["iss"], s.origin());
    let r = reqwest::Client::new()
        .post(s.url("/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &params["code"]),
            ("redirect_uri", &callback),
            ("client_id", &client_id),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let tokens: serde_json::Value = r.json().await.unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    let claims: serde_json::Value = {
        use base64::Engine;
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(id_token.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(claims["nonce"], "browser-nonce");
    assert!(
        claims["amr"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("fido")),
        "{claims}"
    );
    b.close().await;
    s.stop().await;
}
