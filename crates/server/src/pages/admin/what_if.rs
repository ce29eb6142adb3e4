//! What If (R43): the inputs, then every policy with its result and reasons, and the
//! outcome with the remedy.

use maud::{html, Markup};
use serde_json::Value;

use super::{field_error, frame, FieldErrors, Viewer, CA};

/// What If's inputs as typed.
#[derive(Debug, Clone, Default)]
pub struct WhatIfInput {
    /// User principal name.
    pub user: String,
    /// `app` or `action`.
    pub target: String,
    /// Application client id.
    pub app: String,
    /// Device platform.
    pub platform: String,
    /// IP address.
    pub ip: String,
    /// `browser` or `native`.
    pub client: String,
    /// The device is compliant.
    pub compliant: bool,
    /// Device properties, `name=value` per line.
    pub device: String,
    /// `passkey` or `tap`.
    pub method: String,
    /// The passkey's AAGUID.
    pub aaguid: String,
    /// Its attestation signed the AAGUID.
    pub attested: bool,
}

fn text(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

/// The What If page.
pub fn what_if_page(
    viewer: &Viewer,
    i: &WhatIfInput,
    apps: &[(String, String)],
    e: &FieldErrors,
    answer: Option<&(Value, Value)>,
) -> Markup {
    let platforms = [
        ("", "Any / unknown"),
        ("android", "Android"),
        ("iOS", "iOS"),
        ("windows", "Windows"),
        ("macOS", "macOS"),
        ("linux", "Linux"),
    ];
    frame(
        viewer,
        CA,
        "What If",
        html! {
            p.crumbs { a href=(CA) { "Conditional Access" } " › What If" }
            h1 { "What If" }
            form.filters method="get" action=(format!("{CA}/what-if")) id="what-if-form" {
                div.filter {
                    label for="user" { "User" }
                    input type="text" id="user" name="user" value=(i.user) placeholder="name@domain" aria-describedby="user-error";
                    (field_error(e, "user"))
                }
                div.filter {
                    label for="target" { "Target" }
                    select id="target" name="target" {
                        option value="app" selected[i.target != "action"] { "Cloud app" }
                        option value="action" selected[i.target == "action"] { "User action: Register security information" }
                    }
                    (field_error(e, "target"))
                }
                div.filter {
                    label for="app" { "Cloud app" }
                    select id="app" name="app" aria-describedby="app-error" {
                        option value="" { "—" }
                        @for (id, name) in apps { option value=(id) selected[*id == i.app] { (name) } }
                    }
                    (field_error(e, "app"))
                }
                div.filter {
                    label for="platform" { "Device platform" }
                    select id="platform" name="platform" {
                        @for (v, l) in platforms { option value=(v) selected[v == i.platform] { (l) } }
                    }
                    (field_error(e, "platform"))
                }
                div.filter {
                    label for="ip" { "IP address" }
                    input type="text" id="ip" name="ip" value=(i.ip) aria-describedby="ip-error";
                    (field_error(e, "ip"))
                }
                div.filter {
                    label for="client" { "Client app" }
                    select id="client" name="client" {
                        option value="browser" selected[i.client != "native"] { "Browser" }
                        option value="native" selected[i.client == "native"] { "Mobile apps and desktop clients" }
                    }
                    (field_error(e, "client"))
                }
                div.filter {
                    label for="method" { "Method used" }
                    select id="method" name="method" {
                        option value="passkey" selected[i.method != "tap"] { "Passkey" }
                        option value="tap" selected[i.method == "tap"] { "Temporary Access Pass" }
                    }
                }
                div.filter {
                    label for="aaguid" { "Passkey AAGUID" }
                    input type="text" id="aaguid" name="aaguid" value=(i.aaguid) aria-describedby="aaguid-error";
                    (field_error(e, "aaguid"))
                }
                div.filter.check {
                    input type="checkbox" id="attested" name="attested" value="on" checked[i.attested];
                    label for="attested" { "AAGUID attested" }
                }
                div.filter.check {
                    input type="checkbox" id="compliant" name="compliant" value="on" checked[i.compliant];
                    label for="compliant" { "Device is compliant" }
                }
                div.filter {
                    label for="device" { "Device properties (name=value per line)" }
                    textarea id="device" name="device" rows="2" aria-describedby="device-error" { (i.device) }
                    (field_error(e, "device"))
                }
                button type="submit" id="run-what-if" { "What If" }
            }
            @if let Some((policies, outcome)) = answer {
                section id="what-if-result" {
                    h2 { "Result" }
                    p id="outcome" data-result=(text(outcome, "result")) {
                        strong { (text(outcome, "result")) }
                        @if let Some(r) = outcome["reason"].as_str() { ": " (r) }
                        @if let Some(r) = outcome["remedy"].as_str() { br; "Remedy: " (r) }
                        @if let Some(rs) = outcome["requirements"].as_array() { ": " (rs.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; ")) }
                    }
                    table id="what-if-policies" {
                        caption { "Every policy" }
                        thead { tr { th scope="col" { "Policy" } th scope="col" { "Applies" } th scope="col" { "Result" } th scope="col" { "Controls" } th scope="col" { "Why" } } }
                        tbody {
                            @for p in policies.as_array().into_iter().flatten() {
                                @let applies = p["result"] != "notApplied" && p["result"] != "notEnabled" && p["result"] != "reportOnlyNotApplied";
                                tr.what-if-policy data-name=(text(p, "displayName")) data-result=(text(p, "result")) {
                                    td { (text(p, "displayName")) }
                                    td { @if applies { "Yes" } @else { "No" } }
                                    td { (text(p, "result")) }
                                    td { (p["enforcedGrantControls"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default()) }
                                    td {
                                        @if !applies { "Not applied: " (text(p, "analysisReasons")) }
                                        @for u in p["unmet"].as_array().into_iter().flatten() { div { "Unmet: " (u.as_str().unwrap_or_default()) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}
