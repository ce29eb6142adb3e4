//! Authenticator model names by AAGUID: a small built-in set so names show offline (R7).

use uuid::Uuid;

/// Names shipped with the binary.
const BUILT_IN: &[(&str, &str)] = &[
    ("de1e552d-db1d-4423-a619-566b625cdc84", "Authenticator for Android"),
    ("90a3ccdf-635c-4729-a248-9b709135078f", "Authenticator for iOS"),
    ("01020304-0506-0708-0102-030405060708", "Chromium virtual authenticator"),
    ("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4", "Google Password Manager"),
    ("fbfc3007-154e-4ecc-8c0b-6e020557d7bd", "iCloud Keychain"),
    ("08987058-cadc-4b81-b6e1-30de50dcbe96", "Windows Hello"),
    ("cb69481e-8ff7-4039-93ec-0a2729a154a8", "YubiKey 5 Series"),
    ("00000000-0000-0000-0000-000000000000", "Unknown model (no AAGUID)"),
];

/// The built-in name of a model, if known.
pub fn builtin_name(aaguid: Uuid) -> Option<&'static str> {
    BUILT_IN.iter().find(|(id, _)| Uuid::parse_str(id).map(|u| u == aaguid).unwrap_or(false)).map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authenticator_names_are_built_in() {
        for (id, name) in [("de1e552d-db1d-4423-a619-566b625cdc84", "Authenticator for Android"), ("90a3ccdf-635c-4729-a248-9b709135078f", "Authenticator for iOS")] {
            assert_eq!(builtin_name(Uuid::parse_str(id).unwrap()), Some(name));
        }
        assert_eq!(builtin_name(Uuid::new_v4()), None);
    }
}
