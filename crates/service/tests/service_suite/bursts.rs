//! Bulk reads under a burst: readiness, adoption and the inventory read through the store's
//! bulk reader (on PostgreSQL its own pool of connections), beside the store's pool. More
//! requests than either pool holds start at once, and all must be answered promptly: a
//! request that held a connection while it waited for another starved the pool until its
//! 30 s timeout.

use portcullis_domain::inventory::Filter;
use portcullis_domain::lockout::LockoutPolicy;
use portcullis_testkit::both;

use super::{op, service};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_of_bulk_reads_do_not_starve_the_pool() {
    for t in both().await {
        let (svc, _) = service(&t, LockoutPolicy::default()).await;
        let tasks: Vec<_> = (0..36)
            .map(|i| {
                let svc = svc.clone();
                tokio::spawn(async move {
                    match i % 3 {
                        0 => svc.readiness(&[], None).await.map(|_| ()),
                        1 => svc.adoption(None, None).await.map(|_| ()),
                        _ => {
                            let mut scan = svc.inventory(&op(), Filter::default(), None).await?;
                            while scan.next_rows().await?.is_some() {}
                            Ok(())
                        }
                    }
                })
            })
            .collect();
        let answered = portcullis_testkit::all_within(20, t.name, tasks).await;
        for r in answered {
            assert!(r.is_ok(), "{}: {:?}", t.name, r.err());
        }
    }
}
