//! What finishing a passkey sign-in reads, in one hand-off (issue 18): the passkey that
//! answered with its owner's others, the owner, the passkey method's configuration and the
//! owner's groups. Through sqlx these were four statements, each a round trip to the SQLite
//! connection's worker thread, with an acquire and a release around them; the [`Reader`] runs
//! them together on one thread, in one snapshot.

use portcullis_domain::directory::User;
use portcullis_domain::policy::{MethodConfiguration, MethodId};
use uuid::Uuid;

use crate::bulk::{Cells, Param, Query, Reader};
use crate::passkeys::{stored_from, StoredPasskey};
use crate::row::uuid;
use crate::{directory, policy, Result};

/// The facts a passkey sign-in is decided on, as stored.
#[derive(Debug, Clone)]
pub struct SignInReads {
    /// Every passkey, tombstones included, of the owner of the passkey that answered, in
    /// the order they were added; none when no passkey has its credential id.
    pub passkeys: Vec<StoredPasskey>,
    /// That owner, when the account still exists.
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

/// The owner of the passkey `$1` names, as a subquery.
const OWNER: &str = "(SELECT user_id FROM passkeys WHERE credential_id = $1)";

/// Reads everything a sign-in with the passkey `credential_id` is decided on.
pub async fn for_credential(r: &Reader, credential_id: &str) -> Result<SignInReads> {
    let by_credential = || vec![Param::Text(credential_id.to_string())];
    let queries = vec![
        Query {
            sql: format!("SELECT * FROM passkeys WHERE user_id = {OWNER} ORDER BY created_at, id"),
            params: by_credential(),
            parse: |c: &dyn Cells| Ok(Fact::Passkey(Box::new(stored_from(c)?))),
        },
        Query {
            sql: format!("SELECT * FROM users WHERE id = {OWNER}"),
            params: by_credential(),
            parse: |c: &dyn Cells| Ok(Fact::Owner(directory::user_from(c)?)),
        },
        Query {
            sql: "SELECT body FROM method_configurations WHERE id = $1".into(),
            params: vec![Param::Text(MethodId::Fido2.as_str().into())],
            parse: |c: &dyn Cells| Ok(Fact::Fido2(c.text("body")?)),
        },
        Query {
            sql: format!("SELECT group_id FROM group_members WHERE user_id = {OWNER}"),
            params: by_credential(),
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
