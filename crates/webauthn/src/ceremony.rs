//! Registration and authentication ceremonies.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::{Duration, SystemTime};
use url::Url;
use uuid::Uuid;
use webauthn_rs_core::proto::{
    AttestationConveyancePreference, AttestationFormat, AttestationMetadata, AuthenticationState,
    COSEAlgorithm, Credential, ParsedAttestation, ParsedAttestationData, PublicKeyCredential,
    RegisterPublicKeyCredential, RegisteredExtensions, RegistrationState,
    SerialisableAttestationData, UserVerificationPolicy,
};
use webauthn_rs_core::WebauthnCore;

use crate::assertion::RingKey;
use crate::error::{classify, CeremonyError};

/// How long a browser may take over a ceremony (the server's own expiry is 5 minutes).
const AUTHENTICATOR_TIMEOUT: Duration = Duration::from_secs(300);

/// The relying party: this service's RP ID and origin.
#[derive(Debug, Clone)]
pub struct RelyingParty {
    core: WebauthnCore,
    rp_id: String,
    origin: Url,
}

/// What kind of attestation a registration carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttestationKind {
    /// No attestation (`none`).
    None,
    /// Self attestation (signed by the credential key itself).
    #[serde(rename = "self")]
    SelfAttestation,
    /// Basic attestation with a certificate chain.
    Basic,
    /// Attestation CA (e.g. TPM).
    #[serde(rename = "attca")]
    AttCa,
    /// Anonymization CA (e.g. Apple).
    #[serde(rename = "anonca")]
    AnonCa,
    /// Anything the library could not place.
    Uncertain,
}

impl AttestationKind {
    /// Whether the statement carries a certificate chain that could chain to a trusted root.
    pub fn has_chain(self) -> bool {
        matches!(self, Self::Basic | Self::AttCa | Self::AnonCa)
    }
}

/// A credential that passed every cryptographic check of registration.
#[derive(Debug, Clone)]
pub struct NewCredential {
    /// The library's credential (public key, counter …), stored as JSON.
    pub credential: Credential,
    /// Credential id.
    pub credential_id: Vec<u8>,
    /// The authenticator model id from authenticatorData (self-reported unless attested).
    pub aaguid: Uuid,
    /// Attestation statement format, e.g. `packed`, `none`.
    pub fmt: String,
    /// Attestation type.
    pub attestation: AttestationKind,
    /// Attestation certificates (DER), leaf first, when present.
    pub x5c: Vec<Vec<u8>>,
    /// Whether the statement's certificate signs the AAGUID (`packed` or `tpm` with the
    /// `id-fido-gen-ce-aaguid` extension, see `binding`). Only then can a trusted chain
    /// attest the model; otherwise the AAGUID stays self-reported (R32).
    pub aaguid_signed: bool,
    /// UV flag at registration.
    pub user_verified: bool,
    /// BE flag: the key may be synced (a synced passkey) rather than device-bound.
    pub backup_eligible: bool,
    /// BS flag.
    pub backup_state: bool,
}

/// A verified assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assertion {
    /// The authenticator's new signature counter.
    pub counter: u32,
    /// UV flag.
    pub user_verified: bool,
    /// BS flag now.
    pub backup_state: bool,
}

fn json_err(what: &str, e: serde_json::Error) -> CeremonyError {
    CeremonyError::new(
        "malformedResponse",
        format!("The {what} is not in the expected shape: {e}"),
    )
}

impl RelyingParty {
    /// The relying party for a public URL: RP ID is its host, origin its origin.
    pub fn new(public_url: &Url, name: &str) -> Result<Self, CeremonyError> {
        let rp_id = public_url
            .host_str()
            .ok_or_else(|| CeremonyError::new("configuration", "the public URL has no host"))?
            .to_string();
        let origin = Url::parse(&public_url.origin().ascii_serialization())
            .map_err(|e| CeremonyError::new("configuration", e.to_string()))?;
        let core = WebauthnCore::new_unsafe_experts_only(
            name,
            &rp_id,
            vec![origin.clone()],
            AUTHENTICATOR_TIMEOUT,
            Some(false),
            Some(false),
        );
        Ok(RelyingParty {
            core,
            rp_id,
            origin,
        })
    }

