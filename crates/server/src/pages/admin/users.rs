//! Users in the admin center: search and create; a user's page with their account, groups,
//! roles and Authentication methods — passkeys with their model and whether they can sign
//! in, the Temporary Access Pass and Create Temporary Access Pass (the code shown once) —
//! and the confirmation before a passkey is deleted.

use maud::{html, Markup};
use portcullis_domain::directory::{DirectoryRole, Group, User};
use portcullis_domain::tap::UsabilityReason;
use portcullis_domain::time_fmt::rfc3339;
use portcullis_service::passkeys::PasskeyView;
use portcullis_service::tap::{IssuedPass, PassView};

use super::{enc, field_error, frame, FieldErrors, Viewer};

const SECTION: &str = "/admin/users";

/// What the users list shows.
#[derive(Debug, Clone)]
pub struct UsersPage<'a> {
    /// Who is looking.
    pub viewer: &'a Viewer,
    /// The search as typed.
    pub search: &'a str,
    /// This page of matches.
    pub users: &'a [User],
    /// The next page's start, when there are more.
    pub next: Option<String>,
    /// Whether the viewer may create users.
    pub can_create: bool,
    /// The New user form's values and errors, after a refused post.
    pub new_user: (&'a str, &'a str),
    /// Errors by field.
    pub errors: &'a FieldErrors,
}

/// The users list: search by name or user principal name, paged; New user.
pub fn users_page(p: &UsersPage<'_>) -> Markup {
    frame(
        p.viewer,
        SECTION,
        "Users",
        html! {
            p.crumbs { "Identity › Users › All users" }
            h1 { "Users" }
            form method="get" action=(SECTION) role="search" {
                label for="search" { "Search by display name or user principal name (starts with)" }
                div.inline {
                    input type="text" id="search" name="search" value=(p.search);
                    button type="submit" id="search-button" { "Search" }
                }
            }
            table id="users" {
                caption { @if p.search.is_empty() { "All users" } @else { "Users matching “" (p.search) "”" } }
                thead { tr { th scope="col" { "Display name" } th scope="col" { "User principal name" } th scope="col" { "Account" } } }
                tbody {
                    @for u in p.users {
                        tr.user data-upn=(u.user_principal_name) {
                            td { a href=(format!("{SECTION}/{}", u.id)) { (u.display_name) } }
                            td { (u.user_principal_name) }
                            td { @if u.account_enabled { "Enabled" } @else { "Disabled" } }
                        }
                    }
                    @if p.users.is_empty() { tr { td colspan="3" { "No user matches." } } }
                }
            }
            @if let Some(next) = &p.next {
                p { a id="next-page" href=(format!("{SECTION}?search={}&after={}", enc(p.search), enc(next))) { "Next page" } }
            }
            section id="new-user" {
                h2 { "New user" }
                @if p.can_create {
                    form method="post" action=(SECTION) {
                        label for="upn" { "User principal name" }
                        input type="text" id="upn" name="upn" value=(p.new_user.0) autocomplete="off" aria-describedby="upn-error";
                        (field_error(p.errors, "upn"))
                        label for="display_name" { "Display name" }
                        input type="text" id="display_name" name="display_name" value=(p.new_user.1) aria-describedby="display_name-error";
                        (field_error(p.errors, "display_name"))
                        button type="submit" id="create-user" { "Create" }
                    }
                } @else {
                    p.muted { "Your role cannot create users." }
                }
            }
        },
    )
}

/// What a user's page shows.
#[derive(Debug, Clone)]
pub struct UserPage<'a> {
    /// Who is looking.
    pub viewer: &'a Viewer,
    /// The user.
    pub user: &'a User,
    /// Their groups.
    pub groups: &'a [Group],
    /// Their roles.
    pub roles: &'a [DirectoryRole],
    /// Their passkeys, when the viewer may read them.
    pub passkeys: Option<&'a [PasskeyView]>,
    /// Their pass, when the viewer may read it (never its code).
    pub pass: Option<Option<&'a PassView>>,
    /// A pass just issued: its code, shown this once.
    pub issued: Option<&'a IssuedPass>,
    /// A sentence about what just happened.
    pub notice: Option<&'a str>,
    /// May enable and disable the account.
    pub can_manage_user: bool,
    /// May create a pass.
    pub can_create_pass: bool,
    /// May delete passkeys.
    pub can_delete_passkeys: bool,
    /// Errors by field (the pass form).
    pub errors: &'a FieldErrors,
}

