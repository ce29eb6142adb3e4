//! Devices: enrollment and compliance by an administrator (MDM-style), and the check that a
//! sign-in comes from a compliant device — by its key, not by the client's word.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{DerSignature, VerifyingKey};
use p256::pkcs8::{DecodePublicKey, EncodePublicKey};
use portcullis_domain::actor::Actor;
use portcullis_domain::audit::{kinds, AuditRecord, AuditTarget, Operation};
use portcullis_domain::conditional_access::platform::Platform;
use portcullis_domain::device::{counts_as_compliant, parse_proof, proof_message, Device};
use portcullis_store::{audit, commit, devices};
use serde_json::json;
use uuid::Uuid;

use crate::{Result, Service, ServiceError};

fn record(
    activity: &'static str,
    actor: &Actor,
    d: &Device,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> AuditRecord {
    AuditRecord {
        activity,
        category: "Device",
        service: kinds::CORE_DIRECTORY,
        operation: if before.is_some() {
            Operation::Update
        } else {
            Operation::Add
        },
        actor: actor.clone(),
        target: AuditTarget {
            id: d.id.to_string(),
            display_name: d.display_name.clone(),
            kind: "Device",
        },
        before,
        after,
        reason: format!("{activity}: {}", d.display_name),
    }
}

impl Service {
    /// Enrolls a device for a user with its P-256 public key (PEM); not compliant until marked.
    pub async fn enroll_device(
        &self,
        actor: &Actor,
        user: &str,
        name: &str,
        platform: &str,
        public_key_pem: &str,
    ) -> Result<Device> {
        let name = portcullis_domain::directory::validate_display_name(name)
            .map_err(ServiceError::Invalid)?;
        let platform = Platform::parse(platform).ok_or_else(|| {
            ServiceError::Invalid(format!(
                "'{platform}' is not a platform (android, iOS, windows, macOS, linux)"
            ))
        })?;
        let key = VerifyingKey::from_public_key_pem(public_key_pem).map_err(|e| {
            ServiceError::Invalid(format!(
                "the device key must be a P-256 public key in PEM: {e}"
            ))
        })?;
        let der = key
            .to_public_key_der()
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let owner = crate::directory::resolve_user(&mut tx, user).await?;
        let d = Device {
            id: Uuid::new_v4(),
            owner: owner.id,
            display_name: name,
            platform: platform.as_str().into(),
            is_compliant: false,
            public_key: STANDARD.encode(der.as_bytes()),
            created_at: now,
        };
        devices::insert(&mut tx, &d).await?;
        audit::append(
            &mut tx,
            &record(
                "Add device",
                actor,
                &d,
                None,
                Some(
                    json!({"owner": owner.user_principal_name.to_string(), "platform": d.platform}),
                ),
            ),
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(d)
    }

    /// Marks a device compliant or not (the MDM's verdict).
    pub async fn set_device_compliance(
        &self,
        actor: &Actor,
        id: Uuid,
        compliant: bool,
    ) -> Result<Device> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let before = devices::by_id(&mut tx, id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no device '{id}'")))?;
        devices::set_compliant(&mut tx, id, compliant).await?;
        let after = Device {
            is_compliant: compliant,
            ..before.clone()
        };
        audit::append(
            &mut tx,
            &record(
                "Update device",
                actor,
                &after,
                Some(json!({"isCompliant": before.is_compliant})),
                Some(json!({"isCompliant": compliant})),
            ),
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(after)
    }

    /// Every enrolled device.
    pub async fn devices(&self) -> Result<Vec<Device>> {
        let mut c = self.store().conn().await?;
        Ok(devices::list(&mut c).await?)
    }

    /// Whether a sign-in proves a compliant device of this user: the proof header names an
    /// enrolled, compliant device of theirs, is fresh, and is signed by its key over this
    /// request (`binding`: the PKCE challenge or state) and client.
    pub async fn device_compliance(
        &self,
        user: Uuid,
        proof: Option<&str>,
        client_id: &str,
        binding: &str,
    ) -> Result<bool> {
        let Some(proof) = proof.and_then(parse_proof) else {
            return Ok(false);
        };
        let device = {
            let mut c = self.store().conn().await?;
            devices::by_id(&mut c, proof.device_id).await?
        };
        let Some(device) = device else {
            return Ok(false);
        };
        let signature_ok = (|| {
            let der = STANDARD.decode(&device.public_key).ok()?;
            let key = VerifyingKey::from_public_key_der(&der).ok()?;
            let sig =
                DerSignature::from_bytes(&URL_SAFE_NO_PAD.decode(&proof.signature).ok()?).ok()?;
            let msg = proof_message(device.id, client_id, binding, proof.at);
            Some(key.verify(msg.as_bytes(), &sig).is_ok())
        })()
        .unwrap_or(false);
        Ok(counts_as_compliant(
            &device,
            user,
            &proof,
            self.now(),
            signature_ok,
        ))
    }
}
