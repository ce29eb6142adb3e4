//! `portcullis verify-registration` against real authenticator outputs taken (as data) from
//! public test suites: each is accepted with the right time and refused — naming the failed
//! check — with a wrong origin, challenge or RP ID.

// A test crate: a failed assumption is a failed test (the product denies these, Cargo.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_portcullis"))
}

fn run(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(bin())
        .arg("verify-registration")
        .args(args)
        .output()
        .expect("run");
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

struct Vector {
    name: String,
    v: Value,
    response: PathBuf,
}

fn vectors(tmp: &Path) -> Vec<Vector> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut out = vec![];
    for e in std::fs::read_dir(&dir).expect("vectors dir") {
        let p = e.expect("entry").path();
        if p.extension().and_then(|x| x.to_str()) != Some("json") {
            continue;
        }
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        let response = tmp.join(format!("{name}.response.json"));
        std::fs::write(&response, v["response"].to_string()).unwrap();
        out.push(Vector { name, v, response });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn base_args(x: &Vector) -> Vec<String> {
    let mut a = vec![
        "--rp-id".into(),
        x.v["rpId"].as_str().unwrap().into(),
        "--origin".into(),
        x.v["origin"].as_str().unwrap().into(),
    ];
    a.extend([
        "--challenge".into(),
        x.v["challenge"].as_str().unwrap().into(),
        "--response".into(),
        x.response.display().to_string(),
    ]);
    if let Some(at) = x.v["at"].as_str() {
        a.extend(["--at".into(), at.into()]);
    }
    a
}

fn with(args: &[String], key: &str, value: &str) -> Vec<String> {
    let mut a = args.to_vec();
    let i = a.iter().position(|x| x == key).unwrap();
    a[i + 1] = value.into();
    a
}

fn strs(a: &[String]) -> Vec<&str> {
    a.iter().map(String::as_str).collect()
}

#[test]
fn real_vectors_are_accepted_and_refusals_name_the_failed_check() {
    let tmp = tempfile::tempdir().unwrap();
    let all = vectors(tmp.path());
    let formats: std::collections::BTreeSet<String> = all
        .iter()
        .map(|x| x.v["fmt"].as_str().unwrap().to_string())
        .collect();
    assert!(
        all.iter().any(|x| x.name == "packed-ed25519"),
        "R17: a real Ed25519 (OKP) registration is among them"
    );
    for f in [
        "packed",
        "android-key",
        "android-safetynet",
        "apple",
        "tpm",
        "fido-u2f",
        "none",
    ] {
        assert!(
            formats.contains(f),
            "a real {f} vector is accepted (have {formats:?})"
        );
    }
    for x in &all {
        let args = base_args(x);
        let (code, out, err) = run(&strs(&args));
        assert_eq!(
            (code, out["accepted"].clone()),
            (0, json!(true)),
            "{}: {out} {err}",
            x.name
        );
        assert_eq!(out["fmt"], x.v["fmt"], "{}", x.name);
        if x.v["requireUv"] == true {
            assert_eq!(out["uv"], true, "{}", x.name);
        }

        // R4, R32: with the vector's roots listed for its model, the chain is trusted only if
        // the statement signs the AAGUID; listed for every model (the nil AAGUID), it is
        // trusted, and the AAGUID attested only if signed. Refused under an enforcing policy
        // later, when the certificates have expired.
        let roots = x.v["roots"].as_array().cloned().unwrap_or_default();
        if !roots.is_empty() {
            let policy = tmp.path().join("policy.json");
            std::fs::write(
                &policy,
                r#"{"state": "enabled", "isAttestationEnforced": true}"#,
            )
            .unwrap();
            let with_metadata = |aaguid: &Value, tag: &str| {
                let meta = tmp.path().join(format!("{}.{tag}.metadata.json", x.name));
                std::fs::write(&meta, json!({"aaguid": aaguid, "description": format!("{} test model", x.name), "attestationRootCertificates": roots}).to_string()).unwrap();
                let mut a = args.clone();
                a.extend([
                    "--metadata".into(),
                    meta.display().to_string(),
                    "--policy".into(),
                    policy.display().to_string(),
                ]);
                a
            };
            // Only packed and tpm can sign the AAGUID; of the real vectors, the Yubico packed
            // certificates carry the extension (`signsAaguid`) and the Windows Hello AIK
            // certificate does not.
            let signs = x.v["signsAaguid"] == true;
            // A model-less statement (apple, fido-u2f) reports the nil AAGUID, whose roots are
            // the ones trusted for every model.
            let nil = out["aaguid"] == "00000000-0000-0000-0000-000000000000";
            let (code, per_model, _) = run(&strs(&with_metadata(&out["aaguid"], "model")));
            assert_eq!(
                (
                    code,
                    per_model["trusted"].clone(),
                    per_model["aaguidAttested"].clone()
                ),
                (
                    if signs || nil { 0 } else { 1 },
                    json!(signs || nil),
                    json!(signs)
                ),
                "{}: {per_model}",
                x.name
            );
            if !signs && !nil {
                assert_eq!(per_model["reasons"][0]["check"], "certificateChain");
                assert!(
                    per_model["reasons"][0]["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("R32") || m.contains("R4")),
                    "{}: the refusal names the rule: {per_model}",
                    x.name
                );
            }
            let a = with_metadata(&json!("00000000-0000-0000-0000-000000000000"), "any");
            let (code, out, _) = run(&strs(&a));
            assert_eq!(
                (code, out["trusted"].clone(), out["aaguidAttested"].clone()),
                (0, json!(true), json!(signs)),
                "{}: a root trusted for every model: {out}",
                x.name
            );
            let later = if a.iter().any(|s| s == "--at") {
                with(&a, "--at", "2100-01-01T00:00:00Z")
            } else {
                [
                    a.clone(),
                    vec!["--at".into(), "2100-01-01T00:00:00Z".into()],
                ]
                .concat()
            };
            let (code, out, _) = run(&strs(&later));
            assert_eq!(
                code, 1,
                "{}: expired certificates are not trusted: {out}",
                x.name
            );
            assert_eq!(
                out["reasons"][0]["check"], "certificateChain",
                "{}: {out}",
                x.name
            );
        }

        for (key, value, check) in [
            ("--origin", "https://evil.example", "origin"),
            (
                "--challenge",
                "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI",
                "challenge",
            ),
            ("--rp-id", "evil.example", "rpId"),
        ] {
            let (code, out, _) = run(&strs(&with(&args, key, value)));
            assert_eq!(code, 1, "{} with a wrong {key}: {out}", x.name);
            assert_eq!(out["accepted"], false);
            assert_eq!(
                out["reasons"][0]["check"], check,
                "{} with a wrong {key}: {out}",
                x.name
            );
        }
    }
}

#[test]
fn require_uv_policy_and_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let all = vectors(tmp.path());
    let u2f = all
        .iter()
        .find(|x| x.v["fmt"] == "fido-u2f")
        .expect("u2f vector");
    let args = base_args(u2f);
    let (code, out, _) = run(&strs(&args));
    assert_eq!(
        (code, out["uv"].clone()),
        (0, json!(false)),
        "UV is reported, not required: {out}"
    );
    let mut a = args.clone();
    a.push("--require-uv".into());
    let (code, out, _) = run(&strs(&a));
    assert_eq!(
        (code, out["reasons"][0]["check"].clone()),
        (1, json!("userVerification"))
    );

    // A policy that blocks the model refuses it, naming the policy.
    let policy = tmp.path().join("block.json");
    std::fs::write(&policy, r#"{"state": "enabled", "isAttestationEnforced": false, "keyRestrictions": {"isEnforced": true, "enforcementType": "block", "aaGuids": ["00000000-0000-0000-0000-000000000000"]}}"#).unwrap();
    let mut a = args.clone();
    a.extend(["--policy".into(), policy.display().to_string()]);
    let (code, out, _) = run(&strs(&a));
    assert_eq!(
        (
            code,
            out["reasons"][0]["check"].clone(),
            out["reasons"][0]["code"].clone()
        ),
        (1, json!("policy"), json!("keyRestricted"))
    );

    for bad in [
        with(&args, "--challenge", "%%%"),
        with(&args, "--response", "/no/such/file"),
        with(&args, "--origin", "not a url"),
        [args.clone(), vec!["--at".into(), "yesterday".into()]].concat(),
    ] {
        let (code, _, err) = run(&strs(&bad));
        assert_eq!(code, 2, "usage error: {bad:?} {err}");
        assert!(!err.is_empty());
    }
}
