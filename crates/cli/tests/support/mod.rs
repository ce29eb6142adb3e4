//! Runs the real `portcullis` binary for end-to-end tests.
#![allow(dead_code)]

pub mod corpus;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Path of the binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_portcullis"))
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A running `portcullis serve`.
pub struct Server {
    pub child: Child,
    pub port: u16,
    /// The bootstrap pass, when this start printed one.
    pub tap: Option<String>,
    /// Everything printed on stdout before "Listening on".
    pub banner: Vec<String>,
    /// The public URL it answers for (its own address unless started as a node).
    pub public: String,
}

impl Server {
    /// Starts the server on a fresh port with `--data-dir dir` (and `--database url` if given)
    /// and waits until it listens.
    pub async fn start(dir: &Path, database: Option<&str>) -> Server {
        Self::start_env(dir, database, &[]).await
    }

    /// Like [`Server::start`], with extra environment variables (configuration keys).
    pub async fn start_env(dir: &Path, database: Option<&str>, env: &[(&str, String)]) -> Server {
        Self::start_logging(dir, database, env, Stdio::inherit()).await
    }

    /// Like [`Server::start_env`], with the server's log (standard error) going to `stderr`.
    pub async fn start_logging(
        dir: &Path,
        database: Option<&str>,
        env: &[(&str, String)],
        stderr: Stdio,
    ) -> Server {
        Self::start_node(dir, database, None, env, stderr).await
    }

    /// Like [`Server::start_logging`]; with `public_url`, the node answers for that URL
    /// instead of its own address — the nodes of one deployment share it, and a client may
    /// reach any of them.
    pub async fn start_node(
        dir: &Path,
        database: Option<&str>,
        public_url: Option<&str>,
        env: &[(&str, String)],
        stderr: Stdio,
    ) -> Server {
        let port = free_port();
        let public = public_url.map_or_else(|| format!("http://localhost:{port}"), str::to_string);
        let mut cmd = Command::new(bin());
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(dir)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--public-url")
            .arg(&public)
            .env("PORTCULLIS_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true);
        if let Some(db) = database {
            cmd.arg("--database").arg(db);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn portcullis serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut banner = vec![];
        let read = async {
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                if line.starts_with("Listening on") {
                    return true;
                }
                banner.push(line);
            }
            false
        };
        let listening = tokio::time::timeout(Duration::from_secs(60), read)
            .await
            .unwrap_or(false);
        assert!(listening, "server did not start; printed: {banner:?}");
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        // Standard output is a pipe here, so the pass is in a file the banner names.
        let tap = banner
            .iter()
            .find(|l| l.contains("Temporary Access Pass:"))
            .map(|l| {
                let path = l
                    .split_once(" in ")
                    .and_then(|(_, rest)| rest.split(" (").next())
                    .unwrap_or_else(|| panic!("the banner names the pass's file: {l}"));
                std::fs::read_to_string(path)
                    .unwrap_or_else(|e| panic!("{path}: {e}"))
                    .trim()
                    .to_string()
            });
        Server {
            child,
            port,
            tap,
            banner,
            public,
        }
    }

    /// Base URL on loopback.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The public origin the server was told.
    pub fn origin(&self) -> String {
        self.public.trim_end_matches('/').to_string()
    }

    /// SIGKILL: no shutdown code runs.
    pub async fn kill9(mut self) {
        self.child.kill().await.expect("SIGKILL");
    }

    /// SIGTERM, then wait for a clean exit.
    pub async fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("pid");
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status();
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("stops within 30 s")
            .expect("wait")
    }
}

/// A client that keeps cookies and does not follow redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Posts the TAP form.
pub async fn sign_in(c: &reqwest::Client, s: &Server, upn: &str, code: &str) -> reqwest::Response {
    c.post(s.url("/signin/tap"))
        .form(&[("username", upn), ("code", code)])
        .send()
        .await
        .expect("POST /signin/tap")
}

/// Runs a CLI command against a data dir (and database) and returns (status, stdout, stderr).
pub fn cli(dir: &Path, database: Option<&str>, args: &[&str]) -> (i32, String, String) {
    cli_input(dir, database, args, "")
}

