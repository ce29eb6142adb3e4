//! Batches (src/write.rs) and SQLite's group commit (src/group_commit.rs), on both backends:
//! a batch is kept whole or not at all, whatever else was committed with it; a write that
//! must change a row and does not stops its batch alone; and concurrent batches on SQLite
//! share commits.

use std::sync::Arc;

use portcullis_store::passkeys::{self, Use};
use portcullis_store::write::{Batch, Outcome};
use portcullis_store::{ceremonies, directory, sessions};
use portcullis_testkit::both;
use uuid::Uuid;

use super::{session_for, stored_passkey, user, NOW};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Spent,
    CounterMoved,
}

/// A sign-in's writes: spend the ceremony, move the counter from 5, open a session.
fn sign_in(ceremony: Uuid, passkey: Uuid, user: Uuid, token: &str) -> Batch<Stop> {
    Batch::new()
        .must_change(ceremonies::spend_write(ceremony, NOW), Stop::Spent)
        .must_change(
            passkeys::record_use_write(
                passkey,
                Use {
                    old: 5,
                    new: 6,
                    backed_up: true,
                },
                NOW,
            ),
            Stop::CounterMoved,
        )
        .then(sessions::insert_write(token, &session_for(user), NOW).unwrap())
}

/// Forty sign-ins with one passkey's counter at once, each on its own ceremony, and ten
/// replays of the winner's ceremonies: exactly one is kept; every other keeps nothing of
/// what it wrote before its stop (its ceremony unspent, no session).
#[tokio::test]
async fn of_concurrent_sign_ins_with_one_counter_exactly_one_batch_is_kept() {
    for t in both().await {
        let u = user(&format!("batch-{}@contoso.com", t.name));
        let pk = stored_passkey(u.id, "batch-cred");
        let mut c = t.store.conn().await.unwrap();
        directory::insert_user(&mut c, &u).await.unwrap();
        passkeys::insert(&mut c, &pk).await.unwrap();
        drop(c);
        let ceremonies: Vec<Uuid> = (0..40).map(|_| Uuid::new_v4()).collect();
        let start = Arc::new(tokio::sync::Barrier::new(50));
        let mut racers = vec![];
        for i in 0..50usize {
            let (store, start) = (t.store.clone(), start.clone());
            // The last ten answer ceremonies the first ten answer too.
            let ceremony = ceremonies[i % 40];
            let (pid, uid) = (pk.passkey.id, u.id);
            racers.push(tokio::spawn(async move {
                start.wait().await;
                let token = format!("token-{i}");
                let out = store
                    .commit_batch(sign_in(ceremony, pid, uid, &token))
                    .await
                    .unwrap();
                (i, ceremony, token, out)
            }));
        }
        let mut kept = vec![];
        let mut stopped = vec![];
        for r in racers {
            let (i, ceremony, token, out) = r.await.unwrap();
            match out {
                Outcome::Committed => kept.push((ceremony, token)),
                Outcome::Stopped(why) => stopped.push((i, ceremony, token, why)),
            }
        }
        assert_eq!(kept.len(), 1, "{}: one sign-in moved the counter", t.name);
        let (winner, _) = kept[0];
        let mut c = t.store.conn().await.unwrap();
        assert!(
            !ceremonies::spend(&mut c, winner, NOW).await.unwrap(),
            "{}: the winner's ceremony is spent",
            t.name
        );
        let mut checked = std::collections::HashSet::new();
        for (i, ceremony, token, why) in stopped {
            if ceremony != winner {
                assert_eq!(why, Stop::CounterMoved, "{}: racer {i}", t.name);
            }
            // Spent by this check (once a ceremony): no stopped batch's spend was kept.
            if ceremony != winner && checked.insert(ceremony) {
                assert!(
                    ceremonies::spend(&mut c, ceremony, NOW).await.unwrap(),
                    "{}: racer {i}'s ceremony was spent by a batch that stopped",
                    t.name
                );
            }
            if ceremony == winner {
                assert_eq!(why, Stop::Spent, "{}: racer {i} replayed", t.name);
            }
            assert!(
                sessions::by_token_hash(&mut c, &token)
                    .await
                    .unwrap()
                    .is_none(),
                "{}: racer {i} stopped, yet its session was kept",
                t.name
            );
        }
        let stored = passkeys::by_id(&mut c, pk.passkey.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.passkey.sign_count, 6, "{}", t.name);
        let counts = t.store.batch_counts();
        if t.name == "sqlite" {
            assert!(
                counts.groups < counts.in_groups,
                "{}: 50 batches at once took {} commits: none was shared",
                t.name,
                counts.groups
            );
        } else {
            // The one kept went as one statement; each stop was found again in a
            // transaction, which stopped and committed nothing.
            assert_eq!(
                (counts.as_one_statement, counts.in_transaction),
                (1, 0),
                "{}",
                t.name
            );
        }
    }
}

