//! Signing in with a passkey (R21, R22, R23, R25), every outcome logged.

use super::sealed::{self, SealingKey, SignInCeremony};
use super::*;
use portcullis_store::sign_in_reads::{self, SignInReads};
use portcullis_store::write::{Batch, Outcome};
use portcullis_webauthn::PublicKeyCredential;

use crate::oidc::{CodeDecision, Continuation};

impl Service {
    /// R21: starts a sign-in. With a username, the options list that user's usable passkeys;
    /// without one, it is a discoverable-credential request.
    pub async fn begin_passkey_sign_in(
        &self,
        rp: &RelyingParty,
        username: Option<&str>,
    ) -> Result<SignInStart, PasskeyError> {
        let now = self.now();
        // Before the connection: on a cold server the keys are read from the store, and a
        // request holding one connection while it waits for another starves the pool under a
        // burst (two SQLite connections; sixteen first sign-ins deadlocked until its timeout).
        let name_key = self.name_key().await?;
        let sealing_key = self.sealing_key().await?;
        // Username-first requests answer alike whether the name is an account, holds
        // passkeys or not (issue 12): the same queries, and for a name without passkeys the
        // same shape — decoy credential ids derived from the name, the same every time.
        let mut decoys = vec![];
        let (user_id, allow) = match username.map(str::trim).filter(|u| !u.is_empty()) {
            None => (None, vec![]),
            Some(name) => {
                let upn = Upn::parse(name).map_err(|_| {
                    reject("malformedUsername", "Enter your username as name@domain.")
                })?;
                // One read (issue 18), the same statements for every name.
                let SignInReads {
                    passkeys: all,
                    owner: user,
                    fido2: stored_fido2,
                    member_of,
                } = sign_in_reads::for_name(self.store().reader(), &upn).await?;
                let owner = user.as_ref().map_or_else(Uuid::new_v4, |u| u.id);
                let cfg = fido2_or_default(stored_fido2);
                let live: Vec<&StoredPasskey> =
                    all.iter().filter(|p| p.deleted.is_none()).collect();
                // R21: the usable passkeys; when none is, all of them, so that whoever holds
                // one hears why at the end of the ceremony — after proving they hold it.
                let usable: Vec<&StoredPasskey> = live
                    .iter()
                    .copied()
                    .filter(|p| passkey::sign_in_usability(&cfg, &member_of, &p.passkey).is_ok())
                    .collect();
                let listed = if usable.is_empty() { live } else { usable };
                // Made for every name, used for those with nothing to list.
                let made = decoy_credential_ids(name_key, &upn);
                if listed.is_empty() {
                    decoys = made;
                }
                // Listed without transports, as decoys are: a list's shape must not tell a
                // real passkey from a made-up id (browsers then offer every way to reach it).
                let creds = listed
                    .into_iter()
                    .map(|p| {
                        credential_of(p).map(|mut c| {
                            c.transports = None;
                            c
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                (Some(owner), creds)
            }
        };
        let (mut options, state) = rp.start_authentication(allow)?;
        if let (false, Some(m)) = (decoys.is_empty(), options.as_object_mut()) {
            m.insert(
                "allowCredentials".into(),
                Value::Array(
                    decoys
                        .iter()
                        .map(|id| json!({"type": "public-key", "id": URL_SAFE_NO_PAD.encode(id)}))
                        .collect(),
                ),
            );
        }
        // Sealed, not stored (issue 18): asking for options writes nothing.
        let ceremony = sealed::seal(
            sealing_key,
            &SignInCeremony {
                // Time-ordered (v7), as the sign-in log's ids are: spent, it is inserted
                // where the last one was, not on a random page of the index.
                id: Uuid::now_v7(),
                user_id,
                expires_ms: portcullis_domain::time_fmt::to_millis(now + CEREMONY_TTL),
                state: sealable_state(&state)?,
            },
        )?;
        Ok(SignInStart { ceremony, options })
    }

    /// R1, R2, R5, R22, R25: finishes a sign-in and opens a session. Every outcome is logged.
    pub async fn finish_passkey_sign_in(
        &self,
        rp: &RelyingParty,
        ceremony: &str,
        response: &Value,
        ctx: &RequestContext,
    ) -> Result<PasskeySignedIn, PasskeyError> {
        self.finish_passkey_sign_in_continuing(rp, ceremony, response, ctx, None)
            .await
    }

    /// [`Service::finish_passkey_sign_in`], continuing the authorization request the sign-in
    /// was for, when there is one (issue 18): if the new session goes straight to the access
    /// decision and it allows the request, the code's writes are committed with the
    /// sign-in's, and the answer carries the application's redirect with the code. Refused,
    /// nothing of the authorization is kept or logged here: the browser goes on to the
    /// request, which decides again, logs the refusal once and shows it.
    pub async fn finish_passkey_sign_in_continuing(
        &self,
        rp: &RelyingParty,
        ceremony: &str,
        response: &Value,
        ctx: &RequestContext,
        next: Option<&Continuation>,
    ) -> Result<PasskeySignedIn, PasskeyError> {
        let now = self.now();
        // R24: how the client reached the authenticator, kept with the outcome.
        let attachment = client_report(&Reported::of(response)).attachment;
        // Malformed input, or a ceremony that does not open or has expired, is refused and
        // logged but spends nothing; any later refusal spends the ceremony (R17: single use),
        // in the same commit as its log entry.
        let result = match RelyingParty::parse_assertion(response) {
            Err(e) => Err((None, e.into(), None)),
            Ok(assertion) => match self.open_sign_in_ceremony(ceremony, now).await {
                Err(e) => Err((None, e, None)),
                Ok(cer) => self
                    .try_passkey_sign_in(
                        rp,
                        Answer {
                            cer: &cer,
                            assertion: &assertion,
                            attachment,
                        },
                        ctx,
                        now,
                        next,
                    )
                    .await
                    .map_err(|(user, e)| (user, e, Some((cer.id, cer.expires_at())))),
            },
        };
        let result = match result {
            Ok(signed) => return Ok(signed),
            Err((_, e, _)) if matches!(e, PasskeyError::Failed(_)) => return Err(e),
            Err(refused) => refused,
        };
        let (user, mut e, spend) = result;
        let mut tx = self.store().begin().await?;
        if let Some((id, expires_at)) = spend {
            if !ceremonies::spend(&mut tx, id, expires_at).await? {
                // A ceremony spent already is answered as one: whatever else this answer
                // would have been refused for is not told to whoever replays it, and a
                // replayed sign-in (its counter now the stored one) flags nothing.
                e = unknown_ceremony();
            } else if let (Some(u), "counterRegression") = (&user, e.code()) {
                store_pk::flag_clone(&mut tx, u.passkey_id).await?;
                tracing::warn!(user = %u.user.user_principal_name, passkey = %u.passkey_id, "passkey counter went backwards: flagged as possibly cloned");
            }
        }
        let upn = user
            .as_ref()
            .map(|u| u.user.user_principal_name.to_string())
            .unwrap_or_default();
        // R28: a refusal after the passkey was found names its model too.
        let passkey = user.as_ref().map(|u| u.passkey);
        signins::append(
            &mut tx,
            &SignInEvent {
                passkey_aaguid: passkey.map(|p| p.0),
                passkey_attested: passkey.map(|p| p.1),
                passkey_client: user.as_ref().map(|u| u.client.clone()),
                ..passkey_event(
                    now,
                    user.as_ref().map(|u| u.user.id),
                    &upn,
                    ctx,
                    Some(e.logged()),
                )
            },
        )
        .await?;
        commit(tx).await?;
        Err(e)
    }

    async fn try_passkey_sign_in(
        &self,
        rp: &RelyingParty,
        answer: Answer<'_>,
        ctx: &RequestContext,
        now: Timestamp,
        next: Option<&Continuation>,
    ) -> Result<PasskeySignedIn, (Option<Involved>, PasskeyError)> {
        let Answer {
            cer,
            assertion,
            attachment,
        } = answer;
        let no_user = |e: PasskeyError| (None, e);
        let state: AuthenticationState = serde_json::from_str(&cer.state)
            .map_err(|e| no_user(ServiceError::Internal(format!("ceremony state: {e}")).into()))?;
        let cred_id = URL_SAFE_NO_PAD.encode(&assertion.raw_id);
        // Everything the outcome is decided on, in one read (issue 18): the same statements
        // run for a credential held here or not.
        let SignInReads {
            passkeys: owned,
            owner,
            fido2: stored_fido2,
            member_of,
        } = sign_in_reads::for_credential(self.store().reader(), &cred_id)
            .await
            .map_err(|e| no_user(e.into()))?;
        // A credential not held here is refused as a wrong signature is, by the same checks:
        // decoy ids (offered for names without passkeys) must answer like real ones.
        let Some(stored) = owned.iter().find(|p| p.passkey.credential_id == cred_id) else {
            return Err(no_user(PasskeyError::Unrecognised(
                rp.refuse_unknown_credential(assertion, &state),
            )));
        };
        let Some(user) = owner else {
            // Said only to whoever proves they hold the passkey.
            let credential = credential_of(stored).map_err(no_user)?;
            let count = u32::try_from(stored.passkey.sign_count).unwrap_or(u32::MAX);
            rp.finish_authentication(assertion, &state, &credential, count)
                .map_err(|e| no_user(e.into()))?;
            return Err(no_user(reject(
                "unknownCredential",
                "This passkey's account no longer exists.",
            )));
        };
        // The attachment is this sign-in's; a sign-in reports no transports, so the record
        // carries those the passkey registered with.
        let client = ClientReport {
            attachment,
            transports: stored.client.transports.clone(),
        };
        let with_user = |e: PasskeyError| {
            (
                Some(Involved {
                    user: user.clone(),
                    passkey: (stored.passkey.aaguid, stored.passkey.attested),
                    passkey_id: stored.passkey.id,
                    client: client.clone(),
                }),
                e,
            )
        };
        let credential = credential_of(stored).map_err(with_user)?;
        let old = stored.passkey.sign_count;
        let outcome = rp.finish_authentication(
            assertion,
            &state,
            &credential,
            u32::try_from(old).unwrap_or(u32::MAX),
        );
        // A counter that went backwards is flagged where the refusal is logged (see
        // `finish_passkey_sign_in`), by the ceremony's first answer only.
        let verified = outcome.map_err(|e| with_user(e.into()))?;
        // Which account the ceremony was for, too: answered before the signature, a real
        // credential id sent to another ceremony would tell itself apart from a decoy.
        match cer.user_id {
            Some(bound) if bound != user.id => {
                return Err(with_user(reject(
                    "challengeMismatch",
                    "This passkey belongs to a different account than the username you entered.",
                )))
            }
            None if assertion.response.user_handle.as_deref()
                != Some(user.id.as_bytes().as_slice()) =>
            {
                return Err(with_user(reject(
                    "userHandleMismatch",
                    "The passkey's user handle does not match its account.",
                )))
            }
            _ => {}
        }
        // Why this passkey may not sign in is told only to whoever just proved they hold it:
        // the credential ids are in every username-first request.
        if let Some((_, by)) = &stored.deleted {
            let msg = if by == "admin" {
                "This passkey was removed by your administrator. Remove it from your device too, and ask for a Temporary Access Pass to add a new one."
            } else {
                "You removed this passkey from your account. Remove it from your device too, and sign in another way."
            };
            return Err(with_user(reject("passkeyDeleted", msg)));
        }
        if !user.account_enabled {
            return Err(with_user(reject(
                "accountDisabled",
                "Your account has been disabled. Contact your administrator.",
            )));
        }
        let cfg = fido2_or_default(stored_fido2);
        passkey::sign_in_usability(&cfg, &member_of, &stored.passkey)
            .map_err(|r| with_user(r.into()))?;
        let token = new_token();
        let session = Session {
            // Time-ordered (v7): a sign-in's new session lands on the index's last page.
            id: Uuid::now_v7(),
            user_id: user.id,
            auth_time: now,
            methods: vec![AuthMethod::Passkey],
            expires_at: now + PASSKEY_SESSION,
            passkey_aaguid: Some(stored.passkey.aaguid),
            passkey_attested: stored.passkey.attested,
            credential_id: Some(stored.passkey.id),
            campaign_pending: false,
        };
        // Every write of the sign-in in one batch, committed with those of the sign-ins
        // finishing beside it and answered once durable (group commit, issue 18). The
        // ceremony is spent only with the outcome: single use on any node (R17).
        let mut batch = Batch::new()
            .must_change(
                ceremonies::spend_write(cer.id, cer.expires_at()),
                Stop::Spent,
            )
            .must_change(
                store_pk::record_use_write(
                    stored.passkey.id,
                    store_pk::Use {
                        old,
                        new: i64::from(verified.counter),
                        backed_up: verified.backup_state,
                    },
                    now,
                ),
                Stop::CounterMoved,
            )
            .then(
                sessions::insert_write(&token_key(&token), &session, now)
                    .map_err(|e| with_user(e.into()))?,
            )
            .then(signins::append_write(&SignInEvent {
                passkey_aaguid: Some(stored.passkey.aaguid),
                passkey_attested: Some(stored.passkey.attested),
                passkey_client: Some(client.clone()),
                ..passkey_event(
                    now,
                    Some(user.id),
                    user.user_principal_name.as_str(),
                    ctx,
                    None,
                )
            }));
        // R23: after the first passkey sign-in, the passkey is the preferred method. Only a
        // passkey's first use can be a user's first passkey sign-in.
        if stored.passkey.last_used_at.is_none() {
            batch = batch.then(directory::prefer_if_unset_write(user.id, "passkey"));
        }
        // The authorization the sign-in was for, decided with the new session before anything
        // is kept: allowed, its log entry, grant and code join this batch, all or nothing.
        let mut continued = None;
        // A decision that fails (a read) continues nothing: the sign-in stands, and the
        // browser meets the failure at the request.
        if let Some(next) = next.filter(|n| n.ready_for(&session, now)) {
            match self
                .decide_code(&next.issuer, &next.request, &next.app, &session, &user, ctx)
                .await
            {
                Ok(CodeDecision::Issue(issued)) => {
                    batch = issued.writes.into_iter().fold(batch, Batch::then);
                    continued = Some(issued.redirect);
                }
                Ok(CodeDecision::Refuse { .. }) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "the authorization a sign-in was for could not be decided: left to the browser");
                }
            }
        }
        match self
            .store()
            .commit_batch(batch)
            .await
            .map_err(|e| with_user(e.into()))?
        {
            Outcome::Committed => {}
            Outcome::Stopped(Stop::Spent) => return Err(with_user(unknown_ceremony())),
            Outcome::Stopped(Stop::CounterMoved) => {
                return Err(with_user(reject("counterReplay", "This passkey was just used for another sign-in with the same counter; the sign-in was refused.")))
            }
        }
        Ok(PasskeySignedIn {
            signed_in: SignedIn {
                token,
                session,
                user,
            },
            accepted_credential_ids: owned
                .iter()
                .filter(|p| p.deleted.is_none())
                .map(|p| p.passkey.credential_id.clone())
                .collect(),
            continued,
        })
    }
}

fn passkey_event(
    now: Timestamp,
    user_id: Option<Uuid>,
    upn: &str,
    ctx: &RequestContext,
    failure: Option<(&str, String)>,
) -> SignInEvent {
    ctx.sign_in_event(
        now,
        user_id,
        upn,
        "passkey",
        failure.map(|(code, reason)| (50126, code, reason)),
    )
}

impl Service {
    /// R23: whether the sign-in page should go straight to the passkey prompt for this name,
    /// in a browser that shows `hint` ([`Service::passkey_hint`], set where the name last
    /// signed in with a passkey). Without the name's hint the answer is `false` for every
    /// name, so that the page tells a stranger nothing about who has an account or how they
    /// sign in; unknown or malformed names answer `false` (the page offers every method).
    pub async fn prefers_passkey(
        &self,
        username: &str,
        hint: Option<&str>,
    ) -> Result<bool, ServiceError> {
        let Ok(upn) = Upn::parse(username) else {
            return Ok(false);
        };
        let want = self.passkey_hint(&upn).await?;
        let shown = hint.unwrap_or_default();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            want.as_bytes(),
            shown.as_bytes(),
        )) {
            return Ok(false);
        }
        let mut c = self.store().conn().await?;
        let Some(user) = directory::user_by_upn(&mut c, &upn).await? else {
            return Ok(false);
        };
        Ok(directory::preferred_method(&mut c, user.id)
            .await?
            .as_deref()
            == Some("passkey"))
    }