/// [`cli`], with `input` on its standard input.
pub fn cli_input(
    dir: &Path,
    database: Option<&str>,
    args: &[&str],
    input: &str,
) -> (i32, String, String) {
    use std::io::Write;
    let mut cmd = std::process::Command::new(bin());
    cmd.args(args).arg("--data-dir").arg(dir);
    if let Some(db) = database {
        cmd.arg("--database").arg(db);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run portcullis");
    if let Some(mut i) = child.stdin.take() {
        i.write_all(input.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("run portcullis");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A delegated Graph token for `user` with `scopes`, minted by `portcullis token` for the
/// server at `origin`.
pub fn token(
    dir: &Path,
    database: Option<&str>,
    origin: &str,
    user: &str,
    scopes: &[&str],
) -> String {
    let mut c = std::process::Command::new(bin());
    c.arg("token")
        .arg("--user")
        .arg(user)
        .arg("--data-dir")
        .arg(dir)
        .env("PORTCULLIS_PUBLIC_URL", origin);
    if let Some(db) = database {
        c.arg("--database").arg(db);
    }
    for sc in scopes {
        c.arg("--scope").arg(sc);
    }
    let o = c.output().expect("run portcullis token");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// Turns passkeys on with attestation not enforced (the methods policy's defaults keep them
/// off; a test may also have reset them), through the CLI.
pub fn enable_fido2(d: &Path, db: Option<&str>) {
    let f = d.join("enable-fido2.json");
    std::fs::write(
        &f,
        r#"{"state": "enabled", "isAttestationEnforced": false}"#,
    )
    .unwrap();
    assert_eq!(
        cli(d, db, &["policy", "patch", "fido2", f.to_str().unwrap()]).0,
        0
    );
}

/// The code printed by `portcullis tap create`.
pub fn code_from(stdout: &str) -> String {
    stdout
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().last())
        .expect("tap create prints the code")
        .to_string()
}

/// GETs `path` with a no-redirect cookie client, following redirects by hand (up to 8) and
/// keeping to the loopback address where the client's cookies live. Security info signs its
/// users in through the authorization-code flow, so reaching it takes a few hops.
pub async fn get_following(c: &reqwest::Client, s: &Server, path: &str) -> reqwest::Response {
    get_following_as(c, s, path, None).await
}

/// [`get_following`] from a browser that says `user_agent` on every hop.
pub async fn get_following_as(
    c: &reqwest::Client,
    s: &Server,
    path: &str,
    user_agent: Option<&str>,
) -> reqwest::Response {
    let mut url = s.url(path);
    for _ in 0..8 {
        let mut req = c.get(&url);
        if let Some(ua) = user_agent {
            req = req.header("user-agent", ua);
        }
        let r = req.send().await.expect("GET");
        if !r.status().is_redirection() {
            return r;
        }
        let to = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        url = if to.starts_with('/') {
            s.url(&to)
        } else {
            to.replace(&s.origin(), &s.url(""))
        };
    }
    panic!("too many redirects from {path}");
}

/// Opens Security info in this client, as a browser does before adding a passkey: its
/// sign-in runs through the authorization endpoint and leaves the app session that the
/// registration API requires (R40). A refusal there is left for the caller to meet at the
/// API, which decides again.
/// Turns authenticator app codes on for everyone.
pub fn enable_oath(d: &Path, db: Option<&str>) {
    let f = d.join("enable-oath.json");
    std::fs::write(&f, r#"{"state": "enabled"}"#).unwrap();
    assert_eq!(
        cli(
            d,
            db,
            &["policy", "patch", "softwareOath", f.to_str().unwrap()]
        )
        .0,
        0
    );
}

/// The value of the hidden input `name` in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let at = html
        .find(&format!(r#"name="{name}" value=""#))
        .unwrap_or_else(|| panic!("no {name} in {html}"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// Sets up an authenticator app on Security info for the client's signed-in user, as a user
/// does: open the page, read the key it shows (typed, as into an app that cannot scan), type
/// the first code. Returns the app.
pub async fn enrol_oath(c: &reqwest::Client, s: &Server) -> totp_rs::TOTP {
    open_security_info(c, s).await;
    let page = get_following(c, s, "/security-info/authenticator-app")
        .await
        .text()
        .await
        .unwrap();
    let token = hidden(&page, "token");
    let at = page.find(r#"id="oath-secret">"#).expect("the key is shown") + 17;
    let secret = &page[at..at + page[at..].find('<').unwrap()];
    let app = totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        totp_rs::Secret::Encoded(secret.to_string())
            .to_bytes()
            .unwrap(),
        None,
        String::new(),
    );
    let r = c
        .post(s.url("/security-info/authenticator-app"))
        .form(&[
            ("token", token.as_str()),
            ("code", &app.generate_current().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        reqwest::StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    app
}

/// Runs `portcullis authenticator --state STATE ARGS…`: the command-line Authenticator app.
pub fn authenticator(state: &Path, args: &[&str]) -> (i32, String, String) {
    authenticator_input(state, args, "")
}

/// [`authenticator`], with `input` on its standard input.
pub fn authenticator_input(state: &Path, args: &[&str], input: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(bin())
        .arg("authenticator")
        .arg("--state")
        .arg(state)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run portcullis authenticator");
    // A command that exits before reading its input is no failure of the harness.
    let _ = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes());
    let out = child.wait_with_output().expect("portcullis authenticator");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Turns Microsoft Authenticator push on for everyone.
pub fn enable_push(d: &Path, db: Option<&str>) {
    let f = d.join("enable-push.json");
    std::fs::write(&f, r#"{"state": "enabled"}"#).unwrap();
    assert_eq!(
        cli(
            d,
            db,
            &[
                "policy",
                "patch",
                "MicrosoftAuthenticator",
                f.to_str().unwrap()
            ]
        )
        .0,
        0
    );
}

/// A phone with the command-line app, its account added from Security info's activation
/// link as the client's signed-in user would (the state file is `state`).
pub async fn add_phone(c: &reqwest::Client, s: &Server, state: &Path) {
    let (st, _, err) = authenticator(
        state,
        &[
            "init",
            "--platform",
            "android",
            "--os-version",
            "14",
            "--name",
            "Pixel 8",
        ],
    );
    assert_eq!(st, 0, "{err}");
    open_security_info(c, s).await;
    let page = get_following(c, s, "/security-info/authenticator")
        .await
        .text()
        .await
        .unwrap();
    let at = page
        .find(r#"id="activation-link" href=""#)
        .unwrap_or_else(|| panic!("no activation link: {page}"))
        + r#"id="activation-link" href=""#.len();
    let link = page[at..at + page[at..].find('"').unwrap()].replace("&amp;", "&");
    let (st, out, err) = authenticator(state, &["add-account", "--link", &link]);
    assert_eq!(st, 0, "{out} {err}");
}

pub async fn open_security_info(c: &reqwest::Client, s: &Server) {
    let _ = get_following(c, s, "/security-info").await;
}

/// Enrolls a device for `upn` with a fresh P-256 key (the MDM's `devices add`): the signing
/// key, for proofs, and the device id.
pub fn enroll_device(
    dir: &Path,
    database: Option<&str>,
    upn: &str,
    name: &str,
    platform: &str,
) -> (p256::ecdsa::SigningKey, String) {
    use p256::pkcs8::{EncodePublicKey, LineEnding};
    let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let pem = dir.join(format!("{}.pem", uuid_like(name)));
    std::fs::write(
        &pem,
        key.verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap(),
    )
    .unwrap();
    let (st, out, err) = cli(
        dir,
        database,
        &[
            "devices",
            "add",
            "--user",
            upn,
            "--name",
            name,
            "--platform",
            platform,
            "--public-key",
            pem.to_str().unwrap(),
        ],
    );
    assert_eq!(st, 0, "{err}");
    // "Device 'NAME' enrolled (ID)"
    let id = out
        .trim()
        .trim_end_matches(')')
        .rsplit('(')
        .next()
        .unwrap()
        .to_string();
    (key, id)
}

/// A file-name-safe form of a display name.
fn uuid_like(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// A client signed in as `upn` with a fresh Temporary Access Pass from the CLI, Security
/// info opened (as a browser does before adding a passkey).
pub async fn tap_client(dir: &Path, s: &Server, upn: &str) -> reqwest::Client {
    let (st, out, err) = cli(dir, None, &["tap", "create", "--user", upn]);
    assert_eq!(st, 0, "{err}");
    let c = client();
    let r = sign_in(&c, s, upn, &code_from(&out)).await;
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER, "{upn} signs in");
    open_security_info(&c, s).await;
    c
}

/// A client signed in with `upn`'s password, then the code `code` when the password step asks
/// for one; Security info opened.
pub async fn password_client(
    s: &Server,
    upn: &str,
    password: &str,
    code: Option<&str>,
) -> reqwest::Client {
    let c = client();
    let r = c
        .post(s.url("/signin/password"))
        .form(&[("username", upn), ("password", password)])
        .send()
        .await
        .unwrap();
    match code {
        None => assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER, "{upn} signs in"),
        Some(code) => {
            let page = r.text().await.unwrap();
            let r = c
                .post(s.url("/signin/code"))
                .form(&[
                    ("pending", hidden(&page, "pending").as_str()),
                    ("code", code),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                reqwest::StatusCode::SEE_OTHER,
                "{upn} gives the code"
            );
        }
    }
    open_security_info(&c, s).await;
    c
}

/// The code `app` shows `steps` steps from now (a code is taken once: a later sign-in needs a
/// later step, and the window admits the next one).
pub fn code_in(app: &totp_rs::TOTP, steps: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    app.generate(now + 30 * steps)
}

/// Registers `key` for the signed-in user of `c` through Security info's API; the status
/// and the answer, refusals included.
pub async fn register_key(
    c: &reqwest::Client,
    s: &Server,
    key: &mut portcullis_testkit::softkey::SoftKey,
) -> (reqwest::StatusCode, serde_json::Value) {
    open_security_info(c, s).await;
    let r = c
        .post(s.url("/api/passkeys/registration/options"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("options");
    let (st, o) = (
        r.status(),
        r.json::<serde_json::Value>().await.unwrap_or_default(),
    );
    if st != reqwest::StatusCode::OK {
        return (st, o);
    }
    let cred = key.register(&o["publicKey"], &s.origin(), &Default::default());
    let r = c
        .post(s.url("/api/passkeys/registration"))
        .json(&serde_json::json!({"ceremonyId": o["ceremonyId"], "credential": cred}))
        .send()
        .await
        .expect("registration");
    (r.status(), r.json().await.unwrap_or_default())
}

/// Saves a screenshot of what `c` shows as `name`.png in the tests' output folder
/// (`SCREENSHOT_DIR`, else `screenshots` in Cargo's temporary directory for tests).
pub async fn screenshot(c: &portcullis_testkit::fantoccini::Client, name: &str) {
    let dir = std::env::var("SCREENSHOT_DIR").map_or_else(
        |_| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
}

/// The sum of a server's `/metrics` samples of `metric` that carry `label`.
async fn metric_sum(s: &Server, metric: &str, label: &str) -> u64 {
    let text = client()
        .get(s.url("/metrics"))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("metrics");
    text.lines()
        .filter(|l| l.starts_with(metric) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// How many write batches a server committed `how` (`in_group`, `as_one_statement`,
/// `in_transaction`), from its `/metrics`.
pub async fn batches_committed(s: &Server, how: &str) -> u64 {
    metric_sum(
        s,
        "portcullis_db_batches_total",
        &format!("committed=\"{how}\""),
    )
    .await
}

/// How many requests a server answered on `route` (any method and status), from its
/// `/metrics`.
pub async fn requests_on(s: &Server, route: &str) -> u64 {
    metric_sum(
        s,
        "portcullis_http_requests_total",
        &format!("route=\"{route}\""),
    )
    .await
}
