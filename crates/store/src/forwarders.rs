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
         ON CONFLICT (peer) DO UPDATE SET last_seen = CASE \
         WHEN excluded.last_seen > untrusted_forwarders.last_seen THEN excluded.last_seen \
         ELSE untrusted_forwarders.last_seen END",
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

/// Forgets the peers last seen before `before`; how many.
pub async fn prune(c: &mut Conn, before: Timestamp) -> Result<u64> {
    let r = sqlx::query("DELETE FROM untrusted_forwarders WHERE last_seen < $1")
        .bind(ms(before))
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected())
}

/// Forgets `peer` (now listed in `trusted_proxies`).
pub async fn forget(c: &mut Conn, peer: std::net::IpAddr) -> Result<()> {
    sqlx::query("DELETE FROM untrusted_forwarders WHERE peer = $1")
        .bind(peer.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}
