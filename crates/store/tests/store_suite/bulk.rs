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

/// Issue 18: a passkey sign-in reads its facts in one hand-off — the passkey with its
/// owner's others (tombstones too), the owner, the passkey policy and the owner's groups —
/// and each read sees what was committed before it (a kept reader connection must not pin an
/// old snapshot: a passkey deleted or a policy changed a moment ago counts at once).
#[tokio::test]
async fn a_sign_in_reads_its_facts_together_and_sees_each_commit_before_it() {
    use portcullis_domain::directory::Group;
    use portcullis_domain::policy::{MethodConfiguration, MethodId, MethodState};
    use portcullis_store::{policy, sign_in_reads};
    for t in both().await {
        let mut c = t.store.conn().await.unwrap();
        let (alice, bob) = (user("alice@contoso.com"), user("bob@contoso.com"));
        directory::insert_user(&mut c, &alice).await.unwrap();
        directory::insert_user(&mut c, &bob).await.unwrap();
        let first = stored_passkey(alice.id, "alice-1");
        let mut second = stored_passkey(alice.id, "alice-2");
        second.passkey.created_at = first.passkey.created_at + time::Duration::minutes(1);
        // Stored newest first: the oldest-first order below is the statement's, not the heap's.
        passkeys::insert(&mut c, &second).await.unwrap();
        passkeys::insert(&mut c, &first).await.unwrap();
        passkeys::insert(&mut c, &stored_passkey(bob.id, "bob-1"))
            .await
            .unwrap();
        let g = Group {
            id: Uuid::new_v4(),
            display_name: "Passkey pilot".into(),
            security_enabled: true,
        };
        directory::insert_group(&mut c, &g, super::NOW)
            .await
            .unwrap();
        directory::add_member(&mut c, g.id, alice.id).await.unwrap();
        drop(c);
        let r = t.store.reader();

        let read = sign_in_reads::for_credential(r, "alice-2").await.unwrap();
        let ids: Vec<Uuid> = read.passkeys.iter().map(|p| p.passkey.id).collect();
        assert_eq!(
            ids,
            [first.passkey.id, second.passkey.id],
            "{}: the owner's passkeys, oldest first, not Bob's",
            t.name
        );
        assert_eq!(read.owner.as_ref(), Some(&alice), "{}", t.name);
        assert_eq!(read.member_of, [g.id], "{}", t.name);
        assert_eq!(read.fido2, None, "{}: never saved", t.name);

        // Committed after the first read: the next read sees each change.
        let mut c = t.store.conn().await.unwrap();
        assert!(
            passkeys::delete(&mut c, first.passkey.id, "admin", super::NOW)
                .await
                .unwrap()
        );
        let MethodConfiguration::Fido2(mut f) = MethodConfiguration::graph_default(MethodId::Fido2)
        else {
            unreachable!()
        };
        f.state = MethodState::Disabled;
        let cfg = MethodConfiguration::Fido2(f);
        policy::put(&mut c, &cfg, super::NOW).await.unwrap();
        drop(c);
        let read = sign_in_reads::for_credential(r, "alice-2").await.unwrap();
        let deleted = read
            .passkeys
            .iter()
            .find(|p| p.passkey.id == first.passkey.id)
            .unwrap();
        assert_eq!(
            deleted.deleted.as_ref().map(|(_, by)| by.as_str()),
            Some("admin"),
            "{}: the tombstone, with who deleted it",
            t.name
        );
        assert_eq!(
            read.fido2,
            Some(cfg),
            "{}: the policy as just saved",
            t.name
        );

        // A username-first start reads the same facts by name (its options list no
        // tombstone, so it reads none).
        let by_name = sign_in_reads::for_name(r, &alice.user_principal_name)
            .await
            .unwrap();
        let live: Vec<_> = read
            .passkeys
            .iter()
            .filter(|p| p.deleted.is_none())
            .cloned()
            .collect();
        assert_eq!(
            by_name.passkeys, live,
            "{}: by name, only live passkeys",
            t.name
        );
        assert_eq!(by_name.owner.as_ref(), Some(&alice), "{}", t.name);
        assert_eq!(by_name.member_of, [g.id], "{}", t.name);
        let stranger = portcullis_domain::directory::Upn::parse("nobody@contoso.com").unwrap();
        let none = sign_in_reads::for_name(r, &stranger).await.unwrap();
        assert!(
            none.passkeys.is_empty() && none.owner.is_none() && none.member_of.is_empty(),
            "{}",
            t.name
        );

        // A credential nobody holds: no passkeys, no owner, no groups — the same statements.
        let none = sign_in_reads::for_credential(r, "nobody").await.unwrap();
        assert!(
            none.passkeys.is_empty() && none.owner.is_none() && none.member_of.is_empty(),
            "{}",
            t.name
        );
    }
}
