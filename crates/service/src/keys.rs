//! Token signing keys kept in the store, so every node signs and verifies alike: ES256 for
//! admin API tokens, RS256 for OpenID Connect (what most relying parties accept by default).
//! Rotation publishes new keys first and lets them sign only after [`PREPUBLICATION`] (a
//! client caching the JWKS for [`JWKS_MAX_AGE`] has them by then); the keys they replace
//! sign until that moment and stay published and verifying until the last token they signed
//! has expired.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use p256::ecdsa::{SigningKey as P256Key, VerifyingKey};
use p256::pkcs8::{DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use portcullis_domain::actor::Actor;
use portcullis_domain::audit::{kinds, AuditRecord, AuditTarget, Operation};
use portcullis_domain::oidc::TOKEN_LIFETIME;
use portcullis_store::{audit, commit, keys};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;
use time::Duration;
use uuid::Uuid;

use crate::tokens::TokenError;
use crate::{Result, Service, ServiceError};

/// The signing algorithms Portcullis uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (2048-bit keys).
    Rs256,
}

impl Alg {
    fn name(self) -> &'static str {
        match self {
            Alg::Es256 => "ES256",
            Alg::Rs256 => "RS256",
        }
    }
}

/// How long a client may cache the JWKS (its `Cache-Control: max-age`).
pub const JWKS_MAX_AGE: Duration = Duration::minutes(5);

/// How long a rotation publishes the new keys before they sign, by default: twice what a
/// client may cache the JWKS, so that one refreshing on schedule has them in time.
pub const PREPUBLICATION: Duration = Duration::minutes(10);

/// How long after retirement a key stays published: the longest token lifetime plus the
/// clock leeway verifiers allow.
pub const RETIRED_KEY_GRACE: Duration = Duration::minutes(65);

/// Parsed key material by `kid`. A kid's keys never change (rotation makes new kids), so
/// parsing PEM once per process is enough; which key signs, and retirement, are still read
/// from the store for every token.
#[derive(Default, Clone)]
pub struct KeyCache {
    signing: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<Signer>>>>,
    verifying: std::sync::Arc<
        std::sync::Mutex<std::collections::HashMap<String, (DecodingKey, Algorithm)>>,
    >,
}

fn cached<V: Clone>(
    map: &std::sync::Mutex<std::collections::HashMap<String, V>>,
    kid: &str,
    make: impl FnOnce() -> Result<V>,
) -> Result<V> {
    if let Some(v) = map.lock().ok().and_then(|m| m.get(kid).cloned()) {
        return Ok(v);
    }
    let v = make()?;
    if let Ok(mut m) = map.lock() {
        m.insert(kid.to_string(), v.clone());
    }
    Ok(v)
}

/// A private key, parsed once (issue 18). jsonwebtoken parses the key for every signature,
/// and its RSA is ring's: 0.43 ms per RS256 signature on the benchmark machine, against
/// 0.21 ms for aws-lc-rs with a parsed key (whose parsing alone costs 0.11 ms). ES256 stays
/// ring's, as jsonwebtoken would sign it.
pub(crate) enum Signer {
    /// ECDSA P-256, signatures in JWS's fixed `r || s` form.
    Es256(ring::signature::EcdsaKeyPair),
    /// RSA, RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256(aws_lc_rs::rsa::KeyPair),
}

impl Signer {
    /// The algorithm it signs with (what the header says).
    fn alg(&self) -> Alg {
        match self {
            Signer::Es256(_) => Alg::Es256,
            Signer::Rs256(_) => Alg::Rs256,
        }
    }

