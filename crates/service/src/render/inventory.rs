//! The passkey inventory (R52) as JSON Lines and CSV, one row at a time: the CLI and the
//! server's stream render the same rows the same way.

use portcullis_domain::inventory::Row;
use portcullis_domain::passkey::PasskeyRefusal;
use portcullis_domain::time_fmt::rfc3339;
use serde_json::{json, Map, Value};

use super::csv::{line, push_cell};
use super::methods::passkey_refusal;

/// The columns, in order (JSON keys and CSV header alike).
const COLUMNS: [&str; 20] = [
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
    "reach",
    "transports",
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
        json!(r.record.client.reach().code()),
        json!(r.record.client.transports.codes()),
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
    let mut out = String::new();
    push_csv_line(&mut out, r, proposed);
    out
}

/// Appends one CSV line to `out` (a stream writes a chunk of lines into one buffer, with no
/// string per cell).
pub fn push_csv_line(out: &mut String, r: &Row, proposed: bool) {
    let p = &r.record.passkey;
    let flag = |b: bool| if b { "true" } else { "false" };
    let mut line = Line { out, first: true };
    let mut ids = uuid::Uuid::encode_buffer();
    line.put(p.user_id.hyphenated().encode_lower(&mut ids));
    line.put(&r.record.user_principal_name);
    line.put(p.id.hyphenated().encode_lower(&mut ids));
    line.put(p.aaguid.hyphenated().encode_lower(&mut ids));
    line.put(r.model.as_deref().unwrap_or_default());
    line.put(r.record.attestation.code());
    line.put(flag(p.attested));
    line.put(&rfc3339(p.created_at));
    line.put(&p.last_used_at.map(rfc3339).unwrap_or_default());
    line.put(p.device.as_deref().unwrap_or_default());
    line.put(p.device_profile.as_deref().unwrap_or_default());
    line.put(flag(p.synced));
    line.put(r.record.backed_up.map(flag).unwrap_or_default());
    line.put(r.record.client.reach().code());
    line.put(&r.record.client.transports.joined());
    line.put(r.state.code());
    line.verdict(Some(&r.usable));
    line.put(&p.display_name);
    if proposed {
        line.verdict(r.proposed.as_ref());
    }
    line.out.push('\n');
}

/// A CSV line being written.
struct Line<'a> {
    out: &'a mut String,
    first: bool,
}

impl Line<'_> {
    fn put(&mut self, s: &str) {
        if !std::mem::take(&mut self.first) {
            self.out.push(',');
        }
        push_cell(self.out, s);
    }

    /// Usable, the refusal's code and its reason (three empty cells for no verdict).
    fn verdict(&mut self, v: Option<&Result<(), PasskeyRefusal>>) {
        match v {
            None => ["", "", ""].iter().for_each(|c| self.put(c)),
            Some(Ok(())) => ["true", "", ""].iter().for_each(|c| self.put(c)),
            Some(Err(why)) => {
                self.put("false");
                self.put(why.code());
                self.put(&passkey_refusal(why));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_domain::inventory::{Attestation, Record, State};
    use portcullis_domain::passkey::{Attachment, ClientReport, Passkey, Transports};
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
                client: ClientReport {
                    attachment: Some(Attachment::CrossPlatform),
                    transports: Transports::parse(["usb", "nfc"]),
                },
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
                // A list is one cell, its names joined by commas.
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
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
        assert_eq!(
            (&json["reach"], &json["transports"]),
            (&json!("securityKey"), &json!(["usb", "nfc"]))
        );
    }
}
