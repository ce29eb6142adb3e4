//! Method configurations, kept as their Graph JSON documents.

use portcullis_domain::policy::{MethodConfiguration, MethodId};
use portcullis_domain::Timestamp;
use sqlx::Row;
use std::sync::Arc;

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
///
/// Every sign-in and every access decision reads the method configurations; parsing their
/// JSON each time was 1.8% of a pinned server's CPU (issue 18). The last document parsed for
/// each method is kept with its parse, and a read of the very same text reuses it. The cache
/// holds text and what that text parses to, nothing else, so it is right for any store, any
/// node and any version: a saved change is different text and is parsed.
pub(crate) fn parse(id: MethodId, body: &str) -> Result<MethodConfiguration> {
    let slot = MethodId::ALL.iter().position(|m| *m == id);
    let cached = |cache: &Parsed| {
        let (text, cfg) = cache.get(slot?)?.as_ref()?;
        (&**text == body).then(|| Arc::clone(cfg))
    };
    // A poisoned lock (a panic while it was held) only costs the cache. The copy handed out
    // is made after the lock is released.
    let hit = PARSED.lock().ok().and_then(|c| cached(&c));
    if let Some(cfg) = hit {
        return Ok(MethodConfiguration::clone(&cfg));
    }
    let cfg = parse_text(id, body)?;
    let kept = (Arc::from(body), Arc::new(cfg.clone()));
    if let (Some(i), Ok(mut cache)) = (slot, PARSED.lock()) {
        if let Some(entry) = cache.get_mut(i) {
            *entry = Some(kept);
        }
    }
    Ok(cfg)
}

/// The last document parsed for each of [`MethodId::ALL`], with its parse.
type Parsed = [Option<(Arc<str>, Arc<MethodConfiguration>)>; MethodId::ALL.len()];

static PARSED: std::sync::Mutex<Parsed> = {
    const NONE: Option<(Arc<str>, Arc<MethodConfiguration>)> = None;
    std::sync::Mutex::new([NONE; MethodId::ALL.len()])
};

fn parse_text(id: MethodId, body: &str) -> Result<MethodConfiguration> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fido2(state: &str) -> String {
        format!(
            r##"{{"@odata.type":"#microsoft.graph.fido2AuthenticationMethodConfiguration","id":"Fido2","state":"{state}"}}"##
        )
    }

    #[test]
    fn a_cached_parse_is_of_the_same_text_only() {
        // Whatever was parsed before, each text reads as itself: a saved change is never
        // answered with the configuration it replaced.
        for _ in 0..2 {
            for state in ["enabled", "disabled"] {
                let cfg = parse(MethodId::Fido2, &fido2(state)).unwrap();
                assert_eq!(cfg.to_json()["state"], state);
            }
        }
        // A corrupt document is refused even right after its method's last good one.
        assert!(parse(MethodId::Fido2, &fido2("enabled")).is_ok());
        assert!(parse(MethodId::Fido2, "{").is_err());
        assert!(parse(MethodId::Fido2, &fido2("sideways")).is_err());
    }
}