    /// Parses the stored PKCS#8 private key of `key`.
    fn parse(key: &keys::SigningKey, alg: Alg) -> Result<Signer> {
        let der = p256::pkcs8::der::pem::decode_vec(key.private_pem.as_bytes())
            .map_err(internal)?
            .1;
        Ok(match alg {
            Alg::Es256 => Signer::Es256(
                ring::signature::EcdsaKeyPair::from_pkcs8(
                    &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &der,
                    &ring::rand::SystemRandom::new(),
                )
                .map_err(internal)?,
            ),
            Alg::Rs256 => {
                Signer::Rs256(aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).map_err(internal)?)
            }
        })
    }

    /// The signature of `message`.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        match self {
            Signer::Es256(k) => Ok(k
                .sign(&ring::rand::SystemRandom::new(), message)
                .map_err(internal)?
                .as_ref()
                .to_vec()),
            Signer::Rs256(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &aws_lc_rs::rand::SystemRandom::new(),
                    message,
                    &mut sig,
                )
                .map_err(internal)?;
                Ok(sig)
            }
        }
    }
}

/// A JWT in JWS compact serialization (RFC 7515 §7.1): jsonwebtoken's header type and the
/// claims, each as base64url JSON, and the signature of the two — the form
/// `jsonwebtoken::encode` produces (a test holds the RS256 output to it byte for byte).
/// Verification stays jsonwebtoken's.
fn compact_jws<T: Serialize>(kid: &str, claims: &T, signer: &Signer) -> Result<String> {
    let header = header_of(signer.alg(), kid.to_string());
    let part = |v: Vec<u8>| B64.encode(v);
    let input = format!(
        "{}.{}",
        part(serde_json::to_vec(&header).map_err(internal)?),
        part(serde_json::to_vec(claims).map_err(internal)?)
    );
    let signature = part(signer.sign(input.as_bytes())?);
    Ok(format!("{input}.{signature}"))
}

fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

fn generate(alg: Alg, now: portcullis_domain::Timestamp) -> Result<keys::SigningKey> {
    let (private_pem, public_pem) = match alg {
        Alg::Es256 => {
            let sk = P256Key::random(&mut rand::rngs::OsRng);
            (
                sk.to_pkcs8_pem(LineEnding::LF)
                    .map_err(internal)?
                    .to_string(),
                sk.verifying_key()
                    .to_public_key_pem(LineEnding::LF)
                    .map_err(internal)?,
            )
        }
        // aws-lc-rs makes the key (ring cannot make RSA keys; the rsa crate is subject to
        // RUSTSEC-2023-0071, and no secret key of ours goes through it).
        Alg::Rs256 => {
            use aws_lc_rs::encoding::AsDer;
            use aws_lc_rs::signature::KeyPair as _;
            let sk = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(internal)?;
            let private = sk.as_der().map_err(internal)?;
            let public = sk.public_key().as_der().map_err(internal)?;
            (
                p256::pkcs8::der::pem::encode_string(
                    "PRIVATE KEY",
                    LineEnding::LF,
                    private.as_ref(),
                )
                .map_err(internal)?,
                p256::pkcs8::der::pem::encode_string("PUBLIC KEY", LineEnding::LF, public.as_ref())
                    .map_err(internal)?,
            )
        }
    };
    Ok(keys::SigningKey {
        kid: Uuid::new_v4().simple().to_string(),
        alg: alg.name().into(),
        private_pem,
        public_pem,
        created_at: now,
        activates_at: now,
        retired_at: None,
    })
}

/// The public half of a stored key as a JWK, and the matching jsonwebtoken key.
fn public_jwk(k: &keys::SigningKey) -> Result<(Value, DecodingKey, Algorithm)> {
    match k.alg.as_str() {
        "ES256" => {
            let vk = VerifyingKey::from_public_key_pem(&k.public_pem).map_err(internal)?;
            let point = vk.to_encoded_point(false);
            let (Some(x), Some(y)) = (point.x(), point.y()) else {
                return Err(internal("stored P-256 key is not a point"));
            };
            let (x, y) = (B64.encode(x), B64.encode(y));
            let dk = DecodingKey::from_ec_components(&x, &y).map_err(internal)?;
            Ok((
                json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": k.kid, "use": "sig", "alg": "ES256"}),
                dk,
                Algorithm::ES256,
            ))
        }
        "RS256" => {
            // n and e, read from the key pair by aws-lc-rs.
            use aws_lc_rs::signature::KeyPair as _;
            let pem = p256::pkcs8::der::pem::decode_vec(k.private_pem.as_bytes())
                .map_err(internal)?
                .1;
            let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(&pem).map_err(internal)?;
            let public = pair.public_key();
            let (n, e) = (
                B64.encode(public.modulus().big_endian_without_leading_zero()),
                B64.encode(public.exponent().big_endian_without_leading_zero()),
            );
            let dk = DecodingKey::from_rsa_components(&n, &e).map_err(internal)?;
            Ok((
                json!({"kty": "RSA", "n": n, "e": e, "kid": k.kid, "use": "sig", "alg": "RS256"}),
                dk,
                Algorithm::RS256,
            ))
        }
        other => Err(internal(format!(
            "stored key {} has unknown algorithm {other}",
            k.kid
        ))),
    }
}

