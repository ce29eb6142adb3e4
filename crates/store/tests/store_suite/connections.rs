//! PostgreSQL ends a store's sessions (a restart, a failover, `pg_terminate_backend`) while
//! both pools hold them idle but used a moment ago — too recently to be pinged for idleness
//! (src/lean_pool.rs). A read that meets a dead connection runs again on another, after one
//! broke every connection is checked before use, and so the reads and the write after it
//! all succeed.

use portcullis_store::write::{Batch, Outcome};
use portcullis_store::{directory, passkeys, sessions, sign_in_reads};
use sqlx::{AnyConnection, Connection, Executor, Row};

use super::{session_for, stored_passkey, user, NOW};

#[tokio::test]
async fn ended_sessions_cost_no_read_and_no_later_write() {
    let t = portcullis_testkit::postgres().await;
    let u = user("ended@contoso.com");
    let pk = stored_passkey(u.id, "ended-cred");
    let mut c = t.store.conn().await.unwrap();
    directory::insert_user(&mut c, &u).await.unwrap();
    passkeys::insert(&mut c, &pk).await.unwrap();
    drop(c);
    let cred = pk.passkey.credential_id.clone();
    // Several connections in each pool, all used a moment ago.
    let reads = (0..8).map(|_| {
        let (store, cred) = (t.store.clone(), cred.clone());
        tokio::spawn(async move {
            sign_in_reads::for_credential(store.reader(), &cred)
                .await
                .unwrap();
            let mut c = store.conn().await.unwrap();
            directory::user_by_id(&mut c, u.id).await.unwrap();
        })
    });
    for r in reads.collect::<Vec<_>>() {
        r.await.unwrap();
    }

    let mut admin = AnyConnection::connect(&t.url).await.unwrap();
    let ended: i64 = admin
        .fetch_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .await
        .unwrap()
        .get(0);
    assert!(ended >= 4, "the pools held {ended} sessions");
    drop(admin);
    // Time for the sessions to end; far less than the idleness that gets a connection pinged.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    for i in 0..8 {
        let read = sign_in_reads::for_credential(t.store.reader(), &cred).await;
        assert!(read.is_ok(), "read {i} after the sessions ended: {read:?}");
    }
    let batch: Batch<()> =
        Batch::new().then(sessions::insert_write("after-ended", &session_for(u.id), NOW).unwrap());
    assert_eq!(
        t.store.commit_batch(batch).await.unwrap(),
        Outcome::Committed
    );
    let mut c = t.store.conn().await.unwrap();
    assert!(directory::user_by_id(&mut c, u.id).await.unwrap().is_some());
}
