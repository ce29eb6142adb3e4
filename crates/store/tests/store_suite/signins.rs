//! The sign-in log's filters, as the admin center asks them: by outcome, Conditional Access
//! result and a time window, and the passkey's model kept with the entry.

use portcullis_store::signins::{self, SignInEvent, SignInFilter};
use portcullis_testkit::both;
use time::Duration;
use uuid::Uuid;

use super::NOW;

fn event(minutes: i64, upn: &str, error_code: i64, ca: &str) -> SignInEvent {
    SignInEvent {
        id: String::new(),
        created_date_time: NOW + Duration::minutes(minutes),
        user_id: None,
        user_principal_name: upn.into(),
        method: "passkey".into(),
        ip_address: "192.0.2.1".into(),
        user_agent: "test".into(),
        error_code,
        failure_code: (error_code != 0).then(|| "refused".to_string()),
        failure_reason: (error_code != 0).then(|| "refused".to_string()),
        app_id: None,
        app_display_name: None,
        conditional_access_status: Some(ca.into()),
        applied_conditional_access_policies: None,
        passkey_aaguid: (error_code == 0).then(|| Uuid::from_u128(7)),
        passkey_attested: (error_code == 0).then_some(true),
        passkey_client: None,
    }
}

/// The entries matching `f`, as minutes after `NOW`, newest first.
async fn minutes(store: &portcullis_store::Store, f: &SignInFilter) -> Vec<i64> {
    let mut c = store.conn().await.unwrap();
    signins::list_page(&mut c, f, 10, 0)
        .await
        .unwrap()
        .iter()
        .map(|e| (e.created_date_time - NOW).whole_minutes())
        .collect()
}

#[tokio::test]
async fn sign_ins_filter_by_outcome_conditional_access_and_window_and_keep_the_passkey_model() {
    for t in both().await {
        let mut c = t.store.conn().await.unwrap();
        for e in [
            event(0, "a@x.test", 0, "success"),
            event(10, "a@x.test", 53003, "failure"),
            event(20, "b@x.test", 50126, "notApplied"),
            event(30, "b@x.test", 0, "notApplied"),
            // A failed attempt logs the name as typed.
            event(40, "Mixed@X.test", 50126, "notApplied"),
        ] {
            signins::append(&mut c, &e).await.unwrap();
        }
        let minutes = |f: SignInFilter| {
            let store = &t.store;
            async move { minutes(store, &f).await }
        };
        let name = &t.name;
        assert_eq!(
            minutes(SignInFilter {
                succeeded: Some(false),
                ..Default::default()
            })
            .await,
            vec![40, 20, 10],
            "{name}: failures"
        );
        assert_eq!(
            minutes(SignInFilter {
                succeeded: Some(true),
                ..Default::default()
            })
            .await,
            vec![30, 0],
            "{name}: successes"
        );
        assert_eq!(
            minutes(SignInFilter {
                ca_status: Some("notApplied".into()),
                ..Default::default()
            })
            .await,
            vec![40, 30, 20],
            "{name}: Conditional Access not applied"
        );
        assert_eq!(
            minutes(SignInFilter {
                since: Some(NOW + Duration::minutes(10)),
                until: Some(NOW + Duration::minutes(30)),
                ..Default::default()
            })
            .await,
            vec![20, 10],
            "{name}: from included, until excluded"
        );
        assert_eq!(
            minutes(SignInFilter {
                upn: Some("mixed@x.test".into()),
                ..Default::default()
            })
            .await,
            vec![40],
            "{name}: a user's attempts, whatever the case they typed"
        );
        let all = signins::recent(&mut c, 10).await.unwrap();
        assert_eq!(
            all.iter().map(|e| e.passkey_aaguid).collect::<Vec<_>>(),
            vec![
                None,
                Some(Uuid::from_u128(7)),
                None,
                None,
                Some(Uuid::from_u128(7))
            ],
            "{name}"
        );
    }
}

/// R24: what the client reported is kept on the passkey and on a sign-in, on both databases,
/// and read back as it was written; a passkey or sign-in without a report reads as none.
#[tokio::test]
async fn r24_the_client_report_reads_back_from_the_passkey_and_the_sign_in_log() {
    use portcullis_domain::passkey::{Attachment, ClientReport, Reach, Transports};
    use portcullis_store::{directory, passkeys};
    for t in both().await {
        let mut c = t.store.conn().await.unwrap();
        let u = super::user("r24@x.test");
        directory::insert_user(&mut c, &u).await.unwrap();
        let report = ClientReport {
            attachment: Some(Attachment::CrossPlatform),
            transports: Transports::parse(["hybrid", "internal"]),
        };
        let mut p = super::stored_passkey(u.id, "cred-r24");
        p.client = report.clone();
        passkeys::insert(&mut c, &p).await.unwrap();
        let silent = super::stored_passkey(u.id, "cred-silent");
        passkeys::insert(&mut c, &silent).await.unwrap();
        let read = passkeys::for_user(&mut c, u.id).await.unwrap();
        let of = |cred: &str| {
            read.iter()
                .find(|k| k.passkey.credential_id == cred)
                .unwrap()
                .client
                .clone()
        };
        assert_eq!(of("cred-r24"), report, "{}", t.name);
        assert_eq!(of("cred-r24").reach(), Reach::AcrossDevices);
        assert_eq!(of("cred-silent"), ClientReport::default(), "{}", t.name);

        let mut e = event(0, "r24@x.test", 0, "success");
        e.passkey_client = Some(report.clone());
        signins::append(&mut c, &e).await.unwrap();
        signins::append(&mut c, &event(1, "r24@x.test", 0, "success"))
            .await
            .unwrap();
        let f = SignInFilter {
            upn: Some("r24@x.test".into()),
            ..Default::default()
        };
        let got = signins::list_page(&mut c, &f, 10, 0).await.unwrap();
        assert_eq!(
            got.iter()
                .map(|e| e.passkey_client.clone())
                .collect::<Vec<_>>(),
            [None, Some(report.clone())],
            "{}",
            t.name
        );
    }
}
