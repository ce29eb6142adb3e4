//! Administrator and client text: Graph JSON bodies, rules, OData, OIDC parameters and the
//! small fields (device proofs, metadata imports, names, times, inventory filters).

use portcullis_domain::conditional_access::filter::{self, Rule};
use portcullis_domain::policy::method::{MethodConfiguration, MethodId};
use portcullis_domain::strength::StrengthDocument;
use serde_json::Value;

use crate::frame::Fields;

/// A Graph body: selector (0 a Conditional Access policy, 1 an authentication strength,
/// 2… a method configuration of each id), then the JSON text.
pub fn graph_body(data: &[u8]) {
    let mut f = Fields::new(data);
    let Some(which) = f.byte() else {
        return;
    };
    let Ok(body) = serde_json::from_slice::<Value>(f.rest()) else {
        return;
    };
    match which % 4 {
        0 => portcullis_server::fuzzing::ca_policy(body),
        1 => {
            if let Ok(d) = StrengthDocument::parse(body) {
                let _ = d.checked();
            }
        }
        n => {
            let id = if n == 2 {
                MethodId::Fido2
            } else {
                MethodId::TemporaryAccessPass
            };
            let _ = MethodConfiguration::from_json(id, body);
        }
    }
}

/// A filter rule: selector (even: an application filter, odd: a device filter), the text.
/// What parses is evaluated, and must render to text that parses back to the same rule
/// (what `Rule::render` promises, and what Graph stores).
#[allow(clippy::panic)] // A broken promise is what the fuzzer reports.
pub fn rules(data: &[u8]) {
    let mut f = Fields::new(data);
    let Some(which) = f.byte() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(f.rest()) else {
        return;
    };
    let device = which % 2 == 1;
    let parse = |t: &str| -> Result<Rule, filter::FilterError> {
        if device {
            filter::parse_device(t)
        } else {
            filter::parse(t)
        }
    };
    if let Ok(rule) = parse(text) {
        let _ = rule.matches(&Default::default());
        let _ = rule.matches_device(None);
        let _ = rule.matches_device(Some(&Default::default()));
        let rendered = rule.render();
        match parse(&rendered) {
            Ok(again) if again == rule => {}
            // Canonical form adds parentheses and spaces; past the limit it is refused as
            // such (Rule::render says so), never misread.
            Err(filter::FilterError::TooLong) if rendered.len() > 3072 => {}
            other => panic!("{text:?} parsed, rendered as {rendered:?}, read back as {other:?}"),
        }
    }
    let _ = portcullis_domain::conditional_access::location::parse_cidr(text);
}

/// A `$filter` text, against every schema that reads one.
pub fn odata(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        portcullis_server::fuzzing::odata_filter(text);
    }
}

/// The query of an authorization request.
pub fn authorize(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        portcullis_server::fuzzing::authorize(text);
    }
}

/// Small fields: selector (which), then the text — a device proof header, a metadata
/// import, a userPrincipalName, an RFC 3339 time, or an inventory filter query.
pub fn text_fields(data: &[u8]) {
    let mut f = Fields::new(data);
    let Some(which) = f.byte() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(f.rest()) else {
        return;
    };
    match which % 5 {
        0 => {
            let _ = portcullis_domain::device::parse_proof(text);
        }
        1 => {
            let _ = portcullis_domain::metadata::parse_import(text);
        }
        2 => {
            let _ = portcullis_domain::directory::Upn::parse(text);
        }
        3 => {
            let _ = portcullis_domain::time_fmt::parse_rfc3339(text);
        }
        _ => {
            let mut raw = portcullis_domain::inventory::RawFilter::default();
            for (k, v) in url::form_urlencoded::parse(text.as_bytes()).into_owned() {
                raw.set(&k, v);
            }
            let _ = portcullis_domain::inventory::Filter::parse(&raw);
        }
    }
}
