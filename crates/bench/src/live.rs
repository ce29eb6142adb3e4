//! A real `portcullis serve` for the load binaries (the sign-in benchmark and the soak): started
//! on a fresh data directory, its users provisioned with software passkeys through the same
//! pages API a browser uses, and complete passkey sign-ins against it.

use portcullis_testkit::softkey::{Quirks, SoftKey};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// A running server: one node, or several on one PostgreSQL behind HAProxy.
pub struct Live {
    /// The process (the first node).
    pub server: tokio::process::Child,
    /// Its pid (for /proc).
    pub pid: u32,
    /// The other nodes, on the same database.
    pub others: Vec<tokio::process::Child>,
    /// The load balancer in front of the nodes, when there are several.
    pub lb: Option<portcullis_testkit::haproxy::LoadBalancer>,
    /// Where to send requests (loopback).
    pub base: String,
    /// The public origin it answers for.
    pub origin: String,
    /// Its data directory.
    pub dir: tempfile::TempDir,
    /// The bootstrap pass.
    pub tap: String,
    portcullis: PathBuf,
    database: Option<String>,
}

/// Why a request of the load failed: the status it was answered with, or none when no
/// answer came (a connection refused or reset, a body that did not read).
#[derive(Debug, Clone)]
pub struct Failure {
    /// The answer's status, if there was one.
    pub status: Option<u16>,
    /// What was answered or what went wrong.
    pub message: String,
}

impl Failure {
    /// A failure with no answer.
    pub fn transport(e: impl std::fmt::Display) -> Failure {
        Failure {
            status: None,
            message: e.to_string(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(s) => write!(f, "{s}: {}", self.message),
            None => write!(f, "no answer: {}", self.message),
        }
    }
}

/// POSTs JSON; the answer's JSON on success.
pub async fn post(c: &reqwest::Client, url: &str, body: &Value) -> Result<Value, Failure> {
    let r = c
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(Failure::transport)?;
    let status = r.status();
    let text = r.text().await.map_err(Failure::transport)?;
    // An answer that is not JSON (a proxy's HTML error page) keeps its status.
    match (status.is_success(), serde_json::from_str::<Value>(&text)) {
        (true, Ok(v)) => Ok(v),
        (true, Err(e)) => Err(Failure {
            status: Some(status.as_u16()),
            message: format!("{url}: the answer is not JSON ({e})"),
        }),
        (false, _) => Err(Failure {
            status: Some(status.as_u16()),
            message: format!("{url}: {}", text.chars().take(300).collect::<String>()),
        }),
    }
}

/// A client that keeps cookies and follows no redirects.
pub fn cookie_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// CPU seconds (user + system) PostgreSQL has used, from /proc: with `BENCH_POSTGRES_PID`
/// (the postmaster, as scripts/bench.sh sets it) that server and its children — and, through
/// the postmaster's `cutime`/`cstime`, the backends it has already reaped; without it every
/// process named `postgres` on the machine.
pub fn postgres_cpu_seconds(ticks: f64) -> f64 {
    let postmaster: Option<u32> = std::env::var("BENCH_POSTGRES_PID")
        .ok()
        .and_then(|p| p.trim().parse().ok());
    let ours = |pid: u32| match postmaster {
        Some(pm) => pid == pm || parent(pid) == Some(pm),
        None => std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|c| c.trim() == "postgres"),
    };
    let running: f64 = std::fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .filter(|pid| ours(*pid))
                .map(|pid| cpu_seconds(pid, ticks))
                .sum()
        })
        .unwrap_or(0.0);
    running + postmaster.map_or(0.0, |pm| reaped_cpu_seconds(pm, ticks))
}

/// A process's parent, from /proc.
fn parent(pid: u32) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))?
        .trim()
        .parse()
        .ok()
}

/// CPU seconds of the children a process has waited for (`cutime` + `cstime`).
fn reaped_cpu_seconds(pid: u32, ticks: f64) -> f64 {
    let f = stat_numbers(pid);
    (f.get(12).copied().unwrap_or(0.0) + f.get(13).copied().unwrap_or(0.0)) / ticks
}

/// The numeric fields of `/proc/PID/stat` after the parenthesised name, the state (not a
/// number) skipped: index 0 is field 4 (ppid), so field N is at N - 4.
fn stat_numbers(pid: u32) -> Vec<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    rest.split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|x| x.port())
        .expect("port")
}

/// CPU seconds (user + system) the process has used, from /proc: `utime` and `stime`,
/// fields 14 and 15.
pub fn cpu_seconds(pid: u32, ticks: f64) -> f64 {
    let f = stat_numbers(pid);
    (f.get(10).copied().unwrap_or(0.0) + f.get(11).copied().unwrap_or(0.0)) / ticks
}

