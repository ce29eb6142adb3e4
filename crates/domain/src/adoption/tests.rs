//! R53: the adoption fold, day by day.

use super::*;
use crate::policy::ExcludeTarget;
use time::macros::{date, datetime};

const PILOTS: Uuid = uuid::uuid!("00000000-0000-0000-0000-0000000000b1");
const YUBIKEY: Uuid = uuid::uuid!("2fc0579f-8113-47ea-b116-bb5a8db9202a");

fn fido2() -> Fido2Configuration {
    crate::test_support::fido2_for_everyone()
}

fn pk(created: Timestamp) -> Passkey {
    crate::test_support::passkey_of(Uuid::nil(), YUBIKEY, created)
}

fn life(p: &Passkey, deleted: Option<Timestamp>, disabled: Option<Timestamp>) -> Life<'_> {
    Life {
        passkey: p,
        deleted_at: deleted,
        disabled_at: disabled,
        model: Some("YubiKey 5"),
    }
}

fn week() -> Range {
    Range::new(date!(2026 - 03 - 01), date!(2026 - 03 - 07)).expect("range")
}

const BEFORE: Timestamp = datetime!(2026-01-01 0:00 UTC);

#[test]
fn r53_ranges_are_whole_days_and_bounded() {
    assert_eq!(week().len(), 7);
    assert!(matches!(
        Range::new(date!(2026 - 03 - 02), date!(2026 - 03 - 01)),
        Err(RangeError::Backwards { .. })
    ));
    assert_eq!(
        Range::new(date!(2000 - 01 - 01), date!(2026 - 01 - 01)),
        Err(RangeError::TooLong)
    );
}

#[test]
fn r53_a_passkey_counts_from_the_end_of_the_day_it_was_registered_until_it_is_deleted_or_disabled()
{
    let a = pk(datetime!(2026-03-02 10:00 UTC));
    let b = pk(datetime!(2026-03-02 11:00 UTC));
    let mut fold = Adoption::new(week());
    let user = UserFacts {
        created_at: BEFORE,
        member_of: &[],
    };
    fold.user(
        &fido2(),
        &user,
        &[life(&a, Some(datetime!(2026-03-04 09:00 UTC)), None)],
    );
    fold.user(
        &fido2(),
        &user,
        &[life(&b, None, Some(datetime!(2026-03-06 08:00 UTC)))],
    );
    let r = fold.finish();
    let holding: Vec<u64> = r.daily.iter().map(|d| d.holding).collect();
    // a: the ends of 2, 3 March; b: 2–5 March (disabled on the 6th).
    assert_eq!(holding, vec![0, 2, 2, 1, 1, 0, 0]);
    assert_eq!(
        r.daily.iter().map(|d| d.registrations).collect::<Vec<_>>(),
        vec![0, 2, 0, 0, 0, 0, 0]
    );
    assert!(r.daily.iter().all(|d| d.targeted == 2 && d.users == 2));
    assert!((r.daily[1].share() - 100.0).abs() < f64::EPSILON);
}

#[test]
fn r53_several_passkeys_count_a_user_once_and_untargeted_users_are_not_targeted() {
    let (a, b) = (
        pk(datetime!(2026-03-01 10:00 UTC)),
        pk(datetime!(2026-03-03 10:00 UTC)),
    );
    let mut fold = Adoption::new(week());
    fold.user(
        &fido2(),
        &UserFacts {
            created_at: BEFORE,
            member_of: &[PILOTS],
        },
        &[life(&a, None, None), life(&b, None, None)],
    );
    let excluded = Fido2Configuration {
        exclude_targets: vec![ExcludeTarget::group(PILOTS)],
        ..fido2()
    };
    let mut other = Adoption::new(week());
    other.user(
        &excluded,
        &UserFacts {
            created_at: BEFORE,
            member_of: &[PILOTS],
        },
        &[life(&a, None, None)],
    );
    let r = fold.finish();
    assert!(r.daily.iter().all(|d| d.holding == 1));
    let o = other.finish();
    assert!(o
        .daily
        .iter()
        .all(|d| d.users == 1 && d.targeted == 0 && d.holding == 0));
    assert_eq!(
        o.daily[0].registrations, 1,
        "registrations count whoever made them"
    );
}

