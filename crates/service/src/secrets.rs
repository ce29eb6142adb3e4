//! Hashing of secrets (TAP codes) and session tokens.
//!
//! Codes are hashed with Argon2id; verification compares in constant time (inside
//! the `password-hash` crate). Hashing is CPU- and memory-heavy, so it runs on the
//! blocking pool behind a semaphore sized to the machine: a burst of sign-ins queues
//! instead of exhausting memory.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio::sync::Semaphore;

use crate::error::ServiceError;

/// Shared hashing capacity.
#[derive(Clone, Debug)]
pub struct Secrets {
    permits: Arc<Semaphore>,
}

impl Default for Secrets {
    fn default() -> Self {
        Self::new()
    }
}

impl Secrets {
    /// One hashing slot per core.
    pub fn new() -> Self {
        let n = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Secrets {
            permits: Arc::new(Semaphore::new(n)),
        }
    }

    /// Argon2id PHC string of a secret.
    pub async fn hash(&self, secret: &str) -> Result<String, ServiceError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ServiceError::Internal("hashing pool closed".into()))?;
        let secret = secret.to_owned();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(secret.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| ServiceError::Internal(format!("hashing failed: {e}")))
        })
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
        let (secret, phc) = (secret.to_owned(), phc.to_owned());
        tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&phc)
                .map_err(|e| ServiceError::Internal(format!("stored hash is malformed: {e}")))?;
            Ok(Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok())
        })
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
