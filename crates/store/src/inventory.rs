//! The passkey inventory's reads (R52): live passkeys with their owner's name, a chunk at a
//! time in (user, passkey) order — each chunk a separate query, so that no connection is held
//! between chunks and memory stays flat however many passkeys there are — with the filters
//! a database can apply pushed into the query, and the memberships of the chunk's users in
//! the groups the policy reads.

use std::collections::BTreeSet;

use portcullis_domain::inventory::{Attestation, Record};
use portcullis_domain::Timestamp;
use uuid::Uuid;

use crate::bulk::{Cells, Param, Reader};
use crate::passkeys::passkey_from_row;
use crate::row::{ms, uuid};
use crate::Result;

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

const COLUMNS: &str = "p.id, p.user_id, p.credential_id, p.aaguid, p.display_name, p.fmt, p.attested, p.synced, p.created_at, p.last_used_at, p.sign_count, p.device, p.device_profile, p.flagged_clone, p.disabled_at, p.attestation_type, p.backed_up, p.attachment, p.transports, u.upn";

fn record(r: &dyn Cells) -> Result<Record> {
    let kind = r.opt_text("attestation_type")?;
    let backed_up = r.opt_int("backed_up")?;
    Ok(Record {
        passkey: passkey_from_row(r)?,
        user_principal_name: r.text("upn")?,
        attestation: kind
            .as_deref()
            .and_then(Attestation::parse)
            .unwrap_or(Attestation::Uncertain),
        backed_up: backed_up.map(|b| b != 0),
        client: crate::signins::client_report(
            r.opt_text("attachment")?.as_deref(),
            r.opt_text("transports")?.as_deref(),
        )
        .unwrap_or_default(),
    })
}

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

/// $1–$6, then `seventh` ($7), then the model list.
fn params(p: &Pushdown, after: Option<Cursor>, seventh: i64) -> Vec<Param> {
    let tri = |b: Option<bool>| Param::Int(b.map_or(-1, i64::from));
    let (user, id) = after.map_or((String::new(), String::new()), |(u, i)| {
        (u.to_string(), i.to_string())
    });
    let mut out = vec![
        Param::Text(user),
        Param::Text(id),
        tri(p.attested),
        tri(p.synced),
        Param::Int(p.unused_since.map_or(-1, ms)),
        Param::Text(p.group.map(|g| g.to_string()).unwrap_or_default()),
        Param::Int(seventh),
    ];
    out.extend(
        p.aaguids
            .iter()
            .flatten()
            .map(|m| Param::Text(m.to_string())),
    );
    out
}

/// Up to `limit` live passkeys after `after`, in (user, passkey) order, that `p` selects.
pub async fn chunk(
    r: &Reader,
    p: &Pushdown,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Vec<Record>> {
    if p.aaguids.as_ref().is_some_and(BTreeSet::is_empty) {
        return Ok(vec![]);
    }
    // SQLite's planner takes the primary key's index for the owner (one row by equality) and
    // then seeks the users table for the name, at random; the (id, upn) index answers from
    // itself, in the passkeys' owner order (migration 0024).
    let users = if r.is_sqlite() {
        "users u INDEXED BY users_id_upn"
    } else {
        "users u"
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM passkeys p JOIN {users} ON u.id = p.user_id{} ORDER BY p.user_id, p.id LIMIT $7",
        conditions(p)
    );
    r.rows(sql, params(p, after, limit), record).await
}

/// How many live passkeys `p` selects (a progress bar's length).
pub async fn count(r: &Reader, p: &Pushdown) -> Result<i64> {
    if p.aaguids.as_ref().is_some_and(BTreeSet::is_empty) {
        return Ok(0);
    }
    let sql = format!(
        "SELECT COUNT(*) AS n FROM passkeys p JOIN users u ON u.id = p.user_id{} AND $7 = $7",
        conditions(p)
    );
    let n = r.rows(sql, params(p, None, 0), |r| r.int("n")).await?;
    Ok(n.first().copied().unwrap_or(0))
}

/// The memberships of users `first..=last` in `groups` (user, group).
pub async fn memberships(
    r: &Reader,
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
    let mut params = vec![
        Param::Text(first.to_string()),
        Param::Text(last.to_string()),
    ];
    params.extend(groups.iter().map(|g| Param::Text(g.to_string())));
    r.rows(sql, params, |r| {
        Ok((uuid(r, "user_id")?, uuid(r, "group_id")?))
    })
    .await
}
