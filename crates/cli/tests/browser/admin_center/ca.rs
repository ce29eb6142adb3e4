//! Conditional Access: 001's split policies, What If, the lock-out guard, and the refusals.

use super::*;

/// One policy of 001's split, through the form: All users, All resources, the platforms,
/// the strength, On. The first one strands the administrator on desktop (they hold only a
/// pass), so Save asks for Save anyway first.
async fn create_policy(
    c: &Client,
    s: &Server,
    name: &str,
    include: &[&str],
    exclude: &[&str],
    strength: &str,
) {
    c.goto(&format!("{}/admin/conditional-access", s.origin()))
        .await
        .unwrap();
    click(c, "new-policy").await;
    type_into(c, "name", name).await;
    for p in include {
        tick(c, &format!("platforms-{p}"), true).await;
    }
    for p in exclude {
        tick(c, &format!("exclude_platforms-{p}"), true).await;
    }
    select(c, "strength", strength).await;
    c.find(Locator::Id("state-enabled"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click(c, "save").await;
    for _ in 0..100 {
        if c.find(Locator::Id("saved")).await.is_ok() {
            return;
        }
        if c.find(Locator::Id("save-anyway")).await.is_ok() {
            assert!(text(c, "#not-saved").await.contains("strands"));
            click(c, "save-anyway").await;
            text(c, "#saved").await;
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("'{name}' was neither saved nor held for confirmation");
}

/// 001's split desktop/mobile policies built in the browser, then What If as the documents
/// run it: from Windows the desktop policy applies and the mobile one does not (platform),
/// from iOS the other way round — every policy listed with its result and reason.
#[tokio::test]
async fn the_split_desktop_and_mobile_policies_are_built_and_what_if_shows_both() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    ok(
        d,
        &[
            "apps",
            "add",
            "--name",
            "Wiki",
            "--public",
            "--redirect-uri",
            "http://127.0.0.1:8765/cb",
        ],
    );
    let in_authn = authenticator_strength(d);
    let bootstrap = strength_id(
        d,
        &[
            "ca",
            "strength",
            "--name",
            "TAP or passkey in Authenticator",
            "--combination",
            "temporaryAccessPassOneTime",
            "--combination",
            "fido2",
            "--aaguid",
            AUTHN_ANDROID,
            "--aaguid",
            AUTHN_IOS,
        ],
    );
    let b = admin_browser(&s).await;
    let c = &b.client;
    create_policy(
        c,
        &s,
        "Desktop: passkey in Authenticator",
        &["all"],
        &["android", "iOS"],
        &in_authn,
    )
    .await;
    screenshot(c, "admin-conditional-access-policy").await;
    create_policy(
        c,
        &s,
        "Mobile: TAP or passkey in Authenticator",
        &["android", "iOS"],
        &[],
        &bootstrap,
    )
    .await;
    let saved: Vec<Value> = serde_json::from_str(&ok(d, &["ca", "list"])).unwrap();
    assert_eq!(saved.len(), 2);
    let desktop = saved
        .iter()
        .find(|p| p["displayName"] == "Desktop: passkey in Authenticator")
        .unwrap();
    assert_eq!(desktop["state"], "enabled");
    assert_eq!(
        desktop["conditions"]["platforms"]["excludePlatforms"],
        json!(["android", "iOS"])
    );
    assert_eq!(
        desktop["grantControls"]["authenticationStrength"]["id"],
        json!(in_authn)
    );
    c.goto(&format!("{}/admin/conditional-access", s.origin()))
        .await
        .unwrap();
    let list = text(c, "#policies").await;
    assert!(
        list.contains("Desktop: passkey in Authenticator") && list.contains("On"),
        "{list}"
    );

    // What If, from Windows with a pass, then from iOS.
    c.goto(&format!("{}/admin/conditional-access/what-if", s.origin()))
        .await
        .unwrap();
    type_into(c, "user", ADMIN).await;
    c.find(Locator::Id("app"))
        .await
        .unwrap()
        .select_by_label("Wiki")
        .await
        .unwrap();
    select(c, "platform", "windows").await;
    select(c, "method", "tap").await;
    click(c, "run-what-if").await;
    let result = |name: &'static str| async move {
        c.wait()
            .for_element(Locator::Css(&format!(
                "tr.what-if-policy[data-name='{name}']"
            )))
            .await
            .unwrap()
            .attr("data-result")
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(result("Desktop: passkey in Authenticator").await, "failure");
    assert_eq!(
        result("Mobile: TAP or passkey in Authenticator").await,
        "notApplied"
    );
    let why = text(
        c,
        "tr.what-if-policy[data-name='Mobile: TAP or passkey in Authenticator']",
    )
    .await;
    assert!(
        why.contains("Not applied: devicePlatform"),
        "every reason: {why}"
    );
    screenshot(c, "admin-what-if").await;
    select(c, "platform", "iOS").await;
    click(c, "run-what-if").await;
    wait_for_query(c, "platform=iOS").await;
    assert_eq!(
        result("Mobile: TAP or passkey in Authenticator").await,
        "success"
    );
    assert_eq!(
        result("Desktop: passkey in Authenticator").await,
        "notApplied"
    );
    assert_eq!(
        text(c, "#outcome").await.split(':').next().unwrap(),
        "allow"
    );
    b.close().await;
    s.stop().await;
}

/// Conditional Access from the attacker's side: a reader sees policies and cannot save; no
/// role is refused; another site is refused; bad input (an invalid filter, an unknown
/// strength, a group that does not exist, a bad range, a bad IP in What If) is named next
/// to its field; a policy that would block every Global Administrator is refused naming
/// them, and saved only when that is accepted.
#[tokio::test]
async fn conditional_access_refuses_readers_bad_input_and_locking_out_every_administrator() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    for upn in ["reader@portcullis.local", "bob@portcullis.local"] {
        ok(d, &["users", "add", "--upn", upn]);
    }
    ok(
        d,
        &[
            "roles",
            "assign",
            "--user",
            "reader@portcullis.local",
            "--role",
            "Global Reader",
        ],
    );
    let admin = support::tap_client(d, &s, ADMIN).await;
    let reader = support::tap_client(d, &s, "reader@portcullis.local").await;
    let bob = support::tap_client(d, &s, "bob@portcullis.local").await;
    let base = |state: &str| {
        vec![
            ("name", "Block everyone".to_string()),
            ("include", "all".to_string()),
            ("target", "all".to_string()),
            ("grant", "block".to_string()),
            ("state", state.to_string()),
            ("action", "save".to_string()),
        ]
    };
    let post = |c: &reqwest::Client, path: &str, fields: Vec<(&'static str, String)>| {
        let r = c.post(s.url(path)).form(&fields).send();
        async move {
            let r = r.await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let new = "/admin/conditional-access/new";
    let policies = || serde_json::from_str::<Vec<Value>>(&ok(d, &["ca", "list"])).unwrap();

    // Save: held, the impact naming the lock-out among the findings.
    let (st, body) = post(&admin, new, base("enabled")).await;
    assert_eq!(st, StatusCode::CONFLICT, "{body}");
    assert!(
        body.contains("id=\"not-saved\"") && body.contains("id=\"new-adminLockout\""),
        "{body}"
    );
    // Save anyway: the lock-out guard refuses, showing the administrators it would lock out.
    let (st, body) = post(&admin, new, with(base("enabled"), "action", "save-anyway")).await;
    assert_eq!(st, StatusCode::CONFLICT, "{body}");
    let at = body
        .find("id=\"lockout\"")
        .unwrap_or_else(|| panic!("{body}"));
    assert!(
        body.get(at..)
            .unwrap_or_default()
            .contains("<li class=\"locked-out\">admin@portcullis.local</li>"),
        "{body}"
    );
    assert!(policies().is_empty(), "nothing saved");

    // The reader and bob.
    assert_eq!(
        reader
            .get(s.url("/admin/conditional-access"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        post(&reader, new, base("disabled")).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        reader.get(s.url(new)).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    for path in [
        "/admin/conditional-access",
        "/admin/conditional-access/what-if",
        "/admin/conditional-access/named-locations",
    ] {
        assert_eq!(
            bob.get(s.url(path)).send().await.unwrap().status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    assert_eq!(
        post(&bob, new, base("disabled")).await.0,
        StatusCode::FORBIDDEN
    );
    let r = admin
        .post(s.url(new))
        .header("origin", "http://evil.example")
        .form(&base("disabled"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(policies().is_empty(), "nothing saved");

    // Bad input, next to its field.
    let grant = |strength: &str| {
        let mut f = base("disabled");
        f.retain(|(k, _)| *k != "grant");
        f.push(("grant", "grant".into()));
        f.push(("operator", "OR".into()));
        f.push(("strength", strength.into()));
        f
    };
    for (fields, field, says) in [
        (
            with(
                with(base("disabled"), "target", "filter"),
                "app_filter_rule",
                "CustomSecurityAttribute.Tier -eq",
            ),
            "app_filter_rule",
            "applicationFilter.rule",
        ),
        (
            grant("00000000-0000-0000-0000-0000000000ff"),
            "strength",
            "does not exist",
        ),
        (
            with(
                with(base("disabled"), "include", "select"),
                "include_groups",
                "Nobody",
            ),
            "include_groups",
            "No group named 'Nobody'",
        ),
        (with(base("disabled"), "name", " "), "name", "empty"),
        (
            with(base("disabled"), "include", "everyone"),
            "include",
            "not one of the choices",
        ),
        (
            with(with(grant(""), "operator", "XOR"), "controls", "mfa"),
            "grant",
            "not one of the choices",
        ),
        (
            with(base("disabled"), "exclude_users", "ghost@portcullis.local"),
            "exclude_users",
            "No user 'ghost@portcullis.local'",
        ),
    ] {
        let (st, body) = post(&admin, new, fields).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{field}: {body}");
        assert_error_next_to(&body, field, says);
    }
    let (st, body) = post(
        &admin,
        "/admin/conditional-access/named-locations",
        vec![("name", "Office".into()), ("ranges", "10.0.0.0/33".into())],
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(body.contains("id=\"ranges-error\""), "{body}");
    let r = admin
        .get(s.url("/admin/conditional-access/what-if?user=admin%40portcullis.local&target=action&ip=300.1.1.1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("id=\"ip-error\""));
    assert!(policies().is_empty(), "nothing saved");

    // A page opened before another change: its save is refused, naming why; nothing saved.
    let f = d.join("report-only.json");
    std::fs::write(
        &f,
        json!({
            "displayName": "Report-only", "state": "enabledForReportingButNotEnforced",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
        })
        .to_string(),
    )
    .unwrap();
    ok(d, &["ca", "save", f.to_str().unwrap()]);
    let saved = policies();
    let id = saved[0]["id"].as_str().unwrap().to_string();
    let edit = format!("/admin/conditional-access/{id}");
    let page = admin
        .get(s.url(&edit))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let version = page
        .split("name=\"version\" value=\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .unwrap()
        .to_string();
    let mut theirs = saved[0].clone();
    theirs["displayName"] = json!("Report-only, renamed");
    std::fs::write(&f, theirs.to_string()).unwrap();
    ok(d, &["ca", "save", f.to_str().unwrap()]);
    let mine = vec![
        ("name", "Mine".to_string()),
        ("include", "all".to_string()),
        ("target", "all".to_string()),
        ("grant", "block".to_string()),
        ("state", "disabled".to_string()),
        ("action", "save".to_string()),
        ("version", version),
    ];
    let (st, body) = post(&admin, &edit, mine).await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(body.contains("Someone changed these settings"), "{body}");
    assert_eq!(policies()[0]["displayName"], "Report-only, renamed");

    // Accepting the lock-out explicitly saves it.
    let mut accepted = with(base("enabled"), "action", "save-anyway");
    accepted.push(("accept_lockout", "on".into()));
    let (st, body) = post(&admin, new, accepted).await;
    assert_eq!(st, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(policies().len(), 2);
    s.stop().await;
}
