//! What minting a grant's tokens reads, in one read (issue 18): the grant, its user, and the
//! keys that sign ES256 access tokens and RS256 ID tokens now. These were four reads, each
//! taking a connection and a snapshot of its own (on PostgreSQL four round trips); the
//! [`Reader`] runs them together (on SQLite in one snapshot, on PostgreSQL in one trip).

use portcullis_domain::directory::User;
use portcullis_domain::Timestamp;
use uuid::Uuid;

use crate::bulk::{Cells, Param, Query, Reader};
use crate::keys::{self, SigningKey};
use crate::oauth::{self, Grant};
use crate::row::ms;
use crate::{directory, Result};

/// The facts a grant's tokens are minted from, as stored.
#[derive(Debug, Clone)]
pub struct TokenReads {
    /// The grant, if it exists.
    pub grant: Option<Grant>,
    /// What its tokens are minted with.
    pub minting: Minting,
}

/// A grant's user and the keys that sign, read with the grant.
#[derive(Debug, Clone, Default)]
pub struct Minting {
    /// The grant's user, if the account exists.
    pub user: Option<User>,
    /// The key that signs ES256 at the time asked (`None`: none yet).
    pub es256: Option<SigningKey>,
    /// The key that signs RS256 at the time asked (`None`: none yet).
    pub rs256: Option<SigningKey>,
}

enum Fact {
    Grant(Box<Grant>),
    User(Box<User>),
    Key(Box<SigningKey>),
}

/// Reads the grant `grant`, its user and the keys that sign at `now`.
pub async fn for_grant(r: &Reader, grant: Uuid, now: Timestamp) -> Result<TokenReads> {
    let by_grant = || vec![Param::Text(grant.to_string())];
    let key = |alg: &str| Query {
        sql: keys::CURRENT.into(),
        params: vec![Param::Text(alg.into()), Param::Int(ms(now))],
        parse: |c: &dyn Cells| Ok(Fact::Key(Box::new(keys::from_row(c)?))),
    };
    let queries = vec![
        Query {
            sql: oauth::GRANT.into(),
            params: by_grant(),
            parse: |c: &dyn Cells| Ok(Fact::Grant(Box::new(oauth::grant_from(c)?))),
        },
        Query {
            sql: "SELECT * FROM users WHERE id = (SELECT user_id FROM oauth_grants WHERE id = $1)"
                .into(),
            params: by_grant(),
            parse: |c: &dyn Cells| Ok(Fact::User(Box::new(directory::user_from(c)?))),
        },
        key("ES256"),
        key("RS256"),
    ];
    let mut out = TokenReads {
        grant: None,
        minting: Minting::default(),
    };
    let m = &mut out.minting;
    for fact in r.many(queries).await?.into_iter().flatten() {
        match fact {
            Fact::Grant(g) => out.grant = Some(*g),
            Fact::User(u) => m.user = Some(*u),
            Fact::Key(k) if k.alg == "ES256" => m.es256 = Some(*k),
            Fact::Key(k) => m.rs256 = Some(*k),
        }
    }
    Ok(out)
}