/// A batch whose writes depend on each other runs them in order on both backends: the
/// second move of a counter sees the first. (On PostgreSQL an independent batch is one
/// statement whose parts share one snapshot, where the second would see the counter at 5
/// and stop: this batch must not go that way.) And a stop at the second of two writes that
/// must change a row keeps the first's change neither, the spent ceremony included.
#[tokio::test]
async fn dependent_writes_run_in_order_and_a_late_stop_keeps_nothing() {
    for t in both().await {
        let u = user(&format!("order-{}@contoso.com", t.name));
        let pk = stored_passkey(u.id, "order-cred");
        let mut c = t.store.conn().await.unwrap();
        directory::insert_user(&mut c, &u).await.unwrap();
        passkeys::insert(&mut c, &pk).await.unwrap();
        drop(c);
        let moved = |old, new| {
            passkeys::record_use_write(
                pk.passkey.id,
                Use {
                    old,
                    new,
                    backed_up: true,
                },
                NOW,
            )
        };
        // The second write may change nothing without stopping the batch: run as one
        // statement it would, and the batch would commit with the counter at 6.
        let twice: Batch<Stop> = Batch::new()
            .must_change(moved(5, 6), Stop::CounterMoved)
            .then(moved(6, 7));
        let before = t.store.batch_counts();
        assert_eq!(
            t.store.commit_batch(twice).await.unwrap(),
            Outcome::Committed,
            "{}",
            t.name
        );
        if t.name != "sqlite" {
            let after = t.store.batch_counts();
            assert_eq!(
                after.in_transaction,
                before.in_transaction + 1,
                "{}: dependent writes go in a transaction",
                t.name
            );
            assert_eq!(after.as_one_statement, before.as_one_statement);
        }
        let mut c = t.store.conn().await.unwrap();
        let count = passkeys::by_id(&mut c, pk.passkey.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(count.passkey.sign_count, 7, "{}", t.name);
        drop(c);
        // The counter is at 7: a fresh ceremony is spent first, then the move from 5 stops.
        let ceremony = Uuid::new_v4();
        let late = sign_in(ceremony, pk.passkey.id, u.id, "late-stop");
        assert_eq!(
            t.store.commit_batch(late).await.unwrap(),
            Outcome::Stopped(Stop::CounterMoved),
            "{}",
            t.name
        );
        let mut c = t.store.conn().await.unwrap();
        assert!(
            ceremonies::spend(&mut c, ceremony, NOW).await.unwrap(),
            "{}: the stopped batch's ceremony was not kept spent",
            t.name
        );
        assert!(
            sessions::by_token_hash(&mut c, "late-stop")
                .await
                .unwrap()
                .is_none(),
            "{}: no session of a stopped batch",
            t.name
        );
    }
}

/// A batch whose statement fails (a session token already taken) is refused with the error
/// and keeps nothing; the batches committed with it are kept.
#[tokio::test]
async fn a_failing_batch_keeps_nothing_and_spoils_no_other() {
    for t in both().await {
        let mut c = t.store.conn().await.unwrap();
        let mut keys = vec![];
        for i in 0..8 {
            let u = user(&format!("fail{i}-{}@contoso.com", t.name));
            let pk = stored_passkey(u.id, &format!("fail-cred-{i}"));
            directory::insert_user(&mut c, &u).await.unwrap();
            passkeys::insert(&mut c, &pk).await.unwrap();
            keys.push((u.id, pk.passkey.id));
        }
        sessions::insert(&mut c, "taken", &session_for(keys[0].0), NOW)
            .await
            .unwrap();
        drop(c);
        let start = Arc::new(tokio::sync::Barrier::new(keys.len()));
        let mut all = vec![];
        for (i, (uid, pid)) in keys.iter().copied().enumerate() {
            let (store, start) = (t.store.clone(), start.clone());
            let ceremony = Uuid::new_v4();
            all.push(tokio::spawn(async move {
                start.wait().await;
                let token = if i == 3 {
                    "taken".to_string()
                } else {
                    format!("ok-{i}")
                };
                let out = store
                    .commit_batch(sign_in(ceremony, pid, uid, &token))
                    .await;
                (i, ceremony, pid, out)
            }));
        }
        let mut c = t.store.conn().await.unwrap();
        for r in all {
            let (i, ceremony, pid, out) = r.await.unwrap();
            let count = passkeys::by_id(&mut c, pid)
                .await
                .unwrap()
                .unwrap()
                .passkey
                .sign_count;
            if i == 3 {
                assert!(out.is_err(), "{}: the taken token is refused", t.name);
                assert_eq!(count, 5, "{}: its counter did not move", t.name);
                assert!(
                    ceremonies::spend(&mut c, ceremony, NOW).await.unwrap(),
                    "{}: its ceremony was not spent",
                    t.name
                );
            } else {
                assert_eq!(out.unwrap(), Outcome::Committed, "{}: batch {i}", t.name);
                assert_eq!(count, 6, "{}: batch {i} kept", t.name);
            }
        }
    }
}

/// A batch is answered only once committed (on SQLite: once its group's transaction is):
/// another connection reads it the moment the answer arrives. An answer sent before the
/// commit would be lost with a crash in between; here it reads as missing.
#[tokio::test]
async fn an_answered_batch_is_committed_already() {
    for t in both().await {
        let u = user(&format!("answered-{}@contoso.com", t.name));
        let mut c = t.store.conn().await.unwrap();
        directory::insert_user(&mut c, &u).await.unwrap();
        drop(c);
        for i in 0..100 {
            let token = format!("answered-{i}");
            let batch: Batch<Stop> =
                Batch::new().then(sessions::insert_write(&token, &session_for(u.id), NOW).unwrap());
            assert_eq!(
                t.store.commit_batch(batch).await.unwrap(),
                Outcome::Committed
            );
            let mut c = t.store.conn().await.unwrap();
            assert!(
                sessions::by_token_hash(&mut c, &token)
                    .await
                    .unwrap()
                    .is_some(),
                "{}: batch {i} was answered before it was committed",
                t.name
            );
        }
    }
}

/// On SQLite the committer takes turns with the pool's transactions at the process's write
/// gate: a batch waiting behind a transaction that does not end is refused as busy after the
/// same 10 s a transaction waits, rather than hanging every sign-in behind it — and the
/// committer goes on once the gate is free.
#[tokio::test]
async fn a_batch_behind_a_transaction_that_does_not_end_is_refused_as_busy() {
    let t = portcullis_testkit::sqlite().await;
    let u = user("gate@contoso.com");
    let mut c = t.store.conn().await.unwrap();
    directory::insert_user(&mut c, &u).await.unwrap();
    drop(c);
    let held = t.store.begin().await.unwrap();
    let batch = |token: &str| -> Batch<Stop> {
        Batch::new().then(sessions::insert_write(token, &session_for(u.id), NOW).unwrap())
    };
    let started = std::time::Instant::now();
    let refused = t.store.commit_batch(batch("behind")).await;
    assert!(
        matches!(refused, Err(portcullis_store::StoreError::Busy(_))),
        "{refused:?}"
    );
    assert!(started.elapsed() >= std::time::Duration::from_secs(9));
    drop(held);
    assert_eq!(
        t.store.commit_batch(batch("after")).await.unwrap(),
        Outcome::Committed
    );
    let mut c = t.store.conn().await.unwrap();
    assert!(sessions::by_token_hash(&mut c, "behind")
        .await
        .unwrap()
        .is_none());
    assert!(sessions::by_token_hash(&mut c, "after")
        .await
        .unwrap()
        .is_some());
}
