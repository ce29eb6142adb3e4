//! Authentication strengths: the built-ins (read-only) and the custom ones, and the New /
//! edit form — name and description, the combinations, Passkeys (FIDO2) › Advanced options
//! with the allowed AAGUIDs, then Review (warnings and impact) before Create or Save.

use maud::{html, Markup};
use portcullis_domain::policy::fido2::AUTHENTICATOR_AAGUIDS;
use portcullis_domain::strength::{Strength, VALID_COMBINATIONS};
use portcullis_service::readiness::Readiness;

use super::{field_error, frame, impact, FieldErrors, Viewer};

const SECTION: &str = "/admin/strengths";

/// The admin center's name of a combination (Graph's flags string), and whether Portcullis
/// offers its methods.
pub fn combination_label(c: &str) -> (String, bool) {
    let known = match c {
        "fido2" => Some("Passkeys (FIDO2)"),
        "temporaryAccessPassOneTime" => Some("Temporary Access Pass (One-time use)"),
        "temporaryAccessPassMultiUse" => Some("Temporary Access Pass (Multi-use)"),
        _ => None,
    };
    match known {
        Some(k) => (k.to_string(), true),
        None => (c.replace(',', " + "), false),
    }
}

/// One strength in the list, with the names it is shown with.
#[derive(Debug, Clone)]
pub struct StrengthRow<'a> {
    /// The strength.
    pub strength: &'a Strength,
    /// Each allowed AAGUID with its model's name, if known.
    pub models: Vec<(String, Option<String>)>,
    /// The policies that require it, by name.
    pub used_by: Vec<String>,
}

