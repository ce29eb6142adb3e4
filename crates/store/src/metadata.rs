//! The metadata store (R7).

use portcullis_domain::metadata::MetadataEntry;
use portcullis_domain::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

use crate::row::{ms, uuid};
use crate::{Conn, Result, StoreError};

fn from_row(r: &AnyRow) -> Result<MetadataEntry> {
    let roots: String = r.try_get("roots_json")?;
    Ok(MetadataEntry {
        aaguid: uuid(r, "aaguid")?,
        name: r.try_get("name")?,
        roots: serde_json::from_str(&roots)
            .map_err(|e| StoreError::Corrupt(format!("metadata roots: {e}")))?,
        source: r.try_get("source")?,
    })
}

/// What an import does to the roots a model already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roots {
    /// A name list: it says nothing about roots, so those imported earlier stay.
    KeepWhenEmpty,
    /// A BLOB or a statement: its roots are the model's roots, none included — a model the
    /// metadata service revokes loses its roots.
    Replace,
}

/// Inserts or replaces an entry.
pub async fn upsert(c: &mut Conn, e: &MetadataEntry, roots: Roots, now: Timestamp) -> Result<()> {
    let roots = if e.roots.is_empty() && roots == Roots::KeepWhenEmpty {
        get(c, e.aaguid)
            .await?
            .map(|old| old.roots)
            .unwrap_or_default()
    } else {
        e.roots.clone()
    };
    sqlx::query(
        "INSERT INTO metadata (aaguid, name, roots_json, source, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (aaguid) DO UPDATE SET name = excluded.name, roots_json = excluded.roots_json, source = excluded.source, updated_at = excluded.updated_at",
    )
    .bind(e.aaguid.to_string())
    .bind(&e.name)
    .bind(serde_json::to_string(&roots).unwrap_or_else(|_| "[]".into()))
    .bind(&e.source)
    .bind(ms(now))
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Every model's name, by AAGUID.
pub async fn names(c: &mut Conn) -> Result<Vec<(Uuid, String)>> {
    let rows = sqlx::query("SELECT aaguid, name FROM metadata")
        .fetch_all(&mut *c)
        .await?;
    rows.iter()
        .map(|r| Ok((uuid(r, "aaguid")?, r.try_get("name")?)))
        .collect()
}

/// The entry for a model.
pub async fn get(c: &mut Conn, aaguid: Uuid) -> Result<Option<MetadataEntry>> {
    let r = sqlx::query("SELECT * FROM metadata WHERE aaguid = $1")
        .bind(aaguid.to_string())
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(from_row).transpose()
}

/// The models the store holds at least one attestation root for (readiness: which models a
/// registration could be attested as).
pub async fn rooted(c: &mut Conn) -> Result<Vec<Uuid>> {
    let rows = sqlx::query("SELECT aaguid, roots_json FROM metadata WHERE roots_json <> '[]'")
        .fetch_all(&mut *c)
        .await?;
    let mut out = vec![];
    for r in &rows {
        let roots: String = r.try_get("roots_json")?;
        let roots: Vec<String> = serde_json::from_str(&roots)
            .map_err(|e| StoreError::Corrupt(format!("metadata roots: {e}")))?;
        if !roots.is_empty() {
            out.push(uuid(r, "aaguid")?);
        }
    }
    Ok(out)
}

/// Records `no` as the serial of the last imported MDS3 BLOB if it is greater than the one
/// recorded (a compare-and-set: of concurrent imports, each waits for the other's commit);
/// returns the serial recorded before when it is not greater, else `None`.
pub async fn advance_blob_serial(c: &mut Conn, no: u64) -> Result<Option<i64>> {
    let no = i64::try_from(no).map_err(|_| StoreError::Corrupt(format!("BLOB serial {no}")))?;
    let done = sqlx::query("UPDATE mds_state SET last_no = $1 WHERE id = 1 AND last_no < $1")
        .bind(no)
        .execute(&mut *c)
        .await?;
    if done.rows_affected() == 1 {
        return Ok(None);
    }
    let r = sqlx::query("SELECT last_no FROM mds_state WHERE id = 1")
        .fetch_one(&mut *c)
        .await?;
    Ok(Some(r.try_get("last_no")?))
}
