//! Issue 18: what an access decision about one user reads, in one hand-off — their groups,
//! roles, live passkeys and pass, the stored method configurations, the Security info
//! application and the Conditional Access version — on both backends, each read seeing what
//! was committed before it, and nothing of another user's.

use portcullis_domain::directory::{DirectoryRole, Group, SECURITY_INFO_APP};
use portcullis_domain::policy::{MethodConfiguration, MethodId, MethodState};
use portcullis_store::{
    applications, conditional_access as ca, decision_reads, directory, passkeys, policy, tap,
};
use portcullis_testkit::both;
use uuid::Uuid;

use super::{pass, stored_passkey, user, NOW};

#[tokio::test]
async fn a_decision_reads_its_facts_together_and_sees_each_commit_before_it() {
    for t in both().await {
        let r = t.store.reader();
        let mut c = t.store.conn().await.unwrap();
        let (alice, bob) = (user("alice@contoso.com"), user("bob@contoso.com"));
        directory::insert_user(&mut c, &alice).await.unwrap();
        directory::insert_user(&mut c, &bob).await.unwrap();
        drop(c);

        // Nothing yet: no groups, roles, passkeys, pass, saved methods or portal; a version.
        let empty = decision_reads::for_user(r, alice.id, SECURITY_INFO_APP.app_id)
            .await
            .unwrap();
        assert!(
            empty.member_of.is_empty()
                && empty.roles.is_empty()
                && empty.passkeys.is_empty()
                && empty.pass.is_none()
                && empty.methods.is_empty()
                && empty.portal.is_none(),
            "{}: {empty:?}",
            t.name
        );

        let mut c = t.store.conn().await.unwrap();
        let g = Group {
            id: Uuid::new_v4(),
            display_name: "Passkey pilot".into(),
            security_enabled: true,
        };
        directory::insert_group(&mut c, &g, NOW).await.unwrap();
        directory::add_member(&mut c, g.id, alice.id).await.unwrap();
        let mut roles = vec![
            // Stored out of template-id order, so the order read is the statement's.
            DirectoryRole::GlobalAdministrator,
            DirectoryRole::SecurityAdministrator,
        ];
        for role in &roles {
            directory::assign_role(&mut c, alice.id, *role, NOW)
                .await
                .unwrap();
        }
        roles.sort_by_key(|r| r.template_id().to_string());
        // Stored newest first: the order read is the statement's, not the heap's.
        let (older, mut newer, gone) = (
            stored_passkey(alice.id, "alice-older"),
            stored_passkey(alice.id, "alice-newer"),
            stored_passkey(alice.id, "alice-gone"),
        );
        newer.passkey.created_at = older.passkey.created_at + time::Duration::minutes(1);
        passkeys::insert(&mut c, &newer).await.unwrap();
        passkeys::insert(&mut c, &gone).await.unwrap();
        passkeys::insert(&mut c, &older).await.unwrap();
        passkeys::insert(&mut c, &stored_passkey(bob.id, "bob-1"))
            .await
            .unwrap();
        assert!(passkeys::delete(&mut c, gone.passkey.id, "admin", NOW)
            .await
            .unwrap());
        let alices_pass = pass(alice.id);
        tap::replace(&mut c, &alices_pass, "$argon2id$hash")
            .await
            .unwrap();
        tap::replace(&mut c, &pass(bob.id), "$argon2id$other")
            .await
            .unwrap();
        let MethodConfiguration::Fido2(mut f) = MethodConfiguration::graph_default(MethodId::Fido2)
        else {
            unreachable!()
        };
        f.state = MethodState::Disabled;
        let fido2 = MethodConfiguration::Fido2(f);
        policy::put(&mut c, &fido2, NOW).await.unwrap();
        applications::ensure_first_party(&mut c, &SECURITY_INFO_APP, &[], NOW)
            .await
            .unwrap();
        let before = ca::version(&mut c).await.unwrap();
        ca::begin_change(&mut c).await.unwrap();
        drop(c);

        let read = decision_reads::for_user(r, alice.id, SECURITY_INFO_APP.app_id)
            .await
            .unwrap();
        assert_eq!(read.member_of, [g.id], "{}", t.name);
        assert_eq!(read.roles, roles, "{}: by template id", t.name);
        let ids: Vec<Uuid> = read.passkeys.iter().map(|p| p.passkey.id).collect();
        assert_eq!(
            ids,
            [older.passkey.id, newer.passkey.id],
            "{}: live passkeys only, oldest first, and not Bob's",
            t.name
        );
        assert_eq!(
            read.pass.as_ref().map(|p| p.pass.id),
            Some(alices_pass.id),
            "{}: her pass, not Bob's",
            t.name
        );
        assert_eq!(
            read.methods,
            std::slice::from_ref(&fido2),
            "{}: the saved method only",
            t.name
        );
        assert_eq!(
            read.portal.as_ref().map(|a| a.app_id.as_str()),
            Some(SECURITY_INFO_APP.app_id),
            "{}",
            t.name
        );
        assert_eq!(
            read.ca_version,
            before + 1,
            "{}: the version as just moved",
            t.name
        );

        // Someone nobody knows: the same statements, no facts.
        let stranger = decision_reads::for_user(r, Uuid::new_v4(), SECURITY_INFO_APP.app_id)
            .await
            .unwrap();
        assert!(
            stranger.member_of.is_empty()
                && stranger.roles.is_empty()
                && stranger.passkeys.is_empty()
                && stranger.pass.is_none(),
            "{}",
            t.name
        );
    }
}

/// An in-memory SQLite database is refused with a reason: the reader and the group committer
/// open the database file beside the pool, and an in-memory one has none (before, its reads
/// failed to open a file named after sqlx's in-memory name).
#[tokio::test]
async fn an_in_memory_sqlite_database_is_refused_with_a_reason() {
    for url in ["sqlite::memory:", "sqlite://file:x?mode=memory"] {
        let Err(e) = portcullis_store::Store::open(url).await else {
            panic!("{url}: opened");
        };
        assert!(e.to_string().contains("in-memory"), "{url}: {e}");
    }
}
