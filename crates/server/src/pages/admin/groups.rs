//! Groups: the list (security or not — only security groups can be policy targets, R2),
//! New group, and a group's members with Add member.

use maud::{html, Markup};
use portcullis_domain::directory::{Group, User};

use super::{enc, field_error, frame, FieldErrors, Viewer};

const SECTION: &str = "/admin/groups";

fn kind(g: &Group) -> &'static str {
    if g.security_enabled {
        "Security"
    } else {
        "Microsoft 365 (not a security group: cannot be a policy target)"
    }
}

/// The groups list, paged.
pub fn groups_page(
    viewer: &Viewer,
    groups: &[Group],
    next: Option<usize>,
    can_create: bool,
    new_group: (&str, bool),
    errors: &FieldErrors,
) -> Markup {
    frame(
        viewer,
        SECTION,
        "Groups",
        html! {
            p.crumbs { "Identity › Groups › All groups" }
            h1 { "Groups" }
            table id="groups" {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Group type" } } }
                tbody {
                    @for g in groups {
                        tr.group data-name=(g.display_name) {
                            td { a href=(format!("{SECTION}/{}", g.id)) { (g.display_name) } }
                            td { (kind(g)) }
                        }
                    }
                    @if groups.is_empty() { tr { td colspan="2" { "No groups yet." } } }
                }
            }
            @if let Some(n) = next { p { a id="next-page" href=(format!("{SECTION}?page={n}")) { "Next page" } } }
            section id="new-group" {
                h2 { "New group" }
                @if can_create {
                    form method="post" action=(SECTION) {
                        label for="name" { "Group name" }
                        input type="text" id="name" name="name" value=(new_group.0) aria-describedby="name-error";
                        (field_error(errors, "name"))
                        label for="group_type" { "Group type" }
                        select id="group_type" name="group_type" aria-describedby="group_type-error" {
                            option value="security" selected[new_group.1] { "Security" }
                            option value="m365" selected[!new_group.1] { "Microsoft 365" }
                        }
                        (field_error(errors, "group_type"))
                        button type="submit" id="create-group" { "Create" }
                    }
                } @else {
                    p.muted { "Your role cannot create groups." }
                }
            }
        },
    )
}

/// A group and one page of its members.
pub struct GroupView<'a> {
    /// The group.
    pub group: &'a Group,
    /// This page's members, by user principal name.
    pub members: &'a [User],
    /// Where this page starts (after this user principal name), unless it is the first.
    pub after: Option<&'a str>,
    /// Where the next page starts, when there are more.
    pub next: Option<&'a str>,
}

/// A group and its members, paged.
pub fn group_page(
    viewer: &Viewer,
    v: &GroupView<'_>,
    can_add: bool,
    errors: &FieldErrors,
    notice: Option<&str>,
) -> Markup {
    let (group, members) = (v.group, v.members);
    frame(
        viewer,
        SECTION,
        &format!("{} — group", group.display_name),
        html! {
            p.crumbs { a href=(SECTION) { "Groups" } " › " (group.display_name) }
            h1 { (group.display_name) }
            @if let Some(n) = notice { p.notice.ok id="notice" role="status" { (n) } }
            p id="group-type" { "Group type: " (kind(group)) }
            table id="members" {
                caption { "Members" }
                thead { tr { th scope="col" { "Display name" } th scope="col" { "User principal name" } } }
                tbody {
                    @for u in members {
                        tr.member data-upn=(u.user_principal_name) {
                            td { a href=(format!("/admin/users/{}", u.id)) { (u.display_name) } }
                            td { (u.user_principal_name) }
                        }
                    }
                    @if members.is_empty() { tr { td colspan="2" { "No members." } } }
                }
            }
            @if v.after.is_some() || v.next.is_some() {
                nav.pager aria-label="Pages of members" {
                    @if v.after.is_some() { a id="first-page" href=(format!("{SECTION}/{}", group.id)) { "First page" } " " }
                    @if let Some(n) = v.next { a id="next-page" href=(format!("{SECTION}/{}?after={}", group.id, enc(n))) { "Next page" } }
                }
            }
            @if can_add {
                form method="post" action=(format!("{SECTION}/{}/members", group.id)) {
                    label for="member" { "Add member (user principal name)" }
                    div.inline {
                        input type="text" id="member" name="member" aria-describedby="member-error";
                        button type="submit" id="add-member" { "Add member" }
                    }
                    (field_error(errors, "member"))
                }
            }
        },
    )
}