    /// A relying party with an explicit RP ID and origin, unrelated to this server's public
    /// URL: for checking another site's responses offline (`verify-registration`). A server
    /// built on it would accept responses made for that origin — hence the name and the
    /// `danger-offline-verification` feature it needs.
    #[cfg(feature = "danger-offline-verification")]
    pub fn danger_with_origin(rp_id: &str, origin: &Url, name: &str) -> Self {
        let origin =
            Url::parse(&origin.origin().ascii_serialization()).unwrap_or_else(|_| origin.clone());
        let core = WebauthnCore::new_unsafe_experts_only(
            name,
            rp_id,
            vec![origin.clone()],
            AUTHENTICATOR_TIMEOUT,
            Some(false),
            Some(false),
        );
        RelyingParty {
            core,
            rp_id: rp_id.to_string(),
            origin,
        }
    }

    /// A registration state for a challenge issued elsewhere (offline verification): user
    /// verification preferred — the caller decides whether UV is required — and every
    /// algorithm the library knows accepted. Built through the state's public serde form,
    /// it is not single-use and not bound to any ceremony of this server: only for checking
    /// a recorded response, behind the `danger-offline-verification` feature.
    #[cfg(feature = "danger-offline-verification")]
    pub fn danger_state_for_foreign_challenge(
        &self,
        challenge: &[u8],
    ) -> Result<RegistrationState, CeremonyError> {
        let (_, state) = self.start_registration(&[0], "offline", "offline", vec![], true)?;
        let v = serde_json::to_value(&state).map_err(|e| json_err("registration state", e))?;
        let Value::Object(mut m) = v else {
            return Err(CeremonyError::new(
                "internalError",
                "the library's registration state is not a JSON object",
            ));
        };
        m.insert(
            "challenge".into(),
            Value::String(base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                challenge,
            )),
        );
        m.insert(
            "policy".into(),
            serde_json::to_value(UserVerificationPolicy::Preferred)
                .map_err(|e| json_err("registration state", e))?,
        );
        m.insert(
            "credential_algorithms".into(),
            serde_json::to_value(COSEAlgorithm::all_possible_algs())
                .map_err(|e| json_err("registration state", e))?,
        );
        serde_json::from_value(Value::Object(m)).map_err(|e| json_err("registration state", e))
    }

    /// The RP ID.
    pub fn rp_id(&self) -> &str {
        &self.rp_id
    }

    /// The origin responses must come from.
    pub fn origin(&self) -> &Url {
        &self.origin
    }

    /// R17: options for creating a passkey — discoverable credential and user verification
    /// required, the user's passkeys excluded, attestation `direct` when it will be
    /// checked else `none`, ES256 and RS256 offered. Returns the
    /// `publicKey` JSON for `parseCreationOptionsFromJSON` and the state to keep.
    pub fn start_registration(
        &self,
        user_handle: &[u8],
        name: &str,
        display_name: &str,
        exclude: Vec<Vec<u8>>,
        attestation_direct: bool,
    ) -> Result<(Value, RegistrationState), CeremonyError> {
        let builder = self
            .core
            .new_challenge_register_builder(user_handle, name, display_name)
            .map_err(|e| classify(&e))?
            .attestation(if attestation_direct {
                AttestationConveyancePreference::Direct
            } else {
                AttestationConveyancePreference::None
            })
            .user_verification_policy(UserVerificationPolicy::Required)
            .exclude_credentials(Some(exclude))
            // EdDSA last: an authenticator that does ES256 or RS256 keeps choosing as before;
            // Ed25519 keys are verified beside the library (`okp`).
            .credential_algorithms(vec![
                COSEAlgorithm::ES256,
                COSEAlgorithm::RS256,
                COSEAlgorithm::EDDSA,
            ])
            .require_resident_key(true);
        let (ccr, state) = self
            .core
            .generate_challenge_register(builder)
            .map_err(|e| classify(&e))?;
        let v =
            serde_json::to_value(&ccr.public_key).map_err(|e| json_err("creation options", e))?;
        Ok((strip_nulls(v), state))
    }

    /// Verifies a registration response (`PublicKeyCredential.toJSON()`) against its state,
    /// at time `at`. Attestation *statements* are verified here; whether their chain is
    /// trusted is a policy question answered by the caller.
    pub fn finish_registration(
        &self,
        response: &Value,
        state: &RegistrationState,
        at: SystemTime,
    ) -> Result<NewCredential, CeremonyError> {
        self.finish_parsed_registration(&Self::parse_registration(response)?, state, at)
    }

    /// [`Self::finish_registration`] for a response already read.
    pub fn finish_parsed_registration(
        &self,
        response: &RegistrationResponse,
        state: &RegistrationState,
        at: SystemTime,
    ) -> Result<NewCredential, CeremonyError> {
        let mut reg = response.reg.clone();
        // Statements the library refuses outright are checked by `statement`; the library
        // checks everything else on the object re-encoded as `none`.
        let read = &response.read;
        let aaguid = read.aaguid;
        if let Some(d) = &read.own {
            if d.ed25519().is_some() {
                // The library will check that the stand-in's ES256 was offered; EdDSA must be.
                let offered = serde_json::to_value(state)
                    .ok()
                    .and_then(|s| s.get("credential_algorithms").cloned())
                    .and_then(|a| serde_json::from_value::<Vec<COSEAlgorithm>>(a).ok())
                    .is_some_and(|a| a.contains(&COSEAlgorithm::EDDSA));
                if !offered {
                    return Err(CeremonyError::new(
                        "algorithmNotOffered",
                        "The passkey uses EdDSA (Ed25519), which this registration did not offer.",
                    ));
                }
            }
            reg.response.attestation_object = d.as_none.clone();
        }
        let mut credential = self
            .core
            .register_credential(&reg, state, None)
            .map_err(|e| classify(&e))?;

        if let Some(d) = &read.own {
            let (v, format) = d.verify(&credential, aaguid, &reg.response.client_data_json, at)?;
            credential.attestation = ParsedAttestation {
                data: ParsedAttestationData::try_from(v.data).map_err(|e| classify(&e))?,
                metadata: v.metadata,
            };
            // The library keeps the client's transports for packed and tpm statements; it saw
            // this one as `none`, so apply its rule to the real format.
            credential.transports =
                matches!(format, AttestationFormat::Packed | AttestationFormat::Tpm)
                    .then(|| reg.response.transports.clone())
                    .flatten();
            credential.attestation_format = format;
            if let Some(key) = d.ed25519() {
                credential.cred = key.cose();
            }
        }
        let (attestation, x5c) = match credential.attestation.data.clone().into() {
            SerialisableAttestationData::None => (AttestationKind::None, vec![]),
            SerialisableAttestationData::Self_ => (AttestationKind::SelfAttestation, vec![]),
            SerialisableAttestationData::Basic(c) => (AttestationKind::Basic, c),
            SerialisableAttestationData::AttCa(c) => (AttestationKind::AttCa, c),
            SerialisableAttestationData::AnonCa(c) => (AttestationKind::AnonCa, c),
            SerialisableAttestationData::ECDAA | SerialisableAttestationData::Uncertain => {
                (AttestationKind::Uncertain, vec![])
            }
        };
        let fmt = serde_json::to_value(&credential.attestation_format)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "unknown".into());
        // A U2F authenticator has no AAGUID: the client writes zeros, and the statement signs
        // none of it. Anything else was written by whoever built the object (R4).
        if credential.attestation_format == AttestationFormat::FIDOU2F && !aaguid.is_nil() {
            return Err(CeremonyError::new(
                "aaguidNotAttestable",
                format!("A fido-u2f attestation cannot name an authenticator model, yet this one claims AAGUID {aaguid}: its statement does not sign it, so the registration was refused (R4, R32)."),
            ));
        }
        let aaguid_signed =
            crate::binding::signs_aaguid(&credential.attestation_format, &x5c, aaguid);
        Ok(NewCredential {
            credential_id: credential.cred_id.to_vec(),
            aaguid,
            fmt,
            attestation,
            x5c,
            aaguid_signed,
            user_verified: credential.user_verified,
            backup_eligible: credential.backup_eligible,
            backup_state: credential.backup_state,
            credential,
        })
    }

    /// Options for a sign-in: listing `allow` (username-first, R21) or none (usernameless).
    pub fn start_authentication(
        &self,
        allow: Vec<Credential>,
    ) -> Result<(Value, AuthenticationState), CeremonyError> {
        let builder = self
            .core
            .new_challenge_authenticate_builder(allow, Some(UserVerificationPolicy::Required))
            .map_err(|e| classify(&e))?;
        let (rcr, state) = self
            .core
            .generate_challenge_authenticate(builder)
            .map_err(|e| classify(&e))?;
        let v =
            serde_json::to_value(&rcr.public_key).map_err(|e| json_err("request options", e))?;
        Ok((strip_nulls(v), state))
    }

    /// Reads a registration response (`PublicKeyCredential.toJSON()`): it has the shape of
    /// one and its type is `public-key`. Nothing is verified yet; a response that does not
    /// read is malformed input, refused before it can spend a ceremony.
    pub fn parse_registration(response: &Value) -> Result<RegistrationResponse, CeremonyError> {
        let reg: RegisterPublicKeyCredential = serde_json::from_value(response.clone())
            .map_err(|e| json_err("registration response", e))?;
        public_key_type(response)?;
        names_one_credential(response, &reg.id, reg.raw_id.as_ref())?;
        client_data_reads(&reg.response.client_data_json)?;
        let read = crate::statement::read(&reg.response.attestation_object)?;
        let reported = Reported::of(response);
        Ok(RegistrationResponse {
            reg,
            read,
            reported,
        })
    }

    /// Parses a sign-in response (`PublicKeyCredential.toJSON()`): its shape, its type,
    /// `clientDataJSON` and `authenticatorData` read. A response that does not read is
    /// malformed input, refused before it can spend a ceremony.
    pub fn parse_assertion(response: &Value) -> Result<PublicKeyCredential, CeremonyError> {
        let parsed: PublicKeyCredential = serde_json::from_value(response.clone())
            .map_err(|e| json_err("sign-in response", e))?;
        public_key_type(response)?;
        names_one_credential(response, &parsed.id, parsed.raw_id.as_ref())?;
        client_data_reads(&parsed.response.client_data_json)?;
        webauthn_rs_core::internals::AuthenticatorData::<webauthn_rs_core::proto::Authentication>::try_from(
            parsed.response.authenticator_data.as_slice(),
        )
        .map_err(|_| {
            CeremonyError::new(
                "malformedResponse",
                "The sign-in response's authenticatorData does not read as authenticator data.",
            )
        })?;
        Ok(parsed)
    }

    /// R22: verifies an assertion for one stored credential whose counter is `stored_counter`:
    /// origin, RP ID, challenge, UV, signature, and the counter rule. ES256 and Ed25519
    /// signatures are verified with `ring`, every other check by the library (see
    /// `assertion`); other keys by the library alone.
    pub fn finish_authentication(
        &self,
        response: &PublicKeyCredential,
        state: &AuthenticationState,
        credential: &Credential,
        stored_counter: u32,
    ) -> Result<Assertion, CeremonyError> {
        if let Some(key) = RingKey::of(&credential.cred) {
            return crate::assertion::check(
                &self.core,
                response,
                state,
                credential,
                &key,
                stored_counter,
            );
        }
        let cred = Credential {
            counter: stored_counter,
            ..credential.clone()
        };
        let r = self
            .core
            .authenticate_single_credential(response, state, &cred)
            .map_err(|e| classify(&e))?;
        Ok(Assertion {
            counter: r.counter(),
            user_verified: r.user_verified(),
            backup_state: r.backup_state(),
        })
    }

    /// Refuses an assertion for a credential this service does not hold — a decoy id of a
    /// name without passkeys, an id made up, a passkey removed for good — the way it refuses
    /// a wrong signature: the same checks, in the same order, with an ES256 verify, against
    /// a key whose private half nobody holds. Whoever sends a decoy id back cannot tell it
    /// from a real one by the answer.
    pub fn refuse_unknown_credential(
        &self,
        response: &PublicKeyCredential,
        state: &AuthenticationState,
    ) -> CeremonyError {
        let flags = response
            .response
            .authenticator_data
            .get(32)
            .copied()
            .unwrap_or_default();
        let key = match RingKey::nobodys() {
            Ok(key) => key,
            Err(e) => return e,
        };
        let cred = Credential {
            cred_id: response.raw_id.clone(),
            // Any key: `check` hands the library the sentinel and verifies with `key`.
            cred: crate::assertion::sentinel(),
            counter: 0,
            transports: None,
            user_verified: true,
            // As the response says, so that the check that fails is the signature's.
            backup_eligible: flags & 0x08 != 0,
            backup_state: flags & 0x10 != 0,
            registration_policy: UserVerificationPolicy::Required,
            extensions: RegisteredExtensions::none(),
            attestation: ParsedAttestation {
                data: ParsedAttestationData::None,
                metadata: AttestationMetadata::None,
            },
            attestation_format: AttestationFormat::None,
        };
        match crate::assertion::check(&self.core, response, state, &cred, &key, 0) {
            Err(e) => e,
            // Nobody holds the key's private half.
            Ok(_) => CeremonyError::new(
                "badSignature",
                "The passkey's signature does not verify against the stored public key.",
            ),
        }
    }
}