/// The JWS header of a token signed with `alg` by the key `kid`.
fn header_of(alg: Alg, kid: String) -> Header {
    let mut header = Header::new(match alg {
        Alg::Es256 => Algorithm::ES256,
        Alg::Rs256 => Algorithm::RS256,
    });
    header.kid = Some(kid);
    header
}

impl Service {
    /// The current key for `alg`, made on first use — once: concurrent first requests in
    /// this process wait for one generation, and across nodes the database keeps one live
    /// key per algorithm (the loser's insert does nothing and it signs with the winner's).
    async fn signing_key(&self, alg: Alg) -> Result<keys::SigningKey> {
        static MAKING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let now = self.now();
        if let Some(k) = keys::current_read(self.store().reader(), alg.name(), now).await? {
            return Ok(k);
        }
        let _making = MAKING.lock().await;
        let mut c = self.store().conn().await?;
        if let Some(k) = keys::current(&mut c, alg.name(), now).await? {
            return Ok(k);
        }
        // A live key still in its pre-publication with nothing active before it cannot
        // happen through rotate (which activates at once when nothing signs); if a store
        // holds one anyway, it signs rather than a second live key being made.
        if let Some(k) = keys::live(&mut c, alg.name()).await? {
            return Ok(k);
        }
        drop(c);
        let now = self.now();
        // RSA generation takes a while: keep it off the async workers.
        let key = tokio::task::spawn_blocking(move || generate(alg, now))
            .await
            .map_err(internal)??;
        let mut c = self.store().conn().await?;
        let _ = keys::insert(&mut c, &key).await?;
        // Another node may have made one at the same moment; either verifies.
        Ok(keys::live(&mut c, alg.name()).await?.unwrap_or(key))
    }

    /// Signs `claims` with the current key for `alg` (the header names it by `kid`).
    pub(crate) async fn sign_jwt<T: Serialize>(&self, alg: Alg, claims: &T) -> Result<String> {
        self.sign_jwt_with(None, alg, claims).await
    }

    /// [`Service::sign_jwt`] with the current key for `alg` already read (`read`, as
    /// [`keys::current`] finds it). It is read here instead when `read` is `None` (none yet,
    /// or not read), of another algorithm, or no longer signing.
    pub(crate) async fn sign_jwt_with<T: Serialize>(
        &self,
        read: Option<keys::SigningKey>,
        alg: Alg,
        claims: &T,
    ) -> Result<String> {
        // Asked again now: a key read at the request's start may have retired since (a
        // rotation with no pre-publication, for a key that must stop signing at once).
        let now = self.now();
        let key = match read.filter(|k| k.alg == alg.name() && k.signs_at(now)) {
            Some(k) => k,
            None => self.signing_key(alg).await?,
        };
        let signer = cached(&self.key_cache.signing, &key.kid, || {
            Signer::parse(&key, alg).map(Arc::new)
        })?;
        compact_jws(&key.kid, claims, &signer)
    }

    /// Verifies a JWT of ours: the key named by `kid` (its own algorithm only, so no
    /// algorithm confusion), still published, then issuer, audience and lifetime.
    pub(crate) async fn verify_jwt<T: DeserializeOwned>(
        &self,
        token: &str,
        issuer: &str,
        audience: &str,
    ) -> Result<std::result::Result<T, TokenError>> {
        self.verify_jwt_with(token, issuer, Some(audience), false)
            .await
    }

