//! Looking up and ending browser sessions.

use portcullis_domain::directory::User;
use portcullis_domain::session::Session;
use portcullis_store::{commit, directory, oauth, sessions};

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
        let user = directory::user_by_id(&mut c, s.user_id)
            .await?
            .filter(|u| u.account_enabled);
        Ok(user.map(|u| (s, u)))
    }

    /// Ends a session and every application grant that came from it (single sign-out:
    /// their refresh and access tokens stop working).
    pub async fn sign_out(&self, token: &str) -> Result<()> {
        let now = self.now();
        let key = token_key(token);
        let mut tx = self.store().begin().await?;
        if let Some(s) = sessions::by_token_hash(&mut tx, &key).await? {
            oauth::revoke_session_grants(&mut tx, s.id, "signed out", now).await?;
        }
        sessions::revoke(&mut tx, &key, now).await?;
        commit(tx).await?;
        Ok(())
    }
}
