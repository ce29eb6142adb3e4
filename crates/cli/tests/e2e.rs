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
async fn databases() -> Vec<(&'static str, Option<String>)> {
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
                kind: "authenticate".into(),
                user_id: None,
                state: "{}".into(),
                expires_at: now - time::Duration::hours(1),
            },
            now - time::Duration::hours(2),
        )
        .await
        .unwrap();
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
        let left = portcullis_store::ceremonies::peek(&mut c, stale, "authenticate")
            .await
            .unwrap();
        drop(c);
        store.close().await;
        if left.is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gone, "the server pruned the expired ceremony");
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
    s.stop().await;
    // The operator is told, once, that a proxy they did not list sends the header.
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        text.matches("which trusted_proxies does not list").count(),
        1,
        "{text}"
    );
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

/// Concurrent first requests to new servers make one signing key per algorithm: 32 at once
/// over two nodes on one PostgreSQL (the database keeps one live key per algorithm), and 32
/// at once on one SQLite server (one generation in the process). Before, each request made
/// its own RSA key: 32 keys, seconds of CPU.
#[tokio::test]
async fn concurrent_first_requests_make_one_signing_key_per_algorithm() {
    for (name, db) in databases().await {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let first = Server::start(a.path(), db.as_deref()).await;
        let second = match db {
            Some(_) => Some(Server::start(b.path(), db.as_deref()).await),
            None => None,
        };
        let nodes: Vec<&Server> = std::iter::once(&first).chain(second.as_ref()).collect();
        let c = client();
        let mut all = tokio::task::JoinSet::new();
        for i in 0..32 {
            let (c, url) = (
                c.clone(),
                nodes[i % nodes.len()].url("/discovery/v2.0/keys"),
            );
            all.spawn(async move { c.get(url).send().await.map(|r| r.status()) });
        }
        while let Some(r) = all.join_next().await {
            assert_eq!(r.unwrap().unwrap(), StatusCode::OK, "{name}");
        }
        for s in &nodes {
            let jwks: serde_json::Value = c
                .get(s.url("/discovery/v2.0/keys"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let algs: Vec<&str> = jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["alg"].as_str().unwrap())
                .collect();
            assert_eq!(algs.len(), 2, "{name}: one key per algorithm, not {algs:?}");
            assert!(
                algs.contains(&"RS256") && algs.contains(&"ES256"),
                "{name}: {algs:?}"
            );
        }
    }
}

/// The server's memory after 300 Temporary Access Passes (an Argon2 hash of 19 MiB working
/// memory each, two at a time): it grew from 24 MB to 455 MB and never came back, freed
/// working memory staying in the allocator's per-thread arenas. Working memory is now kept
/// per hashing slot and reused: the growth stays under 64 MiB.
#[tokio::test]
async fn hashing_many_passes_keeps_the_servers_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    assert_eq!(
        cli(d, None, &["users", "add", "--upn", "bob@portcullis.local"]).0,
        0
    );
    let (_, out, _) = cli(
        d,
        None,
        &["users", "show", "bob@portcullis.local", "--json"],
    );
    let bob = serde_json::from_str::<serde_json::Value>(&out).unwrap()["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let token = support::token(
        d,
        None,
        &s.origin(),
        "admin@portcullis.local",
        &["UserAuthenticationMethod.ReadWrite.All"],
    );
    let rss = |pid: u32| -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            * 1024
    };
    let pid = s.child.id().unwrap();
    let c = client();
    let url = s.url(&format!(
        "/v1.0/users/{bob}/authentication/temporaryAccessPassMethods"
    ));
    // Warm up: the first hashes allocate the working memory that is then reused.
    for _ in 0..4 {
        c.post(&url)
            .bearer_auth(&token)
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
    }
    let before = rss(pid);
    for _ in 0..150 {
        let (a, b) = tokio::join!(
            c.post(&url)
                .bearer_auth(&token)
                .json(&serde_json::json!({}))
                .send(),
            c.post(&url)
                .bearer_auth(&token)
                .json(&serde_json::json!({}))
                .send()
        );
        assert_eq!(a.unwrap().status(), StatusCode::CREATED);
        assert_eq!(b.unwrap().status(), StatusCode::CREATED);
    }
    let grown = rss(pid).saturating_sub(before);
    assert!(
        grown < 64 << 20,
        "memory grew by {} MiB over 300 hashes",
        grown >> 20
    );
}

