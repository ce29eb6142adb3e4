//! Adding passkeys: self-service on Security info (R14, R17, R4, R5, R9) and provisioning by
//! an administrator through Graph's creationOptions and POST.

use super::*;
use portcullis_domain::inventory::Attestation;
use portcullis_webauthn::RegistrationResponse;

impl Service {
    /// R14, R17: starts adding a passkey for the signed-in user.
    pub async fn begin_passkey_registration(
        &self,
        rp: &RelyingParty,
        session: &Session,
        user: &User,
        ctx: &RequestContext,
    ) -> Result<CeremonyStart, PasskeyError> {
        let check = self.registration_allowed(user, session, ctx).await?;
        // R48: refused before any credential is created when no passkey would do.
        if let portcullis_domain::access::PasskeyNeed::NoneCan(_) = &check.need {
            check.admits(Uuid::nil(), false)?;
        }
        let now = self.now();
        let mut c = self.store().conn().await?;
        let (cfg, member_of) = policy_for(&mut c, user.id).await?;
        let mut plan = passkey::may_start_registration(&cfg, &member_of, session, now)?;
        // R48, R32: when only some models would do, their AAGUID must be attested to count.
        if let portcullis_domain::access::PasskeyNeed::Models(_) = check.need {
            plan.attestation_direct = true;
        }
        let exclude = store_pk::for_user(&mut c, user.id)
            .await?
            .iter()
            .filter_map(|p| URL_SAFE_NO_PAD.decode(&p.passkey.credential_id).ok())
            .collect();
        let (options, state) = rp.start_registration(
            user.id.as_bytes(),
            user.user_principal_name.as_str(),
            &user.display_name,
            exclude,
            plan.attestation_direct,
        )?;
        let id = Uuid::new_v4();
        let state =
            serde_json::to_string(&state).map_err(|e| ServiceError::Internal(e.to_string()))?;
        ceremonies::insert(
            &mut c,
            id,
            &Ceremony {
                kind: "register".into(),
                user_id: Some(user.id),
                state,
                expires_at: now + CEREMONY_TTL,
            },
            now,
        )
        .await?;
        Ok(CeremonyStart {
            ceremony_id: id,
            options,
        })
    }

    /// R4, R5, R9, R17, R20: verifies the response and stores the passkey — or stores nothing.
    pub async fn finish_passkey_registration(
        &self,
        rp: &RelyingParty,
        session: &Session,
        user: &User,
        req: RegistrationRequest<'_>,
        ctx: &RequestContext,
    ) -> Result<Passkey, PasskeyError> {
        let RegistrationRequest {
            ceremony_id,
            response,
            name,
            device,
        } = req;
        // Conditional Access may have changed, or the user moved, since the options.
        let check = self.registration_allowed(user, session, ctx).await?;
        // A response that does not even read is malformed input: refused before it spends
        // the ceremony (any later refusal spends it, R17).
        let response = RelyingParty::parse_registration(response)?;
        let now = self.now();
        let mut c = self.store().conn().await?;
        let cer = self
            .take_ceremony(&mut c, ceremony_id, "register", now)
            .await?;
        if cer.user_id != Some(user.id) {
            return Err(reject(
                "challengeMismatch",
                "This registration request belongs to another user.",
            ));
        }
        let (cfg, member_of) = policy_for(&mut c, user.id).await?;
        // The policy may have changed since the options were issued; it is checked again below.
        let state: RegistrationState = serde_json::from_str(&cer.state)
            .map_err(|e| ServiceError::Internal(format!("ceremony state: {e}")))?;
        let plan = passkey::may_start_registration(&cfg, &member_of, session, now)?;
        drop(c);
        self.complete_registration(
            rp,
            user,
            &cfg,
            &member_of,
            plan.attestation_direct,
            &state,
            &response,
            name,
            device,
            &self_actor(user),
            "User registered security info",
            Some(&check),
            Some(session.id),
        )
        .await
    }

