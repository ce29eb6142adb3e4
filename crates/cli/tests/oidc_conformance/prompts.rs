//! Where the authorization endpoint refuses, it never redirects to a place it cannot trust;
//! `prompt` and `max_age` make the user sign in again, and editing the URL cannot undo that.

use super::*;

#[tokio::test]
async fn refusals_never_redirect_to_untrusted_places_and_prompt_and_max_age_force_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), None).await;
    let mut key = admin_with_passkey(&s).await;
    let (public_id, _) = register_app(dir.path(), true);
    let (conf_id, secret) = register_app(dir.path(), false);
    let authorize = |client: &str, extra: &str| {
        format!("{}/oauth2/v2.0/authorize?client_id={client}&redirect_uri={}&response_type=code&scope=openid&state=s1{extra}", s.origin(), urlenc(CB))
    };
    let browser = client();

    // Wrong redirect URI and unknown client: a page, never a redirect.
    for url in [
        format!(
            "{}?client_id={public_id}&redirect_uri={}&response_type=code&scope=openid",
            s.url("/oauth2/v2.0/authorize"),
            urlenc("http://127.0.0.1:8765/callback/evil")
        ),
        format!(
            "{}?client_id={public_id}&redirect_uri={}&response_type=code&scope=openid",
            s.url("/oauth2/v2.0/authorize"),
            urlenc("https://attacker.example/cb")
        ),
        authorize("00000000-0000-0000-0000-00000000dead", ""),
        authorize(&public_id, "&client_id=again"),
    ] {
        let r = browser.get(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{url}");
        assert!(
            r.headers().get("location").is_none(),
            "no redirect for {url}"
        );
    }
    // A public client without PKCE: the error goes back to the (trusted) redirect URI.
    let r = browser.get(authorize(&public_id, "")).send().await.unwrap();
    let q = query(&location(&r));
    assert_eq!(
        (q["error"].as_str(), q["state"].as_str()),
        ("invalid_request", "s1")
    );
    // prompt=none without a session: login_required, not a page.
    let r = browser
        .get(authorize(&conf_id, "&prompt=none"))
        .send()
        .await
        .unwrap();
    assert_eq!(query(&location(&r))["error"], "login_required");

    // Signed in once, SSO answers at once; prompt=login and max_age=0 send the user to sign in.
    let to = browse_to_app(&s, &browser, &authorize(&conf_id, "&nonce=n1"), &mut key).await;
    assert!(query(&to).contains_key("code"));
    let r = browser.get(authorize(&conf_id, "")).send().await.unwrap();
    assert!(
        location(&r).starts_with(CB),
        "single sign-on: {}",
        location(&r)
    );
    for extra in ["&prompt=login", "&max_age=0"] {
        let r = browser
            .get(authorize(&conf_id, extra))
            .send()
            .await
            .unwrap();
        assert!(
            location(&r).starts_with("/signin?return_to="),
            "{extra}: {}",
            location(&r)
        );
    }
    // The first-party apps use the same flow: the Authenticator is a public client with a
    // custom-scheme redirect URI; Security info sends its users through authorize too.
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let r = browser
        .get(format!(
            "{}/oauth2/v2.0/authorize?client_id=4813382a-8fa7-425e-ab75-3b753aab3abb&redirect_uri={}&response_type=code&scope=openid&code_challenge={challenge}&code_challenge_method=S256",
            s.origin(),
            urlenc("msauth.com.microsoft.azureauthenticator://auth")
        ))
        .send()
        .await
        .unwrap();
    assert!(
        location(&r).starts_with("msauth.com.microsoft.azureauthenticator://auth?code="),
        "{}",
        location(&r)
    );
    let r = browser
        .get(format!("{}/security-info", s.origin()))
        .send()
        .await
        .unwrap();
    assert!(
        location(&r)
            .starts_with("/oauth2/v2.0/authorize?client_id=19db86c3-b2b9-44cc-b339-36da233a3be2&"),
        "{}",
        location(&r)
    );

    // prompt=login: after a fresh sign-in the request completes, and does not loop.
    let to = browse_to_app(
        &s,
        &browser,
        &authorize(&conf_id, "&prompt=login"),
        &mut key,
    )
    .await;
    let code = query(&to)["code"].clone();

    // The token endpoint: wrong secret, then the right one; userinfo refuses a Graph token.
    let http = reqwest::Client::new();
    let form = |sec: &str| {
        vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.clone()),
            ("redirect_uri", CB.to_string()),
            ("client_id", conf_id.clone()),
            ("client_secret", sec.to_string()),
        ]
    };
    let r = http
        .post(s.url("/oauth2/v2.0/token"))
        .form(&form("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    let r = http
        .post(s.url("/oauth2/v2.0/token"))
        .form(&form(secret.as_deref().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers().get("cache-control").unwrap(), "no-store");
    let (st, graph_token, _) = cli(
        dir.path(),
        None,
        &["token", "--user", ADMIN, "--scope", "User.Read"],
    );
    assert_eq!(st, 0);
    let r = http
        .get(s.url("/oidc/userinfo"))
        .bearer_auth(graph_token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a token for another audience"
    );
    assert!(r
        .headers()
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    // Malformed token requests: 4xx in the OAuth error shape.
    for body in [
        "",
        "grant_type=authorization_code",
        "grant_type=password&client_id=x",
        "grant_type=authorization_code&client_id=x&code=%FF%FE",
    ] {
        let r = http
            .post(s.url("/oauth2/v2.0/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{body}: {}", r.status());
        assert!(
            r.json::<Value>().await.unwrap()["error"].is_string(),
            "{body}"
        );
    }

    // Sign-out through the end-session endpoint asks first without an id_token_hint, and
    // never sends the browser to an unregistered URI.
    let r = browser
        .get(format!(
            "{}/oauth2/v2.0/logout?post_logout_redirect_uri={}&client_id={conf_id}",
            s.origin(),
            urlenc("https://attacker.example/")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("confirm-signout"));
    let r = browser
        .post(format!("{}/oauth2/v2.0/logout", s.origin()))
        .form(&[
            ("post_logout_redirect_uri", CB),
            ("client_id", &conf_id),
            ("state", "bye"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), format!("{CB}?state=bye"));
    let r = browser.get(authorize(&conf_id, "")).send().await.unwrap();
    assert!(
        location(&r).starts_with("/signin?"),
        "signed out: {}",
        location(&r)
    );
}

/// Issue 12, point 9: `prompt=login` cannot be cancelled by editing the URL the browser
/// resumes with (its `login_after` bound is signed, bound to that request, and `prompt=login`
/// stays in it), and a
/// `max_age` at the edge of the range is no panic.
#[tokio::test]
async fn prompt_login_survives_an_edited_resume_url_and_a_huge_max_age_is_no_panic() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), None).await;
    let mut key = admin_with_passkey(&s).await;
    let (conf_id, _) = register_app(dir.path(), false);
    let authorize = |extra: &str| {
        format!("{}/oauth2/v2.0/authorize?client_id={conf_id}&redirect_uri={}&response_type=code&scope=openid&state=s1{extra}", s.origin(), urlenc(CB))
    };
    let browser = client();
    let to = browse_to_app(&s, &browser, &authorize(""), &mut key).await;
    assert!(query(&to).contains_key("code"), "signed in: {to}");

    let r = browser
        .get(authorize("&prompt=login"))
        .send()
        .await
        .unwrap();
    let signin = location(&r);
    let back: String = url::form_urlencoded::parse(signin.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "return_to")
        .unwrap()
        .1
        .into_owned();
    assert!(
        back.contains("prompt=login") && back.contains("login_after="),
        "{back}"
    );
    let without_bound: String = back
        .split('&')
        .filter(|p| !p.starts_with("login_after="))
        .collect::<Vec<_>>()
        .join("&");
    let (before, _) = back.split_once("login_after=").unwrap();
    for edited in [
        without_bound.clone(),
        format!("{before}login_after=0"),
        format!("{before}login_after=1"),
    ] {
        let r = browser
            .get(format!("{}{edited}", s.origin()))
            .send()
            .await
            .unwrap();
        assert!(
            location(&r).starts_with("/signin?return_to="),
            "the old sign-in does not answer prompt=login: {edited} -> {}",
            location(&r)
        );
    }
    // The URL as the server wrote it, after a fresh sign-in, completes (no loop).
    let to = browse_to_app(&s, &browser, &format!("{}{back}", s.origin()), &mut key).await;
    assert!(query(&to).contains_key("code"), "{to}");
    // The signed bound belongs to that one request: moved onto another of the same client
    // (another state), it does not stand in for that request's own fresh sign-in, even now
    // that the browser's sign-in is newer than the bound.
    let moved = back.replace("state=s1", "state=s2");
    assert_ne!(moved, back);
    let r = browser
        .get(format!("{}{moved}", s.origin()))
        .send()
        .await
        .unwrap();
    assert!(
        location(&r).starts_with("/signin?return_to="),
        "a bound moved to another request counted: {}",
        location(&r)
    );

    // max_age at the edge of the range: no panic, no 500.
    let r = browser
        .get(authorize("&max_age=1000000000000"))
        .send()
        .await
        .unwrap();
    assert!(location(&r).starts_with(CB), "{}", location(&r));
    let r = browser
        .get(authorize("&max_age=99999999999999999999"))
        .send()
        .await
        .unwrap();
    assert_eq!(query(&location(&r))["error"], "invalid_request");
    s.stop().await;
}
