//! R52 (the inventory: CLI, HTTP stream, filters, who sees what) and R26 (disable and enable,
//! singly and in bulk, refused at sign-in and audited), against the real binary.

use super::*;
use std::collections::BTreeSet;

const BOB: &str = "bob@portcullis.local";
const CAROL: &str = "carol@portcullis.local";

fn ids(rows: &[Value]) -> BTreeSet<String> {
    rows.iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// Bob holds a Chromium passkey; Carol, a member of Pilots, one of another model; the
/// administrator one of each. Returns the group's id and each passkey's id with its key.
struct Tenant {
    pilots: String,
    bob: (String, SoftKey),
    carol: String,
    admin: Vec<String>,
    /// The administrator, signed in (the bootstrap pass is one-time).
    admin_client: reqwest::Client,
}

async fn tenant(d: &Path, s: &Server) -> Tenant {
    patch_fido2(d, r#"{"state": "enabled", "isAttestationEnforced": false}"#);
    for u in [BOB, CAROL] {
        ok(d, &["users", "add", "--upn", u]);
    }
    ok(d, &["groups", "add", "Pilots"]);
    ok(
        d,
        &[
            "groups", "members", "add", "--group", "Pilots", "--user", CAROL,
        ],
    );
    let groups: Value = serde_json::from_str(&ok(d, &["groups", "list", "--json"])).unwrap();
    let pilots = groups[0]["id"].as_str().unwrap().to_string();
    let mut bob_key = SoftKey::new(CHROMIUM);
    let (st, b) =
        support::register_key(&support::tap_client(d, s, BOB).await, s, &mut bob_key).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let (st, c) = support::register_key(
        &support::tap_client(d, s, CAROL).await,
        s,
        &mut SoftKey::new(OTHER),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    let a = admin(s).await;
    let mut admin_ids = vec![];
    for model in [CHROMIUM, OTHER] {
        let (st, v) = register(&a, s, &mut SoftKey::new(model), &Quirks::default()).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        admin_ids.push(v["id"].as_str().unwrap().to_string());
    }
    Tenant {
        pilots,
        bob: (b["id"].as_str().unwrap().to_string(), bob_key),
        carol: c["id"].as_str().unwrap().to_string(),
        admin: admin_ids,
        admin_client: a,
    }
}

#[tokio::test]
async fn r52_the_cli_and_the_http_stream_list_every_passkey_and_filter_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let mut t = tenant(d, &s).await;

    // Every passkey, one JSON object per line, with the columns the rule names.
    let all = jsonl(&ok(d, &["inventory", "passkeys"]));
    assert_eq!(all.len(), 4);
    let bob = all.iter().find(|r| r["id"] == t.bob.0.as_str()).unwrap();
    assert_eq!(bob["userPrincipalName"], BOB);
    assert_eq!(bob["aaGuid"], CHROMIUM);
    assert_eq!(bob["model"], "Chromium virtual authenticator");
    assert_eq!(bob["attestation"], "none");
    assert_eq!(bob["attested"], false);
    assert_eq!(bob["state"], "enabled");
    assert_eq!(bob["usable"], true);
    assert!(bob["lastUsedDateTime"].is_null() && bob["createdDateTime"].is_string());
    for k in [
        "backupEligible",
        "backedUp",
        "device",
        "deviceProfile",
        "unusableReason",
    ] {
        assert!(bob.get(k).is_some(), "{k}");
    }

    // Each filter, over the CLI.
    let only = |args: &[&str]| {
        let mut a = vec!["inventory", "passkeys"];
        a.extend_from_slice(args);
        ids(&jsonl(&ok(d, &a)))
    };
    assert_eq!(
        only(&["--aaguid", OTHER]),
        BTreeSet::from([t.carol.clone(), t.admin[1].clone()])
    );
    assert_eq!(only(&["--model", "chromium"]).len(), 2);
    assert_eq!(
        only(&["--group", &t.pilots]),
        BTreeSet::from([t.carol.clone()])
    );
    assert_eq!(only(&["--attested", "true"]), BTreeSet::new());
    // Bob signs in: his passkey was used after 2000; the others never were, which counts.
    let (st, v) = passkey_sign_in(&s, Some(BOB), &mut t.bob.1, &Quirks::default()).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let unused = only(&["--unused-since", "2000-01-01"]);
    assert_eq!(unused.len(), 3, "never used counts");
    assert!(!unused.contains(&t.bob.0), "used since");
    assert_eq!(
        only(&["--synced", "false"]).len(),
        4,
        "software passkeys are device-bound"
    );
    assert!(only(&["--synced", "true"]).is_empty());
    // R5 blocks a model: those passkeys are unusable, and say why.
    patch_fido2(
        d,
        &format!(
            r#"{{"keyRestrictions": {{"isEnforced": true, "enforcementType": "block", "aaGuids": ["{OTHER}"]}}}}"#
        ),
    );
    let unusable = jsonl(&ok(d, &["inventory", "passkeys", "--usable", "false"]));
    assert_eq!(
        ids(&unusable),
        BTreeSet::from([t.carol.clone(), t.admin[1].clone()])
    );
    assert!(unusable.iter().all(|r| r["unusableCode"] == "keyRestricted"
        && r["unusableReason"].as_str().unwrap().contains("blocked")));
    // Under a proposal that unblocks it and blocks Chromium instead: both answers side by side.
    let proposal = d.join("proposal.json");
    std::fs::write(
        &proposal,
        format!(r#"{{"keyRestrictions": {{"isEnforced": true, "enforcementType": "block", "aaGuids": ["{CHROMIUM}"]}}}}"#),
    )
    .unwrap();
    let both = jsonl(&ok(
        d,
        &[
            "inventory",
            "passkeys",
            "--proposed",
            proposal.to_str().unwrap(),
        ],
    ));
    assert_eq!(both.len(), 4, "every passkey, judged both ways");
    for r in &both {
        let chromium = r["aaGuid"] == CHROMIUM;
        assert_eq!(r["usable"], chromium, "{r}");
        assert_eq!(r["proposedUsable"], !chromium, "{r}");
    }
    // CSV: a header, then a row each; to a file, saying how many.
    let csv = ok(d, &["inventory", "passkeys", "--format", "csv"]);
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("userId,userPrincipalName,id,aaGuid,model,attestation,attested"));
    assert_eq!(lines.count(), 4);
    let file = d.join("out.csv");
    let (st, _, err) = cli(
        d,
        None,
        &[
            "inventory",
            "passkeys",
            "--format",
            "csv",
            "--output",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(st, 0, "{err}");
    assert!(err.contains("4 passkeys written"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), csv);
    // A filter that does not parse is a usage error that names it, and writes nothing.
    for (flag, value) in [
        ("--usable", "maybe"),
        ("--aaguid", "x"),
        ("--unused-since", "soon"),
        ("--state", "off"),
    ] {
        let (st, out, err) = cli(d, None, &["inventory", "passkeys", flag, value]);
        assert_eq!(st, 2, "{flag}: {err}");
        assert!(out.is_empty() && err.contains(&flag[2..]), "{flag}: {err}");
    }

    // Over HTTP: the same rows, streamed.
    let token = support::token(
        d,
        None,
        &s.origin(),
        ADMIN,
        &["UserAuthenticationMethod.Read.All"],
    );
    let get = |q: &str, token: Option<&str>| {
        let mut r = client().get(s.url(&format!("/api/admin/inventory/passkeys{q}")));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let r = get("?format=jsonl", Some(&token)).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    assert_eq!(
        r.headers()
            .get("transfer-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("chunked")
    );
    assert_eq!(
        jsonl(&r.text().await.unwrap()),
        jsonl(&ok(d, &["inventory", "passkeys"]))
    );
    let r = get(&format!("?format=csv&aaguid={OTHER}"), Some(&token))
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(r.text().await.unwrap().lines().count(), 3);
    // The attacker's side: no token, a token without the scope, bad parameters.
    assert_eq!(
        get("", None).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let wrong = support::token(d, None, &s.origin(), ADMIN, &["Policy.Read.All"]);
    assert_eq!(
        get("", Some(&wrong)).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    for q in ["?format=xml", "?usable=maybe", "?group=Pilots", "?select=*"] {
        let r = get(q, Some(&token)).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{q}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(code(&v), "Request_BadRequest", "{q}: {v}");
    }
    // Graph's summary of who registered what, from the same details as
    // userRegistrationDetails: the administrator, Bob and Carol each hold a device-bound passkey.
    let reports = support::token(d, None, &s.origin(), ADMIN, &["AuditLog.Read.All"]);
    let summary = |args: &str| {
        client()
            .get(s.url(&format!(
                "/v1.0/reports/authenticationMethods/usersRegisteredByMethod{args}"
            )))
            .bearer_auth(&reports)
            .send()
    };
    let count = |v: &Value, m: &str| {
        v["userRegistrationMethodCounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["authenticationMethod"] == m)
            .map_or(0, |c| c["userCount"].as_u64().unwrap())
    };
    let every: Value = summary("()").await.unwrap().json().await.unwrap();
    assert_eq!(
        (
            every["totalUserCount"].as_u64(),
            count(&every, "passKeyDeviceBound")
        ),
        (Some(3), 3),
        "{every}"
    );
    let users: Value = summary("(includedUserTypes='all',includedUserRoles='user')")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            users["totalUserCount"].as_u64(),
            count(&users, "passKeyDeviceBound")
        ),
        (Some(2), 2),
        "{users}"
    );
    let r = summary("(includedUserTypes='robots',includedUserRoles='all')")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // An Authentication Administrator streams everyone's passkeys but the administrator's.
    ok(d, &["users", "add", "--upn", "helpdesk@portcullis.local"]);
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
    let helpdesk = support::token(
        d,
        None,
        &s.origin(),
        "helpdesk@portcullis.local",
        &["UserAuthenticationMethod.Read.All"],
    );
    let seen = ids(&jsonl(
        &get("", Some(&helpdesk))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    ));
    assert_eq!(seen, BTreeSet::from([t.bob.0.clone(), t.carol.clone()]));
    s.stop().await;
}

#[tokio::test]
async fn r26_a_disabled_passkey_is_kept_refused_with_the_reason_and_audited_singly_and_in_bulk() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let mut t = tenant(d, &s).await;
    let (st, _) = passkey_sign_in(&s, Some(BOB), &mut t.bob.1, &Quirks::default()).await;
    assert_eq!(st, StatusCode::OK);

    // Singly, through the CLI: refused at sign-in with the reason, kept, audited.
    ok(d, &["passkeys", "disable", "--user", BOB, "--id", &t.bob.0]);
    let (st, v) = passkey_sign_in(&s, None, &mut t.bob.1, &Quirks::default()).await;
    assert_eq!(code(&v), "passkeyDisabled", "{st}: {v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("administrator has disabled"),
        "{v}"
    );
    // R28: the refusal's log entry names the passkey's model, and whether its AAGUID is
    // attested; Graph's signIn carries both in authenticationDetails.
    let log: Value =
        serde_json::from_str(&ok(d, &["logs", "signins", "--json", "--limit", "1"])).unwrap();
    assert_eq!(log[0]["failureCode"], "passkeyDisabled", "{log}");
    assert_eq!(
        (&log[0]["passkeyAaguid"], &log[0]["passkeyAttested"]),
        (&json!(CHROMIUM), &json!(false)),
        "{log}"
    );
    let token = support::token(d, None, &s.origin(), ADMIN, &["AuditLog.Read.All"]);
    let signins: Value = client()
        .get(s.url("/v1.0/auditLogs/signIns?$top=1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let detail = signins["value"][0]["authenticationDetails"][0]["authenticationMethodDetail"]
        .as_str()
        .unwrap_or_else(|| panic!("{signins}"))
        .to_string();
    assert!(
        detail.contains("Chromium virtual authenticator")
            && detail.contains(CHROMIUM)
            && detail.contains("self-reported"),
        "{detail}"
    );
    let row = jsonl(&ok(d, &["inventory", "passkeys", "--state", "disabled"]));
    assert_eq!(ids(&row), BTreeSet::from([t.bob.0.clone()]));
    assert_eq!(
        (&row[0]["usable"], &row[0]["unusableCode"]),
        (&json!(false), &json!("passkeyDisabled"))
    );
    let audit: Vec<Value> = serde_json::from_str(&ok(d, &["logs", "audit", "--json"])).unwrap();
    let disabled: Vec<&Value> = audit
        .iter()
        .filter(|e| e.to_string().contains("Admin disabled security info"))
        .collect();
    assert_eq!(disabled.len(), 1, "one record");
    let record = disabled[0].to_string();
    assert!(
        record.contains("Chromium virtual authenticator")
            && record.contains(CHROMIUM)
            && record.contains("aaGuidAttested"),
        "R28: the disable record names the model, AAGUID and attested: {record}"
    );
    // Security info tells Bob.
    let bob = support::tap_client(d, &s, BOB).await;
    let page = get_following(&bob, &s, "/security-info")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("administrator has disabled this passkey"),
        "{page}"
    );
    // Disabling again changes nothing and logs nothing.
    let out = ok(d, &["passkeys", "disable", "--user", BOB, "--id", &t.bob.0]);
    assert!(out.contains("nothing changed"), "{out}");
    assert_eq!(
        ok(d, &["logs", "audit", "--json"])
            .matches("Admin disabled security info")
            .count(),
        1,
        "nothing logged"
    );
    // Enabled again: it signs in.
    ok(d, &["passkeys", "enable", "--user", BOB, "--id", &t.bob.0]);
    let (st, v) = passkey_sign_in(&s, Some(BOB), &mut t.bob.1, &Quirks::default()).await;
    assert_eq!(st, StatusCode::OK, "{v}");

    // On the user's page: Disable and Enable post here. The attacker's side: another user's
    // passkey under Bob's address, and the administrator's own passkey, change nothing.
    let a = &t.admin_client;
    let state = |user: &str, id: &str, to: &str| {
        a.post(s.url(&format!("/admin/users/{user}/passkeys/{id}/state")))
            .form(&[("state", to)])
            .send()
    };
    let disabled_now = || {
        ids(&jsonl(&ok(
            d,
            &["inventory", "passkeys", "--state", "disabled"],
        )))
    };
    assert_eq!(
        state(BOB, &t.bob.0, "disabled").await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(disabled_now(), BTreeSet::from([t.bob.0.clone()]));
    assert_eq!(
        state(BOB, &t.bob.0, "enabled").await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    assert!(disabled_now().is_empty());
    let r = state(BOB, &t.carol, "disabled").await.unwrap();
    assert!(
        r.status().is_client_error(),
        "Carol's passkey under Bob: {}",
        r.status()
    );
    let r = state(ADMIN, &t.admin[0], "disabled").await.unwrap();
    assert!(
        r.status().is_client_error(),
        "their own passkey: {}",
        r.status()
    );
    assert_eq!(
        state(BOB, &t.bob.0, "off").await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    assert!(disabled_now().is_empty(), "none of those changed anything");

    // In bulk, by filter: the count first, then only that count.
    let (st, out, _) = cli(d, None, &["inventory", "disable", "--aaguid", CHROMIUM]);
    assert_eq!(st, 2);
    assert!(out.contains("2 passkeys to disable"), "{out}");
    let (st, _, err) = cli(
        d,
        None,
        &[
            "inventory",
            "disable",
            "--aaguid",
            CHROMIUM,
            "--confirm",
            "3",
        ],
    );
    assert_eq!(st, 2);
    assert!(
        err.contains("select 2 passkeys") && err.contains("nothing was changed"),
        "{err}"
    );
    assert!(jsonl(&ok(d, &["inventory", "passkeys", "--state", "disabled"])).is_empty());
    ok(
        d,
        &[
            "inventory",
            "disable",
            "--aaguid",
            CHROMIUM,
            "--confirm",
            "2",
        ],
    );
    let disabled = ids(&jsonl(&ok(
        d,
        &["inventory", "passkeys", "--state", "disabled"],
    )));
    assert_eq!(
        disabled,
        BTreeSet::from([t.bob.0.clone(), t.admin[0].clone()])
    );

    // In the admin center: the count, then the change, by the same filter. The administrator
    // signed in does not change their own passkey (nobody manages their own methods through
    // administrator rights): one of the two.
    let page = a
        .get(s.url(&format!(
            "/admin/inventory/change?to=enabled&aaguid={CHROMIUM}"
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<span id=\"count\">1</span>"), "{page}");
    let form = |expected: &str| {
        vec![
            ("to", "enabled".to_string()),
            ("aaguid", CHROMIUM.to_string()),
            ("expected", expected.to_string()),
        ]
    };
    let r = a
        .post(s.url("/admin/inventory/change"))
        .form(&form("5"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CONFLICT,
        "a stale count changes nothing"
    );
    assert_eq!(
        jsonl(&ok(d, &["inventory", "passkeys", "--state", "disabled"])).len(),
        2
    );
    // A Global Reader may look and may not change.
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
    let reader = support::tap_client(d, &s, "reader@portcullis.local").await;
    let r = reader
        .post(s.url("/admin/inventory/change"))
        .form(&form("1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        jsonl(&ok(d, &["inventory", "passkeys", "--state", "disabled"])).len(),
        2
    );
    let r = a
        .post(s.url("/admin/inventory/change"))
        .form(&form("1"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let still = ids(&jsonl(&ok(
        d,
        &["inventory", "passkeys", "--state", "disabled"],
    )));
    assert_eq!(
        still,
        BTreeSet::from([t.admin[0].clone()]),
        "their own stays as it was"
    );
    let audit = ok(d, &["logs", "audit", "--json"]);
    assert_eq!(
        audit.matches("Admin enabled security info").count(),
        3,
        "one record per passkey: the CLI's, the page's, the bulk one"
    );
    s.stop().await;
}
