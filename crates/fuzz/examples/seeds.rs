//! Writes the fuzz targets' seeds (`fuzz/seeds/<target>/seed-*`) and the vectors the
//! targets verify against (`fuzz/vectors/`): an ES256 passkey with a sign-in from the
//! software authenticator, and an MDS3 BLOB under a test root.
//!
//! `cargo run -p portcullis-fuzz --example seeds` — run again only to change the seeds; the
//! vectors are then new keys, and the seeds that depend on them are rewritten with them.
//! What fuzzing found (`fuzz/corpus/<target>/`, and the crash inputs kept as
//! `fuzz/seeds/<target>/found-*`) is left alone.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use portcullis_testkit::softkey::{Quirks, SoftKey};
use portcullis_testkit::testca::{IssuerKind, TestCa};
use portcullis_webauthn::{RelyingParty, MDS_SIGNER};
use serde_json::{json, Value};

const ORIGIN: &str = "https://id.contoso.test";
const REG_CHALLENGE: &[u8] = b"portcullis fuzz registration challenge";
const SIGN_IN_CHALLENGE: &[u8] = b"portcullis fuzz sign-in challenge";
/// The BLOB's verification time (2026-01-01) and its nextUpdate, a month later.
const MDS_AT: u64 = 1_767_225_600;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn es256_vector() -> Value {
    let rp = RelyingParty::new(&url::Url::parse(ORIGIN).unwrap(), "Contoso").unwrap();
    let (mut opts, _) = rp
        .start_registration(&[7; 16], "fuzz@contoso.test", "Fuzz", vec![], false)
        .unwrap();
    opts["challenge"] = URL_SAFE_NO_PAD.encode(REG_CHALLENGE).into();
    let mut key = SoftKey::new("01020304-0506-0708-0102-030405060708");
    let response = key.register(&opts, ORIGIN, &Quirks::default());
    let state = rp
        .danger_state_for_foreign_challenge(REG_CHALLENGE)
        .unwrap();
    let cred = rp
        .finish_registration(&response, &state, std::time::SystemTime::now())
        .unwrap();
    let (mut opts, _) = rp.start_authentication(vec![cred.credential]).unwrap();
    opts["challenge"] = URL_SAFE_NO_PAD.encode(SIGN_IN_CHALLENGE).into();
    let assertion = key.assert(&opts, ORIGIN, &Quirks::default());
    json!({
        "name": "software authenticator, ES256, none attestation",
        "fmt": "none",
        "rpId": rp.rp_id(),
        "origin": ORIGIN,
        "challenge": URL_SAFE_NO_PAD.encode(REG_CHALLENGE),
        "roots": [],
        "response": response,
        "assertion": {"challenge": URL_SAFE_NO_PAD.encode(SIGN_IN_CHALLENGE), "response": assertion},
    })
}

fn mds_vector() -> Value {
    let root = TestCa::new("Fuzz MDS Root");
    let intermediate = root.issue_ca("Fuzz MDS CA", IssuerKind::Ca);
    let signer = intermediate.signer_for(MDS_SIGNER);
    let payload = json!({
        "legalHeader": "fuzz", "no": 42, "nextUpdate": "2026-02-01",
        "entries": [
            {"aaguid": "01020304-0506-0708-0102-030405060708", "metadataStatement": {"description": "Fuzz Key", "attestationRootCertificates": [root.base64()]},
             "statusReports": [{"status": "FIDO_CERTIFIED_L1", "effectiveDate": "2020-01-01"}]},
            {"aaguid": "11111111-2222-3333-4444-555555555555", "metadataStatement": {"description": "Revoked Key", "attestationRootCertificates": ["MIIB"]},
             "statusReports": [{"status": "REVOKED", "effectiveDate": "2024-05-01"}, {"status": "FIDO_CERTIFIED", "effectiveDate": "2020-01-01"}]},
            {"aaid": "4e4e#4005", "metadataStatement": {"description": "UAF only"}}
        ]
    });
    json!({
        "root": STANDARD.encode(root.der()),
        "at": MDS_AT,
        "blob": TestCa::jws_with_chain(&signer, &[intermediate.der()], &payload),
    })
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = root().join("seeds").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
}

fn text(selector: u8, t: &str) -> Vec<u8> {
    let mut v = vec![selector];
    v.extend_from_slice(t.as_bytes());
    v
}

