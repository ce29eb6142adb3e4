//! Several nodes on one PostgreSQL (issue 19, item 4; SPEC §7 "any request on any node"):
//! two `serve` processes answering for one public URL, each request sent to either. A
//! passkey ceremony begun on one node finishes on the other; a one-time pass redeemed by
//! 1,000 concurrent attempts spread over both succeeds exactly once, round after round; a
//! methods-policy change made through one node governs the very next decision on the other;
//! a node killed under load loses nothing it answered. The nodes stand behind HAProxy on
//! loopback, whose address is their public URL: the race and the load go through it (each
//! node's metrics show it served its share); the steps that need a given node (begun on A,
//! finished on B) address that node directly.

use super::*;
use portcullis_testkit::softkey::SoftKey;
use serde_json::{json, Value};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TAP_RACE_ROUNDS: usize = 3;
const TAP_RACE_ATTEMPTS: usize = 1_000;

/// Two nodes on `db`, answering for one public URL; limits raised so that a thousand
/// attempts from this one address are decided by the pass, not by the rate limit.
async fn two_nodes(dirs: &[tempfile::TempDir; 2], db: &str, public: &str) -> (Server, Server) {
    let env = [
        (
            "PORTCULLIS_RATE_LIMIT__TAP_ATTEMPTS_PER_MINUTE",
            "1000000".to_string(),
        ),
        (
            "PORTCULLIS_LOCKOUT__MAX_FAILURES_PER_SOURCE",
            "1000000".to_string(),
        ),
        (
            "PORTCULLIS_LOCKOUT__MAX_FAILURES_PER_USER",
            "1000000".to_string(),
        ),
    ];
    let a = Server::start_node(
        dirs[0].path(),
        Some(db),
        Some(public),
        &env,
        Stdio::inherit(),
    )
    .await;
    let b = Server::start_node(
        dirs[1].path(),
        Some(db),
        Some(public),
        &env,
        Stdio::inherit(),
    )
    .await;
    (a, b)
}

fn tap_for(d: &std::path::Path, db: &str, upn: &str, once: bool) -> String {
    let mut args = vec!["tap", "create", "--user", upn];
    if once {
        args.push("--once");
    }
    let (st, out, err) = cli(d, Some(db), &args);
    assert_eq!(st, 0, "{err}");
    code_from(&out)
}

async fn post_json(c: &reqwest::Client, url: String, body: &Value) -> (StatusCode, Value) {
    let r = c.post(url).json(body).send().await.unwrap();
    (r.status(), r.json().await.unwrap_or_default())
}

