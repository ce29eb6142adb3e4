//! The landing page, the readiness report, and every page by role.

use super::*;

/// The landing page and the readiness report, as an administrator meets a loop: Gina holds
/// a security key's passkey, and a policy requires a passkey in the Authenticator on every
/// resource, Security info included — she can never add the passkey it asks for. The
/// landing page counts her among the blocked and the failed sign-ins by reason (each number
/// a link to its list); the readiness page shows the loop with the policy and the remedy.
#[tokio::test]
async fn the_landing_page_and_the_readiness_report_show_a_registration_loop() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    patch_fido2(
        d,
        &json!({"state": "enabled", "isAttestationEnforced": false}),
    );
    ok(d, &["users", "add", "--upn", "gina@portcullis.local"]);
    ok(
        d,
        &[
            "apps",
            "add",
            "--name",
            "Payroll",
            "--public",
            "--redirect-uri",
            "http://127.0.0.1:8765/cb",
        ],
    );
    ok(d, &["groups", "add", "Sales"]);
    ok(
        d,
        &[
            "groups",
            "members",
            "add",
            "--group",
            "Sales",
            "--user",
            "gina@portcullis.local",
        ],
    );
    let gina = support::tap_client(d, &s, "gina@portcullis.local").await;
    let (st, body) = support::register_key(&gina, &s, &mut SoftKey::new(CHROMIUM)).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let in_authn = authenticator_strength(d);
    let sales = serde_json::from_str::<Value>(&ok(d, &["groups", "list", "--json"])).unwrap();
    let sales = sales
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["displayName"] == "Sales")
        .unwrap()["id"]
        .clone();
    let f = d.join("everywhere.json");
    std::fs::write(
        &f,
        json!({
            "displayName": "Authenticator everywhere", "state": "enabled",
            "conditions": {"users": {"includeGroups": [sales]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "authenticationStrength": {"id": in_authn}}
        })
        .to_string(),
    )
    .unwrap();
    ok(d, &["ca", "save", f.to_str().unwrap()]);
    // A failed sign-in for the landing page to count.
    let r = client()
        .post(s.url("/signin/tap"))
        .form(&[
            ("username", "gina@portcullis.local"),
            ("code", "WRONG-CODE"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let b = admin_browser(&s).await;
    let c = &b.client;
    c.goto(&format!("{}/admin", s.origin())).await.unwrap();
    assert_eq!(c.title().await.unwrap(), "Home · Portcullis");
    let users = text(c, "#card-users").await;
    assert!(users.contains("1 hold a passkey"), "{users}");
    assert_eq!(
        text(c, "#blocked").await,
        "1",
        "Gina cannot get in at all: {}",
        ok(d, &["readiness", "--format", "text"])
    );
    let failures = text(c, "#card-failures").await;
    assert!(failures.contains("tapInvalid"), "{failures}");
    assert!(
        c.find(Locator::Css("#failure-chart rect")).await.is_ok(),
        "the chart"
    );
    screenshot(c, "admin-home").await;
    // Each number is a link to its list.
    c.find(Locator::Id("blocked"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let section = c
        .wait()
        .for_element(Locator::Id("strengthLoop"))
        .await
        .unwrap();
    let loop_text = section.text().await.unwrap();
    assert!(loop_text.contains("gina@portcullis.local"), "{loop_text}");
    assert_eq!(
        section.attr("data-severity").await.unwrap().as_deref(),
        Some("blocker")
    );
    assert!(c
        .find(Locator::Css("#strengthLoop li[data-remedy='issueTap']"))
        .await
        .is_ok());
    screenshot(c, "admin-readiness").await;
    b.close().await;
    s.stop().await;
}

/// Every admin page, three ways: an administrator sees each (a screenshot of each goes to
/// the tests' output folder); a Global Reader sees each too, with no change offered — no
/// enabled button that posts, on any page — and every change refused; a user without a role
/// gets 403 on each; and every form that changes something refuses a post from another site.
#[tokio::test]
async fn every_admin_page_is_read_only_for_a_reader_closed_without_a_role_and_to_other_sites() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    for (upn, role) in [
        ("reader@portcullis.local", Some("Global Reader")),
        ("security@portcullis.local", Some("Security Reader")),
        ("reports@portcullis.local", Some("Reports Reader")),
        ("bob@portcullis.local", None),
    ] {
        ok(d, &["users", "add", "--upn", upn]);
        if let Some(role) = role {
            ok(d, &["roles", "assign", "--user", upn, "--role", role]);
        }
    }
    ok(
        d,
        &[
            "ca",
            "location",
            "--name",
            "Office",
            "--cidr",
            "203.0.113.0/24",
        ],
    );
    let strength = authenticator_strength(d);
    let f = d.join("report-only.json");
    std::fs::write(
        &f,
        json!({
            "displayName": "Report-only: Authenticator everywhere", "state": "enabledForReportingButNotEnforced",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "authenticationStrength": {"id": strength}}
        })
        .to_string(),
    )
    .unwrap();
    ok(d, &["ca", "save", f.to_str().unwrap()]);
    let policy = serde_json::from_str::<Vec<Value>>(&ok(d, &["ca", "list"])).unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bob = support::tap_client(d, &s, "bob@portcullis.local").await;
    let (st, body) = support::register_key(&bob, &s, &mut SoftKey::new(CHROMIUM)).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
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
    let key = list[0]["id"].as_str().unwrap().to_string();
    let user: Value =
        serde_json::from_str(&ok(d, &["users", "show", "bob@portcullis.local", "--json"])).unwrap();
    let bob_id = user["user"]["id"].as_str().unwrap().to_string();
    ok(d, &["groups", "add", "Pilots"]);
    let groups: Value = serde_json::from_str(&ok(d, &["groups", "list", "--json"])).unwrap();
    let pilots = groups[0]["id"].as_str().unwrap().to_string();
    let pages = [
        ("home", "/admin".to_string()),
        ("groups", "/admin/groups".to_string()),
        ("group", format!("/admin/groups/{pilots}")),
        ("users", "/admin/users".to_string()),
        ("user", format!("/admin/users/{bob_id}")),
        ("methods", "/admin/authentication-methods".to_string()),
        ("fido2", FIDO2_PAGE.to_string()),
        ("tap", "/admin/authentication-methods/tap".to_string()),
        ("strengths", "/admin/strengths".to_string()),
        ("strength", format!("/admin/strengths/{strength}")),
        ("policies", "/admin/conditional-access".to_string()),
        ("policy", format!("/admin/conditional-access/{policy}")),
        (
            "locations",
            "/admin/conditional-access/named-locations".to_string(),
        ),
        ("what-if", "/admin/conditional-access/what-if".to_string()),
        ("readiness", "/admin/readiness".to_string()),
        ("inventory", "/admin/inventory".to_string()),
        ("adoption", "/admin/adoption".to_string()),
        ("sign-ins", "/admin/sign-ins".to_string()),
        ("audit", "/admin/audit".to_string()),
    ];
    let posts = [
        "/admin/groups".to_string(),
        format!("/admin/groups/{pilots}/members"),
        FIDO2_PAGE.to_string(),
        "/admin/authentication-methods/fido2/profiles/new".to_string(),
        "/admin/authentication-methods/tap".to_string(),
        "/admin/users".to_string(),
        format!("/admin/users/{bob_id}/enabled"),
        format!("/admin/users/{bob_id}/tap"),
        format!("/admin/users/{bob_id}/passkeys/{key}/delete"),
        "/admin/strengths/new".to_string(),
        format!("/admin/strengths/{strength}"),
        format!("/admin/strengths/{strength}/delete"),
        "/admin/conditional-access/new".to_string(),
        format!("/admin/conditional-access/{policy}"),
        format!("/admin/conditional-access/{policy}/delete"),
        "/admin/conditional-access/named-locations".to_string(),
        "/admin/inventory/change".to_string(),
        format!("/admin/users/{bob_id}/passkeys/{key}/state"),
    ];

    // The administrator: every page, each in a screenshot.
    let b = admin_browser(&s).await;
    for (name, path) in &pages {
        b.client
            .goto(&format!("{}{path}", s.origin()))
            .await
            .unwrap();
        let title = b.client.title().await.unwrap();
        assert!(
            title.ends_with(" · Portcullis") && !title.starts_with("Forbidden"),
            "{path}: {title}"
        );
        screenshot(&b.client, &format!("page-{name}")).await;
        // Every field has a label (or an accessible name), and the page names itself.
        let unlabelled = b
            .client
            .execute(
                "return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')].filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.id || e.name)",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(unlabelled, json!([]), "{path}: fields without a label");
        let h1 = b
            .client
            .find(Locator::Css("h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!h1.is_empty(), "{path}: a heading");
    }
    // Text keeps WCAG AA contrast in light and in dark mode, on every admin page and on the
    // end-user pages.
    let mut everywhere: Vec<String> = pages.iter().map(|(_, p)| p.clone()).collect();
    everywhere.extend(["/me", "/security-info", "/signin"].map(String::from));
    for scheme in ["light", "dark"] {
        b.prefer_color_scheme(scheme).await;
        for path in &everywhere {
            b.client
                .goto(&format!("{}{path}", s.origin()))
                .await
                .unwrap();
            let low = low_contrast_text(&b.client).await;
            assert!(low.is_empty(), "{path} in {scheme} mode: {low:?}");
        }
    }
    b.prefer_color_scheme("light").await;
    // The keyboard alone reaches every control, on the busiest forms and the end-user pages.
    for path in [
        FIDO2_PAGE.to_string(),
        format!("/admin/conditional-access/{policy}"),
        "/admin/conditional-access/what-if".to_string(),
        format!("/admin/users/{bob_id}"),
        "/admin/sign-ins".to_string(),
        "/security-info".to_string(),
    ] {
        b.client
            .goto(&format!("{}{path}", s.origin()))
            .await
            .unwrap();
        let missed = unreachable_by_keyboard(&b.client).await;
        assert!(missed.is_empty(), "{path}: Tab never reaches {missed:?}");
    }
    // At 1280 px and on a phone-sized viewport the page never scrolls sideways: wide tables
    // scroll inside the page.
    for (w, h) in [(1280, 900), (390, 844)] {
        b.client.set_window_size(w, h).await.unwrap();
        for (name, path) in &pages {
            b.client
                .goto(&format!("{}{path}", s.origin()))
                .await
                .unwrap();
            let fits = b
                .client
                .execute(
                    "return document.documentElement.scrollWidth <= window.innerWidth",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(fits, json!(true), "{path} scrolls sideways at {w} px");
            if w < 500 && ["home", "fido2", "policy"].contains(name) {
                screenshot(&b.client, &format!("phone-{name}")).await;
            }
        }
    }
    b.close().await;

    // The reader: every page, nothing that posts is enabled.
    let tap = {
        let (st, out, err) = cli(
            d,
            None,
            &["tap", "create", "--user", "reader@portcullis.local"],
        );
        assert_eq!(st, 0, "{err}");
        support::code_from(&out)
    };
    let b = Browser::launch().await;
    let c = &b.client;
    fill_tap_sign_in(c, &s.origin(), "reader@portcullis.local", &tap).await;
    click(c, "signin").await;
    c.wait()
        .for_element(Locator::Id("signed-in"))
        .await
        .unwrap();
    for (_, path) in &pages {
        c.goto(&format!("{}{path}", s.origin())).await.unwrap();
        let title = c.title().await.unwrap();
        assert!(!title.starts_with("Forbidden"), "{path}: {title}");
        let active = c
            .execute(
                "return [...document.querySelectorAll('form[method=post] button, button[form]')].filter(b => !b.disabled && !b.closest('fieldset[disabled]')).map(b => b.id || b.textContent)",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(active, json!([]), "{path} offers a change to a reader");
    }
    b.close().await;
    let reader = support::tap_client(d, &s, "reader@portcullis.local").await;
    let security = support::tap_client(d, &s, "security@portcullis.local").await;
    let reports = support::tap_client(d, &s, "reports@portcullis.local").await;
    let audit_before = ok(d, &["logs", "audit", "--json"]);
    // Nor may the other read-only roles change anything, or run a preview (which analyses
    // every user and names who a change would strand).
    for (who, c) in [("security reader", &security), ("reports reader", &reports)] {
        for path in &posts {
            for action in ["preview", "review", "save", "save-anyway"] {
                let r = c
                    .post(s.url(path))
                    .form(&[("action", action)])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::FORBIDDEN, "{who}: {action} {path}");
            }
        }
    }
    for path in &posts {
        let r = reader
            .post(s.url(path))
            .form(&[("action", "preview")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "reader: preview {path}");
        let r = reader
            .post(s.url(path))
            .form(&[("action", "save")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "reader: {path}");
    }

    // No role: 403 on every page and every post.
    for (_, path) in &pages {
        assert_eq!(
            bob.get(s.url(path)).send().await.unwrap().status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    for path in &posts {
        let r = bob
            .post(s.url(path))
            .form(&[("action", "save")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "no role: {path}");
    }

    // Another site, in the administrator's browser: every form refuses.
    assert_eq!(
        ok(d, &["logs", "audit", "--json"]),
        audit_before,
        "the reader and Bob changed nothing"
    );
    let admin = support::tap_client(d, &s, ADMIN).await;
    let audit_before = ok(d, &["logs", "audit", "--json"]);
    for path in &posts {
        for h in [
            ("origin", "http://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ] {
            let r = admin
                .post(s.url(path))
                .header(h.0, h.1)
                .form(&[("action", "save-anyway")])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{h:?}: {path}");
        }
    }
    assert_eq!(
        ok(d, &["logs", "audit", "--json"]),
        audit_before,
        "nothing changed"
    );
    s.stop().await;
}
