//! Issue 18: a passkey sign-in continues the authorization request it was for, in its own
//! commit — and nothing else.

use super::*;

/// The sign-in log, newest first.
fn signins(dir: &std::path::Path) -> Vec<Value> {
    let (st, out, err) = cli(dir, None, &["logs", "signins", "--json", "--limit", "100"]);
    assert_eq!(st, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// Issue 18: the passkey's answer continues the authorization request the sign-in page was
/// for, in the sign-in's own commit, and the application's code comes back in the answer:
/// redeemable, logged. It continues only what the authorization endpoint itself would answer
/// with a code: an edited request, a place that is not a request, a replayed answer and a
/// refused application get no code from it.
#[tokio::test]
async fn a_passkey_answer_continues_its_authorization_and_nothing_else() {
    use base64::Engine;
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let mut key = admin_with_passkey(&s).await;
    let (app, _) = register_app(d, true);
    let verifier = "continuation-verifier-0123456789-abcdefghijklmnop";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let authorize = format!(
        "{}/oauth2/v2.0/authorize?client_id={app}&redirect_uri={}&response_type=code&scope=openid%20profile&state=s-cont&nonce=n-cont&code_challenge={challenge}&code_challenge_method=S256",
        s.origin(),
        urlenc(CB)
    );
    let browser = client();
    let r = browser.get(&authorize).send().await.unwrap();
    let back = return_to(&location(&r));

    // Allowed: one commit for the sign-in and the code, no second trip to authorize.
    let commits = support::batches_committed(&s, "in_group").await;
    let authorizations = support::requests_on(&s, "/oauth2/v2.0/authorize").await;
    let answer = sign_in_returning(&s, &browser, &mut key, Some(&back)).await;
    let to = answer["redirect"].as_str().unwrap().to_string();
    assert!(to.starts_with(CB), "{answer}");
    let q = query(&to);
    assert_eq!(
        (q["state"].as_str(), q["iss"].as_str()),
        ("s-cont", s.origin().as_str())
    );
    assert_eq!(
        support::batches_committed(&s, "in_group").await,
        commits + 1
    );
    assert_eq!(
        support::requests_on(&s, "/oauth2/v2.0/authorize").await,
        authorizations
    );
    let log = signins(d);
    assert_eq!(
        log[0]["appId"],
        app.as_str(),
        "the application's sign-in is logged: {log:?}"
    );
    assert_eq!(
        log[0]["conditionalAccessStatus"], "notApplied",
        "{}",
        log[0]
    );
    let token = |code: String| {
        let browser = browser.clone();
        let (s, app) = (s.url("/oauth2/v2.0/token"), app.clone());
        async move {
            browser
                .post(s)
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", CB),
                    ("client_id", app.as_str()),
                    ("code_verifier", verifier),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let r = token(q["code"].clone()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let tokens: Value = r.json().await.unwrap();
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["nonce"], "n-cont");
    assert!(
        id["amr"].as_array().unwrap().contains(&json!("fido")),
        "{id}"
    );
    // The code is single use, as any code.
    assert_eq!(
        token(q["code"].clone()).await.status(),
        StatusCode::BAD_REQUEST
    );

    // Whatever else is sent as where to go back to gets no code: a request edited to another
    // redirect URI, a request of no client, one with a fragment, a page, another site.
    let edited = back.replace(&urlenc(CB), &urlenc("https://attacker.example/cb"));
    assert_ne!(edited, back);
    let nobody = back.replace(&app, "00000000-0000-0000-0000-00000000dead");
    // A fragment never reaches the endpoint: what is continued must be what it would read.
    let fragment = back.replace("state=s-cont", "state=s-cont#other");
    assert_ne!(fragment, back);
    for (sent, goes_to) in [
        (edited.as_str(), edited.as_str()),
        (nobody.as_str(), nobody.as_str()),
        (fragment.as_str(), fragment.as_str()),
        ("/me", "/me"),
        ("https://attacker.example/oauth2/v2.0/authorize", "/me"),
        ("//attacker.example/oauth2/v2.0/authorize", "/me"),
    ] {
        let before = signins(d).len();
        let answer = sign_in_returning(&s, &browser, &mut key, Some(sent)).await;
        assert_eq!(answer["redirect"], goes_to, "sent {sent}");
        let log = signins(d);
        assert_eq!(
            log.len(),
            before + 1,
            "only the passkey sign-in is logged: {:?}",
            log[0]
        );
        assert!(log[0]["appId"] != app.as_str(), "{}", log[0]);
    }

    // A replayed answer carrying the request is refused, and no code is issued with it.
    let o = post_to(
        &browser,
        &format!("{}/api/signin/passkey/options", s.origin()),
        &json!({"username": ADMIN}),
    )
    .await;
    let cred = key.assert(&o["publicKey"], &s.origin(), &Quirks::default());
    let body = json!({"ceremonyId": o["ceremonyId"], "credential": cred, "returnTo": back});
    let url = format!("{}/api/signin/passkey", s.origin());
    let first = browser.post(&url).json(&body).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let commits = support::batches_committed(&s, "in_group").await;
    let again = browser.post(&url).json(&body).send().await.unwrap();
    assert!(again.status().is_client_error(), "{}", again.status());
    let again: Value = again.json().await.unwrap();
    assert!(again.get("redirect").is_none(), "{again}");
    assert_eq!(support::batches_committed(&s, "in_group").await, commits);

    // Refused by Conditional Access: nothing of the authorization is kept or logged with the
    // sign-in; the browser goes to the request, which logs the refusal once and shows it.
    let policy = d.join("block.json");
    std::fs::write(
        &policy,
        json!({
            "displayName": "Block the conformance app", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": [app]}, "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "builtInControls": ["block"]}
        })
        .to_string(),
    )
    .unwrap();
    let (st, _, err) = cli(d, None, &["ca", "save", policy.to_str().unwrap()]);
    assert_eq!(st, 0, "{err}");
    let before = signins(d).len();
    let answer = sign_in_returning(&s, &browser, &mut key, Some(&back)).await;
    assert_eq!(
        answer["redirect"],
        back.as_str(),
        "refused: no code, back to the request"
    );
    let log = signins(d);
    assert_eq!(
        log.len(),
        before + 1,
        "the refusal is not logged here: {:?}",
        log[0]
    );
    let r = browser
        .get(format!("{}{back}", s.origin()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Block the conformance app"));
    let log = signins(d);
    assert_eq!(log.len(), before + 2);
    assert_eq!(log[0]["appId"], app.as_str());
    assert_eq!(log[0]["conditionalAccessStatus"], "failure");
    s.stop().await;
}
