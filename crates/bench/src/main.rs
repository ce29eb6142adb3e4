//! `portcullis-bench`: complete passkey sign-ins over HTTP against a real `portcullis serve`.
//!
//! It starts the server on a fresh data directory, provisions N users (TAP sign-in, then a
//! software passkey registered through the JSON API), measures the crypto floor (one P-256
//! sign + one verify) in the same run, then runs sign-ins — options request, signed
//! response, verification, counter and last-used persisted, session issued — at the chosen
//! concurrency for a fixed time. It reports sign-ins/s, p50/p99 latency and the server's CPU
//! seconds per sign-in (from /proc) against the floor.
//!
//! The floor is honest: the fastest P-256 on the machine (`ring` and `aws-lc-rs`, both measured,
//! the faster one taken), not only the RustCrypto implementation the WebAuthn library uses,
//! which is reported beside it. With `--server-cpu N` the server runs on core N alone
//! (`taskset`); run the bench itself under `taskset -c M` to keep the load generator off it.

use clap::Parser;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey};
use portcullis_testkit::softkey::{Quirks, SoftKey};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::Mutex;

#[derive(Parser, Debug)]
#[command(about = "Passkey sign-in benchmark against a real portcullis serve")]
struct Args {
    /// The portcullis binary (build it with `cargo build --release` first).
    #[arg(long, default_value = "target/release/portcullis")]
    portcullis: PathBuf,
    /// Users to provision, each with one passkey.
    #[arg(long, default_value_t = 200)]
    users: usize,
    /// Concurrent sign-ins in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// How long to run sign-ins, in seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// A database URL for the server (default: SQLite in a fresh data directory).
    #[arg(long)]
    database: Option<String>,
    /// SQLite durability for the server: full or normal.
    #[arg(long, default_value = "full")]
    sqlite_synchronous: String,
    /// Pin the server to this core (with `taskset`, which must be installed).
    #[arg(long)]
    server_cpu: Option<usize>,
}

fn cpu_seconds(pid: u32, ticks: f64) -> f64 {
    // utime and stime are fields 14 and 15 of /proc/PID/stat (after the parenthesised name).
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<f64> = rest
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // After ')' the fields start at index 3 (state is not numeric and is skipped by the parse filter).
    let utime = f.get(10).copied().unwrap_or(0.0);
    let stime = f.get(11).copied().unwrap_or(0.0);
    (utime + stime) / ticks
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Median cost of one P-256 sign plus one verify, in seconds, by each implementation.
struct Floors {
    /// RustCrypto's `p256`, the implementation the WebAuthn library verifies with.
    rustcrypto: f64,
    /// `ring`.
    ring: f64,
    /// `aws-lc-rs`.
    aws_lc: f64,
}

impl Floors {
    /// The physical limit: the fastest implementation at hand.
    fn honest(&self) -> f64 {
        self.ring.min(self.aws_lc)
    }

    fn fastest_name(&self) -> &'static str {
        if self.ring <= self.aws_lc {
            "ring"
        } else {
            "aws-lc-rs"
        }
    }
}

/// The median over 7 rounds of `round` (300 sign+verify pairs each), per pair.
fn median_pair(mut round: impl FnMut()) -> f64 {
    let mut samples = vec![];
    for _ in 0..7 {
        let t = Instant::now();
        for _ in 0..300 {
            round();
        }
        samples.push(t.elapsed().as_secs_f64() / 300.0);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

fn crypto_floors() -> Floors {
    // An assertion signs authenticatorData (37 bytes) and the client data hash (32).
    let msg = [7u8; 69];
    let key = SigningKey::random(&mut rand::rngs::OsRng);
    let vk = *key.verifying_key();
    let rustcrypto = median_pair(|| {
        let sig: Signature = key.sign(&msg);
        assert!(vk.verify(&msg, &sig).is_ok());
    });
    // ring and aws-lc-rs share one API but for loading a key (ring checks it with a random
    // source): `$load` is that step.
    macro_rules! ring_like {
        ($m:ident, $load:expr) => {{
            use $m::rand::SystemRandom;
            use $m::signature::{
                EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_ASN1,
                ECDSA_P256_SHA256_ASN1_SIGNING,
            };
            let rng = SystemRandom::new();
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).expect("key");
            let load: fn(&[u8], &SystemRandom) -> EcdsaKeyPair = $load;
            let kp = load(pkcs8.as_ref(), &rng);
            let public =
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, kp.public_key().as_ref().to_vec());
            median_pair(|| {
                let sig = kp.sign(&rng, &msg).expect("sign");
                assert!(public.verify(&msg, sig.as_ref()).is_ok());
            })
        }};
    }
    Floors {
        rustcrypto,
        ring: ring_like!(ring, |der, rng| {
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der, rng).expect("key")
        }),
        aws_lc: ring_like!(aws_lc_rs, |der, _| {
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der).expect("key")
        }),
    }
}

