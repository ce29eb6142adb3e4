//! The phone the Authenticator app runs on, as the app reports it: whether it can hold
//! passkeys (R19) and which Android profile a passkey is made in (R20).
//!
//! The app reports these facts; the server cannot verify them (as in Entra, where the OS
//! enforces them). Both the app and the server call [`Phone::unmet`], so a phone that cannot
//! hold a passkey is refused, naming the requirement, before anything is created.

use std::fmt;

use crate::conditional_access::platform::Platform;
use crate::device::AUTHENTICATOR_MINIMUM;
use crate::passkey::AndroidProfile;

/// A phone's facts, parsed once from what the app sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// Android or iOS (other platforms do not run the Authenticator's passkeys).
    pub platform: Platform,
    /// The system's major version (Android 14, iOS 17 …).
    pub os_major: u32,
    /// The Android profile the app runs in; `None` on iOS.
    pub profile: Option<AndroidProfile>,
    /// Whether the Authenticator is turned on as the device's passkey provider.
    pub passkey_provider: bool,
    /// The phone's name, as its methods show it.
    pub name: String,
}

/// What the app's description of its phone got wrong (bad input, not a refusal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Not `android` or `iOS`.
    #[error("platform must be android or iOS, not '{0}'")]
    Platform(String),
    /// Not a version number.
    #[error("osVersion must be a version number such as 14 or 17.4, not '{0}'")]
    OsVersion(String),
    /// Not `personal` or `work`.
    #[error("profile must be personal or work, not '{0}'")]
    Profile(String),
    /// A profile on iOS, which has none.
    #[error("profile is for Android: iOS has no work and personal profiles")]
    ProfileOnIos,
    /// An empty or oversized name.
    #[error("name must be 1 to 64 characters")]
    Name,
}

/// A requirement a phone must meet to hold a passkey in the Authenticator (R19).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// The system is older than the Authenticator's minimum for the platform.
    OsVersion {
        /// The platform.
        platform: Platform,
        /// What the phone runs.
        have: u32,
        /// What is needed.
        need: u32,
    },
    /// The Authenticator is not turned on as the passkey provider.
    PasskeyProvider(Platform),
}

impl Requirement {
    /// A stable code for the API and the sign-in log.
    pub fn code(self) -> &'static str {
        match self {
            Requirement::OsVersion { .. } => "osVersionTooOld",
            Requirement::PasskeyProvider(_) => "passkeyProviderDisabled",
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Requirement::OsVersion {
                platform,
                have,
                need,
            } => write!(
                f,
                "Passkeys in Microsoft Authenticator need {os} {need} or later; this phone runs {os} {have}. Update the phone, then add the passkey again.",
                os = platform.operating_system()
            ),
            Requirement::PasskeyProvider(Platform::Ios) => f.write_str(
                "Microsoft Authenticator is not turned on as a passkey provider on this iPhone: turn it on in Settings > General > AutoFill & Passwords, then add the passkey again.",
            ),
            Requirement::PasskeyProvider(_) => f.write_str(
                "Microsoft Authenticator is not turned on as a passkey provider on this phone: turn it on in Settings > Passwords, passkeys & accounts, then add the passkey again.",
            ),
        }
    }
}

/// The requirements a phone does not meet (R19), each named; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmet(pub Vec<Requirement>);

impl std::error::Error for Unmet {}

impl Unmet {
    /// The first requirement's code (the API's error code).
    pub fn code(&self) -> &'static str {
        self.0.first().map_or("osVersionTooOld", |r| r.code())
    }
}

impl fmt::Display for Unmet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for r in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl Phone {
    /// Parses the app's description of its phone.
    pub fn parse(
        platform: &str,
        os_version: &str,
        profile: Option<&str>,
        passkey_provider: bool,
        name: &str,
    ) -> Result<Phone, PhoneError> {
        let platform = Platform::parse(platform)
            .filter(|p| p.is_mobile())
            .ok_or_else(|| PhoneError::Platform(platform.chars().take(32).collect()))?;
        let os_major = os_version
            .trim()
            .split('.')
            .next()
            .filter(|m| !m.is_empty() && m.len() <= 4 && m.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|m| m.parse().ok())
            .ok_or_else(|| PhoneError::OsVersion(os_version.chars().take(32).collect()))?;
        let profile = match (platform, profile.map(str::trim)) {
            (_, None) => None,
            (Platform::Ios, Some(_)) => return Err(PhoneError::ProfileOnIos),
            (_, Some(p)) if p.eq_ignore_ascii_case("personal") => Some(AndroidProfile::Personal),
            (_, Some(p)) if p.eq_ignore_ascii_case("work") => Some(AndroidProfile::Work),
            (_, Some(p)) => return Err(PhoneError::Profile(p.chars().take(32).collect())),
        };
        // Android runs apps in the personal profile unless a work profile is named.
        let profile = match platform {
            Platform::Android => Some(profile.unwrap_or(AndroidProfile::Personal)),
            _ => None,
        };
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(PhoneError::Name);
        }
        Ok(Phone {
            platform,
            os_major,
            profile,
            passkey_provider,
            name: name.to_string(),
        })
    }

    /// R19: what this phone lacks to hold a passkey in the Authenticator; `Ok` when nothing.
    pub fn unmet(&self) -> Result<(), Unmet> {
        let mut missing = vec![];
        if let Some((_, need)) = AUTHENTICATOR_MINIMUM
            .iter()
            .find(|(p, _)| *p == self.platform)
        {
            if self.os_major < *need {
                missing.push(Requirement::OsVersion {
                    platform: self.platform,
                    have: self.os_major,
                    need: *need,
                });
            }
        }
        if !self.passkey_provider {
            missing.push(Requirement::PasskeyProvider(self.platform));
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Unmet(missing))
        }
    }
}

