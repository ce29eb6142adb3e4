//! Applications (service principals) that sign their users in through Portcullis (SPEC §1):
//! client id, redirect URIs, public or confidential, the flags Conditional Access reads, and
//! custom security attributes for application filters.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Longest redirect URI accepted.
pub const REDIRECT_URI_MAX: usize = 512;
/// Most redirect URIs one application may register.
pub const REDIRECT_URIS_MAX: usize = 20;

/// A registered application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Application {
    /// Application (client) id.
    pub app_id: String,
    /// The application object's id (Graph `applications/{id}`).
    pub object_id: String,
    /// The service principal's object id (Graph `servicePrincipals/{id}`).
    pub service_principal_id: String,
    /// Name.
    pub display_name: String,
    /// A public client holds no secret and must use PKCE.
    pub public_client: bool,
    /// Built in (Security info, Authenticator): cannot be deleted.
    pub first_party: bool,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// "Approved client app": may satisfy the `approvedApplication` grant control.
    pub approved_client_app: bool,
    /// Supports an app protection policy: may satisfy `compliantApplication`.
    pub app_protection_policy: bool,
    /// Custom security attributes: attribute set → attribute name → value.
    pub custom_security_attributes: CustomSecurityAttributes,
    /// How its ID tokens are signed.
    #[serde(default)]
    pub id_token_signing: IdTokenSigning,
}

/// How the ID tokens an application receives are signed: OpenID Connect's client setting
/// `id_token_signed_response_alg`. RS256, OpenID Connect's default and what every relying
/// party verifies, unless the application is set to ES256, which costs the server a tenth of
/// an RS256 signature and the relying party nothing it cannot check with the same key set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum IdTokenSigning {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RSA 2048).
    #[default]
    Rs256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
}

impl IdTokenSigning {
    /// The JOSE `alg` name.
    pub fn alg(self) -> &'static str {
        match self {
            IdTokenSigning::Rs256 => "RS256",
            IdTokenSigning::Es256 => "ES256",
        }
    }

    /// From its JOSE `alg` name, exactly as written.
    pub fn from_alg(alg: &str) -> Option<IdTokenSigning> {
        [IdTokenSigning::Rs256, IdTokenSigning::Es256]
            .into_iter()
            .find(|s| s.alg() == alg)
    }
}

/// Custom security attribute values by set and name.
pub type CustomSecurityAttributes = BTreeMap<String, BTreeMap<String, AttributeValue>>;

/// One custom security attribute value: a string, several strings, a number or a flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttributeValue {
    /// A string (the only kind application filters match).
    Text(String),
    /// Several strings.
    TextList(Vec<String>),
    /// An integer.
    Integer(i64),
    /// A flag.
    Flag(bool),
}

impl Application {
    /// Whether `uri` is one of the registered redirect URIs, byte for byte (no prefix,
    /// case or trailing-slash leniency: an open redirect starts with leniency).
    pub fn accepts_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }
}

fn attribute_name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Why a `customSecurityAttributes` change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttributeError {
    /// Not an object.
    #[error("customSecurityAttributes must be an object of attribute sets")]
    NotAnObject,
    /// A set name.
    #[error("'{0}' is not an attribute set name (letters, digits and _, up to 32)")]
    SetName(String),
    /// A set that is not an object.
    #[error("attribute set '{0}' must be an object")]
    SetNotAnObject(String),
    /// An attribute name.
    #[error("'{0}' is not an attribute name (letters, digits and _, up to 32)")]
    Name(String),
    /// A value of another type (`Set.Name`).
    #[error("{0} must be a string, a list of strings, an integer or a boolean")]
    Value(String),
    /// A text value over 256 characters (`Set.Name`).
    #[error("{0} is longer than 256 characters")]
    TooLong(String),
}

/// Reads Graph's `customSecurityAttributes` object
/// (`{"Set": {"@odata.type": "#microsoft.graph.customSecurityAttributeValue", "Name": "v"}}`);
/// `null` values remove an attribute. Returns the attributes after applying `patch` to `current`.
pub fn patch_custom_security_attributes(
    current: &CustomSecurityAttributes,
    patch: &Value,
) -> Result<CustomSecurityAttributes, AttributeError> {
    let Value::Object(sets) = patch else {
        return Err(AttributeError::NotAnObject);
    };
    let mut out = current.clone();
    for (set, attrs) in sets {
        if !attribute_name_ok(set) {
            return Err(AttributeError::SetName(set.clone()));
        }
        let Value::Object(attrs) = attrs else {
            return Err(AttributeError::SetNotAnObject(set.clone()));
        };
        let entry = out.entry(set.clone()).or_default();
        // `@odata.type` and `Name@odata.type` are annotations, not values.
        for (name, v) in attrs.iter().filter(|(k, _)| !k.contains('@')) {
            if !attribute_name_ok(name) {
                return Err(AttributeError::Name(name.clone()));
            }
            if v.is_null() {
                entry.remove(name);
                continue;
            }
            let value: AttributeValue = serde_json::from_value(v.clone())
                .map_err(|_| AttributeError::Value(format!("{set}.{name}")))?;
            if let AttributeValue::Text(t) = &value {
                if t.len() > 256 {
                    return Err(AttributeError::TooLong(format!("{set}.{name}")));
                }
            }
            entry.insert(name.to_string(), value);
        }
        if entry.is_empty() {
            out.remove(set);
        }
    }
    Ok(out)
}