#[tokio::test]
async fn two_nodes_on_one_postgresql_act_as_one() {
    let db = fresh_postgres_url().await;
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let lb_port = support::free_port();
    let public = format!("http://localhost:{lb_port}");
    let (a, b) = two_nodes(&dirs, &db, &public).await;
    let lb = portcullis_testkit::haproxy::LoadBalancer::start(lb_port, &[a.port, b.port]).await;
    let d = dirs[0].path();
    support::enable_fido2(d, Some(&db));

    // A ceremony begun on one node finishes on the other, both ways.
    assert_eq!(
        cli(
            d,
            Some(&db),
            &["users", "add", "--upn", "bob@portcullis.local"]
        )
        .0,
        0
    );
    let c = client();
    let code = tap_for(d, &db, "bob@portcullis.local", false);
    assert_eq!(
        sign_in(&c, &a, "bob@portcullis.local", &code)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    support::open_security_info(&c, &a).await;
    let (st, o) = post_json(&c, a.url("/api/passkeys/registration/options"), &json!({})).await;
    assert_eq!(st, StatusCode::OK, "{o}");
    let mut key = SoftKey::new("01020304-0506-0708-0102-030405060708");
    let cred = key.register(&o["publicKey"], &public, &Default::default());
    let (st, v) = post_json(
        &c,
        b.url("/api/passkeys/registration"),
        &json!({"ceremonyId": o["ceremonyId"], "credential": cred}),
    )
    .await;
    assert!(
        st.is_success(),
        "registration begun on A, finished on B: {st} {v}"
    );
    let anon = client();
    let (st, o) = post_json(
        &anon,
        b.url("/api/signin/passkey/options"),
        &json!({"username": "bob@portcullis.local"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{o}");
    let assertion = key.assert(&o["publicKey"], &public, &Default::default());
    let one_statement_on_a = support::batches_committed(&a, "as_one_statement").await;
    let (st, v) = post_json(
        &anon,
        a.url("/api/signin/passkey"),
        &json!({"ceremonyId": o["ceremonyId"], "credential": assertion}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "sign-in begun on B, finished on A: {v}");
    // …and only once: the same answer replayed on B is refused.
    let (st, _) = post_json(
        &anon,
        b.url("/api/signin/passkey"),
        &json!({"ceremonyId": o["ceremonyId"], "credential": assertion}),
    )
    .await;
    assert!(
        st.is_client_error(),
        "a finished ceremony is single-use on every node: {st}"
    );
    // The sign-in's writes went to PostgreSQL as one statement; the replay's stopped there,
    // were found again in a transaction, and committed nothing either way.
    assert_eq!(
        support::batches_committed(&a, "as_one_statement").await,
        one_statement_on_a + 1
    );
    assert_eq!(support::batches_committed(&b, "as_one_statement").await, 0);
    assert_eq!(support::batches_committed(&b, "in_transaction").await, 0);

    // A one-time pass, 1,000 concurrent attempts through the load balancer: exactly one
    // winner.
    let mut winners_per_round = vec![];
    let served_before = [
        support::requests_on(&a, "/signin/tap").await,
        support::requests_on(&b, "/signin/tap").await,
    ];
    for round in 0..TAP_RACE_ROUNDS {
        let upn = format!("race{round}@portcullis.local");
        assert_eq!(cli(d, Some(&db), &["users", "add", "--upn", &upn]).0, 0);
        let code = tap_for(d, &db, &upn, true);
        let url = lb.url("/signin/tap");
        let started = Instant::now();
        let attempts: Vec<_> = (0..TAP_RACE_ATTEMPTS)
            .map(|_| {
                let (url, upn, code) = (url.clone(), upn.clone(), code.clone());
                tokio::spawn(async move {
                    let r = client()
                        .post(url)
                        .form(&[("username", upn.as_str()), ("code", code.as_str())])
                        .send()
                        .await
                        .unwrap();
                    r.status()
                })
            })
            .collect();
        let mut winners = 0;
        for t in attempts {
            let st = t.await.unwrap();
            assert!(st.as_u16() < 500, "round {round}: {st}");
            winners += usize::from(st == StatusCode::SEE_OTHER);
        }
        eprintln!(
            "TAP race round {round}: {TAP_RACE_ATTEMPTS} attempts through HAProxy over 2 nodes in {:?}, {winners} winner(s)",
            started.elapsed()
        );
        winners_per_round.push(winners);
    }
    let served = [
        support::requests_on(&a, "/signin/tap").await - served_before[0],
        support::requests_on(&b, "/signin/tap").await - served_before[1],
    ];
    eprintln!(
        "the load balancer spread the attempts: node A answered {}, node B {}",
        served[0], served[1]
    );
    assert_eq!(
        served.iter().sum::<u64>(),
        (TAP_RACE_ROUNDS * TAP_RACE_ATTEMPTS) as u64
    );
    assert!(
        served
            .iter()
            .all(|n| *n >= (TAP_RACE_ROUNDS * TAP_RACE_ATTEMPTS / 4) as u64),
        "both nodes took a share of the race: {served:?}"
    );
    assert_eq!(
        winners_per_round,
        vec![1; TAP_RACE_ROUNDS],
        "exactly one winner a round"
    );

    // A policy change made through A governs the next decision on B: passes switched off on
    // A, the very next pass sign-in on B is refused.
    let token = support::token(
        d,
        Some(&db),
        &public,
        "admin@portcullis.local",
        &["Policy.ReadWrite.AuthenticationMethod"],
    );
    let code = tap_for(d, &db, "bob@portcullis.local", false);
    let r = client()
        .patch(a.url("/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass"))
        .bearer_auth(&token)
        .json(&json!({"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration", "state": "disabled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let changed = Instant::now();
    let refused = sign_in(&client(), &b, "bob@portcullis.local", &code)
        .await
        .status();
    eprintln!(
        "policy change on A governs B's next decision, {:?} after A answered",
        changed.elapsed()
    );
    assert_ne!(
        refused,
        StatusCode::SEE_OTHER,
        "B decided with the old policy"
    );
    let r = client()
        .patch(a.url("/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass"))
        .bearer_auth(&token)
        .json(&json!({"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration", "state": "enabled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        sign_in(&client(), &b, "bob@portcullis.local", &code)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );

    // A node killed under load, the load going through the load balancer: every write it
    // answered is there, read through the survivor.
    let token = support::token(
        d,
        Some(&db),
        &public,
        "admin@portcullis.local",
        &["User.ReadWrite.All"],
    );
    let answered: Arc<Mutex<Vec<String>>> = Arc::default();
    let cut_by_kill = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (answered, token, cut_by_kill, stop) =
                (answered.clone(), token.clone(), cut_by_kill.clone(), stop.clone());
            let url = lb.url("/v1.0/users");
            tokio::spawn(async move {
                let c = client();
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let upn = format!("node{w}-{n}@portcullis.local");
                    let r = c
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({"userPrincipalName": upn, "displayName": upn, "accountEnabled": true}))
                        .send()
                        .await;
                    match r.map(|r| r.status()) {
                        Ok(StatusCode::CREATED) => answered.lock().unwrap().push(upn),
                        // A died with the request: the load balancer answers for it (502,
                        // 503, 504) or drops the connection. Unknown, not answered.
                        Ok(StatusCode::BAD_GATEWAY)
                        | Ok(StatusCode::SERVICE_UNAVAILABLE)
                        | Ok(StatusCode::GATEWAY_TIMEOUT)
                        | Err(_) => {
                            cut_by_kill.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        Ok(other) => panic!("{upn}: {other}"),
                    }
                }
            })
        })
        .collect();
    let graph_on_a = support::requests_on(&a, "/v1.0/{*path}").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    // The kill comes while A takes its share of the writes.
    assert!(
        support::requests_on(&a, "/v1.0/{*path}").await > graph_on_a,
        "node A was answering the writes when it was killed"
    );
    a.kill9().await;
    let at_kill = answered.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(700)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    eprintln!(
        "writes cut by the kill (the load balancer's 5xx or a dropped connection): {}",
        cut_by_kill.load(std::sync::atomic::Ordering::Relaxed)
    );
    let answered = answered.lock().unwrap().clone();
    assert!(
        at_kill > 20 && answered.len() > at_kill + 20,
        "writes answered before the kill ({at_kill}) and after it, by B ({})",
        answered.len()
    );
    let c = client();
    for upn in &answered {
        let r = c
            .get(b.url(&format!("/v1.0/users/{upn}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{upn} was answered and is lost");
    }
    eprintln!(
        "node killed under load: {} writes answered, 0 lost",
        answered.len()
    );
    b.stop().await;
    lb.stop().await;
}
