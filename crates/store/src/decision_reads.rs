//! What an access decision about one user reads, in one hand-off (issue 18): their groups
//! and roles, the method configurations, their live passkeys and pass, the Security info
//! application and the Conditional Access configuration's version. An application sign-in
//! makes this decision at every authorization; through sqlx these were ten statements, each
//! a round trip to the SQLite connection's worker thread. The [`Reader`] runs them together
//! on one connection (on SQLite in one snapshot, so the facts agree with each other).
//!
//! The reader sees what is committed: a caller deciding inside a transaction of its own
//! (saving a policy) reads through that transaction instead.

use portcullis_domain::application::Application;
use portcullis_domain::directory::DirectoryRole;
use portcullis_domain::policy::{MethodConfiguration, MethodId};
use uuid::Uuid;

use crate::bulk::{Cells, Param, Query, Reader};
use crate::passkeys::{stored_from, StoredPasskey};
use crate::row::uuid;
use crate::tap::StoredPass;
use crate::{applications, policy, tap, Result, StoreError};

/// The facts a decision about one user is made on, as stored.
#[derive(Debug, Clone, Default)]
pub struct DecisionReads {
    /// The groups the user is a direct member of.
    pub member_of: Vec<Uuid>,
    /// The directory roles they hold.
    pub roles: Vec<DirectoryRole>,
    /// Their live passkeys (tombstones left out), in the order they were added.
    pub passkeys: Vec<StoredPasskey>,
    /// Their Temporary Access Pass, if they have one.
    pub pass: Option<StoredPass>,
    /// The stored method configurations (a method never saved is absent: Graph's default).
    pub methods: Vec<MethodConfiguration>,
    /// The application named by the caller (the Security info application), if registered.
    pub portal: Option<Application>,
    /// The Conditional Access configuration's version (see
    /// [`crate::conditional_access::version`]).
    pub ca_version: i64,
}

enum Fact {
    Group(Uuid),
    Role(DirectoryRole),
    Passkey(Box<StoredPasskey>),
    Pass(Box<StoredPass>),
    Method(Box<MethodConfiguration>),
    Portal(Box<Application>),
    Version(i64),
}

fn role(c: &dyn Cells) -> Result<Fact> {
    let id = c.text("role_template_id")?;
    DirectoryRole::parse(&id)
        .map(Fact::Role)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown role template id {id}")))
}

fn method(c: &dyn Cells) -> Result<Fact> {
    let id = c.text("id")?;
    let id = MethodId::parse(&id)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown method configuration {id}")))?;
    Ok(Fact::Method(Box::new(policy::parse(id, &c.text("body")?)?)))
}

/// Reads everything a decision about `user` is made on, and the application `portal`.
pub async fn for_user(r: &Reader, user: Uuid, portal: &str) -> Result<DecisionReads> {
    let by_user = || vec![Param::Text(user.to_string())];
    let queries = vec![
        Query {
            sql: "SELECT group_id FROM group_members WHERE user_id = $1".into(),
            params: by_user(),
            parse: |c: &dyn Cells| Ok(Fact::Group(uuid(c, "group_id")?)),
        },
        Query {
            sql: "SELECT role_template_id FROM role_assignments WHERE user_id = $1 ORDER BY role_template_id".into(),
            params: by_user(),
            parse: role,
        },
        Query {
            sql: "SELECT * FROM passkeys WHERE user_id = $1 AND deleted_at IS NULL ORDER BY created_at, id".into(),
            params: by_user(),
            parse: |c: &dyn Cells| Ok(Fact::Passkey(Box::new(stored_from(c)?))),
        },
        Query {
            sql: "SELECT * FROM temporary_access_passes WHERE user_id = $1".into(),
            params: by_user(),
            parse: |c: &dyn Cells| Ok(Fact::Pass(Box::new(tap::from_row(c)?))),
        },
        Query {
            sql: "SELECT id, body FROM method_configurations WHERE id IN ($1, $2, $3, $4)".into(),
            params: MethodId::ALL
                .iter()
                .map(|m| Param::Text(m.as_str().into()))
                .collect(),
            parse: method,
        },
        Query {
            sql: "SELECT * FROM applications WHERE app_id = $1".into(),
            params: vec![Param::Text(portal.to_string())],
            parse: |c: &dyn Cells| Ok(Fact::Portal(Box::new(applications::from_row(c)?))),
        },
        Query {
            sql: "SELECT version FROM ca_version WHERE id = 1".into(),
            params: vec![],
            parse: |c: &dyn Cells| Ok(Fact::Version(c.int("version")?)),
        },
    ];
    let mut out = DecisionReads::default();
    let mut versioned = false;
    for fact in r.many(queries).await?.into_iter().flatten() {
        match fact {
            Fact::Group(g) => out.member_of.push(g),
            Fact::Role(role) => out.roles.push(role),
            Fact::Passkey(p) => out.passkeys.push(*p),
            Fact::Pass(p) => out.pass = Some(*p),
            Fact::Method(m) => out.methods.push(*m),
            Fact::Portal(a) => out.portal = Some(*a),
            Fact::Version(v) => {
                out.ca_version = v;
                versioned = true;
            }
        }
    }
    if !versioned {
        return Err(StoreError::Corrupt(
            "the Conditional Access version row is missing".into(),
        ));
    }
    Ok(out)
}
