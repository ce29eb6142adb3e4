//! Looking up and ending browser sessions.

use portcullis_domain::directory::User;
use portcullis_domain::session::Session;
use portcullis_store::{directory, sessions};

use crate::secrets::token_key;
use crate::{Result, Service};

impl Service {
    /// The live session behind a cookie token, with its user; `None` when the token is
    /// unknown, revoked or expired, or the account has since been disabled.
    pub async fn session(&self, token: &str) -> Result<Option<(Session, User)>> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let mut c = self.store().conn().await?;
        let Some(s) = sessions::by_token_hash(&mut c, &token_key(token)).await? else {
            return Ok(None);
        };
        if !s.is_live(self.now()) {
            return Ok(None);
        }
        let user = directory::user_by_id(&mut c, s.user_id).await?.filter(|u| u.account_enabled);
        Ok(user.map(|u| (s, u)))
    }

    /// Ends a session.
    pub async fn sign_out(&self, token: &str) -> Result<()> {
        let mut c = self.store().conn().await?;
        sessions::revoke(&mut c, &token_key(token), self.now()).await?;
        Ok(())
    }
}
