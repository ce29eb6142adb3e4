//! Passkey profiles (R9): named rulesets — passkey types, attestation, key restrictions —
//! that the Passkey (FIDO2) settings' include targets may use; at most three, one the
//! default. Listed on the Passkey (FIDO2) page; each edited on its own page, with Preview
//! impact and Save anyway as every policy form.

use maud::{html, Markup};
use portcullis_service::readiness::Readiness;

use super::{field_error, frame, impact, FieldErrors, Viewer};

/// One profile as the Passkey (FIDO2) page lists it.
#[derive(Debug, Clone)]
pub struct ProfileRow {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Passkey types, in words.
    pub types: String,
    /// Attestation enforced at registration.
    pub attestation: bool,
    /// Key restrictions, in words.
    pub keys: String,
    /// The default profile.
    pub default: bool,
    /// The targets that use it, in words.
    pub targets: String,
}

/// The profiles section of the Passkey (FIDO2) page.
pub fn profiles_section(rows: &[ProfileRow], can_add: bool) -> Markup {
    html! {
        section id="passkey-profiles" {
            h2 { "Passkey profiles" }
            p.muted { "A user gets the profiles their include targets allow, else the settings above. At most three profiles, one of them the default." }
            table id="profiles" {
                thead { tr { th scope="col" { "Profile" } th scope="col" { "Passkey types" } th scope="col" { "Attestation" } th scope="col" { "Key restrictions" } th scope="col" { "Used by" } } }
                tbody {
                    @for r in rows {
                        tr.profile data-name=(r.name) {
                            td { a href=(format!("{PROFILES}/{}", r.id)) { (r.name) } @if r.default { " (default)" } }
                            td { (r.types) }
                            td { @if r.attestation { "Enforced at registration" } @else { "Not enforced" } }
                            td { (r.keys) }
                            td { @if r.targets.is_empty() { "—" } @else { (r.targets) } }
                        }
                    }
                    @if rows.is_empty() { tr { td colspan="5" { "No profiles: everyone in scope gets the settings above." } } }
                }
            }
            @if can_add { p { a.button-link id="add-profile" href=(format!("{PROFILES}/new")) { "Add profile" } } }
        }
    }
}

/// Where profiles live.
pub const PROFILES: &str = "/admin/authentication-methods/fido2/profiles";

/// A profile form's values, as saved or as posted.
#[derive(Debug, Clone, Default)]
pub struct ProfileInput {
    /// Name.
    pub name: String,
    /// Device-bound passkeys accepted.
    pub device_bound: bool,
    /// Synced passkeys accepted.
    pub synced: bool,
    /// Attestation enforced at registration.
    pub attestation: bool,
    /// Key restrictions enforced.
    pub enforce_keys: bool,
    /// Allow (else Block).
    pub allow: bool,
    /// The Microsoft Authenticator's two AAGUIDs on the list.
    pub authenticator: bool,
    /// Other AAGUIDs, one per line.
    pub aaguids: String,
    /// The default profile.
    pub default: bool,
    /// The include targets (their ids) that use it.
    pub targets: Vec<String>,
    /// The version of the Passkey (FIDO2) settings the form was opened on.
    pub version: String,
}

/// What a profile page shows.
#[derive(Debug, Clone)]
pub struct ProfilePage<'a> {
    /// Who is looking.
    pub viewer: &'a Viewer,
    /// The profile's id, when it exists.
    pub id: Option<&'a str>,
    /// The values.
    pub input: &'a ProfileInput,
    /// The include targets to choose from: (id, in words).
    pub targets: &'a [(String, String)],
    /// Errors by field.
    pub errors: &'a FieldErrors,
    /// After Preview impact: the dry run.
    pub impact: Option<&'a Readiness>,
    /// Whether the change strands users (its confirmation is then offered).
    pub confirm: Option<&'static str>,
    /// A refusal of the last Save or Delete.
    pub not_saved: Option<&'a str>,
    /// Whether the viewer may change profiles.
    pub can_write: bool,
}

