//! R4 and R7 over HTTP: attestation trusted through imported metadata, refused when the
//! chain is untrusted, and the Authenticator app attestation service with its outage mode.

// A test crate: a failed assumption is a failed test (the product denies these, Cargo.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use portcullis_testkit::softkey::{Quirks, SoftKey};
use portcullis_testkit::testca::TestCa;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;
use support::{cli, client, sign_in, Server};

const ADMIN: &str = "admin@portcullis.local";
const YUBI: &str = "cb69481e-8ff7-4039-93ec-0a2729a154a8";
const ANDROID_AUTHENTICATOR: &str = "de1e552d-db1d-4423-a619-566b625cdc84";

async fn post(
    c: &reqwest::Client,
    s: &Server,
    path: &str,
    body: &Value,
) -> (StatusCode, Option<String>, Value) {
    let r = c.post(s.url(path)).json(body).send().await.expect("POST");
    let st = r.status();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (st, retry, r.json().await.unwrap_or(Value::Null))
}

async fn register(
    c: &reqwest::Client,
    s: &Server,
    key: &mut SoftKey,
    q: &Quirks,
) -> (StatusCode, Option<String>, Value) {
    support::open_security_info(c, s).await;
    let (st, _, o) = post(c, s, "/api/passkeys/registration/options", &json!({})).await;
    assert_eq!(st, StatusCode::OK, "{o}");
    assert_eq!(o["publicKey"]["attestation"], "direct");
    let cred = key.register(&o["publicKey"], &s.origin(), q);
    post(
        c,
        s,
        "/api/passkeys/registration",
        &json!({"ceremonyId": o["ceremonyId"], "credential": cred}),
    )
    .await
}

fn patch_fido2(dir: &Path, body: &str) {
    let f = dir.join("fido2.json");
    std::fs::write(&f, body).unwrap();
    let (st, _, err) = cli(
        dir,
        None,
        &["policy", "patch", "fido2", f.to_str().unwrap()],
    );
    assert_eq!(st, 0, "{err}");
}

fn passkeys(dir: &Path) -> Vec<Value> {
    let (_, out, _) = cli(dir, None, &["passkeys", "list", "--user", ADMIN, "--json"]);
    serde_json::from_str(&out).unwrap()
}

