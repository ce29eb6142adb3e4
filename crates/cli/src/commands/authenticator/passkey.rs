//! The app's passkeys, made and used as the Authenticator makes them: a P-256 key per
//! account and profile, the Authenticator's AAGUID for the platform, user verification
//! done, and the app's own attestation (`packed`, signed by the app attestation key whose
//! certificate chains to the root the operator configured for the server).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use serde::Deserialize;
use serde_cbor_2::Value as Cbor;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::state::{AppAttestation, Platform};
use super::CliError;

/// The Authenticator's AAGUID on `platform`.
pub(super) fn aaguid(platform: Platform) -> [u8; 16] {
    use portcullis_domain::policy::fido2::AUTHENTICATOR_AAGUIDS;
    let [android, ios] = AUTHENTICATOR_AAGUIDS;
    match platform {
        Platform::Android => *android.as_bytes(),
        Platform::Ios => *ios.as_bytes(),
    }
}

/// Flags: user present, user verified, attested credential data.
const UP_UV: u8 = 0x01 | 0x04;
const AT: u8 = 0x40;

/// The creation options the app reads (`publicKey` of the server's answer).
#[derive(Deserialize)]
struct CreationOptions {
    rp: Rp,
    user: UserEntity,
    challenge: String,
}

#[derive(Deserialize)]
struct Rp {
    id: String,
}

#[derive(Deserialize)]
struct UserEntity {
    id: String,
}

/// The request options the app reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestOptions {
    rp_id: String,
    challenge: String,
}

/// A new passkey: what the app keeps, and the credential to send.
pub(super) struct Created {
    /// Credential id, base64url.
    pub(super) credential_id: String,
    /// The private key, PKCS#8 DER, base64url.
    pub(super) key: String,
    /// The user handle, base64url.
    pub(super) user_handle: String,
    /// The RP ID.
    pub(super) rp_id: String,
    /// `PublicKeyCredential.toJSON()`.
    pub(super) credential: Value,
}

fn cbor(v: &Cbor) -> Result<Vec<u8>, CliError> {
    serde_cbor_2::to_vec(v).map_err(|e| CliError::Other(format!("CBOR: {e}")))
}

fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
    json!({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false})
        .to_string()
        .into_bytes()
}

fn bad_options(e: serde_json::Error) -> CliError {
    CliError::Other(format!("the server's passkey options do not read: {e}"))
}

fn signed(key: &SigningKey, auth_data: &[u8], client_data: &[u8]) -> Vec<u8> {
    let mut msg = auth_data.to_vec();
    msg.extend_from_slice(&Sha256::digest(client_data));
    let sig: DerSignature = key.sign(&msg);
    sig.as_bytes().to_vec()
}

/// Makes a passkey for creation `options`, attested by the app's attestation key.
pub(super) fn create(
    options: &Value,
    origin: &str,
    platform: Platform,
    attestation: &AppAttestation,
) -> Result<Created, CliError> {
    let o = CreationOptions::deserialize(options).map_err(bad_options)?;
    let key = SigningKey::random(&mut rand::rngs::OsRng);
    let mut id = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut id);
    let point = key.verifying_key().to_encoded_point(false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        return Err(CliError::Other("a P-256 key without coordinates".into()));
    };
    let cose = cbor(&Cbor::Map(
        [
            (Cbor::Integer(1), Cbor::Integer(2)),
            (Cbor::Integer(3), Cbor::Integer(-7)),
            (Cbor::Integer(-1), Cbor::Integer(1)),
            (Cbor::Integer(-2), Cbor::Bytes(x.to_vec())),
            (Cbor::Integer(-3), Cbor::Bytes(y.to_vec())),
        ]
        .into_iter()
        .collect(),
    ))?;
    let mut auth_data = Sha256::digest(o.rp.id.as_bytes()).to_vec();
    auth_data.push(UP_UV | AT);
    auth_data.extend_from_slice(&0u32.to_be_bytes());
    auth_data.extend_from_slice(&aaguid(platform));
    auth_data.extend_from_slice(&32u16.to_be_bytes());
    auth_data.extend_from_slice(&id);
    auth_data.extend_from_slice(&cose);
    let cd = client_data("webauthn.create", &o.challenge, origin);
    let attestation_key = attestation.signing_key()?;
    let statement = Cbor::Map(
        [
            (Cbor::Text("alg".into()), Cbor::Integer(-7)),
            (
                Cbor::Text("sig".into()),
                Cbor::Bytes(signed(&attestation_key, &auth_data, &cd)),
            ),
            (
                Cbor::Text("x5c".into()),
                Cbor::Array(attestation.chain()?.into_iter().map(Cbor::Bytes).collect()),
            ),
        ]
        .into_iter()
        .collect(),
    );
    let object = cbor(&Cbor::Map(
        [
            (Cbor::Text("fmt".into()), Cbor::Text("packed".into())),
            (Cbor::Text("attStmt".into()), statement),
            (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
        ]
        .into_iter()
        .collect(),
    ))?;
    let credential_id = URL_SAFE_NO_PAD.encode(id);
    let private = key
        .to_pkcs8_der()
        .map_err(|e| CliError::Other(format!("passkey key: {e}")))?;
    Ok(Created {
        credential: json!({
            "id": credential_id, "rawId": credential_id, "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": URL_SAFE_NO_PAD.encode(&cd),
                "attestationObject": URL_SAFE_NO_PAD.encode(object),
                "transports": ["internal", "hybrid"],
            },
            "clientExtensionResults": {},
        }),
        credential_id,
        key: URL_SAFE_NO_PAD.encode(private.as_bytes()),
        user_handle: o.user.id,
        rp_id: o.rp.id,
    })
}

/// Signs in with a passkey (`key`, PKCS#8 base64url) for request `options`; the counter
/// stays zero, as a synced-style platform passkey's does.
pub(super) fn get(
    options: &Value,
    origin: &str,
    credential_id: &str,
    key: &str,
    user_handle: &str,
) -> Result<Value, CliError> {
    let o = RequestOptions::deserialize(options).map_err(bad_options)?;
    let der = URL_SAFE_NO_PAD
        .decode(key)
        .map_err(|_| CliError::Other("the state file's passkey key is not base64url".into()))?;
    let key = SigningKey::from_pkcs8_der(&der)
        .map_err(|_| CliError::Other("the state file's passkey key is not a P-256 key".into()))?;
    let mut auth_data = Sha256::digest(o.rp_id.as_bytes()).to_vec();
    auth_data.push(UP_UV);
    auth_data.extend_from_slice(&0u32.to_be_bytes());
    let cd = client_data("webauthn.get", &o.challenge, origin);
    Ok(json!({
        "id": credential_id, "rawId": credential_id, "type": "public-key",
        "authenticatorAttachment": "platform",
        "response": {
            "clientDataJSON": URL_SAFE_NO_PAD.encode(&cd),
            "authenticatorData": URL_SAFE_NO_PAD.encode(&auth_data),
            "signature": URL_SAFE_NO_PAD.encode(signed(&key, &auth_data, &cd)),
            "userHandle": user_handle,
        },
        "clientExtensionResults": {},
    }))
}