/// Resident memory of the process, in bytes, from /proc.
pub fn rss_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Clock ticks per second (`getconf CLK_TCK`).
pub fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The `p` quantile (0..1) of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

impl Live {
    /// Starts `portcullis serve` (pinned to `server_cpu` with taskset if given) with the
    /// per-source limits lifted — every simulated user comes from this one loopback address —
    /// and `env` added.
    pub async fn start(
        portcullis: &Path,
        database: Option<&str>,
        server_cpu: Option<usize>,
        env: &[(&str, &str)],
    ) -> Live {
        Self::start_nodes(portcullis, database, 1, server_cpu, env).await
    }

    /// Like [`Live::start`] with `nodes` nodes; several share `database` (PostgreSQL) and
    /// answer behind HAProxy on loopback, for the load balancer's public URL, unpinned.
    pub async fn start_nodes(
        portcullis: &Path,
        database: Option<&str>,
        nodes: usize,
        server_cpu: Option<usize>,
        env: &[(&str, &str)],
    ) -> Live {
        assert!(
            nodes == 1 || database.is_some(),
            "several nodes share a PostgreSQL database: give --database"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let ports: Vec<u16> = (0..nodes.max(1)).map(|_| free_port()).collect();
        let lb_port = (nodes > 1).then(free_port);
        let public = lb_port.unwrap_or(ports[0]);
        let origin = format!("http://localhost:{public}");
        let cpu = if nodes > 1 { None } else { server_cpu };
        let node = |port| Node {
            portcullis,
            dir: dir.path(),
            database,
            port,
            origin: &origin,
            cpu,
            env,
        };
        // The first node bootstraps the tenant (and prints its pass); the others join it.
        let (server, tap) = node(ports[0]).spawn().await;
        let mut others = vec![];
        for p in &ports[1..] {
            others.push(node(*p).spawn().await.0);
        }
        let lb = match lb_port {
            Some(port) => {
                Some(portcullis_testkit::haproxy::LoadBalancer::start(port, &ports).await)
            }
            None => None,
        };
        let pid = server.id().expect("pid");
        Live {
            server,
            pid,
            others,
            lb,
            base: format!("http://127.0.0.1:{public}"),
            origin,
            dir,
            tap: tap.expect("bootstrap pass"),
            portcullis: portcullis.to_path_buf(),
            database: database.map(str::to_string),
        }
    }

    /// The server's group commits so far, from its `/metrics`: the batches committed in a
    /// group (a sign-in's writes are one) and the groups. `None` when it does not say.
    /// (On PostgreSQL both stay 0: each batch is one statement.)
    pub async fn group_commits(&self) -> Option<(f64, f64)> {
        let text = reqwest::get(format!("{}/metrics", self.base))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
                .and_then(|v| v.trim().parse::<f64>().ok())
        };
        let batches = value("portcullis_db_batches_total{committed=\"in_group\"}")?;
        let groups = value("portcullis_db_group_commits_total")?;
        Some((batches, groups))
    }

    /// Every process serving the load: the nodes, and HAProxy in front of them.
    pub fn pids(&self) -> Vec<u32> {
        std::iter::once(Some(self.pid))
            .chain(self.others.iter().map(tokio::process::Child::id))
            .chain(
                self.lb
                    .iter()
                    .map(portcullis_testkit::haproxy::LoadBalancer::pid),
            )
            .flatten()
            .collect()
    }

    /// Runs a CLI command against the server's store; panics on failure; its stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = std::process::Command::new(&self.portcullis)
            .args(args)
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(
                self.database
                    .iter()
                    .flat_map(|d| ["--database", d.as_str()]),
            )
            .env("PORTCULLIS_PUBLIC_URL", &self.origin)
            .output()
            .expect("cli");
        assert!(
            out.status.success(),
            "portcullis {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A pass for `upn` (not one-time), from the CLI: its code.
    pub fn tap_for(&self, upn: &str) -> String {
        self.cli(&["tap", "create", "--user", upn])
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().last())
            .unwrap_or_default()
            .to_string()
    }

