use super::*;
use crate::policy::fido2::EnforcementType;
use crate::policy::targets::{IncludeTarget, TargetId};
use crate::policy::{KeyRestrictions, MethodState};
use time::macros::datetime;

const CHROMIUM: Uuid = Uuid::from_u128(0x0102_0304_0506_0708_0102_0304_0506_0708);
const YUBI: Uuid = Uuid::from_u128(0xcb69_481e_8ff7_4039_93ec_0a27_29a1_54a8);
const PILOTS: Uuid = Uuid::from_u128(42);

fn record(user: u128, aaguid: Uuid, attested: bool, synced: bool) -> Record {
    Record {
        passkey: Passkey {
            id: Uuid::from_u128(user * 1000 + 1),
            user_id: Uuid::from_u128(user),
            credential_id: format!("cred-{user}"),
            aaguid,
            display_name: "Key".into(),
            fmt: "none".into(),
            attested,
            synced,
            created_at: datetime!(2026-01-01 0:00 UTC),
            last_used_at: Some(datetime!(2026-06-01 0:00 UTC)),
            sign_count: 0,
            device: None,
            device_profile: None,
            flagged_clone: false,
            disabled: false,
        },
        user_principal_name: format!("user{user}@contoso.com"),
        attestation: Attestation::None,
        backed_up: None,
        client: Default::default(),
    }
}

fn enabled() -> Fido2Configuration {
    Fido2Configuration {
        state: MethodState::Enabled,
        is_attestation_enforced: false,
        ..Default::default()
    }
}

fn blocking(aaguid: Uuid) -> Fido2Configuration {
    Fido2Configuration {
        key_restrictions: KeyRestrictions {
            is_enforced: true,
            enforcement_type: EnforcementType::Block,
            aa_guids: vec![aaguid],
            ..Default::default()
        },
        ..enabled()
    }
}

fn operator() -> Actor {
    Actor::Operator {
        name: "test".into(),
    }
}

fn rows(judge: &Judge<'_>, f: &Filter, records: &[Record]) -> Vec<Row> {
    records
        .iter()
        .filter_map(|r| {
            let groups: Vec<Uuid> = if r.passkey.user_id == Uuid::from_u128(2) {
                vec![PILOTS]
            } else {
                vec![]
            };
            let model = (r.passkey.aaguid == YUBI).then_some("YubiKey 5 Series");
            row(judge, f, r, model, &groups, &[])
        })
        .collect()
}

fn parse(f: impl FnOnce(&mut RawFilter)) -> Result<Filter, FilterError> {
    let mut raw = RawFilter::default();
    f(&mut raw);
    Filter::parse(&raw)
}

#[test]
fn r52_filters_parse_once_and_name_the_field_that_does_not() {
    assert_eq!(parse(|_| {}), Ok(Filter::default()));
    let f = parse(|r| {
        r.aaguid = CHROMIUM.to_string();
        r.usable = "False".into();
        r.unused_since = "2026-03-01".into();
        r.model = " YubiKey ".into();
    })
    .unwrap();
    assert_eq!(f.aaguid, Some(CHROMIUM));
    assert_eq!(f.usable, Some(false));
    assert_eq!(f.unused_since, Some(datetime!(2026-03-01 0:00 UTC)));
    assert_eq!(f.model.as_deref(), Some("yubikey"));
    for (field, bad) in [
        ("aaguid", parse(|r| r.aaguid = "not-a-guid".into())),
        ("usable", parse(|r| r.usable = "maybe".into())),
        ("attested", parse(|r| r.attested = "1".into())),
        (
            "unusedSince",
            parse(|r| r.unused_since = "yesterday".into()),
        ),
        ("group", parse(|r| r.group = "Pilots".into())),
        ("model", parse(|r| r.model = "x".repeat(201))),
    ] {
        assert_eq!(bad.map_err(|e| e.field), Err(field));
    }
}

