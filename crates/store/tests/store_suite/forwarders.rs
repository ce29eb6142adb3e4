//! R60: untrusted proxies as the servers record them, on both backends — the first sighting
//! kept, the last one moving only forward (nodes' clocks differ), pruned when readiness no
//! longer counts them, forgotten once listed.

use portcullis_store::forwarders;
use portcullis_testkit::both;
use time::Duration;

use super::NOW;

#[tokio::test]
async fn r60_a_proxy_sighting_keeps_its_first_and_latest_time_and_is_pruned_and_forgotten() {
    for t in both().await {
        let mut c = t.store.conn().await.unwrap();
        let (a, b) = ("10.0.0.5".parse().unwrap(), "2001:db8::7".parse().unwrap());
        forwarders::record(&mut c, a, NOW).await.unwrap();
        forwarders::record(&mut c, a, NOW + Duration::hours(2))
            .await
            .unwrap();
        // A node whose clock is behind records an earlier sighting: the latest stays.
        forwarders::record(&mut c, a, NOW + Duration::hours(1))
            .await
            .unwrap();
        forwarders::record(&mut c, b, NOW - Duration::days(9))
            .await
            .unwrap();
        let mut seen = forwarders::list(&mut c).await.unwrap();
        seen.sort_by_key(|f| f.peer);
        assert_eq!(seen.len(), 2, "{}", t.name);
        assert_eq!(seen[0].peer, a);
        assert_eq!(seen[0].first_seen, NOW, "{}", t.name);
        assert_eq!(seen[0].last_seen, NOW + Duration::hours(2), "{}", t.name);
        // Not seen for more than a week: pruned.
        assert_eq!(
            forwarders::prune(&mut c, NOW - Duration::days(7))
                .await
                .unwrap(),
            1,
            "{}",
            t.name
        );
        forwarders::forget(&mut c, a).await.unwrap();
        assert!(
            forwarders::list(&mut c).await.unwrap().is_empty(),
            "{}",
            t.name
        );
    }
}
