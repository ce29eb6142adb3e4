//! Same-device registration in the Authenticator app (R15, R19, R20): the app signs in to the
//! Authenticator application (Conditional Access applies to it, R40), creates the passkey,
//! and turns on every other Authenticator method the policy makes available to the user —
//! push with its device key, and an authenticator-app code (TOTP) — saying which.
//!
//! Each step calls the same entry points as Security info: the passkey is checked and stored
//! by [`Service::finish_passkey_registration`], push by the activation link's checks, codes by
//! [`Service::begin_oath`] and [`Service::confirm_oath`].

use portcullis_domain::directory::AUTHENTICATOR_APP;
use portcullis_domain::phone::Phone;

use super::*;
use crate::oath::OathEnrolment;
use crate::push::DeviceView;
use crate::tokens::TokenError;

/// What a finished same-device registration added, and what it did not, with why.
#[derive(Debug)]
pub struct SameDeviceResult {
    /// The passkey, stored.
    pub passkey: Passkey,
    /// Push with number matching: the app's device, or why the policy or the session does
    /// not allow it.
    pub push: std::result::Result<DeviceView, String>,
    /// Codes (TOTP): the secret for the app to keep, confirmed by its first code
    /// ([`Service::confirm_oath`]); or why not.
    pub codes: std::result::Result<OathEnrolment, String>,
}

/// A finished registration, as the app sends it.
pub struct SameDeviceRequest<'a> {
    /// The passkey ceremony's answer.
    pub registration: RegistrationRequest<'a>,
    /// The phone (R19, R20).
    pub phone: &'a Phone,
    /// The app's device key for push (P-256, SubjectPublicKeyInfo DER, base64url).
    pub device_key: &'a str,
}

/// R19: a phone that cannot hold a passkey in the Authenticator is refused, naming what it
/// lacks, before a ceremony starts or a credential is stored.
fn phone_may_hold_passkeys(phone: &Phone) -> Result<(), PasskeyError> {
    phone
        .unmet()
        .map_err(|unmet| reject(unmet.code(), unmet.to_string()))
}

/// A server fault after the passkey was stored: logged, and told as "try again".
fn server_fault(e: &crate::ServiceError) -> String {
    tracing::error!(error = %e, "same-device registration: a method after the passkey failed");
    "Something went wrong on our side; add it later from Security info.".into()
}

/// How recent the app's sign-in must be to add methods with its token: a token taken from
/// an older sign-in (a code caught by another app claiming the redirect, say) adds nothing.
pub const APP_SIGN_IN_FRESHNESS: time::Duration = time::Duration::minutes(10);

impl Service {
    /// The Authenticator app's caller: an access token issued to the Authenticator
    /// application (so its sign-in met Conditional Access for it), whose grant and
    /// single-sign-on session are still live.
    pub async fn authenticator_app_caller(
        &self,
        issuer: &str,
        token: &str,
    ) -> crate::Result<std::result::Result<(Session, User), TokenError>> {
        let (claims, user) = match self.live_access(issuer, token).await? {
            Ok(ok) => ok,
            Err(e) => return Ok(Err(e)),
        };
        if claims.azp != AUTHENTICATOR_APP.app_id {
            return Ok(Err(TokenError::Invalid(
                "this API is for the Authenticator app's own sign-in".into(),
            )));
        }
        let fresh_after = self.now() - APP_SIGN_IN_FRESHNESS;
        if claims.auth_time < fresh_after.unix_timestamp() {
            return Ok(Err(TokenError::Invalid(
                "the sign-in behind this token is more than 10 minutes old: sign in again".into(),
            )));
        }
        let Ok(sid) = Uuid::parse_str(&claims.sid) else {
            return Ok(Err(TokenError::Invalid("malformed session".into())));
        };
        let mut c = self.store().conn().await?;
        match sessions::by_id(&mut c, sid).await? {
            Some((s, None)) if s.is_live(self.now()) && s.user_id == user.id => Ok(Ok((s, user))),
            _ => Ok(Err(TokenError::Invalid(
                "the sign-in behind this token has ended".into(),
            ))),
        }
    }

    /// R15, R19: begins a passkey in the Authenticator on `phone`.
    pub async fn begin_same_device(
        &self,
        rp: &RelyingParty,
        session: &Session,
        user: &User,
        phone: &Phone,
        ctx: &RequestContext,
    ) -> Result<CeremonyStart, PasskeyError> {
        phone_may_hold_passkeys(phone)?;
        self.begin_passkey_registration(rp, session, user, ctx)
            .await
    }

    /// R15, R19, R20: stores the passkey with its phone and profile, then turns on push and
    /// codes where the policy allows them. A refusal of the passkey stores nothing; a
    /// refusal of push or codes is reported beside the stored passkey.
    pub async fn finish_same_device(
        &self,
        rp: &RelyingParty,
        session: &Session,
        user: &User,
        req: SameDeviceRequest<'_>,
        ctx: &RequestContext,
    ) -> Result<SameDeviceResult, PasskeyError> {
        let SameDeviceRequest {
            mut registration,
            phone,
            device_key,
        } = req;
        phone_may_hold_passkeys(phone)?;
        // A malformed key is refused before the ceremony is spent.
        crate::push::check_device_key(device_key)
            .map_err(|e| reject("invalidDeviceKey", e.to_string()))?;
        registration.device = DeviceInfo {
            device: Some(phone.name.clone()),
            profile: phone.profile.map(|p| p.as_str().to_string()),
        };
        let passkey = self
            .finish_passkey_registration(rp, session, user, registration, ctx)
            .await?;
        // The passkey is stored: whatever happens next is reported beside it, never as a
        // failure that would make the app drop a credential the server holds.
        let push = self
            .add_authenticator_in_app(user, session, ctx, device_key, phone)
            .await
            .map_err(|e| match e {
                crate::push::PushError::Failed(e) => server_fault(&e),
                e => e.to_string(),
            });
        let codes = self
            .begin_oath(user, session, ctx)
            .await
            .map_err(|e| match e {
                crate::oath::OathError::Failed(e) => server_fault(&e),
                e => e.to_string(),
            });
        Ok(SameDeviceResult {
            passkey,
            push,
            codes,
        })
    }
}