#[tokio::test]
async fn r4_r7_a_chain_to_an_imported_root_is_trusted_and_anything_else_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let vendor = TestCa::new("Test Vendor Root");
    let stranger = TestCa::new("Unknown Root");
    let statement = d.join("statement.json");
    std::fs::write(&statement, json!({"aaguid": YUBI, "description": "Test YubiKey", "attestationRootCertificates": [vendor.base64()]}).to_string()).unwrap();
    let (st, out, err) = cli(
        d,
        None,
        &["metadata", "import", statement.to_str().unwrap()],
    );
    assert_eq!(st, 0, "{err}");
    assert!(out.contains("Test YubiKey") && out.contains("1 attestation root"));
    let (_, out, _) = cli(d, None, &["metadata", "show", YUBI]);
    assert!(out.contains("Test YubiKey"));
    let (_, out, _) = cli(d, None, &["metadata", "show", ANDROID_AUTHENTICATOR]);
    assert!(
        out.contains("Authenticator for Android"),
        "built-in names show offline: {out}"
    );

    let s = Server::start(d, None).await;
    let c = client();
    assert_eq!(
        sign_in(&c, &s, ADMIN, s.tap.as_deref().unwrap())
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    patch_fido2(d, r#"{"isAttestationEnforced": true}"#);

    let (st, _, v) = register(
        &c,
        &s,
        &mut SoftKey::new(YUBI),
        &Quirks {
            attestation: Some(stranger.issue(YUBI)),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("attestationUntrusted")),
        "{v}"
    );
    let other_model = "11111111-2222-3333-4444-555555555555";
    let (st, _, v) = register(
        &c,
        &s,
        &mut SoftKey::new(other_model),
        &Quirks {
            attestation: Some(vendor.issue(other_model)),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("attestationUntrusted")),
        "a vendor root is trusted only for its own AAGUIDs: {v}"
    );
    assert!(passkeys(d).is_empty(), "nothing stored");

    let (st, _, v) = register(
        &c,
        &s,
        &mut SoftKey::new(YUBI),
        &Quirks {
            attestation: Some(vendor.issue(YUBI)),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let listed = passkeys(d);
    assert_eq!(
        listed[0]["model"], "Test YubiKey",
        "the model name comes from the metadata store"
    );
    s.stop().await;
}

#[tokio::test]
async fn r4_the_authenticator_app_attestation_service_trusts_its_root_and_an_outage_is_retryable() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let app = TestCa::new("Test App Attestation Root");
    let pem = d.join("app-root.pem");
    std::fs::write(&pem, app.pem()).unwrap();
    let env = [("PORTCULLIS_APP_ATTESTATION_ROOT", pem.display().to_string())];
    let s = Server::start_env(d, None, &env).await;
    let tap = s.tap.clone().unwrap();
    patch_fido2(
        d,
        &format!(
            r#"{{"isAttestationEnforced": true, "keyRestrictions": {{"isEnforced": true, "enforcementType": "allow", "aaGuids": ["{ANDROID_AUTHENTICATOR}", "90a3ccdf-635c-4729-a248-9b709135078f"]}}}}"#
        ),
    );
    // A chain from another root is not the app's attestation.
    let c = client();
    assert_eq!(
        sign_in(&c, &s, ADMIN, &tap).await.status(),
        StatusCode::SEE_OTHER
    );
    let (st, _, v) = register(
        &c,
        &s,
        &mut SoftKey::new(ANDROID_AUTHENTICATOR),
        &Quirks {
            attestation: Some(TestCa::new("Other").issue(ANDROID_AUTHENTICATOR)),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("attestationUntrusted")),
        "{v}"
    );
    s.stop().await;

    // Outage: refused as retryable (503 + Retry-After), nothing stored.
    let (st, out, _) = cli(d, None, &["tap", "create", "--user", ADMIN, "--multi-use"]);
    assert_eq!(st, 0);
    let code = support::code_from(&out);
    let down = [
        env[0].clone(),
        ("PORTCULLIS_APP_ATTESTATION_AVAILABLE", "false".to_string()),
    ];
    let s = Server::start_env(d, None, &down).await;
    let c = client();
    assert_eq!(
        sign_in(&c, &s, ADMIN, &code).await.status(),
        StatusCode::SEE_OTHER
    );
    let (st, retry, v) = register(
        &c,
        &s,
        &mut SoftKey::new(ANDROID_AUTHENTICATOR),
        &Quirks {
            attestation: Some(app.issue(ANDROID_AUTHENTICATOR)),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("attestationServiceUnavailable")
        ),
        "{v}"
    );
    assert_eq!(retry.as_deref(), Some("30"));
    assert!(passkeys(d).is_empty(), "nothing stored during the outage");
    s.stop().await;

    // Back up: the app's own attestation is trusted.
    let s = Server::start_env(d, None, &env).await;
    let c = client();
    assert_eq!(
        sign_in(&c, &s, ADMIN, &code).await.status(),
        StatusCode::SEE_OTHER
    );
    let (st, _, v) = register(
        &c,
        &s,
        &mut SoftKey::new(ANDROID_AUTHENTICATOR),
        &Quirks {
            attestation: Some(app.issue(ANDROID_AUTHENTICATOR)),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(passkeys(d)[0]["model"], "Authenticator for Android");
    s.stop().await;
}

#[test]
fn r7_an_mds3_blob_is_imported_only_when_its_path_signature_freshness_and_serial_hold() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = TestCa::new("Test MDS Root");
    let ca = root.issue_ca("Test MDS CA", portcullis_testkit::testca::IssuerKind::Ca);
    let signer = ca.signer_for("mds.fidoalliance.org");
    let vendor = TestCa::new("Vendor Root");
    let day = |n: i64| {
        (time::OffsetDateTime::now_utc() + time::Duration::days(n))
            .date()
            .to_string()
    };
    let blob = |no: u64, next_update: &str| {
        let payload = json!({"legalHeader": "test", "no": no, "nextUpdate": next_update,
            "entries": [{"aaguid": YUBI, "metadataStatement": {"description": format!("MDS YubiKey #{no}"), "attestationRootCertificates": [vendor.base64()]}, "statusReports": [{"status": "FIDO_CERTIFIED_L2"}]}]});
        let f = d.join(format!("blob-{no}-{next_update}.jwt"));
        std::fs::write(&f, TestCa::jws_with_chain(&signer, &[ca.der()], &payload)).unwrap();
        f
    };
    let pem = d.join("mds-root.pem");
    std::fs::write(&pem, root.pem()).unwrap();
    let import = |env: Option<&Path>, file: &Path, extra: &[&str]| {
        let mut c = std::process::Command::new(support::bin());
        c.args(["metadata", "import"])
            .arg(file)
            .args(extra)
            .arg("--data-dir")
            .arg(d);
        if let Some(p) = env {
            c.env("PORTCULLIS_MDS_ROOT", p);
        }
        let o = c.output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let seven = blob(7, &day(30));
    let (code, _, err) = import(None, &seven, &[]);
    assert_eq!(code, Some(1), "the default roots are GlobalSign's: {err}");
    assert!(err.contains("certificate chain"), "{err}");
    let tampered = d.join("tampered.jwt");
    let text = std::fs::read_to_string(&seven).unwrap();
    let mut parts: Vec<&str> = text.split('.').collect();
    let evil = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        json!({"no": 8, "nextUpdate": day(30), "entries": []}).to_string(),
    );
    parts[1] = &evil;
    std::fs::write(&tampered, parts.join(".")).unwrap();
    let (code, _, err) = import(Some(&pem), &tampered, &[]);
    assert_eq!(code, Some(1));
    assert!(err.contains("signature"), "{err}");
    // A revoked signer, given its CA's CRL.
    let crl = d.join("ca.crl");
    std::fs::write(
        &crl,
        ca.crl(
            &[&signer.serial],
            time::OffsetDateTime::now_utc() + time::Duration::days(7),
        ),
    )
    .unwrap();
    let (code, _, err) = import(Some(&pem), &seven, &["--crl", crl.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(err.contains("Revoked"), "{err}");
    // Stale: refused unless knowingly allowed.
    let stale = blob(5, &day(-3));
    let (code, _, err) = import(Some(&pem), &stale, &[]);
    assert_eq!(code, Some(1));
    assert!(err.contains("stale"), "{err}");
    let (_, out, _) = cli(d, None, &["metadata", "show", YUBI]);
    assert!(
        !out.contains("MDS YubiKey"),
        "refused imports stored nothing"
    );

    let (code, out, err) = import(Some(&pem), &seven, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("MDS YubiKey #7") && out.contains(&format!("nextUpdate {}", day(30))),
        "{out}"
    );
    let (_, out, _) = cli(d, None, &["metadata", "show", YUBI]);
    assert!(out.contains("mds3 #7"), "{out}");
    // The same BLOB again, or an older one (even knowingly stale), is a replay or a rollback.
    for (file, extra) in [(&seven, vec![]), (&stale, vec!["--allow-stale"])] {
        let (code, _, err) = import(Some(&pem), file, &extra);
        assert_eq!(code, Some(1), "{err}");
        assert!(
            err.contains("not greater than the last one imported (7)"),
            "{err}"
        );
    }
    let (code, _, err) = import(Some(&pem), &blob(8, &day(30)), &[]);
    assert_eq!(code, Some(0), "{err}");
    let (_, out, _) = cli(d, None, &["metadata", "show", YUBI]);
    assert!(out.contains("mds3 #8"), "{out}");
}

/// R4, R5, R32: a vendor's root is listed for an expensive and a cheap model. Under enforced
/// attestation with an allow list of the expensive one, statements that do not sign the AAGUID
/// — `fido-u2f`, and `packed` without the AAGUID extension — cannot claim it, however genuine
/// their chain; the statement that signs it is accepted and its AAGUID shown as attested.
#[tokio::test]
async fn r4_r32_a_statement_that_does_not_sign_the_aaguid_cannot_claim_a_listed_model() {
    const CHEAP: &str = "ee882879-721c-4913-9775-3dfcce97072a";
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let vendor = TestCa::new("Shared Vendor Root");
    let statements = d.join("statements.json");
    std::fs::write(
        &statements,
        json!([
            {"aaguid": YUBI, "description": "Expensive key", "attestationRootCertificates": [vendor.base64()]},
            {"aaguid": CHEAP, "description": "Cheap key", "attestationRootCertificates": [vendor.base64()]}
        ])
        .to_string(),
    )
    .unwrap();
    let (st, _, err) = cli(
        d,
        None,
        &["metadata", "import", statements.to_str().unwrap()],
    );
    assert_eq!(st, 0, "{err}");
    let s = Server::start(d, None).await;
    let c = client();
    sign_in(&c, &s, ADMIN, s.tap.as_deref().unwrap()).await;
    patch_fido2(
        d,
        &format!(
            r#"{{"isAttestationEnforced": true, "keyRestrictions": {{"isEnforced": true, "enforcementType": "allow", "aaGuids": ["{YUBI}"]}}}}"#
        ),
    );
    // fido-u2f signs no AAGUID: one claimed in authenticatorData is a forgery.
    let (st, _, v) = register(
        &c,
        &s,
        &mut SoftKey::new(YUBI),
        &Quirks {
            u2f: Some(vendor.issue(CHEAP)),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("aaguidNotAttestable")),
        "{v}"
    );
    assert!(
        v["error"]["message"].as_str().unwrap().contains("R4"),
        "{v}"
    );
    // packed without the extension: the shared root cannot vouch for the claimed model.
    let (st, _, v) = register(
        &c,
        &s,
        &mut SoftKey::new(YUBI),
        &Quirks {
            attestation: Some(vendor.issue_without_aaguid()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("attestationUntrusted")),
        "{v}"
    );
    assert!(passkeys(d).is_empty(), "nothing stored");
    // The statement that signs the AAGUID is accepted, and its AAGUID is attested.
    let (st, _, v) = register(
        &c,
        &s,
        &mut SoftKey::new(YUBI),
        &Quirks {
            attestation: Some(vendor.issue(YUBI)),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let stored = passkeys(d);
    assert_eq!(
        (stored.len(), stored[0]["aaGuidAttested"].clone()),
        (1, json!(true))
    );
    s.stop().await;
}
