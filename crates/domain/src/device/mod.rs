//! Devices (SPEC §1): enrolled by an MDM-style administrator, marked compliant or not, and
//! holding a device key with which the client proves possession at sign-in — so "compliant
//! device" is something the client cannot simply claim.

mod properties;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

pub use properties::{
    DeviceError, DeviceFacts, DeviceProperties, DeviceProperty, ExtensionAttribute, Ownership,
    PropertiesPatch, RawPropertiesPatch, TrustType, FILTER_PROPERTIES,
};

use crate::conditional_access::platform::Platform;
use crate::Timestamp;

/// What a proof for registering security info is bound to (with the Security info client
/// id): registration has no PKCE challenge, so the proof's freshness and the owner check carry
/// it, and the user's own session is needed to use it at all.
pub const REGISTRATION_BINDING: &str = "registersecurityinfo";

/// How old a possession proof may be.
pub const PROOF_MAX_AGE_SECONDS: i64 = 300;

/// An enrolled device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Id.
    pub id: Uuid,
    /// The user it is registered to.
    pub owner: Uuid,
    /// Name.
    pub display_name: String,
    /// Platform (`android`, `iOS`, `windows`, `macOS`, `linux` on the wire).
    pub platform: Platform,
    /// Marked compliant by the MDM.
    pub is_compliant: bool,
    /// The device key: a P-256 public key, SPKI DER, base64.
    pub public_key: String,
    /// Enrolled at.
    pub created_at: Timestamp,
    /// What the administrator records about it, for device filters.
    pub properties: DeviceProperties,
}

/// The oldest systems the Authenticator registers passkeys on (R19): iOS 17, Android 14.
pub const AUTHENTICATOR_MINIMUM: [(Platform, u32); 2] =
    [(Platform::Ios, 17), (Platform::Android, 14)];

impl Device {
    /// R19: for a phone whose system version is known, whether the Authenticator can hold
    /// passkeys on it; `None` for a desktop or an unknown version.
    pub fn runs_authenticator_passkeys(&self) -> Option<bool> {
        let (_, minimum) = AUTHENTICATOR_MINIMUM
            .iter()
            .find(|(p, _)| *p == self.platform)?;
        let version = self.properties.operating_system_version.as_deref()?;
        let major: u32 = version
            .trim()
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()?;
        Some(major >= *minimum)
    }

    /// What Conditional Access reads about this device.
    pub fn facts(&self) -> DeviceFacts {
        let p = &self.properties;
        let mut values: BTreeMap<DeviceProperty, String> = p
            .extension_attributes
            .iter()
            .map(|(a, v)| (DeviceProperty::Extension(*a), v.clone()))
            .collect();
        let trust = p.trust_type.unwrap_or(TrustType::Workplace);
        let fixed = [
            (DeviceProperty::DeviceId, Some(self.id.to_string())),
            (DeviceProperty::DisplayName, Some(self.display_name.clone())),
            (
                DeviceProperty::OperatingSystem,
                Some(self.platform.operating_system().to_string()),
            ),
            (DeviceProperty::TrustType, Some(trust.as_str().to_string())),
            (
                DeviceProperty::OperatingSystemVersion,
                p.operating_system_version.clone(),
            ),
            (
                DeviceProperty::DeviceOwnership,
                p.device_ownership.map(|o| o.as_str().to_string()),
            ),
            (DeviceProperty::Manufacturer, p.manufacturer.clone()),
            (DeviceProperty::Model, p.model.clone()),
        ];
        values.extend(fixed.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
        DeviceFacts {
            values,
            is_compliant: self.is_compliant,
        }
    }
}

/// A parsed `X-Portcullis-Device-Proof` header: `{device id}.{unix seconds}.{signature}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The device.
    pub device_id: Uuid,
    /// When the client signed.
    pub at: i64,
    /// ECDSA P-256 signature (DER, base64url) over [`proof_message`].
    pub signature: String,
}

/// Parses the header; `None` when malformed.
pub fn parse_proof(header: &str) -> Option<Proof> {
    let mut it = header.trim().splitn(3, '.');
    let device_id = Uuid::parse_str(it.next()?).ok()?;
    let at = it.next()?.parse().ok()?;
    let signature = it.next()?.to_string();
    (!signature.is_empty() && signature.len() <= 200).then_some(Proof {
        device_id,
        at,
        signature,
    })
}

/// What the device signs: binds the proof to this authorization request (its PKCE challenge
/// or state) and this client, at a time.
pub fn proof_message(device_id: Uuid, client_id: &str, request_binding: &str, at: i64) -> String {
    format!("portcullis-device-proof|{device_id}|{client_id}|{request_binding}|{at}")
}

