//! Method configurations, kept as their Graph JSON documents.

use portcullis_domain::policy::{MethodConfiguration, MethodId};
use portcullis_domain::Timestamp;
use sqlx::Row;

use crate::row::ms;
use crate::{Conn, Result, StoreError};

/// The stored configuration of a method, or `None` when it was never saved.
pub async fn get(c: &mut Conn, id: MethodId) -> Result<Option<MethodConfiguration>> {
    let Some(r) = sqlx::query("SELECT body FROM method_configurations WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(&mut *c)
        .await?
    else {
        return Ok(None);
    };
    let body: String = r.try_get("body")?;
    parse(id, &body).map(Some)
}

/// A stored configuration document, read into its type.
pub(crate) fn parse(id: MethodId, body: &str) -> Result<MethodConfiguration> {
    let v = serde_json::from_str(body)
        .map_err(|e| StoreError::Corrupt(format!("{} configuration: {e}", id.as_str())))?;
    MethodConfiguration::from_json(id, v)
        .map_err(|e| StoreError::Corrupt(format!("{} configuration: {e}", id.as_str())))
}

/// Locks a method's configuration row for the rest of the transaction (a no-op write), so
/// that what the transaction reads next is what it replaces.
pub async fn lock(c: &mut Conn, id: MethodId) -> Result<()> {
    sqlx::query("UPDATE method_configurations SET updated_at = updated_at WHERE id = $1")
        .bind(id.as_str())
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Saves a configuration (insert or replace).
pub async fn put(c: &mut Conn, cfg: &MethodConfiguration, now: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO method_configurations (id, body, updated_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at")
        .bind(cfg.id().as_str())
        .bind(cfg.to_json().to_string())
        .bind(ms(now))
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// The top-level settings document, if ever saved.
pub async fn settings(c: &mut Conn) -> Result<Option<serde_json::Value>> {
    let Some(r) =
        sqlx::query("SELECT body FROM policy_settings WHERE id = 'authenticationMethodsPolicy'")
            .fetch_optional(&mut *c)
            .await?
    else {
        return Ok(None);
    };
    let body: String = r.try_get("body")?;
    serde_json::from_str(&body)
        .map(Some)
        .map_err(|e| StoreError::Corrupt(format!("policy settings: {e}")))
}

/// Saves the top-level settings document.
pub async fn put_settings(c: &mut Conn, body: &serde_json::Value, now: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO policy_settings (id, body, updated_at) VALUES ('authenticationMethodsPolicy', $1, $2) ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at")
        .bind(body.to_string())
        .bind(ms(now))
        .execute(&mut *c)
        .await?;
    Ok(())
}
