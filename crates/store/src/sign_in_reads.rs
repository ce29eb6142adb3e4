//! What a passkey sign-in reads, in one hand-off (issue 18), when it starts with a name and
//! when it finishes with a passkey's answer: the owner's passkeys, the owner, the passkey
//! method's configuration and the owner's groups. Through sqlx these were four statements,
//! each a round trip to the SQLite connection's worker thread, with an acquire and a release
//! around them; the [`Reader`] runs them together on one connection (on SQLite on one thread,
//! in one snapshot). A name or a credential nobody holds runs the same statements and finds
//! nothing.

use portcullis_domain::directory::{Upn, User};
use portcullis_domain::policy::{MethodConfiguration, MethodId};
use uuid::Uuid;

use crate::bulk::{Cells, Param, Query, Reader};
use crate::passkeys::{stored_from, StoredPasskey};
use crate::row::uuid;
use crate::{directory, policy, Result};

/// The facts a passkey sign-in is decided on, as stored.
#[derive(Debug, Clone)]
pub struct SignInReads {
    /// The owner's passkeys in the order they were added: by credential with tombstones (the
    /// answer may come from a deleted one), by name only live ones.
    pub passkeys: Vec<StoredPasskey>,
    /// The owner, when the account exists.
    pub owner: Option<User>,
    /// The passkey method's stored configuration (`None`: never saved).
    pub fido2: Option<MethodConfiguration>,
    /// The groups the owner is a direct member of.
    pub member_of: Vec<Uuid>,
}

enum Fact {
    Passkey(Box<StoredPasskey>),
    Owner(User),
    Fido2(String),
    Group(Uuid),
}

/// Reads everything a sign-in with the passkey `credential_id` is decided on (its owner:
/// whoever holds that passkey).
pub async fn for_credential(r: &Reader, credential_id: &str) -> Result<SignInReads> {
    read(
        r,
        "(SELECT user_id FROM passkeys WHERE credential_id = $1)",
        "",
        credential_id,
    )
    .await
}

/// Reads everything a username-first sign-in's options are made from (the owner: the
/// account named `upn`).
pub async fn for_name(r: &Reader, upn: &Upn) -> Result<SignInReads> {
    read(
        r,
        "(SELECT id FROM users WHERE upn = $1)",
        " AND deleted_at IS NULL",
        upn.as_str(),
    )
    .await
}

/// The four reads, for the owner `owner` (a subquery over `$1 = key`) selects; `passkeys`
/// narrows which of their passkeys are read.
async fn read(r: &Reader, owner: &str, passkeys: &str, key: &str) -> Result<SignInReads> {
    let by_key = || vec![Param::Text(key.to_string())];
    let queries = vec![
        Query {
            sql: format!(
                "SELECT * FROM passkeys WHERE user_id = {owner}{passkeys} ORDER BY created_at, id"
            ),
            params: by_key(),
            parse: |c: &dyn Cells| Ok(Fact::Passkey(Box::new(stored_from(c)?))),
        },
        Query {
            sql: format!("SELECT * FROM users WHERE id = {owner}"),
            params: by_key(),
            parse: |c: &dyn Cells| Ok(Fact::Owner(directory::user_from(c)?)),
        },
        Query {
            sql: "SELECT body FROM method_configurations WHERE id = $1".into(),
            params: vec![Param::Text(MethodId::Fido2.as_str().into())],
            parse: |c: &dyn Cells| Ok(Fact::Fido2(c.text("body")?)),
        },
        Query {
            sql: format!("SELECT group_id FROM group_members WHERE user_id = {owner}"),
            params: by_key(),
            parse: |c: &dyn Cells| Ok(Fact::Group(uuid(c, "group_id")?)),
        },
    ];
    let mut out = SignInReads {
        passkeys: vec![],
        owner: None,
        fido2: None,
        member_of: vec![],
    };
    for fact in r.many(queries).await?.into_iter().flatten() {
        match fact {
            Fact::Passkey(p) => out.passkeys.push(*p),
            Fact::Owner(u) => out.owner = Some(u),
            Fact::Fido2(body) => out.fido2 = Some(policy::parse(MethodId::Fido2, &body)?),
            Fact::Group(g) => out.member_of.push(g),
        }
    }
    Ok(out)
}
