//! Devices (SPEC §1): enrolled by an MDM-style administrator, marked compliant or not, and
//! holding a device key with which the client proves possession at sign-in — so "compliant
//! device" is something the client cannot simply claim.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

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
    /// Platform (`android`, `iOS`, `windows`, `macOS`, `linux`).
    pub platform: String,
    /// Marked compliant by the MDM.
    pub is_compliant: bool,
    /// The device key: a P-256 public key, SPKI DER, base64.
    pub public_key: String,
    /// Enrolled at.
    pub created_at: Timestamp,
    /// What the administrator records about it, for device filters.
    pub properties: DeviceProperties,
}

/// Administrator-set device properties that Conditional Access device filters read
/// (`device.trustType`, `device.extensionAttribute1`, …), in Graph's spelling.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceProperties {
    /// `AzureAD` (joined) or `Workplace` (registered, the default). Portcullis has no
    /// on-premises directory, so never `ServerAD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_type: Option<String>,
    /// `Company` or `Personal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_ownership: Option<String>,
    /// Maker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    /// Model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Operating system version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_system_version: Option<String>,
    /// `extensionAttribute1` … `extensionAttribute15`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extension_attributes: BTreeMap<String, String>,
}

/// A change to [`DeviceProperties`], merged into the stored ones: `None` leaves a field as
/// it is; `Some(None)` or an empty value clears it. Extension attributes are named in any
/// spelling (`extensionattribute1`), each set or cleared on its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PropertiesPatch {
    /// `trustType`.
    pub trust_type: Option<Option<String>>,
    /// `deviceOwnership`.
    pub device_ownership: Option<Option<String>>,
    /// `manufacturer`.
    pub manufacturer: Option<Option<String>>,
    /// `model`.
    pub model: Option<Option<String>>,
    /// `operatingSystemVersion`.
    pub operating_system_version: Option<Option<String>>,
    /// `extensionAttributeN` → new value (`None` clears).
    pub extension_attributes: BTreeMap<String, Option<String>>,
}

impl DeviceProperties {
    /// Applies a patch; call [`DeviceProperties::validate`] afterwards.
    pub fn apply(&mut self, patch: PropertiesPatch) {
        let fields = [
            (&mut self.trust_type, patch.trust_type),
            (&mut self.device_ownership, patch.device_ownership),
            (&mut self.manufacturer, patch.manufacturer),
            (&mut self.model, patch.model),
            (
                &mut self.operating_system_version,
                patch.operating_system_version,
            ),
        ];
        for (slot, change) in fields {
            if let Some(v) = change {
                *slot = v.filter(|v| !v.is_empty());
            }
        }
        for (name, value) in patch.extension_attributes {
            // An unknown name is kept as given, for `validate` to refuse with its spelling.
            let key = filter_property(&name)
                .filter(|n| n.starts_with("extensionAttribute"))
                .unwrap_or(name);
            match value.filter(|v| !v.is_empty()) {
                Some(v) => self.extension_attributes.insert(key, v),
                None => self.extension_attributes.remove(&key),
            };
        }
    }
}

/// Trust types an administrator may record.
pub const TRUST_TYPES: [&str; 2] = ["AzureAD", "Workplace"];
/// Ownership values.
pub const OWNERSHIPS: [&str; 2] = ["Company", "Personal"];

/// The device properties a filter rule may name (`device.<name>`), in Graph's spelling.
pub const FILTER_PROPERTIES: [&str; 10] = [
    "deviceId",
    "displayName",
    "operatingSystem",
    "operatingSystemVersion",
    "isCompliant",
    "trustType",
    "deviceOwnership",
    "manufacturer",
    "model",
    "extensionAttribute1..15",
];

/// The canonical spelling of a filterable property, or `None` if there is no such property.
pub fn filter_property(name: &str) -> Option<String> {
    const EXT: &str = "extensionattribute";
    if name.len() > EXT.len()
        && name.is_char_boundary(EXT.len())
        && name[..EXT.len()].eq_ignore_ascii_case(EXT)
    {
        return name[EXT.len()..]
            .parse::<u8>()
            .ok()
            .filter(|n| (1..=15).contains(n))
            .map(|n| format!("extensionAttribute{n}"));
    }
    FILTER_PROPERTIES[..9]
        .iter()
        .find(|p| p.eq_ignore_ascii_case(name))
        .map(|p| p.to_string())
}

