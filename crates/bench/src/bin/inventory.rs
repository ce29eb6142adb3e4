//! The passkey inventory (R52, issue 16): a generated tenant of many users and passkeys
//! written to a real store, then, in one run:
//! - `portcullis inventory passkeys --format csv --output FILE` (the CLI), its wall time and
//!   peak RSS;
//! - `GET /api/admin/inventory/passkeys?format=csv` against `portcullis serve` on the same
//!   store, read to the end, and the server's RSS growth meanwhile;
//! - the documents' script over Graph — list users, then each user's fido2Methods, one call
//!   per user — over the first `--graph-users` users, extrapolated per passkey;
//! - the physical limit: the same rows, joined, through the `sqlite3` shell as CSV.
//!
//! Usage: `inventory [--users N] [--passkeys N] [--graph-users N] [--postgres URL]
//! [--keep DIR [--generate-only]] [--reuse]` (`--reuse`: the store already holds the
//! tenant, from an earlier `--keep` or PostgreSQL run). It runs
//! `portcullis` from the same target directory as itself.

use portcullis_domain::directory::{Upn, User};
use portcullis_domain::inventory::Attestation;
use portcullis_domain::passkey::Passkey;
use portcullis_store::passkeys::StoredPasskey;
use portcullis_store::{commit, directory, passkeys, Durability, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

const MODELS: [&str; 6] = [
    "01020304-0506-0708-0102-030405060708",
    "cb69481e-8ff7-4039-93ec-0a2729a154a8",
    "08987058-cadc-4b81-b6e1-30de50dcbe96",
    "fbfc3007-154e-4ecc-8c0b-6e020557d7bd",
    "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4",
    "4c0a5d53-0a2f-4a7e-9b0a-6f2f6c1d0e11",
];

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn portcullis() -> PathBuf {
    std::env::current_exe()
        .expect("current exe")
        .parent()
        .expect("target dir")
        .join("portcullis")
}

/// A field of a process's `/proc/PID/status`, in KiB (`VmRSS:` now, `VmHWM:` its peak).
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
}

/// Resident memory of a process now, in KiB.
fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:").unwrap_or(0)
}