/// Graph's shape of custom security attributes.
pub fn custom_security_attributes_json(attrs: &CustomSecurityAttributes) -> Value {
    let mut sets = Map::new();
    for (set, values) in attrs {
        let mut o = Map::new();
        o.insert(
            "@odata.type".into(),
            Value::from("#microsoft.graph.customSecurityAttributeValue"),
        );
        for (k, v) in values {
            if matches!(v, AttributeValue::TextList(_)) {
                o.insert(
                    format!("{k}@odata.type"),
                    Value::from("#Collection(String)"),
                );
            }
            o.insert(k.clone(), serde_json::to_value(v).unwrap_or(Value::Null));
        }
        sets.insert(set.clone(), Value::Object(o));
    }
    Value::Object(sets)
}

/// Why a redirect URI is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    /// Empty or longer than [`REDIRECT_URI_MAX`].
    #[error("a redirect URI must be 1 to {REDIRECT_URI_MAX} characters")]
    Length,
    /// More than [`REDIRECT_URIS_MAX`].
    #[error("at most {REDIRECT_URIS_MAX} redirect URIs")]
    TooMany,
    /// A fragment, whitespace or a control character.
    #[error("'{0}' has a fragment or whitespace; redirect URIs may have neither")]
    FragmentOrSpace(String),
    /// No `scheme://`.
    #[error("'{0}' is not an absolute URI (scheme://…)")]
    NotAbsolute(String),
    /// A scheme that is not one.
    #[error("'{0}' is not a URI scheme (lower case)")]
    Scheme(String),
    /// Not a URL at all.
    #[error("'{uri}' is not a valid URI ({reason})")]
    Invalid {
        /// The URI.
        uri: String,
        /// What the URL parser said.
        reason: url::ParseError,
    },
    /// `user@host`.
    #[error("'{0}' carries user information (user@host); redirect URIs may not")]
    UserInfo(String),
    /// `http` off loopback.
    #[error("'{0}': plain http is only allowed on loopback (localhost, 127.0.0.1, [::1])")]
    PlainHttp(String),
    /// `https` without a host.
    #[error("'{0}' has no host")]
    NoHost(String),
    /// A custom scheme for a confidential client.
    #[error("'{0}': a custom scheme is only allowed for public clients (native apps)")]
    CustomScheme(String),
}

/// Checks a redirect URI for registration: absolute, no fragment, not too long; `https`
/// anywhere, `http` only on loopback, and a custom scheme (`msauth.…://auth`) only for public
/// clients (native apps, RFC 8252).
pub fn validate_redirect_uri(uri: &str, public_client: bool) -> Result<String, RedirectUriError> {
    use RedirectUriError as E;
    let uri = uri.trim();
    if uri.is_empty() || uri.len() > REDIRECT_URI_MAX {
        return Err(E::Length);
    }
    if uri.contains('#') || uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(E::FragmentOrSpace(uri.into()));
    }
    let Some((scheme, _)) = uri.split_once("://") else {
        return Err(E::NotAbsolute(uri.into()));
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_lowercase())
        && scheme
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-".contains(c));
    if !scheme_ok {
        return Err(E::Scheme(scheme.into()));
    }
    let parsed = url::Url::parse(uri).map_err(|e| E::Invalid {
        uri: uri.into(),
        reason: e,
    })?;
    // `http://localhost:1@evil.example/cb` is evil.example with the user "localhost": a
    // URI with userinfo is never a redirect URI.
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(E::UserInfo(uri.into()));
    }
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    let has_host = parsed.host().is_some_and(|h| h != url::Host::Domain(""));
    match scheme {
        "https" if has_host => Ok(uri.to_string()),
        "http" if loopback => Ok(uri.to_string()),
        "http" => Err(E::PlainHttp(uri.into())),
        "https" => Err(E::NoHost(uri.into())),
        _ if public_client => Ok(uri.to_string()),
        _ => Err(E::CustomScheme(uri.into())),
    }
}