/// Why device properties or What If's `deviceInfo` are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// A trust type Portcullis does not have.
    #[error("trustType '{0}' must be one of AzureAD, Workplace (Portcullis has no on-premises directory, so no ServerAD)")]
    TrustType(String),
    /// An ownership that is neither.
    #[error("deviceOwnership '{0}' must be Company or Personal")]
    Ownership(String),
    /// Not one of the fifteen extension attributes.
    #[error("'{0}' is not one of extensionAttribute1 … extensionAttribute15")]
    ExtensionAttribute(String),
    /// A value over its length.
    #[error("{what} is longer than {max} characters")]
    TooLong {
        /// The property (or the start of the value).
        what: String,
        /// Its limit.
        max: usize,
    },
    /// `deviceInfo` is not an object.
    #[error("deviceInfo must be an object")]
    InfoNotAnObject,
    /// `deviceInfo.isCompliant` is not a Boolean.
    #[error("deviceInfo.isCompliant must be true or false")]
    InfoCompliance,
    /// A `deviceInfo` property that is not text.
    #[error("deviceInfo.{0} must be a string")]
    InfoNotText(String),
}

impl DeviceProperties {
    /// Checks values an administrator sets; the error says what to fix.
    pub fn validate(&self) -> Result<(), DeviceError> {
        if let Some(t) = &self.trust_type {
            if !TRUST_TYPES.contains(&t.as_str()) {
                return Err(DeviceError::TrustType(t.clone()));
            }
        }
        if let Some(o) = &self.device_ownership {
            if !OWNERSHIPS.contains(&o.as_str()) {
                return Err(DeviceError::Ownership(o.clone()));
            }
        }
        for (k, v) in &self.extension_attributes {
            if !k.starts_with("extensionAttribute")
                || filter_property(k).as_deref() != Some(k.as_str())
            {
                return Err(DeviceError::ExtensionAttribute(k.clone()));
            }
            if v.len() > 1024 {
                return Err(DeviceError::TooLong {
                    what: k.clone(),
                    max: 1024,
                });
            }
        }
        let long = [
            &self.manufacturer,
            &self.model,
            &self.operating_system_version,
        ]
        .into_iter()
        .flatten()
        .find(|v| v.len() > 256);
        match long {
            Some(v) => Err(DeviceError::TooLong {
                what: format!("'{}…'", v.chars().take(20).collect::<String>()),
                max: 256,
            }),
            None => Ok(()),
        }
    }
}

/// What Conditional Access knows about the device of one sign-in: from an enrolled device that
/// proved possession of its key, or from What If's `deviceInfo`. A sign-in from a device that
/// proved nothing has none, and every property is null to a filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceFacts {
    /// Properties by their canonical filter name (see [`filter_property`]).
    pub values: BTreeMap<String, String>,
    /// Marked compliant.
    pub is_compliant: bool,
}

impl DeviceFacts {
    /// A property's value, by any spelling of its name.
    pub fn get(&self, name: &str) -> Option<&str> {
        if name.eq_ignore_ascii_case("isCompliant") {
            return Some(if self.is_compliant { "True" } else { "False" });
        }
        filter_property(name)
            .and_then(|n| self.values.get(&n))
            .map(String::as_str)
    }
}

impl DeviceFacts {
    /// What If's `signInConditions.deviceInfo` (graph-api.md §5.8): the properties filters
    /// can name, with `isCompliant` a boolean. Properties Portcullis does not filter on are
    /// ignored, as they describe nothing a policy here can test.
    pub fn from_graph(info: &serde_json::Value) -> Result<DeviceFacts, DeviceError> {
        let obj = info.as_object().ok_or(DeviceError::InfoNotAnObject)?;
        let mut facts = DeviceFacts::default();
        for (k, v) in obj {
            // deviceInfo spells the ownership `ownership`; filters say `device.deviceOwnership`.
            let k = if k == "ownership" {
                "deviceOwnership"
            } else {
                k.as_str()
            };
            if k.eq_ignore_ascii_case("isCompliant") {
                facts.is_compliant = v.as_bool().ok_or(DeviceError::InfoCompliance)?;
            } else if v.is_null() || k.starts_with('@') {
                // Absent, as the SDKs write unset properties.
            } else if let Some(name) = filter_property(k) {
                let text = v
                    .as_str()
                    .ok_or_else(|| DeviceError::InfoNotText(k.to_string()))?;
                facts.values.insert(name, text.to_string());
            }
        }
        Ok(facts)
    }
}

