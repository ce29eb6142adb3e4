//! Authentication methods: Passkey (FIDO2) as 002 and 003 configure it, Preview impact,
//! the Temporary Access Pass settings, and their refusals.

use super::*;

/// 002 and 003, step by step: Protection › Authentication methods › Passkey (FIDO2) →
/// Enable, All users; Configure: Allow self-service set up Yes, Enforce key restrictions
/// Yes, Restrict specific keys Allow, Microsoft Authenticator ticked → Save. A malformed
/// AAGUID on the way is refused next to its field. Graph then reads exactly that.
#[tokio::test]
async fn passkey_fido2_is_configured_as_the_documents_describe_and_graph_reads_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let b = admin_browser(&s).await;
    let c = &b.client;
    c.goto(&format!("{}/admin/authentication-methods", s.origin()))
        .await
        .unwrap();
    c.wait().for_element(Locator::Id("methods")).await.unwrap();
    assert_eq!(
        c.title().await.unwrap(),
        "Authentication methods · Portcullis"
    );
    screenshot(c, "admin-authentication-methods").await;
    c.find(Locator::LinkText("Passkey (FIDO2)"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Id("fido2-form"))
        .await
        .unwrap();
    assert_eq!(
        c.title().await.unwrap(),
        "Passkey (FIDO2) settings · Portcullis"
    );

    // A malformed AAGUID: the reason next to the field, what was typed kept, nothing saved.
    let before = stored_fido2(d);
    type_into(c, "add_aaguid", "not-an-aaguid").await;
    click(c, "add-aaguid").await;
    let err = text(c, "#add_aaguid-error").await;
    assert!(err.contains("'not-an-aaguid' is not an AAGUID"), "{err}");
    assert_eq!(stored_fido2(d), before, "nothing saved");
    let kept = c
        .find(Locator::Id("add_aaguid"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("not-an-aaguid"));
    c.find(Locator::Id("add_aaguid"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();

    tick(c, "enabled", true).await;
    c.find(Locator::Id("include-all"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    select(c, "self_service", "yes").await;
    select(c, "enforce_keys", "yes").await;
    select(c, "restriction", "allow").await;
    tick(c, "authenticator", true).await;
    click(c, "save").await;
    let saved = text(c, "#saved").await;
    assert!(saved.starts_with("Saved."), "{saved}");
    screenshot(c, "admin-passkey-fido2").await;

    let token = support::token(d, None, &s.origin(), ADMIN, &["Policy.Read.All"]);
    let got: Value = client()
        .get(s.url(FIDO2_GRAPH))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["state"], "enabled");
    assert_eq!(got["includeTargets"][0]["id"], "all_users");
    assert_eq!(got["isSelfServiceRegistrationAllowed"], true);
    assert_eq!(
        got["keyRestrictions"],
        json!({"isEnforced": true, "enforcementType": "allow", "aaGuids": [AUTHN_ANDROID, AUTHN_IOS]}),
        "{got}"
    );
    // The change is in the audit log, filtered by its activity, and in its CSV export (read
    // by the browser, with its session) with the administrator and the settings after.
    c.goto(&format!("{}/admin/audit", s.origin()))
        .await
        .unwrap();
    type_into(c, "activity", "Authentication Methods Policy Update").await;
    click(c, "apply-filters").await;
    let row = text(c, "#audit tr.audit-entry").await;
    assert!(row.contains(ADMIN) && row.contains("Fido2"), "{row}");
    screenshot(c, "admin-audit-log").await;
    let href = c
        .find(Locator::Id("export-csv"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(
        href.contains("activity=Authentication+Methods+Policy+Update"),
        "{href}"
    );
    let csv = c
        .execute(
            "return fetch(arguments[0]).then(r => r.text())",
            vec![json!(href)],
        )
        .await
        .unwrap();
    let csv = csv.as_str().unwrap();
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("activityDateTime,activityDisplayName,"));
    let change = lines.next().unwrap_or_else(|| panic!("the change: {csv}"));
    assert!(
        change.contains(",Authentication Methods Policy Update,")
            && change.contains(ADMIN)
            && change.contains(r#"""enforcementType"":""allow"""#),
        "{change}"
    );
    b.close().await;
    s.stop().await;
}

/// Preview impact (R51): removing an AAGUID that a user's only passkey is of shows that user
/// stranded before Save; Save alone then saves nothing, Save anyway does.
#[tokio::test]
async fn preview_impact_shows_who_removing_an_aaguid_strands_and_save_waits_for_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    patch_fido2(
        d,
        &json!({"state": "enabled", "isAttestationEnforced": false, "keyRestrictions":
            {"isEnforced": true, "enforcementType": "allow", "aaGuids": [CHROMIUM, AUTHN_ANDROID, AUTHN_IOS]}}),
    );
    ok(d, &["users", "add", "--upn", "bob@portcullis.local"]);
    let bob = support::tap_client(d, &s, "bob@portcullis.local").await;
    let (st, body) = support::register_key(&bob, &s, &mut SoftKey::new(CHROMIUM)).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");

    let b = admin_browser(&s).await;
    let c = &b.client;
    c.goto(&format!("{}{FIDO2_PAGE}", s.origin()))
        .await
        .unwrap();
    let row = text(c, &format!("tr[data-aaguid='{CHROMIUM}']")).await;
    assert!(
        row.contains("Chromium virtual authenticator") && row.contains("1 passkey(s)"),
        "each AAGUID with its model and its passkeys: {row}"
    );
    tick(c, &format!("aaguid-{CHROMIUM}"), false).await;
    click(c, "preview").await;
    let summary = text(c, "#impact-summary").await;
    assert!(summary.contains("strands 1 user(s)"), "{summary}");
    assert!(c
        .find(Locator::Css(
            "#impact tr.stranded[data-user='bob@portcullis.local']"
        ))
        .await
        .is_ok());
    assert!(c.find(Locator::Id("save-anyway")).await.is_ok());
    let warnings = text(c, "#warnings").await;
    assert!(warnings.contains("stop working for sign-in"), "{warnings}");
    screenshot(c, "admin-preview-impact").await;

    // Save without confirming: refused, nothing saved.
    click(c, "save").await;
    let not_saved = text(c, "#not-saved").await;
    assert!(
        not_saved.contains("Nothing was saved") && not_saved.contains("strands 1 user(s)"),
        "{not_saved}"
    );
    let aaguids = |v: &Value| v["keyRestrictions"]["aaGuids"].clone();
    assert_eq!(
        aaguids(&stored_fido2(d)),
        json!([CHROMIUM, AUTHN_ANDROID, AUTHN_IOS])
    );
    // The form kept the change; confirming saves it.
    click(c, "save-anyway").await;
    text(c, "#saved").await;
    assert_eq!(aaguids(&stored_fido2(d)), json!([AUTHN_ANDROID, AUTHN_IOS]));
    b.close().await;
    s.stop().await;
}

/// The Passkey (FIDO2) form's fields as the page posts them, settings in force kept.
fn form(action: &str) -> Vec<(&'static str, String)> {
    vec![
        ("enabled", "on".into()),
        ("include", "all".into()),
        ("include_groups", String::new()),
        ("exclude_groups", String::new()),
        ("self_service", "yes".into()),
        ("attestation", "no".into()),
        ("enforce_keys", "no".into()),
        ("restriction", "block".into()),
        ("action", action.into()),
    ]
}

async fn post(
    c: &reqwest::Client,
    s: &Server,
    fields: &[(&'static str, String)],
    headers: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut r = c.post(s.url(FIDO2_PAGE)).form(fields);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let r = r.send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// The attacker's side of the page: a Global Reader sees it and cannot save (and is not
/// offered Save); a user without a role, a visitor and another site are refused; bad input
/// is named next to its field. After each, the stored settings are what they were.
#[tokio::test]
async fn passkey_fido2_refuses_readers_strangers_other_sites_and_bad_input_saving_nothing() {
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
    ok(d, &["groups", "add", "Marketing", "--non-security"]);
    let before = stored_fido2(d);

    // A Global Reader reads every section and may save nothing.
    let reader = support::tap_client(d, &s, "reader@portcullis.local").await;
    for path in [
        "/admin/authentication-methods",
        FIDO2_PAGE,
        "/admin/readiness",
        "/admin/sign-ins",
    ] {
        let r = reader.get(s.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    let page = reader
        .get(s.url(FIDO2_PAGE))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"read-only\"") && page.contains("<fieldset class=\"actions\" disabled>"),
        "Save is not rendered as active: {page}"
    );
    for action in ["save", "save-anyway"] {
        let (st, body) = post(&reader, &s, &form(action), &[]).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{action}: {body}");
        assert!(
            body.contains("Authentication Policy Administrator"),
            "names who may: {body}"
        );
    }

    // A user without an administrator role: 403 on every admin page and post.
    let bob = support::tap_client(d, &s, "bob@portcullis.local").await;
    for path in [
        "/admin",
        "/admin/authentication-methods",
        FIDO2_PAGE,
        "/admin/readiness",
        "/admin/sign-ins",
    ] {
        let r = bob.get(s.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        post(&bob, &s, &form("save"), &[]).await.0,
        StatusCode::FORBIDDEN
    );

    // A visitor is sent to sign in, and back here afterwards.
    let r = client().get(s.url(FIDO2_PAGE)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        "/signin?return_to=%2Fadmin%2Fauthentication-methods%2Ffido2"
    );
    assert_eq!(
        post(&client(), &s, &form("save"), &[]).await.0,
        StatusCode::SEE_OTHER
    );

    // Another site posting in the administrator's browser: refused before anything is read.
    let admin = support::tap_client(d, &s, ADMIN).await;
    let disabled = with(form("save-anyway"), "enabled", "off");
    for h in [
        ("origin", "http://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let (st, body) = post(&admin, &s, &disabled, &[h]).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{h:?}");
        assert!(body.contains("from another site"), "{body}");
    }

    // Bad input, each named next to its field.
    let groups = with(form("save"), "include", "groups");
    for (fields, field, says) in [
        (
            with(form("add"), "add_aaguid", "12345"),
            "add_aaguid",
            "'12345' is not an AAGUID",
        ),
        (
            with(groups.clone(), "include_groups", "Marketing"),
            "include_groups",
            "is not a security group",
        ),
        (
            with(groups.clone(), "include_groups", "Nobody"),
            "include_groups",
            "No group named 'Nobody'",
        ),
        (
            with(form("save"), "exclude_groups", "Marketing"),
            "exclude_groups",
            "is not a security group",
        ),
        (
            groups.clone(),
            "include_groups",
            "at least one security group",
        ),
        (
            with(form("save"), "include", "everyone"),
            "include_groups",
            "not All users or Select groups",
        ),
        (
            with(form("save"), "self_service", "maybe"),
            "self_service",
            "not Yes or No",
        ),
        (
            with(form("save"), "aaguid", "zz"),
            "aaguids",
            "'zz' is not an AAGUID",
        ),
    ] {
        let (st, body) = post(&admin, &s, &fields, &[]).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{field}: {body}");
        assert_error_next_to(&body, field, says);
    }
    let (st, _) = post(&admin, &s, &form("delete-everything"), &[]).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(stored_fido2(d), before, "nothing was saved");

    // An enforced allow list with nothing on it refuses every passkey (R5): Save anyway for
    // the users it strands does not confirm that too; it needs its own confirmation.
    let empty = with(
        with(form("save-anyway"), "enforce_keys", "yes"),
        "restriction",
        "allow",
    );
    let (st, body) = post(&admin, &s, &empty, &[]).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    let at = body
        .find("id=\"aaguids-error\"")
        .unwrap_or_else(|| panic!("{body}"));
    assert!(body.get(at..).unwrap_or_default().contains("R5"), "{body}");
    assert!(body.contains("id=\"accept_empty_allow_list\""), "{body}");
    assert_eq!(stored_fido2(d), before, "nothing was saved");
    let (st, body) = post(
        &admin,
        &s,
        &with(empty, "accept_empty_allow_list", "on"),
        &[],
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(
        stored_fido2(d)["keyRestrictions"]["enforcementType"],
        "allow"
    );

    // And the same administrator, from this site, with good input, saves.
    let (st, body) = post(&admin, &s, &disabled, &[("origin", &s.origin())]).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(stored_fido2(d)["state"], "disabled");
    s.stop().await;
}

/// The Temporary Access Pass settings: changed from the methods list and read back by
/// Graph; turning the method off, which strands a user who holds nothing, waits for Save
/// anyway; bad values are named next to their field and nothing is saved.
#[tokio::test]
async fn tap_settings_are_saved_previewed_and_refused_like_the_passkey_settings() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    ok(d, &["users", "add", "--upn", "gina@portcullis.local"]);
    ok(d, &["users", "add", "--upn", "policy@portcullis.local"]);
    ok(
        d,
        &[
            "roles",
            "assign",
            "--user",
            "policy@portcullis.local",
            "--role",
            "Authentication Policy Administrator",
        ],
    );
    let b = admin_browser(&s).await;
    let c = &b.client;
    c.goto(&format!("{}/admin/authentication-methods", s.origin()))
        .await
        .unwrap();
    c.find(Locator::LinkText("Temporary Access Pass"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let field = c
        .wait()
        .for_element(Locator::Id("defaultLifetimeInMinutes"))
        .await
        .unwrap();
    field.clear().await.unwrap();
    field.send_keys("120").await.unwrap();
    select(c, "isUsableOnce", "yes").await;
    click(c, "save").await;
    text(c, "#saved").await;
    screenshot(c, "admin-tap-settings").await;
    let token = support::token(d, None, &s.origin(), ADMIN, &["Policy.Read.All"]);
    let graph = || async {
        client()
            .get(s.url("/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let saved = graph().await;
    assert_eq!(saved["defaultLifetimeInMinutes"], 120, "{saved}");
    // A second administrator for the posts below (a new pass for the first would end the
    // browser's session, which that pass opened).
    let admin = support::tap_client(d, &s, "policy@portcullis.local").await;
    assert_eq!(saved["isUsableOnce"], true);

    // Off: Gina, who holds nothing, could never start. Save waits; Save anyway saves.
    tick(c, "enabled", false).await;
    click(c, "save").await;
    assert!(text(c, "#not-saved").await.contains("strands"));
    assert!(c
        .find(Locator::Css(
            "#impact tr.stranded[data-user='gina@portcullis.local']"
        ))
        .await
        .is_ok());
    assert_eq!(graph().await["state"], "enabled", "nothing saved");
    click(c, "save-anyway").await;
    text(c, "#saved").await;
    assert_eq!(graph().await["state"], "disabled");
    b.close().await;

    // Bad values, each next to its field; nothing saved.
    let before = graph().await;
    let good = || {
        vec![
            ("enabled", "on".to_string()),
            ("include", "all".to_string()),
            ("minimumLifetimeInMinutes", "60".to_string()),
            ("maximumLifetimeInMinutes", "480".to_string()),
            ("defaultLifetimeInMinutes", "120".to_string()),
            ("isUsableOnce", "yes".to_string()),
            ("defaultLength", "8".to_string()),
            ("action", "save-anyway".to_string()),
        ]
    };
    for (k, v, says) in [
        ("defaultLifetimeInMinutes", "1000", "must lie between"),
        (
            "maximumLifetimeInMinutes",
            "50",
            "greater than maximumLifetimeInMinutes",
        ),
        ("defaultLength", "5", "defaultLength"),
        ("minimumLifetimeInMinutes", "soon", "not a whole number"),
        ("isUsableOnce", "maybe", "not Yes or No"),
    ] {
        let field = if k == "maximumLifetimeInMinutes" {
            "minimumLifetimeInMinutes"
        } else {
            k
        };
        let r = admin
            .post(s.url("/admin/authentication-methods/tap"))
            .form(&with(good(), k, v))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{k}={v}");
        let body = r.text().await.unwrap();
        assert_error_next_to(&body, field, says);
    }
    assert_eq!(graph().await, before, "nothing saved");
    s.stop().await;
}

/// Two administrators: one opens the Passkey (FIDO2) page, the other changes the settings
/// (here through the CLI); the first one's Save is refused and saves nothing — no change is
/// silently overwritten — and once the page is opened again, their Save goes through.
#[tokio::test]
async fn a_save_on_a_page_opened_before_another_change_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let b = admin_browser(&s).await;
    let c = &b.client;
    c.goto(&format!("{}{FIDO2_PAGE}", s.origin()))
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Id("fido2-form"))
        .await
        .unwrap();
    patch_fido2(d, &json!({"isSelfServiceRegistrationAllowed": false}));
    let theirs = stored_fido2(d);
    select(c, "attestation", "no").await;
    click(c, "save").await;
    let said = text(c, "#form-error").await;
    assert!(said.contains("Someone changed these settings"), "{said}");
    assert_eq!(
        stored_fido2(d),
        theirs,
        "their change stands, nothing of mine saved"
    );
    // Opened again, the page shows their change; a save now goes through.
    c.goto(&format!("{}{FIDO2_PAGE}", s.origin()))
        .await
        .unwrap();
    let self_service = c
        .find(Locator::Id("self_service"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(self_service.as_deref(), Some("no"));
    select(c, "attestation", "no").await;
    click(c, "save").await;
    text(c, "#saved").await;
    assert_eq!(stored_fido2(d)["isAttestationEnforced"], false);
    b.close().await;
    s.stop().await;
}
