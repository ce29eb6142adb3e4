//! The passkey inventory (R52) as a page: the filters, the totals per model, a page of
//! passkeys with their model, attestation, use and whether they can sign in, and exports.

use maud::{html, Markup};
use portcullis_domain::directory::Group;
use portcullis_domain::inventory::{RawFilter, Row};
use portcullis_domain::time_fmt::rfc3339;
use uuid::Uuid;

use super::{enc, field_error, frame, FieldErrors, Viewer};

const SECTION: &str = "/admin/inventory";

/// Passkeys and usable ones, for one model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelTotal {
    /// The model's name, when known.
    pub model: Option<String>,
    /// Its AAGUID.
    pub aaguid: Uuid,
    /// Passkeys the filters select.
    pub passkeys: u64,
    /// Of which can sign in now.
    pub usable: u64,
}

/// What the page shows.
pub struct InventoryView<'a> {
    /// The filters as typed.
    pub raw: &'a RawFilter,
    /// Groups to filter by.
    pub groups: &'a [Group],
    /// Totals per model over everything the filters select (`None` when a filter is wrong).
    pub totals: Option<&'a [ModelTotal]>,
    /// This page's passkeys.
    pub rows: &'a [Row],
    /// Where this page starts, unless it is the first.
    pub after: Option<&'a str>,
    /// Where the next page starts, when there are more.
    pub next: Option<String>,
    /// Filter errors, by field.
    pub errors: &'a FieldErrors,
    /// May disable and enable passkeys.
    pub can_change: bool,
    /// A sentence after a bulk change.
    pub notice: Option<&'a str>,
}

/// The inventory page's address with these filters (and `extra` parameters).
pub fn link(raw: &RawFilter, extra: &[(&str, &str)]) -> String {
    let q: Vec<String> = raw
        .pairs()
        .into_iter()
        .chain(extra.iter().copied())
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    if q.is_empty() {
        SECTION.to_string()
    } else {
        format!("{SECTION}?{}", q.join("&"))
    }
}

fn choice(
    id: &'static str,
    label: &str,
    value: &str,
    options: &[(&str, &str)],
    errors: &FieldErrors,
) -> Markup {
    html! {
        div.field {
            label for=(id) { (label) }
            select id=(id) name=(id) aria-describedby=(format!("{id}-error")) {
                @for (v, text) in options {
                    option value=(v) selected[*v == value] { (text) }
                }
            }
            (field_error(errors, id))
        }
    }
}

