//! Crashes under load (issue 19, item 3; SPEC §7 "nothing acknowledged is lost"): a mixed
//! writer load — users, one-time passes created and redeemed (a session issued), passkeys
//! provisioned through Graph, passkey sign-ins (on SQLite committed in groups, issue 18),
//! application sign-ins whose passkey answer carries the code (committed with the sign-in),
//! Conditional Access policies — runs against the real server,
//! which is killed with SIGKILL at a random moment, twenty times on each backend. After each
//! restart every write that was answered is there, and no write is there by halves: every
//! user the load created (answered or not) has its audit record, every pass redeemed says so.

use super::*;
use rand::Rng;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROUNDS: usize = 20;
/// Where the application sign-ins' application lives: never contacted, the code is read
/// from the answer.
const APP_CALLBACK: &str = "http://127.0.0.1:9/callback";
const SCOPES: &[&str] = &[
    "User.ReadWrite.All",
    "UserAuthenticationMethod.ReadWrite.All",
    "Policy.ReadWrite.ConditionalAccess",
    "Policy.Read.All",
];

/// What the server answered as done.
#[derive(Default)]
struct Ledger {
    /// (upn, object id).
    users: Vec<(String, String)>,
    /// (user id, pass id, redeemed with this client: its session must survive too).
    passes: Vec<(String, String, Option<reqwest::Client>)>,
    /// (user id, fido2 method id).
    passkeys: Vec<(String, String)>,
    /// Conditional Access policy ids.
    policies: Vec<String>,
    /// The cookies each answered passkey sign-in set: its session must survive.
    signins: Vec<String>,
    /// (code, PKCE verifier) of each application sign-in answered since the last check:
    /// the code must be redeemable after the crash (once, so each is checked once).
    codes: Vec<(String, String)>,
    /// Codes answered in earlier rounds, found and redeemed after their crash.
    redeemed: usize,
}

impl Ledger {
    fn writes(&self) -> usize {
        self.users.len()
            + self.passkeys.len()
            + self.policies.len()
            + self.signins.len()
            + self.codes.len()
            + self.redeemed
            + self
                .passes
                .iter()
                .map(|p| 1 + usize::from(p.2.is_some()))
                .sum::<usize>()
    }
}

struct Load {
    base: String,
    origin: String,
    token: String,
    /// The application the application sign-ins are for (a public client).
    app: String,
    ledger: Arc<Mutex<Ledger>>,
    next: Arc<AtomicU32>,
    stop: Arc<AtomicBool>,
}

impl Load {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn post(&self, c: &reqwest::Client, path: &str, body: Value) -> Option<Value> {
        let r = c
            .post(self.url(path))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .ok()?;
        let st = r.status();
        let v: Value = r.json().await.ok()?;
        assert_eq!(st, StatusCode::CREATED, "{path}: {v}");
        Some(v)
    }

