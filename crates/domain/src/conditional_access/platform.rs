//! Device platforms and client app types, as Conditional Access names them, and how a
//! browser's user agent maps to them (an unverified signal, as in Entra).

use serde::{Deserialize, Serialize};

/// A device platform (graph-api.md §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "camelCase")]
pub enum Platform {
    /// Android.
    Android,
    /// iOS and iPadOS.
    #[serde(rename = "iOS")]
    Ios,
    /// Windows.
    Windows,
    /// macOS.
    #[serde(rename = "macOS")]
    MacOs,
    /// Linux.
    Linux,
}

impl Platform {
    /// Graph's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Android => "android",
            Platform::Ios => "iOS",
            Platform::Windows => "windows",
            Platform::MacOs => "macOS",
            Platform::Linux => "linux",
        }
    }

    /// Graph's `operatingSystem` for a device of this platform.
    pub fn operating_system(self) -> &'static str {
        match self {
            Platform::Android => "Android",
            Platform::Ios => "iOS",
            Platform::Windows => "Windows",
            Platform::MacOs => "macOS",
            Platform::Linux => "Linux",
        }
    }

    /// Parses Graph's spelling (case-insensitive).
    pub fn parse(s: &str) -> Option<Platform> {
        match s.to_ascii_lowercase().as_str() {
            "android" => Some(Platform::Android),
            "ios" | "ipados" => Some(Platform::Ios),
            "windows" => Some(Platform::Windows),
            "macos" => Some(Platform::MacOs),
            "linux" => Some(Platform::Linux),
            _ => None,
        }
    }

    /// Android and iOS.
    pub fn is_mobile(self) -> bool {
        matches!(self, Platform::Android | Platform::Ios)
    }
}

/// The platform a user agent claims, if it names one.
pub fn from_user_agent(ua: &str) -> Option<Platform> {
    let ua = ua.to_ascii_lowercase();
    if ua.contains("android") {
        Some(Platform::Android)
    } else if ua.contains("iphone") || ua.contains("ipad") || ua.contains("ios") {
        Some(Platform::Ios)
    } else if ua.contains("windows") {
        Some(Platform::Windows)
    } else if ua.contains("mac os") || ua.contains("macintosh") {
        Some(Platform::MacOs)
    } else if ua.contains("linux") || ua.contains("x11") || ua.contains("cros") {
        Some(Platform::Linux)
    } else {
        None
    }
}

/// The client app type of a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAppType {
    /// A web browser.
    Browser,
    /// A native app (public client with a custom-scheme redirect, the Authenticator).
    MobileAppsAndDesktopClients,
}

impl ClientAppType {
    /// Graph's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAppType::Browser => "browser",
            ClientAppType::MobileAppsAndDesktopClients => "mobileAppsAndDesktopClients",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_map_to_platforms() {
        assert_eq!(
            from_user_agent("Mozilla/5.0 (Linux; Android 14; Pixel 8)"),
            Some(Platform::Android)
        );
        assert_eq!(
            from_user_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"),
            Some(Platform::Ios)
        );
        assert_eq!(
            from_user_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64)"),
            Some(Platform::Windows)
        );
        assert_eq!(
            from_user_agent("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)"),
            Some(Platform::MacOs)
        );
        assert_eq!(
            from_user_agent("Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/156"),
            Some(Platform::Linux)
        );
        assert_eq!(from_user_agent("curl/8"), None);
    }
}