    /// Verifies a registration response against its state and the policy, and stores the
    /// passkey with its audit entry — or stores nothing. Shared by self-service and provisioning.
    #[allow(clippy::too_many_arguments)]
    async fn complete_registration(
        &self,
        rp: &RelyingParty,
        user: &User,
        cfg: &Fido2Configuration,
        member_of: &[Uuid],
        attestation_direct: bool,
        state: &RegistrationState,
        response: &RegistrationResponse,
        name: Option<String>,
        device: DeviceInfo,
        actor: &Actor,
        activity: &'static str,
        check: Option<&crate::conditional_access::RegistrationCheck>,
        keep: Option<Uuid>,
    ) -> Result<Passkey, PasskeyError> {
        let now = self.now();
        let cred =
            rp.finish_parsed_registration(response, state, std::time::SystemTime::from(now))?;
        // Any chain is checked, so that an AAGUID counts as attested (R32) whenever its
        // statement signs it and a trusted root vouches for it. Only where some ruleset
        // enforces attestation does an outage of the app attestation service refuse the
        // registration; elsewhere the passkey is stored with its AAGUID self-reported.
        let verdict = if cred.attestation.has_chain() {
            match self.attestation_verdict(&cred).await? {
                Ok(v) => v,
                Err(e) if attestation_direct => {
                    return Err(reject("attestationServiceUnavailable", e.to_string()))
                }
                Err(e) => portcullis_webauthn::TrustVerdict::Untrusted(e.to_string()),
            }
        } else {
            portcullis_webauthn::TrustVerdict::Untrusted("no certificate chain".into())
        };
        if let portcullis_webauthn::TrustVerdict::Untrusted(why) = &verdict {
            if cred.attestation.has_chain() {
                tracing::info!(aaguid = %cred.aaguid, %why, "attestation not trusted");
            }
        }
        let facts = RegistrationFacts {
            aaguid: cred.aaguid,
            has_chain: cred.attestation.has_chain(),
            trusted: verdict.is_trusted(),
            aaguid_attested: verdict.aaguid_attested(),
            self_attested: cred.attestation
                == portcullis_webauthn::AttestationKind::SelfAttestation,
            synced: cred.backup_eligible,
        };
        // R48: a passkey the user could not sign in with on its own is not stored.
        if let Some(check) = check {
            check
                .admits(cred.aaguid, facts.aaguid_attested)
                .inspect_err(|_| {
                    tracing::info!(user = %user.user_principal_name, aaguid = %cred.aaguid, attested = facts.aaguid_attested, "passkey registration refused: it would not meet the strength that governs sign-in (R48)");
                })?;
        }
        let ruleset = passkey::decide_registration(cfg, member_of, &facts).inspect_err(|r| {
            tracing::info!(user = %user.user_principal_name, aaguid = %cred.aaguid, code = r.code(), "passkey registration refused (AAGUID self-reported unless attested)");
        })?;
        let model = self.metadata_for(cred.aaguid).await?.map(|m| m.name);
        let credential_id = URL_SAFE_NO_PAD.encode(&cred.credential_id);
        let display_name = clean_text(name, NAME_MAX)
            .or_else(|| model.clone())
            .unwrap_or_else(|| "Passkey".into());
        let stored = StoredPasskey {
            passkey: Passkey {
                id: Uuid::new_v4(),
                user_id: user.id,
                credential_id: credential_id.clone(),
                aaguid: cred.aaguid,
                display_name,
                fmt: cred.fmt.clone(),
                attested: facts.aaguid_attested,
                synced: cred.backup_eligible,
                created_at: now,
                last_used_at: None,
                sign_count: i64::from(cred.credential.counter),
                device: clean_text(device.device, 64),
                device_profile: clean_text(device.profile, 16),
                flagged_clone: false,
                disabled: false,
            },
            credential_json: serde_json::to_string(&cred.credential)
                .map_err(|e| ServiceError::Internal(e.to_string()))?,
            x5c: cred
                .x5c
                .iter()
                .map(|d| base64::engine::general_purpose::STANDARD.encode(d))
                .collect(),
            profile_id: ruleset.profile_id.map(|p| p.to_string()),
            deleted: None,
            attestation: attestation_of(cred.attestation),
            backed_up: Some(cred.backup_state),
            client: super::client_report(response.reported()),
        };
        let mut tx = self.store().begin().await?;
        if let Some(existing) = store_pk::by_credential_id(&mut tx, &credential_id).await? {
            if existing.deleted.is_none() {
                return Err(reject(
                    "alreadyRegistered",
                    "This passkey is already registered.",
                ));
            }
        }
        store_pk::insert(&mut tx, &stored).await?;
        // The user's sessions that only a password opened end (the one registering, if it
        // is one, stays).
        crate::sessions::end_password_only_sessions(&mut tx, user.id, keep, now).await?;
        let rec = security_info_record(
            activity,
            Operation::Add,
            actor,
            user,
            None,
            Some(
                json!({"id": stored.passkey.id, "aaGuid": cred.aaguid, "model": model, "fmt": cred.fmt, "attestation": cred.attestation, "aaGuidAttested": facts.aaguid_attested, "profile": ruleset.name}),
            ),
            format!(
                "User registered a passkey ({}); the AAGUID is self-reported unless attested",
                stored.passkey.display_name
            ),
        );
        audit::append(&mut tx, &rec, now).await?;
        // R55: a passkey that meets the registration campaign releases the sessions it
        // interrupted, in every tab.
        let campaign = crate::campaign::configured(&mut tx).await?;
        if !crate::campaign::nudge(&mut tx, &campaign, user.id, now)
            .await?
            .interrupts()
        {
            portcullis_store::campaign::release_user(&mut tx, user.id).await?;
        }
        commit(tx).await?;
        Ok(stored.passkey)
    }
}

