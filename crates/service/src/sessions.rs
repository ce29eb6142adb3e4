//! Looking up and ending browser sessions.

use portcullis_domain::directory::User;
use portcullis_domain::session::Session;
use portcullis_store::{commit, oauth, sessions};

use crate::secrets::token_key;
use crate::{Result, Service};

impl Service {
    /// The live session behind a cookie token, with its user; `None` when the token is
    /// unknown, revoked or expired, or the account has since been disabled.
    pub async fn session(&self, token: &str) -> Result<Option<(Session, User)>> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let Some((s, user)) = sessions::with_user(self.store().reader(), &token_key(token)).await?
        else {
            return Ok(None);
        };
        if !s.is_live(self.now()) {
            return Ok(None);
        }
        Ok(user.filter(|u| u.account_enabled).map(|u| (s, u)))
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

/// Revokes a pass: deletes it and ends the sessions and grants it opened, in the caller's
/// transaction (an administrator deleting it, or its user becoming an administrator).
pub(crate) async fn revoke_pass(
    tx: &mut portcullis_store::Conn,
    pass: &portcullis_domain::tap::TemporaryAccessPass,
    reason: &str,
    now: portcullis_domain::Timestamp,
) -> portcullis_store::Result<()> {
    portcullis_store::tap::delete(tx, pass.id).await?;
    end_what_it_opened(tx, pass.user_id, pass.id, reason, now).await
}

/// Ends every session of a user but `keep`, and the grants made from them (R47): a password
/// reset or changed, or a second factor removed, leaves nothing the old credentials opened.
pub(crate) async fn end_user_sessions(
    tx: &mut portcullis_store::Conn,
    user: uuid::Uuid,
    keep: Option<uuid::Uuid>,
    reason: &str,
    now: portcullis_domain::Timestamp,
) -> portcullis_store::Result<()> {
    for s in portcullis_store::sessions::revoke_user_except(tx, user, keep, now).await? {
        portcullis_store::oauth::revoke_session_grants(tx, s, reason, now).await?;
    }
    Ok(())
}

/// Ends the user's sessions but `keep` that a password alone opened, and their grants, when
/// the user gains a method that proves more (a passkey, an app's codes, the Authenticator):
/// whoever learnt the password before would otherwise keep a session that could remove the
/// new method and put their own in its place (a password alone may add the first second
/// factor), and a password alone no longer signs this user in.
pub(crate) async fn end_password_only_sessions(
    tx: &mut portcullis_store::Conn,
    user: uuid::Uuid,
    keep: Option<uuid::Uuid>,
    now: portcullis_domain::Timestamp,
) -> portcullis_store::Result<()> {
    for s in portcullis_store::sessions::revoke_password_only(tx, user, keep, now).await? {
        portcullis_store::oauth::revoke_session_grants(
            tx,
            s,
            "a stronger sign-in method was added",
            now,
        )
        .await?;
    }
    Ok(())
}

/// Ends what a credential (a pass, a passkey) of `owner` opened: its live sessions and every
/// grant made from them (R47). Called in the transaction that deletes or replaces the
/// credential.
pub(crate) async fn end_what_it_opened(
    tx: &mut portcullis_store::Conn,
    owner: uuid::Uuid,
    credential_id: uuid::Uuid,
    reason: &str,
    now: portcullis_domain::Timestamp,
) -> portcullis_store::Result<()> {
    for s in portcullis_store::sessions::revoke_by_credential(tx, owner, credential_id, now).await?
    {
        portcullis_store::oauth::revoke_session_grants(tx, s, reason, now).await?;
    }
    Ok(())
}
