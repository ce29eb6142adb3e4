//! Authentication methods in the admin center: the methods policy's list and the Passkey
//! (FIDO2) settings — *Enable and Target* and *Configure*, as the Entra admin center lays
//! them out — with the warnings a change carries and its impact before Save.

use std::collections::BTreeMap;

use maud::{html, Markup};
use portcullis_domain::policy::{Fido2Configuration, MethodState, TapConfiguration};
use portcullis_service::readiness::Readiness;

use super::{field_error, frame, impact, Viewer};

/// What the Passkey (FIDO2) form shows: the settings as saved, or as just posted (so a
/// refused form keeps what the administrator typed).
#[derive(Debug, Clone, Default)]
pub struct Fido2Input {
    /// Enable.
    pub enabled: bool,
    /// Include: All users (else Select groups).
    pub all_users: bool,
    /// Included groups, one name or object id per line.
    pub include_groups: String,
    /// Excluded groups, one per line.
    pub exclude_groups: String,
    /// Allow self-service set up.
    pub self_service: bool,
    /// Enforce attestation.
    pub attestation: bool,
    /// Enforce key restrictions.
    pub enforce_keys: bool,
    /// Restrict specific keys: Allow (else Block).
    pub allow: bool,
    /// The AAGUIDs the list shows (besides the Microsoft Authenticator's pair), ticked or not.
    pub listed: Vec<String>,
    /// The AAGUIDs ticked: kept on the list.
    pub aaguids: Vec<String>,
    /// The Microsoft Authenticator checkbox: both of its AAGUIDs on the list.
    pub authenticator: bool,
    /// Add AAGUID.
    pub add_aaguid: String,
    /// The version of the settings the form was opened on.
    pub version: String,
}

/// One AAGUID on the list, as the page shows it.
#[derive(Debug, Clone)]
pub struct AaguidRow {
    /// The AAGUID as given.
    pub aaguid: String,
    /// Its model's name from the metadata store, if known.
    pub model: Option<String>,
    /// Registered passkeys of it.
    pub passkeys: i64,
}

/// What happened to the last post.
#[derive(Debug, Clone)]
pub enum Notice {
    /// Saved, with what it means.
    Saved,
    /// Not saved, and why.
    NotSaved(String),
}

/// Everything the Passkey (FIDO2) page shows.
#[derive(Debug, Clone)]
pub struct Fido2Page<'a> {
    /// Who is looking.
    pub viewer: &'a Viewer,
    /// The form's values.
    pub input: &'a Fido2Input,
    /// The list, without the Microsoft Authenticator's pair when the checkbox stands for it.
    pub rows: Vec<AaguidRow>,
    /// The Microsoft Authenticator's two AAGUIDs (Android, iOS).
    pub authenticator_rows: Vec<AaguidRow>,
    /// Errors by field name, each shown next to its field.
    pub errors: &'a BTreeMap<&'static str, String>,
    /// Consequences of the settings shown (R4, R5, R6).
    pub warnings: &'a [String],
    /// The dry run of the settings shown, after Preview impact (or a refused Save).
    pub impact: Option<&'a Readiness>,
    /// Whether the viewer's roles may save.
    pub can_write: bool,
    /// The outcome of the last post.
    pub notice: Option<Notice>,
    /// Whether Save must be confirmed (the change strands users): offers Save anyway.
    pub confirm: bool,
    /// Whether to offer the confirmation of an enforced allow list with nothing on it (R5).
    pub accept_empty: bool,
    /// The passkey profiles (R9).
    pub profiles: Vec<super::ProfileRow>,
}

const FIDO2_PATH: &str = "/admin/authentication-methods/fido2";
const SECTION: &str = "/admin/authentication-methods";

fn state(s: MethodState) -> &'static str {
    match s {
        MethodState::Enabled => "Enabled",
        MethodState::Disabled => "Disabled",
    }
}

fn all_users(include: impl IntoIterator<Item = bool>) -> &'static str {
    if include.into_iter().any(|all| all) {
        "All users"
    } else {
        "Selected groups"
    }
}

