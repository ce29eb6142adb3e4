//! R53: the adoption series rebuilt from a generated 90-day history — users created over
//! time, passkeys registered, deleted and disabled, sign-ins of every kind — checked day by
//! day against counts computed here independently, from the generated events alone, on
//! both backends.

use std::collections::{BTreeMap, BTreeSet};

use portcullis_domain::adoption::Dimension;
use portcullis_domain::inventory::Attestation;
use portcullis_domain::passkey::Passkey;
use portcullis_domain::policy::fido2::{EnforcementType, KeyRestrictions};
use portcullis_domain::policy::{
    ExcludeTarget, Fido2Configuration, IncludeTarget, MethodConfiguration, MethodState, TargetId,
};
use portcullis_domain::Timestamp;
use portcullis_store::passkeys::{self, StoredPasskey};
use portcullis_store::signins::{self, SignInEvent};
use portcullis_testkit::both;
use time::{Date, Duration, Time};
use uuid::Uuid;

use super::{op, service, T0};

const YUBIKEY: Uuid = uuid::uuid!("2fc0579f-8113-47ea-b116-bb5a8db9202a");
const BLOCKED: Uuid = uuid::uuid!("0000000b-0000-0000-0000-00000000000b");
const AUTHENTICATOR: Uuid = uuid::uuid!("de1e552d-db1d-4423-a619-566b625cdc84");
const DAYS: i64 = 90;

/// A small deterministic generator (xorshift64*), so a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// A time within `span` after `t`, to the millisecond (as the store keeps it).
    fn after(&mut self, t: Timestamp, span: Duration) -> Timestamp {
        let ms = u64::try_from(span.whole_milliseconds()).unwrap().max(1);
        t + Duration::milliseconds(i64::try_from(self.below(ms)).unwrap() + 1)
    }
}

/// What was generated, as plain facts.
struct Gen {
    /// (user, created, targeted)
    users: Vec<(Uuid, Timestamp, bool)>,
    /// (user, created, ended, counts under the policy)
    passkeys: Vec<(Uuid, Timestamp, Option<Timestamp>, bool)>,
    /// (user, at, passkey?, success, interactive)
    sign_ins: Vec<(Uuid, Timestamp, bool, bool, bool)>,
}

fn end_of(d: Date) -> Timestamp {
    d.next_day().unwrap().with_time(Time::MIDNIGHT).assume_utc()
}