/// Whether the sign-in proves this device: it is the user's, the proof is fresh, and (checked
/// by the caller) its signature verifies. Only then do its properties count.
pub fn possession_proved(
    d: &Device,
    user: Uuid,
    proof: &Proof,
    now: Timestamp,
    signature_ok: bool,
) -> bool {
    d.owner == user
        && signature_ok
        && now.unix_timestamp().abs_diff(proof.at) <= PROOF_MAX_AGE_SECONDS.unsigned_abs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn proofs_parse_and_must_be_fresh_owned_and_signed() {
        let id = Uuid::from_u128(5);
        let p = parse_proof(&format!("{id}.1780000000.c2ln")).unwrap();
        assert_eq!((p.device_id, p.at), (id, 1_780_000_000));
        assert!(
            parse_proof("x.1.y").is_none()
                && parse_proof(&format!("{id}.soon.sig")).is_none()
                && parse_proof(&format!("{id}.1.")).is_none()
        );
        let now = time::OffsetDateTime::from_unix_timestamp(1_780_000_100).unwrap();
        let d = Device {
            id,
            owner: Uuid::from_u128(1),
            display_name: "Pixel".into(),
            platform: Platform::Android,
            is_compliant: true,
            public_key: String::new(),
            created_at: datetime!(2026-01-01 0:00 UTC),
            properties: DeviceProperties::default(),
        };
        assert!(possession_proved(&d, Uuid::from_u128(1), &p, now, true));
        assert!(
            !possession_proved(&d, Uuid::from_u128(2), &p, now, true),
            "someone else's device"
        );
        assert!(
            !possession_proved(&d, Uuid::from_u128(1), &p, now, false),
            "bad signature"
        );
        let unmanaged = Device {
            is_compliant: false,
            ..d.clone()
        };
        assert!(
            possession_proved(&unmanaged, Uuid::from_u128(1), &p, now, true)
                && !unmanaged.facts().is_compliant,
            "proved, but compliance is the MDM's record"
        );
        let later = time::OffsetDateTime::from_unix_timestamp(1_780_000_000 + 301).unwrap();
        assert!(
            !possession_proved(&d, Uuid::from_u128(1), &p, later, true),
            "stale proof"
        );
        for at in [i64::MIN, i64::MAX] {
            let extreme = Proof { at, ..p.clone() };
            assert!(
                !possession_proved(&d, Uuid::from_u128(1), &extreme, now, true),
                "a time at the end of the range is stale, not an overflow"
            );
        }
    }

    fn prop(name: &str) -> DeviceProperty {
        DeviceProperty::parse(name).unwrap()
    }

    #[test]
    fn facts_name_properties_as_filters_do_and_administrators_set_only_valid_ones() {
        let parse = PropertiesPatch::parse;
        let first = parse(RawPropertiesPatch {
            device_ownership: Some(Some("company".into())),
            extension_attributes: vec![("extensionAttribute1".into(), Some("SAW".into()))],
            ..Default::default()
        })
        .unwrap();
        let mut properties = DeviceProperties::default();
        properties.apply(first);
        let d = Device {
            id: Uuid::from_u128(9),
            owner: Uuid::from_u128(1),
            display_name: "SAW-01".into(),
            platform: Platform::Windows,
            is_compliant: false,
            public_key: String::new(),
            created_at: datetime!(2026-01-01 0:00 UTC),
            properties,
        };
        let f = d.facts();
        assert_eq!(f.get(prop("ExtensionAttribute1")), Some("SAW"));
        assert_eq!(f.get(prop("operatingsystem")), Some("Windows"));
        assert_eq!(f.get(prop("deviceOwnership")), Some("Company"));
        assert_eq!(
            f.get(prop("trustType")),
            Some("Workplace"),
            "registered unless recorded otherwise"
        );
        assert_eq!(f.get(prop("isCompliant")), Some("False"));
        assert_eq!(
            (f.get(prop("model")), f.get(prop("extensionAttribute2"))),
            (None, None)
        );
        for name in [
            "extensionAttribute16",
            "extensionAttribute0",
            "extensionAttribute01",
            "colour",
        ] {
            assert_eq!(DeviceProperty::parse(name), None, "{name}");
        }
        let bad = |raw: RawPropertiesPatch| parse(raw).unwrap_err().to_string();
        assert!(bad(RawPropertiesPatch {
            trust_type: Some(Some("ServerAD".into())),
            ..Default::default()
        })
        .contains("ServerAD"));
        assert!(bad(RawPropertiesPatch {
            device_ownership: Some(Some("Mine".into())),
            ..Default::default()
        })
        .contains("Company"));
        assert!(bad(RawPropertiesPatch {
            extension_attributes: vec![("extensionAttribute99".into(), Some("x".into()))],
            ..Default::default()
        })
        .contains("extensionAttribute99"));
        assert!(bad(RawPropertiesPatch {
            model: Some(Some("m".repeat(257))),
            ..Default::default()
        })
        .contains("model is longer than 256"));
        let mut merged = d.properties.clone();
        merged.apply(
            parse(RawPropertiesPatch {
                model: Some(Some("Surface".into())),
                device_ownership: Some(None),
                trust_type: Some(Some(String::new())),
                extension_attributes: vec![
                    ("ExtensionAttribute2".into(), Some("T0".into())),
                    ("extensionAttribute1".into(), Some(String::new())),
                ],
                ..Default::default()
            })
            .unwrap(),
        );
        assert_eq!(
            (
                merged.model.as_deref(),
                merged.device_ownership,
                merged.trust_type
            ),
            (Some("Surface"), None, None)
        );
        let stored = serde_json::to_value(&merged).unwrap();
        assert_eq!(
            stored,
            serde_json::json!({"model": "Surface", "extensionAttributes": {"extensionAttribute2": "T0"}}),
            "canonical names; empty clears"
        );
        let back: DeviceProperties = serde_json::from_value(stored).unwrap();
        assert_eq!(back, merged, "the stored form round-trips");
        let what_if = DeviceFacts::from_graph(&serde_json::json!({"isCompliant": true, "trustType": "AzureAD", "extensionAttribute3": "SAW", "profileType": "Standard"})).unwrap();
        assert_eq!(
            (
                what_if.get(prop("trustType")),
                what_if.get(prop("extensionattribute3")),
                what_if.is_compliant
            ),
            (Some("AzureAD"), Some("SAW"), true)
        );
        assert!(
            DeviceFacts::from_graph(&serde_json::json!({"isCompliant": "yes"})).is_err()
                && DeviceFacts::from_graph(&serde_json::json!({"model": 5})).is_err()
                && DeviceFacts::from_graph(&serde_json::json!([])).is_err()
        );
    }
}