/// The methods policy's list: each method, its target and state.
pub fn methods_page(viewer: &Viewer, fido2: &Fido2Configuration, tap: &TapConfiguration) -> Markup {
    let all = |ts: &[portcullis_domain::policy::IncludeTarget]| {
        all_users(
            ts.iter()
                .map(|t| t.id == portcullis_domain::policy::TargetId::AllUsers),
        )
    };
    frame(
        viewer,
        SECTION,
        "Authentication methods",
        html! {
            p.crumbs { "Protection › Authentication methods › Policies" }
            h1 { "Authentication methods" }
            table id="methods" {
                caption { "Authentication method policies" }
                thead { tr { th scope="col" { "Method" } th scope="col" { "Target" } th scope="col" { "Enabled" } } }
                tbody {
                    tr id="method-fido2" {
                        td { a href=(FIDO2_PATH) { "Passkey (FIDO2)" } }
                        td { (all(&fido2.include_targets)) }
                        td { (state(fido2.state)) }
                    }
                    tr id="method-tap" {
                        td { a href="/admin/authentication-methods/tap" { "Temporary Access Pass" } }
                        td { (all(&tap.include_targets)) }
                        td { (state(tap.state)) }
                    }
                }
            }
        },
    )
}

fn yes_no(
    errors: &BTreeMap<&'static str, String>,
    id: &str,
    label: &str,
    yes: bool,
    hint: &str,
) -> Markup {
    html! {
        div.field {
            label for=(id) { (label) }
            select id=(id) name=(id) aria-describedby=(format!("{id}-hint {id}-error")) {
                option value="yes" selected[yes] { "Yes" }
                option value="no" selected[!yes] { "No" }
            }
            p.muted id=(format!("{id}-hint")) { (hint) }
            (field_error(errors, id))
        }
    }
}

fn model(row: &AaguidRow) -> Markup {
    html! {
        td { (row.model.as_deref().unwrap_or("Unknown model (not in the metadata store)")) }
        td.mono { (row.aaguid) }
        td.num { (row.passkeys) " passkey(s)" }
    }
}

