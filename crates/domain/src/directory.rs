//! The directory: users, groups, directory roles and the first-party applications (SPEC §1).

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

use crate::Timestamp;

/// Longest userPrincipalName Entra accepts (64 for the local part, 48 for the domain).
const UPN_MAX: usize = 113;
const UPN_LOCAL_MAX: usize = 64;

/// Why a userPrincipalName was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpnError {
    /// Not of the form `name@domain`.
    #[error("'{0}' is not a valid userPrincipalName: expected name@domain (for example alice@contoso.com)")]
    Shape(String),
    /// Longer than the directory allows.
    #[error("userPrincipalName is {0} characters long; at most {UPN_MAX} are allowed, {UPN_LOCAL_MAX} before the @")]
    TooLong(usize),
    /// Holds a character that is not allowed.
    #[error("userPrincipalName contains '{0}', which is not allowed (use letters, digits and . _ - ' + before the @)")]
    BadChar(char),
}

/// A validated, lower-cased userPrincipalName (`alice@contoso.com`).
///
/// UPNs are compared case-insensitively everywhere, so they are stored lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Upn(String);

impl Upn {
    /// Parses and normalises a userPrincipalName.
    pub fn parse(raw: &str) -> Result<Self, UpnError> {
        let s = raw.trim();
        if s.chars().count() > UPN_MAX {
            return Err(UpnError::TooLong(s.chars().count()));
        }
        let (local, domain) = s
            .split_once('@')
            .ok_or_else(|| UpnError::Shape(s.to_string()))?;
        if local.is_empty() || domain.is_empty() || domain.contains('@') {
            return Err(UpnError::Shape(s.to_string()));
        }
        if local.chars().count() > UPN_LOCAL_MAX {
            return Err(UpnError::TooLong(s.chars().count()));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(UpnError::Shape(s.to_string()));
        }
        if let Some(c) = local
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "._-'+".contains(*c)))
        {
            return Err(UpnError::BadChar(c));
        }
        let labels_ok = domain.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        if !labels_ok {
            return Err(UpnError::Shape(s.to_string()));
        }
        Ok(Upn(s.to_ascii_lowercase()))
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Upn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Upn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Upn::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A directory user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Object id.
    pub id: Uuid,
    /// Sign-in name.
    pub user_principal_name: Upn,
    /// Name shown to people.
    pub display_name: String,
    /// A disabled account cannot sign in.
    pub account_enabled: bool,
    /// When the account was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: Timestamp,
}

/// A directory group. Only security groups may be policy targets (R2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Object id.
    pub id: Uuid,
    /// Name shown to people.
    pub display_name: String,
    /// True for a security group; false for e.g. a Microsoft 365 (mail) group.
    pub security_enabled: bool,
}

/// Longest display name accepted for users and groups.
pub const DISPLAY_NAME_MAX: usize = 256;

/// Why a display name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DisplayNameError {
    /// Blank.
    #[error("displayName must not be empty")]
    Empty,
    /// Longer than [`DISPLAY_NAME_MAX`].
    #[error("displayName is longer than {DISPLAY_NAME_MAX} characters")]
    TooLong,
    /// Holds a control character.
    #[error("displayName must not contain control characters")]
    ControlCharacter,
    /// Holds a character that reorders the text around it (U+202E and its kin), which can
    /// make a name read as another in a list or a log.
    #[error("displayName must not contain bidirectional control characters (such as U+202E, right-to-left override)")]
    BidiControl,
}

/// Whether `c` reorders the text around it: the bidirectional embeddings, overrides and
/// isolates (U+202A–U+202E, U+2066–U+2069) and the direction marks (U+200E, U+200F, U+061C).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Checks a display name: not blank, not too long, no control characters.
pub fn validate_display_name(name: &str) -> Result<String, DisplayNameError> {
    let t = name.trim();
    if t.is_empty() {
        return Err(DisplayNameError::Empty);
    }
    if t.chars().count() > DISPLAY_NAME_MAX {
        return Err(DisplayNameError::TooLong);
    }
    if t.chars().any(char::is_control) {
        return Err(DisplayNameError::ControlCharacter);
    }
    if t.chars().any(is_bidi_control) {
        return Err(DisplayNameError::BidiControl);
    }
    Ok(t.to_string())
}