fn check(id: &str, name: &str, value: &str, on: bool, label: &str) -> Markup {
    html! {
        div.check {
            input type="checkbox" id=(id) name=(name) value=(value) checked[on];
            label for=(id) { (label) }
        }
    }
}

/// A profile's page.
pub fn profile_page(p: &ProfilePage<'_>) -> Markup {
    let i = p.input;
    let e = p.errors;
    let action = p.id.map_or_else(
        || format!("{PROFILES}/new"),
        |id| format!("{PROFILES}/{id}"),
    );
    let title = if p.id.is_some() {
        "Passkey profile"
    } else {
        "Add passkey profile"
    };
    frame(
        p.viewer,
        "/admin/authentication-methods",
        title,
        html! {
            p.crumbs { a href="/admin/authentication-methods" { "Authentication methods" } " › " a href="/admin/authentication-methods/fido2" { "Passkey (FIDO2)" } " › " (title) }
            h1 { (title) }
            @if !p.can_write { p.notice.info id="read-only" { "Your role can read this profile but not change it." } }
            @if let Some(g) = e.get("form") { p.notice.error id="form-error" role="alert" { (g) } }
            @if let Some(n) = p.not_saved { p.notice.error id="not-saved" role="alert" { "Nothing was saved. " (n) } }
            @if let Some(r) = p.impact {
                (impact(r))
                @if let (Some(action), true) = (p.confirm, p.can_write) {
                    p { button.danger type="submit" form="profile-form" name="action" value=(action) id="save-anyway" {
                        @if action == "delete-anyway" { "Delete anyway" } @else { "Save anyway" }
                    } " although it strands the users above." }
                }
            }
            form method="post" action=(action) id="profile-form" novalidate {
                input type="hidden" name="version" value=(i.version);
                fieldset disabled[!p.can_write] {
                    legend { "Profile" }
                    label for="name" { "Name" }
                    input type="text" id="name" name="name" value=(i.name) aria-describedby="name-error";
                    (field_error(e, "name"))
                    (check("default", "default", "on", i.default, "The default profile"))
                    (field_error(e, "default"))
                    h2 { "Passkey types" }
                    (check("type-deviceBound", "type", "deviceBound", i.device_bound, "Device-bound"))
                    (check("type-synced", "type", "synced", i.synced, "Synced"))
                    (field_error(e, "type"))
                    h2 { "Attestation and key restrictions" }
                    (check("attestation", "attestation", "on", i.attestation, "Enforce attestation (checked at registration)"))
                    (check("enforce_keys", "enforce_keys", "on", i.enforce_keys, "Enforce key restrictions"))
                    div.field {
                        label for="restriction" { "Restrict specific keys" }
                        select id="restriction" name="restriction" {
                            option value="allow" selected[i.allow] { "Allow" }
                            option value="block" selected[!i.allow] { "Block" }
                        }
                        (field_error(e, "restriction"))
                    }
                    (check("authenticator", "authenticator", "on", i.authenticator, "Microsoft Authenticator"))
                    label for="aaguids" { "Other AAGUIDs, one per line" }
                    textarea id="aaguids" name="aaguids" rows="3" aria-describedby="aaguids-error" { (i.aaguids) }
                    (field_error(e, "aaguids"))
                }
                fieldset disabled[!p.can_write] {
                    legend { "Used by" }
                    p.muted { "The Passkey (FIDO2) include targets whose users get this profile." }
                    @for (id, label) in p.targets {
                        (check(&format!("target-{id}"), "target", id, i.targets.contains(id), label))
                    }
                    @if p.targets.is_empty() { p { "The Passkey (FIDO2) settings include nobody yet." } }
                    (field_error(e, "target"))
                }
                fieldset.actions disabled[!p.can_write] {
                    legend.visually-hidden { "Save" }
                    button.secondary-action type="submit" name="action" value="preview" id="preview" { "Preview impact" }
                    button type="submit" name="action" value="save" id="save" { "Save" }
                    @if p.id.is_some() {
                        button.secondary type="submit" name="action" value="delete" id="delete-profile" { "Delete profile" }
                    }
                }
            }
        },
    )
}
