//! Conditional Access evaluation benchmark (issue 6): median and p99 of one decision with
//! 10, 100 and 1,000 policies over 100,000 users in 10,000 groups. Pure domain evaluation,
//! the same function sign-in and What If call; no I/O is timed.

use portcullis_domain::conditional_access::evaluate::{evaluate, Config, Resource, Signals};
use portcullis_domain::conditional_access::platform::{ClientAppType, Platform};
use portcullis_domain::conditional_access::set::PolicySet;
use portcullis_domain::conditional_access::Policy;
use portcullis_domain::device::DeviceFacts;
use portcullis_domain::directory::{Upn, User};
use portcullis_domain::strength::{self, UsedMethod};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::hint::black_box;

use portcullis_bench::tenant::{self, policy, GROUPS, GROUPS_PER_USER};
use std::time::Instant;
use uuid::Uuid;

const USERS: usize = 100_000;
const DECISIONS: usize = 20_000;
const BUILDS: usize = 21;

fn main() {
    let mut rng = StdRng::seed_from_u64(7);
    let now = time::OffsetDateTime::now_utc();
    let groups = tenant::ids(&mut rng, GROUPS);
    let users: Vec<(User, Vec<Uuid>)> = (0..USERS)
        .map(|i| {
            let u = User {
                id: Uuid::from_u128(rng.gen()),
                user_principal_name: Upn::parse(&format!("u{i}@contoso.com"))
                    .unwrap_or_else(|_| unreachable!()),
                display_name: format!("U{i}"),
                account_enabled: true,
                created_date_time: now,
            };
            let g = (0..GROUPS_PER_USER)
                .map(|_| groups[rng.gen_range(0..GROUPS)])
                .collect();
            (u, g)
        })
        .collect();
    let apps = tenant::apps(&mut rng);
    let strengths = strength::all(&[]);
    let compliant = DeviceFacts {
        is_compliant: true,
        ..Default::default()
    };
    let methods = [UsedMethod::passkey(None, false)];
    println!("machine: {} cores; {USERS} users in {GROUPS} groups ({GROUPS_PER_USER} each), {DECISIONS} decisions per row", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0));
    println!("| policies | median | p99 | p99 / policy | PolicySet::new (median of {BUILDS}) |");
    println!("| --- | --- | --- | --- | --- |");
    for n in [10, 100, 1000] {
        // Parsed and indexed once per configuration version, as the service does when it
        // loads them: that load is timed too (once per version, not per sign-in).
        let policies: Vec<Policy> = (0..n)
            .map(|i| policy(&mut rng, i, &groups, &apps))
            .collect();
        let mut builds: Vec<u128> = (0..BUILDS)
            .map(|_| {
                let copy = policies.clone();
                let t = Instant::now();
                black_box(PolicySet::new(black_box(copy)));
                t.elapsed().as_nanos()
            })
            .collect();
        builds.sort_unstable();
        let build = builds[builds.len() / 2] as f64 / 1000.0;
        let set = PolicySet::new(policies);
        let cfg = Config {
            policies: &set,
            strengths: &strengths,
            locations: &[],
        };
        let mut times = Vec::with_capacity(DECISIONS);
        for k in 0..DECISIONS {
            let (user, member_of) = &users[rng.gen_range(0..USERS)];
            let app = &apps[k % apps.len()];
            let s = Signals {
                user,
                groups: member_of,
                roles: &[],
                resource: Resource::Application(app),
                client: Some(app),
                platform: Some(if k.is_multiple_of(2) {
                    Platform::Windows
                } else {
                    Platform::Android
                }),
                ip: None,
                client_app_type: ClientAppType::Browser,
                device: (k.is_multiple_of(3)).then_some(&compliant),
                methods: &methods,
                now,
            };
            let t = Instant::now();
            black_box(evaluate(&cfg, black_box(&s)));
            times.push(t.elapsed().as_nanos());
        }
        times.sort_unstable();
        let median = times[times.len() / 2] as f64 / 1000.0;
        let p99 = times[times.len() * 99 / 100] as f64 / 1000.0;
        println!(
            "| {n} | {median:.1} µs | {p99:.1} µs | {:.3} µs | {build:.0} µs |",
            p99 / n as f64
        );
    }
}