async fn post(c: &reqwest::Client, url: &str, body: &Value) -> Result<Value, String> {
    let r = c
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let ok = r.status().is_success();
    let v: Value = r.json().await.map_err(|e| e.to_string())?;
    if ok {
        Ok(v)
    } else {
        Err(v.to_string())
    }
}

#[tokio::main]
async fn main() {
    let a = Args::parse();
    let dir = tempfile::tempdir().expect("temp dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|x| x.port())
        .expect("port");
    let origin = format!("http://localhost:{port}");
    let base = format!("http://127.0.0.1:{port}");
    let mut cmd = match a.server_cpu {
        Some(cpu) => {
            let mut c = tokio::process::Command::new("taskset");
            c.args(["-c", &cpu.to_string()]).arg(&a.portcullis);
            c
        }
        None => tokio::process::Command::new(&a.portcullis),
    };
    cmd.args([
        "serve",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--public-url",
        &origin,
    ])
    .arg("--data-dir")
    .arg(dir.path())
    .env("PORTCULLIS_LOG", "warn")
    .env("PORTCULLIS_SQLITE_SYNCHRONOUS", &a.sqlite_synchronous)
    // Every simulated user comes from this one loopback address: the per-source limits on
    // anonymous requests would measure themselves, not the server.
    .env(
        "PORTCULLIS_RATE_LIMIT__SIGN_IN_OPTIONS_PER_MINUTE",
        "1000000000",
    )
    .env(
        "PORTCULLIS_RATE_LIMIT__SIGN_IN_ANSWERS_PER_MINUTE",
        "1000000000",
    )
    .env(
        "PORTCULLIS_RATE_LIMIT__TAP_ATTEMPTS_PER_MINUTE",
        "1000000000",
    );
    if let Some(db) = &a.database {
        cmd.arg("--database").arg(db);
    }
    let mut server = cmd
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", a.portcullis.display()));
    let pid = server.id().expect("pid");
    let mut lines = BufReader::new(server.stdout.take().expect("stdout")).lines();
    let mut tap = None;
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
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let tap = tap.expect("bootstrap pass");

    // Provision: the admin gets a passkey; every other user through the CLI and a TAP.
    eprintln!("provisioning {} users…", a.users);
    let t0 = Instant::now();
    let mut keys = vec![];
    for i in 0..a.users {
        let (upn, code) = if i == 0 {
            ("admin@portcullis.local".to_string(), tap.clone())
        } else {
            let upn = format!("user{i}@portcullis.local");
            let run = |args: &[&str]| {
                std::process::Command::new(&a.portcullis)
                    .args(args)
                    .arg("--data-dir")
                    .arg(dir.path())
                    .args(a.database.iter().flat_map(|d| ["--database", d.as_str()]))
                    .output()
                    .expect("cli")
            };
            let out = run(&["users", "add", "--upn", &upn]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let out = run(&["tap", "create", "--user", &upn]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let code = String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .and_then(|l| l.split_whitespace().last())
                .unwrap_or_default()
                .to_string();
            (upn, code)
        };
        let c = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let r = c
            .post(format!("{base}/signin/tap"))
            .form(&[("username", upn.as_str()), ("code", code.as_str())])
            .send()
            .await
            .expect("tap sign-in");
        assert_eq!(r.status().as_u16(), 303, "TAP sign-in of {upn}");
        // Security info's own sign-in leaves the app session the registration API requires.
        let mut url = format!("{base}/security-info");
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
                format!("{base}{to}")
            } else {
                to.replace(&origin, &base)
            };
        }
        let o = post(
            &c,
            &format!("{base}/api/passkeys/registration/options"),
            &json!({}),
        )
        .await
        .expect("options");
        let mut key = SoftKey::new("01020304-0506-0708-0102-030405060708");
        let cred = key.register(&o["publicKey"], &origin, &Quirks::default());
        post(
            &c,
            &format!("{base}/api/passkeys/registration"),
            &json!({"ceremonyId": o["ceremonyId"], "credential": cred}),
        )
        .await
        .expect("register");
        keys.push((upn, key));
    }
    eprintln!(
        "provisioned in {:.1}s; measuring the crypto floor…",
        t0.elapsed().as_secs_f64()
    );
    let floors = crypto_floors();
    let floor = floors.honest();

    // Partition the keys among workers so no counter is used by two sign-ins at once.
    let workers = a.concurrency.max(1).min(keys.len());
    let mut parts: Vec<Vec<(String, SoftKey)>> = (0..workers).map(|_| vec![]).collect();
    for (i, k) in keys.into_iter().enumerate() {
        parts[i % workers].push(k);
    }
    let latencies = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let errors = Arc::new(Mutex::new(0usize));
    let ticks = clock_ticks();
    let cpu0 = cpu_seconds(pid, ticks);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(a.seconds);
    let mut tasks = vec![];
    for mut part in parts {
        let (lat, errs, base, origin) = (
            latencies.clone(),
            errors.clone(),
            base.clone(),
            origin.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let c = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client");
            let mut mine = vec![];
            let mut i = 0;
            while Instant::now() < deadline {
                let len = part.len();
                let (upn, key) = &mut part[i % len];
                i += 1;
                let t = Instant::now();
                let ok = async {
                    let o = post(
                        &c,
                        &format!("{base}/api/signin/passkey/options"),
                        &json!({"username": upn}),
                    )
                    .await?;
                    let cred = key.assert(&o["publicKey"], &origin, &Quirks::default());
                    post(
                        &c,
                        &format!("{base}/api/signin/passkey"),
                        &json!({"ceremonyId": o["ceremonyId"], "credential": cred}),
                    )
                    .await
                }
                .await;
                match ok {
                    Ok(_) => mine.push(t.elapsed()),
                    Err(e) => {
                        let mut n = errs.lock().await;
                        if *n < 3 {
                            eprintln!("sign-in failed: {e}");
                        }
                        *n += 1;
                    }
                }
            }
            lat.lock().await.extend(mine);
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid, ticks) - cpu0;
    let mut lat = latencies.lock().await.clone();
    lat.sort();
    let n = lat.len();
    let rate = n as f64 / wall;
    let cpu_per = if n > 0 { cpu / n as f64 } else { 0.0 };
    // The machine's cores, not those this process may run on (taskset narrows those).
    let cores = std::fs::read_to_string("/proc/cpuinfo")
        .map(|s| s.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(0);
    let backend = if a.database.is_some() {
        "PostgreSQL".to_string()
    } else {
        format!("SQLite ({})", a.sqlite_synchronous)
    };
    let placement = match a.server_cpu {
        Some(cpu) => format!("server on core {cpu}"),
        None => "unpinned".into(),
    };
    println!("| backend | cores | placement | users | concurrency | sign-ins | errors | sign-ins/s | p50 ms | p99 ms | server CPU ms/sign-in | floor ms (fastest P-256 sign+verify) | CPU / floor | RustCrypto P-256 ms | CPU / RustCrypto |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {backend} | {cores} | {placement} | {} | {} | {n} | {} | {rate:.0} | {:.2} | {:.2} | {:.3} | {:.3} ({}) | {:.1}× | {:.3} | {:.1}× |",
        a.users,
        workers,
        *errors.lock().await,
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        cpu_per * 1e3,
        floor * 1e3,
        floors.fastest_name(),
        if floor > 0.0 { cpu_per / floor } else { 0.0 },
        floors.rustcrypto * 1e3,
        if floors.rustcrypto > 0.0 { cpu_per / floors.rustcrypto } else { 0.0 }
    );
    let _ = server.kill().await;
    // A run where sign-ins failed measured the failures, not the server: say so loudly.
    let failed = *errors.lock().await;
    if failed * 100 > n {
        eprintln!("{failed} sign-ins failed beside {n} that succeeded: the figures above are not a measurement");
        std::process::exit(1);
    }
}
