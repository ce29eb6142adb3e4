//! Values sealed into a token a client carries or a row keeps: ChaCha20-Poly1305 under a key
//! every node derives from the same stored secret, `<id>.<nonce and ciphertext>`, with the
//! id and the value's purpose as associated data — so a token opens only unchanged, only
//! under its id, and only as what it was sealed for. Sign-in ceremonies (issue 18), a
//! password sign-in's pending second step and authenticator app secrets (issue 17) use it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use uuid::Uuid;

use crate::ServiceError;

/// The key tokens are sealed with, derived from a stored secret (the same on every node).
pub(crate) struct SealingKey(LessSafeKey);

impl SealingKey {
    /// The key derived from `secret` (HKDF-SHA256, salted with the name of the secret's use).
    pub(crate) fn derive(secret: &[u8]) -> Result<Self, ServiceError> {
        Self::derive_for(b"portcullis-ceremonies", secret)
    }

    /// The key for the use `salt` names, derived from `secret`.
    pub(crate) fn derive_for(salt: &[u8], secret: &[u8]) -> Result<Self, ServiceError> {
        let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, salt).extract(secret);
        let okm = prk
            .expand(&[b"chacha20-poly1305"], &CHACHA20_POLY1305)
            .map_err(|_| ServiceError::Internal("ceremony key derivation".into()))?;
        Ok(SealingKey(LessSafeKey::new(UnboundKey::from(okm))))
    }
}

/// Why a token did not open. Every case is answered alike (an unknown ceremony): a client
/// learns nothing from which check failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum Unsealed {
    /// Not `<uuid>.<base64url>`.
    #[error("not a ceremony token")]
    Shape,
    /// It does not open under this key with this id: changed, made up, or sealed for
    /// another purpose.
    #[error("the token does not open")]
    Forged,
}

/// Seals `plain` under `key` for `purpose`, bound to `id`.
pub(crate) fn seal(
    key: &SealingKey,
    purpose: &[u8],
    id: Uuid,
    mut plain: Vec<u8>,
) -> Result<String, ServiceError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| ServiceError::Internal("no randomness for a nonce".into()))?;
    key.0
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(purpose, id)),
            &mut plain,
        )
        .map_err(|_| ServiceError::Internal("sealing a value".into()))?;
    let mut body = nonce.to_vec();
    body.extend_from_slice(&plain);
    Ok(format!("{id}.{}", URL_SAFE_NO_PAD.encode(body)))
}

/// Opens a token made by [`seal`] under `key` for `purpose`: its id and plaintext.
pub(crate) fn open(
    key: &SealingKey,
    purpose: &[u8],
    token: &str,
) -> Result<(Uuid, Vec<u8>), Unsealed> {
    let (id, body) = token.split_once('.').ok_or(Unsealed::Shape)?;
    let id = Uuid::try_parse(id).map_err(|_| Unsealed::Shape)?;
    let mut body = URL_SAFE_NO_PAD.decode(body).map_err(|_| Unsealed::Shape)?;
    if body.len() < NONCE_LEN + aead::MAX_TAG_LEN {
        return Err(Unsealed::Shape);
    }
    let mut sealed = body.split_off(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(&body).map_err(|_| Unsealed::Shape)?;
    let plain = key
        .0
        .open_in_place(nonce, Aad::from(aad(purpose, id)), &mut sealed)
        .map_err(|_| Unsealed::Forged)?;
    Ok((id, plain.to_vec()))
}

fn aad(purpose: &[u8], id: Uuid) -> Vec<u8> {
    let mut aad = purpose.to_vec();
    aad.extend_from_slice(id.as_bytes());
    aad
}
