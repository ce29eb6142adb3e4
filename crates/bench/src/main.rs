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
//! With `--database` the server's CPU includes PostgreSQL's (every `postgres` process), and
//! with `--nodes N` it is that of N nodes and the HAProxy in front of them.

use clap::Parser;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey};
use portcullis_bench::live::{clock_ticks, cpu_seconds, percentile, postgres_cpu_seconds, Live};
use portcullis_testkit::softkey::SoftKey;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
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
    /// What one sign-in is: `passkey` (options and answer, a session) or `oidc` (an
    /// application's authorization code flow around it: authorize, passkey sign-in, code,
    /// token request with PKCE, an ID token).
    #[arg(long, default_value = "passkey")]
    flow: String,
    /// How the OIDC flow's application takes its ID tokens: RS256 (OpenID Connect's
    /// default) or ES256 (the application's setting).
    #[arg(long, default_value = "RS256")]
    id_token_alg: String,
    /// Nodes serving the load: more than one share `--database` (PostgreSQL) behind HAProxy
    /// on loopback, unpinned.
    #[arg(long, default_value_t = 1)]
    nodes: usize,
}

/// Median cost of one RS256 (RSA-2048, PKCS#1 v1.5, SHA-256) signature of an ID token's
/// size, in seconds, by the faster of `ring` and `aws-lc-rs`: what the OIDC flow signs once
/// more than a passkey sign-in.
fn rs256_floor() -> f64 {
    use aws_lc_rs::encoding::AsDer;
    let msg = [7u8; 600];
    let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("RSA key");
    let der = kp.as_der().expect("pkcs8");
    let mut sig = vec![0u8; kp.public_modulus_len()];
    let aws = median_pair(|| {
        kp.sign(
            &aws_lc_rs::signature::RSA_PKCS1_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            &msg,
            &mut sig,
        )
        .expect("sign");
    });
    let rk = ring::signature::RsaKeyPair::from_pkcs8(der.as_ref()).expect("ring RSA key");
    let rng = ring::rand::SystemRandom::new();
    let ring = median_pair(|| {
        rk.sign(&ring::signature::RSA_PKCS1_SHA256, &rng, &msg, &mut sig)
            .expect("sign");
    });
    aws.min(ring)
}

/// Median cost of one ES256 (P-256, SHA-256) signature of an ID token's size, in seconds,
/// by the faster of `ring` and `aws-lc-rs`: what the OIDC flow signs once more than a passkey
/// sign-in when its application takes ES256.
fn es256_floor() -> f64 {
    let msg = [7u8; 600];
    macro_rules! sign_only {
        ($m:ident, $load:expr) => {{
            use $m::rand::SystemRandom;
            use $m::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
            let rng = SystemRandom::new();
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
            let load: fn(&[u8], &SystemRandom) -> EcdsaKeyPair = $load;
            let kp = load(pkcs8.as_ref(), &rng);
            median_pair(|| {
                kp.sign(&rng, &msg).expect("sign");
            })
        }};
    }
    let ring = sign_only!(ring, |der, rng| {
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, rng).expect("key")
    });
    let aws = sign_only!(aws_lc_rs, |der, _| {
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).expect("key")
    });
    ring.min(aws)
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

/// The machine's cores (`/proc/cpuinfo`), whatever this process is pinned to.
fn machine_cores() -> usize {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|s| s.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(0)
}

