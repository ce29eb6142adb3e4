//! The passkey inventory's reads (R52): live passkeys with their owner's name, a chunk at a
//! time in (user, passkey) order — each chunk a separate query, so that no connection is held
//! between chunks and memory stays flat however many passkeys there are — with the filters
//! a database can apply pushed into the query, and the memberships of the chunk's users in
//! the groups the policy reads.

use std::collections::BTreeSet;

use portcullis_domain::inventory::{Attestation, Record};
use portcullis_domain::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

use crate::passkeys::passkey_from_row;
use crate::row::{ms, uuid};
use crate::{Conn, Result};

/// What the database selects before the domain judges a row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pushdown {
    /// Only these models (`Some` of an empty set: none).
    pub aaguids: Option<BTreeSet<Uuid>>,
    /// AAGUID attested or not.
    pub attested: Option<bool>,
    /// Synced or device-bound.
    pub synced: Option<bool>,
    /// Not used since.
    pub unused_since: Option<Timestamp>,
    /// Owner in this group.
    pub group: Option<Uuid>,
}

/// Where a chunk starts: after this (user, passkey).
pub type Cursor = (Uuid, Uuid);

const COLUMNS: &str = "p.id, p.user_id, p.credential_id, p.aaguid, p.display_name, p.fmt, p.attested, p.synced, p.created_at, p.last_used_at, p.sign_count, p.device, p.device_profile, p.flagged_clone, p.disabled_at, p.attestation_type, p.backed_up, u.upn";

fn record(r: &AnyRow) -> Result<Record> {
    let kind: Option<String> = r.try_get("attestation_type")?;
    let backed_up: Option<i64> = r.try_get("backed_up")?;
    Ok(Record {
        passkey: passkey_from_row(r)?,
        user_principal_name: r.try_get("upn")?,
        attestation: kind
            .as_deref()
            .and_then(Attestation::parse)
            .unwrap_or(Attestation::Uncertain),
        backed_up: backed_up.map(|b| b != 0),
    })
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// The conditions `p` pushes into a query over `passkeys p JOIN users u`, after the cursor
/// ($1, $2); the model list, when given, is numbered from $8 ($7 is the query's own).
fn conditions(p: &Pushdown) -> String {
    let mut sql = String::from(
        " WHERE p.deleted_at IS NULL
           AND (p.user_id, p.id) > ($1, $2)
           AND ($3 < 0 OR p.attested = $3)
           AND ($4 < 0 OR p.synced = $4)
           AND ($5 < 0 OR p.last_used_at IS NULL OR p.last_used_at < $5)
           AND ($6 = '' OR p.user_id IN (SELECT user_id FROM group_members WHERE group_id = $6))",
    );
    let n = p.aaguids.as_ref().map_or(0, BTreeSet::len);
    if n > 0 {
        let marks: Vec<String> = (0..n).map(|i| format!("${}", i + 8)).collect();
        sql.push_str(&format!(" AND p.aaguid IN ({})", marks.join(", ")));
    }
    sql
}

/// Binds $1–$6, then `seventh` ($7), then the model list.
fn bind<'q>(q: Query<'q>, p: &Pushdown, after: Option<Cursor>, seventh: i64) -> Query<'q> {
    let tri = |b: Option<bool>| b.map_or(-1, i64::from);
    let (user, id) = after.map_or((String::new(), String::new()), |(u, i)| {
        (u.to_string(), i.to_string())
    });
    let mut q = q
        .bind(user)
        .bind(id)
        .bind(tri(p.attested))
        .bind(tri(p.synced))
        .bind(p.unused_since.map_or(-1, ms))
        .bind(p.group.map(|g| g.to_string()).unwrap_or_default())
        .bind(seventh);
    for m in p.aaguids.iter().flatten() {
        q = q.bind(m.to_string());
    }
    q
}

/// Up to `limit` live passkeys after `after`, in (user, passkey) order, that `p` selects.
pub async fn chunk(
    c: &mut Conn,
    p: &Pushdown,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Vec<Record>> {
    if p.aaguids.as_ref().is_some_and(BTreeSet::is_empty) {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM passkeys p JOIN users u ON u.id = p.user_id{} ORDER BY p.user_id, p.id LIMIT $7",
        conditions(p)
    );
    let rows = bind(sqlx::query(&sql), p, after, limit)
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(record).collect()
}

/// How many live passkeys `p` selects (a progress bar's length).
pub async fn count(c: &mut Conn, p: &Pushdown) -> Result<i64> {
    if p.aaguids.as_ref().is_some_and(BTreeSet::is_empty) {
        return Ok(0);
    }
    let sql = format!(
        "SELECT COUNT(*) FROM passkeys p JOIN users u ON u.id = p.user_id{} AND $7 = $7",
        conditions(p)
    );
    Ok(bind(sqlx::query(&sql), p, None, 0)
        .fetch_one(&mut *c)
        .await?
        .try_get(0)?)
}

/// The memberships of users `first..=last` in `groups` (user, group).
pub async fn memberships(
    c: &mut Conn,
    first: Uuid,
    last: Uuid,
    groups: &BTreeSet<Uuid>,
) -> Result<Vec<(Uuid, Uuid)>> {
    if groups.is_empty() {
        return Ok(vec![]);
    }
    let marks: Vec<String> = (0..groups.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "SELECT user_id, group_id FROM group_members WHERE user_id >= $1 AND user_id <= $2 AND group_id IN ({})",
        marks.join(", ")
    );
    let mut q = sqlx::query(&sql)
        .bind(first.to_string())
        .bind(last.to_string());
    for g in groups {
        q = q.bind(g.to_string());
    }
    let rows = q.fetch_all(&mut *c).await?;
    rows.iter()
        .map(|r| Ok((uuid(r, "user_id")?, uuid(r, "group_id")?)))
        .collect()
}