/// Browsers' JSON parsers reject `null` where a member is optional; drop such members.
fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

/// A registration response that reads ([`RelyingParty::parse_registration`]); only such a
/// response is verified.
#[derive(Debug, Clone)]
pub struct RegistrationResponse {
    reg: RegisterPublicKeyCredential,
    read: crate::statement::Read,
    reported: Reported,
}

impl RegistrationResponse {
    /// What the client said about the authenticator (R24).
    pub fn reported(&self) -> &Reported {
        &self.reported
    }
}

/// What a client says about the authenticator beside a response, unsigned and unverified
/// (R24): `authenticatorAttachment` and, at registration, `response.transports`, as the
/// client wrote them — a few short strings, for the caller to read into its own types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reported {
    /// `authenticatorAttachment`, when a string.
    pub attachment: Option<String>,
    /// `response.transports`: the strings among its first 16 entries, each at most 32 bytes.
    pub transports: Vec<String>,
}

impl Reported {
    /// Reads them from a response (`PublicKeyCredential.toJSON()`); anything not in the
    /// shape WebAuthn gives them is no report.
    pub fn of(response: &Value) -> Reported {
        let short = |v: &Value| v.as_str().filter(|s| s.len() <= 32).map(str::to_string);
        Reported {
            attachment: response.get("authenticatorAttachment").and_then(short),
            transports: response
                .pointer("/response/transports")
                .and_then(Value::as_array)
                .map(|a| a.iter().take(16).filter_map(short).collect())
                .unwrap_or_default(),
        }
    }
}