/// What Security info offers a user now (R6, R14, R16).
#[derive(Debug, Clone)]
pub struct RegistrationOffer {
    /// `Ok` when the user may add a passkey now; otherwise why not (step-up, policy …).
    pub may_add: Result<(), PasskeyRefusal>,
    /// The guided "Passkey in Authenticator" option (R6).
    pub authenticator_option: bool,
    /// The legacy "Having trouble?" flow (hidden when attestation is enforced, R16).
    pub legacy_flow: bool,
    /// What Conditional Access lets this user add here (R40, R48): which new passkeys would
    /// let them back in on their own, or why registering is refused.
    pub conditional_access: std::result::Result<portcullis_domain::access::PasskeyNeed, String>,
}

impl RegistrationOffer {
    /// R48: only Authenticator passkeys would do — offer only that option.
    pub fn authenticator_only(&self) -> bool {
        use portcullis_domain::policy::fido2::AUTHENTICATOR_AAGUIDS;
        matches!(&self.conditional_access, Ok(portcullis_domain::access::PasskeyNeed::Models(m))
            if m.iter().all(|a| AUTHENTICATOR_AAGUIDS.contains(a)))
    }
}

impl Service {
    /// What Security info should offer this user right now.
    pub async fn registration_offer(
        &self,
        user: &User,
        session: &Session,
        ctx: &crate::RequestContext,
    ) -> Result<RegistrationOffer, ServiceError> {
        let (d, check, _) = self.registration_decision(user, session, ctx).await?;
        let conditional_access = match crate::render::registration_refusal(&d.verdict) {
            Some((_, message)) => Err(message),
            None => Ok(check.need),
        };
        let mut c = self.store().conn().await?;
        let cfg = fido2(current(&mut c, MethodId::Fido2).await?);
        let member_of = directory::member_of(&mut c, user.id).await?;
        Ok(RegistrationOffer {
            may_add: passkey::may_start_registration(&cfg, &member_of, session, self.now())
                .map(|_| ()),
            authenticator_option: passkey::authenticator_option_offered(&cfg),
            legacy_flow: passkey::legacy_flow_offered(&cfg, &member_of),
            conditional_access,
        })
    }
}

