//! The parsers of request input, callable by the fuzz targets (`crates/fuzz`): each takes
//! what a client sends and goes as far as the server would before touching the store. Only
//! compiled with the `fuzzing` feature; nothing here is a route.

use portcullis_domain::application::Application;
use portcullis_domain::oidc::validate_authorize;
use serde_json::Value;

/// A `$filter` as every Graph collection that offers one reads it: parsed, then checked
/// against each schema (users, registration details, strengths, audits, sign-ins).
pub fn odata_filter(text: &str) {
    let _ = crate::graph::users::USERS.parse(text);
    let _ = crate::graph::users::REGISTRATION_DETAILS.parse(text);
    crate::graph::reports::fuzz_filters(text);
}

/// A Conditional Access policy body (POST/PATCH `identity/conditionalAccess/policies`): read
/// into its type, unknown properties named, then parsed into the policy the engine evaluates.
pub fn ca_policy(body: Value) {
    if let Ok(p) = crate::graph::ca::parse_policy(body) {
        let _ = portcullis_domain::conditional_access::parsed::parse(&p);
    }
}

/// The query (or form body) of `/oauth2/v2.0/authorize`, validated for one registered
/// application (client id `fuzz-app`, redirect URI `https://app.test/cb`).
pub fn authorize(raw: &str) {
    let Ok((params, _pairs)) = crate::oidc::authorize::parse(raw) else {
        return;
    };
    let app = Application {
        app_id: "fuzz-app".into(),
        display_name: "Fuzz".into(),
        redirect_uris: vec!["https://app.test/cb".into()],
        ..Application::default()
    };
    let _ = validate_authorize(Some(&app), &params);
}
