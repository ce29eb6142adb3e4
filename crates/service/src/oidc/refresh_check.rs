//! R47: before a refresh token is honoured, the access decision runs again — with the
//! sign-in's own signals (source, user agent, the device that proved its key), against
//! today's account, credential, device and policies. The decision is the domain's
//! (`grant::may_refresh`, `access::decide`, `passkey::sign_in_usability`); this loads it.

use portcullis_domain::application::Application;
use portcullis_domain::grant::{may_refresh, Credential, GrantEnded, RefreshFacts};
use portcullis_domain::session::{AuthMethod, Session};
use portcullis_store::oauth::Grant;
use portcullis_store::{devices, directory, passkeys as store_pk, sessions, tap as store_tap};

use crate::{RequestContext, Result, Service};

impl Service {
    /// Whether `grant` may still be refreshed for `app`, and if not why.
    pub(crate) async fn recheck_grant(
        &self,
        grant: &Grant,
        app: &Application,
    ) -> Result<std::result::Result<(), GrantEnded>> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let Some(user) = directory::user_by_id(&mut c, grant.user_id).await? else {
            return Ok(Err(GrantEnded::AccountDisabled));
        };
        // The session record outlives its expiry; it says what signed the user in.
        let session = sessions::by_id(&mut c, grant.session_id)
            .await?
            .map(|(s, _)| s)
            .unwrap_or_else(|| Session {
                id: grant.session_id,
                user_id: grant.user_id,
                auth_time: grant.auth_time,
                methods: grant.methods.clone(),
                expires_at: grant.created_at,
                passkey_aaguid: None,
                passkey_attested: false,
                credential_id: None,
                campaign_pending: false,
            });
        let credential = match session.credential_id {
            None => Credential::Unrecorded,
            Some(id) if session.methods.contains(&AuthMethod::Passkey) => {
                match store_pk::by_id(&mut c, id).await? {
                    Some(p) if p.deleted.is_none() => {
                        let (cfg, member_of) =
                            crate::passkeys::policy_for(&mut c, user.id)
                                .await
                                .map_err(|e| crate::ServiceError::Internal(e.to_string()))?;
                        Credential::Passkey(portcullis_domain::passkey::sign_in_usability(
                            &cfg, &member_of, &p.passkey,
                        ))
                    }
                    _ => Credential::PasskeyDeleted,
                }
            }
            Some(id) => match store_tap::for_user(&mut c, user.id).await? {
                Some(p) if p.pass.id == id => Credential::Tap {
                    expires_at: p.pass.expires_at(),
                },
                _ => Credential::TapGone,
            },
        };
        // The device that proved its key at the sign-in, as the MDM describes it today.
        let device = match grant.device_id {
            Some(id) => devices::by_id(&mut c, id)
                .await?
                .filter(|d| d.owner == user.id)
                .map(|d| d.facts()),
            None => None,
        };
        drop(c);
        let ctx = RequestContext {
            source: grant.source,
            user_agent: grant.user_agent.clone(),
            device_proof: None,
        };
        let (decision, _) = self
            .access_decision(&user, &session, app, &ctx, device.as_ref())
            .await?;
        Ok(may_refresh(&RefreshFacts {
            ends_at: grant.ends_at,
            account_enabled: user.account_enabled,
            credential: &credential,
            access: &decision.verdict,
            now,
        }))
    }
}
