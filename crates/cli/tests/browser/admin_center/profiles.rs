//! Passkey profiles (R9): added from the Passkey (FIDO2) page and targeted, with Preview
//! impact and Save anyway; deleted; and the refusals.

use super::*;

/// Bob holds a Chromium passkey. A profile "Authenticator only" for All users would strand
/// him: Save waits, Save anyway saves, Graph reads the profile and its target back; deleting
/// the profile gives everyone the settings again.
#[tokio::test]
async fn a_passkey_profile_is_added_targeted_previewed_and_deleted() {
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

    let b = admin_browser(&s).await;
    let c = &b.client;
    c.goto(&format!("{}{FIDO2_PAGE}", s.origin()))
        .await
        .unwrap();
    click(c, "add-profile").await;
    type_into(c, "name", "Authenticator only").await;
    tick(c, "type-synced", false).await;
    tick(c, "enforce_keys", true).await;
    select(c, "restriction", "allow").await;
    tick(c, "authenticator", true).await;
    tick(c, "target-all_users", true).await;
    click(c, "save").await;
    assert!(text(c, "#not-saved").await.contains("strands 1 user(s)"));
    assert!(c
        .find(Locator::Css(
            "#impact tr.stranded[data-user='bob@portcullis.local']"
        ))
        .await
        .is_ok());
    assert_eq!(
        stored_fido2(d)["passkeyProfiles"],
        json!([]),
        "nothing saved"
    );
    screenshot(c, "admin-passkey-profile").await;
    click(c, "save-anyway").await;
    c.wait()
        .for_element(Locator::Id("delete-profile"))
        .await
        .unwrap();
    let saved = stored_fido2(d);
    let profile = &saved["passkeyProfiles"][0];
    assert_eq!(profile["name"], "Authenticator only");
    assert_eq!(profile["passkeyTypes"], "deviceBound");
    assert_eq!(
        profile["keyRestrictions"],
        json!({"isEnforced": true, "enforcementType": "allow", "aaGuids": [AUTHN_ANDROID, AUTHN_IOS]})
    );
    assert_eq!(
        saved["defaultPasskeyProfile"], profile["id"],
        "the first profile is the default"
    );
    assert_eq!(
        saved["includeTargets"][0]["allowedPasskeyProfiles"],
        json!([profile["id"]])
    );
    c.goto(&format!("{}{FIDO2_PAGE}", s.origin()))
        .await
        .unwrap();
    let row = text(c, "#profiles tr.profile[data-name='Authenticator only']").await;
    assert!(
        row.contains("(default)") && row.contains("All users"),
        "{row}"
    );

    // Delete: Bob's passkey works again, so nothing is stranded and it goes at once.
    c.find(Locator::LinkText("Authenticator only"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click(c, "delete-profile").await;
    c.wait()
        .for_element(Locator::Id("fido2-form"))
        .await
        .unwrap();
    let saved = stored_fido2(d);
    assert_eq!(saved["passkeyProfiles"], json!([]));
    assert_eq!(saved["defaultPasskeyProfile"], Value::Null);
    assert!(
        saved["includeTargets"][0]
            .get("allowedPasskeyProfiles")
            .is_none(),
        "{saved}"
    );
    b.close().await;
    s.stop().await;
}

/// Profiles from the attacker's side: a reader sees one and cannot change it; bad input
/// (no passkey type, a malformed AAGUID, a target the settings do not include, taking the
/// default away, a fourth profile) is refused next to its field and nothing is saved.
#[tokio::test]
async fn passkey_profiles_refuse_readers_and_bad_input() {
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
    let profile = |name: &str| {
        vec![
            ("name", name.to_string()),
            ("type", "deviceBound".to_string()),
            ("restriction", "block".to_string()),
            ("action", "save".to_string()),
        ]
    };
    let post = |c: &reqwest::Client, path: String, fields: Vec<(&'static str, String)>| {
        let r = c.post(s.url(&path)).form(&fields).send();
        async move {
            let r = r.await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let new = "/admin/authentication-methods/fido2/profiles/new".to_string();
    let (st, body) = post(&admin, new.clone(), profile("First")).await;
    assert_eq!(st, StatusCode::SEE_OTHER, "{body}");
    let first = stored_fido2(d)["passkeyProfiles"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let first_page = format!("/admin/authentication-methods/fido2/profiles/{first}");

    // The reader: the profile read-only, every change refused.
    let r = reader.get(s.url(&first_page)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"read-only\"") && html.contains("<fieldset class=\"actions\" disabled>"),
        "{html}"
    );
    assert_eq!(
        reader.get(s.url(&new)).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    for (path, action) in [
        (new.clone(), "save"),
        (first_page.clone(), "preview"),
        (first_page.clone(), "delete"),
    ] {
        let (st, _) = post(
            &reader,
            path.clone(),
            with(profile("Mine"), "action", action),
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{action} {path}");
    }

    // Bad input, next to its field.
    let before = stored_fido2(d);
    let no_type = {
        let mut f = profile("Typeless");
        f.retain(|(k, _)| *k != "type");
        f
    };
    for (path, fields, field, says) in [
        (new.clone(), no_type, "type", "at least one type"),
        (
            new.clone(),
            with(profile("Bad model"), "aaguids", "nope"),
            "aaguids",
            "'nope' is not an AAGUID",
        ),
        (
            new.clone(),
            with(
                profile("Elsewhere"),
                "target",
                "00000000-0000-0000-0000-00000000beef",
            ),
            "target",
            "not one of the Passkey (FIDO2) include targets",
        ),
        (
            first_page.clone(),
            profile("First"),
            "default",
            "make another one the default first",
        ),
        (
            new.clone(),
            profile("first"),
            "name",
            "two profiles are named",
        ),
    ] {
        let (st, body) = post(&admin, path.clone(), fields).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{field}: {body}");
        assert_error_next_to(&body, field, says);
    }
    assert_eq!(stored_fido2(d), before, "nothing saved");
    // At most three profiles, the default included.
    for name in ["Second", "Third"] {
        assert_eq!(
            post(&admin, new.clone(), profile(name)).await.0,
            StatusCode::SEE_OTHER
        );
    }
    let (st, body) = post(&admin, new.clone(), profile("Fourth")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(body.contains("at most 3"), "{body}");
    s.stop().await;
}