/// The directory roles Portcullis knows, with Entra's role template ids (graph-api.md §8.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DirectoryRole {
    /// Everything, except creating a TAP for themselves.
    GlobalAdministrator,
    /// The authentication methods policy and method configurations.
    AuthenticationPolicyAdministrator,
    /// Methods of non-admin users.
    AuthenticationAdministrator,
    /// Methods of all users, admins included.
    PrivilegedAuthenticationAdministrator,
    /// Conditional Access policies and authentication strengths.
    ConditionalAccessAdministrator,
    /// Conditional Access and strengths; reads logs.
    SecurityAdministrator,
    /// Reads policies, CA and logs.
    SecurityReader,
    /// Reads everything an administrator can see, never a TAP code.
    GlobalReader,
    /// Sign-in and audit logs, registration reports.
    ReportsReader,
    /// Applications and service principals, including Conditional Access flags and
    /// attributes on them.
    ApplicationAdministrator,
    /// Applications and service principals (without application proxy, which Portcullis
    /// does not have).
    CloudApplicationAdministrator,
    /// Devices: reads them, changes their properties, deletes them.
    CloudDeviceAdministrator,
    /// The MDM's administrator: devices, including their compliance.
    IntuneAdministrator,
    /// Directory role assignments, and the credentials of applications that hold
    /// privileged permissions.
    PrivilegedRoleAdministrator,
}

impl DirectoryRole {
    /// Every role, in a stable order.
    pub const ALL: [DirectoryRole; 14] = [
        Self::GlobalAdministrator,
        Self::AuthenticationPolicyAdministrator,
        Self::AuthenticationAdministrator,
        Self::PrivilegedAuthenticationAdministrator,
        Self::ConditionalAccessAdministrator,
        Self::SecurityAdministrator,
        Self::SecurityReader,
        Self::GlobalReader,
        Self::ReportsReader,
        Self::ApplicationAdministrator,
        Self::CloudApplicationAdministrator,
        Self::CloudDeviceAdministrator,
        Self::IntuneAdministrator,
        Self::PrivilegedRoleAdministrator,
    ];

    /// Entra's role template id.
    pub fn template_id(self) -> Uuid {
        let s = match self {
            Self::GlobalAdministrator => "62e90394-69f5-4237-9190-012177145e10",
            Self::AuthenticationPolicyAdministrator => "0526716b-113d-4c15-b2c8-68e3c22b9f80",
            Self::AuthenticationAdministrator => "c4e39bd9-1100-46d3-8c65-fb160da0071f",
            Self::PrivilegedAuthenticationAdministrator => "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
            Self::ConditionalAccessAdministrator => "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
            Self::SecurityAdministrator => "194ae4cb-b126-40b2-bd5b-6091b380977d",
            Self::SecurityReader => "5d6b6bb7-de71-4623-b4af-96380a352509",
            Self::GlobalReader => "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
            Self::ReportsReader => "4a5d8f65-41da-4de4-8968-e035b65339cf",
            Self::ApplicationAdministrator => "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
            Self::CloudApplicationAdministrator => "158c047a-c907-4556-b7ef-446551a6b5f7",
            Self::CloudDeviceAdministrator => "7698a772-787b-4ac8-901f-60d6b08affd2",
            Self::IntuneAdministrator => "3a2c62db-5318-420d-8d74-23affee5d9d5",
            Self::PrivilegedRoleAdministrator => "e8611ab8-c189-46e8-94e1-60213ab1f814",
        };
        // The literals above are well-formed; a parse failure is impossible, but fall back
        // to nil rather than panic.
        Uuid::parse_str(s).unwrap_or_default()
    }

    /// The role's display name, as Entra spells it.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::GlobalAdministrator => "Global Administrator",
            Self::AuthenticationPolicyAdministrator => "Authentication Policy Administrator",
            Self::AuthenticationAdministrator => "Authentication Administrator",
            Self::PrivilegedAuthenticationAdministrator => {
                "Privileged Authentication Administrator"
            }
            Self::ConditionalAccessAdministrator => "Conditional Access Administrator",
            Self::SecurityAdministrator => "Security Administrator",
            Self::SecurityReader => "Security Reader",
            Self::GlobalReader => "Global Reader",
            Self::ReportsReader => "Reports Reader",
            Self::ApplicationAdministrator => "Application Administrator",
            Self::CloudApplicationAdministrator => "Cloud Application Administrator",
            Self::CloudDeviceAdministrator => "Cloud Device Administrator",
            Self::IntuneAdministrator => "Intune Administrator",
            Self::PrivilegedRoleAdministrator => "Privileged Role Administrator",
        }
    }

    /// Finds a role by template id or by display name (case and spaces ignored).
    pub fn parse(s: &str) -> Option<Self> {
        let key: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        Self::ALL.into_iter().find(|r| {
            r.template_id().to_string() == key
                || r.display_name()
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect::<String>()
                    .to_ascii_lowercase()
                    == key
        })
    }

    /// Whether holding this role makes a user an "admin" for the purpose of who may
    /// manage their methods (an Authentication Administrator may not touch them).
    pub fn is_privileged(self) -> bool {
        !matches!(self, Self::ReportsReader)
    }
}

