//! Peers that sent `X-Forwarded-For` without being a trusted proxy (R60), for readiness.

use portcullis_domain::readiness::UntrustedForwarder;
use portcullis_domain::Timestamp;

use crate::bulk::Cells;
use crate::row::{ms, ts};
use crate::{Conn, Result, StoreError};

/// Records a sighting of `peer` at `now` (the first one, or a later one).
pub async fn record(c: &mut Conn, peer: std::net::IpAddr, now: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO untrusted_forwarders (peer, first_seen, last_seen) VALUES ($1, $2, $2) \
         ON CONFLICT (peer) DO UPDATE SET last_seen = excluded.last_seen",
    )
    .bind(peer.to_string())
    .bind(ms(now))
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Every recorded peer.
pub async fn list(c: &mut Conn) -> Result<Vec<UntrustedForwarder>> {
    let rows = sqlx::query("SELECT peer, first_seen, last_seen FROM untrusted_forwarders")
        .fetch_all(&mut *c)
        .await?;
    rows.iter()
        .map(|r| {
            let peer = r.text("peer")?;
            Ok(UntrustedForwarder {
                peer: peer.parse().map_err(|_| {
                    StoreError::Corrupt(format!("peer = '{peer}' is not an address"))
                })?,
                first_seen: ts(r, "first_seen")?,
                last_seen: ts(r, "last_seen")?,
            })
        })
        .collect()
}

/// Forgets `peer` (now listed in `trusted_proxies`).
pub async fn forget(c: &mut Conn, peer: std::net::IpAddr) -> Result<()> {
    sqlx::query("DELETE FROM untrusted_forwarders WHERE peer = $1")
        .bind(peer.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}
