//! How a passkey reached the browser (R24): what the client reported about the authenticator
//! — its attachment (`platform`, `cross-platform`) and the transports it can be reached by —
//! read once from the client's words into these types, kept on the passkey at registration
//! and on the sign-in log at each sign-in, and summed up as a [`Reach`] for people to read.
//! Cross-device (hybrid) sign-in and registration are done by the client platform; the
//! server records and shows what it was told, and decides nothing from it.

use std::collections::BTreeSet;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

/// `authenticatorAttachment` as the client reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Attachment {
    /// Part of the device the browser runs on.
    Platform,
    /// Reached over a transport: a security key, or a phone across devices.
    CrossPlatform,
}

impl Attachment {
    /// The WebAuthn name, also stored and exported.
    pub fn code(self) -> &'static str {
        match self {
            Attachment::Platform => "platform",
            Attachment::CrossPlatform => "cross-platform",
        }
    }

    /// Reads the WebAuthn name; anything else is no report.
    pub fn parse(s: &str) -> Option<Attachment> {
        [Attachment::Platform, Attachment::CrossPlatform]
            .into_iter()
            .find(|a| a.code() == s)
    }
}

/// One `AuthenticatorTransport` (WebAuthn §5.8.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Transport {
    /// Built into the device.
    Internal,
    /// Across devices: a QR code, Bluetooth proximity and a tunnel service.
    Hybrid,
    /// USB.
    Usb,
    /// NFC.
    Nfc,
    /// Bluetooth Low Energy.
    Ble,
    /// A smart card.
    SmartCard,
}

impl Transport {
    const ALL: [Transport; 6] = [
        Transport::Internal,
        Transport::Hybrid,
        Transport::Usb,
        Transport::Nfc,
        Transport::Ble,
        Transport::SmartCard,
    ];

    /// The WebAuthn name, also stored and exported.
    pub fn code(self) -> &'static str {
        match self {
            Transport::Internal => "internal",
            Transport::Hybrid => "hybrid",
            Transport::Usb => "usb",
            Transport::Nfc => "nfc",
            Transport::Ble => "ble",
            Transport::SmartCard => "smart-card",
        }
    }

    /// Reads the WebAuthn name; an unknown transport is none (WebAuthn tells clients and
    /// servers to ignore those).
    pub fn parse(s: &str) -> Option<Transport> {
        Transport::ALL.into_iter().find(|t| t.code() == s)
    }
}

/// The transports reported for a passkey: a set, in a fixed order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Transports(BTreeSet<Transport>);

impl Transports {
    /// The known ones among `names`.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Transports {
        Transports(names.into_iter().filter_map(Transport::parse).collect())
    }

    /// Whether `t` is among them.
    pub fn has(&self, t: Transport) -> bool {
        self.0.contains(&t)
    }

    /// Whether none was reported.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Their WebAuthn names, in a fixed order.
    pub fn codes(&self) -> Vec<&'static str> {
        self.0.iter().map(|t| t.code()).collect()
    }

    /// Stored and exported form: the names joined by commas.
    pub fn joined(&self) -> String {
        self.codes().join(",")
    }

    /// Reads [`Self::joined`].
    pub fn split(stored: &str) -> Transports {
        Transports::parse(stored.split(','))
    }
}

/// What the client reported about the authenticator at one ceremony.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ClientReport {
    /// `authenticatorAttachment`, when the client gave one.
    pub attachment: Option<Attachment>,
    /// The passkey's transports: reported at registration (`getTransports()`); a sign-in
    /// reports none, so a sign-in's record carries those its passkey registered with.
    pub transports: Transports,
}

/// How a passkey reached the browser, as people read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reach {
    /// Built into the device the browser runs on (Windows Hello, a Mac, the phone itself).
    ThisDevice,
    /// A phone or tablet across devices (hybrid: QR code, Bluetooth, tunnel service).
    AcrossDevices,
    /// A security key over USB, NFC, Bluetooth or a smart card reader.
    SecurityKey,
    /// The client said nothing that places it.
    Unreported,
}

impl Reach {
    /// The stable name, as exports and pages carry it.
    pub fn code(self) -> &'static str {
        match self {
            Reach::ThisDevice => "thisDevice",
            Reach::AcrossDevices => "hybrid",
            Reach::SecurityKey => "securityKey",
            Reach::Unreported => "unreported",
        }
    }
}

impl ClientReport {
    /// How the authenticator was reached. A cross-platform authenticator that can be reached
    /// across devices was (a phone answering a desktop's QR code reports `cross-platform`
    /// with `hybrid` among its transports); one reachable only over USB, NFC, Bluetooth or a
    /// card is a security key; a platform authenticator is this device.
    pub fn reach(&self) -> Reach {
        match self.attachment {
            Some(Attachment::Platform) => Reach::ThisDevice,
            Some(Attachment::CrossPlatform) if self.transports.has(Transport::Hybrid) => {
                Reach::AcrossDevices
            }
            Some(Attachment::CrossPlatform)
                if [
                    Transport::Usb,
                    Transport::Nfc,
                    Transport::Ble,
                    Transport::SmartCard,
                ]
                .into_iter()
                .any(|t| self.transports.has(t)) =>
            {
                Reach::SecurityKey
            }
            // Without an attachment nothing places it: the transports are the passkey's, not
            // this ceremony's.
            _ => Reach::Unreported,
        }
    }
}

/// Exported as `{"attachment", "transports", "reach"}` (JSON logs and inventory).
impl Serialize for ClientReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_struct("ClientReport", 3)?;
        m.serialize_field("attachment", &self.attachment.map(Attachment::code))?;
        m.serialize_field("transports", &self.transports.codes())?;
        m.serialize_field("reach", self.reach().code())?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(attachment: Option<&str>, transports: &[&str]) -> ClientReport {
        ClientReport {
            attachment: attachment.and_then(Attachment::parse),
            transports: Transports::parse(transports.iter().copied()),
        }
    }

    #[test]
    fn r24_a_phone_across_devices_is_hybrid_and_the_same_phone_on_itself_is_this_device() {
        assert_eq!(
            report(Some("cross-platform"), &["hybrid", "internal"]).reach(),
            Reach::AcrossDevices
        );
        assert_eq!(
            report(Some("platform"), &["hybrid", "internal"]).reach(),
            Reach::ThisDevice
        );
    }

    #[test]
    fn r24_a_key_over_usb_or_nfc_is_a_security_key_and_silence_places_nothing() {
        assert_eq!(
            report(Some("cross-platform"), &["usb", "nfc"]).reach(),
            Reach::SecurityKey
        );
        assert_eq!(
            report(Some("cross-platform"), &[]).reach(),
            Reach::Unreported
        );
        assert_eq!(report(None, &["usb"]).reach(), Reach::Unreported);
        assert_eq!(report(None, &["hybrid"]).reach(), Reach::Unreported);
        assert_eq!(report(None, &[]).reach(), Reach::Unreported);
    }

    #[test]
    fn unknown_names_are_ignored_and_the_stored_form_reads_back() {
        let t = Transports::parse(["usb", "cable", "smart-card", "", "USB", "hybrid"]);
        assert_eq!(t.codes(), ["hybrid", "usb", "smart-card"]);
        assert_eq!(Transports::split(&t.joined()), t);
        assert_eq!(Transports::split(""), Transports::default());
        assert_eq!(Attachment::parse("Platform"), None);
        assert_eq!(
            Attachment::parse("cross-platform"),
            Some(Attachment::CrossPlatform)
        );
    }
}