impl AndroidProfile {
    /// Its name on the wire and in the passkey's record.
    pub fn as_str(self) -> &'static str {
        match self {
            AndroidProfile::Personal => "personal",
            AndroidProfile::Work => "work",
        }
    }
}

/// R20: why an account's passkey cannot be used from `here`: it was made in another profile.
pub fn other_profile_explanation(made_in: AndroidProfile, here: AndroidProfile) -> String {
    format!(
        "This account's passkey is in the {made} profile, and a passkey works only in the profile it was made in: the {here} profile has none. Add a passkey in the {here} profile too (add the account in the Authenticator there).",
        made = made_in.as_str(),
        here = here.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(platform: &str, os: &str, provider: bool) -> Phone {
        Phone::parse(platform, os, None, provider, "Phone").unwrap()
    }

    #[test]
    fn r19_android_14_and_ios_17_with_the_provider_on_hold_passkeys() {
        assert_eq!(phone("android", "14", true).unmet(), Ok(()));
        assert_eq!(phone("iOS", "17.4", true).unmet(), Ok(()));
        assert_eq!(phone("ios", "18", true).unmet(), Ok(()));
    }

    #[test]
    fn r19_older_systems_and_a_disabled_provider_are_named() {
        let e = phone("android", "13", true).unmet().unwrap_err();
        assert_eq!(e.code(), "osVersionTooOld");
        assert!(e.to_string().contains("Android 14 or later"), "{e}");
        assert!(e.to_string().contains("runs Android 13"), "{e}");
        let e = phone("iOS", "16.7", true).unmet().unwrap_err();
        assert!(e.to_string().contains("iOS 17 or later"), "{e}");
        let e = phone("android", "14", false).unmet().unwrap_err();
        assert_eq!(e.code(), "passkeyProviderDisabled");
        assert!(e.to_string().contains("passkey provider"), "{e}");
        // Both missing: both named, the system first.
        let e = phone("iOS", "16", false).unmet().unwrap_err();
        assert_eq!(e.0.len(), 2);
        assert_eq!(e.code(), "osVersionTooOld");
        assert!(e.to_string().contains("AutoFill"), "{e}");
    }

    #[test]
    fn r20_android_has_a_profile_ios_has_none() {
        assert_eq!(
            phone("android", "14", true).profile,
            Some(AndroidProfile::Personal)
        );
        let work = Phone::parse("android", "15", Some("Work"), true, "Pixel").unwrap();
        assert_eq!(work.profile, Some(AndroidProfile::Work));
        assert_eq!(phone("iOS", "17", true).profile, None);
        assert_eq!(
            Phone::parse("iOS", "17", Some("work"), true, "iPhone"),
            Err(PhoneError::ProfileOnIos)
        );
        let why = other_profile_explanation(AndroidProfile::Work, AndroidProfile::Personal);
        assert!(why.contains("work profile") && why.contains("personal profile"));
    }

    #[test]
    fn bad_descriptions_are_errors_not_refusals() {
        for (platform, os, profile, name) in [
            ("windows", "11", None, "PC"),
            ("", "14", None, "Phone"),
            ("android", "fourteen", None, "Phone"),
            ("android", "", None, "Phone"),
            ("android", "99999", None, "Phone"),
            ("android", "-1", None, "Phone"),
            ("android", "14", Some("guest"), "Phone"),
            ("android", "14", None, ""),
            ("android", "14", None, "a\u{7}b"),
        ] {
            assert!(
                Phone::parse(platform, os, profile, true, name).is_err(),
                "{platform} {os} {profile:?} {name:?}"
            );
        }
        assert!(Phone::parse("android", "14", None, true, &"x".repeat(65)).is_err());
    }
}
