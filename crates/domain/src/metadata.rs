//! Authenticator metadata (R7): model names and attestation roots by AAGUID, the built-in
//! names that ship with the binary, and parsing of the documents an administrator imports.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// Names shipped with the binary so names show offline.
const BUILT_IN: &[(&str, &str)] = &[
    (
        "de1e552d-db1d-4423-a619-566b625cdc84",
        "Authenticator for Android",
    ),
    (
        "90a3ccdf-635c-4729-a248-9b709135078f",
        "Authenticator for iOS",
    ),
    (
        "01020304-0506-0708-0102-030405060708",
        "Chromium virtual authenticator",
    ),
    (
        "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4",
        "Google Password Manager",
    ),
    ("fbfc3007-154e-4ecc-8c0b-6e020557d7bd", "iCloud Keychain"),
    ("08987058-cadc-4b81-b6e1-30de50dcbe96", "Windows Hello"),
    ("cb69481e-8ff7-4039-93ec-0a2729a154a8", "YubiKey 5 Series"),
    (
        "00000000-0000-0000-0000-000000000000",
        "Unknown model (no AAGUID)",
    ),
];

/// Every built-in name, by AAGUID.
pub fn builtin_names() -> impl Iterator<Item = (Uuid, &'static str)> {
    BUILT_IN
        .iter()
        .filter_map(|(id, n)| Uuid::parse_str(id).ok().map(|u| (u, *n)))
}

/// The built-in name of a model, if known.
pub fn builtin_name(aaguid: Uuid) -> Option<&'static str> {
    BUILT_IN
        .iter()
        .find(|(id, _)| Uuid::parse_str(id).map(|u| u == aaguid).unwrap_or(false))
        .map(|(_, n)| *n)
}

/// What the metadata store knows of one model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetadataEntry {
    /// The model.
    pub aaguid: Uuid,
    /// Its name.
    pub name: String,
    /// Attestation root certificates, standard base64 of DER (as MDS3 writes them).
    pub roots: Vec<String>,
    /// Where it came from (`statement`, `names`, …).
    pub source: String,
}

/// Why an import document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// Not a format Portcullis reads.
    #[error("{0}")]
    Format(String),
}

fn statement(v: &Value) -> Result<MetadataEntry, MetadataError> {
    let aaguid = v
        .get("aaguid")
        .and_then(Value::as_str)
        .ok_or_else(|| MetadataError::Format("a metadata statement needs an \"aaguid\"".into()))?;
    let aaguid = Uuid::parse_str(aaguid)
        .map_err(|_| MetadataError::Format(format!("'{aaguid}' is not an AAGUID")))?;
    let name = v
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("Unnamed authenticator")
        .trim()
        .chars()
        .take(200)
        .collect();
    let roots = match v.get("attestationRootCertificates") {
        None => vec![],
        Some(Value::Array(a)) => a
            .iter()
            .map(|r| {
                r.as_str().map(|s| s.trim().to_string()).ok_or_else(|| {
                    MetadataError::Format(
                        "attestationRootCertificates must hold base64 strings".into(),
                    )
                })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(MetadataError::Format(
                "attestationRootCertificates must be an array".into(),
            ))
        }
    };
    Ok(MetadataEntry {
        aaguid,
        name,
        roots,
        source: "statement".into(),
    })
}

/// Whether a document is a compact JWS (a FIDO MDS3 BLOB) rather than JSON.
pub fn looks_like_jws(text: &str) -> bool {
    let t = text.trim();
    !t.starts_with('{') && !t.starts_with('[') && t.split('.').count() == 3
}

/// Parses a JSON import document: a FIDO metadata statement (object with `aaguid`,
/// `description`, `attestationRootCertificates`), an array of them, or a plain
/// `{"<aaguid>": "<name>"}` list. MDS3 BLOBs are verified by the WebAuthn layer instead.
pub fn parse_import(text: &str) -> Result<Vec<MetadataEntry>, MetadataError> {
    let t = text.trim();
    if looks_like_jws(t) {
        return Err(MetadataError::Format(
            "this is a FIDO MDS3 BLOB (a JWS); it must be verified against its roots before import"
                .into(),
        ));
    }
    let v: Value =
        serde_json::from_str(t).map_err(|e| MetadataError::Format(format!("not JSON: {e}")))?;
    match &v {
        Value::Array(a) => a.iter().map(statement).collect(),
        Value::Object(m) if m.contains_key("aaguid") => Ok(vec![statement(&v)?]),
        Value::Object(m) => m
            .iter()
            .map(|(k, name)| {
                let aaguid = Uuid::parse_str(k)
                    .map_err(|_| MetadataError::Format(format!("key '{k}' is not an AAGUID")))?;
                let name = name.as_str().ok_or_else(|| {
                    MetadataError::Format(format!("the name of {k} must be a string"))
                })?;
                Ok(MetadataEntry {
                    aaguid,
                    name: name.trim().chars().take(200).collect(),
                    roots: vec![],
                    source: "names".into(),
                })
            })
            .collect(),
        _ => Err(MetadataError::Format(
            "expected a metadata statement, an array of them, or an {aaguid: name} object".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r7_authenticator_names_are_built_in() {
        for (id, name) in [
            (
                "de1e552d-db1d-4423-a619-566b625cdc84",
                "Authenticator for Android",
            ),
            (
                "90a3ccdf-635c-4729-a248-9b709135078f",
                "Authenticator for iOS",
            ),
        ] {
            assert_eq!(builtin_name(Uuid::parse_str(id).unwrap()), Some(name));
        }
        assert_eq!(builtin_name(Uuid::new_v4()), None);
    }

    #[test]
    fn r7_imports_statements_and_name_lists_and_names_mds3_as_unsupported() {
        let s = r#"{"aaguid": "cb69481e-8ff7-4039-93ec-0a2729a154a8", "description": "YubiKey 5", "attestationRootCertificates": ["MIIB"]}"#;
        assert_eq!(parse_import(s).unwrap()[0].roots, vec!["MIIB".to_string()]);
        let names = r#"{"cb69481e-8ff7-4039-93ec-0a2729a154a8": "YubiKey 5", "de1e552d-db1d-4423-a619-566b625cdc84": "Authenticator"}"#;
        assert_eq!(parse_import(names).unwrap().len(), 2);
        assert!(parse_import("eyJh.eyJi.c2ln")
            .unwrap_err()
            .to_string()
            .contains("MDS3"));
        assert!(parse_import(r#"{"not-a-guid": "x"}"#).is_err());
        assert!(parse_import("[1]").is_err());
    }
}