    /// Signs in with a pass and opens Security info (whose own sign-in leaves the app
    /// session the registration API requires).
    pub async fn tap_session(&self, upn: &str, code: &str) -> reqwest::Client {
        let c = cookie_client();
        let r = c
            .post(format!("{}/signin/tap", self.base))
            .form(&[("username", upn), ("code", code)])
            .send()
            .await
            .expect("tap sign-in");
        assert_eq!(r.status().as_u16(), 303, "TAP sign-in of {upn}");
        let mut url = format!("{}/security-info", self.base);
        for _ in 0..8 {
            let r = c.get(&url).send().await.expect("Security info");
            let Some(to) = r
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
            else {
                break;
            };
            url = if to.starts_with('/') {
                format!("{}{to}", self.base)
            } else {
                to.replace(&self.origin, &self.base)
            };
        }
        c
    }

    /// `users` users with one software passkey each: the administrator (with the bootstrap
    /// pass), then `user1…` made through the CLI with a pass each.
    pub async fn provision(&self, users: usize) -> Vec<(String, SoftKey)> {
        let mut keys = vec![];
        for i in 0..users {
            let (upn, code) = if i == 0 {
                ("admin@portcullis.local".to_string(), self.tap.clone())
            } else {
                let upn = format!("user{i}@portcullis.local");
                self.cli(&["users", "add", "--upn", &upn]);
                let code = self.tap_for(&upn);
                (upn, code)
            };
            let c = self.tap_session(&upn, &code).await;
            let o = post(
                &c,
                &format!("{}/api/passkeys/registration/options", self.base),
                &json!({}),
            )
            .await
            .expect("options");
            let mut key = SoftKey::new("01020304-0506-0708-0102-030405060708");
            let cred = key.register(&o["publicKey"], &self.origin, &Quirks::default());
            post(
                &c,
                &format!("{}/api/passkeys/registration", self.base),
                &json!({"ceremonyId": o["ceremonyId"], "credential": cred}),
            )
            .await
            .expect("register");
            keys.push((upn, key));
        }
        keys
    }

    /// One complete username-first passkey sign-in: options, the signed answer, verified.
    pub async fn sign_in(
        &self,
        c: &reqwest::Client,
        upn: &str,
        key: &mut SoftKey,
    ) -> Result<(), Failure> {
        let o = post(
            c,
            &format!("{}/api/signin/passkey/options", self.base),
            &json!({"username": upn}),
        )
        .await?;
        let cred = key.assert(&o["publicKey"], &self.origin, &Quirks::default());
        post(
            c,
            &format!("{}/api/signin/passkey", self.base),
            &json!({"ceremonyId": o["ceremonyId"], "credential": cred}),
        )
        .await
        .map(|_| ())
    }
}

/// Where the benchmark's application says it lives. Never contacted: the code is read from
/// the redirect, as the browser would hand it over.
pub const APP_CALLBACK: &str = "http://127.0.0.1:9/callback";

/// The `Location` of a 303, or why there is none.
fn redirect(r: &reqwest::Response, what: &str) -> Result<String, Failure> {
    let status = r.status().as_u16();
    match r.headers().get("location").and_then(|v| v.to_str().ok()) {
        Some(to) if status == 303 || status == 302 => Ok(to.to_string()),
        _ => Err(Failure {
            status: Some(status),
            message: format!("{what}: no redirect"),
        }),
    }
}

