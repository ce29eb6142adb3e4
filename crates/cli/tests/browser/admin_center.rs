//! The admin center (issue 15) as an administrator uses it: real Chromium following the
//! source documents click by click, and over HTTP the attacker's side — a read-only role, a
//! user without one, a visitor, another site and bad input — each refused with nothing saved.

use portcullis_testkit::browser::{click, fill_tap_sign_in, text, type_into, Browser};
use portcullis_testkit::fantoccini::{Client, Locator};
use portcullis_testkit::softkey::SoftKey;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;

use crate::support::{self, cli, client, screenshot, Server};

const ADMIN: &str = "admin@portcullis.local";
const CHROMIUM: &str = "01020304-0506-0708-0102-030405060708";
const AUTHN_ANDROID: &str = "de1e552d-db1d-4423-a619-566b625cdc84";
const AUTHN_IOS: &str = "90a3ccdf-635c-4729-a248-9b709135078f";
const FIDO2_PAGE: &str = "/admin/authentication-methods/fido2";
const FIDO2_GRAPH: &str =
    "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2";

fn ok(d: &Path, args: &[&str]) -> String {
    let (st, out, err) = cli(d, None, args);
    assert_eq!(st, 0, "{args:?}: {err}");
    out
}

/// The Passkey (FIDO2) configuration as the CLI reads it from the store.
fn stored_fido2(d: &Path) -> Value {
    serde_json::from_str(&ok(d, &["policy", "show", "fido2"])).unwrap()
}

fn patch_fido2(d: &Path, body: &Value) {
    let f = d.join("fido2-patch.json");
    std::fs::write(&f, body.to_string()).unwrap();
    ok(d, &["policy", "patch", "fido2", f.to_str().unwrap()]);
}

/// Chromium signed in as the administrator with the bootstrap pass.
async fn admin_browser(s: &Server) -> Browser {
    let b = Browser::launch().await;
    let tap = s.tap.clone().expect("bootstrap pass");
    fill_tap_sign_in(&b.client, &s.origin(), ADMIN, &tap).await;
    click(&b.client, "signin").await;
    b.client
        .wait()
        .for_element(Locator::Id("signed-in"))
        .await
        .unwrap();
    b
}

async fn select(c: &Client, id: &str, value: &str) {
    c.find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
        .select_by_value(value)
        .await
        .unwrap();
}

/// Ticks (or unticks) the checkbox `#id`.
async fn tick(c: &Client, id: &str, on: bool) {
    let e = c
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"));
    if e.is_selected().await.unwrap() != on {
        e.click().await.unwrap();
    }
}

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

fn with(
    mut f: Vec<(&'static str, String)>,
    k: &'static str,
    v: &str,
) -> Vec<(&'static str, String)> {
    f.retain(|(x, _)| *x != k);
    f.push((k, v.into()));
    f
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
        let at = body
            .find(&format!("id=\"{field}-error\""))
            .unwrap_or_else(|| panic!("no error next to {field}: {body}"));
        let shown = body.get(at..).unwrap_or_default();
        assert!(shown.contains(says), "{field}: {shown}");
    }
    let (st, _) = post(&admin, &s, &form("delete-everything"), &[]).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(stored_fido2(d), before, "nothing was saved");

    // And the same administrator, from this site, with good input, saves.
    let (st, body) = post(&admin, &s, &disabled, &[("origin", &s.origin())]).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(stored_fido2(d)["state"], "disabled");
    s.stop().await;
}