fn main() {
    // The vectors are made once (the targets compile them in): a placeholder `{}` or
    // --new-vectors makes new ones, and the example must then run again, rebuilt.
    let vectors = root().join("vectors");
    std::fs::create_dir_all(&vectors).unwrap();
    let renew = std::env::args().any(|a| a == "--new-vectors");
    let mut made = false;
    for (file, make) in [
        ("es256.json", es256_vector as fn() -> Value),
        ("mds.json", mds_vector),
    ] {
        let path = vectors.join(file);
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if renew || have.trim().is_empty() || have.trim() == "{}" {
            std::fs::write(&path, serde_json::to_string_pretty(&make()).unwrap() + "\n").unwrap();
            made = true;
        }
    }
    if made {
        println!("New vectors written: run this example again (it rebuilds with them) to write the seeds.");
        return;
    }

    // Registration: every recorded vector (one per statement format), in its own context.
    for (i, (_, v)) in portcullis_fuzz::webauthn_contexts().iter().enumerate() {
        let i = u8::try_from(i).unwrap();
        let name = v["fmt"].as_str().unwrap_or("vector").to_string() + &format!("-{i}");
        write(
            "registration",
            &name,
            &portcullis_fuzz::registration_input(i, &v["response"]),
        );
    }
    for (i, a) in portcullis_fuzz::recorded_assertions().iter().enumerate() {
        let i = u8::try_from(i).unwrap();
        write(
            "assertion",
            &format!("recorded-{i}"),
            &portcullis_fuzz::assertion_input(i, a),
        );
    }
    write(
        "mds_blob",
        "recorded",
        portcullis_fuzz::recorded_blob().as_bytes(),
    );

    let ca = json!({
        "displayName": "Passkeys for admins", "state": "enabledForReportingButNotEnforced",
        "conditions": {"users": {"includeRoles": ["62e90394-69f5-4237-9190-012177145e10"], "excludeUsers": ["GuestsOrExternalUsers"]},
            "applications": {"includeApplications": ["All"], "applicationFilter": {"mode": "include", "rule": "CustomSecurityAttribute.Rollout_Tier -eq \"strict\""}},
            "clientAppTypes": ["browser", "mobileAppsAndDesktopClients"], "platforms": {"includePlatforms": ["android", "iOS"]},
            "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]},
            "devices": {"deviceFilter": {"mode": "exclude", "rule": "device.extensionAttribute1 -eq \"SAW\" -and device.trustType -eq \"AzureAD\""}}},
        "grantControls": {"operator": "OR", "builtInControls": [], "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000004"}},
        "sessionControls": {"signInFrequency": {"isEnabled": true, "type": "hours", "value": 4, "frequencyInterval": "timeBased"}}
    });
    write("graph_body", "ca-policy", &text(0, &ca.to_string()));
    let strength = json!({"displayName": "Authenticator passkeys", "description": "x", "allowedCombinations": ["fido2", "temporaryAccessPassOneTime"],
        "combinationConfigurations": [{"@odata.type": "#microsoft.graph.fido2CombinationConfiguration", "allowedAAGUIDs": ["90a3ccdf-635c-4729-a248-9b709135078f"], "appliesToCombinations": ["fido2"]}]});
    write("graph_body", "strength", &text(1, &strength.to_string()));
    let fido2 = json!({"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration", "state": "enabled", "isAttestationEnforced": true,
        "isSelfServiceRegistrationAllowed": true, "includeTargets": [{"targetType": "group", "id": "all_users"}],
        "keyRestrictions": {"isEnforced": true, "enforcementType": "allow", "aaGuids": ["90a3ccdf-635c-4729-a248-9b709135078f", "de1e552d-db1d-4423-a619-566b625cdc84"]},
        "passkeyTypes": "deviceBound,synced"});
    write("graph_body", "fido2", &text(2, &fido2.to_string()));
    let tap = json!({"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration", "state": "enabled",
        "defaultLifetimeInMinutes": 60, "defaultLength": 8, "minimumLifetimeInMinutes": 60, "maximumLifetimeInMinutes": 480, "isUsableOnce": false});
    write("graph_body", "tap", &text(3, &tap.to_string()));

    for (i, (sel, r)) in [
        (0, r#"CustomSecurityAttribute.Rollout_Tier -eq "strict""#),
        (0, r#"CustomSecurityAttribute.A_B -in ["x", "y"] -or CustomSecurityAttribute.A_C -startsWith "p""#),
        (1, r#"device.extensionAttribute1 -eq "SAW" -and device.isCompliant -eq True"#),
        (1, r#"(device.trustType -ne "AzureAD") -or (device.operatingSystem -contains "Win")"#),
        (2, "10.0.0.0/8"),
    ]
    .into_iter()
    .enumerate()
    {
        write("rules", &format!("{i}"), &text(sel, r));
    }
    for (i, q) in [
        "userPrincipalName eq 'a@b' and createdDateTime ge 2024-01-01T00:00:00Z",
        "displayName eq 'Tom and Jerry' and userPrincipalName eq 'o''neil@x'",
        "status/errorCode eq 0",
        "activityDateTime le 9999-12-31T23:59:59.9999Z",
        "startswith(displayName,'Pass')",
        "userPrincipalName eq 'a' or not (id eq 00000000-0000-0000-0000-000000000001)",
    ]
    .into_iter()
    .enumerate()
    {
        write("odata", &format!("{i}"), q.as_bytes());
    }
    for (i, q) in [
        "client_id=fuzz-app&redirect_uri=https%3A%2F%2Fapp.test%2Fcb&response_type=code&scope=openid%20profile&state=s&nonce=n&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        "client_id=fuzz-app&response_type=code&scope=openid&max_age=9223372036854775807&prompt=login&login_after=x",
    ]
    .into_iter()
    .enumerate()
    {
        write("authorize", &format!("{i}"), q.as_bytes());
    }
    for (i, (sel, t)) in [
        (0, "00000000-0000-0000-0000-000000000005.1780000000.c2lnbmF0dXJl"),
        (1, r#"{"01020304-0506-0708-0102-030405060708": "Fuzz Key"}"#),
        (1, r#"[{"aaguid": "01020304-0506-0708-0102-030405060708", "description": "Fuzz Key", "attestationRootCertificates": ["MIIB"]}]"#),
        (2, "Alice.Example@Contoso.com"),
        (3, "9999-12-31T23:59:59.9999Z"),
        (4, "aaguid=90a3ccdf-635c-4729-a248-9b709135078f&usable=false&unusedSince=2025-01-01&model=Authenticator&state=enabled"),
    ]
    .into_iter()
    .enumerate()
    {
        write("text_fields", &format!("{i}"), &text(sel, t));
    }
    println!("Seeds written under {}", root().join("seeds").display());
}