/// Runs `cmd` to the end; its wall time and peak RSS (KiB): the child's own high-water mark
/// (`VmHWM`), read every millisecond while it runs — `None` when it ended before the first
/// reading. (The kernel's `ru_maxrss` would not do: a child spawned by this process, which
/// holds the generated tenant, starts its count at this process's peak.)
fn timed(mut cmd: Command) -> (Duration, Option<u64>) {
    let t = Instant::now();
    let mut child = cmd.spawn().expect("spawn");
    let mut peak: Option<u64> = None;
    loop {
        if let Some(hwm) = status_kib(child.id(), "VmHWM:") {
            peak = Some(peak.unwrap_or(0).max(hwm));
        }
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "{cmd:?} failed: {status}");
            return (t.elapsed(), peak);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

async fn generate(store: &Store, users: usize, keys: usize) -> Vec<Uuid> {
    let mut rng = StdRng::seed_from_u64(16);
    let now = time::OffsetDateTime::now_utc();
    let models: Vec<Uuid> = MODELS
        .iter()
        .map(|m| Uuid::parse_str(m).expect("uuid"))
        .collect();
    let mut ids = Vec::with_capacity(users);
    let mut tx = store.begin().await.expect("begin");
    for i in 0..users {
        let u = User {
            id: Uuid::from_u128(rng.gen()),
            user_principal_name: Upn::parse(&format!("user{i:07}@contoso.com")).expect("upn"),
            display_name: format!("User {i}"),
            account_enabled: true,
            created_date_time: now,
        };
        directory::insert_user(&mut tx, &u).await.expect("user");
        ids.push(u.id);
    }
    for k in 0..keys {
        // Every user holds one; the rest go to users at random.
        let user = if k < users {
            ids[k]
        } else {
            ids[rng.gen_range(0..users)]
        };
        let created = now - time::Duration::days(rng.gen_range(1..400));
        let used = rng
            .gen_bool(0.8)
            .then(|| created + time::Duration::hours(rng.gen_range(1..2000)));
        let p = StoredPasskey {
            passkey: Passkey {
                id: Uuid::from_u128(rng.gen()),
                user_id: user,
                credential_id: format!("cred-{k}"),
                aaguid: models[rng.gen_range(0..models.len())],
                display_name: format!("Key {k}"),
                fmt: "packed".into(),
                attested: rng.gen_bool(0.3),
                synced: rng.gen_bool(0.5),
                created_at: created,
                last_used_at: used,
                sign_count: 0,
                device: rng.gen_bool(0.2).then(|| "Pixel 8".to_string()),
                device_profile: None,
                flagged_clone: false,
                disabled: false,
            },
            credential_json: "{}".into(),
            x5c: vec![],
            profile_id: None,
            deleted: None,
            attestation: Attestation::Basic,
            backed_up: Some(false),
            client: Default::default(),
        };
        passkeys::insert(&mut tx, &p).await.expect("passkey");
    }
    commit(tx).await.expect("commit");
    ids
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port()
}

fn cli(dir: &Path, db: Option<&str>, origin: &str) -> Command {
    let mut c = Command::new(portcullis());
    c.arg("--data-dir")
        .arg(dir)
        .env("PORTCULLIS_PUBLIC_URL", origin);
    if let Some(db) = db {
        c.arg("--database").arg(db);
    }
    c
}

#[tokio::main]
async fn main() {
    let users: usize = arg("--users")
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    let keys: usize = arg("--passkeys")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let graph_users: usize = arg("--graph-users")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let postgres = arg("--postgres");
    let tmp = tempfile::tempdir().expect("tempdir");
    // `--keep DIR`: generate there, and leave it for a profiler.
    let kept = arg("--keep").map(PathBuf::from);
    let dir_path: PathBuf = kept.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir_path).expect("data dir");
    struct Dir(PathBuf);
    impl Dir {
        fn path(&self) -> &Path {
            &self.0
        }
    }
    let dir = Dir(dir_path);
    let sqlite = dir.path().join("portcullis.db");
    let (url, db_flag, backend) = match &postgres {
        Some(u) => (u.clone(), Some(u.as_str()), "PostgreSQL"),
        None => (
            format!("sqlite://{}?mode=rwc", sqlite.display()),
            None,
            "SQLite",
        ),
    };
    let port = free_port();
    let origin = format!("http://localhost:{port}");

    let store = Store::open_with(&url, Durability::Normal)
        .await
        .expect("store");
    // The tenant itself (the first administrator, the built-in applications) as serve makes it.
    let svc = portcullis_service::Service::new(
        store.clone(),
        std::sync::Arc::new(portcullis_service::SystemClock),
        portcullis_domain::lockout::LockoutPolicy::default(),
    );
    let reuse = std::env::args().any(|a| a == "--reuse");
    let t = Instant::now();
    if !reuse {
        svc.bootstrap("Contoso", "contoso.com")
            .await
            .expect("bootstrap");
        generate(&store, users, keys).await;
    }
    drop(svc);
    store.close().await;
    println!(
        "machine: {} cores; {backend}; {users} users, {keys} passkeys of {} models; written in {:.1} s",
        std::thread::available_parallelism().map_or(0, |c| c.get()),
        MODELS.len(),
        t.elapsed().as_secs_f64()
    );

    if std::env::args().any(|a| a == "--generate-only") {
        return;
    }

    // The CLI, to a file.
    let out = dir.path().join("inventory.csv");
    let mut runs = vec![];
    for _ in 0..3 {
        let mut c = cli(dir.path(), db_flag, &origin);
        c.args(["inventory", "passkeys", "--format", "csv", "--output"])
            .arg(&out)
            .stderr(Stdio::null());
        runs.push(timed(c));
    }
    let lines = std::fs::read_to_string(&out).expect("csv").lines().count();
    assert_eq!(lines, keys + 1, "every passkey, and the header");
    // A command that opens the store and does nothing else: the RSS the inventory adds to it.
    // It ends within milliseconds: run again until a reading was taken while it ran.
    let base_rss = (0..50)
        .find_map(|_| {
            let mut base = cli(dir.path(), db_flag, &origin);
            base.args(["users", "show", "admin@contoso.com"])
                .stdout(Stdio::null());
            timed(base).1
        })
        .expect("a reading of the command that only opens the store");
    runs.sort();
    let (cli_time, cli_rss) = runs[1];
    let cli_rss = cli_rss.expect("a reading of the inventory while it ran");

    // The floor: the same rows through the sqlite3 shell.
    let shell = if postgres.is_none() {
        let mut s = vec![];
        for _ in 0..3 {
            let mut c = Command::new("sqlite3");
            c.arg("-csv").arg(&sqlite).arg("SELECT p.user_id, u.upn, p.id, p.aaguid, p.fmt, p.attested, p.created_at, p.last_used_at, p.device, p.device_profile, p.synced, p.backed_up, p.display_name FROM passkeys p JOIN users u ON u.id = p.user_id WHERE p.deleted_at IS NULL ORDER BY p.user_id, p.id").stdout(Stdio::null());
            s.push(timed(c).0);
        }
        s.sort();
        Some(s[1])
    } else {
        None
    };

    // The server: the stream, and the per-user Graph calls.
    let mut serve = cli(dir.path(), db_flag, &origin);
    serve
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--public-url",
            &origin,
        ])
        .env("PORTCULLIS_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut server = serve.spawn().expect("serve");
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http.get(format!("{origin}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = {
        let mut c = cli(dir.path(), db_flag, &origin);
        let o = c
            .args([
                "token",
                "--user",
                "admin@contoso.com",
                "--scope",
                "UserAuthenticationMethod.Read.All",
                "--scope",
                "User.Read.All",
            ])
            .output()
            .expect("token");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let idle_rss = rss_kib(server.id());
    let mut streams = vec![];
    let mut peak = idle_rss;
    for _ in 0..3 {
        let t = Instant::now();
        let mut r = http
            .get(format!("{origin}/api/admin/inventory/passkeys?format=csv"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("stream");
        assert!(r.status().is_success(), "{}", r.status());
        let mut bytes = 0usize;
        let mut newlines = 0usize;
        while let Some(chunk) = r.chunk().await.expect("chunk") {
            bytes += chunk.len();
            newlines += chunk.iter().filter(|b| **b == b'\n').count();
            peak = peak.max(rss_kib(server.id()));
        }
        assert_eq!(
            newlines,
            keys + 1,
            "every passkey over HTTP ({bytes} bytes)"
        );
        streams.push(t.elapsed());
    }
    streams.sort();
    let stream = streams[1];

    // The documents' script: list users (pages of 999), then each one's fido2Methods.
    let t = Instant::now();
    let mut listed: Vec<String> = vec![];
    let mut next = Some(format!("{origin}/beta/users?$top=999&$select=id"));
    while let (Some(url), true) = (next.clone(), listed.len() < graph_users) {
        let page: serde_json::Value = http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("users")
            .json()
            .await
            .expect("json");
        for u in page["value"].as_array().expect("value") {
            listed.push(u["id"].as_str().expect("id").to_string());
        }
        next = page["@odata.nextLink"].as_str().map(str::to_string);
    }
    listed.truncate(graph_users);
    let mut found = 0usize;
    for id in &listed {
        let m: serde_json::Value = http
            .get(format!(
                "{origin}/beta/users/{id}/authentication/fido2Methods"
            ))
            .bearer_auth(&token)
            .send()
            .await
            .expect("fido2Methods")
            .json()
            .await
            .expect("json");
        found += m["value"].as_array().map_or(0, Vec::len);
    }
    let script = t.elapsed();
    let _ = server.kill();
    let _ = server.wait();

    let per = |d: Duration, n: usize| d.as_secs_f64() * 1e6 / n.max(1) as f64;
    println!("| what | time | passkeys/s | µs per passkey | peak RSS |");
    println!("| --- | --- | --- | --- | --- |");
    if let Some(s) = shell {
        println!(
            "| the same rows through the sqlite3 shell, as CSV (physical limit) | {:.2} s | {:.0} | {:.2} | |",
            s.as_secs_f64(),
            keys as f64 / s.as_secs_f64(),
            per(s, keys)
        );
    }
    println!(
        "| `portcullis inventory passkeys --format csv --output FILE` | {:.2} s | {:.0} | {:.2} | {} MiB (+{} MiB over a command that only opens the store) |",
        cli_time.as_secs_f64(),
        keys as f64 / cli_time.as_secs_f64(),
        per(cli_time, keys),
        cli_rss / 1024,
        cli_rss.saturating_sub(base_rss) / 1024
    );
    println!(
        "| `GET /api/admin/inventory/passkeys?format=csv`, read to the end | {:.2} s | {:.0} | {:.2} | server +{} MiB over idle |",
        stream.as_secs_f64(),
        keys as f64 / stream.as_secs_f64(),
        per(stream, keys),
        peak.saturating_sub(idle_rss) / 1024
    );
    println!(
        "| the documents' script over Graph: {} users listed, one fido2Methods call each ({found} passkeys) | {:.2} s | {:.0} | {:.2} | |",
        listed.len(),
        script.as_secs_f64(),
        found as f64 / script.as_secs_f64(),
        per(script, found)
    );
    println!(
        "\nMedians of 3 runs. The script, per passkey, is {:.0}× the CLI inventory; at its rate the whole tenant would take {:.0} s.",
        per(script, found) / per(cli_time, keys),
        script.as_secs_f64() * users as f64 / listed.len().max(1) as f64
    );
    if let Some(s) = shell {
        println!(
            "The CLI inventory is {:.1}× the sqlite3 shell's time for the same rows; the HTTP stream {:.1}×.",
            cli_time.as_secs_f64() / s.as_secs_f64(),
            stream.as_secs_f64() / s.as_secs_f64()
        );
    }
}