/// A role name or template id that names no directory role Portcullis has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown directory role '{0}'")]
pub struct UnknownRole(pub String);

impl std::str::FromStr for DirectoryRole {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, UnknownRole> {
        DirectoryRole::parse(s).ok_or_else(|| UnknownRole(s.to_string()))
    }
}

crate::serde_as_text!(DirectoryRole);

impl fmt::Display for DirectoryRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

/// A first-party application that always exists in a tenant (SPEC §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstPartyApp {
    /// Application (client) id; the same values Entra uses.
    pub app_id: &'static str,
    /// Display name.
    pub display_name: &'static str,
    /// Whether it is a public client (no secret).
    pub public_client: bool,
    /// Its fixed redirect URI, or `None` when it is the server's own
    /// `{public URL}/security-info/callback` (known only at run time).
    pub redirect_uri: Option<&'static str>,
}

impl FirstPartyApp {
    /// Its redirect URIs when the server is reached at `public_base` (no trailing slash).
    pub fn redirect_uris(&self, public_base: &str) -> Vec<String> {
        match self.redirect_uri {
            Some(fixed) => vec![fixed.to_string()],
            None => vec![format!(
                "{}/security-info/callback",
                public_base.trim_end_matches('/')
            )],
        }
    }
}

/// The self-service Security info page ("My Sign-ins"): a browser app, so a public client
/// that proves itself with PKCE.
pub const SECURITY_INFO_APP: FirstPartyApp = FirstPartyApp {
    app_id: "19db86c3-b2b9-44cc-b339-36da233a3be2",
    display_name: "Security info",
    public_client: true,
    redirect_uri: None,
};

/// The Microsoft Authenticator app's own sign-in (a public client).
pub const AUTHENTICATOR_APP: FirstPartyApp = FirstPartyApp {
    app_id: "4813382a-8fa7-425e-ab75-3b753aab3abb",
    display_name: "Authenticator",
    public_client: true,
    redirect_uri: Some("msauth.com.microsoft.azureauthenticator://auth"),
};

/// Both first-party applications.
pub const FIRST_PARTY_APPS: [FirstPartyApp; 2] = [SECURITY_INFO_APP, AUTHENTICATOR_APP];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_reorder_text_are_refused() {
        assert_eq!(validate_display_name("Alice"), Ok("Alice".into()));
        assert_eq!(
            validate_display_name("exe.\u{202E}fdp"),
            Err(DisplayNameError::BidiControl)
        );
        assert_eq!(
            validate_display_name("a\u{2066}b"),
            Err(DisplayNameError::BidiControl)
        );
        assert_eq!(
            validate_display_name("a\u{200F}"),
            Err(DisplayNameError::BidiControl)
        );
        // Right-to-left scripts themselves are names like any other.
        assert_eq!(validate_display_name("שלום"), Ok("שלום".into()));
    }

    #[test]
    fn upn_is_normalised_and_validated() {
        assert_eq!(
            Upn::parse(" Alice@Contoso.COM ").map(|u| u.to_string()),
            Ok("alice@contoso.com".into())
        );
        for bad in [
            "alice",
            "@contoso.com",
            "alice@",
            "a@b@c",
            "al ice@contoso.com",
            "alice@-x.com",
            "a..b@c.com",
            "alice@contoso..com",
        ] {
            assert!(Upn::parse(bad).is_err(), "{bad} should be refused");
        }
        let long = format!("{}@contoso.com", "a".repeat(65));
        assert!(matches!(Upn::parse(&long), Err(UpnError::TooLong(_))));
    }

    #[test]
    fn roles_parse_by_name_or_template_id() {
        assert_eq!(
            DirectoryRole::parse("global administrator"),
            Some(DirectoryRole::GlobalAdministrator)
        );
        assert_eq!(
            DirectoryRole::parse("GlobalAdministrator"),
            Some(DirectoryRole::GlobalAdministrator)
        );
        assert_eq!(
            DirectoryRole::parse("c4e39bd9-1100-46d3-8c65-fb160da0071f"),
            Some(DirectoryRole::AuthenticationAdministrator)
        );
        assert_eq!(DirectoryRole::parse("Emperor"), None);
        for r in DirectoryRole::ALL {
            assert!(!r.template_id().is_nil());
        }
    }
}