#[test]
fn r53_users_count_from_their_creation_and_the_breakdown_is_at_the_range_end() {
    let p = Passkey {
        synced: true,
        attested: true,
        device_profile: Some("work".into()),
        ..pk(datetime!(2026-03-05 10:00 UTC))
    };
    let mut fold = Adoption::new(week());
    fold.user(
        &fido2(),
        &UserFacts {
            created_at: datetime!(2026-03-04 12:00 UTC),
            member_of: &[PILOTS],
        },
        &[life(&p, None, None)],
    );
    fold.user(
        &fido2(),
        &UserFacts {
            created_at: datetime!(2026-03-01 00:00 UTC),
            member_of: &[PILOTS],
        },
        &[],
    );
    let r = fold.finish();
    assert_eq!(
        r.daily.iter().map(|d| d.users).collect::<Vec<_>>(),
        vec![1, 1, 1, 2, 2, 2, 2]
    );
    let find = |d: Dimension, v: &str| {
        r.breakdown
            .iter()
            .find(|s| s.dimension == d && s.value == v)
            .cloned()
    };
    assert_eq!(
        find(Dimension::Group, &PILOTS.to_string()).map(|s| (s.targeted, s.holding)),
        Some((2, 1))
    );
    assert_eq!(
        find(Dimension::Platform, "Android (work profile)").map(|s| s.holding),
        Some(1)
    );
    assert_eq!(
        find(Dimension::Synced, "synced").map(|s| s.holding),
        Some(1)
    );
    assert_eq!(
        find(Dimension::Attested, "attested").map(|s| s.holding),
        Some(1)
    );
    assert_eq!(
        find(Dimension::Model, "YubiKey 5").map(|s| (s.targeted, s.holding)),
        Some((2, 1))
    );
}

#[test]
fn r53_sign_ins_first_sign_ins_and_tap_only_users() {
    let mut fold = Adoption::new(week());
    fold.first_passkey_sign_in(datetime!(2026-03-03 23:59 UTC));
    fold.first_passkey_sign_in(datetime!(2026-02-03 10:00 UTC));
    fold.sign_ins(date!(2026 - 03 - 04), SignInKind::Passkey, 5);
    fold.sign_ins(date!(2026 - 03 - 04), SignInKind::TemporaryAccessPass, 2);
    fold.sign_ins(date!(2026 - 04 - 04), SignInKind::Passkey, 9);
    fold.user_sign_ins(0, 3);
    fold.user_sign_ins(1, 3);
    fold.user_sign_ins(2, 0);
    let r = fold.finish();
    assert_eq!(r.daily[2].first_sign_ins, 1);
    assert_eq!(r.daily.iter().map(|d| d.first_sign_ins).sum::<u64>(), 1);
    assert_eq!(
        (r.daily[3].passkey_sign_ins, r.daily[3].tap_sign_ins),
        (5, 2)
    );
    assert_eq!(r.tap_only_users, 1);
}

#[test]
fn r53_platforms_come_from_the_profile_device_and_model() {
    let with = |device: Option<&str>, profile: Option<&str>| Passkey {
        device: device.map(str::to_string),
        device_profile: profile.map(str::to_string),
        ..pk(BEFORE)
    };
    assert_eq!(
        platform(&with(None, Some("personal")), None),
        "Android (personal profile)"
    );
    assert_eq!(platform(&with(Some("Pixel 8"), None), None), "Android");
    assert_eq!(
        platform(&with(None, None), Some("iCloud Keychain")),
        "iOS / iPadOS / macOS"
    );
    assert_eq!(
        platform(&with(None, None), Some("Windows Hello")),
        "Windows"
    );
    assert_eq!(
        platform(&with(None, None), Some("YubiKey 5 Series")),
        "Security key"
    );
    assert_eq!(platform(&with(None, None), None), "Unknown");
}
