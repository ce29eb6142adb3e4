//! The edge of the real binary under hostile or careless clients (issue 19, item 7): signing
//! keys made once under concurrent first requests, memory bounded under many hashes, bare
//! errors in each surface's shape, and slow or silent connections cut off.

use super::*;

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

    // An address nothing answers is a 404 in the shape of the surface it is under (before,
    // /v1.0/ and /api/nothing answered an HTML page to JSON clients).
    for (path, json_code) in [
        ("/v1.0/", Some("Request_ResourceNotFound")),
        ("/api/nothing", Some("notFound")),
        ("/oauth2/v2.0/nothing", None),
        ("/nothing", None),
    ] {
        let r = c.get(s.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        let html = r
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap_or_default().starts_with("text/html"));
        let body = r.text().await.unwrap();
        match json_code {
            Some(code) => {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(v["error"]["code"], code, "{path}: {v}");
            }
            None if path.starts_with("/oauth2/") => {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(v["error"], "invalid_request", "{path}: {v}");
            }
            None => assert!(
                html && body.contains("Nothing is at this address"),
                "{body}"
            ),
        }
    }

    // A refusal that needs none of the body (a signed-out post to an admin form) leaves the
    // unread rest on the connection: the answer says so, and the client's next request goes
    // out on a new connection instead of into a reset.
    let r = c
        .post(s.url("/admin/users"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("displayName={}", "A".repeat(60_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["connection"], "close");
    assert_eq!(
        c.get(s.url("/healthz")).send().await.unwrap().status(),
        StatusCode::OK
    );
    // Graph answers every method itself: no Allow header (an empty one would say that no
    // method is allowed).
    let r = c.get(s.url("/v1.0/users")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get("allow").is_none(), "{:?}", r.headers());
    // A body read to its end keeps the connection open.
    let r = c
        .post(s.url("/api/signin/passkey/options"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("connection").is_none(), "{:?}", r.headers());

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
            (
                "PORTCULLIS_CONNECTIONS__BODY_READ_TIMEOUT_SECONDS",
                "2".into(),
            ),
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
    // A body trickled a byte at a time — often enough to stay clear of the idle timeout —
    // is cut off by the body timeout.
    let mut trickle = tokio::net::TcpStream::connect(addr).await.unwrap();
    trickle
        .write_all(b"POST /signin/tap HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nusername=")
        .await
        .unwrap();
    let mut cut_off = false;
    for _ in 0..30 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        if trickle.write_all(b"a").await.is_err() {
            cut_off = true;
            break;
        }
        let mut probe = [0u8; 1024];
        if let Ok(Ok(n)) = tokio::time::timeout(
            std::time::Duration::from_millis(10),
            trickle.read(&mut probe),
        )
        .await
        {
            // An answer (or the end of the stream): the server stopped waiting.
            let _ = n;
            cut_off = true;
            break;
        }
    }
    assert!(cut_off, "a trickled body held its connection for 15 s");
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

/// Every answer carries a request id; Graph's error body gives the same one; the JSON log
/// line of what happened in that request carries it too — so the id a user reports finds its
/// log. A client cannot choose it.
#[tokio::test]
async fn the_request_id_of_an_answer_finds_its_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let s = Server::start_logging(
        dir.path(),
        None,
        &[
            ("PORTCULLIS_LOG_FORMAT", "json".into()),
            ("PORTCULLIS_LOG", "info".into()),
        ],
        std::process::Stdio::from(std::fs::File::create(&log).unwrap()),
    )
    .await;
    let c = client();
    let r = c
        .post(s.url("/signin/tap"))
        .header("x-portcullis-request-id", "chosen-by-the-client")
        .form(&[
            ("username", "admin@portcullis.local"),
            ("code", "WRONG-CODE"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let id = r.headers()["request-id"].to_str().unwrap().to_string();
    assert_ne!(id, "chosen-by-the-client");
    let r = c
        .get(s.url("/v1.0/users/nobody"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    let header = r.headers()["request-id"].to_str().unwrap().to_string();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["innerError"]["request-id"], header.as_str());
    s.stop().await;
    let text = std::fs::read_to_string(&log).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("TAP sign-in refused"))
        .unwrap_or_else(|| panic!("no refusal logged: {text}"));
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["span"]["request_id"], id.as_str(), "{line}");
}
