//! The Temporary Access Pass settings: Enable and Target, and the pass's lifetimes, length
//! and one-time use — with Preview impact and Save anyway, as the Passkey (FIDO2) page.

use maud::{html, Markup};
use portcullis_service::readiness::Readiness;

use super::{field_error, frame, impact, FieldErrors, Viewer};

/// The form's values, as saved or as posted.
#[derive(Debug, Clone, Default)]
pub struct TapInput {
    /// Enable.
    pub enabled: bool,
    /// All users (else the groups below).
    pub all_users: bool,
    /// Included groups, one per line.
    pub include_groups: String,
    /// Excluded groups, one per line.
    pub exclude_groups: String,
    /// Minimum lifetime, minutes.
    pub minimum: String,
    /// Maximum lifetime, minutes.
    pub maximum: String,
    /// Default lifetime, minutes.
    pub default: String,
    /// One-time use.
    pub one_time: bool,
    /// Length of a pass, characters.
    pub length: String,
    /// The version of the settings the form was opened on.
    pub version: String,
}

/// What the page shows.
#[derive(Debug, Clone)]
pub struct TapPage<'a> {
    /// Who is looking.
    pub viewer: &'a Viewer,
    /// The values.
    pub input: &'a TapInput,
    /// Errors by field.
    pub errors: &'a FieldErrors,
    /// After Preview impact: the dry run.
    pub impact: Option<&'a Readiness>,
    /// Whether Save anyway is needed.
    pub confirm: bool,
    /// Saved just now.
    pub saved: bool,
    /// A refusal of the last Save.
    pub not_saved: Option<&'a str>,
    /// Whether the viewer may save.
    pub can_write: bool,
}

fn number(id: &str, label: &str, value: &str, errors: &FieldErrors) -> Markup {
    html! {
        div.field {
            label for=(id) { (label) }
            input type="text" inputmode="numeric" id=(id) name=(id) value=(value) aria-describedby=(format!("{id}-error"));
            (field_error(errors, id))
        }
    }
}

/// The Temporary Access Pass settings page.
pub fn tap_page(p: &TapPage<'_>) -> Markup {
    let i = p.input;
    let e = p.errors;
    frame(
        p.viewer,
        "/admin/authentication-methods",
        "Temporary Access Pass settings",
        html! {
            p.crumbs { a href="/admin/authentication-methods" { "Authentication methods" } " › Temporary Access Pass" }
            h1 { "Temporary Access Pass settings" }
            @if !p.can_write { p.notice.info id="read-only" { "Your role can read these settings but not change them." } }
            @if p.saved { p.notice.ok id="saved" role="status" { "Saved. The settings below are in force." } }
            @if let Some(n) = p.not_saved { p.notice.error id="not-saved" role="alert" { "Nothing was saved. " (n) } }
            @if let Some(g) = e.get("form") { p.notice.error id="form-error" role="alert" { (g) } }
            @if let Some(r) = p.impact {
                (impact(r))
                @if p.confirm && p.can_write {
                    p { button.danger type="submit" form="tap-form" name="action" value="save-anyway" id="save-anyway" { "Save anyway" } " saves these settings although they strand the users above." }
                }
            }
            form method="post" action="/admin/authentication-methods/tap" id="tap-form" novalidate {
                input type="hidden" name="version" value=(i.version);
                fieldset disabled[!p.can_write] {
                    legend { "Enable and Target" }
                    div.check {
                        input type="checkbox" id="enabled" name="enabled" value="on" checked[i.enabled];
                        label for="enabled" { "Enable" }
                    }
                    div.check {
                        input type="radio" id="include-all" name="include" value="all" checked[i.all_users];
                        label for="include-all" { "All users" }
                    }
                    div.check {
                        input type="radio" id="include-selected" name="include" value="groups" checked[!i.all_users];
                        label for="include-selected" { "Select groups" }
                    }
                    label for="include_groups" { "Groups to include — security groups only, one per line" }
                    textarea id="include_groups" name="include_groups" rows="2" aria-describedby="include_groups-error" { (i.include_groups) }
                    (field_error(e, "include_groups"))
                    label for="exclude_groups" { "Groups to exclude — one per line; exclusion wins" }
                    textarea id="exclude_groups" name="exclude_groups" rows="2" aria-describedby="exclude_groups-error" { (i.exclude_groups) }
                    (field_error(e, "exclude_groups"))
                }
                fieldset disabled[!p.can_write] {
                    legend { "Configure" }
                    (number("minimumLifetimeInMinutes", "Minimum lifetime (minutes)", &i.minimum, e))
                    (number("maximumLifetimeInMinutes", "Maximum lifetime (minutes)", &i.maximum, e))
                    (number("defaultLifetimeInMinutes", "Default lifetime (minutes)", &i.default, e))
                    div.field {
                        label for="isUsableOnce" { "One-time use" }
                        select id="isUsableOnce" name="isUsableOnce" {
                            option value="yes" selected[i.one_time] { "Yes" }
                            option value="no" selected[!i.one_time] { "No" }
                        }
                        (field_error(e, "isUsableOnce"))
                    }
                    (number("defaultLength", "Length (characters)", &i.length, e))
                }
                fieldset.actions disabled[!p.can_write] {
                    legend.visually-hidden { "Save" }
                    button.secondary-action type="submit" name="action" value="preview" id="preview" { "Preview impact" }
                    button type="submit" name="action" value="save" id="save" { "Save" }
                }
            }
        },
    )
}
