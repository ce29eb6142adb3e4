//! `soak`: a mixed load at a steady rate against a real `portcullis serve` for a long time
//! (30 minutes by default), recording every minute the server's resident memory, the size of
//! its database files, the operations done and failed, and their p50/p99 latency — what must
//! stay bounded for the server to run for months (issue 19, item 6). Not a test: run it with
//! `scripts/soak.sh [MINUTES]`; it prints a Markdown table and writes `soak.csv`.
//!
//! The mix, per second at `--rate`: passkey sign-ins (60 %), a user created and deleted
//! through Graph (10 %), a one-time pass created and redeemed by a sign-in (10 %), a
//! Conditional Access policy created and deleted (5 %), reads — users and the sign-in log
//! (15 %). Writes are undone, so the directory stays the same size; what grows is the sign-in
//! log and the audit log, as their retention says they should.

use clap::Parser;
use portcullis_bench::live::{cookie_client, percentile, rss_bytes, Failure, Live};
use portcullis_testkit::softkey::SoftKey;
use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, Semaphore};

#[derive(Parser, Debug)]
#[command(
    about = "A long mixed load at a steady rate, with memory, database size and latency every minute"
)]
struct Args {
    /// The portcullis binary (build it with `cargo build --release` first).
    #[arg(long, default_value = "target/release/portcullis")]
    portcullis: PathBuf,
    /// Minutes to run.
    #[arg(long, default_value_t = 30)]
    minutes: u64,
    /// Operations started per second.
    #[arg(long, default_value_t = 100)]
    rate: u64,
    /// Users with a passkey (they sign in in turn).
    #[arg(long, default_value_t = 64)]
    users: usize,
    /// Where the per-minute figures go.
    #[arg(long, default_value = "soak.csv")]
    csv: PathBuf,
}

#[derive(Default)]
struct Minute {
    latencies: Vec<Duration>,
    errors: u64,
    /// Errors answered 5xx by the server.
    server_errors: u64,
}

/// The operation the `n`th one is (the mix below), for the error tally.
fn op_name(n: u64) -> &'static str {
    match n % 20 {
        0..=11 => "passkey sign-in",
        12 | 13 => "user created and deleted",
        14 | 15 => "pass created, redeemed, deleted",
        16 => "policy created and deleted",
        _ => "read",
    }
}

/// An error's line in the tally: the operation and the status (or that none came).
fn tally_key(n: u64, f: &Failure) -> String {
    match f.status {
        Some(s) => format!("{} → {s}", op_name(n)),
        None => format!("{} → no answer", op_name(n)),
    }
}

