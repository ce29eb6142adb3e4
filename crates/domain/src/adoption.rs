//! R53: passkey adoption over time, reconstructed from the records — when each passkey was
//! registered, deleted or disabled, when users were created, and the sign-in log — so the
//! series starts at the tenant's creation, not at the release that added this report.
//!
//! The shell streams the records in ([`Adoption::user`], [`Adoption::sign_ins`] …) and
//! [`Adoption::finish`] returns the report; nothing here reads a clock or a store. Whether a
//! user is targeted and whether a passkey counts are the passkey rules' own answers
//! ([`passkey::rulesets`], [`passkey::sign_in_usability`]) under the current policy.

use std::collections::{BTreeMap, BTreeSet};

use time::{Date, Duration, Time};
use uuid::Uuid;

use crate::passkey::{self, Passkey};
use crate::policy::Fido2Configuration;
use crate::Timestamp;

/// The longest range a report covers, in days (ten years).
pub const MAX_DAYS: i64 = 3_653;

/// A range of whole days (UTC), both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    from: Date,
    to: Date,
}

/// Why a range was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// It ends before it starts.
    #[error("the range ends ({to}) before it starts ({from})")]
    Backwards {
        /// First day.
        from: Date,
        /// Last day.
        to: Date,
    },
    /// It is longer than [`MAX_DAYS`].
    #[error("the range is longer than {MAX_DAYS} days")]
    TooLong,
}

impl Range {
    /// The days from `from` to `to`, both included.
    pub fn new(from: Date, to: Date) -> Result<Range, RangeError> {
        if to < from {
            return Err(RangeError::Backwards { from, to });
        }
        if days_between(from, to) >= MAX_DAYS {
            return Err(RangeError::TooLong);
        }
        Ok(Range { from, to })
    }

    /// First day.
    pub fn from(&self) -> Date {
        self.from
    }

    /// Last day.
    pub fn to(&self) -> Date {
        self.to
    }

    /// How many days.
    pub fn len(&self) -> usize {
        usize::try_from(days_between(self.from, self.to))
            .unwrap_or_default()
            .saturating_add(1)
    }

    /// Never empty (a range has at least one day).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The first instant after the range (midnight after its last day).
    pub fn end(&self) -> Timestamp {
        end_of(self.to)
    }

    /// The first instant of the range.
    pub fn start(&self) -> Timestamp {
        self.from.with_time(Time::MIDNIGHT).assume_utc()
    }

    /// The day's index when `t` falls in the range.
    fn index(&self, t: Timestamp) -> Option<usize> {
        let d = t.to_offset(time::UtcOffset::UTC).date();
        (self.from <= d && d <= self.to)
            .then(|| usize::try_from(days_between(self.from, d)).ok())
            .flatten()
    }

    /// The index of the first day at whose end (midnight after it) something that began at
    /// `t` is there: the smallest `i` with `end_of(day i) >= t`; `len()` when none is.
    fn first_end_at_or_after(&self, t: Timestamp) -> usize {
        const DAY: i128 = 86_400_000_000_000;
        let delta = t
            .unix_timestamp_nanos()
            .saturating_sub(self.start().unix_timestamp_nanos());
        if delta <= 0 {
            return 0;
        }
        let whole = delta.checked_div(DAY).unwrap_or_default();
        let ceil = if delta.checked_rem(DAY).unwrap_or_default() == 0 {
            whole
        } else {
            whole.saturating_add(1)
        };
        usize::try_from(ceil.saturating_sub(1))
            .unwrap_or(usize::MAX)
            .min(self.len())
    }

    /// The days, in order.
    pub fn days(&self) -> impl Iterator<Item = Date> + '_ {
        let from = self.from;
        (0..self.len()).filter_map(move |i| {
            i64::try_from(i)
                .ok()
                .and_then(|i| from.checked_add(Duration::days(i)))
        })
    }
}

/// Days from `a` to `b`.
fn days_between(a: Date, b: Date) -> i64 {
    i64::from(b.to_julian_day()).saturating_sub(i64::from(a.to_julian_day()))
}