    /// [`Service::verify_jwt`] with the audience left to the caller (`None`) and, for hints
    /// such as `id_token_hint`, expiry ignored.
    pub(crate) async fn verify_jwt_with<T: DeserializeOwned>(
        &self,
        token: &str,
        issuer: &str,
        audience: Option<&str>,
        allow_expired: bool,
    ) -> Result<std::result::Result<T, TokenError>> {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Ok(Err(TokenError::Invalid("the token is not a JWT".into())));
        };
        let Some(kid) = header.kid else {
            return Ok(Err(TokenError::Invalid(
                "the token names no key (kid)".into(),
            )));
        };
        let mut c = self.store().conn().await?;
        let Some(key) = keys::by_kid(&mut c, &kid).await? else {
            return Ok(Err(TokenError::Invalid(
                "the signing key is unknown".into(),
            )));
        };
        drop(c);
        if key
            .retired_at
            .is_some_and(|r| r < self.now() - RETIRED_KEY_GRACE)
        {
            return Ok(Err(TokenError::Invalid(
                "the signing key was retired".into(),
            )));
        }
        let (dk, alg) = cached(&self.key_cache.verifying, &key.kid, || {
            public_jwk(&key).map(|(_, dk, alg)| (dk, alg))
        })?;
        let mut v = Validation::new(alg);
        v.set_issuer(&[issuer]);
        match audience {
            Some(a) => v.set_audience(&[a]),
            None => v.validate_aud = false,
        }
        v.leeway = 30;
        // The service clock, not the system clock, decides the lifetime (tests move it).
        v.validate_exp = false;
        v.validate_nbf = false;
        let claims: Value = match jsonwebtoken::decode::<Value>(token, &dk, &v) {
            Ok(d) => d.claims,
            // Say which issuer was expected: the usual cause is a token minted for another
            // public URL.
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::InvalidIssuer) => {
                return Ok(Err(TokenError::Invalid(format!(
                    "InvalidIssuer: this server accepts tokens issued by '{issuer}'"
                ))))
            }
            Err(e) => return Ok(Err(TokenError::Invalid(e.to_string()))),
        };
        let now = self.now().unix_timestamp();
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        if !allow_expired && exp + 30 < now {
            return Ok(Err(TokenError::Expired));
        }
        if claims
            .get("nbf")
            .and_then(Value::as_i64)
            .is_some_and(|nbf| nbf > now + 30)
        {
            return Ok(Err(TokenError::Invalid(
                "the token is not valid yet (nbf)".into(),
            )));
        }
        Ok(serde_json::from_value(claims)
            .map_err(|e| TokenError::Invalid(format!("unexpected claims: {e}"))))
    }

    /// The published keys (JWKS): current ones, and retired ones whose tokens may still live.
    pub async fn jwks(&self) -> Result<Value> {
        // Make sure both algorithms have a key before anyone needs one.
        self.signing_key(Alg::Rs256).await?;
        self.signing_key(Alg::Es256).await?;
        let mut c = self.store().conn().await?;
        let mut out = vec![];
        for k in keys::published(&mut c, self.now() - RETIRED_KEY_GRACE).await? {
            out.push(public_jwk(&k)?.0);
        }
        Ok(json!({"keys": out}))
    }

    /// Every stored key: (kid, alg, created, retired).
    pub async fn signing_keys(&self) -> Result<Vec<keys::SigningKey>> {
        let mut c = self.store().conn().await?;
        Ok(keys::all(&mut c)
            .await?
            .into_iter()
            .map(|k| keys::SigningKey {
                private_pem: String::new(),
                ..k
            })
            .collect())
    }

    /// Rotates: new keys are published now and sign from `now + prepublish`; the keys they
    /// replace sign until then and stay published for [`RETIRED_KEY_GRACE`] after. With no
    /// key signing yet, the new ones sign at once. A `prepublish` of zero is for a key that
    /// must stop now (compromised): clients holding a cached JWKS refuse the new tokens until
    /// they fetch it again. Audited.
    pub async fn rotate_signing_keys(
        &self,
        actor: &Actor,
        prepublish: Duration,
    ) -> Result<Rotation> {
        let now = self.now();
        let prepublish = prepublish.max(Duration::ZERO);
        let mut c = self.store().conn().await?;
        let signing = keys::current(&mut c, Alg::Rs256.name(), now)
            .await?
            .is_some()
            && keys::current(&mut c, Alg::Es256.name(), now)
                .await?
                .is_some();
        drop(c);
        let activates_at = if signing { now + prepublish } else { now };
        let fresh = tokio::task::spawn_blocking(move || {
            let mut ks = vec![generate(Alg::Rs256, now)?, generate(Alg::Es256, now)?];
            for k in &mut ks {
                k.activates_at = activates_at;
            }
            Ok::<_, ServiceError>(ks)
        })
        .await
        .map_err(internal)??;
        let mut tx = self.store().begin().await?;
        let retired = keys::retire_all(&mut tx, activates_at).await?;
        for k in &fresh {
            // PostgreSQL: a rotation racing another cannot see its new keys, and the
            // database keeps one live key per algorithm — say so rather than report keys
            // that were never stored (nothing is committed).
            if !keys::insert(&mut tx, k).await? {
                return Err(ServiceError::Conflict(
                    "another rotation of the signing keys is under way; try again".into(),
                ));
            }
        }
        let kids: Vec<String> = fresh.iter().map(|k| k.kid.clone()).collect();
        let at = portcullis_domain::time_fmt::rfc3339(activates_at);
        audit::append(
            &mut tx,
            &AuditRecord {
                activity: "Rotate token signing keys",
                category: kinds::KEY_MANAGEMENT,
                service: kinds::CORE_DIRECTORY,
                operation: Operation::Update,
                actor: actor.clone(),
                target: AuditTarget { id: kids.join(","), display_name: "Token signing keys".into(), kind: "Other" },
                before: None,
                after: Some(json!({"newKeys": kids, "retired": retired, "signingFrom": at, "publishedUntil": portcullis_domain::time_fmt::rfc3339(activates_at + RETIRED_KEY_GRACE)})),
                reason: format!("{retired} key(s) retire and the new keys sign from {at}"),
            },
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(Rotation { kids, activates_at })
    }
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The new keys' ids (published from now on).
    pub kids: Vec<String>,
    /// When they start signing.
    pub activates_at: portcullis_domain::Timestamp,
}

