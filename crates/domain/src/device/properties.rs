//! What an administrator records about a device and what Conditional Access reads of it
//! (`device.trustType`, `device.extensionAttribute1`, …): parsed once, at the edge or on load,
//! into the typed values below; Graph's spelling stays the wire and stored form.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// `trustType`: joined (`AzureAD`) or registered (`Workplace`). Portcullis has no on-premises
/// directory, so never `ServerAD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrustType {
    /// Joined.
    #[serde(rename = "AzureAD")]
    AzureAd,
    /// Registered (what a device is unless recorded otherwise).
    Workplace,
}

/// `deviceOwnership`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Ownership {
    /// Owned by the organisation.
    Company,
    /// The user's own.
    Personal,
}

impl TrustType {
    /// Graph's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TrustType::AzureAd => "AzureAD",
            TrustType::Workplace => "Workplace",
        }
    }
}

impl Ownership {
    /// Graph's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Ownership::Company => "Company",
            Ownership::Personal => "Personal",
        }
    }
}

impl FromStr for TrustType {
    type Err = DeviceError;
    /// Graph's spelling, any case.
    fn from_str(s: &str) -> Result<Self, DeviceError> {
        [TrustType::AzureAd, TrustType::Workplace]
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| DeviceError::TrustType(s.to_string()))
    }
}

impl FromStr for Ownership {
    type Err = DeviceError;
    /// Graph's spelling, any case.
    fn from_str(s: &str) -> Result<Self, DeviceError> {
        [Ownership::Company, Ownership::Personal]
            .into_iter()
            .find(|o| o.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| DeviceError::Ownership(s.to_string()))
    }
}

/// One of `extensionAttribute1` … `extensionAttribute15`; on the wire in that spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExtensionAttribute(u8);

impl ExtensionAttribute {
    /// The attribute's number, 1 to 15.
    pub fn number(self) -> u8 {
        self.0
    }
}

impl fmt::Display for ExtensionAttribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "extensionAttribute{}", self.0)
    }
}

impl FromStr for ExtensionAttribute {
    type Err = DeviceError;
    /// Any spelling: `extensionAttribute1`, `ExtensionAttribute1`, `extensionattribute1`.
    fn from_str(s: &str) -> Result<Self, DeviceError> {
        const PREFIX: &str = "extensionattribute";
        let bad = || DeviceError::ExtensionAttribute(s.to_string());
        let (head, n) = s.split_at_checked(PREFIX.len()).ok_or_else(bad)?;
        if !head.eq_ignore_ascii_case(PREFIX) || n.starts_with(['+', '0']) {
            return Err(bad());
        }
        n.parse::<u8>()
            .ok()
            .filter(|n| (1..=15).contains(n))
            .map(ExtensionAttribute)
            .ok_or_else(bad)
    }
}

crate::serde_as_text!(ExtensionAttribute);

/// A device property a filter rule may name (`device.<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeviceProperty {
    /// `deviceId`.
    DeviceId,
    /// `displayName`.
    DisplayName,
    /// `operatingSystem`.
    OperatingSystem,
    /// `operatingSystemVersion`.
    OperatingSystemVersion,
    /// `isCompliant`.
    IsCompliant,
    /// `trustType`.
    TrustType,
    /// `deviceOwnership`.
    DeviceOwnership,
    /// `manufacturer`.
    Manufacturer,
    /// `model`.
    Model,
    /// `extensionAttribute1..15`.
    Extension(ExtensionAttribute),
}

/// The properties filters can name, in Graph's spelling, for messages.
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

const FIXED: [DeviceProperty; 9] = [
    DeviceProperty::DeviceId,
    DeviceProperty::DisplayName,
    DeviceProperty::OperatingSystem,
    DeviceProperty::OperatingSystemVersion,
    DeviceProperty::IsCompliant,
    DeviceProperty::TrustType,
    DeviceProperty::DeviceOwnership,
    DeviceProperty::Manufacturer,
    DeviceProperty::Model,
];

impl DeviceProperty {
    /// Parses a property name in any case; `None` if filters cannot name it.
    pub fn parse(name: &str) -> Option<DeviceProperty> {
        if let Ok(e) = name.parse::<ExtensionAttribute>() {
            return Some(DeviceProperty::Extension(e));
        }
        FIXED
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    /// Graph's spelling (extension attributes are `extensionAttribute{n}`, see `Display`).
    fn name(self) -> &'static str {
        match self {
            DeviceProperty::DeviceId => "deviceId",
            DeviceProperty::DisplayName => "displayName",
            DeviceProperty::OperatingSystem => "operatingSystem",
            DeviceProperty::OperatingSystemVersion => "operatingSystemVersion",
            DeviceProperty::IsCompliant => "isCompliant",
            DeviceProperty::TrustType => "trustType",
            DeviceProperty::DeviceOwnership => "deviceOwnership",
            DeviceProperty::Manufacturer => "manufacturer",
            DeviceProperty::Model => "model",
            DeviceProperty::Extension(_) => "extensionAttribute",
        }
    }
}

impl fmt::Display for DeviceProperty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceProperty::Extension(e) => e.fmt(f),
            p => f.write_str(p.name()),
        }
    }
}

/// Administrator-set device properties that Conditional Access device filters read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceProperties {
    /// Joined or registered (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_type: Option<TrustType>,
    /// Company or personal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_ownership: Option<Ownership>,
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
    pub extension_attributes: BTreeMap<ExtensionAttribute, String>,
}

