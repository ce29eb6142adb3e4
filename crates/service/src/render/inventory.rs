//! The passkey inventory (R52) as JSON Lines and CSV, one row at a time: the CLI and the
//! server's stream render the same rows the same way.

use portcullis_domain::inventory::Row;
use portcullis_domain::passkey::PasskeyRefusal;
use portcullis_domain::time_fmt::rfc3339;
use serde_json::{json, Map, Value};

use super::csv::line;
use super::methods::passkey_refusal;

/// The columns, in order (JSON keys and CSV header alike).
const COLUMNS: [&str; 18] = [
    "userId",
    "userPrincipalName",
    "id",
    "aaGuid",
    "model",
    "attestation",
    "attested",
    "createdDateTime",
    "lastUsedDateTime",
    "device",
    "deviceProfile",
    "backupEligible",
    "backedUp",
    "state",
    "usable",
    "unusableCode",
    "unusableReason",
    "displayName",
];

/// Under a proposal, three more.
const PROPOSED: [&str; 3] = [
    "proposedUsable",
    "proposedUnusableCode",
    "proposedUnusableReason",
];

fn verdict(v: &Result<(), PasskeyRefusal>) -> [Value; 3] {
    match v {
        Ok(()) => [json!(true), Value::Null, Value::Null],
        Err(r) => [json!(false), json!(r.code()), json!(passkey_refusal(r))],
    }
}

/// The row as one JSON object, keys in [`COLUMNS`] order (then the proposal's).
pub fn json_row(r: &Row) -> Value {
    let p = &r.record.passkey;
    let [usable, code, reason] = verdict(&r.usable);
    let values = [
        json!(p.user_id),
        json!(r.record.user_principal_name),
        json!(p.id),
        json!(p.aaguid),
        json!(r.model),
        json!(r.record.attestation.code()),
        json!(p.attested),
        json!(rfc3339(p.created_at)),
        json!(p.last_used_at.map(rfc3339)),
        json!(p.device),
        json!(p.device_profile),
        json!(p.synced),
        json!(r.record.backed_up),
        json!(r.state.code()),
        usable,
        code,
        reason,
        json!(p.display_name),
    ];
    let mut m: Map<String, Value> = COLUMNS.iter().map(|k| k.to_string()).zip(values).collect();
    if let Some(v) = &r.proposed {
        m.extend(PROPOSED.iter().map(|k| k.to_string()).zip(verdict(v)));
    }
    Value::Object(m)
}

/// One JSON Lines line.
pub fn jsonl_line(r: &Row) -> String {
    let mut s = json_row(r).to_string();
    s.push('\n');
    s
}

/// The CSV header line.
pub fn csv_header(proposed: bool) -> String {
    let mut cols: Vec<&str> = COLUMNS.to_vec();
    if proposed {
        cols.extend(PROPOSED);
    }
    line(&cols)
}

/// One CSV line, in the header's order.
pub fn csv_line(r: &Row, proposed: bool) -> String {
    let p = &r.record.passkey;
    let flag = |b: bool| if b { "true" } else { "false" }.to_string();
    let verdict = |v: &Result<(), PasskeyRefusal>| match v {
        Ok(()) => [flag(true), String::new(), String::new()],
        Err(why) => [flag(false), why.code().to_string(), passkey_refusal(why)],
    };
    let [usable, code, reason] = verdict(&r.usable);
    let mut cells = vec![
        p.user_id.to_string(),
        r.record.user_principal_name.clone(),
        p.id.to_string(),
        p.aaguid.to_string(),
        r.model.clone().unwrap_or_default(),
        r.record.attestation.code().to_string(),
        flag(p.attested),
        rfc3339(p.created_at),
        p.last_used_at.map(rfc3339).unwrap_or_default(),
        p.device.clone().unwrap_or_default(),
        p.device_profile.clone().unwrap_or_default(),
        flag(p.synced),
        r.record.backed_up.map(flag).unwrap_or_default(),
        r.state.code().to_string(),
        usable,
        code,
        reason,
        p.display_name.clone(),
    ];
    if proposed {
        match &r.proposed {
            Some(v) => cells.extend(verdict(v)),
            None => cells.extend([String::new(), String::new(), String::new()]),
        }
    }
    line(&cells)
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_domain::inventory::{Attestation, Record, State};
    use portcullis_domain::passkey::Passkey;
    use time::macros::datetime;
    use uuid::Uuid;

    /// The CSV and JSON Lines renderings say the same thing, column by column.
    #[test]
    fn r52_csv_and_json_lines_agree_cell_for_cell() {
        let row = Row {
            record: Record {
                passkey: Passkey {
                    id: Uuid::from_u128(1),
                    user_id: Uuid::from_u128(2),
                    credential_id: "c".into(),
                    aaguid: Uuid::from_u128(3),
                    display_name: "=Work, \"key\"".into(),
                    fmt: "packed".into(),
                    attested: true,
                    synced: false,
                    created_at: datetime!(2026-01-02 3:04:05 UTC),
                    last_used_at: None,
                    sign_count: 0,
                    device: Some("Pixel 8".into()),
                    device_profile: None,
                    flagged_clone: false,
                    disabled: true,
                },
                user_principal_name: "ada@contoso.com".into(),
                attestation: Attestation::Basic,
                backed_up: Some(false),
            },
            model: Some("YubiKey 5 Series".into()),
            state: State::Disabled,
            usable: Err(PasskeyRefusal::Disabled),
            proposed: Some(Ok(())),
        };
        let json = json_row(&row);
        let expected: Vec<String> = COLUMNS
            .iter()
            .chain(PROPOSED.iter())
            .map(|k| match json.get(*k) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(v) => v.to_string(),
            })
            .collect();
        assert_eq!(csv_line(&row, true), line(&expected));
        assert_eq!(
            csv_header(true),
            line(&COLUMNS.iter().chain(PROPOSED.iter()).collect::<Vec<_>>())
        );
        // A formula-looking name is neutralised in CSV, and left as it is in JSON.
        assert!(csv_line(&row, false).contains("\"'=Work, \"\"key\"\"\""));
        assert_eq!(json["displayName"], "=Work, \"key\"");
        assert_eq!(json["unusableCode"], "passkeyDisabled");
    }
}