fn usability(u: UsabilityReason) -> &'static str {
    match u {
        UsabilityReason::EnabledByPolicy => "Usable",
        UsabilityReason::DisabledByPolicy => {
            "Not usable: the Temporary Access Pass method is off for this user"
        }
        UsabilityReason::Expired => "Expired",
        UsabilityReason::NotYetValid => "Not yet valid",
        UsabilityReason::OneTimeUsed => "Used (one-time)",
    }
}

/// A user's page.
pub fn user_page(p: &UserPage<'_>) -> Markup {
    let u = p.user;
    let base = format!("{SECTION}/{}", u.id);
    frame(
        p.viewer,
        SECTION,
        &format!("{} — user", u.display_name),
        html! {
            p.crumbs { a href=(SECTION) { "Users" } " › " (u.display_name) }
            h1 { (u.display_name) }
            @if let Some(n) = p.notice { p.notice.ok id="notice" role="status" { (n) } }
            @if let Some(g) = p.errors.get("form") { p.notice.error id="form-error" role="alert" { (g) } }
            @if let Some(i) = p.issued {
                section.notice.ok id="issued" {
                    p { "Temporary Access Pass created. Give it to " (i.user.display_name) " now: it is shown only this once." }
                    label for="tap-code" { "Pass" }
                    input.mono type="text" id="tap-code" readonly value=(i.code);
                    p.muted {
                        "Valid from " (rfc3339(i.pass.start_at)) " for " (i.pass.lifetime_minutes) " minutes"
                        @if i.pass.is_usable_once { ", once." } @else { ", any number of times in that window." }
                    }
                }
            }
            dl id="overview" {
                dt { "User principal name" } dd { (u.user_principal_name) }
                dt { "Object id" } dd.mono { (u.id) }
                dt { "Account" } dd id="account-state" { @if u.account_enabled { "Enabled" } @else { "Disabled" } }
                dt { "Created" } dd { time datetime=(rfc3339(u.created_date_time)) { (rfc3339(u.created_date_time)) } }
                dt { "Groups" } dd id="groups" {
                    @if p.groups.is_empty() { "None" }
                    @for (n, g) in p.groups.iter().enumerate() {
                        @if n > 0 { ", " }
                        (g.display_name) @if !g.security_enabled { " (not a security group)" }
                    }
                }
                dt { "Roles" } dd id="roles" {
                    @if p.roles.is_empty() { "None" }
                    (p.roles.iter().map(|r| r.display_name()).collect::<Vec<_>>().join(", "))
                }
            }
            @if p.can_manage_user {
                form method="post" action=(format!("{base}/enabled")) {
                    input type="hidden" name="enabled" value=(if u.account_enabled { "no" } else { "yes" });
                    button type="submit" id="toggle-account" class=(if u.account_enabled { "danger" } else { "" }) {
                        @if u.account_enabled { "Disable account" } @else { "Enable account" }
                    }
                }
            }
            h2 id="methods" { "Authentication methods" }
            @match p.passkeys {
                None => p.muted { "Your role cannot read this user's passkeys." },
                Some(list) => {
                    table id="passkeys" {
                        caption { "Passkeys" }
                        thead { tr {
                            th scope="col" { "Name" } th scope="col" { "Model" } th scope="col" { "AAGUID" }
                            th scope="col" { "Attestation" } th scope="col" { "Type" } th scope="col" { "Device / profile" } th scope="col" { "Added via" }
                            th scope="col" { "Created" } th scope="col" { "Last used" } th scope="col" { "Can sign in" }
                            @if p.can_delete_passkeys { th scope="col" { "Disable or delete" } }
                        } }
                        tbody {
                            @for v in list {
                                @let k = &v.stored.passkey;
                                tr.passkey data-id=(k.id) {
                                    td { (k.display_name) }
                                    td { (v.model.as_deref().unwrap_or("Unknown model")) }
                                    td.mono { (k.aaguid) }
                                    td { @if k.attested { "Attested" } @else { "Self-reported (not attested)" } }
                                    td { @if k.synced { "Synced" } @else { "Device-bound" } }
                                    td { (k.device.as_deref().unwrap_or("—")) @if let Some(pr) = &k.device_profile { " (" (pr) " profile)" } }
                                    td.passkey-reach data-reach=(v.stored.client.reach().code()) { (portcullis_service::render::passkey_reach(&v.stored.client)) }
                                    td { (rfc3339(k.created_at)) }
                                    td { (k.last_used_at.map_or_else(|| "Never".to_string(), rfc3339)) }
                                    td {
                                        @match &v.usable {
                                            Ok(()) => span.usable { "Yes" },
                                            Err(r) => span.why-not { "No: " (portcullis_service::render::passkey_refusal(r)) },
                                        }
                                    }
                                    @if p.can_delete_passkeys {
                                        td {
                                            // R26: kept, refused at sign-in, until enabled again.
                                            form.inline method="post" action=(format!("{base}/passkeys/{}/state", k.id)) {
                                                @if k.disabled {
                                                    input type="hidden" name="state" value="enabled";
                                                    button.secondary type="submit" id=(format!("enable-{}", k.id)) { "Enable " (k.display_name) }
                                                } @else {
                                                    input type="hidden" name="state" value="disabled";
                                                    button.secondary type="submit" id=(format!("disable-{}", k.id)) { "Disable " (k.display_name) }
                                                }
                                            }
                                            " "
                                            a.button-link href=(format!("{base}/passkeys/{}/delete", k.id)) id=(format!("delete-{}", k.id)) { "Delete " (k.display_name) }
                                        }
                                    }
                                }
                            }
                            @if list.is_empty() { tr { td colspan=(if p.can_delete_passkeys { "11" } else { "10" }) { "No passkeys." } } }
                        }
                    }
                }
            }
            h3 { "Temporary Access Pass" }
            @match p.pass {
                None => p.muted { "Your role cannot read this user's Temporary Access Pass." },
                Some(None) => p id="no-pass" { "No Temporary Access Pass." },
                Some(Some(v)) => p id="pass" {
                    "Created " (rfc3339(v.pass.created_at)) ", valid from " (rfc3339(v.pass.start_at)) " for " (v.pass.lifetime_minutes) " minutes"
                    @if v.pass.is_usable_once { ", one-time" } ": " (usability(v.usability)) "."
                },
            }
            @if p.can_create_pass {
                form method="post" action=(format!("{base}/tap")) id="tap-form" {
                    fieldset {
                        legend { "Create Temporary Access Pass" }
                        label for="lifetime" { "Lifetime in minutes (blank: the policy's default)" }
                        input type="text" inputmode="numeric" id="lifetime" name="lifetime" aria-describedby="lifetime-error";
                        (field_error(p.errors, "lifetime"))
                        label for="one_time" { "One-time use" }
                        select id="one_time" name="one_time" aria-describedby="one_time-error" {
                            option value="" { "The policy's default" }
                            option value="yes" { "Yes" }
                            option value="no" { "No" }
                        }
                        (field_error(p.errors, "one_time"))
                        button type="submit" id="create-tap" { "Create Temporary Access Pass" }
                    }
                }
            }
        },
    )
}

/// Asks before deleting a passkey, and says what deleting does and does not do.
pub fn delete_passkey_page(viewer: &Viewer, user: &User, passkey: &PasskeyView) -> Markup {
    let k = &passkey.stored.passkey;
    let base = format!("{SECTION}/{}", user.id);
    frame(
        viewer,
        SECTION,
        "Delete passkey",
        html! {
            p.crumbs { a href=(SECTION) { "Users" } " › " a href=(base) { (user.display_name) } " › Delete passkey" }
            h1 { "Delete passkey “" (k.display_name) "”?" }
            p {
                (user.display_name) " will no longer sign in to Portcullis with this passkey ("
                (passkey.model.as_deref().unwrap_or("unknown model")) ", created " (rfc3339(k.created_at)) ")."
            }
            p.notice.info id="device-note" {
                "Deleting it here does not remove it from the user's device or password manager: ask "
                (user.display_name) " to remove it there too, or it will keep being offered and refused."
            }
            form method="post" action=(format!("{base}/passkeys/{}/delete", k.id)) {
                button type="submit" id="confirm-delete" class="danger" { "Delete " (k.display_name) }
                " "
                a href=(base) id="cancel" { "Cancel" }
            }
        },
    )
}