    async fn new_user(&self, c: &reqwest::Client, kind: &str) -> Option<(String, String)> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let upn = format!("crash-{kind}-{n}@portcullis.local");
        let v = self
            .post(
                c,
                "/v1.0/users",
                json!({"userPrincipalName": upn, "displayName": format!("Crash {n}"), "accountEnabled": true}),
            )
            .await?;
        let id = v["id"].as_str().unwrap().to_string();
        self.ledger
            .lock()
            .unwrap()
            .users
            .push((upn.clone(), id.clone()));
        Some((upn, id))
    }

    /// A user, a one-time pass, and a sign-in that redeems it.
    async fn passes(&self) -> Option<()> {
        let c = client();
        let (upn, id) = self.new_user(&c, "tap").await?;
        let v = self
            .post(
                &c,
                &format!("/v1.0/users/{id}/authentication/temporaryAccessPassMethods"),
                json!({"isUsableOnce": true, "lifetimeInMinutes": 60}),
            )
            .await?;
        let pass = v["id"].as_str().unwrap().to_string();
        let code = v["temporaryAccessPass"].as_str().unwrap().to_string();
        let at = self.ledger.lock().unwrap().passes.len();
        self.ledger
            .lock()
            .unwrap()
            .passes
            .push((id.clone(), pass, None));
        let user = client();
        let r = user
            .post(self.url("/signin/tap"))
            .form(&[("username", upn.as_str()), ("code", code.as_str())])
            .send()
            .await
            .ok()?;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{upn} redeems the pass");
        self.ledger.lock().unwrap().passes[at].2 = Some(user);
        Some(())
    }

    /// A user and a passkey provisioned for them through Graph.
    async fn passkeys(&self) -> Option<()> {
        let c = client();
        let (_, id) = self.new_user(&c, "key").await?;
        let mut key =
            portcullis_testkit::softkey::SoftKey::new("01020304-0506-0708-0102-030405060708");
        self.provision(&c, &id, &mut key).await?;
        Some(())
    }

    /// A user with a passkey, then sign-ins with it until the round ends: each one
    /// answered opened a session, which must survive the crash. Their writes are what the
    /// SQLite group commit gathers: answered only once their group is durable.
    async fn signins(&self) -> Option<()> {
        let c = client();
        let (upn, id) = self.new_user(&c, "signin").await?;
        let mut key =
            portcullis_testkit::softkey::SoftKey::new("01020304-0506-0708-0102-030405060708");
        self.provision(&c, &id, &mut key).await?;
        while !self.stop.load(Ordering::Relaxed) {
            let r = c
                .post(self.url("/api/signin/passkey/options"))
                .json(&json!({"username": upn}))
                .send()
                .await
                .ok()?;
            let o: Value = r.json().await.ok()?;
            let assertion = key.assert(&o["publicKey"], &self.origin, &Default::default());
            let r = c
                .post(self.url("/api/signin/passkey"))
                .json(&json!({"ceremonyId": o["ceremonyId"], "credential": assertion}))
                .send()
                .await
                .ok()?;
            let st = r.status();
            let cookies: Vec<String> = r
                .headers()
                .get_all(reqwest::header::SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_string))
                .collect();
            let body = r.text().await.ok()?;
            assert_eq!(
                st,
                StatusCode::OK,
                "{upn} signs in with the passkey: {body}"
            );
            self.ledger.lock().unwrap().signins.push(cookies.join("; "));
        }
        Some(())
    }

    /// A user with a passkey, then application sign-ins with it until the round ends: the
    /// authorization request, and the passkey's answer that continues it and carries the
    /// application's code (issue 18) — committed in the sign-in's own batch, so an answered
    /// code must be redeemable after the crash.
    async fn app_signins(&self) -> Option<()> {
        use base64::Engine;
        use sha2::Digest;
        let c = client();
        let (upn, id) = self.new_user(&c, "app").await?;
        let mut key =
            portcullis_testkit::softkey::SoftKey::new("01020304-0506-0708-0102-030405060708");
        self.provision(&c, &id, &mut key).await?;
        while !self.stop.load(Ordering::Relaxed) {
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            let verifier = format!("crash-verifier-{n}-0123456789-abcdefghijklmnopqrstuvwxyz");
            let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(verifier.as_bytes()));
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("client_id", &self.app)
                .append_pair("redirect_uri", APP_CALLBACK)
                .append_pair("response_type", "code")
                .append_pair("scope", "openid")
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256")
                .finish();
            let browser = client();
            let r = browser
                .get(self.url(&format!("/oauth2/v2.0/authorize?{query}")))
                .send()
                .await
                .ok()?;
            let to = r.headers().get("location")?.to_str().ok()?.to_string();
            let back = url::Url::parse(&format!("http://x{to}"))
                .ok()?
                .query_pairs()
                .find(|(k, _)| k == "return_to")?
                .1
                .into_owned();
            let o: Value = browser
                .post(self.url("/api/signin/passkey/options"))
                .json(&json!({"username": upn}))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let assertion = key.assert(&o["publicKey"], &self.origin, &Default::default());
            let r = browser
                .post(self.url("/api/signin/passkey"))
                .json(&json!({"ceremonyId": o["ceremonyId"], "credential": assertion, "returnTo": back}))
                .send()
                .await
                .ok()?;
            let st = r.status();
            let v: Value = r.json().await.ok()?;
            assert_eq!(st, StatusCode::OK, "{upn} signs in to the application: {v}");
            let code = url::Url::parse(v["redirect"].as_str().unwrap_or_default())
                .ok()
                .and_then(|u| {
                    u.query_pairs()
                        .find(|(k, _)| k == "code")
                        .map(|(_, c)| c.into_owned())
                });
            let code = code.unwrap_or_else(|| panic!("the answer carries no code: {v}"));
            self.ledger.lock().unwrap().codes.push((code, verifier));
        }
        Some(())
    }

    /// Provisions `key` for user `id` through Graph, and notes it in the ledger.
    async fn provision(
        &self,
        c: &reqwest::Client,
        id: &str,
        key: &mut portcullis_testkit::softkey::SoftKey,
    ) -> Option<()> {
        let r = c
            .get(self.url(&format!(
                "/v1.0/users/{id}/authentication/fido2Methods/creationOptions()"
            )))
            .bearer_auth(&self.token)
            .send()
            .await
            .ok()?;
        assert_eq!(r.status(), StatusCode::OK);
        let o: Value = r.json().await.ok()?;
        let cred = key.register(&o["publicKey"], &self.origin, &Default::default());
        let v = self
            .post(
                c,
                &format!("/v1.0/users/{id}/authentication/fido2Methods"),
                json!({"displayName": "Crash key", "publicKeyCredential": {"id": cred["id"], "response": {"clientDataJSON": cred["response"]["clientDataJSON"], "attestationObject": cred["response"]["attestationObject"]}}}),
            )
            .await?;
        self.ledger
            .lock()
            .unwrap()
            .passkeys
            .push((id.to_string(), v["id"].as_str().unwrap().to_string()));
        Some(())
    }

    /// A Conditional Access policy (off, so it governs nobody's sign-in in the meantime).
    async fn policies(&self) -> Option<()> {
        let c = client();
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let v = self
            .post(
                &c,
                "/v1.0/identity/conditionalAccess/policies",
                json!({"displayName": format!("Crash policy {n}"), "state": "disabled",
                       "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
                       "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}),
            )
            .await?;
        self.ledger
            .lock()
            .unwrap()
            .policies
            .push(v["id"].as_str().unwrap().to_string());
        Some(())
    }
}

async fn get(c: &reqwest::Client, s: &Server, token: &str, path: &str) -> (StatusCode, Value) {
    let r = c.get(s.url(path)).bearer_auth(token).send().await.unwrap();
    (r.status(), r.json().await.unwrap_or_default())
}

/// Every answered write is present, and nothing the load began is half there.
#[allow(clippy::too_many_arguments)]
async fn check(
    name: &str,
    round: usize,
    d: &std::path::Path,
    db: Option<&str>,
    s: &Server,
    token: &str,
    app: &str,
    ledger: &Ledger,
    checked: &Mutex<std::collections::HashSet<String>>,
) {
    let c = client();
    for (upn, id) in &ledger.users {
        let (st, v) = get(&c, s, token, &format!("/v1.0/users/{id}")).await;
        assert_eq!(
            st,
            StatusCode::OK,
            "{name} round {round}: user {upn} lost: {v}"
        );
    }
    for (user, pass, session) in &ledger.passes {
        let (st, v) = get(
            &c,
            s,
            token,
            &format!("/v1.0/users/{user}/authentication/temporaryAccessPassMethods/{pass}"),
        )
        .await;
        assert_eq!(
            st,
            StatusCode::OK,
            "{name} round {round}: pass {pass} lost: {v}"
        );
        if let Some(session) = session {
            assert_eq!(
                v["methodUsabilityReason"], "OneTimeUsed",
                "{name} round {round}: the redemption of {pass} was lost"
            );
            let me = session.get(s.url("/me")).send().await.unwrap().status();
            assert_eq!(
                me,
                StatusCode::OK,
                "{name} round {round}: the session it opened was lost"
            );
        }
    }
    for (user, key) in &ledger.passkeys {
        let (st, v) = get(
            &c,
            s,
            token,
            &format!("/v1.0/users/{user}/authentication/fido2Methods/{key}"),
        )
        .await;
        assert_eq!(
            st,
            StatusCode::OK,
            "{name} round {round}: passkey {key} lost: {v}"
        );
    }
    for cookies in &ledger.signins {
        let me = c
            .get(s.url("/me"))
            .header(reqwest::header::COOKIE, cookies)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(
            me,
            StatusCode::OK,
            "{name} round {round}: an answered passkey sign-in's session was lost"
        );
    }
    for (code, verifier) in &ledger.codes {
        let r = c
            .post(s.url("/oauth2/v2.0/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", APP_CALLBACK),
                ("client_id", app),
                ("code_verifier", verifier.as_str()),
            ])
            .send()
            .await
            .unwrap();
        let st = r.status();
        assert_eq!(
            st,
            StatusCode::OK,
            "{name} round {round}: an answered application sign-in's code was lost: {}",
            r.text().await.unwrap_or_default()
        );
    }
    for p in &ledger.policies {
        let (st, v) = get(
            &c,
            s,
            token,
            &format!("/v1.0/identity/conditionalAccess/policies/{p}"),
        )
        .await;
        assert_eq!(
            st,
            StatusCode::OK,
            "{name} round {round}: policy {p} lost: {v}"
        );
    }
    // No half-writes: a user the load created, answered or not, came with its own audit
    // record ("Add user", naming it) — checked once per user, in the round that made it.
    let (st, users, err) = cli(d, db, &["users", "list", "--json"]);
    assert_eq!(st, 0, "{err}");
    let (st, audit, err) = cli(d, db, &["logs", "audit", "--json", "--limit", "10000"]);
    assert_eq!(st, 0, "{err}");
    let added: Vec<String> = serde_json::from_str::<Value>(&audit)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(Value::to_string)
        .filter(|r| r.contains("Add user"))
        .collect();
    let users: Value = serde_json::from_str(&users).unwrap();
    let mut seen = checked.lock().unwrap();
    for u in users.as_array().unwrap() {
        let upn = u["userPrincipalName"].as_str().unwrap();
        if upn.starts_with("crash-") && seen.insert(upn.to_string()) {
            assert!(
                added.iter().any(|r| r.contains(upn)),
                "{name} round {round}: {upn} has no 'Add user' audit record"
            );
        }
    }
}

