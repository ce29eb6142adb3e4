//! Users: a pass from the user's page, deleting a passkey, and the refusals.

use super::*;

/// Users, as the documents' administrator works: create Dana, Create Temporary Access Pass
/// on her page (the code shown once), and Dana signs in with it in another browser; then
/// her passkey is deleted after a confirmation that says the device keeps it, her next
/// sign-in with it is refused, and the sign-in log shows that refusal with its reason.
#[tokio::test]
async fn a_pass_from_the_users_page_signs_the_user_in_and_a_deleted_passkey_is_refused_and_logged()
{
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let b = admin_browser(&s).await;
    let c = &b.client;
    c.goto(&format!("{}/admin/users", s.origin()))
        .await
        .unwrap();
    type_into(c, "upn", "dana@portcullis.local").await;
    type_into(c, "display_name", "Dana Scully").await;
    click(c, "create-user").await;
    assert_eq!(text(c, "#notice").await, "User created.");
    let dana_page = c.current_url().await.unwrap().to_string();
    click(c, "create-tap").await;
    let code = c
        .wait()
        .for_element(Locator::Id("tap-code"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(text(c, "#issued").await.contains("shown only this once"));
    screenshot(c, "admin-user-tap").await;
    // Shown once: the page opened again holds no code.
    c.goto(&dana_page).await.unwrap();
    c.wait().for_element(Locator::Id("pass")).await.unwrap();
    assert!(!c.source().await.unwrap().contains(&code));

    let other = Browser::launch().await;
    fill_tap_sign_in(&other.client, &s.origin(), "dana@portcullis.local", &code).await;
    click(&other.client, "signin").await;
    assert_eq!(
        text(&other.client, "#signed-in").await,
        "Signed in as Dana Scully"
    );
    other.close().await;

    // Dana adds a passkey; the administrator deletes it from her page.
    let dana = support::tap_client(d, &s, "dana@portcullis.local").await;
    let mut key = SoftKey::new(CHROMIUM);
    let (st, body) = support::register_key(&dana, &s, &mut key).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let (st, body) = passkey_sign_in(&s, "dana@portcullis.local", &mut key).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    c.goto(&dana_page).await.unwrap();
    let row = text(c, "#passkeys tr.passkey").await;
    assert!(
        row.contains("Chromium virtual authenticator")
            && row.contains(CHROMIUM)
            && row.contains("Yes"),
        "model, AAGUID, usable: {row}"
    );
    c.find(Locator::Css("#passkeys a[id^='delete-']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let note = text(c, "#device-note").await;
    assert!(
        note.contains("does not remove it from the user's device"),
        "{note}"
    );
    click(c, "confirm-delete").await;
    assert!(text(c, "#notice")
        .await
        .starts_with("Passkey deleted from Portcullis."));
    assert!(c.find(Locator::Css("#passkeys tr.passkey")).await.is_err());

    let (st, body) = passkey_sign_in(&s, "dana@portcullis.local", &mut key).await;
    assert!(st.is_client_error(), "{st}: {body}");
    // The sign-in log, filtered to Dana's failures: the refusal with its reason.
    c.goto(&format!("{}/admin/sign-ins", s.origin()))
        .await
        .unwrap();
    type_into(c, "user", "dana@portcullis.local").await;
    select(c, "status", "failure").await;
    click(c, "apply-filters").await;
    wait_for_query(c, "status=failure").await;
    let rows = c
        .find_all(Locator::Css("#sign-ins tr.sign-in"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "only Dana's one failure");
    let refused = text(c, "#sign-ins tr.sign-in:not([data-failure=''])").await;
    assert!(refused.contains("dana@portcullis.local"), "{refused}");
    assert!(
        refused.contains("passkeyDeleted") && refused.contains("removed by your administrator"),
        "with its reason: {refused}"
    );
    screenshot(c, "admin-sign-in-logs").await;
    // Her successful passkey sign-in, in its details: the passkey's model and AAGUID.
    select(c, "status", "success").await;
    click(c, "apply-filters").await;
    wait_for_query(c, "status=success").await;
    c.find(Locator::Css(
        "#sign-ins tr.sign-in[data-failure=''] summary",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    let details = text(c, "#sign-ins details[open]").await;
    assert!(
        details.contains("Chromium virtual authenticator") && details.contains(CHROMIUM),
        "{details}"
    );
    b.close().await;
    s.stop().await;
}

/// The users area from the attacker's side: a Global Reader reads users and their methods
/// and may change none (no form rendered, every post refused); an Authentication
/// Administrator cannot issue a pass to a Global Administrator nor to themselves; a user
/// without a role is refused; another site's post is refused; one user's URL cannot delete
/// another user's passkey; bad input is named next to its field. Nothing changes.
#[tokio::test]
async fn users_refuse_readers_the_wrong_administrator_strangers_other_sites_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    for upn in [
        "reader@portcullis.local",
        "helpdesk@portcullis.local",
        "bob@portcullis.local",
        "carol@portcullis.local",
    ] {
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
    ok(
        d,
        &[
            "roles",
            "assign",
            "--user",
            "helpdesk@portcullis.local",
            "--role",
            "Authentication Administrator",
        ],
    );
    let id = |upn: &str| -> String {
        let v: Value = serde_json::from_str(&ok(d, &["users", "show", upn, "--json"])).unwrap();
        v["user"]["id"].as_str().unwrap().to_string()
    };
    let (bob_id, carol_id, admin_id) = (
        id("bob@portcullis.local"),
        id("carol@portcullis.local"),
        id(ADMIN),
    );
    let bob = support::tap_client(d, &s, "bob@portcullis.local").await;
    let (st, body) = support::register_key(&bob, &s, &mut SoftKey::new(CHROMIUM)).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let bobs_key = body["id"].as_str().map(str::to_string).unwrap_or_else(|| {
        let list: Value = serde_json::from_str(&ok(
            d,
            &[
                "passkeys",
                "list",
                "--user",
                "bob@portcullis.local",
                "--json",
            ],
        ))
        .unwrap();
        list[0]["id"].as_str().unwrap().to_string()
    });
    let reader = support::tap_client(d, &s, "reader@portcullis.local").await;
    let helpdesk = support::tap_client(d, &s, "helpdesk@portcullis.local").await;
    let carol = support::tap_client(d, &s, "carol@portcullis.local").await;
    let admin = support::tap_client(d, &s, ADMIN).await;
    let audit_before = ok(d, &["logs", "audit", "--json"]);
    let form_post = |c: &reqwest::Client, path: String, fields: Vec<(&'static str, String)>| {
        let r = c.post(s.url(&path)).form(&fields).send();
        async move {
            let r = r.await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let bob_page = format!("/admin/users/{bob_id}");
    let writes = |upn: &str| {
        vec![
            (
                "/admin/users".to_string(),
                vec![("upn", upn.to_string()), ("display_name", "X".to_string())],
            ),
            (
                format!("{bob_page}/enabled"),
                vec![("enabled", "no".into())],
            ),
            (format!("{bob_page}/tap"), vec![("lifetime", String::new())]),
            (format!("{bob_page}/passkeys/{bobs_key}/delete"), vec![]),
        ]
    };

    // A Global Reader: reads, is offered nothing to change, and every change is refused.
    let page = reader.get(s.url(&bob_page)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Chromium virtual authenticator"), "{html}");
    for absent in ["id=\"create-tap\"", "id=\"toggle-account\"", "id=\"delete-"] {
        assert!(
            !html.contains(absent),
            "{absent} is not rendered for a reader"
        );
    }
    let list = reader
        .get(s.url("/admin/users"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!list.contains("id=\"create-user\""));
    for (path, fields) in writes("new1@portcullis.local") {
        let (st, body) = form_post(&reader, path.clone(), fields).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    // The confirmation page of a deletion is not shown to a reader either.
    let r = reader
        .get(s.url(&format!("{bob_page}/passkeys/{bobs_key}/delete")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // An Authentication Administrator: sees a Global Administrator's account, not their
    // methods; no pass for them, nor for themselves.
    let r = helpdesk
        .get(s.url(&format!("/admin/users/{admin_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Global Administrator")
            && page.contains("cannot read this user's passkeys")
            && !page.contains("id=\"create-tap\""),
        "{page}"
    );
    let (st, body) = form_post(&helpdesk, format!("/admin/users/{admin_id}/tap"), vec![]).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("administrator role"), "{body}");
    let me = id("helpdesk@portcullis.local");
    let (st, body) = form_post(&helpdesk, format!("/admin/users/{me}/tap"), vec![]).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");

    // No role at all.
    for path in ["/admin/users".to_string(), bob_page.clone()] {
        let r = carol.get(s.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    for (path, fields) in writes("new2@portcullis.local") {
        assert_eq!(
            form_post(&carol, path.clone(), fields).await.0,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }

    // Another site, in the administrator's browser.
    for (path, fields) in writes("new3@portcullis.local") {
        let r = admin
            .post(s.url(&path))
            .header("origin", "http://evil.example")
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }

    // Search: by the start of a name or a user principal name, in either case.
    for q in ["car", "CAROL%40portcullis"] {
        let list = admin
            .get(s.url(&format!("/admin/users?search={q}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            list.contains("data-upn=\"carol@portcullis.local\"")
                && !list.contains("data-upn=\"bob@portcullis.local\""),
            "{q}: {list}"
        );
    }

    // Bob's passkey through Carol's address: not found, not deleted.
    let (st, _) = form_post(
        &admin,
        format!("/admin/users/{carol_id}/passkeys/{bobs_key}/delete"),
        vec![],
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Bad input, next to its field.
    for (path, fields, status, field, says) in [
        (
            "/admin/users".to_string(),
            vec![
                ("upn", "not an address".to_string()),
                ("display_name", "N".into()),
            ],
            StatusCode::BAD_REQUEST,
            "upn",
            "not a valid userPrincipalName",
        ),
        (
            "/admin/users".to_string(),
            vec![
                ("upn", "bob@portcullis.local".into()),
                ("display_name", "Bob".into()),
            ],
            StatusCode::CONFLICT,
            "upn",
            "already exists",
        ),
        (
            "/admin/users".to_string(),
            vec![
                ("upn", "new4@portcullis.local".into()),
                ("display_name", "  ".into()),
            ],
            StatusCode::BAD_REQUEST,
            "display_name",
            "empty",
        ),
        (
            format!("{bob_page}/tap"),
            vec![("lifetime", "soon".into())],
            StatusCode::BAD_REQUEST,
            "lifetime",
            "not a whole number",
        ),
        (
            format!("{bob_page}/tap"),
            vec![("lifetime", "1".into())],
            StatusCode::BAD_REQUEST,
            "lifetime",
            "valid range",
        ),
        (
            format!("{bob_page}/tap"),
            vec![("one_time", "sometimes".into())],
            StatusCode::BAD_REQUEST,
            "one_time",
            "not Yes, No",
        ),
    ] {
        let (st, body) = form_post(&admin, path.clone(), fields).await;
        assert_eq!(st, status, "{path} {field}: {body}");
        assert_error_next_to(&body, field, says);
    }
    assert_eq!(
        ok(d, &["logs", "audit", "--json"]),
        audit_before,
        "nothing changed, so nothing was audited"
    );
    let users = ok(d, &["users", "list"]);
    assert!(!users.contains("new"), "{users}");
    s.stop().await;
}

/// Groups: New group (security or Microsoft 365), Add member, the members listed; a reader
/// reads and cannot change; bad input is named next to its field; the group list says
/// which groups cannot be policy targets.
#[tokio::test]
async fn groups_are_created_and_filled_and_refuse_readers_and_bad_input() {
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
    let post = |c: &reqwest::Client, path: String, fields: Vec<(&'static str, String)>| {
        let r = c.post(s.url(&path)).form(&fields).send();
        async move {
            let r = r.await.unwrap();
            let loc = r
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string());
            (r.status(), loc, r.text().await.unwrap())
        }
    };
    let group =
        |name: &str, kind: &str| vec![("name", name.to_string()), ("group_type", kind.to_string())];
    let (st, loc, _) = post(&admin, "/admin/groups".into(), group("Pilots", "security")).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let pilots = loc.unwrap().split('?').next().unwrap().to_string();
    assert_eq!(
        post(&admin, "/admin/groups".into(), group("Newsletter", "m365"))
            .await
            .0,
        StatusCode::SEE_OTHER
    );
    let (st, loc, _) = post(
        &admin,
        format!("{pilots}/members"),
        vec![("member", "bob@portcullis.local".into())],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert!(loc.unwrap().ends_with("?notice=added"));
    let members = reader
        .get(s.url(&pilots))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        members.contains("data-upn=\"bob@portcullis.local\"")
            && !members.contains("id=\"add-member\""),
        "the reader sees the members and no Add member: {members}"
    );
    let list = reader
        .get(s.url("/admin/groups"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("cannot be a policy target") && !list.contains("id=\"create-group\""),
        "{list}"
    );
    assert_eq!(
        post(&reader, "/admin/groups".into(), group("Mine", "security"))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(
            &reader,
            format!("{pilots}/members"),
            vec![("member", "reader@portcullis.local".into())]
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    // Bad input, next to its field.
    let before = ok(d, &["logs", "audit", "--json"]);
    for (path, fields, field, says) in [
        (
            "/admin/groups".to_string(),
            group(" ", "security"),
            "name",
            "empty",
        ),
        (
            "/admin/groups".to_string(),
            group("Pilots", "security"),
            "name",
            "already exists",
        ),
        (
            "/admin/groups".to_string(),
            group("Odd", "distribution"),
            "group_type",
            "not Security or Microsoft 365",
        ),
        (
            format!("{pilots}/members"),
            vec![("member", "ghost@portcullis.local".into())],
            "member",
            "ghost@portcullis.local",
        ),
    ] {
        let (st, _, body) = post(&admin, path.clone(), fields).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{field}: {body}");
        assert_error_next_to(&body, field, says);
    }
    assert_eq!(
        ok(d, &["logs", "audit", "--json"]),
        before,
        "nothing changed"
    );
    s.stop().await;
}