#[tokio::test]
async fn r53_the_series_rebuilt_from_90_days_of_records_matches_independent_counts() {
    for t in both().await {
        let (svc, clock) = service(&t, Default::default()).await;
        let mut rng = Rng(0x5EED_1234_ABCD_0042);
        let rollout = svc.add_group(&op(), "Rollout", true).await.unwrap();
        let exempt = svc.add_group(&op(), "Exempt", true).await.unwrap();
        let cfg = Fido2Configuration {
            state: MethodState::Enabled,
            is_attestation_enforced: false,
            include_targets: vec![IncludeTarget::of(TargetId::Group(rollout.id))],
            exclude_targets: vec![ExcludeTarget::group(exempt.id)],
            key_restrictions: KeyRestrictions {
                is_enforced: true,
                enforcement_type: EnforcementType::Block,
                aa_guids: vec![BLOCKED],
                ..Default::default()
            },
            ..Default::default()
        };
        svc.save_method_configuration(&op(), MethodConfiguration::Fido2(cfg), false)
            .await
            .unwrap();

        let mut g = Gen {
            users: vec![],
            passkeys: vec![],
            sign_ins: vec![],
        };
        // The bootstrap administrator, created at T0, in no group: counted, not targeted.
        let admin = svc.user("admin@contoso.com").await.unwrap().id;
        g.users.push((admin, T0, false));
        let mut c = svc.store().conn().await.unwrap();
        for i in 0..48 {
            let created = rng.after(T0, Duration::days(60));
            clock.set(created);
            let u = svc
                .add_user(&op(), &format!("user{i}@contoso.com"), &format!("User {i}"))
                .await
                .unwrap();
            let (in_rollout, in_exempt) = (rng.chance(70), rng.chance(20));
            if in_rollout {
                svc.add_member(&op(), "Rollout", &u.id.to_string())
                    .await
                    .unwrap();
            }
            if in_exempt {
                svc.add_member(&op(), "Exempt", &u.id.to_string())
                    .await
                    .unwrap();
            }
            let targeted = in_rollout && !in_exempt;
            // Stored as milliseconds.
            let created = portcullis_domain::time_fmt::from_millis(
                portcullis_domain::time_fmt::to_millis(created),
            );
            g.users.push((u.id, created, targeted));
            for _ in 0..rng.below(4) {
                let at = rng.after(created, Duration::days(DAYS + 5 - 60));
                let model =
                    [YUBIKEY, BLOCKED, AUTHENTICATOR][usize::try_from(rng.below(3)).unwrap()];
                let id = Uuid::new_v4();
                let p = Passkey {
                    id,
                    user_id: u.id,
                    credential_id: id.to_string(),
                    aaguid: model,
                    display_name: "generated".into(),
                    fmt: "none".into(),
                    attested: rng.chance(50),
                    synced: rng.chance(50),
                    created_at: at,
                    last_used_at: None,
                    sign_count: 0,
                    device: None,
                    device_profile: None,
                    flagged_clone: false,
                    disabled: false,
                };
                passkeys::insert(
                    &mut c,
                    &StoredPasskey {
                        passkey: p,
                        credential_json: "{}".into(),
                        x5c: vec![],
                        profile_id: None,
                        deleted: None,
                        attestation: Attestation::None,
                        backed_up: None,
                        client: Default::default(),
                    },
                )
                .await
                .unwrap();
                let ended = if rng.chance(30) {
                    let e = rng.after(at, Duration::days(40));
                    passkeys::delete(&mut c, id, "generator", e).await.unwrap();
                    Some(e)
                } else if rng.chance(20) {
                    let e = rng.after(at, Duration::days(40));
                    passkeys::set_disabled(&mut c, id, Some("generator"), e)
                        .await
                        .unwrap();
                    Some(e)
                } else {
                    None
                };
                g.passkeys
                    .push((u.id, at, ended, targeted && model != BLOCKED));
            }
        }
        for _ in 0..600 {
            let (u, created, _) =
                g.users[usize::try_from(rng.below(g.users.len() as u64)).unwrap()];
            let at = rng.after(created.max(T0), Duration::days(DAYS));
            let (passkey, success, interactive) = (rng.chance(60), rng.chance(80), rng.chance(80));
            signins::append(
                &mut c,
                &SignInEvent {
                    id: String::new(),
                    created_date_time: at,
                    user_id: Some(u),
                    user_principal_name: "generated".into(),
                    method: if passkey {
                        "passkey"
                    } else {
                        "temporaryAccessPass"
                    }
                    .into(),
                    ip_address: "192.0.2.1".into(),
                    user_agent: "generator".into(),
                    error_code: if success { 0 } else { 50126 },
                    failure_code: None,
                    failure_reason: None,
                    app_id: (!interactive).then(|| "payroll".into()),
                    app_display_name: None,
                    conditional_access_status: None,
                    applied_conditional_access_policies: None,
                    passkey_aaguid: None,
                    passkey_attested: None,
                    passkey_client: None,
                },
            )
            .await
            .unwrap();
            g.sign_ins.push((u, at, passkey, success, interactive));
        }
        drop(c);
        clock.set(T0 + Duration::days(DAYS + 10));

        let from = T0.date();
        let to = from + Duration::days(DAYS - 1);
        // Seven passkeys per read, so the scan pages through many chunks.
        let got = svc
            .adoption_in_chunks(Some(from), Some(to), 7)
            .await
            .unwrap();
        let report = &got.report;
        assert_eq!(report.daily.len(), 90, "{}", t.name);

        // Independently: every day, from the generated facts alone.
        let firsts: BTreeMap<Uuid, Timestamp> = g
            .sign_ins
            .iter()
            .filter(|s| s.2 && s.3 && s.4)
            .fold(BTreeMap::new(), |mut m, s| {
                let e = m.entry(s.0).or_insert(s.1);
                *e = (*e).min(s.1);
                m
            });
        let mut checked_holding = 0u64;
        for (i, day) in report.daily.iter().enumerate() {
            let d = from + Duration::days(i64::try_from(i).unwrap());
            let end = end_of(d);
            assert_eq!(day.day, Some(d));
            let users = g.users.iter().filter(|u| u.1 <= end).count() as u64;
            let targeted: BTreeSet<Uuid> = g
                .users
                .iter()
                .filter(|u| u.2 && u.1 <= end)
                .map(|u| u.0)
                .collect();
            let holding: BTreeSet<Uuid> = g
                .passkeys
                .iter()
                .filter(|p| p.3 && p.1 <= end && p.2.is_none_or(|e| end < e))
                .map(|p| p.0)
                .collect();
            let on_day = |t: Timestamp| t.date() == d;
            let registrations = g.passkeys.iter().filter(|p| on_day(p.1)).count() as u64;
            let first = firsts.values().filter(|t| on_day(**t)).count() as u64;
            let count = |passkey: bool| {
                g.sign_ins
                    .iter()
                    .filter(|s| s.2 == passkey && s.3 && s.4 && on_day(s.1))
                    .count() as u64
            };
            assert_eq!(
                (
                    day.users,
                    day.targeted,
                    day.holding,
                    day.registrations,
                    day.first_sign_ins,
                    day.passkey_sign_ins,
                    day.tap_sign_ins
                ),
                (
                    users,
                    targeted.len() as u64,
                    holding.len() as u64,
                    registrations,
                    first,
                    count(true),
                    count(false)
                ),
                "{} on {d}",
                t.name
            );
            checked_holding += day.holding;
        }
        assert!(checked_holding > 0, "the history has passkeys to count");
        assert!(report
            .daily
            .iter()
            .any(|d| d.tap_sign_ins > 0 && d.passkey_sign_ins > 0));

        // Users who signed in only with a pass during the range (interactive, successful).
        let range_end = end_of(to);
        let mut kinds: BTreeMap<Uuid, (bool, bool)> = BTreeMap::new();
        for s in g.sign_ins.iter().filter(|s| s.3 && s.4 && s.1 < range_end) {
            let e = kinds.entry(s.0).or_default();
            if s.2 {
                e.0 = true
            } else {
                e.1 = true
            }
        }
        assert_eq!(
            report.tap_only_users,
            kinds.values().filter(|(pk, tap)| *tap && !pk).count() as u64,
            "{}",
            t.name
        );

        // The group breakdown at the range's end: every targeted user is in Rollout.
        let in_rollout = {
            let targeted: Vec<Uuid> = g
                .users
                .iter()
                .filter(|u| u.2 && u.1 <= range_end)
                .map(|u| u.0)
                .collect();
            let holding = targeted
                .iter()
                .filter(|u| {
                    g.passkeys.iter().any(|p| {
                        p.0 == **u && p.3 && p.1 <= range_end && p.2.is_none_or(|e| range_end < e)
                    })
                })
                .count();
            (targeted.len() as u64, holding as u64)
        };
        let shown = report
            .breakdown
            .iter()
            .find(|s| s.dimension == Dimension::Group && s.value == rollout.id.to_string())
            .unwrap();
        assert_eq!((shown.targeted, shown.holding), in_rollout, "{}", t.name);
        assert!(
            !report
                .breakdown
                .iter()
                .any(|s| s.dimension == Dimension::Model && s.value.contains("0000000b")),
            "a blocked model is not counted"
        );
    }
}