/// A change to [`DeviceProperties`], merged into the stored ones: `None` leaves a field as
/// it is; `Some(None)` (or an empty text) clears it. Made by [`PropertiesPatch::parse`] from
/// what the edge read, so only valid names and values reach a device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PropertiesPatch {
    /// `trustType`.
    pub trust_type: Option<Option<TrustType>>,
    /// `deviceOwnership`.
    pub device_ownership: Option<Option<Ownership>>,
    /// `manufacturer`.
    pub manufacturer: Option<Option<String>>,
    /// `model`.
    pub model: Option<Option<String>>,
    /// `operatingSystemVersion`.
    pub operating_system_version: Option<Option<String>>,
    /// Attribute → new value (`None` clears).
    pub extension_attributes: BTreeMap<ExtensionAttribute, Option<String>>,
}

/// A patch as the edge read it: Graph's property names with text values; `Some(None)` and
/// `Some(Some(""))` both clear.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawPropertiesPatch {
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
    /// `extensionAttributeN` in any spelling → new value.
    pub extension_attributes: Vec<(String, Option<String>)>,
}

fn cleared(v: Option<Option<String>>) -> Option<Option<String>> {
    v.map(|v| v.filter(|v| !v.is_empty()))
}

fn enumerated<T: FromStr<Err = DeviceError>>(
    v: Option<Option<String>>,
) -> Result<Option<Option<T>>, DeviceError> {
    cleared(v)
        .map(|v| v.map(|s| s.parse()).transpose())
        .transpose()
}

fn text(
    what: &'static str,
    v: Option<Option<String>>,
    max: usize,
) -> Result<Option<Option<String>>, DeviceError> {
    let v = cleared(v);
    if let Some(Some(s)) = &v {
        if s.chars().count() > max {
            return Err(DeviceError::TooLong {
                what: what.to_string(),
                max,
            });
        }
    }
    Ok(v)
}

impl PropertiesPatch {
    /// Parses what the edge read: enumerations and attribute names checked, lengths
    /// bounded. The error names the property.
    pub fn parse(raw: RawPropertiesPatch) -> Result<PropertiesPatch, DeviceError> {
        let mut extension_attributes = BTreeMap::new();
        for (name, value) in raw.extension_attributes {
            let attr: ExtensionAttribute = name.parse()?;
            let value = text("an extension attribute", Some(value), 1024)?.flatten();
            extension_attributes.insert(attr, value);
        }
        Ok(PropertiesPatch {
            trust_type: enumerated(raw.trust_type)?,
            device_ownership: enumerated(raw.device_ownership)?,
            manufacturer: text("manufacturer", raw.manufacturer, 256)?,
            model: text("model", raw.model, 256)?,
            operating_system_version: text(
                "operatingSystemVersion",
                raw.operating_system_version,
                256,
            )?,
            extension_attributes,
        })
    }
}

impl DeviceProperties {
    /// Applies a patch.
    pub fn apply(&mut self, patch: PropertiesPatch) {
        fn set<T>(slot: &mut Option<T>, change: Option<Option<T>>) {
            if let Some(v) = change {
                *slot = v;
            }
        }
        set(&mut self.trust_type, patch.trust_type);
        set(&mut self.device_ownership, patch.device_ownership);
        set(&mut self.manufacturer, patch.manufacturer);
        set(&mut self.model, patch.model);
        set(
            &mut self.operating_system_version,
            patch.operating_system_version,
        );
        for (attr, value) in patch.extension_attributes {
            match value {
                Some(v) => self.extension_attributes.insert(attr, v),
                None => self.extension_attributes.remove(&attr),
            };
        }
    }
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
        /// The property.
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

/// What Conditional Access knows about the device of one sign-in: from an enrolled device that
/// proved possession of its key, or from What If's `deviceInfo`. A sign-in from a device that
/// proved nothing has none, and every property is null to a filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceFacts {
    /// Property values (`isCompliant` is the field below).
    pub values: BTreeMap<DeviceProperty, String>,
    /// Marked compliant.
    pub is_compliant: bool,
}

impl DeviceFacts {
    /// A property's value as a filter compares it (`isCompliant` as `True`/`False`).
    pub fn get(&self, property: DeviceProperty) -> Option<&str> {
        match property {
            DeviceProperty::IsCompliant => Some(if self.is_compliant { "True" } else { "False" }),
            p => self.values.get(&p).map(String::as_str),
        }
    }

    /// What If's `signInConditions.deviceInfo` (graph-api.md §5.8): the properties filters
    /// can name, with `isCompliant` a boolean. Properties Portcullis does not filter on are
    /// ignored, as they describe nothing a policy here can test.
    pub fn from_graph(info: &serde_json::Value) -> Result<DeviceFacts, DeviceError> {
        let info = info.as_object().ok_or(DeviceError::InfoNotAnObject)?;
        let mut facts = DeviceFacts::default();
        for (k, v) in info {
            // deviceInfo spells the ownership `ownership`; filters say `device.deviceOwnership`.
            let property = if k == "ownership" {
                Some(DeviceProperty::DeviceOwnership)
            } else {
                DeviceProperty::parse(k)
            };
            match property {
                Some(DeviceProperty::IsCompliant) => {
                    facts.is_compliant = v.as_bool().ok_or(DeviceError::InfoCompliance)?;
                }
                // Absent, as the SDKs write unset properties.
                _ if v.is_null() || k.starts_with('@') => {}
                Some(p) => {
                    let text = v
                        .as_str()
                        .ok_or_else(|| DeviceError::InfoNotText(k.to_string()))?;
                    facts.values.insert(p, text.to_string());
                }
                None => {}
            }
        }
        Ok(facts)
    }
}
