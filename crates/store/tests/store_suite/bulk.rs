//! The bulk reader (src/bulk.rs) on both backends: `$n` bound by its number, not by where it
//! first appears, and every read sees what was committed before it (the SQLite reader keeps
//! its own connection between reads, which must not pin an old snapshot).

use std::collections::BTreeSet;

use portcullis_store::inventory::{self, Pushdown};
use portcullis_store::{directory, passkeys};
use portcullis_testkit::both;
use uuid::Uuid;

use super::{stored_passkey, user};

#[tokio::test]
async fn bulk_reads_bind_the_limit_after_the_model_list_by_number() {
    let (a, b) = (Uuid::from_u128(0xa), Uuid::from_u128(0xb));
    for t in both().await {
        let mut c = t.store.conn().await.unwrap();
        let mut owners = vec![];
        for i in 0..3 {
            let u = user(&format!("bulk{i}@contoso.com"));
            directory::insert_user(&mut c, &u).await.unwrap();
            for (j, model) in [a, b].into_iter().enumerate() {
                let mut p = stored_passkey(u.id, &format!("cred-{i}-{j}"));
                p.passkey.aaguid = model;
                passkeys::insert(&mut c, &p).await.unwrap();
            }
            owners.push(u.id);
        }
        drop(c);
        owners.sort();
        // The statement names $8 (the model) before $7 (the limit): bound in the order they
        // appear, the limit would get the model's text and the model the number.
        let only_a = Pushdown {
            aaguids: Some(BTreeSet::from([a])),
            ..Pushdown::default()
        };
        let r = t.store.reader();
        let mut seen = vec![];
        let mut cursor = None;
        loop {
            let chunk = inventory::chunk(r, &only_a, cursor, 1).await.unwrap();
            assert!(chunk.len() <= 1, "{}: the limit of 1 held", t.name);
            let Some(last) = chunk.last() else { break };
            assert_eq!(
                last.passkey.aaguid, a,
                "{}: only the model asked for",
                t.name
            );
            cursor = Some((last.passkey.user_id, last.passkey.id));
            seen.push(last.passkey.user_id);
        }
        assert_eq!(
            seen, owners,
            "{}: one of model A per owner, in owner order",
            t.name
        );
        assert_eq!(inventory::count(r, &only_a).await.unwrap(), 3, "{}", t.name);
    }
}

#[tokio::test]
async fn a_bulk_read_sees_every_commit_made_before_it() {
    for t in both().await {
        let r = t.store.reader();
        assert!(
            directory::all_users(r).await.unwrap().is_empty(),
            "{}",
            t.name
        );
        let mut c = t.store.conn().await.unwrap();
        let u = user("later@contoso.com");
        directory::insert_user(&mut c, &u).await.unwrap();
        passkeys::insert(&mut c, &stored_passkey(u.id, "later"))
            .await
            .unwrap();
        drop(c);
        let users = directory::all_users(r).await.unwrap();
        assert_eq!(
            users.len(),
            1,
            "{}: the reader's second read sees the insert",
            t.name
        );
        assert_eq!(passkeys::all_live(r).await.unwrap().len(), 1, "{}", t.name);
        let mut c = t.store.conn().await.unwrap();
        directory::delete_user(&mut c, u.id).await.unwrap();
        drop(c);
        assert!(
            directory::all_users(r).await.unwrap().is_empty(),
            "{}: and the delete",
            t.name
        );
    }
}
