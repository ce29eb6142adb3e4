//! RP-initiated sign-out: which `id_token_hint` skips the confirmation.

use super::*;

/// Issue 12, point 9: RP-initiated sign-out skips the confirmation only for a current ID
/// token of the user signed in here. Another user's token (one that leaked from a log, say)
/// asks first, and the user stays signed in until they confirm.
#[tokio::test]
async fn an_id_token_hint_of_another_user_asks_before_signing_out() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let mut key = admin_with_passkey(&s).await;
    let (conf_id, secret) = register_app(d, false);
    let secret = secret.unwrap();
    let authorize = format!("{}/oauth2/v2.0/authorize?client_id={conf_id}&redirect_uri={}&response_type=code&scope=openid&state=s1", s.origin(), urlenc(CB));
    let id_token = |code: String| {
        let (conf_id, secret, url) = (conf_id.clone(), secret.clone(), s.url("/oauth2/v2.0/token"));
        async move {
            let v: Value = reqwest::Client::new()
                .post(url)
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", CB),
                    ("client_id", conf_id.as_str()),
                    ("client_secret", secret.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["id_token"].as_str().unwrap().to_string()
        }
    };
    // Bob's ID token, from his own sign-in elsewhere.
    assert_eq!(
        cli(d, None, &["users", "add", "--upn", "bob@portcullis.local"]).0,
        0
    );
    let (_, out, _) = cli(
        d,
        None,
        &["tap", "create", "--user", "bob@portcullis.local"],
    );
    let bob = client();
    bob.post(format!("{}/signin/tap", s.origin()))
        .form(&[
            ("username", "bob@portcullis.local"),
            ("code", &support::code_from(&out)),
        ])
        .send()
        .await
        .unwrap();
    let r = bob.get(&authorize).send().await.unwrap();
    let bobs = id_token(query(&location(&r))["code"].clone()).await;
    // The administrator's browser.
    let browser = client();
    let to = browse_to_app(&s, &browser, &authorize, &mut key).await;
    let mine = id_token(query(&to)["code"].clone()).await;
    let logout = |hint: &str| {
        format!(
            "{}/oauth2/v2.0/logout?id_token_hint={hint}&post_logout_redirect_uri={}",
            s.origin(),
            urlenc(CB)
        )
    };
    let r = browser.get(logout(&bobs)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "asked, not signed out");
    assert!(r.text().await.unwrap().contains("confirm-signout"));
    let r = browser.get(&authorize).send().await.unwrap();
    assert!(
        location(&r).starts_with(CB),
        "still signed in: {}",
        location(&r)
    );
    // Their own current token signs them out at once.
    let r = browser.get(logout(&mine)).send().await.unwrap();
    assert_eq!(location(&r), CB);
    let r = browser.get(&authorize).send().await.unwrap();
    assert!(
        location(&r).starts_with("/signin?"),
        "signed out: {}",
        location(&r)
    );
    s.stop().await;
}