/// The instant a day ends (midnight after it, UTC).
fn end_of(d: Date) -> Timestamp {
    d.next_day()
        .unwrap_or(d)
        .with_time(Time::MIDNIGHT)
        .assume_utc()
}

/// What a passkey's breakdown row says of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dimension {
    /// A group the user is in.
    Group,
    /// The platform, from the device and profile recorded at registration and the model.
    Platform,
    /// The model (metadata name, else the AAGUID).
    Model,
    /// Whether its AAGUID was attested.
    Attested,
    /// Synced or device-bound.
    Synced,
}

impl Dimension {
    /// Stable code (CSV, JSON).
    pub fn code(self) -> &'static str {
        match self {
            Dimension::Group => "group",
            Dimension::Platform => "platform",
            Dimension::Model => "model",
            Dimension::Attested => "attested",
            Dimension::Synced => "synced",
        }
    }

    /// Every dimension, in the report's order.
    pub const ALL: [Dimension; 5] = [
        Dimension::Group,
        Dimension::Platform,
        Dimension::Model,
        Dimension::Attested,
        Dimension::Synced,
    ];
}

/// A passkey as its records tell its life.
#[derive(Debug, Clone, Copy)]
pub struct Life<'a> {
    /// The passkey (its current state).
    pub passkey: &'a Passkey,
    /// When it was deleted, if it was.
    pub deleted_at: Option<Timestamp>,
    /// When it was disabled, if it is disabled now.
    pub disabled_at: Option<Timestamp>,
    /// Its model's name, when known.
    pub model: Option<&'a str>,
}

impl Life<'_> {
    /// When it stopped counting, if it did.
    fn ended(&self) -> Option<Timestamp> {
        match (self.deleted_at, self.disabled_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether it counted at instant `t`: registered by then, not yet ended.
    fn held_at(&self, t: Timestamp) -> bool {
        self.passkey.created_at <= t && self.ended().is_none_or(|e| t < e)
    }
}

/// The platform a passkey lives on, from what registration recorded.
pub fn platform(p: &Passkey, model: Option<&str>) -> &'static str {
    match p.device_profile.as_deref() {
        Some(pr) if pr.eq_ignore_ascii_case("work") => return "Android (work profile)",
        Some(pr) if pr.eq_ignore_ascii_case("personal") => return "Android (personal profile)",
        _ => {}
    }
    let text = format!(
        "{} {}",
        p.device.as_deref().unwrap_or_default(),
        model.unwrap_or_default()
    )
    .to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    if has(&["android", "pixel", "galaxy", "google password manager"]) {
        "Android"
    } else if has(&["iphone", "ipad", "ios", "icloud", "apple", "mac"]) {
        "iOS / iPadOS / macOS"
    } else if has(&["windows"]) {
        "Windows"
    } else if has(&["yubikey", "security key", "feitian", "titan", "token"]) {
        "Security key"
    } else if has(&["linux", "chrome"]) {
        "Linux / ChromeOS"
    } else {
        "Unknown"
    }
}

/// One user, as [`Adoption::user`] reads them.
#[derive(Debug, Clone, Copy)]
pub struct UserFacts<'a> {
    /// When the account was created.
    pub created_at: Timestamp,
    /// Their groups now.
    pub member_of: &'a [Uuid],
}

/// How a sign-in was made, for the per-day counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInKind {
    /// With a passkey.
    Passkey,
    /// With a Temporary Access Pass.
    TemporaryAccessPass,
}

/// One day of the series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Daily {
    /// The day (UTC).
    pub day: Option<Date>,
    /// Accounts that existed at the day's end.
    pub users: u64,
    /// Of those, users the passkey policy targets.
    pub targeted: u64,
    /// Of those, users holding a usable passkey at the day's end.
    pub holding: u64,
    /// Passkeys registered that day.
    pub registrations: u64,
    /// Users whose first passkey sign-in was that day.
    pub first_sign_ins: u64,
    /// Successful passkey sign-ins that day.
    pub passkey_sign_ins: u64,
    /// Successful Temporary Access Pass sign-ins that day.
    pub tap_sign_ins: u64,
}

impl Daily {
    /// Share of targeted users holding a usable passkey, in percent.
    pub fn share(&self) -> f64 {
        percent(self.holding, self.targeted)
    }
}

