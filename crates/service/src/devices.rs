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
use portcullis_domain::device::{
    parse_proof, possession_proved, proof_message, Device, DeviceProperties, PropertiesPatch,
};
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
        operation: match (&before, &after) {
            (None, _) => Operation::Add,
            (Some(_), None) => Operation::Delete,
            (Some(_), Some(_)) => Operation::Update,
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
        let name = portcullis_domain::directory::validate_display_name(name)?;
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
            platform,
            is_compliant: false,
            public_key: STANDARD.encode(der.as_bytes()),
            created_at: now,
            properties: DeviceProperties::default(),
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
        self.update_device(
            actor,
            id,
            DevicePatch {
                is_compliant: Some(compliant),
                ..Default::default()
            },
        )
        .await
    }

    /// Changes what an administrator may change on a device: its name, compliance and the
    /// properties device filters read. Audited with the values before and after.
    pub async fn update_device(
        &self,
        actor: &Actor,
        id: Uuid,
        patch: DevicePatch,
    ) -> Result<Device> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let before = devices::by_id_for_update(&mut tx, id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no device '{id}'")))?;
        let mut after = before.clone();
        if let Some(name) = patch.display_name {
            after.display_name = portcullis_domain::directory::validate_display_name(&name)?;
        }
        if let Some(c) = patch.is_compliant {
            after.is_compliant = c;
        }
        // Merged here, in the transaction, so two concurrent changes do not lose each other's.
        after.properties.apply(patch.properties);
        devices::update(&mut tx, &after).await?;
        let view = |d: &Device| json!({"displayName": d.display_name, "isCompliant": d.is_compliant, "properties": d.properties});
        audit::append(
            &mut tx,
            &record(
                "Update device",
                actor,
                &after,
                Some(view(&before)),
                Some(view(&after)),
            ),
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(after)
    }

    /// Deletes a device: sign-ins can no longer prove it.
    pub async fn delete_device(&self, actor: &Actor, id: Uuid) -> Result<()> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let d = devices::by_id(&mut tx, id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no device '{id}'")))?;
        devices::delete(&mut tx, id).await?;
        let rec = record(
            "Delete device",
            actor,
            &d,
            Some(json!({"displayName": d.display_name})),
            None,
        );
        audit::append(&mut tx, &rec, now).await?;
        commit(tx).await?;
        Ok(())
    }

    /// One device.
    pub async fn device(&self, id: Uuid) -> Result<Device> {
        let mut c = self.store().conn().await?;
        devices::by_id(&mut c, id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no device '{id}'")))
    }

    /// Every enrolled device.
    pub async fn devices(&self) -> Result<Vec<Device>> {
        Ok(devices::list(self.store().reader()).await?)
    }

    /// The device a sign-in proves, if any: the proof header names an enrolled device of this
    /// user, is fresh, and is signed by its key over this request (`binding`: the PKCE
    /// challenge or state) and client. Whether it is compliant is then the MDM's record.
    pub async fn proved_device(
        &self,
        user: Uuid,
        proof: Option<&str>,
        client_id: &str,
        binding: &str,
    ) -> Result<Option<Device>> {
        let Some(proof) = proof.and_then(parse_proof) else {
            return Ok(None);
        };
        let device = {
            let mut c = self.store().conn().await?;
            devices::by_id(&mut c, proof.device_id).await?
        };
        let Some(device) = device else {
            return Ok(None);
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
        Ok(possession_proved(&device, user, &proof, self.now(), signature_ok).then_some(device))
    }
}

/// What [`Service::update_device`] changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct DevicePatch {
    /// New name.
    pub display_name: Option<String>,
    /// The MDM's compliance verdict.
    pub is_compliant: Option<bool>,
    /// Changes to the properties device filters read.
    pub properties: PropertiesPatch,
}
