//! The passkey inventory (R52) in the admin center: the filters parsed once, totals per
//! model over everything they select, a page of passkeys, and the exports streamed as the
//! admin API streams them.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::authz::Capability;
use portcullis_domain::inventory::{Filter, RawFilter, Row};
use uuid::Uuid;

use super::form::Fields;
use super::{AdminPost, AdminSession};
use crate::error::PageError;
use crate::pages::admin::{self as page, FieldErrors, InventoryView, ModelTotal};
use crate::AppState;
use portcullis_service::passkeys::PasskeyError;

/// Passkeys per page.
const PAGE: usize = 100;

/// `user:passkey`, where a page starts.
fn cursor(s: &str) -> Result<Option<(Uuid, Uuid)>, PageError> {
    if s.is_empty() {
        return Ok(None);
    }
    s.split_once(':')
        .and_then(|(u, p)| Some((Uuid::parse_str(u).ok()?, Uuid::parse_str(p).ok()?)))
        .map(Some)
        .ok_or_else(|| PageError::BadRequest(format!("'{s}' is not where a page starts.")))
}

/// The inventory page, or an export (`?format=csv|jsonl`). The page is one pass over what
/// the filters select: the totals per model count every row, and the rows after `?after=`
/// fill the page.
pub(crate) async fn page(
    admin: AdminSession,
    State(st): State<AppState>,
    query: Result<Query<BTreeMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    admin.require(Capability::ReadFido2, "The passkey inventory")?;
    let Query(q) = query.map_err(|e| PageError::BadRequest(e.body_text()))?;
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let raw = RawFilter::from_fn(get);
    let after_text = get("after");
    let after = cursor(&after_text)?;
    let groups = st.service.list_groups().await?;
    let actor = admin.actor();
    let filter = match Filter::parse(&raw) {
        Ok(f) => f,
        Err(e) => {
            let errors = FieldErrors::from([(e.field, e.message)]);
            let markup = page::inventory_page(
                &admin.nav(),
                &InventoryView {
                    raw: &raw,
                    groups: &groups,
                    totals: None,
                    rows: &[],
                    after: None,
                    next: None,
                    errors: &errors,
                    can_change: false,
                    notice: None,
                },
            );
            return Ok((StatusCode::BAD_REQUEST, markup).into_response());
        }
    };
    let mut scan = st.service.inventory(&actor, filter, None).await?;
    match get("format").as_str() {
        "" => {}
        "csv" => return Ok(crate::admin_api::inventory_response(scan, true)),
        "jsonl" => return Ok(crate::admin_api::inventory_response(scan, false)),
        other => {
            return Err(PageError::BadRequest(format!(
                "'{other}' is not an export format: use csv or jsonl."
            )))
        }
    }
    let mut totals: BTreeMap<Uuid, ModelTotal> = BTreeMap::new();
    // This page: the rows after the cursor, one more than shown to know there is a next.
    let mut rows: Vec<Row> = vec![];
    while let Some((chunk, _)) = scan.next_rows().await? {
        for r in chunk {
            let p = &r.record.passkey;
            let t = totals.entry(p.aaguid).or_insert_with(|| ModelTotal {
                model: r.model.clone(),
                aaguid: p.aaguid,
                ..ModelTotal::default()
            });
            t.passkeys = t.passkeys.saturating_add(1);
            t.usable = t.usable.saturating_add(u64::from(r.usable.is_ok()));
            if rows.len() <= PAGE && after.is_none_or(|c| (p.user_id, p.id) > c) {
                rows.push(r);
            }
        }
    }
    let mut totals: Vec<ModelTotal> = totals.into_values().collect();
    totals.sort_by(|a, b| b.passkeys.cmp(&a.passkeys).then(a.aaguid.cmp(&b.aaguid)));
    let next = (rows.len() > PAGE).then(|| {
        rows.truncate(PAGE);
        rows.last()
            .map(|r| format!("{}:{}", r.record.passkey.user_id, r.record.passkey.id))
            .unwrap_or_default()
    });
    let markup = page::inventory_page(
        &admin.nav(),
        &InventoryView {
            raw: &raw,
            groups: &groups,
            totals: Some(&totals),
            rows: &rows,
            after: Some(after_text.as_str()).filter(|a| !a.is_empty()),
            next,
            errors: &FieldErrors::new(),
            can_change: admin.may(Capability::WriteFido2),
            notice: match get("notice").as_str() {
                "disabled" => Some("The passkeys were disabled. Each is kept and refused at sign-in until enabled again."),
                "enabled" => Some("The passkeys were enabled."),
                _ => None,
            },
        },
    );
    Ok(markup.into_response())
}

fn target(to: &str) -> Result<bool, PageError> {
    match to {
        "disabled" => Ok(true),
        "enabled" => Ok(false),
        other => Err(PageError::BadRequest(format!(
            "'{other}' is not a passkey state: use enabled or disabled."
        ))),
    }
}

fn parsed(raw: &RawFilter) -> Result<Filter, PageError> {
    Filter::parse(raw).map_err(|e| PageError::BadRequest(format!("{e}.")))
}

/// Bulk disable or enable (R26): the count, and the confirmation.
pub(crate) async fn confirm_change(
    admin: AdminSession,
    State(st): State<AppState>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    admin.require(Capability::WriteFido2, "Disabling and enabling passkeys")?;
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let raw = RawFilter::from_fn(get);
    let disable = target(&q.get("to").cloned().unwrap_or_default())?;
    let count = st
        .service
        .passkeys_to_change(&admin.actor(), &parsed(&raw)?, disable)
        .await?;
    Ok(page::change_page(&admin.nav(), &raw, disable, count, None).into_response())
}

/// Bulk disable or enable (R26), confirmed: only if the filters still select the count shown.
pub(crate) async fn change(
    AdminPost(admin): AdminPost,
    State(st): State<AppState>,
    f: Fields,
) -> Result<Response, PageError> {
    admin.require(Capability::WriteFido2, "Disabling and enabling passkeys")?;
    let raw = RawFilter::from_fn(|k| f.get(k).to_string());
    let disable = target(f.get("to"))?;
    let expected: u64 = f.get("expected").parse().map_err(|_| {
        PageError::BadRequest(
            "The confirmation carries no count of passkeys: open the inventory again.".into(),
        )
    })?;
    let filter = parsed(&raw)?;
    let actor = admin.actor();
    match st
        .service
        .set_passkeys_disabled(&actor, &filter, disable, expected)
        .await
    {
        Ok(_) => {
            let notice = if disable { "disabled" } else { "enabled" };
            let to = page::inventory_link(&raw, &[("notice", notice)]);
            Ok(Redirect::to(&to).into_response())
        }
        Err(PasskeyError::Rejected {
            code: "selectionChanged",
            message,
        }) => {
            let now = st
                .service
                .passkeys_to_change(&actor, &filter, disable)
                .await?;
            Ok((
                StatusCode::CONFLICT,
                page::change_page(&admin.nav(), &raw, disable, now, Some(&message)),
            )
                .into_response())
        }
        Err(e) => Err(super::users::passkey_error(e)),
    }
}
