//! Readiness benchmark (R50, issue 14): the analysis of every user, as every persona, with the
//! generated tenant of the issue — users in 10,000 groups (5 each), 50 applications, 100
//! Conditional Access policies, two passkeys per user of 30 models (none for one user in
//! ten) — at 10k, 100k and 1M
//! users, and a dry run of one changed policy at 100k. The domain analysis only: the facts are
//! generated in memory, as the service holds them after its five reads.

use portcullis_domain::access::MethodsPolicy;
use portcullis_domain::application::Application;
use portcullis_domain::conditional_access::evaluate::Config;
use portcullis_domain::conditional_access::set::PolicySet;
use portcullis_domain::conditional_access::Policy;
use portcullis_domain::directory::SECURITY_INFO_APP;
use portcullis_domain::policy::{Fido2Configuration, MethodState, TapConfiguration};
use portcullis_domain::readiness::{self, Subject, Tenant};
use portcullis_domain::strength;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::time::Instant;

use portcullis_bench::tenant::{self, policy, world, GROUPS, GROUPS_PER_USER, MODELS, POLICIES};

/// Peak resident memory of this process, from /proc.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let mut rng = StdRng::seed_from_u64(14);
    let groups = tenant::ids(&mut rng, GROUPS);
    let models = tenant::ids(&mut rng, MODELS);
    let apps = tenant::apps(&mut rng);
    let portal = Application {
        app_id: SECURITY_INFO_APP.app_id.into(),
        ..Default::default()
    };
    let authenticator = Application {
        app_id: portcullis_domain::directory::AUTHENTICATOR_APP
            .app_id
            .into(),
        ..Default::default()
    };
    let policies: Vec<Policy> = (0..POLICIES)
        .map(|i| policy(&mut rng, i, &groups, &apps))
        .collect();
    let set = PolicySet::new(policies.clone());
    let strengths = strength::all(&[]);
    let fido2 = Fido2Configuration {
        state: MethodState::Enabled,
        ..Default::default()
    };
    let tap = TapConfiguration {
        state: MethodState::Enabled,
        ..Default::default()
    };
    let now = time::OffsetDateTime::now_utc();
    // Every model's roots imported, and the app attestation service configured.
    let trust = readiness::AttestationTrust {
        rooted: models.iter().copied().collect(),
        app_attestation: true,
    };
    let tenant = |set| Tenant {
        config: Config {
            policies: set,
            strengths: &strengths,
            locations: &[],
        },
        methods: MethodsPolicy {
            fido2: &fido2,
            tap: &tap,
        },
        applications: &apps,
        portal: &portal,
        authenticator: &authenticator,
        networks: &[None],
        trust: &trust,
        now,
    };
    let workers = std::thread::available_parallelism().unwrap_or(std::num::NonZeroUsize::MIN);
    let cores = workers.get();
    println!("machine: {cores} cores; {GROUPS} groups ({GROUPS_PER_USER} per user), 50 apps, {POLICIES} policies, 2 passkeys per user of {MODELS} models, 6 personas");
    println!("| users | classes | full analysis | per user | findings | peak RSS |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let sizes: Vec<usize> = std::env::args()
        .nth(1)
        .map(|a| a.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000, 1_000_000]);
    for n in sizes {
        let w = world(&mut rng, n, &groups, &models);
        let subjects: Vec<Subject<'_>> = (0..n)
            .map(|i| Subject {
                user: &w.users[i],
                groups: &w.groups[i],
                roles: &[],
                passkeys: &w.passkeys[i],
                pass: None,
                devices: &[],
            })
            .collect();
        let t = tenant(&set);
        let classes = readiness::classes(&t, &subjects);
        let started = Instant::now();
        let found = readiness::analyse(&t, &subjects, workers);
        let took = started.elapsed();
        println!(
            "| {n} | {classes} | {:.2} s | {:.1} µs | {} | {:.0} MiB |",
            took.as_secs_f64(),
            took.as_secs_f64() * 1e6 / n as f64,
            found.len(),
            peak_rss_mib()
        );
        if n == 100_000 {
            // A dry run: one policy changed (to block), analysed as the service does — the
            // current configuration in full, the proposed one for the users the changed
            // policy could include.
            let mut changed = policies.clone();
            if let Some(p) = changed.get_mut(1) {
                if let Some(g) = p.grant_controls.as_mut() {
                    g.built_in_controls = vec!["block".into()];
                    g.authentication_strength = None;
                }
            }
            let proposed = PolicySet::new(changed);
            let started = Instant::now();
            let run = readiness::dry_run(
                &t,
                &Tenant {
                    config: Config {
                        policies: &proposed,
                        ..t.config
                    },
                    ..t
                },
                &subjects,
                workers,
            );
            println!(
                "dry run of one changed policy at {n} users: {:.2} s, both analyses ({} findings after; {} users analysed again)",
                started.elapsed().as_secs_f64(),
                run.then.len(),
                run.reanalysed
            );
        }
    }
}