/// The strengths list.
pub fn strengths_page(
    viewer: &Viewer,
    rows: &[StrengthRow<'_>],
    can_write: bool,
    notice: Option<&str>,
    error: Option<&str>,
) -> Markup {
    frame(
        viewer,
        SECTION,
        "Authentication strengths",
        html! {
            p.crumbs { "Protection › Authentication methods › Authentication strengths" }
            h1 { "Authentication strengths" }
            @if let Some(n) = notice { p.notice.ok id="notice" role="status" { (n) } }
            @if let Some(e) = error { p.notice.error id="error" role="alert" { (e) } }
            @if can_write {
                p { a.button-link id="new-strength" href=(format!("{SECTION}/new")) { "New authentication strength" } }
            } @else {
                p.muted id="read-only" { "Your role can read strengths but not change them." }
            }
            table id="strengths" {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Type" } th scope="col" { "Combinations" } th scope="col" { "Passkey models allowed" } th scope="col" { "Used by" } @if can_write { th scope="col" { "Delete" } } } }
                tbody {
                    @for r in rows {
                        @let s = r.strength;
                        tr.strength data-name=(s.display_name) {
                            td { @if s.built_in { (s.display_name) } @else { a href=(format!("{SECTION}/{}", s.id)) { (s.display_name) } } }
                            td { @if s.built_in { "Built-in" } @else { "Custom" } }
                            td { ul { @for c in &s.allowed_combinations { li { (combination_label(c.as_str()).0) } } } }
                            td {
                                @if r.models.is_empty() { "Any" }
                                ul { @for (a, m) in &r.models { li { (m.as_deref().unwrap_or("Unknown model")) " " span.mono { (a) } } } }
                            }
                            td { @if r.used_by.is_empty() { "—" } @else { (r.used_by.join(", ")) } }
                            @if can_write {
                                td {
                                    @if !s.built_in {
                                        form method="post" action=(format!("{SECTION}/{}/delete", s.id)) {
                                            button.secondary type="submit" id=(format!("delete-{}", s.id)) { "Delete " (s.display_name) }
                                        }
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

/// The strength form's values as saved or as posted.
#[derive(Debug, Clone, Default)]
pub struct StrengthInput {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// The combinations ticked (Graph's flags strings).
    pub combinations: Vec<String>,
    /// Advanced options: allowed AAGUIDs besides the Microsoft Authenticator's, one per line.
    pub aaguids: String,
    /// Advanced options: the Microsoft Authenticator's two AAGUIDs.
    pub authenticator: bool,
    /// The version of the strength the form was opened on (empty for a new one).
    pub version: String,
}

/// The AAGUIDs the Advanced options allow, as typed: the Authenticator's pair first.
fn allowed(i: &StrengthInput) -> Vec<String> {
    let mut all: Vec<String> = if i.authenticator {
        AUTHENTICATOR_AAGUIDS
            .iter()
            .map(ToString::to_string)
            .collect()
    } else {
        vec![]
    };
    all.extend(
        i.aaguids
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string),
    );
    all
}

/// What the New / edit page shows.
#[derive(Debug, Clone)]
pub struct StrengthForm<'a> {
    /// Who is looking.
    pub viewer: &'a Viewer,
    /// The strength's id when editing.
    pub id: Option<&'a str>,
    /// The values.
    pub input: &'a StrengthInput,
    /// Errors by field.
    pub errors: &'a FieldErrors,
    /// After Review: the warnings and the dry run.
    pub review: Option<(&'a [String], &'a Readiness)>,
    /// Whether the change strands users (Save anyway is then needed).
    pub confirm: bool,
    /// A refusal of the last Save.
    pub not_saved: Option<&'a str>,
    /// Whether the viewer may change strengths (else the form is shown read-only).
    pub can_write: bool,
}

/// New authentication strength, or edit one.
pub fn strength_form_page(p: &StrengthForm<'_>) -> Markup {
    let i = p.input;
    let e = p.errors;
    let action =
        p.id.map_or_else(|| format!("{SECTION}/new"), |id| format!("{SECTION}/{id}"));
    let title = if p.id.is_some() {
        "Edit authentication strength"
    } else {
        "New authentication strength"
    };
    frame(
        p.viewer,
        SECTION,
        title,
        html! {
            p.crumbs { a href=(SECTION) { "Authentication strengths" } " › " (title) }
            h1 { (title) }
            @if !p.can_write { p.notice.info id="read-only" { "Your role can read this strength but not change it." } }
            @if let Some(g) = e.get("form") { p.notice.error id="form-error" role="alert" { (g) } }
            @if let Some(n) = p.not_saved { p.notice.error id="not-saved" role="alert" { "Nothing was saved. " (n) } }
            @if let Some((warnings, r)) = p.review {
                section id="review" {
                    h2 { "Review" }
                    dl {
                        dt { "Name" } dd id="review-name" { (i.name) }
                        dt { "Combinations" } dd { (i.combinations.iter().map(|c| combination_label(c).0).collect::<Vec<_>>().join("; ")) }
                        dt { "Passkey models allowed" } dd id="review-aaguids" {
                            @let all = allowed(i);
                            @if all.is_empty() { "Any" } @else { (all.join(", ")) }
                        }
                    }
                    @if !warnings.is_empty() {
                        ul id="warnings" { @for w in warnings { li.warning { (w) } } }
                    }
                    (impact(r))
                    p {
                        button type="submit" form="strength-form" name="action" value="save" id="create" {
                            @if p.id.is_some() { "Save" } @else { "Create" }
                        }
                        @if p.confirm {
                            " "
                            button.danger type="submit" form="strength-form" name="action" value="save-anyway" id="save-anyway" { "Save anyway" }
                        }
                    }
                }
            }
            form method="post" action=(action) id="strength-form" novalidate {
                input type="hidden" name="version" value=(i.version);
                fieldset disabled[!p.can_write] {
                    legend { "Configure" }
                    label for="name" { "Name" }
                    input type="text" id="name" name="name" value=(i.name) aria-describedby="name-error";
                    (field_error(e, "name"))
                    label for="description" { "Description" }
                    input type="text" id="description" name="description" value=(i.description);
                }
                fieldset id="combinations" aria-describedby="combinations-error" disabled[!p.can_write] {
                    legend { "Combinations" }
                    (field_error(e, "combinations"))
                    @for c in VALID_COMBINATIONS {
                        @let (label, offered) = combination_label(c);
                        @let id = format!("combination-{}", c.replace(',', "-"));
                        div.check {
                            input type="checkbox" id=(id) name="combination" value=(c) checked[i.combinations.iter().any(|x| x == c)];
                            label for=(id) { (label) @if !offered { span.muted { " — not offered by Portcullis, never met here" } } }
                        }
                        @if c == "fido2" {
                            details id="advanced-options" open[i.authenticator || !i.aaguids.trim().is_empty() || e.contains_key("aaguids")] {
                                summary { "Advanced options" }
                                p.muted { "Only passkeys of these models meet the combination; leave empty for any model. A model counts only when its attestation proves it (R32)." }
                                div.check {
                                    input type="checkbox" id="authenticator" name="authenticator" value="on" checked[i.authenticator];
                                    label for="authenticator" { "Microsoft Authenticator (both of its AAGUIDs)" }
                                }
                                label for="aaguids" { "Allowed AAGUIDs, one per line" }
                                textarea id="aaguids" name="aaguids" rows="3" aria-describedby="aaguids-error" { (i.aaguids) }
                                (field_error(e, "aaguids"))
                            }
                        }
                    }
                }
                @if p.can_write {
                    button type="submit" name="action" value="review" id="review-button" { "Next: Review" }
                }
            }
        },
    )
}
