//! R55: the campaign's records on both backends — progress kept per user, a snooze stored
//! only from the progress it was decided on (two tabs: one lands), sessions held and
//! released, and totals that forget deleted users.

use portcullis_domain::policy::campaign::Progress;
use portcullis_domain::session::{AuthMethod, Session};
use portcullis_store::{campaign, directory, sessions};
use portcullis_testkit::both;
use time::Duration;
use uuid::Uuid;

use super::{user, NOW};

#[tokio::test]
async fn r55_progress_snoozes_compare_and_set_and_sessions_are_held_and_released() {
    for t in both().await {
        let mut c = t.store.conn().await.unwrap();
        let (ann, ben) = (user("ann@contoso.com"), user("ben@contoso.com"));
        for u in [&ann, &ben] {
            directory::insert_user(&mut c, u).await.unwrap();
        }
        assert_eq!(
            campaign::progress(&mut c, ann.id).await.unwrap(),
            Progress::default()
        );
        campaign::asked(&mut c, ann.id, NOW).await.unwrap();
        campaign::asked(&mut c, ann.id, NOW + Duration::hours(1))
            .await
            .unwrap();
        let first = Progress {
            snoozes: 1,
            snoozed_until: Some(NOW + Duration::days(2)),
        };
        assert!(
            campaign::snoozed(&mut c, ann.id, Progress::default(), first, NOW)
                .await
                .unwrap()
        );
        // A second snooze decided on the same, now stale, progress does not land.
        let stale = Progress {
            snoozes: 1,
            snoozed_until: Some(NOW + Duration::days(9)),
        };
        assert!(
            !campaign::snoozed(&mut c, ann.id, Progress::default(), stale, NOW)
                .await
                .unwrap(),
            "{}",
            t.name
        );
        assert_eq!(
            campaign::progress(&mut c, ann.id).await.unwrap(),
            first,
            "{}",
            t.name
        );
        assert!(
            campaign::snoozed(&mut c, ben.id, Progress::default(), first, NOW)
                .await
                .unwrap()
        );
        assert_eq!(
            campaign::totals(&mut c).await.unwrap(),
            (2, 2, 2),
            "{}",
            t.name
        );

        // Held sessions: one set pending, all of the user's released at once.
        let mut held = vec![];
        for n in 0..2u128 {
            let s = Session {
                id: Uuid::from_u128(500 + n),
                user_id: ann.id,
                auth_time: NOW,
                methods: vec![AuthMethod::TemporaryAccessPass],
                expires_at: NOW + Duration::hours(1),
                passkey_aaguid: None,
                passkey_attested: false,
                credential_id: None,
                campaign_pending: true,
            };
            sessions::insert(&mut c, &format!("held{n}"), &s, NOW)
                .await
                .unwrap();
            held.push(s);
        }
        assert!(
            sessions::by_token_hash(&mut c, "held0")
                .await
                .unwrap()
                .unwrap()
                .campaign_pending
        );
        campaign::set_pending(&mut c, held[0].id, false)
            .await
            .unwrap();
        assert!(
            !sessions::by_token_hash(&mut c, "held0")
                .await
                .unwrap()
                .unwrap()
                .campaign_pending
        );
        assert!(
            sessions::by_token_hash(&mut c, "held1")
                .await
                .unwrap()
                .unwrap()
                .campaign_pending
        );
        campaign::release_user(&mut c, ann.id).await.unwrap();
        assert!(
            !sessions::by_token_hash(&mut c, "held1")
                .await
                .unwrap()
                .unwrap()
                .campaign_pending,
            "{}",
            t.name
        );

        // A deleted user leaves the totals.
        assert!(directory::delete_user(&mut c, ben.id).await.unwrap());
        assert_eq!(
            campaign::totals(&mut c).await.unwrap(),
            (1, 1, 1),
            "{}",
            t.name
        );
    }
}