impl Device {
    /// What Conditional Access reads about this device.
    pub fn facts(&self) -> DeviceFacts {
        let p = &self.properties;
        let mut values: BTreeMap<String, String> = p.extension_attributes.clone();
        let fixed = [
            ("deviceId", Some(self.id.to_string())),
            ("displayName", Some(self.display_name.clone())),
            (
                "operatingSystem",
                Some(
                    Platform::parse(&self.platform)
                        .map_or_else(|| self.platform.clone(), |p| p.operating_system().into()),
                ),
            ),
            (
                "trustType",
                Some(p.trust_type.clone().unwrap_or_else(|| "Workplace".into())),
            ),
            ("operatingSystemVersion", p.operating_system_version.clone()),
            ("deviceOwnership", p.device_ownership.clone()),
            ("manufacturer", p.manufacturer.clone()),
            ("model", p.model.clone()),
        ];
        values.extend(
            fixed
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k.to_string(), v))),
        );
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
            platform: "android".into(),
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

    #[test]
    fn facts_name_properties_as_filters_do_and_administrators_set_only_valid_ones() {
        let d = Device {
            id: Uuid::from_u128(9),
            owner: Uuid::from_u128(1),
            display_name: "SAW-01".into(),
            platform: "windows".into(),
            is_compliant: false,
            public_key: String::new(),
            created_at: datetime!(2026-01-01 0:00 UTC),
            properties: DeviceProperties {
                device_ownership: Some("Company".into()),
                extension_attributes: [("extensionAttribute1".to_string(), "SAW".to_string())]
                    .into(),
                ..Default::default()
            },
        };
        let f = d.facts();
        assert_eq!(f.get("ExtensionAttribute1"), Some("SAW"));
        assert_eq!(f.get("operatingsystem"), Some("Windows"));
        assert_eq!(
            f.get("trustType"),
            Some("Workplace"),
            "registered unless recorded otherwise"
        );
        assert_eq!(f.get("isCompliant"), Some("False"));
        assert_eq!(
            (
                f.get("model"),
                f.get("extensionAttribute2"),
                f.get("extensionAttribute16")
            ),
            (None, None, None)
        );
        assert!(d.properties.validate().is_ok());
        let bad = |p: DeviceProperties| p.validate().unwrap_err().to_string();
        assert!(bad(DeviceProperties {
            trust_type: Some("ServerAD".into()),
            ..Default::default()
        })
        .contains("ServerAD"));
        assert!(bad(DeviceProperties {
            device_ownership: Some("Mine".into()),
            ..Default::default()
        })
        .contains("Company"));
        assert!(bad(DeviceProperties {
            extension_attributes: [("extensionAttribute16".to_string(), "x".to_string())].into(),
            ..Default::default()
        })
        .contains("extensionAttribute15"));
        let mut merged = d.properties.clone();
        merged.apply(PropertiesPatch {
            model: Some(Some("Surface".into())),
            device_ownership: Some(None),
            extension_attributes: [
                ("ExtensionAttribute2".to_string(), Some("T0".to_string())),
                ("extensionAttribute1".to_string(), Some(String::new())),
            ]
            .into(),
            ..Default::default()
        });
        assert_eq!(
            (merged.model.as_deref(), merged.device_ownership.as_deref()),
            (Some("Surface"), None)
        );
        assert_eq!(
            merged.extension_attributes,
            [("extensionAttribute2".to_string(), "T0".to_string())].into(),
            "canonical names; empty clears"
        );
        let mut typo = DeviceProperties::default();
        typo.apply(PropertiesPatch {
            extension_attributes: [("extensionAttribute99".to_string(), Some("x".to_string()))]
                .into(),
            ..Default::default()
        });
        assert!(typo
            .validate()
            .unwrap_err()
            .to_string()
            .contains("extensionAttribute99"));
        let what_if = DeviceFacts::from_graph(&serde_json::json!({"isCompliant": true, "trustType": "AzureAD", "extensionAttribute3": "SAW", "profileType": "Standard"})).unwrap();
        assert_eq!(
            (
                what_if.get("trustType"),
                what_if.get("extensionattribute3"),
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