#[tokio::test]
async fn every_answered_write_survives_twenty_sigkills_under_load() {
    for (name, db) in databases().await {
        let dir = tempfile::tempdir().unwrap();
        let (d, db) = (dir.path(), db.as_deref());
        // Every restart listens on a new port; the public URL (the tokens' issuer, the
        // WebAuthn origin) stays, as a deployment's does.
        let public = format!("http://localhost:{}", support::free_port());
        // Every request comes from loopback: the per-source sign-in limits (300 a minute)
        // would refuse the sign-in workers on a fast machine, which is not what is tested.
        let unlimited = [
            (
                "PORTCULLIS_RATE_LIMIT__SIGN_IN_OPTIONS_PER_MINUTE",
                "1000000000".to_string(),
            ),
            (
                "PORTCULLIS_RATE_LIMIT__SIGN_IN_ANSWERS_PER_MINUTE",
                "1000000000".to_string(),
            ),
        ];
        let start = || {
            Server::start_node(
                d,
                db,
                Some(&public),
                &unlimited,
                std::process::Stdio::inherit(),
            )
        };
        let mut s = start().await;
        support::enable_fido2(d, db);
        let token = support::token(d, db, &public, "admin@portcullis.local", SCOPES);
        let (st, out, err) = cli(
            d,
            db,
            &[
                "apps",
                "add",
                "--name",
                "Crash app",
                "--public",
                "--redirect-uri",
                APP_CALLBACK,
            ],
        );
        assert_eq!(st, 0, "{err}");
        let app = out
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().last())
            .unwrap()
            .to_string();
        let ledger: Arc<Mutex<Ledger>> = Arc::default();
        let next = Arc::new(AtomicU32::new(0));
        let mut restarts = vec![];
        let checked: Mutex<std::collections::HashSet<String>> = Mutex::default();
        for round in 0..ROUNDS {
            let stop = Arc::new(AtomicBool::new(false));
            let load = Arc::new(Load {
                base: s.url(""),
                origin: public.clone(),
                token: token.clone(),
                app: app.clone(),
                ledger: ledger.clone(),
                next: next.clone(),
                stop: stop.clone(),
            });
            let before = ledger.lock().unwrap().writes();
            let mut workers = vec![];
            for w in 0..10 {
                let load = load.clone();
                workers.push(tokio::spawn(async move {
                    while !load.stop.load(Ordering::Relaxed) {
                        let done = match w % 5 {
                            0 => load.passes().await,
                            1 => load.passkeys().await,
                            2 => load.policies().await,
                            3 => load.signins().await,
                            _ => load.app_signins().await,
                        };
                        if done.is_none() {
                            break; // The server is gone: what was in flight is unknown.
                        }
                    }
                }));
            }
            let wait = rand::thread_rng().gen_range(300..1500);
            tokio::time::sleep(Duration::from_millis(wait)).await;
            s.kill9().await;
            stop.store(true, Ordering::Relaxed);
            for w in workers {
                w.await.unwrap();
            }
            assert!(
                ledger.lock().unwrap().writes() > before,
                "{name} round {round}: the load wrote nothing in {wait} ms"
            );
            let started = Instant::now();
            s = start().await;
            restarts.push(started.elapsed());
            // The workers are done: the ledger is read without its lock across the checks.
            let l = std::mem::take(&mut *ledger.lock().unwrap());
            check(name, round, d, db, &s, &token, &app, &l, &checked).await;
            *ledger.lock().unwrap() = Ledger {
                // Redeemed by the check: a code is good once.
                redeemed: l.redeemed + l.codes.len(),
                codes: vec![],
                ..l
            };
        }
        let l = std::mem::take(&mut *ledger.lock().unwrap());
        restarts.sort();
        assert!(
            !l.signins.is_empty() && l.redeemed > 0,
            "{name}: no passkey or no application sign-in was answered in {ROUNDS} rounds"
        );
        eprintln!(
            "{name}: {ROUNDS} SIGKILLs under load; {} writes answered ({} passkey sign-ins, {} application sign-ins), 0 lost; restart median {:?}, max {:?}",
            l.writes(),
            l.signins.len(),
            l.redeemed,
            restarts[restarts.len() / 2],
            restarts.last().unwrap()
        );
        s.stop().await;
    }
}
