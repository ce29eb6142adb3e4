//! Readiness end to end (R50, issue 14): the generated tenant written to a real SQLite store,
//! then `Service::readiness` — the five bulk reads of every user's facts and the analysis,
//! as `portcullis readiness` and `POST /api/admin/readiness` run it — and a dry run of one
//! changed policy (which analyses the current and the proposed configuration). The floor it
//! is compared with: the same five reads alone.

use portcullis_bench::tenant::{self, policy, world, GROUPS, MODELS, POLICIES};
use portcullis_domain::actor::Actor;
use portcullis_domain::application::Application;
use portcullis_domain::directory::Group;
use portcullis_domain::lockout::LockoutPolicy;
use portcullis_service::readiness::Proposal;
use portcullis_service::{Service, SystemClock};
use portcullis_store::passkeys::StoredPasskey;
use portcullis_store::{
    applications, commit, devices, directory, passkeys, tap, Durability, Store,
};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let runs: usize = 3;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );

    let store = Store::open_with(&url, Durability::Normal)
        .await
        .expect("store");
    let svc = Service::new(
        store.clone(),
        Arc::new(SystemClock),
        LockoutPolicy::default(),
    );
    svc.bootstrap("Contoso", "contoso.com")
        .await
        .expect("bootstrap");
    let op = Actor::Operator {
        name: "bench".into(),
    };

    // The tenant of the in-memory benchmark, written once.
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(14);
    let groups = tenant::ids(&mut rng, GROUPS);
    let models = tenant::ids(&mut rng, MODELS);
    let apps = tenant::apps(&mut rng);
    let w = world(&mut rng, n, &groups, &models);
    let now = time::OffsetDateTime::now_utc();
    let mut tx = store.begin().await.expect("begin");
    for (i, g) in groups.iter().enumerate() {
        let g = Group {
            id: *g,
            display_name: format!("Group {i}"),
            security_enabled: true,
        };
        directory::insert_group(&mut tx, &g, now)
            .await
            .expect("group");
    }
    for a in &apps {
        let a = Application {
            object_id: Uuid::new_v4().to_string(),
            service_principal_id: Uuid::new_v4().to_string(),
            ..a.clone()
        };
        applications::insert(&mut tx, &a, now).await.expect("app");
    }
    for ((u, gs), pks) in w.users.iter().zip(&w.groups).zip(&w.passkeys) {
        directory::insert_user(&mut tx, u).await.expect("user");
        for g in gs {
            directory::add_member(&mut tx, *g, u.id)
                .await
                .expect("member");
        }
        for p in pks {
            let stored = StoredPasskey {
                passkey: p.clone(),
                credential_json: "{}".into(),
                x5c: vec![],
                profile_id: None,
                deleted: None,
                attestation: portcullis_domain::inventory::Attestation::None,
                backed_up: None,
                client: Default::default(),
            };
            passkeys::insert(&mut tx, &stored).await.expect("passkey");
        }
    }
    commit(tx).await.expect("commit");
    let mut first = None;
    for i in 0..POLICIES {
        let p = svc
            .save_ca_policy(&op, policy(&mut rng, i, &groups, &apps), true)
            .await
            .expect("policy");
        first.get_or_insert(p);
    }
    let passkey_count: usize = w.passkeys.iter().map(Vec::len).sum();
    println!(
        "machine: {} cores; SQLite, {n} users, {GROUPS} groups, 50 apps, {POLICIES} policies, {passkey_count} passkeys of {MODELS} models; written in {:.1} s",
        std::thread::available_parallelism().map_or(0, |c| c.get()),
        started.elapsed().as_secs_f64()
    );

    // The floor: the reads alone.
    let mut reads = vec![];
    for _ in 0..runs {
        let t = Instant::now();
        let c = store.reader();
        directory::all_users(c).await.expect("users");
        let users_took = t.elapsed();
        directory::all_memberships(c).await.expect("m");
        let memberships_took = t.elapsed();
        directory::all_role_assignments(c).await.expect("r");
        passkeys::all_live(c).await.expect("p");
        let passkeys_took = t.elapsed();
        tap::all(c).await.expect("t");
        devices::list(c).await.expect("d");
        reads.push(t.elapsed());
        if std::env::var_os("BENCH_VERBOSE").is_some() {
            eprintln!("users {users_took:?}, +memberships {memberships_took:?}, +passkeys {passkeys_took:?}, all {:?}", t.elapsed());
        }
    }
    let mut full = vec![];
    let mut found = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let r = svc.readiness(&[], None).await.expect("readiness");
        full.push(t.elapsed());
        found = r.findings.len();
    }
    let mut dry = vec![];
    let changed = first.expect("a policy");
    let mut blocked = serde_json::to_value(&changed).expect("json");
    blocked["grantControls"] = serde_json::json!({"operator": "OR", "builtInControls": ["block"]});
    blocked["@odata.type"] = "#microsoft.graph.conditionalAccessPolicy".into();
    for _ in 0..runs {
        let mut p = Proposal::default();
        p.add(blocked.clone()).expect("proposal");
        let t = Instant::now();
        svc.readiness(&[], Some(&p)).await.expect("dry run");
        dry.push(t.elapsed());
    }
    // The physical limit of those reads: the same rows through the sqlite3 shell, the
    // fastest reader of a SQLite file at hand (none of sqlx's per-row work).
    let db = dir.path().join("bench.db");
    let mut shell = vec![];
    for _ in 0..runs {
        let t = Instant::now();
        let ok = std::process::Command::new("sqlite3")
            .arg(&db)
            .arg("SELECT * FROM users; SELECT user_id, group_id FROM group_members; SELECT * FROM role_assignments; SELECT id, user_id, credential_id, aaguid, display_name, fmt, attested, synced, created_at, last_used_at, sign_count, device, device_profile, flagged_clone FROM passkeys WHERE deleted_at IS NULL; SELECT * FROM temporary_access_passes; SELECT * FROM devices;")
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            shell.push(t.elapsed());
        }
    }
    let (reads, full, dry) = (median(reads), median(full), median(dry));
    println!("| step (median of {runs}) | time | × the reads |");
    println!("| --- | --- | --- |");
    if shell.len() == runs {
        let shell = median(shell);
        println!(
            "| the same rows through the sqlite3 shell (physical limit) | {:.2} s | {:.2} |",
            shell.as_secs_f64(),
            shell.as_secs_f64() / reads.as_secs_f64()
        );
    } else {
        println!("| the sqlite3 shell (physical limit) | not installed, or the read failed | |");
    }
    println!(
        "| the five reads alone (floor) | {:.2} s | 1.0 |",
        reads.as_secs_f64()
    );
    println!(
        "| full analysis, end to end ({found} findings) | {:.2} s | {:.1} |",
        full.as_secs_f64(),
        full.as_secs_f64() / reads.as_secs_f64()
    );
    println!(
        "| dry run of one changed policy, end to end | {:.2} s | {:.1} |",
        dry.as_secs_f64(),
        dry.as_secs_f64() / reads.as_secs_f64()
    );
}