/// `part` of `whole` in percent (0 when the whole is 0).
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    // Counts fit f64 exactly far beyond any tenant's size.
    #[allow(clippy::cast_precision_loss)]
    let (p, w) = (part as f64, whole as f64);
    100.0 * p / w
}

/// One breakdown row at the range's end: of the targeted users in it, how many hold a
/// usable passkey of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    /// What it breaks down by.
    pub dimension: Dimension,
    /// The value (a group id for groups; the shell names it).
    pub value: String,
    /// Targeted users it concerns (for groups: members; otherwise every targeted user).
    pub targeted: u64,
    /// Of those, users holding a usable passkey of this value.
    pub holding: u64,
}

/// The report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The days covered.
    pub range: Range,
    /// One entry per day.
    pub daily: Vec<Daily>,
    /// At the range's end.
    pub breakdown: Vec<Share>,
    /// Users who signed in during the range only with a Temporary Access Pass.
    pub tap_only_users: u64,
}

impl Report {
    /// The last day's entry.
    pub fn last(&self) -> Daily {
        self.daily.last().copied().unwrap_or_default()
    }
}

/// The report being folded.
#[derive(Debug, Clone)]
pub struct Adoption {
    range: Range,
    users: Vec<i64>,
    targeted: Vec<i64>,
    holding: Vec<i64>,
    registrations: Vec<u64>,
    first_sign_ins: Vec<u64>,
    passkey_sign_ins: Vec<u64>,
    tap_sign_ins: Vec<u64>,
    targeted_at_end: u64,
    groups: BTreeMap<Uuid, (u64, u64)>,
    kinds: BTreeMap<(Dimension, String), u64>,
    tap_only: u64,
}

fn bump(diff: &mut [i64], from: usize, to: usize) {
    if from >= to {
        return;
    }
    if let Some(v) = diff.get_mut(from) {
        *v = v.saturating_add(1);
    }
    if let Some(v) = diff.get_mut(to) {
        *v = v.saturating_sub(1);
    }
}

fn inc(v: &mut [u64], i: Option<usize>, n: u64) {
    if let Some(x) = i.and_then(|i| v.get_mut(i)) {
        *x = x.saturating_add(n);
    }
}

impl Adoption {
    /// An empty report over `range`.
    pub fn new(range: Range) -> Adoption {
        let n = range.len();
        Adoption {
            range,
            users: vec![0; n.saturating_add(1)],
            targeted: vec![0; n.saturating_add(1)],
            holding: vec![0; n.saturating_add(1)],
            registrations: vec![0; n],
            first_sign_ins: vec![0; n],
            passkey_sign_ins: vec![0; n],
            tap_sign_ins: vec![0; n],
            targeted_at_end: 0,
            groups: BTreeMap::new(),
            kinds: BTreeMap::new(),
            tap_only: 0,
        }
    }