/// The Passkey (FIDO2) settings page.
pub fn fido2_page(p: &Fido2Page<'_>) -> Markup {
    let i = p.input;
    let e = p.errors;
    let described = |f: &str| {
        if e.contains_key(f) {
            format!("{f}-error")
        } else {
            String::new()
        }
    };
    frame(
        p.viewer,
        SECTION,
        "Passkey (FIDO2) settings",
        html! {
            p.crumbs { a href=(SECTION) { "Authentication methods" } " › Passkey (FIDO2)" }
            h1 { "Passkey (FIDO2) settings" }
            @if !p.can_write {
                p.notice.info id="read-only" { "Your role can read these settings but not change them: Save is not available." }
            }
            @match &p.notice {
                Some(Notice::Saved) => { p.notice.ok id="saved" role="status" { "Saved. The settings below are in force." } }
                Some(Notice::NotSaved(why)) => { p.notice.error id="not-saved" role="alert" { "Nothing was saved. " (why) } }
                None => {}
            }
            @if let Some(g) = e.get("form") {
                p.notice.error id="form-error" role="alert" { (g) }
            }
            @if let Some(r) = p.impact {
                (impact(r))
                @if p.confirm && p.can_write {
                    p {
                        button type="submit" form="fido2-form" name="action" value="save-anyway" id="save-anyway" class="danger" { "Save anyway" }
                        " saves these settings although they strand the users above."
                    }
                }
            }
            form method="post" action=(FIDO2_PATH) id="fido2-form" novalidate {
                input type="hidden" name="version" value=(i.version);
                nav.tabs aria-label="Passkey (FIDO2) settings" {
                    a href="#enable-and-target" { "Enable and Target" }
                    a href="#configure" { "Configure" }
                }
                fieldset id="enable-and-target" disabled[!p.can_write] {
                    legend { "Enable and Target" }
                    div.check {
                        input type="checkbox" id="enabled" name="enabled" value="on" checked[i.enabled];
                        label for="enabled" { "Enable" }
                    }
                    fieldset.inner {
                        legend { "Include" }
                        div.check {
                            input type="radio" id="include-all" name="include" value="all" checked[i.all_users];
                            label for="include-all" { "All users" }
                        }
                        div.check {
                            input type="radio" id="include-selected" name="include" value="groups" checked[!i.all_users];
                            label for="include-selected" { "Select groups" }
                        }
                        label for="include_groups" { "Groups to include — security groups only, one name or object id per line" }
                        textarea id="include_groups" name="include_groups" rows="3" aria-describedby=(described("include_groups")) { (i.include_groups) }
                        (field_error(e, "include_groups"))
                    }
                    fieldset.inner {
                        legend { "Exclude" }
                        label for="exclude_groups" { "Groups to exclude — security groups only, one per line; exclusion wins" }
                        textarea id="exclude_groups" name="exclude_groups" rows="3" aria-describedby=(described("exclude_groups")) { (i.exclude_groups) }
                        (field_error(e, "exclude_groups"))
                    }
                }
                fieldset id="configure" disabled[!p.can_write] {
                    legend { "Configure" }
                    h2 { "General" }
                    (yes_no(e, "self_service", "Allow self-service set up", i.self_service, "Users may add a passkey themselves in Security info."))
                    (yes_no(e, "attestation", "Enforce attestation", i.attestation, "Only passkeys whose attestation proves their model are accepted; checked at registration."))
                    h2 { "Key restriction policy" }
                    (yes_no(e, "enforce_keys", "Enforce key restrictions", i.enforce_keys, "When No, the list below restricts nothing."))
                    div.field {
                        label for="restriction" { "Restrict specific keys" }
                        select id="restriction" name="restriction" {
                            option value="allow" selected[i.allow] { "Allow" }
                            option value="block" selected[!i.allow] { "Block" }
                        }
                        (field_error(e, "restriction"))
                    }
                    div.check {
                        input type="checkbox" id="authenticator" name="authenticator" value="on" checked[i.authenticator] aria-describedby="authenticator-hint";
                        label for="authenticator" { "Microsoft Authenticator" }
                    }
                    p.muted id="authenticator-hint" {
                        "Adds both Microsoft Authenticator AAGUIDs: "
                        @for (n, r) in p.authenticator_rows.iter().enumerate() {
                            @if n > 0 { "; " }
                            (r.model.as_deref().unwrap_or("Microsoft Authenticator")) " " span.mono { (r.aaguid) } " (" (r.passkeys) " passkey(s))"
                        }
                        "."
                    }
                    table id="aaguids" aria-describedby=(described("aaguids")) {
                        caption { "AAGUIDs — untick one to remove it" }
                        thead { tr { th scope="col" { "Keep" } th scope="col" { "Model" } th scope="col" { "AAGUID" } th scope="col" { "In use" } } }
                        tbody {
                            @for r in &p.rows {
                                tr.aaguid data-aaguid=(r.aaguid) {
                                    td {
                                        input type="hidden" name="listed" value=(r.aaguid);
                                        input type="checkbox" name="aaguid" value=(r.aaguid) id=(format!("aaguid-{}", r.aaguid)) checked[i.aaguids.iter().any(|a| a.eq_ignore_ascii_case(&r.aaguid))] aria-label=(format!("Keep {}", r.model.as_deref().unwrap_or(&r.aaguid)));
                                    }
                                    (model(r))
                                }
                            }
                            @if p.rows.is_empty() {
                                tr { td colspan="4" { "No AAGUIDs besides the Microsoft Authenticator's." } }
                            }
                        }
                    }
                    (field_error(e, "aaguids"))
                    @if p.accept_empty {
                        div.check {
                            input type="checkbox" id="accept_empty_allow_list" name="accept_empty_allow_list" value="on";
                            label for="accept_empty_allow_list" { "I understand that every passkey will be refused. Save anyway." }
                        }
                    }
                    div.field {
                        label for="add_aaguid" { "Add AAGUID" }
                        div.inline {
                            input type="text" id="add_aaguid" name="add_aaguid" value=(i.add_aaguid) placeholder="00000000-0000-0000-0000-000000000000" aria-describedby=(described("add_aaguid"));
                            button type="submit" name="action" value="add" id="add-aaguid" { "Add AAGUID" }
                        }
                        (field_error(e, "add_aaguid"))
                    }
                }
                @if !p.warnings.is_empty() {
                    section id="warnings" {
                        h2 { "Before you save" }
                        ul { @for w in p.warnings { li.warning { (w) } } }
                    }
                }
                fieldset.actions disabled[!p.can_write] {
                    legend.visually-hidden { "Save" }
                    button type="submit" name="action" value="preview" id="preview" class="secondary-action" { "Preview impact" }
                    button type="submit" name="action" value="save" id="save" { "Save" }
                }
            }
            (super::profiles_section(&p.profiles, p.can_write && p.profiles.len() < portcullis_domain::policy::fido2::MAX_PROFILES))
        },
    )
}