/// One query parameter of a URL (absolute, or a path with a query).
fn query_param(url: &str, name: &str) -> Option<String> {
    let url = if url.starts_with('/') {
        format!("http://x{url}")
    } else {
        url.to_string()
    };
    reqwest::Url::parse(&url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

impl Live {
    /// Registers a public client (PKCE) for the application sign-ins: its client id.
    pub fn register_app(&self, id_token_alg: &str) -> String {
        self.cli(&[
            "apps",
            "add",
            "--name",
            "Benchmark app",
            "--redirect-uri",
            APP_CALLBACK,
            "--public",
            "--id-token-alg",
            id_token_alg,
        ])
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or_default()
        .to_string()
    }

    /// One complete application sign-in, as a browser new to the server makes it with the
    /// sign-in page: the authorize request (sent to sign in), a username-first passkey
    /// sign-in whose answer continues the authorization (the page sends where it goes back
    /// to; the answer carries the application's code), and the application's token request
    /// with its PKCE verifier, answered with an ID token the server signs. No cookie is
    /// kept, so each sign-in is a new browser session on a kept-alive connection.
    pub async fn oidc_sign_in(
        &self,
        c: &reqwest::Client,
        app: &str,
        id_token_alg: &str,
        upn: &str,
        key: &mut SoftKey,
    ) -> Result<(), Failure> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let challenge = URL_SAFE_NO_PAD
            .encode(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()).as_ref());
        let r = c
            .get(format!("{}/oauth2/v2.0/authorize", self.base))
            .query(&[
                ("client_id", app),
                ("redirect_uri", APP_CALLBACK),
                ("response_type", "code"),
                ("scope", "openid profile"),
                ("state", "bench"),
                ("nonce", "bench"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ])
            .send()
            .await
            .map_err(Failure::transport)?;
        let to_sign_in = redirect(&r, "authorize")?;
        let back = query_param(&to_sign_in, "return_to").ok_or_else(|| Failure {
            status: None,
            message: format!("authorize sent the browser to {to_sign_in}, not to sign in"),
        })?;
        let o = post(
            c,
            &format!("{}/api/signin/passkey/options", self.base),
            &json!({"username": upn}),
        )
        .await?;
        let cred = key.assert(&o["publicKey"], &self.origin, &Quirks::default());
        // As the sign-in page sends it: the answer with where to go back to, which continues
        // the authorization and comes back with the application's code.
        let answer = post(
            c,
            &format!("{}/api/signin/passkey", self.base),
            &json!({"ceremonyId": o["ceremonyId"], "credential": cred, "returnTo": back}),
        )
        .await?;
        let to_app = answer["redirect"].as_str().unwrap_or_default();
        let code = query_param(to_app, "code").ok_or_else(|| Failure {
            status: None,
            message: format!("the application got no code: {to_app}"),
        })?;
        let r = c
            .post(format!("{}/oauth2/v2.0/token", self.base))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", APP_CALLBACK),
                ("client_id", app),
                ("code_verifier", &verifier),
            ])
            .send()
            .await
            .map_err(Failure::transport)?;
        let status = r.status().as_u16();
        let v: Value = r.json().await.map_err(Failure::transport)?;
        if status != 200 || !v["id_token"].is_string() {
            return Err(Failure {
                status: Some(status),
                message: format!("token: {v}"),
            });
        }
        // Signed as the application is set, or this measured another sign-in.
        let header = v["id_token"]
            .as_str()
            .and_then(|t| t.split('.').next())
            .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
            .and_then(|h| serde_json::from_slice::<Value>(&h).ok())
            .unwrap_or_default();
        if header["alg"] != id_token_alg {
            return Err(Failure {
                status: Some(status),
                message: format!(
                    "the ID token is signed {}, not {id_token_alg}",
                    header["alg"]
                ),
            });
        }
        Ok(())
    }
}

/// One `portcullis serve` to start.
struct Node<'a> {
    portcullis: &'a Path,
    dir: &'a Path,
    database: Option<&'a str>,
    port: u16,
    origin: &'a str,
    cpu: Option<usize>,
    env: &'a [(&'a str, &'a str)],
}

impl Node<'_> {
    /// Starts it and waits until it listens; the bootstrap pass, if it printed one.
    async fn spawn(&self) -> (tokio::process::Child, Option<String>) {
        let mut cmd = match self.cpu {
            Some(cpu) => {
                let mut c = tokio::process::Command::new("taskset");
                c.args(["-c", &cpu.to_string()]).arg(self.portcullis);
                c
            }
            None => tokio::process::Command::new(self.portcullis),
        };
        cmd.args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{}", self.port),
            "--public-url",
            self.origin,
        ])
        .arg("--data-dir")
        .arg(self.dir)
        .env("PORTCULLIS_LOG", "warn");
        for key in [
            "PORTCULLIS_RATE_LIMIT__SIGN_IN_OPTIONS_PER_MINUTE",
            "PORTCULLIS_RATE_LIMIT__SIGN_IN_ANSWERS_PER_MINUTE",
            "PORTCULLIS_RATE_LIMIT__TAP_ATTEMPTS_PER_MINUTE",
        ] {
            cmd.env(key, "1000000000");
        }
        for (k, v) in self.env {
            cmd.env(k, v);
        }
        if let Some(db) = self.database {
            cmd.arg("--database").arg(db);
        }
        let mut server = cmd
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.portcullis.display()));
        let mut lines = BufReader::new(server.stdout.take().expect("stdout")).lines();
        let mut tap = None;
        let mut listening = false;
        while let Ok(Some(l)) = lines.next_line().await {
            if l.contains("Temporary Access Pass:") {
                // Standard output is a pipe: the pass is in the file the line names.
                tap = l
                    .split_once(" in ")
                    .and_then(|(_, rest)| rest.split(" (").next())
                    .and_then(|p| std::fs::read_to_string(p).ok())
                    .map(|t| t.trim().to_string());
            }
            if l.starts_with("Listening on") {
                listening = true;
                break;
            }
        }
        // A node that did not start would leave the others to carry the load unseen.
        assert!(listening, "the node on port {} did not start", self.port);
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        (server, tap)
    }
}
