//! R53 in Chromium: the adoption page's charts (server-rendered SVG), its CSV, and "ready to
//! enforce?" on a tenant where two users hold passkeys and one still signs in with a pass.

use super::*;

const PHISHING_RESISTANT: &str = "00000000-0000-0000-0000-000000000004";

#[tokio::test]
async fn the_adoption_page_charts_the_rollout_exports_it_and_says_who_enforcing_would_block() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    patch_fido2(
        d,
        &json!({"state": "enabled", "isAttestationEnforced": false}),
    );
    for upn in [
        "ann@portcullis.local",
        "ben@portcullis.local",
        "cid@portcullis.local",
    ] {
        ok(d, &["users", "add", "--upn", upn]);
    }
    for upn in ["ann@portcullis.local", "ben@portcullis.local"] {
        let c = support::tap_client(d, &s, upn).await;
        let mut key = SoftKey::new(CHROMIUM);
        let (st, body) = support::register_key(&c, &s, &mut key).await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
        assert_eq!(passkey_sign_in(&s, upn, &mut key).await.0, StatusCode::OK);
    }
    // Cid only ever signs in with a pass.
    let _cid = support::tap_client(d, &s, "cid@portcullis.local").await;

    let b = admin_browser(&s).await;
    b.client
        .goto(&format!("{}/admin/adoption", s.origin()))
        .await
        .unwrap();
    // Four users (the administrator too), all targeted; two hold a usable passkey today.
    assert_eq!(text(&b.client, "#holding").await, "2");
    assert_eq!(text(&b.client, "#targeted").await, "4");
    assert_eq!(
        text(&b.client, "#tap-only").await,
        "2",
        "Cid and the administrator signed in only with a pass"
    );
    // The charts are SVG drawn by the server: a line (or, on a one-day tenant, a point) per
    // series, and a bar per breakdown row.
    for chart in ["share-chart", "registrations-chart", "signins-chart"] {
        let marks = b
            .client
            .execute(
                &format!(
                    "return document.querySelectorAll('#{chart} polyline, #{chart} circle').length"
                ),
                vec![],
            )
            .await
            .unwrap();
        assert!(marks.as_u64().unwrap() >= 1, "{chart}: {marks}");
    }
    let bars = b
        .client
        .execute("return [...document.querySelectorAll('#breakdown-synced rect title, #breakdown-model rect title')].map(t => t.textContent)", vec![])
        .await
        .unwrap();
    assert!(bars.to_string().contains("2 of 4"), "{bars}");
    screenshot(&b.client, "adoption").await;
    // Its CSV says the same, day by day.
    let csv = b
        .client
        .execute(
            "return fetch('/admin/adoption/daily.csv').then(r => r.text())",
            vec![],
        )
        .await
        .unwrap();
    let csv = csv.as_str().unwrap();
    let last = csv.lines().last().unwrap();
    let cells: Vec<&str> = last.split(',').collect();
    assert_eq!(&cells[1..5], &["4", "4", "2", "50.0"], "{csv}");
    assert_eq!((cells[5], cells[6], cells[7]), ("2", "2", "2"), "{csv}");

    // Ready to enforce? Requiring phishing-resistant MFA of everyone: Ann and Ben meet it
    // already; Cid and the administrator must add a passkey first; with a pass, nobody is
    // left without a way in (the readiness engine's answer).
    select(&b.client, "strength", PHISHING_RESISTANT).await;
    click(&b.client, "check").await;
    wait_for_query(&b.client, "strength=").await;
    assert_eq!(text(&b.client, "#ready-now").await, "2");
    let must = text(&b.client, "#must-register-users").await;
    assert!(
        must.contains("cid@portcullis.local") && must.contains(ADMIN),
        "{must}"
    );
    assert!(!must.contains("ann@") && !must.contains("ben@"), "{must}");
    assert_eq!(text(&b.client, "#stranded").await, "0");
    // With passes switched off, those without a passkey would have no way in at all.
    let f = d.join("tap-off.json");
    std::fs::write(&f, r#"{"state": "disabled"}"#).unwrap();
    ok(
        d,
        &[
            "policy",
            "patch",
            "TemporaryAccessPass",
            f.to_str().unwrap(),
        ],
    );
    b.client.refresh().await.unwrap();
    let stranded = text(&b.client, "#stranded-users").await;
    assert!(stranded.contains("cid@portcullis.local"), "{stranded}");
    assert!(
        !stranded.contains("ann@") && !stranded.contains("ben@"),
        "{stranded}"
    );
    screenshot(&b.client, "adoption-ready-to-enforce").await;
    b.close().await;
    std::fs::write(&f, r#"{"state": "enabled"}"#).unwrap();
    ok(
        d,
        &[
            "policy",
            "patch",
            "TemporaryAccessPass",
            f.to_str().unwrap(),
        ],
    );

    // Bad input is a 400 with the reason; other people are kept out.
    let admin = support::tap_client(d, &s, ADMIN).await;
    for q in [
        "from=yesterday",
        "from=2026-05-02&to=2026-05-01",
        "from=1900-01-01",
    ] {
        let r = admin
            .get(s.url(&format!("/admin/adoption?{q}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{q}");
    }
    let r = admin
        .get(s.url("/admin/adoption/secrets.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let ann = support::tap_client(d, &s, "ann@portcullis.local").await;
    for path in [
        "/admin/adoption",
        "/admin/adoption/daily.csv",
        "/admin/adoption/report.json",
    ] {
        let r = ann.get(s.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    // A Reports Reader reads the report, but running the readiness engine through it takes
    // more: no strength picker is offered, and asking by hand is refused.
    ok(d, &["users", "add", "--upn", "rita@portcullis.local"]);
    ok(
        d,
        &[
            "roles",
            "assign",
            "--user",
            "rita@portcullis.local",
            "--role",
            "Reports Reader",
        ],
    );
    let rita = support::tap_client(d, &s, "rita@portcullis.local").await;
    let r = rita.get(s.url("/admin/adoption")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(
        !html.contains(r#"name="strength""#),
        "no strength picker for a reader"
    );
    let r = rita
        .get(s.url(&format!("/admin/adoption?strength={PHISHING_RESISTANT}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "the engine is not run for a reader"
    );
    let r = client()
        .get(s.url("/admin/adoption/daily.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "a visitor is sent to sign in"
    );
}

/// Ninety days of rollout written into the store the server uses — accounts created over
/// the period, passkeys registered along an S-curve (some deleted again), sign-ins moving
/// from passes to passkeys — and the charts drawn from it, screenshot in the test output.
#[tokio::test]
async fn the_adoption_charts_draw_ninety_days_of_history() {
    use portcullis_domain::directory::{Upn, User};
    use portcullis_domain::inventory::Attestation;
    use portcullis_domain::passkey::Passkey;
    use portcullis_store::passkeys::StoredPasskey;
    use portcullis_store::signins::SignInEvent;
    use time::{Duration, OffsetDateTime};

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    patch_fido2(
        d,
        &json!({"state": "enabled", "isAttestationEnforced": false}),
    );
    let store =
        portcullis_store::Store::open(&format!("sqlite://{}", d.join("portcullis.db").display()))
            .await
            .unwrap();
    let mut c = store.conn().await.unwrap();
    let now = OffsetDateTime::now_utc();
    let start = now - Duration::days(89);
    let models = [
        CHROMIUM,
        "de1e552d-db1d-4423-a619-566b625cdc84",
        "2fc0579f-8113-47ea-b116-bb5a8db9202a",
    ];
    let mut registered = 0;
    for i in 0..120i64 {
        let created = start + Duration::hours(i * 12);
        let user = User {
            id: uuid::Uuid::new_v4(),
            user_principal_name: Upn::parse(&format!("user{i}@portcullis.local")).unwrap(),
            display_name: format!("User {i}"),
            account_enabled: true,
            created_date_time: created,
        };
        portcullis_store::directory::insert_user(&mut c, &user)
            .await
            .unwrap();
        // Adoption follows an S-curve: early users register late, later ones sooner.
        if i % 5 == 4 {
            continue;
        }
        let at = created + Duration::days(30 - (i / 5).min(25)) + Duration::minutes(i);
        if at > now {
            continue;
        }
        let id = uuid::Uuid::new_v4();
        portcullis_store::passkeys::insert(
            &mut c,
            &StoredPasskey {
                passkey: Passkey {
                    id,
                    user_id: user.id,
                    credential_id: id.to_string(),
                    aaguid: models[usize::try_from(i).unwrap() % 3].parse().unwrap(),
                    display_name: "generated".into(),
                    fmt: "none".into(),
                    attested: i % 2 == 0,
                    synced: i % 3 == 0,
                    created_at: at,
                    last_used_at: None,
                    sign_count: 0,
                    device: None,
                    device_profile: (i % 7 == 0).then(|| "work".into()),
                    flagged_clone: false,
                    disabled: false,
                },
                credential_json: "{}".into(),
                x5c: vec![],
                profile_id: None,
                deleted: None,
                attestation: Attestation::None,
                backed_up: None,
                client: Default::default(),
            },
        )
        .await
        .unwrap();
        registered += 1;
        if i % 11 == 0 {
            portcullis_store::passkeys::delete(
                &mut c,
                id,
                "generator",
                at + Duration::days(5).min(now - at),
            )
            .await
            .unwrap();
        }
        // A pass to register with, then a passkey sign-in every few days.
        let mut t = created + Duration::hours(1);
        while t < now {
            let passkey = t >= at;
            portcullis_store::signins::append(
                &mut c,
                &SignInEvent {
                    id: String::new(),
                    created_date_time: t,
                    user_id: Some(user.id),
                    user_principal_name: user.user_principal_name.to_string(),
                    method: if passkey {
                        "passkey"
                    } else {
                        "temporaryAccessPass"
                    }
                    .into(),
                    ip_address: "192.0.2.1".into(),
                    user_agent: "generator".into(),
                    error_code: 0,
                    failure_code: None,
                    failure_reason: None,
                    app_id: None,
                    app_display_name: None,
                    conditional_access_status: None,
                    applied_conditional_access_policies: None,
                    passkey_aaguid: None,
                    passkey_attested: None,
                    passkey_client: None,
                },
            )
            .await
            .unwrap();
            t += Duration::days(3);
        }
    }
    drop(c);
    assert!(registered > 50);

    let b = admin_browser(&s).await;
    let from = start.date().to_string();
    b.client
        .goto(&format!("{}/admin/adoption?from={from}", s.origin()))
        .await
        .unwrap();
    for chart in ["share-chart", "registrations-chart", "signins-chart"] {
        // One point per day.
        let points = b
            .client
            .execute(&format!("return document.querySelector('#{chart} polyline').getAttribute('points').trim().split(' ').length"), vec![])
            .await
            .unwrap();
        assert_eq!(points, json!(90), "{chart}");
        b.client
            .execute(
                &format!("document.getElementById('{chart}').scrollIntoView()"),
                vec![],
            )
            .await
            .unwrap();
        screenshot(&b.client, &format!("adoption-90-days-{chart}")).await;
    }
    b.client
        .execute(
            "document.getElementById('breakdown-platform').scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
    screenshot(&b.client, "adoption-90-days-breakdown").await;
    // The share rises over the period.
    let csv = b
        .client
        .execute(
            &format!("return fetch('/admin/adoption/daily.csv?from={from}').then(r => r.text())"),
            vec![],
        )
        .await
        .unwrap();
    let shares: Vec<f64> = csv
        .as_str()
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(4).unwrap().parse().unwrap())
        .collect();
    assert_eq!(shares.len(), 90);
    assert!(
        shares[89] > shares[30] && shares[30] >= shares[0],
        "{shares:?}"
    );
    b.close().await;
}