/// A pre-published key must be in every cache that follows `max-age` before it signs.
const _: () = assert!(JWKS_MAX_AGE.whole_seconds() < PREPUBLICATION.whole_seconds());

/// `TOKEN_LIFETIME` must fit inside the grace period, or rotation would strand live tokens.
const _: () = assert!(TOKEN_LIFETIME.whole_seconds() < RETIRED_KEY_GRACE.whole_seconds());

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::EncodingKey;
    use p256::pkcs8::DecodePrivateKey;
    use time::macros::datetime;

    /// The key jsonwebtoken would sign with.
    fn encoding_key(key: &keys::SigningKey, alg: Alg) -> Result<EncodingKey> {
        Ok(match alg {
            Alg::Es256 => {
                let der = P256Key::from_pkcs8_pem(&key.private_pem)
                    .map_err(internal)?
                    .to_pkcs8_der()
                    .map_err(internal)?;
                EncodingKey::from_ec_der(der.as_bytes())
            }
            // The PKCS#1 key inside the stored PKCS#8 (read by the pkcs8 crate); the signature is
            // ring's, through jsonwebtoken.
            Alg::Rs256 => {
                let der = p256::pkcs8::der::pem::decode_vec(key.private_pem.as_bytes())
                    .map_err(internal)?
                    .1;
                let info =
                    p256::pkcs8::PrivateKeyInfo::try_from(der.as_slice()).map_err(internal)?;
                EncodingKey::from_rsa_der(info.private_key)
            }
        })
    }

    #[derive(Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Claims {
        iss: String,
        aud: String,
        exp: i64,
        sub: String,
    }

    fn claims() -> Claims {
        Claims {
            iss: "https://idp.example".into(),
            aud: "app".into(),
            exp: 4_000_000_000,
            sub: "someone".into(),
        }
    }

    /// What jsonwebtoken makes of `token` with the published half of `key`.
    fn decoded(token: &str, key: &keys::SigningKey) -> jsonwebtoken::errors::Result<Claims> {
        let (_, dk, alg) = public_jwk(key).expect("jwk");
        let mut v = Validation::new(alg);
        v.set_audience(&["app"]);
        v.set_issuer(&["https://idp.example"]);
        jsonwebtoken::decode::<Claims>(token, &dk, &v).map(|d| d.claims)
    }

    #[test]
    fn an_rs256_token_is_what_jsonwebtoken_itself_would_sign_byte_for_byte() {
        // RSASSA-PKCS1-v1_5 is deterministic: the same key, header and claims give the same
        // token, so the assembly and the aws-lc-rs signature are held to the library's.
        let key = generate(Alg::Rs256, datetime!(2026-12-01 0:00 UTC)).expect("key");
        let header = header_of(Alg::Rs256, key.kid.clone());
        let ours = compact_jws(
            &key.kid,
            &claims(),
            &Signer::parse(&key, Alg::Rs256).expect("signer"),
        )
        .expect("sign");
        let theirs = jsonwebtoken::encode(
            &header,
            &claims(),
            &encoding_key(&key, Alg::Rs256).expect("encoding key"),
        )
        .expect("jsonwebtoken");
        assert_eq!(ours, theirs);
        assert_eq!(decoded(&ours, &key).expect("verifies"), claims());
    }

    #[test]
    fn an_es256_token_has_jsonwebtokens_header_and_claims_byte_for_byte() {
        // ECDSA signatures are randomised: the signed parts are compared, and the signature
        // verified.
        let key = generate(Alg::Es256, datetime!(2026-12-01 0:00 UTC)).expect("key");
        let ours = compact_jws(
            &key.kid,
            &claims(),
            &Signer::parse(&key, Alg::Es256).expect("signer"),
        )
        .expect("sign");
        let theirs = jsonwebtoken::encode(
            &header_of(Alg::Es256, key.kid.clone()),
            &claims(),
            &encoding_key(&key, Alg::Es256).expect("encoding key"),
        )
        .expect("jsonwebtoken");
        let signed = |t: &str| t.rsplit_once('.').map(|(m, _)| m.to_string());
        assert_eq!(signed(&ours), signed(&theirs));
        assert_eq!(decoded(&ours, &key).expect("verifies"), claims());
    }

    #[test]
    fn es256_and_rs256_tokens_verify_with_jsonwebtoken_and_an_edited_one_does_not() {
        for alg in [Alg::Es256, Alg::Rs256] {
            let key = generate(alg, datetime!(2026-12-01 0:00 UTC)).expect("key");
            let signer = Signer::parse(&key, alg).expect("signer");
            let token = compact_jws(&key.kid, &claims(), &signer).expect("sign");
            let header = jsonwebtoken::decode_header(&token).expect("header");
            assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
            assert_eq!(decoded(&token, &key).expect("verifies"), claims());
            // Another subject under the same signature: refused.
            let forged = {
                let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
                let mut c = claims();
                c.sub = "someone else".into();
                parts[1] = B64.encode(serde_json::to_vec(&c).expect("json"));
                parts.join(".")
            };
            assert!(
                decoded(&forged, &key).is_err(),
                "{alg:?}: an edited token verified"
            );
            // Signed by another key of the same algorithm: refused.
            let other = generate(alg, datetime!(2026-12-01 0:00 UTC)).expect("key");
            let by_other = compact_jws(
                &key.kid,
                &claims(),
                &Signer::parse(&other, alg).expect("signer"),
            )
            .expect("sign");
            assert!(
                decoded(&by_other, &key).is_err(),
                "{alg:?}: another key's token verified"
            );
        }
    }
}
