//! Conditional Access documents: policies, named locations and custom strengths, each stored
//! as JSON under its id.

use portcullis_domain::conditional_access::location::NamedLocation;
use portcullis_domain::conditional_access::Policy;
use portcullis_domain::strength::Strength;
use portcullis_domain::Timestamp;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::Row;

use crate::row::ms;
use crate::{Conn, Result, StoreError};

/// The three document tables (fixed names: never from input).
#[derive(Debug, Clone, Copy)]
enum Table {
    Policies,
    Locations,
    Strengths,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Policies => "ca_policies",
            Table::Locations => "named_locations",
            Table::Strengths => "auth_strengths",
        }
    }
}

async fn put<T: Serialize>(
    c: &mut Conn,
    t: Table,
    id: &str,
    doc: &T,
    now: Timestamp,
) -> Result<()> {
    let body = serde_json::to_string(doc).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let sql = format!("INSERT INTO {} (id, body, updated_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at", t.name());
    sqlx::query(&sql)
        .bind(id)
        .bind(body)
        .bind(ms(now))
        .execute(&mut *c)
        .await?;
    bump(c).await
}

/// Starts a change of the configuration inside a transaction, before anything is read: the
/// version moves (see [`version`]) and its row stays held until commit, so on PostgreSQL
/// concurrent changes queue and each reads the one before it, as SQLite's single writer
/// makes them. Checks that read before writing (the R45 lock-out guard, name clashes) rely
/// on this.
pub async fn begin_change(c: &mut Conn) -> Result<()> {
    bump(c).await
}

/// Marks the configuration changed (see [`version`]).
async fn bump(c: &mut Conn) -> Result<()> {
    sqlx::query("UPDATE ca_version SET version = version + 1 WHERE id = 1")
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// The configuration's version: it changes whenever a policy, named location or custom
/// strength is saved or deleted, on any node. Read it *before* loading the documents, so a
/// change racing the load can only make the copy look older than it is, never newer.
pub async fn version(c: &mut Conn) -> Result<i64> {
    Ok(sqlx::query("SELECT version FROM ca_version WHERE id = 1")
        .fetch_one(&mut *c)
        .await?
        .try_get("version")?)
}

async fn list<T: DeserializeOwned>(c: &mut Conn, t: Table) -> Result<Vec<T>> {
    let sql = format!("SELECT id, body FROM {} ORDER BY id", t.name());
    let rows = sqlx::query(&sql).fetch_all(&mut *c).await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            let body: String = r.try_get("body")?;
            serde_json::from_str(&body)
                .map_err(|e| StoreError::Corrupt(format!("{} {id}: {e}", t.name())))
        })
        .collect()
}

async fn delete(c: &mut Conn, t: Table, id: &str) -> Result<bool> {
    let sql = format!("DELETE FROM {} WHERE id = $1", t.name());
    let deleted = sqlx::query(&sql)
        .bind(id)
        .execute(&mut *c)
        .await?
        .rows_affected()
        == 1;
    if deleted {
        bump(c).await?;
    }
    Ok(deleted)
}

/// Saves a policy (insert or replace).
pub async fn put_policy(c: &mut Conn, p: &Policy, now: Timestamp) -> Result<()> {
    put(c, Table::Policies, &p.id, p, now).await
}

/// Every policy, by id.
pub async fn policies(c: &mut Conn) -> Result<Vec<Policy>> {
    list(c, Table::Policies).await
}

/// Deletes a policy.
pub async fn delete_policy(c: &mut Conn, id: &str) -> Result<bool> {
    delete(c, Table::Policies, id).await
}

/// Saves a named location.
pub async fn put_location(c: &mut Conn, l: &NamedLocation, now: Timestamp) -> Result<()> {
    put(c, Table::Locations, &l.id, l, now).await
}

/// Every named location.
pub async fn locations(c: &mut Conn) -> Result<Vec<NamedLocation>> {
    list(c, Table::Locations).await
}

/// Deletes a named location.
pub async fn delete_location(c: &mut Conn, id: &str) -> Result<bool> {
    delete(c, Table::Locations, id).await
}

/// Saves a custom strength.
pub async fn put_strength(c: &mut Conn, s: &Strength, now: Timestamp) -> Result<()> {
    put(c, Table::Strengths, &s.id, s, now).await
}

/// Every custom strength.
pub async fn strengths(c: &mut Conn) -> Result<Vec<Strength>> {
    list(c, Table::Strengths).await
}

/// Deletes a custom strength.
pub async fn delete_strength(c: &mut Conn, id: &str) -> Result<bool> {
    delete(c, Table::Strengths, id).await
}
