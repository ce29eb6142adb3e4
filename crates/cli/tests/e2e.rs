//! End-to-end: the real binary, its HTTP server and its CLI, on SQLite and PostgreSQL.

// A test crate: a failed assumption is a failed test (the product denies these, Cargo.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use portcullis_testkit::fresh_postgres_url;
use reqwest::StatusCode;
use support::{cli, client, code_from, sign_in, Server};

/// SQLite (the default: nothing but a data dir), then PostgreSQL.
async fn databases() -> Vec<(&'static str, Option<portcullis_testkit::FreshPostgres>)> {
    vec![
        ("sqlite", None),
        ("postgres", Some(fresh_postgres_url().await)),
    ]
}

#[tokio::test]
async fn bootstrap_pass_signs_the_administrator_in_and_a_restart_prints_no_new_pass() {
    for (name, db) in databases().await {
        let dir = tempfile::tempdir().unwrap();
        let s = Server::start(dir.path(), db.as_deref()).await;
        let tap = s
            .tap
            .clone()
            .unwrap_or_else(|| panic!("{name}: first start prints a pass: {:?}", s.banner));
        assert!(
            s.banner
                .iter()
                .any(|l| l.contains(&format!("http://localhost:{}/signin", s.port))),
            "{name}: prints where to sign in"
        );
        // Issue 12, point 9: standard output is a pipe here (a log collector, perhaps): the
        // pass is in a file only this account can read, and the output has only its path.
        assert!(
            !s.banner.iter().any(|l| l.contains(&tap)),
            "{name}: the pass is not printed to a pipe"
        );
        {
            use std::os::unix::fs::PermissionsExt;
            let file = dir.path().join("bootstrap-tap.txt");
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(
                mode & 0o777,
                0o600,
                "{name}: {file:?} is the operator's alone"
            );
        }
        let c = client();
        let page = c.get(s.url("/signin")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.text().await.unwrap().contains("Temporary Access Pass"));

        let r = sign_in(&c, &s, "admin@portcullis.local", &tap).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{name}");
        assert_eq!(r.headers()["location"], "/me");
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        assert!(
            !cookie.contains("Secure"),
            "plain-HTTP localhost cookies are not Secure: {cookie}"
        );
        let me = c.get(s.url("/me")).send().await.unwrap();
        assert_eq!(me.status(), StatusCode::OK);
        let body = me.text().await.unwrap();
        assert!(
            body.contains("Signed in as Administrator") && body.contains("admin@portcullis.local"),
            "{name}: {body}"
        );

        // The bootstrap pass is one-time.
        let again = sign_in(&client(), &s, "admin@portcullis.local", &tap).await;
        assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
        assert!(again.text().await.unwrap().contains("already been used"));

        assert!(
            s.stop().await.success(),
            "{name}: SIGTERM stops the server cleanly"
        );
        let s2 = Server::start(dir.path(), db.as_deref()).await;
        assert_eq!(
            s2.tap, None,
            "{name}: a restart prints no new pass: {:?}",
            s2.banner
        );
        assert!(!s2
            .banner
            .iter()
            .any(|l| l.contains("Temporary Access Pass")));
        let me = c.get(s2.url("/me")).send().await.unwrap();
        assert_eq!(
            me.status(),
            StatusCode::OK,
            "{name}: the session survives a restart"
        );
        s2.stop().await;
    }
}