/// `id` and `rawId` name one credential (`id` is `rawId` in base64url), and the hints a
/// client adds have their types: `authenticatorAttachment` a string (or null),
/// `clientExtensionResults` an object.
fn names_one_credential(response: &Value, id: &str, raw_id: &[u8]) -> Result<(), CeremonyError> {
    use base64::Engine as _;
    let malformed = |m: &str| Err(CeremonyError::new("malformedResponse", m.to_string()));
    if raw_id.is_empty()
        || base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw_id)
            != id.trim_end_matches('=')
    {
        return malformed("The credential's id and rawId do not name the same credential.");
    }
    if !response
        .get("authenticatorAttachment")
        .is_none_or(|a| a.is_string() || a.is_null())
    {
        return malformed("The credential's authenticatorAttachment is not a string.");
    }
    if !response
        .get("clientExtensionResults")
        .is_none_or(Value::is_object)
    {
        return malformed("The credential's clientExtensionResults is not an object.");
    }
    Ok(())
}

/// `clientDataJSON` is JSON in the shape WebAuthn defines (what it says is checked later).
fn client_data_reads(client_data_json: &[u8]) -> Result<(), CeremonyError> {
    serde_json::from_slice::<webauthn_rs_core::proto::CollectedClientData>(client_data_json)
        .map(|_| ())
        .map_err(|e| json_err("clientDataJSON", e))
}

/// A credential's `type` is `public-key`, the only type WebAuthn defines.
fn public_key_type(response: &Value) -> Result<(), CeremonyError> {
    match response.get("type").and_then(Value::as_str) {
        Some("public-key") => Ok(()),
        other => Err(CeremonyError::new(
            "malformedCredentialType",
            format!(
                "The credential's type is {}, not \"public-key\".",
                other.map_or_else(
                    || "missing".to_string(),
                    |t| format!("\"{}\"", t.chars().take(40).collect::<String>())
                )
            ),
        )),
    }
}