#[test]
fn r52_each_filter_selects_exactly_its_rows() {
    let records = [
        record(1, CHROMIUM, false, true),
        record(2, YUBI, true, false),
        {
            let mut r = record(3, YUBI, false, false);
            r.passkey.last_used_at = None;
            r
        },
    ];
    let cfg = enabled();
    let judge = Judge {
        reader: &operator(),
        purpose: Purpose::View,
        current: &cfg,
        proposed: None,
    };
    let users = |f: Filter| -> Vec<u128> {
        rows(&judge, &f, &records)
            .iter()
            .map(|r| r.record.passkey.user_id.as_u128())
            .collect()
    };
    assert_eq!(users(Filter::default()), [1, 2, 3]);
    assert_eq!(
        users(parse(|r| r.aaguid = YUBI.to_string()).unwrap()),
        [2, 3]
    );
    assert_eq!(users(parse(|r| r.attested = "true".into()).unwrap()), [2]);
    assert_eq!(users(parse(|r| r.synced = "true".into()).unwrap()), [1]);
    assert_eq!(users(parse(|r| r.group = PILOTS.to_string()).unwrap()), [2]);
    assert_eq!(
        users(parse(|r| r.model = "yubikey 5".into()).unwrap()),
        [2, 3]
    );
    // Not used since a date: never used counts; used before it counts; used after does not.
    assert_eq!(
        users(parse(|r| r.unused_since = "2026-07-01".into()).unwrap()),
        [1, 2, 3]
    );
    assert_eq!(
        users(parse(|r| r.unused_since = "2026-05-01".into()).unwrap()),
        [3]
    );
}

#[test]
fn r52_r5_usable_is_the_sign_in_answer_now_and_under_a_proposal() {
    let records = [
        record(1, CHROMIUM, false, true),
        record(2, YUBI, true, false),
    ];
    let (now, proposed) = (enabled(), blocking(YUBI));
    let judge = Judge {
        reader: &operator(),
        purpose: Purpose::View,
        current: &now,
        proposed: Some(&proposed),
    };
    let all = rows(&judge, &Filter::default(), &records);
    assert!(all.iter().all(|r| r.usable.is_ok()));
    assert_eq!(all[0].proposed, Some(Ok(())));
    assert!(matches!(
        all[1].proposed,
        Some(Err(PasskeyRefusal::KeyRestricted { aaguid, .. })) if aaguid == YUBI
    ));
    // Blocked now: the usable filter keeps exactly the refused one.
    let judge = Judge {
        current: &proposed,
        proposed: None,
        ..judge
    };
    let unusable = rows(
        &judge,
        &parse(|r| r.usable = "false".into()).unwrap(),
        &records,
    );
    assert_eq!(unusable.len(), 1);
    assert_eq!(unusable[0].record.passkey.aaguid, YUBI);
    // The method switched off: nothing can sign in.
    let off = Fido2Configuration {
        state: MethodState::Disabled,
        ..enabled()
    };
    let judge = Judge {
        current: &off,
        ..judge
    };
    assert!(rows(&judge, &Filter::default(), &records)
        .iter()
        .all(|r| r.usable == Err(PasskeyRefusal::MethodDisabled)));
    // Out of the targeted group: not usable, and said why.
    let pilots_only = Fido2Configuration {
        include_targets: vec![IncludeTarget {
            id: TargetId::Group(PILOTS),
            ..IncludeTarget::all_users()
        }],
        ..enabled()
    };
    let judge = Judge {
        current: &pilots_only,
        ..judge
    };
    let r = rows(&judge, &Filter::default(), &records);
    assert!(matches!(r[0].usable, Err(PasskeyRefusal::NotInScope(_))));
    assert_eq!(r[1].usable, Ok(()));
}