#[tokio::test]
async fn acknowledged_writes_survive_sigkill() {
    for (name, db) in databases().await {
        let dir = tempfile::tempdir().unwrap();
        let db = db.as_deref();
        // 1. The bootstrap pass, acknowledged by being printed, then SIGKILL at once.
        let s = Server::start(dir.path(), db).await;
        let admin_tap = s.tap.clone().expect("bootstrap pass");
        s.kill9().await;

        // 2. A pass created and acknowledged while the server runs, then SIGKILL.
        let s = Server::start(dir.path(), db).await;
        assert_eq!(
            cli(
                dir.path(),
                db,
                &["users", "add", "--upn", "bob@portcullis.local"]
            )
            .0,
            0
        );
        let (st, out, err) = cli(
            dir.path(),
            db,
            &["tap", "create", "--user", "bob@portcullis.local", "--once"],
        );
        assert_eq!(st, 0, "{name}: {err}");
        let bob_tap = code_from(&out);
        s.kill9().await;

        // 3. A sign-in answered as done (one-time pass consumed, session issued), then SIGKILL.
        let s = Server::start(dir.path(), db).await;
        let c = client();
        assert_eq!(
            sign_in(&c, &s, "bob@portcullis.local", &bob_tap)
                .await
                .status(),
            StatusCode::SEE_OTHER,
            "{name}: bob's pass survived"
        );
        s.kill9().await;

        let s = Server::start(dir.path(), db).await;
        assert_eq!(s.tap, None, "{name}: no second bootstrap after a crash");
        assert_eq!(
            c.get(s.url("/me")).send().await.unwrap().status(),
            StatusCode::OK,
            "{name}: bob's session survived"
        );
        let reuse = sign_in(&client(), &s, "bob@portcullis.local", &bob_tap).await;
        assert_eq!(
            reuse.status(),
            StatusCode::UNAUTHORIZED,
            "{name}: the consumption survived"
        );
        assert_eq!(
            sign_in(&client(), &s, "admin@portcullis.local", &admin_tap)
                .await
                .status(),
            StatusCode::SEE_OTHER,
            "{name}: the bootstrap pass survived"
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn bad_http_input_gets_a_clear_4xx_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), None).await;
    let tap = s.tap.clone().unwrap();
    let c = client();

    let big = "x".repeat(100 * 1024);
    let r = c
        .post(s.url("/signin/tap"))
        .form(&[
            ("username", "admin@portcullis.local"),
            ("code", big.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.text().await.unwrap().contains("too large"));

    let r = c
        .post(s.url("/signin/tap"))
        .form(&[("username", "admin@portcullis.local")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("The form could not be read"));

    let r = c
        .post(s.url("/signin/tap"))
        .header("content-type", "application/json")
        .body(r#"{"username":"a"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let r = c
        .post(s.url("/signin/tap"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=%ZZ&code=%")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());

    let r = sign_in(&c, &s, "not a username", "whatever").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("name@domain"));

    let r = sign_in(&c, &s, "nobody@portcullis.local", "whatever").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("The username or the Temporary Access Pass is not correct"),
        "one answer to an unknown name, a missing pass and a wrong code"
    );

    let r = c
        .post(s.url("/signin/tap"))
        .header("origin", "https://evil.example")
        .form(&[
            ("username", "admin@portcullis.local"),
            ("code", tap.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "cross-site form posts are refused"
    );

    let r = c
        .get(s.url("/me"))
        .header("cookie", "portcullis_session=forged")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "a forged cookie is no session"
    );
    assert_eq!(
        c.get(s.url("/no/such/page")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let h = c.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(h.status(), StatusCode::OK);
    assert_eq!(h.json::<serde_json::Value>().await.unwrap()["status"], "ok");

    // None of it consumed the one-time bootstrap pass or opened a session.
    assert_eq!(
        c.get(s.url("/me")).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        sign_in(&c, &s, "admin@portcullis.local", &tap)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    s.stop().await;
}

#[tokio::test]
async fn r13_lock_out_over_http_answers_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    // The file sets the window and 3 failures; the environment overrides the failures to 2.
    let file = dir.path().join("p.toml");
    std::fs::write(&file, "[lockout]\nmax_failures_per_user = 3\nmax_failures_per_source = 50\nwindow_seconds = 600\n").unwrap();
    let port = support::free_port();
    let mut child = tokio::process::Command::new(support::bin())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--public-url",
            &format!("http://localhost:{port}"),
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .arg("--config")
        .arg(&file)
        .env("PORTCULLIS_LOCKOUT__MAX_FAILURES_PER_USER", "2")
        .env("PORTCULLIS_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let c = client();
    let url = format!("http://127.0.0.1:{port}/signin/tap");
    for _ in 0..100 {
        if c.get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let post = || {
        c.post(&url)
            .form(&[
                ("username", "admin@portcullis.local"),
                ("code", "WRONGCODE"),
            ])
            .send()
    };
    assert_eq!(post().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let locked = post().await.unwrap();
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 600, "{retry}");
    assert!(locked
        .text()
        .await
        .unwrap()
        .contains("Too many wrong attempts"));
    child.kill().await.unwrap();
    let (_, out, _) = cli(dir.path(), None, &["logs", "signins", "--json"]);
    let events: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["failureCode"] == "lockedOut" && e["errorCode"] == 50053),
        "the lock-out is in the sign-in log: {out}"
    );
}

/// R60: anonymous requests are bounded. Sign-in options, sign-in answers and TAP attempts are
/// rate-limited per
/// source (429 with Retry-After, in each surface's error shape; another source is not
/// affected), and the server deletes expired ceremonies on its own schedule (at start, then
/// every few minutes).
#[tokio::test]
async fn anonymous_requests_are_rate_limited_per_source_and_expired_ceremonies_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A ceremony that expired an hour ago, left by an earlier run.
    let stale = uuid::Uuid::new_v4();
    {
        let store = portcullis_store::Store::open(&portcullis_store::sqlite_url_for(d))
            .await
            .unwrap();
        let mut c = store.conn().await.unwrap();
        let now = portcullis_domain::Timestamp::now_utc();
        portcullis_store::ceremonies::insert(
            &mut c,
            stale,
            &portcullis_store::ceremonies::Ceremony {
                kind: "register".into(),
                user_id: None,
                state: "{}".into(),
                expires_at: now - time::Duration::hours(1),
            },
            now - time::Duration::hours(2),
        )
        .await
        .unwrap();
        // And the mark of a sealed sign-in ceremony that expired longer ago than marks are
        // kept (an hour past expiry, for nodes' clocks that differ).
        assert!(
            portcullis_store::ceremonies::spend(&mut c, stale, now - time::Duration::hours(2))
                .await
                .unwrap()
        );
        drop(c);
        store.close().await;
    }
    let s = Server::start_env(
        d,
        None,
        &[
            (
                "PORTCULLIS_RATE_LIMIT__SIGN_IN_OPTIONS_PER_MINUTE",
                "5".into(),
            ),
            ("PORTCULLIS_RATE_LIMIT__TAP_ATTEMPTS_PER_MINUTE", "3".into()),
            (
                "PORTCULLIS_RATE_LIMIT__SIGN_IN_ANSWERS_PER_MINUTE",
                "4".into(),
            ),
            ("PORTCULLIS_TRUSTED_PROXIES", r#"["127.0.0.0/8"]"#.into()),
        ],
    )
    .await;
    let c = client();
    let options = |from: &'static str| {
        let (c, url) = (c.clone(), s.url("/api/signin/passkey/options"));
        async move {
            c.post(url)
                .header("x-forwarded-for", from)
                .json(&serde_json::json!({}))
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..5 {
        assert_eq!(options("203.0.113.9").await.status(), StatusCode::OK);
    }
    let r = options("203.0.113.9").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "tooManyRequests", "{v}");
    assert_eq!(
        options("198.51.100.7").await.status(),
        StatusCode::OK,
        "another source is not affected"
    );
    assert_eq!(
        options("2001:db8:1:2::1").await.status(),
        StatusCode::OK,
        "an IPv6 /64 is one source"
    );
    for _ in 0..4 {
        options("2001:db8:1:2::ffff").await;
    }
    assert_eq!(
        options("2001:db8:1:2::abcd").await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "rotating the interface id of one /64 does not reset its limit"
    );

    // Sign-in answers too: a malformed one spends no ceremony but is logged, so one
    // ceremony could otherwise be answered (and logged) without end.
    let (_, o) = {
        let r = options("192.0.2.77").await;
        (r.status(), r.json::<serde_json::Value>().await.unwrap())
    };
    let answer = || {
        let (c, url) = (c.clone(), s.url("/api/signin/passkey"));
        let body = serde_json::json!({"ceremonyId": o["ceremonyId"], "credential": {"id": "x"}});
        async move {
            c.post(url)
                .header("x-forwarded-for", "192.0.2.77")
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..4 {
        assert_eq!(answer().await.status(), StatusCode::BAD_REQUEST);
    }
    let r = answer().await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));

    let tap = |code: &'static str| {
        let (c, url) = (c.clone(), s.url("/signin/tap"));
        async move {
            c.post(url)
                .header("x-forwarded-for", "192.0.2.44")
                .form(&[("username", "nobody@portcullis.local"), ("code", code)])
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..3 {
        assert_eq!(tap("WRONG123").await.status(), StatusCode::UNAUTHORIZED);
    }
    let r = tap("WRONG123").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));

    // The expired ceremony is gone: the server's housekeeping ran at start.
    let mut gone = false;
    for _ in 0..50 {
        let store = portcullis_store::Store::open(&portcullis_store::sqlite_url_for(d))
            .await
            .unwrap();
        let mut c = store.conn().await.unwrap();
        let now = portcullis_domain::Timestamp::now_utc();
        let left = portcullis_store::ceremonies::take(&mut c, stale, "register", now)
            .await
            .unwrap();
        // Spending it again succeeds only once its mark is gone.
        let mark_gone = left.is_none()
            && portcullis_store::ceremonies::spend(&mut c, stale, now - time::Duration::hours(2))
                .await
                .unwrap();
        drop(c);
        store.close().await;
        if mark_gone {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        gone,
        "the server pruned the expired ceremony and the spent mark"
    );
    s.stop().await;
}

/// Issue 12, point 9: debug request logs never carry an authorization code, an
/// id_token_hint or a refresh token.
#[tokio::test]
async fn debug_request_logs_redact_codes_and_hints() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let s = Server::start_logging(
        dir.path(),
        None,
        &[("PORTCULLIS_LOG", "debug".into())],
        std::process::Stdio::from(std::fs::File::create(&log).unwrap()),
    )
    .await;
    let c = client();
    sign_in(&c, &s, "admin@portcullis.local", s.tap.as_deref().unwrap()).await;
    // Security info's own sign-in: its callback carries a code in the query string.
    let page = support::get_following(&c, &s, "/security-info").await;
    assert_eq!(page.status(), StatusCode::OK);
    let hint = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.SECRETHINT";
    c.get(s.url(&format!("/oauth2/v2.0/logout?id_token_hint={hint}")))
        .send()
        .await
        .unwrap();
    s.stop().await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("/security-info/callback?code=REDACTED"),
        "the callback was logged, redacted"
    );
    assert!(!text.contains("SECRETHINT"), "no id_token_hint in the log");
    // Issue 15, point 10: a log that is not a terminal carries no colour codes.
    assert!(!text.contains('\u{1b}'), "no escape sequences in a file");
    for line in text.lines().filter(|l| l.contains("code=")) {
        assert!(
            line.contains("code=REDACTED") || line.contains("code_challenge="),
            "an unredacted code: {line}"
        );
    }
}

/// R60, as an attacker tries it: with no trusted proxies, `X-Forwarded-For` is not read at
/// all, so rotating it on every request does not make one client many sources — the limit
/// still counts the connection's address.
#[tokio::test]
async fn rotating_forwarded_for_without_trusted_proxies_does_not_reset_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let s = Server::start_logging(
        dir.path(),
        None,
        &[(
            "PORTCULLIS_RATE_LIMIT__SIGN_IN_OPTIONS_PER_MINUTE",
            "3".into(),
        )],
        std::process::Stdio::from(std::fs::File::create(&log).unwrap()),
    )
    .await;
    let c = client();
    let mut statuses = vec![];
    for i in 0..4 {
        let r = c
            .post(s.url("/api/signin/passkey/options"))
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status());
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    // The operator is told, once, that a proxy they did not list sends the header…
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        text.matches("which trusted_proxies does not list").count(),
        1,
        "{text}"
    );
    // …and readiness reports it (R50, R60), with the peer: the CLI's JSON and text (the admin
    // API and page render the same report).
    let deployment = |d: &std::path::Path| -> serde_json::Value {
        let (st, out, err) = cli(d, None, &["readiness", "--format", "json"]);
        assert_eq!(st, 0, "{err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["deployment"].clone()
    };
    let mut found = deployment(dir.path());
    for _ in 0..50 {
        if found.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        // Recorded off the request's path: give it a moment.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        found = deployment(dir.path());
    }
    assert_eq!(found[0]["code"], "sharedSourceBehindProxy", "{found}");
    assert_eq!(found[0]["peer"], "127.0.0.1", "{found}");
    assert!(
        found[0]["remedy"]
            .as_str()
            .unwrap()
            .contains("trusted_proxies"),
        "{found}"
    );
    let (_, text, _) = cli(dir.path(), None, &["readiness"]);
    assert!(
        text.contains("sharedSourceBehindProxy — the deployment"),
        "{text}"
    );
    s.stop().await;
    // Listed as trusted, it is cleared at the next start.
    let s = Server::start_env(
        dir.path(),
        None,
        &[("PORTCULLIS_TRUSTED_PROXIES", "[\"127.0.0.1/32\"]".into())],
    )
    .await;
    assert_eq!(deployment(dir.path()), serde_json::json!([]));
    s.stop().await;
}

/// Issue 15, point 10: `portcullis token` mints with the issuer the server recorded on this
/// store — so a token minted without the server's configuration is accepted — refuses when
/// no server has started, and a token of another issuer is refused naming the one expected.
#[tokio::test]
async fn cli_tokens_carry_the_recorded_issuer_and_a_wrong_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mint = || {
        // No public URL given: the CLI must find the issuer in the store.
        let o = std::process::Command::new(support::bin())
            .args([
                "token",
                "--user",
                "admin@portcullis.local",
                "--scope",
                "User.Read.All",
            ])
            .arg("--data-dir")
            .arg(d)
            .env_remove("PORTCULLIS_PUBLIC_URL")
            .output()
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).trim().to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let (ok, _, err) = mint();
    assert!(
        !ok && err.contains("start `portcullis serve` once"),
        "{err}"
    );

    let s = Server::start(d, None).await;
    let (ok, token, err) = mint();
    assert!(ok, "{err}");
    let r = client()
        .get(s.url("/v1.0/users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the server accepts it");
    let first = s.origin();
    s.stop().await;

    // The same store behind another public URL: the old token is refused, naming the issuer.
    let mut s = Server::start(d, None).await;
    while s.origin() == first {
        // The port was free again and handed out twice: another, so the URL differs.
        s.stop().await;
        s = Server::start(d, None).await;
    }
    let r = client()
        .get(s.url("/v1.0/users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("InvalidIssuer") && body.contains(&s.origin()),
        "{body}"
    );
    let (ok, token, err) = mint();
    assert!(ok, "{err}");
    let r = client()
        .get(s.url("/v1.0/users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "a new token carries the new issuer"
    );
    s.stop().await;
}

#[path = "e2e/bad_input.rs"]
mod bad_input;

#[path = "e2e/backup.rs"]
mod backup;

#[path = "e2e/crash.rs"]
mod crash;

#[path = "e2e/edge.rs"]
mod edge;

#[path = "e2e/nodes.rs"]
mod nodes;

#[path = "e2e/tls.rs"]
mod tls;