    /// Folds in one user and every passkey they ever registered (deleted ones included).
    pub fn user(&mut self, fido2: &Fido2Configuration, user: &UserFacts<'_>, lives: &[Life<'_>]) {
        let r = self.range;
        let n = r.len();
        let since = r.first_end_at_or_after(user.created_at);
        bump(&mut self.users, since, n);
        for l in lives {
            inc(&mut self.registrations, r.index(l.passkey.created_at), 1);
        }
        if passkey::rulesets(fido2, user.member_of).is_err() {
            return;
        }
        bump(&mut self.targeted, since, n);
        // The passkeys that count: usable under the current policy, as if enabled (the
        // time they were disabled ends them instead).
        let counted: Vec<&Life<'_>> = lives
            .iter()
            .filter(|l| {
                let enabled = Passkey {
                    disabled: false,
                    ..l.passkey.clone()
                };
                passkey::sign_in_usability(fido2, user.member_of, &enabled).is_ok()
            })
            .collect();
        // The days at whose end some passkey was held: the union of their spans.
        let mut spans: Vec<(usize, usize)> = counted
            .iter()
            .map(|l| {
                let from = r.first_end_at_or_after(l.passkey.created_at);
                let to = l.ended().map_or(n, |e| r.first_end_at_or_after(e));
                (from, to)
            })
            .filter(|(a, b)| a < b)
            .collect();
        spans.sort_unstable();
        let mut merged: Vec<(usize, usize)> = vec![];
        for (a, b) in spans {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        for (a, b) in merged {
            bump(&mut self.holding, a, b);
        }
        // The breakdown, at the range's end.
        let end = r.end();
        if user.created_at > end {
            return;
        }
        self.targeted_at_end = self.targeted_at_end.saturating_add(1);
        let held: Vec<&&Life<'_>> = counted.iter().filter(|l| l.held_at(end)).collect();
        for g in user.member_of {
            let e = self.groups.entry(*g).or_default();
            e.0 = e.0.saturating_add(1);
            if !held.is_empty() {
                e.1 = e.1.saturating_add(1);
            }
        }
        let values: BTreeSet<(Dimension, String)> = held
            .iter()
            .flat_map(|l| {
                let p = l.passkey;
                [
                    (Dimension::Platform, platform(p, l.model).to_string()),
                    (
                        Dimension::Model,
                        l.model.map_or_else(|| p.aaguid.to_string(), str::to_string),
                    ),
                    (
                        Dimension::Attested,
                        if p.attested {
                            "attested"
                        } else {
                            "not attested"
                        }
                        .into(),
                    ),
                    (
                        Dimension::Synced,
                        if p.synced { "synced" } else { "device-bound" }.into(),
                    ),
                ]
            })
            .collect();
        for v in values {
            let e = self.kinds.entry(v).or_default();
            *e = e.saturating_add(1);
        }
    }

    /// Folds in a user's first successful passkey sign-in ever.
    pub fn first_passkey_sign_in(&mut self, at: Timestamp) {
        inc(&mut self.first_sign_ins, self.range.index(at), 1);
    }

    /// Folds in `count` successful sign-ins of `kind` on `day`.
    pub fn sign_ins(&mut self, day: Date, kind: SignInKind, count: u64) {
        let i = self.range.index(day.with_time(Time::MIDNIGHT).assume_utc());
        match kind {
            SignInKind::Passkey => inc(&mut self.passkey_sign_ins, i, count),
            SignInKind::TemporaryAccessPass => inc(&mut self.tap_sign_ins, i, count),
        }
    }

    /// Folds in one user's successful sign-ins during the range, by kind.
    pub fn user_sign_ins(&mut self, passkey: u64, tap: u64) {
        if tap > 0 && passkey == 0 {
            self.tap_only = self.tap_only.saturating_add(1);
        }
    }

    /// The report.
    pub fn finish(self) -> Report {
        let count = |diff: &[i64]| -> Vec<u64> {
            diff.iter()
                .scan(0i64, |acc, d| {
                    *acc = acc.saturating_add(*d);
                    Some(u64::try_from(*acc).unwrap_or_default())
                })
                .collect()
        };
        let (users, targeted, holding) = (
            count(&self.users),
            count(&self.targeted),
            count(&self.holding),
        );
        let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or_default();
        let daily = self
            .range
            .days()
            .enumerate()
            .map(|(i, day)| Daily {
                day: Some(day),
                users: at(&users, i),
                targeted: at(&targeted, i),
                holding: at(&holding, i),
                registrations: at(&self.registrations, i),
                first_sign_ins: at(&self.first_sign_ins, i),
                passkey_sign_ins: at(&self.passkey_sign_ins, i),
                tap_sign_ins: at(&self.tap_sign_ins, i),
            })
            .collect();
        let mut breakdown: Vec<Share> = self
            .groups
            .iter()
            .map(|(g, (t, h))| Share {
                dimension: Dimension::Group,
                value: g.to_string(),
                targeted: *t,
                holding: *h,
            })
            .collect();
        breakdown.extend(self.kinds.iter().map(|((d, v), h)| Share {
            dimension: *d,
            value: v.clone(),
            targeted: self.targeted_at_end,
            holding: *h,
        }));
        Report {
            range: self.range,
            daily,
            breakdown,
            tap_only_users: self.tap_only,
        }
    }
}

#[cfg(test)]
mod tests;
