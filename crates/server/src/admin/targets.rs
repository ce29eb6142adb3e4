//! Who a method applies to, as the method forms show and read it (R2): *All users* or
//! security groups named one per line, and excluded groups. Shared by the Passkey (FIDO2)
//! and Temporary Access Pass settings.

use std::collections::BTreeMap;

use portcullis_domain::policy::targets::TargetError;
use portcullis_domain::policy::{ExcludeTarget, IncludeTarget, TargetId};
use portcullis_service::ServiceError;
use uuid::Uuid;

use crate::error::PageError;
use crate::AppState;

/// Errors by field.
pub(super) type Errors = BTreeMap<&'static str, String>;

/// The form fields the targets are read from.
pub(super) const INCLUDE: &str = "include_groups";
/// Excluded groups' field.
pub(super) const EXCLUDE: &str = "exclude_groups";

/// Each group found, with the field that named it (to put a refusal next to it).
pub(super) type Sources = Vec<(Uuid, &'static str)>;

/// The groups named in a text field, one per line, found by object id or display name; a
/// name that finds none is an error on `field`.
pub(super) async fn groups(
    st: &AppState,
    text: &str,
    field: &'static str,
    errors: &mut Errors,
) -> Result<Vec<Uuid>, PageError> {
    let mut out = vec![];
    let mut missing = vec![];
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match st.service.find_group(line).await {
            Ok(g) if !out.contains(&g.id) => out.push(g.id),
            Ok(_) => {}
            Err(ServiceError::NotFound(_)) => missing.push(format!("'{line}'")),
            Err(e) => return Err(e.into()),
        }
    }
    if !missing.is_empty() {
        errors.insert(
            field,
            format!(
                "No group named {} exists in the directory.",
                missing.join(", ")
            ),
        );
    }
    Ok(out)
}

/// The include and exclude targets a form names, each kept target keeping its own settings
/// from `current` (registration campaign, passkey profiles).
pub(super) async fn read(
    st: &AppState,
    current: &[IncludeTarget],
    all_users: bool,
    include_text: &str,
    exclude_text: &str,
    errors: &mut Errors,
) -> Result<(Vec<IncludeTarget>, Vec<ExcludeTarget>, Sources), PageError> {
    let kept = |id: TargetId| {
        current
            .iter()
            .find(|t| t.id == id)
            .cloned()
            .unwrap_or_else(|| IncludeTarget::of(id))
    };
    let mut sources = vec![];
    let mut include = vec![];
    if all_users {
        include.push(kept(TargetId::AllUsers));
    } else {
        for id in groups(st, include_text, INCLUDE, errors).await? {
            sources.push((id, INCLUDE));
            include.push(kept(TargetId::Group(id)));
        }
        if include.is_empty() && !errors.contains_key(INCLUDE) {
            errors.insert(
                INCLUDE,
                "Name at least one security group, or choose All users.".into(),
            );
        }
    }
    let mut exclude = vec![];
    for id in groups(st, exclude_text, EXCLUDE, errors).await? {
        sources.push((id, EXCLUDE));
        exclude.push(ExcludeTarget::group(id));
    }
    Ok((include, exclude, sources))
}

/// The field a refused target belongs next to.
pub(super) fn field_of(e: &TargetError, sources: &[(Uuid, &'static str)]) -> &'static str {
    let of = |id: &TargetId| match id {
        TargetId::Group(g) => sources
            .iter()
            .find(|(s, _)| s == g)
            .map_or("form", |(_, f)| f),
        TargetId::AllUsers => INCLUDE,
    };
    match e {
        TargetError::NotSecurityGroup { id, .. } | TargetError::UnknownGroup(id) => {
            of(&TargetId::Group(*id))
        }
        TargetError::Duplicate(id) | TargetError::UserTarget(id) => of(id),
        TargetError::ExcludeAllUsers => EXCLUDE,
    }
}

/// The groups of some targets, one name per line (the object id where a name is shared).
pub(super) async fn lines(st: &AppState, ids: Vec<TargetId>) -> Result<String, PageError> {
    let mut out = vec![];
    for id in ids {
        let TargetId::Group(id) = id else { continue };
        let g = st.service.find_group(&id.to_string()).await?;
        let unique = st
            .service
            .find_group(&g.display_name)
            .await
            .is_ok_and(|h| h.id == g.id);
        out.push(if unique {
            g.display_name
        } else {
            id.to_string()
        });
    }
    Ok(out.join("\n"))
}
