//! The admin center's pages (issue 15): the frame every page shares — the sections the
//! viewer's roles open, who is signed in, whether they may change anything — and one module
//! per area. Markup only: the handlers in `crate::admin` decide and load.

mod adoption;
mod ca;
mod charts;
mod groups;
mod home;
mod inventory;
mod logs;
mod methods;
mod profiles;
mod readiness;
mod strengths;
mod tap_settings;
mod users;
mod what_if;

use std::collections::BTreeMap;

use maud::{html, Markup, DOCTYPE};

pub use adoption::{adoption_page, AdoptionView};
pub use ca::{
    locations_page, policies_page, policy_form_page, state_label, CaForm, CaInput, PolicyRow, CA,
    FILTER_OPERATORS,
};
pub use groups::{group_page, groups_page, GroupView};
pub use home::{home_page, HomeAccess};
pub use inventory::{
    change_page, inventory_page, link as inventory_link, InventoryView, ModelTotal,
};
pub use logs::{audit_page, sign_ins_page, AuditView, AuditsQuery, SignInsQuery, SignInsView};
pub use methods::{fido2_page, methods_page, AaguidRow, Fido2Input, Fido2Page, Notice};
pub use profiles::{
    profile_page, profiles_section, ProfileInput, ProfilePage, ProfileRow, PROFILES,
};
pub use readiness::{impact, readiness_page};
pub use strengths::{
    combination_label, strength_form_page, strengths_page, StrengthForm, StrengthInput, StrengthRow,
};
pub use tap_settings::{tap_page, TapInput, TapPage};
pub use users::{delete_passkey_page, user_page, users_page, UserPage, UsersPage};
pub use what_if::{what_if_page, WhatIfInput};

/// A form's errors, by the name of the field each belongs next to (`form` for the form as a
/// whole).
pub type FieldErrors = BTreeMap<&'static str, String>;

/// A field's error, next to it (the field names it in `aria-describedby`).
fn field_error(errors: &FieldErrors, field: &str) -> Markup {
    html! {
        @if let Some(e) = errors.get(field) {
            p.field-error id=(format!("{field}-error")) role="alert" { (e) }
        }
    }
}

/// One entry of the admin center's navigation.
#[derive(Debug, Clone)]
pub struct NavLink {
    /// Where.
    pub href: &'static str,
    /// What the Entra admin center calls it.
    pub label: &'static str,
}

/// Who is looking, as the frame shows it.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The administrator's user principal name.
    pub upn: String,
    /// The roles they hold, by name.
    pub roles: Vec<String>,
    /// The sections their roles open.
    pub links: Vec<NavLink>,
}

/// The admin center's frame: navigation beside the page (`section`, the href of the entry the
/// page belongs to, marked current), the viewer's name and roles.
pub fn frame(viewer: &Viewer, section: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Portcullis" }
                link rel="stylesheet" href="/static/portcullis.css";
                link rel="icon" href="/static/favicon.svg" type="image/svg+xml";
            }
            body.admin {
                header.admin-top {
                    span.brand { "Portcullis admin center" }
                    span.who { (viewer.upn) " · " (viewer.roles.join(", ")) }
                }
                div.admin-shell {
                    nav.admin-nav aria-label="Admin center" {
                        ul {
                            @for l in &viewer.links {
                                li {
                                    @if l.href == section {
                                        a href=(l.href) aria-current="page" { (l.label) }
                                    } @else {
                                        a href=(l.href) { (l.label) }
                                    }
                                }
                            }
                        }
                    }
                    main.admin-main { (body) }
                }
            }
        }
    }
}

/// `s` as one query-string value.
fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
