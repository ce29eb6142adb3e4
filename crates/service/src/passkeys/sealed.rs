//! Sign-in ceremonies sealed into the token the client sends back (issue 18, R17): asking for
//! options writes nothing, so anonymous requests cannot grow the store and a sign-in costs one
//! commit. The token is `<id>.<nonce and ciphertext>`: ChaCha20-Poly1305 under a key every node
//! derives from the same stored secret, with the id and the purpose as associated data, so a
//! token opens only unchanged and only as a sign-in ceremony. What it holds — the user it is
//! bound to, its expiry and the library's state — is read back only from a token that opens.
//! Single use is the store's part: [`portcullis_store::ceremonies::spend`] records the id in
//! the transaction that records the outcome.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis_domain::Timestamp;
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ServiceError;

/// What a token's associated data names besides its id: a token made for anything else
/// (another purpose, another format version) does not open as a sign-in ceremony.
const PURPOSE: &[u8] = b"portcullis sign-in ceremony v1|";

/// The key tokens are sealed with, derived from a stored secret (the same on every node).
pub(crate) struct SealingKey(LessSafeKey);

impl SealingKey {
    /// The key derived from `secret` (HKDF-SHA256, salted with this use's name).
    pub(crate) fn derive(secret: &[u8]) -> Result<Self, ServiceError> {
        let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"portcullis-ceremonies")
            .extract(secret);
        let okm = prk
            .expand(&[b"chacha20-poly1305"], &CHACHA20_POLY1305)
            .map_err(|_| ServiceError::Internal("ceremony key derivation".into()))?;
        Ok(SealingKey(LessSafeKey::new(UnboundKey::from(okm))))
    }
}

/// A sign-in ceremony's contents: what the store held for it before (issue 18).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SignInCeremony {
    /// The id its spending is recorded under.
    #[serde(skip)]
    pub id: Uuid,
    /// The user a username-first sign-in is bound to.
    #[serde(rename = "u")]
    pub user_id: Option<Uuid>,
    /// When it stops being acceptable, in Unix milliseconds.
    #[serde(rename = "e")]
    pub expires_ms: i64,
    /// The WebAuthn library's state, JSON.
    #[serde(rename = "s")]
    pub state: String,
}

impl SignInCeremony {
    /// When it stops being acceptable.
    pub(crate) fn expires_at(&self) -> Timestamp {
        portcullis_domain::time_fmt::from_millis(self.expires_ms)
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

/// Seals `cer` under `key`: the token the client sends back.
pub(crate) fn seal(key: &SealingKey, cer: &SignInCeremony) -> Result<String, ServiceError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| ServiceError::Internal("no randomness for a ceremony nonce".into()))?;
    let mut sealed =
        serde_json::to_vec(cer).map_err(|e| ServiceError::Internal(format!("ceremony: {e}")))?;
    key.0
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(cer.id)),
            &mut sealed,
        )
        .map_err(|_| ServiceError::Internal("sealing a ceremony".into()))?;
    let mut body = nonce.to_vec();
    body.extend_from_slice(&sealed);
    Ok(format!("{}.{}", cer.id, URL_SAFE_NO_PAD.encode(body)))
}

/// Opens a token made by [`seal`] under `key`. Expiry and single use are the caller's.
pub(crate) fn open(key: &SealingKey, token: &str) -> Result<SignInCeremony, Unsealed> {
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
        .open_in_place(nonce, Aad::from(aad(id)), &mut sealed)
        .map_err(|_| Unsealed::Forged)?;
    let mut cer: SignInCeremony = serde_json::from_slice(plain).map_err(|_| Unsealed::Forged)?;
    cer.id = id;
    Ok(cer)
}

fn aad(id: Uuid) -> Vec<u8> {
    let mut aad = PURPOSE.to_vec();
    aad.extend_from_slice(id.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &[u8]) -> SealingKey {
        SealingKey::derive(s).unwrap()
    }

    fn ceremony() -> SignInCeremony {
        SignInCeremony {
            id: Uuid::new_v4(),
            user_id: Some(Uuid::new_v4()),
            expires_ms: 1_800_000_000_000,
            state: r#"{"challenge":"abc"}"#.into(),
        }
    }

    #[test]
    fn a_token_opens_unchanged_and_only_under_its_key() {
        let cer = ceremony();
        let t = seal(&key(b"one"), &cer).unwrap();
        assert_eq!(open(&key(b"one"), &t), Ok(cer));
        assert_eq!(open(&key(b"two"), &t), Err(Unsealed::Forged));
    }

    #[test]
    fn a_changed_byte_anywhere_or_another_id_does_not_open() {
        let k = key(b"one");
        let t = seal(&k, &ceremony()).unwrap();
        let (id, body) = t.split_once('.').unwrap();
        let raw = URL_SAFE_NO_PAD.decode(body).unwrap();
        for i in 0..raw.len() {
            let mut changed = raw.clone();
            changed[i] ^= 1;
            let forged = format!("{id}.{}", URL_SAFE_NO_PAD.encode(&changed));
            assert_eq!(open(&k, &forged), Err(Unsealed::Forged), "byte {i}");
        }
        // The id is bound: the same sealed body under another id (to spend that id instead).
        let moved = format!("{}.{body}", Uuid::new_v4());
        assert_eq!(open(&k, &moved), Err(Unsealed::Forged));
        for bad in ["", ".", "x.y", &format!("{id}."), &format!("{id}.AAAA"), id] {
            assert_eq!(open(&k, bad), Err(Unsealed::Shape), "{bad:?}");
        }
    }

    #[test]
    fn two_seals_of_one_ceremony_differ() {
        let k = key(b"one");
        let cer = ceremony();
        assert_ne!(seal(&k, &cer).unwrap(), seal(&k, &cer).unwrap());
    }
}
