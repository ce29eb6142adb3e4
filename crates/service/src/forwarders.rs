//! Reverse proxies that `trusted_proxies` does not list (R60): recorded by the servers that
//! see them, forgotten once listed, reported by readiness.

use std::net::IpAddr;

use portcullis_domain::conditional_access::location::cidr_contains;
use portcullis_store::forwarders;

use crate::{Result, Service};

impl Service {
    /// Records that `peer` sent `X-Forwarded-For` while `trusted_proxies` did not list it.
    pub async fn record_untrusted_forwarder(&self, peer: IpAddr) -> Result<()> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        forwarders::record(&mut c, peer, now).await?;
        Ok(())
    }

    /// At a server's start: forgets the recorded peers that `trusted` (address, prefix
    /// length) now lists; the number forgotten.
    pub async fn forget_trusted_forwarders(&self, trusted: &[(IpAddr, u8)]) -> Result<usize> {
        let mut c = self.store().conn().await?;
        let mut forgotten = 0;
        for f in forwarders::list(&mut c).await? {
            if trusted.iter().any(|(a, l)| cidr_contains(*a, *l, f.peer)) {
                forwarders::forget(&mut c, f.peer).await?;
                forgotten += 1;
            }
        }
        Ok(forgotten)
    }
}