    /// What a browser that signed in as `upn` with a passkey keeps (R23): a MAC of the name
    /// under a server secret, which nobody can make for a name they have not signed in as.
    pub async fn passkey_hint(&self, upn: &Upn) -> Result<String, ServiceError> {
        let tag = ring::hmac::sign(
            self.name_key().await?,
            format!("passkey-hint|{upn}").as_bytes(),
        );
        Ok(URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }
}

impl Service {
    /// The key of the MACs made of names (decoy ids, passkey hints), each with its own
    /// prefix: read from the store once.
    async fn name_key(&self) -> Result<&ring::hmac::Key, ServiceError> {
        self.decoy_key
            .get_or_try_init(|| async {
                let mut c = self.store().conn().await?;
                let secret =
                    portcullis_store::tenant::server_secret(&mut c, "decoys", &new_token()).await?;
                Ok::<_, ServiceError>(ring::hmac::Key::new(
                    ring::hmac::HMAC_SHA256,
                    secret.as_bytes(),
                ))
            })
            .await
    }
}

impl Service {
    /// The key sign-in ceremonies are sealed with, derived from a stored secret: read once.
    async fn sealing_key(&self) -> Result<&SealingKey, ServiceError> {
        self.sealing_key
            .get_or_try_init(|| async {
                let mut c = self.store().conn().await?;
                let secret =
                    portcullis_store::tenant::server_secret(&mut c, "ceremonies", &new_token())
                        .await?;
                SealingKey::derive(secret.as_bytes())
            })
            .await
    }