/// The inventory page.
pub fn inventory_page(viewer: &Viewer, v: &InventoryView<'_>) -> Markup {
    let raw = v.raw;
    let yes_no = [("", "Any"), ("true", "Yes"), ("false", "No")];
    frame(
        viewer,
        SECTION,
        "Passkey inventory",
        html! {
            p.crumbs { "Protection › Authentication methods › Passkey inventory" }
            h1 { "Passkey inventory" }
            @if let Some(n) = v.notice { p.notice.ok id="notice" role="status" { (n) } }
            p { "Every registered passkey, its model and whether it can sign in under the current Passkey (FIDO2) settings. The exports stream every passkey the filters select." }
            form method="get" action=(SECTION) role="search" id="filters" {
                div.field {
                    label for="aaguid" { "AAGUID" }
                    input type="text" id="aaguid" name="aaguid" value=(raw.aaguid) aria-describedby="aaguid-error";
                    (field_error(v.errors, "aaguid"))
                }
                div.field {
                    label for="model" { "Model name contains" }
                    input type="text" id="model" name="model" value=(raw.model) aria-describedby="model-error";
                    (field_error(v.errors, "model"))
                }
                (choice("usable", "Can sign in", &raw.usable, &yes_no, v.errors))
                (choice("attested", "AAGUID attested", &raw.attested, &yes_no, v.errors))
                (choice("synced", "Synced", &raw.synced, &[("", "Any"), ("true", "Synced"), ("false", "Device-bound")], v.errors))
                div.field {
                    label for="unusedSince" { "Not used since" }
                    input type="date" id="unusedSince" name="unusedSince" value=(raw.unused_since) aria-describedby="unusedSince-error";
                    (field_error(v.errors, "unusedSince"))
                }
                div.field {
                    label for="group" { "Group" }
                    select id="group" name="group" aria-describedby="group-error" {
                        option value="" { "Any" }
                        @for g in v.groups {
                            @let id = g.id.to_string();
                            option value=(id) selected[id == raw.group] { (g.display_name) }
                        }
                    }
                    (field_error(v.errors, "group"))
                }
                (choice("state", "State", &raw.state, &[("", "Any"), ("enabled", "Enabled"), ("disabled", "Disabled")], v.errors))
                button type="submit" id="apply" { "Apply" }
            }
            @if let Some(totals) = v.totals {
                p {
                    a id="export-csv" href=(link(raw, &[("format", "csv")])) download="passkeys.csv" { "Export CSV" }
                    " · "
                    a id="export-jsonl" href=(link(raw, &[("format", "jsonl")])) download="passkeys.jsonl" { "Export JSON Lines" }
                    @if v.can_change {
                        " · "
                        a id="bulk-disable" href=(change_link(raw, "disabled")) { "Disable every selected passkey…" }
                        " · "
                        a id="bulk-enable" href=(change_link(raw, "enabled")) { "Enable every selected passkey…" }
                    }
                }
                table id="totals" {
                    caption { "By model" }
                    thead { tr { th scope="col" { "Model" } th scope="col" { "AAGUID" } th scope="col" { "Passkeys" } th scope="col" { "Can sign in" } } }
                    tbody {
                        @for t in totals {
                            tr.total data-aaguid=(t.aaguid) {
                                td { (t.model.as_deref().unwrap_or("Unknown model")) }
                                td.mono { (t.aaguid) }
                                td.passkeys { (t.passkeys) }
                                td.usable { (t.usable) }
                            }
                        }
                        @if totals.is_empty() { tr { td colspan="4" { "No passkey matches these filters." } } }
                    }
                }
                table id="passkeys" {
                    caption { "Passkeys" }
                    thead { tr {
                        th scope="col" { "User" } th scope="col" { "Name" } th scope="col" { "Model" } th scope="col" { "AAGUID" }
                        th scope="col" { "Attestation" } th scope="col" { "Synced" } th scope="col" { "Added via" } th scope="col" { "Created" } th scope="col" { "Last used" } th scope="col" { "State" } th scope="col" { "Can sign in" }
                    } }
                    tbody {
                        @for r in v.rows {
                            @let p = &r.record.passkey;
                            tr.passkey data-id=(p.id) data-usable=(r.usable.is_ok()) {
                                td { a href=(format!("/admin/users/{}", p.user_id)) { (r.record.user_principal_name) } }
                                td { (p.display_name) }
                                td { (r.model.as_deref().unwrap_or("Unknown model")) }
                                td.mono { (p.aaguid) }
                                td { (r.record.attestation.code()) @if p.attested { " (AAGUID attested)" } @else { " (AAGUID self-reported)" } }
                                td { @if p.synced { "Synced" } @else { "Device-bound" } }
                                td.passkey-reach data-reach=(r.record.client.reach().code()) { (portcullis_service::render::passkey_reach(&r.record.client)) }
                                td { time datetime=(rfc3339(p.created_at)) data-local { (rfc3339(p.created_at)) } }
                                td { @match p.last_used_at { Some(t) => { time datetime=(rfc3339(t)) data-local { (rfc3339(t)) } }, None => "Never" } }
                                td { (if p.disabled { "Disabled" } else { "Enabled" }) }
                                td { @match &r.usable { Ok(()) => "Yes", Err(why) => { "No: " (portcullis_service::render::passkey_refusal(why)) } } }
                            }
                        }
                    }
                }
                @if v.after.is_some() || v.next.is_some() {
                    nav.pager aria-label="Pages of passkeys" {
                        @if v.after.is_some() { a id="first-page" href=(link(raw, &[])) { "First page" } " " }
                        @if let Some(n) = &v.next { a id="next-page" href=(link(raw, &[("after", n)])) { "Next page" } }
                    }
                }
            }
            script src="/static/portcullis.js" {}
        },
    )
}

fn change_link(raw: &RawFilter, to: &str) -> String {
    let q: Vec<String> = raw
        .pairs()
        .into_iter()
        .chain([("to", to)])
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    format!("{SECTION}/change?{}", q.join("&"))
}

/// The confirmation before a bulk change (R26): how many passkeys the filters select now,
/// and the button that changes exactly that many (or, when the count moved meanwhile, none).
pub fn change_page(
    viewer: &Viewer,
    raw: &RawFilter,
    disable: bool,
    count: u64,
    error: Option<&str>,
) -> Markup {
    let verb = if disable { "Disable" } else { "Enable" };
    frame(
        viewer,
        SECTION,
        &format!("{verb} passkeys"),
        html! {
            p.crumbs { a href=(link(raw, &[])) { "Passkey inventory" } " › " (verb) " passkeys" }
            h1 { (verb) " " span id="count" { (count) } " passkeys?" }
            @if let Some(e) = error { p.notice.error id="error" role="alert" { (e) } }
            @if disable {
                p { "Each is kept, refused at sign-in with the reason, and shown as disabled on its owner's Security info, until enabled again. Sessions they opened end now. Each change is audited." }
            } @else {
                p { "Each signs in again, if the Passkey (FIDO2) settings allow it. Each change is audited." }
            }
            p.muted { "The filters select these now; if they select a different number when you confirm, nothing changes and this page shows the new count." }
            @if count > 0 {
                form method="post" action=(format!("{SECTION}/change")) {
                    @for (k, val) in raw.pairs() { input type="hidden" name=(k) value=(val); }
                    input type="hidden" name="to" value=(if disable { "disabled" } else { "enabled" });
                    input type="hidden" name="expected" value=(count);
                    button.danger type="submit" id="confirm-change" { (verb) " " (count) " passkeys" }
                }
            }
            p { a href=(link(raw, &[])) id="cancel" { "Back to the inventory" } }
        },
    )
}
