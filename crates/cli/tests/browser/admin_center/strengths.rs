//! Authentication strengths: Advanced options, Review, and the refusals.

use super::*;

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
        assert_error_next_to(&body, field, says);
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

/// Preview impact (R51) on a strength: restricting to the Authenticator's AAGUIDs a strength
/// an enabled policy requires strands the user whose passkey met it — a self-reported AAGUID
/// never meets a restriction (R32). Review and Save show them; Save saves nothing (409);
/// Save anyway saves.
#[tokio::test]
async fn narrowing_a_required_strength_shows_the_stranded_user_and_save_waits_for_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    patch_fido2(
        d,
        &json!({"state": "enabled", "isAttestationEnforced": false}),
    );
    ok(d, &["users", "add", "--upn", "bob@portcullis.local"]);
    let bob = support::tap_client(d, &s, "bob@portcullis.local").await;
    let (st, body) = support::register_key(&bob, &s, &mut SoftKey::new(CHROMIUM)).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let bob_id =
        serde_json::from_str::<Value>(&ok(d, &["users", "show", "bob@portcullis.local", "--json"]))
            .unwrap()["user"]["id"]
            .as_str()
            .unwrap()
            .to_string();
    ok(
        d,
        &[
            "apps",
            "add",
            "--name",
            "Payroll",
            "--redirect-uri",
            "https://payroll.example/cb",
        ],
    );
    let id = strength_id(
        d,
        &[
            "ca",
            "strength",
            "--name",
            "Known keys",
            "--combination",
            "fido2",
        ],
    );
    let f = d.join("bob-needs-known-keys.json");
    std::fs::write(
        &f,
        json!({
            "displayName": "Bob needs a known key", "state": "enabled",
            "conditions": {"users": {"includeUsers": [bob_id]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "authenticationStrength": {"id": id}}
        })
        .to_string(),
    )
    .unwrap();
    ok(d, &["ca", "save", f.to_str().unwrap()]);
    let token = support::token(d, None, &s.origin(), ADMIN, &["Policy.Read.All"]);
    let stored = || async {
        client()
            .get(s.url(&format!(
                "/v1.0/policies/authenticationStrengthPolicies/{id}"
            )))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let before = stored().await;
    assert_eq!(
        before["combinationConfigurations"],
        json!([]),
        "any passkey"
    );

    let admin = support::tap_client(d, &s, ADMIN).await;
    let narrowed = |action: &str| {
        vec![
            ("name", "Known keys".to_string()),
            ("description", String::new()),
            ("combination", "fido2".to_string()),
            ("authenticator", "on".to_string()),
            ("action", action.to_string()),
        ]
    };
    let post = |action: &str| {
        let r = admin
            .post(s.url(&format!("/admin/strengths/{id}")))
            .form(&narrowed(action))
            .send();
        async move {
            let r = r.await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    // Review: the impact before anything is saved.
    let (st, body) = post("review").await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert!(
        body.contains("bob@portcullis.local") && body.contains("id=\"save-anyway\""),
        "{body}"
    );
    // Save alone: held, nothing saved.
    let (st, body) = post("save").await;
    assert_eq!(st, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("strands 1 user"), "{body}");
    assert_eq!(stored().await, before, "nothing saved");
    // Save anyway: saved.
    let (st, body) = post("save-anyway").await;
    assert_eq!(st, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(
        stored().await["combinationConfigurations"][0]["allowedAAGUIDs"],
        json!([AUTHN_ANDROID, AUTHN_IOS])
    );
    s.stop().await;
}
