//! Ceremony failures, each with a stable code, a sentence, and whether retrying helps.

use webauthn_rs_core::error::WebauthnError;

/// Why a registration or sign-in response was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CeremonyError {
    /// Stable machine-readable code, e.g. `originMismatch`.
    pub code: &'static str,
    /// What failed, for people.
    pub message: String,
}

impl CeremonyError {
    /// A refusal with a code and message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        CeremonyError {
            code,
            message: message.into(),
        }
    }
}

/// Maps the library's error to a named check, so a refusal says which check failed.
pub fn classify(e: &WebauthnError) -> CeremonyError {
    use WebauthnError as W;
    let (code, msg): (&'static str, &str) = match e {
        W::InvalidRPOrigin => ("originMismatch", "The response came from a different website origin than this sign-in service (phishing protection)."),
        W::InvalidRPIDHash => ("rpIdMismatch", "The passkey was created for a different relying party (RP ID) than this service."),
        W::MismatchedChallenge => ("challengeMismatch", "The response does not answer the challenge this service issued."),
        W::InvalidClientDataType => ("wrongCeremony", "The response is for a different WebAuthn ceremony (create vs get)."),
        W::UserNotVerified => ("userNotVerified", "The authenticator did not verify you (PIN or biometric); user verification is required."),
        W::UserNotPresent => ("userNotPresent", "The authenticator did not confirm user presence."),
        W::CredentialPossibleCompromise => ("counterRegression", "The passkey's signature counter went backwards: it may have been cloned. It has been flagged; contact your administrator."),
        W::AuthenticationFailure | W::SignatureInvalid => ("badSignature", "The passkey's signature does not verify against the stored public key."),
        W::CredentialNotFound => ("unknownCredential", "This passkey is not registered here."),
        W::CredentialExcludedFromRequest => ("alreadyRegistered", "This authenticator already holds one of your passkeys."),
        W::CredentialAlteredAlgFromRequest => ("algorithmNotOffered", "The passkey uses an algorithm this service did not offer."),
        W::COSEKeyEDUnsupported | W::SshPublicKeyEDUnsupported | W::COSEKeyInvalidType => ("unsupportedKey", "The passkey's key type is not supported: this service verifies ES256 (P-256), RS256 and EdDSA (Ed25519) keys."),
        W::ParseBase64Failure(_) => ("malformedBase64", "A field of the response is not valid base64url."),
        W::ParseCBORFailure(_) => ("malformedCbor", "The attestation object is not valid CBOR."),
        W::ParseJSONFailure(_) => ("malformedClientData", "clientDataJSON is not valid JSON."),
        W::ParseNOMFailure | W::ParseInsufficientBytesAvailable => ("malformedAuthenticatorData", "The authenticator data is truncated or malformed."),
        W::MissingAttestationCredentialData => ("missingCredentialData", "The attestation object carries no credential data."),
        W::AttestationNotSupported => ("attestationFormatUnsupported", "The attestation statement format is not supported."),
        W::AttestationTrustFailure | W::AttestationChainNotTrusted(_) | W::AttestationCertificateTrustStoreEmpty => {
            ("attestationUntrusted", "The attestation does not chain to a trusted root for this authenticator.")
        }
        _ => ("attestationInvalid", "The attestation statement or response is not valid."),
    };
    // The chain error's Display hides which certificate check failed; its Debug names it.
    let detail = if matches!(e, W::AttestationChainNotTrusted(_)) {
        format!("{e:?}")
    } else {
        e.to_string()
    };
    CeremonyError::new(code, format!("{msg} ({detail})"))
}