/// Validates and de-duplicates a list of redirect URIs.
pub fn validate_redirect_uris(
    uris: &[String],
    public_client: bool,
) -> Result<Vec<String>, RedirectUriError> {
    if uris.len() > REDIRECT_URIS_MAX {
        return Err(RedirectUriError::TooMany);
    }
    let mut out: Vec<String> = vec![];
    for u in uris {
        let u = validate_redirect_uri(u, public_client)?;
        if !out.contains(&u) {
            out.push(u);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redirect_uris_follow_the_native_and_web_rules() {
        assert!(validate_redirect_uri("https://app.example/cb", false).is_ok());
        assert!(validate_redirect_uri("http://127.0.0.1:8400/cb", false).is_ok());
        assert!(validate_redirect_uri("http://localhost/cb", true).is_ok());
        assert!(validate_redirect_uri("http://app.example/cb", false).is_err());
        assert!(validate_redirect_uri("http://localhost.evil.example/cb", false).is_err());
        assert!(validate_redirect_uri("https://app.example/cb#frag", false).is_err());
        assert!(
            validate_redirect_uri("msauth.com.microsoft.azureauthenticator://auth", true).is_ok()
        );
        assert!(
            validate_redirect_uri("msauth.com.microsoft.azureauthenticator://auth", false).is_err()
        );
        assert!(validate_redirect_uri("/relative", true).is_err());
        assert!(validate_redirect_uri("HTTPS://x/", true).is_err());
        // Issue 12, point 9: userinfo makes the host something else entirely.
        for evil in [
            "http://localhost:1@evil.example/cb",
            "http://localhost@evil.example/cb",
            "https://app.example@evil.example/cb",
            "http://127.0.0.1:80@evil.example/",
            "msauth.com.microsoft.azureauthenticator://user@auth",
        ] {
            assert!(validate_redirect_uri(evil, true).is_err(), "{evil}");
        }
        assert!(validate_redirect_uri("http://[::1]:8400/cb", false).is_ok());
        assert!(
            validate_redirect_uri("http://127.1.2.3/cb", false).is_ok(),
            "all of 127/8 is loopback"
        );
    }

    #[test]
    fn an_id_token_algorithm_is_read_only_from_its_exact_name() {
        assert_eq!(IdTokenSigning::default(), IdTokenSigning::Rs256);
        for s in [IdTokenSigning::Rs256, IdTokenSigning::Es256] {
            assert_eq!(IdTokenSigning::from_alg(s.alg()), Some(s));
        }
        // JOSE names are case-sensitive; `none` and HMAC are never an ID token's algorithm.
        for other in ["es256", "none", "HS256", "ES384", ""] {
            assert_eq!(IdTokenSigning::from_alg(other), None, "{other}");
        }
    }

    #[test]
    fn redirect_matching_is_exact() {
        let app = Application {
            app_id: "a".into(),
            object_id: "o".into(),
            service_principal_id: "s".into(),
            display_name: "A".into(),
            public_client: false,
            first_party: false,
            redirect_uris: vec!["https://app.example/cb".into()],
            approved_client_app: false,
            app_protection_policy: false,
            custom_security_attributes: CustomSecurityAttributes::new(),
            id_token_signing: Default::default(),
        };
        assert!(app.accepts_redirect_uri("https://app.example/cb"));
        for near in [
            "https://app.example/cb/",
            "https://app.example/cb?x=1",
            "https://APP.example/cb",
            "https://app.example/c",
        ] {
            assert!(!app.accepts_redirect_uri(near), "{near}");
        }
    }

    #[test]
    fn custom_security_attributes_patch_and_render_in_graph_shape() {
        let patch = json!({"Engineering": {"@odata.type": "#microsoft.graph.customSecurityAttributeValue", "Tier": "passkey-required", "Owners@odata.type": "#Collection(String)", "Owners": ["a", "b"]}});
        let a = patch_custom_security_attributes(&CustomSecurityAttributes::new(), &patch).unwrap();
        assert_eq!(
            a["Engineering"]["Tier"],
            AttributeValue::Text("passkey-required".into())
        );
        let back = custom_security_attributes_json(&a);
        assert_eq!(back["Engineering"]["Owners"], json!(["a", "b"]));
        let removed = patch_custom_security_attributes(
            &a,
            &json!({"Engineering": {"Tier": null, "Owners": null}}),
        )
        .unwrap();
        assert!(removed.is_empty());
        assert!(patch_custom_security_attributes(&a, &json!({"bad set": {}})).is_err());
        assert!(patch_custom_security_attributes(&a, &json!({"S": {"x": {"nested": 1}}})).is_err());
        assert!(patch_custom_security_attributes(&a, &json!([1])).is_err());
    }
}