impl Service {
    /// Graph `fido2Methods/creationOptions`: an administrator starts provisioning a passkey for
    /// a user (graph-api.md §3). Policy applies (R1, R2, R4, R5, R9; self-service must be
    /// allowed, as in Entra); the challenge lives `timeout` and is found again by its value.
    pub async fn begin_provisioning(
        &self,
        rp: &RelyingParty,
        actor: &Actor,
        user: &str,
        timeout: Duration,
    ) -> Result<(Value, Timestamp), PasskeyError> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let target = managed_user(&mut c, actor, user).await?;
        let (cfg, member_of) = policy_for(&mut c, target.id).await?;
        let rules = passkey::rulesets(&cfg, &member_of)?;
        if !cfg.is_self_service_registration_allowed {
            return Err(PasskeyRefusal::SelfServiceDisabled.into());
        }
        let exclude = store_pk::for_user(&mut c, target.id)
            .await?
            .iter()
            .filter_map(|p| URL_SAFE_NO_PAD.decode(&p.passkey.credential_id).ok())
            .collect();
        let direct = rules.iter().any(|r| r.attestation_required);
        let (options, state) = rp.start_registration(
            target.id.as_bytes(),
            target.user_principal_name.as_str(),
            &target.display_name,
            exclude,
            direct,
        )?;
        let challenge = options
            .get("challenge")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let expires_at = now + timeout;
        let state =
            serde_json::to_string(&state).map_err(|e| ServiceError::Internal(e.to_string()))?;
        ceremonies::insert_with_challenge(
            &mut c,
            Uuid::new_v4(),
            &Ceremony {
                kind: "provision".into(),
                user_id: Some(target.id),
                state,
                expires_at,
            },
            Some(&challenge),
            now,
        )
        .await?;
        Ok((options, expires_at))
    }

    /// Graph `POST fido2Methods`: verifies a provisioned credential (found by its challenge)
    /// and stores it for the user — or stores nothing.
    pub async fn finish_provisioning(
        &self,
        rp: &RelyingParty,
        actor: &Actor,
        user: &str,
        display_name: Option<String>,
        credential: &Value,
    ) -> Result<Passkey, PasskeyError> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let target = managed_user(&mut c, actor, user).await?;
        let client_data = credential
            .pointer("/response/clientDataJSON")
            .and_then(Value::as_str)
            .and_then(|s| URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok())
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .ok_or_else(|| {
                reject(
                    "malformedResponse",
                    "publicKeyCredential.response.clientDataJSON is not base64url JSON.",
                )
            })?;
        let challenge = client_data
            .get("challenge")
            .and_then(Value::as_str)
            .ok_or_else(|| reject("malformedResponse", "clientDataJSON has no challenge."))?;
        // Graph's webauthnPublicKeyCredential carries no rawId or type; WebAuthn JSON does.
        let mut response = credential.clone();
        if let Value::Object(m) = &mut response {
            let id = m.get("id").cloned().unwrap_or(Value::Null);
            m.entry("rawId").or_insert(id);
            m.entry("type")
                .or_insert(Value::String("public-key".into()));
        }
        // Malformed input spends nothing; any later refusal spends the challenge (R17).
        let response = RelyingParty::parse_registration(&response)?;
        let cer = ceremonies::take_by_challenge(&mut c, challenge, "provision", now)
            .await?
            .ok_or_else(|| reject("challengeUnknown", "This challenge was already used or never issued; request creationOptions again."))?;
        if now >= cer.expires_at {
            return Err(reject(
                "challengeExpired",
                "The challenge expired; request creationOptions again.",
            ));
        }
        if cer.user_id != Some(target.id) {
            return Err(reject(
                "challengeMismatch",
                "These creation options were issued for another user.",
            ));
        }
        let (cfg, member_of) = policy_for(&mut c, target.id).await?;
        let rules = passkey::rulesets(&cfg, &member_of)?;
        if !cfg.is_self_service_registration_allowed {
            return Err(PasskeyRefusal::SelfServiceDisabled.into());
        }
        let state: RegistrationState = serde_json::from_str(&cer.state)
            .map_err(|e| ServiceError::Internal(format!("ceremony state: {e}")))?;
        drop(c);
        let direct = rules.iter().any(|r| r.attestation_required);
        self.complete_registration(
            rp,
            &target,
            &cfg,
            &member_of,
            direct,
            &state,
            &response,
            display_name,
            DeviceInfo::default(),
            actor,
            "Admin registered security info",
            // An administrator provisions outside the user's sign-in: no R48 check.
            None,
            // Nor does any of the user's sessions stay if a password alone opened it.
            None,
        )
        .await
    }
}

/// The inventory's name for how the statement vouched for the passkey (R52).
fn attestation_of(k: portcullis_webauthn::AttestationKind) -> Attestation {
    use portcullis_webauthn::AttestationKind as K;
    match k {
        K::None => Attestation::None,
        K::SelfAttestation => Attestation::SelfAttestation,
        K::Basic => Attestation::Basic,
        K::AttCa => Attestation::AttCa,
        K::AnonCa => Attestation::AnonCa,
        K::Uncertain => Attestation::Uncertain,
    }
}