/// The attacker's side: an Authentication Administrator does not read an administrator's
/// passkeys through the inventory (graph-api.md §8.4), a Global Reader does, and someone
/// without a role reads none. For a change (a bulk disable) the rights are the managing ones:
/// a Global Reader selects nothing, and nobody selects their own passkeys.
#[test]
fn r52_r26_the_inventory_shows_only_the_passkeys_the_reader_may_view_or_change() {
    // User 2 is a Global Administrator; user 9 is the reader, and holds a passkey too.
    let records = [
        record(1, CHROMIUM, false, true),
        record(2, YUBI, true, false),
        record(9, CHROMIUM, false, false),
    ];
    let cfg = enabled();
    let reader = |roles: Vec<DirectoryRole>| Actor::User {
        id: Uuid::from_u128(9),
        upn: "reader@contoso.com".into(),
        roles,
    };
    let seen = |actor: &Actor, purpose: Purpose| -> Vec<u128> {
        let judge = Judge {
            reader: actor,
            purpose,
            current: &cfg,
            proposed: None,
        };
        records
            .iter()
            .filter_map(|r| {
                let roles = if r.passkey.user_id == Uuid::from_u128(2) {
                    vec![DirectoryRole::GlobalAdministrator]
                } else {
                    vec![]
                };
                row(&judge, &Filter::default(), r, None, &[], &roles)
            })
            .map(|r| r.record.passkey.user_id.as_u128())
            .collect()
    };
    use DirectoryRole::*;
    let (view, manage) = (Purpose::View, Purpose::Manage);
    assert_eq!(
        seen(&reader(vec![AuthenticationAdministrator]), view),
        [1, 9]
    );
    assert_eq!(
        seen(&reader(vec![AuthenticationAdministrator]), manage),
        [1]
    );
    assert_eq!(
        seen(&reader(vec![PrivilegedAuthenticationAdministrator]), manage),
        [1, 2]
    );
    assert_eq!(seen(&reader(vec![GlobalReader]), view), [1, 2, 9]);
    assert!(seen(&reader(vec![GlobalReader]), manage).is_empty());
    assert_eq!(
        seen(&reader(vec![ReportsReader]), view),
        [9],
        "only their own"
    );
    assert!(seen(&reader(vec![ReportsReader]), manage).is_empty());
}

#[test]
fn r26_the_state_filter_and_column_follow_the_passkey() {
    let mut off = record(1, CHROMIUM, false, true);
    off.passkey.disabled = true;
    let records = [off, record(2, YUBI, true, false)];
    let cfg = enabled();
    let judge = Judge {
        reader: &operator(),
        purpose: Purpose::View,
        current: &cfg,
        proposed: None,
    };
    let all = rows(&judge, &Filter::default(), &records);
    assert_eq!(all[0].state, State::Disabled);
    assert_eq!(all[0].usable, Err(PasskeyRefusal::Disabled));
    assert_eq!(all[1].state, State::Enabled);
    let only = |s: &str| {
        rows(&judge, &parse(|r| r.state = s.into()).unwrap(), &records)
            .iter()
            .map(|r| r.record.passkey.user_id.as_u128())
            .collect::<Vec<_>>()
    };
    assert_eq!(only("disabled"), [1]);
    assert_eq!(only("Enabled"), [2]);
    assert_eq!(
        parse(|r| r.state = "off".into()).map_err(|e| e.field),
        Err("state")
    );
}

#[test]
fn attestation_names_round_trip() {
    for a in ["none", "self", "basic", "attca", "anonca", "uncertain"] {
        assert_eq!(Attestation::parse(a).map(Attestation::code), Some(a));
    }
    assert_eq!(Attestation::parse("packed"), None);
}

/// Every filter name sets its own field and comes back by the same name; others are refused.
#[test]
fn r52_filter_names_round_trip() {
    let raw = RawFilter::from_fn(|n| format!("v-{n}"));
    assert_eq!(
        raw.pairs(),
        RawFilter::NAMES
            .iter()
            .map(|n| (*n, format!("v-{n}")))
            .collect::<Vec<_>>()
            .iter()
            .map(|(n, v)| (*n, v.as_str()))
            .collect::<Vec<_>>()
    );
    assert_eq!(raw.unused_since, "v-unusedSince");
    let mut r = RawFilter::default();
    assert!(!r.set("select", "*".into()));
    assert_eq!(r, RawFilter::default());
    assert!(r.pairs().is_empty());
}