fn db_bytes(dir: &std::path::Path) -> u64 {
    ["portcullis.db", "portcullis.db-wal", "portcullis.db-shm"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

#[tokio::main]
async fn main() {
    let a = Args::parse();
    // Every simulated user comes from this one address: the per-source lock-out would
    // measure the harness, not the server.
    let live = Arc::new(
        Live::start(
            &a.portcullis,
            None,
            None,
            &[
                ("PORTCULLIS_LOCKOUT__MAX_FAILURES_PER_SOURCE", "1000000"),
                ("PORTCULLIS_LOCKOUT__MAX_FAILURES_PER_USER", "1000000"),
            ],
        )
        .await,
    );
    assert!(
        (1..=100_000).contains(&a.rate),
        "--rate: from 1 to 100000 a second"
    );
    eprintln!(
        "server data directory {}; provisioning {} users with passkeys…",
        live.dir.path().display(),
        a.users
    );
    let keys: Vec<Mutex<(String, SoftKey)>> = live
        .provision(a.users)
        .await
        .into_iter()
        .map(Mutex::new)
        .collect();
    let keys = Arc::new(keys);
    // Passes are redeemed by a pool of users of their own.
    for i in 0..16 {
        live.cli(&[
            "users",
            "add",
            "--upn",
            &format!("pass{i}@portcullis.local"),
        ]);
    }
    let mint = || {
        live.cli(&[
            "token",
            "--user",
            "admin@portcullis.local",
            "--scope",
            "User.ReadWrite.All",
            "--scope",
            "UserAuthenticationMethod.ReadWrite.All",
            "--scope",
            "Policy.ReadWrite.ConditionalAccess",
            "--scope",
            "AuditLog.Read.All",
        ])
        .trim()
        .to_string()
    };
    // Tokens live an hour: a new one every ten minutes keeps a long soak signed in.
    let token = Arc::new(std::sync::RwLock::new(mint()));
    let minute = Arc::new(Mutex::new(Minute::default()));
    let gate = Arc::new(Semaphore::new(256));
    let seq = Arc::new(AtomicU64::new(0));
    let tally: Arc<std::sync::Mutex<std::collections::BTreeMap<String, u64>>> = Arc::default();
    let mut csv = String::from("minute,ops,errors,server_errors,p50_ms,p99_ms,rss_mib,db_mib\n");
    println!("| minute | ops | errors | of which 5xx | p50 ms | p99 ms | RSS MiB | database MiB |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / a.rate.max(1)));
    let mut next_report = start + Duration::from_secs(60);
    let mut m = 0;
    while m < a.minutes {
        tick.tick().await;
        if Instant::now() >= next_report {
            m += 1;
            next_report += Duration::from_secs(60);
            let done = std::mem::take(&mut *minute.lock().await);
            let mut lat = done.latencies;
            lat.sort();
            let (rss, db) = (rss_bytes(live.pid), db_bytes(live.dir.path()));
            let row = (
                lat.len(),
                done.errors,
                done.server_errors,
                percentile(&lat, 0.5).as_secs_f64() * 1e3,
                percentile(&lat, 0.99).as_secs_f64() * 1e3,
                rss as f64 / 1048576.0,
                db as f64 / 1048576.0,
            );
            println!(
                "| {m} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
                row.0, row.1, row.2, row.3, row.4, row.5, row.6
            );
            csv.push_str(&format!(
                "{m},{},{},{},{:.2},{:.2},{:.1},{:.1}\n",
                row.0, row.1, row.2, row.3, row.4, row.5, row.6
            ));
            let _ = std::fs::write(&a.csv, &csv);
            if m % 10 == 0 {
                let fresh = mint();
                if let Ok(mut t) = token.write() {
                    *t = fresh;
                }
            }
        }
        let Ok(permit) = gate.clone().try_acquire_owned() else {
            // The server is behind: the op is counted as failed rather than queued forever.
            minute.lock().await.errors += 1;
            if let Ok(mut t) = tally.lock() {
                *t.entry("not started: 256 operations in flight".into())
                    .or_default() += 1;
            }
            continue;
        };
        let n = seq.fetch_add(1, Ordering::Relaxed);
        let (live, keys, minute, tally) =
            (live.clone(), keys.clone(), minute.clone(), tally.clone());
        let token = token.read().map(|t| t.clone()).unwrap_or_default();
        tokio::spawn(async move {
            let t = Instant::now();
            let r = op(n, &live, &keys, &token).await;
            let mut mm = minute.lock().await;
            match r {
                Ok(()) => mm.latencies.push(t.elapsed()),
                Err(e) => {
                    if mm.errors < 3 {
                        eprintln!("op {n} ({}) failed: {e}", op_name(n));
                    }
                    mm.errors += 1;
                    if e.status.is_some_and(|s| s >= 500) {
                        mm.server_errors += 1;
                    }
                    if let Ok(mut t) = tally.lock() {
                        *t.entry(tally_key(n, &e)).or_default() += 1;
                    }
                }
            }
            drop(permit);
        });
    }
    // Let what is in flight finish before the tally.
    let _ = tokio::time::timeout(Duration::from_secs(30), gate.acquire_many(256)).await;
    eprintln!(
        "soak done: {} operations started",
        seq.load(Ordering::Relaxed)
    );
    println!("\n| errors by operation and status | count |\n|---|---:|");
    let counted = tally.lock().map(|t| t.clone()).unwrap_or_default();
    for (k, v) in &counted {
        println!("| {k} | {v} |");
    }
    if counted.is_empty() {
        println!("| none | 0 |");
    }
}

async fn op(
    n: u64,
    live: &Live,
    keys: &[Mutex<(String, SoftKey)>],
    token: &str,
) -> Result<(), Failure> {
    let c = cookie_client();
    let graph = |path: &str| format!("{}/v1.0/{path}", live.base);
    let check = |r: reqwest::Response, want: u16| {
        if r.status().as_u16() == want {
            Ok(r)
        } else {
            Err(Failure {
                status: Some(r.status().as_u16()),
                message: format!("{} answered {}", r.url().path(), r.status()),
            })
        }
    };
    let e = Failure::transport;
    match n % 20 {
        // 60 %: a passkey sign-in by the next user (one sign-in per key at a time).
        0..=11 => {
            let slot = &keys[(n as usize) % keys.len()];
            let mut k = slot.lock().await;
            let (upn, key) = &mut *k;
            live.sign_in(&c, upn, key).await
        }
        // 10 %: a user created, then deleted.
        12 | 13 => {
            let upn = format!("soak{n}@portcullis.local");
            let r = c
                .post(graph("users"))
                .bearer_auth(token)
                .json(&json!({"userPrincipalName": upn, "displayName": "Soak", "accountEnabled": true}))
                .send()
                .await
                .map_err(e)?;
            let v: serde_json::Value = check(r, 201)?.json().await.map_err(e)?;
            let id = v["id"].as_str().unwrap_or_default().to_string();
            let r = c
                .delete(graph(&format!("users/{id}")))
                .bearer_auth(token)
                .send()
                .await
                .map_err(e)?;
            check(r, 204).map(|_| ())
        }
        // 10 %: a one-time pass for a pool user, redeemed by a sign-in, then deleted. The two
        // pass ops of every twenty take different users, and a user comes round again only
        // 160 operations later (1.6 s at the default rate), long after its pass is gone.
        14 | 15 => {
            let upn = format!("pass{}@portcullis.local", ((n / 20) * 2 + n % 20 - 14) % 16);
            let r = c
                .post(graph(&format!(
                    "users/{upn}/authentication/temporaryAccessPassMethods"
                )))
                .bearer_auth(token)
                .json(&json!({"isUsableOnce": true, "lifetimeInMinutes": 60}))
                .send()
                .await
                .map_err(e)?;
            let r = check(r, 201)?;
            let v: serde_json::Value = r.json().await.map_err(e)?;
            let code = v["temporaryAccessPass"].as_str().unwrap_or_default();
            let r = c
                .post(format!("{}/signin/tap", live.base))
                .form(&[("username", upn.as_str()), ("code", code)])
                .send()
                .await
                .map_err(e)?;
            check(r, 303)?;
            let id = v["id"].as_str().unwrap_or_default();
            let r = c
                .delete(graph(&format!(
                    "users/{upn}/authentication/temporaryAccessPassMethods/{id}"
                )))
                .bearer_auth(token)
                .send()
                .await
                .map_err(e)?;
            check(r, 204).map(|_| ())
        }
        // 5 %: a Conditional Access policy created, then deleted.
        16 => {
            let r = c
                .post(graph("identity/conditionalAccess/policies"))
                .bearer_auth(token)
                .json(&json!({"displayName": format!("Soak {n}"), "state": "disabled",
                    "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
                    "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}))
                .send()
                .await
                .map_err(e)?;
            let v: serde_json::Value = check(r, 201)?.json().await.map_err(e)?;
            let id = v["id"].as_str().unwrap_or_default();
            let r = c
                .delete(graph(&format!("identity/conditionalAccess/policies/{id}")))
                .bearer_auth(token)
                .send()
                .await
                .map_err(e)?;
            check(r, 204).map(|_| ())
        }
        // 15 %: reads.
        17 | 18 => {
            let r = c
                .get(graph("users?$top=50"))
                .bearer_auth(token)
                .send()
                .await
                .map_err(e)?;
            check(r, 200).map(|_| ())
        }
        _ => {
            let r = c
                .get(graph("auditLogs/signIns?$top=50"))
                .bearer_auth(token)
                .send()
                .await
                .map_err(e)?;
            check(r, 200).map(|_| ())
        }
    }
}
