//! Sign-in ceremonies sealed into the token the client sends back (issue 18, R17): asking for
//! options writes nothing, so anonymous requests cannot grow the store and a sign-in costs one
//! commit. The token is `<id>.<nonce and ciphertext>`: ChaCha20-Poly1305 under a key every node
//! derives from the same stored secret, with the id and the purpose as associated data, so a
//! token opens only unchanged and only as a sign-in ceremony. What it holds — the user it is
//! bound to, its expiry and the library's state — is read back only from a token that opens.
//! Single use is the store's part: [`portcullis_store::ceremonies::spend`] records the id in
//! the transaction that records the outcome.

use portcullis_domain::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub(crate) use crate::sealed::{SealingKey, Unsealed};
use crate::ServiceError;

/// What a token's associated data names besides its id: a token made for anything else
/// (another purpose, another format version) does not open as a sign-in ceremony.
const PURPOSE: &[u8] = b"portcullis sign-in ceremony v1|";

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

/// Seals `cer` under `key`: the token the client sends back.
pub(crate) fn seal(key: &SealingKey, cer: &SignInCeremony) -> Result<String, ServiceError> {
    let plain =
        serde_json::to_vec(cer).map_err(|e| ServiceError::Internal(format!("ceremony: {e}")))?;
    crate::sealed::seal(key, PURPOSE, cer.id, plain)
}

/// Opens a token made by [`seal`] under `key`. Expiry and single use are the caller's.
pub(crate) fn open(key: &SealingKey, token: &str) -> Result<SignInCeremony, Unsealed> {
    let (id, plain) = crate::sealed::open(key, PURPOSE, token)?;
    let mut cer: SignInCeremony = serde_json::from_slice(&plain).map_err(|_| Unsealed::Forged)?;
    cer.id = id;
    Ok(cer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

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