/// Answers the router or an extractor used to give bare — a 405 with an empty body, a
/// too-large body only after `100 Continue` — and Graph bodies that are not JSON (accepted
/// before, whatever the Content-Type): each now in its surface's error shape, at once, and
/// changing nothing.
#[tokio::test]
async fn bare_errors_take_their_surfaces_shape_and_bodies_must_say_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let c = client();
    // 405s: a page's HTML error, the pages' API error JSON, OAuth's error JSON.
    let r = c.delete(s.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.headers().get("allow").is_some());
    let body = r.text().await.unwrap();
    assert!(
        body.contains("id=\"error\"") && body.contains("does not answer this method"),
        "{body}"
    );
    let r = c.delete(s.url("/api/signin/passkey")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "methodNotAllowed", "{v}");
    let r = c.get(s.url("/oauth2/v2.0/token")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_request", "{v}");

    // A declared 100 MB body is refused before it is sent: 413, never 100 Continue.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", s.port))
        .await
        .unwrap();
    tcp.write_all(b"POST /api/signin/passkey HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\nExpect: 100-continue\r\n\r\n").await.unwrap();
    let mut head = vec![0u8; 512];
    let n = tcp.read(&mut head).await.unwrap();
    let head = String::from_utf8_lossy(&head[..n]);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(head.contains("bodyTooLarge"), "{head}");

    // Graph reads bodies as JSON only: anything else is 415 in Graph's shape, nothing saved.
    let token = support::token(
        d,
        None,
        &s.origin(),
        "admin@portcullis.local",
        &["Policy.ReadWrite.ConditionalAccess", "Policy.Read.All"],
    );
    let policy = r#"{"displayName":"x","state":"disabled","conditions":{"users":{"includeUsers":["None"]},"applications":{"includeApplications":["None"]}},"grantControls":{"operator":"OR","builtInControls":["mfa"]}}"#;
    for kind in [
        Some("text/plain"),
        Some("application/xml"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut req = c
            .post(s.url("/v1.0/identity/conditionalAccess/policies"))
            .bearer_auth(&token)
            .body(policy);
        if let Some(k) = kind {
            req = req.header("content-type", k);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{kind:?}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "UnsupportedMediaType", "{v}");
        assert!(v["error"]["innerError"]["request-id"].is_string(), "{v}");
    }
    let listed: serde_json::Value = c
        .get(s.url("/v1.0/identity/conditionalAccess/policies"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["value"].as_array().map(Vec::len),
        Some(0),
        "{listed}"
    );
    // A name that reorders the text around it (U+202E) would read as another in lists and
    // logs: refused, nothing created.
    let users_token = support::token(
        d,
        None,
        &s.origin(),
        "admin@portcullis.local",
        &["User.ReadWrite.All"],
    );
    let r = c.post(s.url("/v1.0/users")).bearer_auth(&users_token)
        .json(&serde_json::json!({"displayName": "Invoice \u{202E}fdp.exe", "userPrincipalName": "rlo@portcullis.local", "accountEnabled": true}))
        .send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("U+202E"));
    assert_ne!(
        cli(d, None, &["users", "show", "rlo@portcullis.local"]).0,
        0,
        "nothing was created"
    );
    // JSON with parameters is JSON.
    let r = c
        .post(s.url("/v1.0/identity/conditionalAccess/policies"))
        .bearer_auth(&token)
        .header("content-type", "application/json; charset=utf-8")
        .body(policy)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

/// R60, as a slow client tries it: half-sent request heads are closed after the head
/// timeout, silent connections after the idle timeout, a full house waits and is logged,
/// the server keeps answering, and a client holding half a request line cannot keep a
/// shutdown from finishing. (Before: 300 slowloris and 2,000 idle connections were all
/// kept, and such a client held a graceful shutdown forever.)
#[tokio::test]
async fn slow_and_silent_clients_are_cut_off_and_shutdown_has_a_deadline() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let s = Server::start_logging(
        dir.path(),
        None,
        &[
            ("PORTCULLIS_CONNECTIONS__MAX", "12".into()),
            (
                "PORTCULLIS_CONNECTIONS__HEADER_READ_TIMEOUT_SECONDS",
                "1".into(),
            ),
            ("PORTCULLIS_CONNECTIONS__IDLE_TIMEOUT_SECONDS", "2".into()),
            ("PORTCULLIS_CONNECTIONS__SHUTDOWN_GRACE_SECONDS", "2".into()),
        ],
        std::process::Stdio::from(std::fs::File::create(&log).unwrap()),
    )
    .await;
    let addr = ("127.0.0.1", s.port);
    // Twenty slowloris clients: more than the server takes at once.
    let mut slow = vec![];
    for _ in 0..20 {
        let mut t = tokio::net::TcpStream::connect(addr).await.unwrap();
        t.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(t);
    }
    // Each is closed by the server (end of stream or a reset), the late ones once a slot
    // frees: nobody holds a connection by trickling a head.
    for t in &mut slow {
        let mut buf = [0u8; 256];
        let closed =
            tokio::time::timeout(std::time::Duration::from_secs(15), t.read(&mut buf)).await;
        assert!(
            matches!(closed, Ok(Ok(_)) | Ok(Err(_))),
            "a slow client was still held after 15 s"
        );
    }
    // A silent keep-alive connection after a complete request is closed too.
    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let end = tokio::time::timeout(std::time::Duration::from_secs(15), idle.read(&mut buf)).await;
    assert!(
        matches!(end, Ok(Ok(0)) | Ok(Err(_))),
        "an idle connection was kept: {end:?}"
    );
    // The server still answers.
    assert_eq!(
        client()
            .get(s.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // Half a request line does not hold the shutdown: the server exits (stop() waits 30 s).
    let mut half = tokio::net::TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /heal").await.unwrap();
    let status = s.stop().await;
    assert!(status.success(), "{status:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("the connection limit is reached"),
        "the full house was logged"
    );
}