/// Pins the calling thread to core `cpu`; whether it could.
#[cfg(target_os = "linux")]
fn pin_to(cpu: usize) -> bool {
    if cpu >= libc::CPU_SETSIZE as usize {
        return false;
    }
    // SAFETY: a zeroed `cpu_set_t` is the empty set; `CPU_SET` adds `cpu`, which is within
    // the set (checked above), and `sched_setaffinity` reads the set for the calling thread
    // (pid 0) only.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// Elsewhere threads are not pinned here, and the wake-up is not measured.
#[cfg(not(target_os = "linux"))]
fn pin_to(_cpu: usize) -> bool {
    false
}

/// The host's cost of waking a thread on another core, in microseconds: the median over 5
/// rounds of 2,000 one-byte round trips between a thread on core 0 and one on core 1 over a
/// socket pair, each side asleep until the other writes (like `perf bench sched pipe`, which
/// uses pipes between two processes). Every hand-off of a sign-in between processes or
/// threads on different cores pays it. On a virtual machine it moves with the host's load;
/// it is printed with each row so that rows from different hours can be compared with the
/// host's state in view (how closely the rates follow it is not yet measured: BENCHMARKS.md).
/// `None` on one core, or where the threads cannot be pinned.
fn wake_up_round_trip(cores: usize) -> Option<f64> {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    // The machine's cores, not this process's: the pinned runs start it under `taskset`.
    if cores < 2 {
        return None;
    }
    const ROUNDS: usize = 2_000;
    let (mut near, mut far) = UnixStream::pair().ok()?;
    let echo = std::thread::spawn(move || {
        if !pin_to(1) {
            return false;
        }
        let mut b = [0u8; 1];
        while far.read_exact(&mut b).is_ok() {
            if far.write_all(&b).is_err() {
                break;
            }
        }
        true
    });
    let measured = std::thread::spawn(move || {
        if !pin_to(0) {
            return None;
        }
        let mut b = [0u8; 1];
        let mut samples = vec![];
        for _ in 0..5 {
            let t = Instant::now();
            for _ in 0..ROUNDS {
                near.write_all(&b).ok()?;
                near.read_exact(&mut b).ok()?;
            }
            samples.push(t.elapsed().as_secs_f64() / ROUNDS as f64 * 1e6);
        }
        samples.sort_by(|a, b| a.total_cmp(b));
        samples.get(samples.len() / 2).copied()
        // `near` is dropped here: the echo thread reads the end and stops.
    })
    .join()
    .ok()
    .flatten();
    let pinned = echo.join().unwrap_or(false);
    measured.filter(|_| pinned)
}

#[tokio::main]
async fn main() {
    let a = Args::parse();
    let live = Arc::new(
        Live::start_nodes(
            &a.portcullis,
            a.database.as_deref(),
            a.nodes,
            a.server_cpu,
            &[(
                "PORTCULLIS_SQLITE_SYNCHRONOUS",
                a.sqlite_synchronous.as_str(),
            )],
        )
        .await,
    );
    let pids = live.pids();
    // What serves a sign-in: the nodes, HAProxy, and PostgreSQL when it is the store.
    let served = |ticks| {
        pids.iter().map(|p| cpu_seconds(*p, ticks)).sum::<f64>()
            + if a.database.is_some() {
                postgres_cpu_seconds(ticks)
            } else {
                0.0
            }
    };

    // Provision: the admin gets a passkey; every other user through the CLI and a TAP.
    eprintln!("provisioning {} users…", a.users);
    let t0 = Instant::now();
    let keys = live.provision(a.users).await;
    eprintln!(
        "provisioned in {:.1}s; measuring the crypto floor…",
        t0.elapsed().as_secs_f64()
    );
    let floors = crypto_floors();
    let wake_up = wake_up_round_trip(machine_cores());
    let oidc = match a.flow.as_str() {
        "passkey" => None,
        "oidc" => Some(live.register_app(&a.id_token_alg)),
        other => panic!("--flow is passkey or oidc, not {other}"),
    };
    // The application sign-in signs an ID token too: its floor has that sign more.
    let floor = floors.honest()
        + match (oidc.is_some(), a.id_token_alg.as_str()) {
            (false, _) => 0.0,
            (true, "RS256") => rs256_floor(),
            (true, "ES256") => es256_floor(),
            (true, other) => panic!("--id-token-alg is RS256 or ES256, not {other}"),
        };

    // Partition the keys among workers so no counter is used by two sign-ins at once.
    let workers = a.concurrency.max(1).min(keys.len());
    let mut parts: Vec<Vec<(String, SoftKey)>> = (0..workers).map(|_| vec![]).collect();
    for (i, k) in keys.into_iter().enumerate() {
        parts[i % workers].push(k);
    }
    let latencies = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let errors = Arc::new(Mutex::new(0usize));
    let ticks = clock_ticks();
    let cpu0 = served(ticks);
    let commits0 = live.group_commits().await;
    let start = Instant::now();
    let deadline = start + Duration::from_secs(a.seconds);
    let mut tasks = vec![];
    for mut part in parts {
        let (lat, errs, live, oidc, alg) = (
            latencies.clone(),
            errors.clone(),
            live.clone(),
            oidc.clone(),
            a.id_token_alg.clone(),
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
                let ok = match &oidc {
                    None => live.sign_in(&c, upn, key).await,
                    Some(app) => live.oidc_sign_in(&c, app, &alg, upn, key).await,
                };
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
    let cpu = served(ticks) - cpu0;
    // How many sign-ins shared a commit (and its fsync), on average, while measuring.
    let per_commit = match (commits0, live.group_commits().await) {
        (Some((b0, g0)), Some((b1, g1))) if g1 > g0 => format!("{:.1}", (b1 - b0) / (g1 - g0)),
        _ => "n/a".to_string(),
    };
    let mut lat = latencies.lock().await.clone();
    lat.sort();
    let n = lat.len();
    let rate = n as f64 / wall;
    let cpu_per = if n > 0 { cpu / n as f64 } else { 0.0 };
    // The machine's cores, not those this process may run on (taskset narrows those).
    let cores = machine_cores();
    let backend = if a.database.is_some() {
        match a.nodes {
            1 => "PostgreSQL (CPU with PostgreSQL's)".to_string(),
            n => format!(
                "PostgreSQL, {n} nodes behind HAProxy (CPU with PostgreSQL's and HAProxy's)"
            ),
        }
    } else {
        format!("SQLite ({})", a.sqlite_synchronous)
    } + &if oidc.is_some() {
        format!(", OIDC flow ({} ID token)", a.id_token_alg)
    } else {
        String::new()
    };
    let placement = match a.server_cpu {
        Some(cpu) => format!("server on core {cpu}"),
        None => "unpinned".into(),
    };
    println!("| backend | cores | placement | users | concurrency | sign-ins | errors | sign-ins/s | p50 ms | p99 ms | server CPU ms/sign-in | floor ms (fastest P-256 sign+verify, + the ID token's sign for OIDC) | CPU / floor | RustCrypto P-256 ms | CPU / RustCrypto | cross-core wake-up round trip µs | batches per group commit |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {backend} | {cores} | {placement} | {} | {} | {n} | {} | {rate:.0} | {:.2} | {:.2} | {:.3} | {:.3} ({}) | {:.1}× | {:.3} | {:.1}× | {} | {per_commit} |",
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
        if floors.rustcrypto > 0.0 { cpu_per / floors.rustcrypto } else { 0.0 },
        wake_up.map_or("n/a".to_string(), |us| format!("{us:.1}"))
    );
    if let Some(mut l) = Arc::into_inner(live) {
        let _ = l.server.start_kill();
        for o in &mut l.others {
            let _ = o.start_kill();
        }
    }
    // A run where sign-ins failed measured the failures, not the server: say so loudly.
    let failed = *errors.lock().await;
    if failed * 100 > n {
        eprintln!("{failed} sign-ins failed beside {n} that succeeded: the figures above are not a measurement");
        std::process::exit(1);
    }
}
