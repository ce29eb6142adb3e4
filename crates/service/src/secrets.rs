//! Hashing of secrets (TAP codes) and session tokens.
//!
//! Codes are hashed with Argon2id; verification compares in constant time (inside
//! the `password-hash` crate). Hashing is CPU- and memory-heavy, so it runs on the
//! blocking pool behind a semaphore sized to the machine: a burst of sign-ins queues
//! instead of exhausting memory.

use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::error::ServiceError;

/// Shared hashing capacity, and the Argon2 working memory it reuses.
///
/// Each hash needs 19 MiB of working memory. Allocated per hash, freed blocks that size
/// stay in the allocator's per-thread arenas: 300 passes made the server's memory grow from
/// 15 MB to several hundred and never shrink. One buffer per hashing slot, kept and reused,
/// bounds it at slots × 19 MiB.
#[derive(Clone, Debug)]
pub struct Secrets {
    permits: Arc<Semaphore>,
    buffers: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl Default for Secrets {
    fn default() -> Self {
        Self::new()
    }
}

fn failed(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(format!("hashing failed: {e}"))
}

/// Runs `f` with working memory of `blocks` blocks from the pool (or new), then puts it back.
fn with_memory<T>(
    pool: &Mutex<Vec<Vec<Block>>>,
    blocks: usize,
    f: impl FnOnce(&mut [Block]) -> T,
) -> T {
    let mut memory = pool
        .lock()
        .ok()
        .and_then(|mut p| p.pop())
        .unwrap_or_default();
    memory.resize(blocks, Block::default());
    let out = f(&mut memory);
    if let Ok(mut p) = pool.lock() {
        p.push(memory);
    }
    out
}

/// Argon2id with the crate's default cost (m=19456 KiB, t=2, p=1) into a PHC string.
fn hash_into(pool: &Mutex<Vec<Vec<Block>>>, secret: &[u8]) -> Result<String, ServiceError> {
    let params = Params::default();
    let salt = SaltString::generate(&mut OsRng);
    let mut raw = [0u8; 64];
    let salt_raw = salt.decode_b64(&mut raw).map_err(failed)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    with_memory(pool, params.block_count(), |m| {
        argon.hash_password_into_with_memory(secret, salt_raw, &mut out, m)
    })
    .map_err(failed)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(failed)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(failed)?),
    };
    Ok(phc.to_string())
}

/// Whether `secret` hashes to the PHC string's hash (with its own algorithm, version, cost
/// and salt), compared in constant time.
fn verify_into(
    pool: &Mutex<Vec<Vec<Block>>>,
    secret: &[u8],
    phc: &str,
) -> Result<bool, ServiceError> {
    let malformed = |e: &dyn std::fmt::Display| {
        ServiceError::Internal(format!("stored hash is malformed: {e}"))
    };
    let parsed = PasswordHash::new(phc).map_err(|e| malformed(&e))?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| malformed(&e))?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| malformed(&e))?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(|e| malformed(&e))?;
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
        return Err(malformed(&"no hash or salt"));
    };
    let mut raw = [0u8; 64];
    let salt_raw = salt.decode_b64(&mut raw).map_err(|e| malformed(&e))?;
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params.clone());
    with_memory(pool, params.block_count(), |m| {
        argon.hash_password_into_with_memory(secret, salt_raw, &mut out, m)
    })
    .map_err(failed)?;
    Ok(bool::from(expected.as_bytes().ct_eq(&out)))
}

impl Secrets {
    /// One hashing slot per core.
    pub fn new() -> Self {
        let n = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Secrets {
            permits: Arc::new(Semaphore::new(n)),
            buffers: Arc::new(Mutex::new(Vec::with_capacity(n))),
        }
    }

    /// Argon2id PHC string of a secret.
    pub async fn hash(&self, secret: &str) -> Result<String, ServiceError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ServiceError::Internal("hashing pool closed".into()))?;
        let (secret, pool) = (secret.to_owned(), self.buffers.clone());
        tokio::task::spawn_blocking(move || hash_into(&pool, secret.as_bytes()))
            .await
            .map_err(|e| ServiceError::Internal(format!("hashing task failed: {e}")))?
    }

    /// Whether `secret` matches the PHC string (constant-time comparison).
    pub async fn verify(&self, secret: &str, phc: &str) -> Result<bool, ServiceError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ServiceError::Internal("hashing pool closed".into()))?;
        let (secret, phc, pool) = (secret.to_owned(), phc.to_owned(), self.buffers.clone());
        tokio::task::spawn_blocking(move || verify_into(&pool, secret.as_bytes(), &phc))
            .await
            .map_err(|e| ServiceError::Internal(format!("hashing task failed: {e}")))?
    }
}

/// A fresh random session token (256 bits, base64url) for a cookie.
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// The key under which a token is stored: its SHA-256, hex. A fast hash is enough
/// for a 256-bit random token, and lookups by hash leak nothing about the token.
pub fn token_key(token: &str) -> String {
    let d = Sha256::digest(token.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordHasher;

    #[tokio::test]
    async fn hashes_verify_and_stored_hashes_of_the_crates_own_hasher_still_verify() {
        let s = Secrets::new();
        let h = s.hash("N5LTwAiG").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(s.verify("N5LTwAiG", &h).await.unwrap());
        assert!(!s.verify("N5LTwAiH", &h).await.unwrap());
        // What earlier releases stored (the argon2 crate's PasswordHasher) verifies alike.
        let salt = SaltString::generate(&mut OsRng);
        let old = Argon2::default()
            .hash_password(b"code", &salt)
            .unwrap()
            .to_string();
        assert!(s.verify("code", &old).await.unwrap());
        assert!(!s.verify("Code", &old).await.unwrap());
        assert!(s.verify("code", "$argon2id$nonsense").await.is_err());
        // The working memory is kept for reuse, at most one buffer per slot.
        let kept = s.buffers.lock().unwrap().len();
        assert!((1..=std::thread::available_parallelism().map_or(2, |n| n.get())).contains(&kept));
    }
}