/// Waits until the browser's address holds `part` (a filter form's GET has landed).
async fn wait_for_query(c: &Client, part: &str) {
    for _ in 0..100 {
        if c.current_url().await.unwrap().as_str().contains(part) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the address never held {part}");
}

/// A passkey sign-in over HTTP with `key`; the status of the final answer.
async fn passkey_sign_in(s: &Server, upn: &str, key: &mut SoftKey) -> (StatusCode, Value) {
    let c = client();
    let o: Value = c
        .post(s.url("/api/signin/passkey/options"))
        .json(&json!({"username": upn}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cred = key.assert(&o["publicKey"], &s.origin(), &Default::default());
    let r = c
        .post(s.url("/api/signin/passkey"))
        .json(&json!({"ceremonyId": o["ceremonyId"], "credential": cred}))
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or_default())
}

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

    // An Authentication Administrator: no pass for a Global Administrator, nor for themselves.
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
        let at = body
            .find(&format!("id=\"{field}-error\""))
            .unwrap_or_else(|| panic!("no error next to {field}: {body}"));
        assert!(
            body.get(at..).unwrap_or_default().contains(says),
            "{field}: {body}"
        );
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

/// The logs from the attacker's side: exports are for the roles that read logs, bad filters
/// are named next to their field, and text anyone can choose (a user agent) cannot become a
/// spreadsheet formula in the CSV.
#[tokio::test]
async fn logs_filter_export_safely_and_refuse_users_without_a_log_role() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    for upn in ["reports@portcullis.local", "bob@portcullis.local"] {
        ok(d, &["users", "add", "--upn", upn]);
    }
    ok(
        d,
        &[
            "roles",
            "assign",
            "--user",
            "reports@portcullis.local",
            "--role",
            "Reports Reader",
        ],
    );
    // A refused sign-in whose user agent is a formula.
    let r = client()
        .post(s.url("/signin/tap"))
        .header("user-agent", "=HYPERLINK(\"http://evil.example\")")
        .form(&[("username", "bob@portcullis.local"), ("code", "WRONG-CODE")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let reports = support::tap_client(d, &s, "reports@portcullis.local").await;
    let get = |c: &reqwest::Client, path: &str| {
        let r = c.get(s.url(path)).send();
        async move {
            let r = r.await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (st, csv) = get(
        &reports,
        "/admin/sign-ins?user=bob%40portcullis.local&format=csv",
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let row = csv.lines().nth(1).unwrap_or_else(|| panic!("{csv}"));
    assert!(
        row.contains("\"'=HYPERLINK(\"\"http://evil.example\"\")\"") && row.contains(",failure,"),
        "neutralised and quoted: {row}"
    );
    assert_eq!(
        get(&reports, "/admin/audit?format=csv").await.0,
        StatusCode::OK
    );
    for (path, field, says) in [
        ("/admin/sign-ins?from=yesterday", "from", "not a date"),
        ("/admin/sign-ins?to=2026-13-45", "to", "not a date"),
        (
            "/admin/sign-ins?status=maybe",
            "status",
            "not Success or Failure",
        ),
        (
            "/admin/sign-ins?ca=blocked",
            "ca",
            "not a Conditional Access result",
        ),
        ("/admin/audit?from=31.12.2026", "from", "not a date"),
    ] {
        let (st, body) = get(&reports, path).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{path}");
        let at = body
            .find(&format!("id=\"{field}-error\""))
            .unwrap_or_else(|| panic!("no error next to {field}: {body}"));
        assert!(
            body.get(at..).unwrap_or_default().contains(says),
            "{path}: {body}"
        );
    }
    for path in ["/admin/sign-ins?page=-1", "/admin/audit?format=xlsx"] {
        assert_eq!(
            get(&reports, path).await.0,
            StatusCode::BAD_REQUEST,
            "{path}"
        );
    }
    // A Reports Reader reads logs, not the methods policy; a user without a role, nothing.
    assert_eq!(get(&reports, FIDO2_PAGE).await.0, StatusCode::FORBIDDEN);
    let bob = support::tap_client(d, &s, "bob@portcullis.local").await;
    for path in [
        "/admin/sign-ins",
        "/admin/sign-ins?format=csv",
        "/admin/audit",
        "/admin/audit?format=csv",
    ] {
        let (st, body) = get(&bob, path).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{path}");
        assert!(!body.contains("HYPERLINK"), "{body}");
    }
    s.stop().await;
}

/// 001's custom strength, click by click: New authentication strength → name → Passkeys
/// (FIDO2) → Advanced options → Microsoft Authenticator → Next: Review (with the R32 warning
/// while attestation is not enforced) → Create; Graph reads exactly that strength back.
#[tokio::test]
async fn the_strength_passkey_in_authenticator_is_created_through_advanced_options() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    patch_fido2(d, &json!({"isAttestationEnforced": false}));
    let b = admin_browser(&s).await;
    let c = &b.client;
    c.goto(&format!("{}/admin/strengths", s.origin()))
        .await
        .unwrap();
    assert!(text(
        c,
        "#strengths tr.strength[data-name='Phishing resistant MFA']"
    )
    .await
    .contains("Built-in"));
    click(c, "new-strength").await;
    type_into(c, "name", "Passkey in Authenticator").await;
    type_into(
        c,
        "description",
        "Passkeys in the Microsoft Authenticator app only",
    )
    .await;
    tick(c, "combination-fido2", true).await;
    c.find(Locator::Css("#advanced-options summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    tick(c, "authenticator", true).await;
    click(c, "review-button").await;
    let review = text(c, "#review").await;
    assert!(
        review.contains(AUTHN_ANDROID) && review.contains(AUTHN_IOS),
        "{review}"
    );
    assert!(
        text(c, "#warnings").await.contains("enforces attestation"),
        "R32 said before Create"
    );
    screenshot(c, "admin-strength-review").await;
    click(c, "create").await;
    assert_eq!(text(c, "#notice").await, "Authentication strength created.");
    let row = text(
        c,
        "#strengths tr.strength[data-name='Passkey in Authenticator']",
    )
    .await;
    assert!(
        row.contains("Custom") && row.contains(AUTHN_ANDROID),
        "{row}"
    );

    let token = support::token(d, None, &s.origin(), ADMIN, &["Policy.Read.All"]);
    let all: Value = client()
        .get(s.url("/v1.0/policies/authenticationStrengthPolicies"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let created = all["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["displayName"] == "Passkey in Authenticator")
        .unwrap_or_else(|| panic!("{all}"));
    assert_eq!(created["policyType"], "custom");
    assert_eq!(created["allowedCombinations"], json!(["fido2"]));
    assert_eq!(
        created["combinationConfigurations"][0]["allowedAAGUIDs"],
        json!([AUTHN_ANDROID, AUTHN_IOS])
    );
    b.close().await;
    s.stop().await;
}

/// Strengths from the attacker's side: a Global Reader lists them and cannot create, edit
/// or delete; bad input is named next to its field; a strength a policy requires is not
/// deleted, and the refusal names the policy; a built-in cannot be edited or deleted.
#[tokio::test]
async fn strengths_refuse_readers_bad_input_and_deleting_one_a_policy_requires() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    ok(d, &["users", "add", "--upn", "reader@portcullis.local"]);
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
    let post = |c: &reqwest::Client, path: &str, fields: Vec<(&'static str, String)>| {
        let r = c.post(s.url(path)).form(&fields).send();
        async move {
            let r = r.await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let strength = |name: &str, action: &str| {
        vec![
            ("name", name.to_string()),
            ("description", String::new()),
            ("combination", "fido2".to_string()),
            ("authenticator", "on".to_string()),
            ("action", action.to_string()),
        ]
    };
    let (st, _) = post(
        &admin,
        "/admin/strengths/new",
        strength("Passkey in Authenticator", "save"),
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let token = support::token(d, None, &s.origin(), ADMIN, &["Policy.Read.All"]);
    let strengths = || async {
        client()
            .get(s.url("/v1.0/policies/authenticationStrengthPolicies"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let all = strengths().await;
    let id = all["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["displayName"] == "Passkey in Authenticator")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The reader: lists, is offered nothing, and every change is refused.
    let (st, list) = {
        let r = reader.get(s.url("/admin/strengths")).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    };
    assert_eq!(st, StatusCode::OK);
    assert!(
        list.contains("id=\"read-only\"") && !list.contains("id=\"new-strength\""),
        "{list}"
    );
    for path in [
        "/admin/strengths/new".to_string(),
        format!("/admin/strengths/{id}"),
    ] {
        assert_eq!(
            post(&reader, &path, strength("Mine", "save")).await.0,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        reader
            .get(s.url("/admin/strengths/new"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    // A custom strength is shown to the reader read-only: no Review, every field disabled.
    let shown = reader
        .get(s.url(&format!("/admin/strengths/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        shown.contains("id=\"read-only\"") && !shown.contains("id=\"review-button\""),
        "{shown}"
    );
    assert_eq!(
        post(&reader, &format!("/admin/strengths/{id}/delete"), vec![])
            .await
            .0,
        StatusCode::FORBIDDEN
    );

    // Bad input, next to its field.
    let without = |mut f: Vec<(&'static str, String)>, k: &str| {
        f.retain(|(x, _)| *x != k);
        f
    };
    for (fields, status, field, says) in [
        (
            without(strength("No combination", "review"), "combination"),
            StatusCode::BAD_REQUEST,
            "combinations",
            "at least one",
        ),
        (
            with(strength("Bad model", "review"), "aaguids", "not-a-model"),
            StatusCode::BAD_REQUEST,
            "aaguids",
            "'not-a-model' is not an AAGUID",
        ),
        (
            with(
                with(
                    strength("TAP only", "review"),
                    "combination",
                    "temporaryAccessPassOneTime",
                ),
                "authenticator",
                "on",
            ),
            StatusCode::BAD_REQUEST,
            "aaguids",
            "fido2 combination",
        ),
        (
            strength("  ", "review"),
            StatusCode::BAD_REQUEST,
            "name",
            "empty",
        ),
        (
            strength("passkey in authenticator", "save"),
            StatusCode::CONFLICT,
            "name",
            "already exists",
        ),
        (
            with(
                strength("Odd", "review"),
                "combination",
                "password,carrierPigeon",
            ),
            StatusCode::BAD_REQUEST,
            "combinations",
            "not a valid",
        ),
    ] {
        let (st, body) = post(&admin, "/admin/strengths/new", fields).await;
        assert_eq!(st, status, "{field}: {body}");
        let at = body
            .find(&format!("id=\"{field}-error\""))
            .unwrap_or_else(|| panic!("no error next to {field}: {body}"));
        assert!(
            body.get(at..).unwrap_or_default().contains(says),
            "{field}: {body}"
        );
    }

    // Required by a policy: not deleted, and the page says which policy.
    let f = d.join("requires.json");
    std::fs::write(
        &f,
        json!({
            "displayName": "Payroll needs the Authenticator", "state": "enabledForReportingButNotEnforced",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "authenticationStrength": {"id": id}}
        })
        .to_string(),
    )
    .unwrap();
    ok(d, &["ca", "save", f.to_str().unwrap()]);
    let (st, body) = post(&admin, &format!("/admin/strengths/{id}/delete"), vec![]).await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(body.contains("Payroll needs the Authenticator"), "{body}");
    assert_eq!(strengths().await, all, "still there, unchanged");
    // Built-ins are not editable nor deletable.
    let builtin = "00000000-0000-0000-0000-000000000004";
    assert_eq!(
        admin
            .get(s.url(&format!("/admin/strengths/{builtin}")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(
            &admin,
            &format!("/admin/strengths/{builtin}/delete"),
            vec![]
        )
        .await
        .0,
        StatusCode::CONFLICT
    );
    s.stop().await;
}

/// The id `ca strength` printed: "Authentication strength 'NAME' (ID)".
fn strength_id(d: &Path, args: &[&str]) -> String {
    let out = ok(d, args);
    out.trim()
        .rsplit_once('(')
        .and_then(|(_, r)| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{out}"))
        .to_string()
}

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
    let in_authn = strength_id(
        d,
        &[
            "ca",
            "strength",
            "--name",
            "Passkey in Authenticator",
            "--combination",
            "fido2",
            "--aaguid",
            AUTHN_ANDROID,
            "--aaguid",
            AUTHN_IOS,
        ],
    );
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
            with(base("disabled"), "exclude_users", "ghost@portcullis.local"),
            "exclude_users",
            "No user 'ghost@portcullis.local'",
        ),
    ] {
        let (st, body) = post(&admin, new, fields).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{field}: {body}");
        let at = body
            .find(&format!("id=\"{field}-error\""))
            .unwrap_or_else(|| panic!("no error next to {field}: {body}"));
        assert!(
            body.get(at..).unwrap_or_default().contains(says),
            "{field}: {body}"
        );
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

    // Accepting the lock-out explicitly saves it.
    let mut accepted = with(base("enabled"), "action", "save-anyway");
    accepted.push(("accept_lockout", "on".into()));
    let (st, body) = post(&admin, new, accepted).await;
    assert_eq!(st, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(policies().len(), 1);
    s.stop().await;
}

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
    let in_authn = strength_id(
        d,
        &[
            "ca",
            "strength",
            "--name",
            "Passkey in Authenticator",
            "--combination",
            "fido2",
            "--aaguid",
            AUTHN_ANDROID,
            "--aaguid",
            AUTHN_IOS,
        ],
    );
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
    let strength = strength_id(
        d,
        &[
            "ca",
            "strength",
            "--name",
            "Passkey in Authenticator",
            "--combination",
            "fido2",
            "--aaguid",
            AUTHN_ANDROID,
            "--aaguid",
            AUTHN_IOS,
        ],
    );
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
    let pages = [
        ("home", "/admin".to_string()),
        ("users", "/admin/users".to_string()),
        ("user", format!("/admin/users/{bob_id}")),
        ("methods", "/admin/authentication-methods".to_string()),
        ("fido2", FIDO2_PAGE.to_string()),
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
        ("sign-ins", "/admin/sign-ins".to_string()),
        ("audit", "/admin/audit".to_string()),
    ];
    let posts = [
        FIDO2_PAGE.to_string(),
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
    let audit_before = ok(d, &["logs", "audit", "--json"]);
    for path in &posts {
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