    /// The sign-in ceremony a token holds, if it opens and has not expired (R17). Whether
    /// it was spent is known only when spending it, with the outcome.
    async fn open_sign_in_ceremony(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<SignInCeremony, PasskeyError> {
        let cer = sealed::open(self.sealing_key().await?, token).map_err(|_| unknown_ceremony())?;
        if now >= cer.expires_at() {
            return Err(expired_ceremony());
        }
        Ok(cer)
    }
}

/// The library's state as a sealed ceremony keeps it: without the allowed credentials, which
/// only the options needed (a single-credential finish reads the stored one), so that a
/// username-first token does not grow with the user's passkeys.
fn sealable_state(state: &AuthenticationState) -> Result<String, ServiceError> {
    let mut v = serde_json::to_value(state).map_err(|e| ServiceError::Internal(e.to_string()))?;
    if let Some(creds) = v.get_mut("credentials") {
        *creds = Value::Array(vec![]);
    }
    serde_json::to_string(&v).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// A sign-in's answer, opened: the ceremony it answers, the assertion, and how the client
/// reached the authenticator (R24).
struct Answer<'a> {
    cer: &'a SignInCeremony,
    assertion: &'a PublicKeyCredential,
    attachment: Option<Attachment>,
}

/// Why the writes of a verified sign-in were not kept.
enum Stop {
    /// Another answer to the ceremony was kept first.
    Spent,
    /// Another sign-in moved the passkey's counter first.
    CounterMoved,
}

/// Who a refused passkey sign-in concerned, once the passkey was found: its owner, and its
/// model and whether that is attested (R28), for the sign-in log.
struct Involved {
    user: User,
    passkey: (Uuid, bool),
    passkey_id: Uuid,
    /// What the client reported (R24).
    client: ClientReport,
}

/// The decoy credential ids of a name without passkeys: HMAC-SHA256 of the name under
/// the stored `decoys` secret — the same for the same name on every node, unlinkable to
/// anything else, and as long as the ids software passkeys make (32 bytes).
fn decoy_credential_ids(key: &ring::hmac::Key, upn: &Upn) -> Vec<Vec<u8>> {
    let tag = ring::hmac::sign(key, format!("decoy-credential|{upn}").as_bytes());
    vec![tag.as_ref().to_vec()]
}
