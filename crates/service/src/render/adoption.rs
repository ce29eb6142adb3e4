//! R53: the adoption report as CSV (the daily series; the breakdown) and JSON — the same
//! files from the admin center and the CLI.

use portcullis_domain::adoption::{percent, Dimension, Share};
use serde_json::{json, Value};
use uuid::Uuid;

use super::csv::line;
use crate::adoption::AdoptionReport;

/// A breakdown row's value as people read it (groups by name).
pub fn value(r: &AdoptionReport, s: &Share) -> String {
    match s.dimension {
        Dimension::Group => Uuid::parse_str(&s.value)
            .ok()
            .and_then(|g| r.group_names.get(&g).cloned())
            .unwrap_or_else(|| s.value.clone()),
        _ => s.value.clone(),
    }
}

fn share(part: u64, whole: u64) -> String {
    format!("{:.1}", percent(part, whole))
}

/// One line per day.
pub fn daily_csv(r: &AdoptionReport) -> String {
    let mut out = line(&[
        "date",
        "users",
        "targetedUsers",
        "usersWithUsablePasskey",
        "sharePercent",
        "registrations",
        "firstPasskeySignIns",
        "passkeySignIns",
        "temporaryAccessPassSignIns",
    ]);
    for d in &r.report.daily {
        out.push_str(&line(&[
            d.day.map(|x| x.to_string()).unwrap_or_default(),
            d.users.to_string(),
            d.targeted.to_string(),
            d.holding.to_string(),
            share(d.holding, d.targeted),
            d.registrations.to_string(),
            d.first_sign_ins.to_string(),
            d.passkey_sign_ins.to_string(),
            d.tap_sign_ins.to_string(),
        ]));
    }
    out
}

/// One line per breakdown row, at the range's end.
pub fn breakdown_csv(r: &AdoptionReport) -> String {
    let mut out = line(&[
        "dimension",
        "value",
        "targetedUsers",
        "usersWithUsablePasskey",
        "sharePercent",
    ]);
    for s in &r.report.breakdown {
        out.push_str(&line(&[
            s.dimension.code().to_string(),
            value(r, s),
            s.targeted.to_string(),
            s.holding.to_string(),
            share(s.holding, s.targeted),
        ]));
    }
    out
}

/// The whole report as JSON.
pub fn json(r: &AdoptionReport) -> Value {
    json!({
        "from": r.report.range.from().to_string(),
        "to": r.report.range.to().to_string(),
        "tenantCreated": r.tenant_created.to_string(),
        "temporaryAccessPassOnlyUsers": r.report.tap_only_users,
        "campaign": {"running": r.campaign.running, "usersAsked": r.campaign.asked,
            "usersWhoSnoozed": r.campaign.snoozers, "snoozes": r.campaign.snoozes},
        "daily": r.report.daily.iter().map(|d| json!({
            "date": d.day.map(|x| x.to_string()),
            "users": d.users, "targetedUsers": d.targeted, "usersWithUsablePasskey": d.holding,
            "registrations": d.registrations, "firstPasskeySignIns": d.first_sign_ins,
            "passkeySignIns": d.passkey_sign_ins, "temporaryAccessPassSignIns": d.tap_sign_ins,
        })).collect::<Vec<_>>(),
        "breakdown": r.report.breakdown.iter().map(|s| json!({
            "dimension": s.dimension.code(), "value": value(r, s),
            "targetedUsers": s.targeted, "usersWithUsablePasskey": s.holding,
        })).collect::<Vec<_>>(),
    })
}
