//! The CLI: every command, its refusals, and the configuration layers.

// A test crate: a failed assumption is a failed test (the product denies these, Cargo.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::process::Command;
use support::{bin, cli, code_from};

fn audit_count(dir: &std::path::Path) -> usize {
    let (st, out, err) = cli(dir, None, &["logs", "audit", "--json", "--limit", "10000"]);
    assert_eq!(st, 0, "{err}");
    serde_json::from_str::<Vec<serde_json::Value>>(&out)
        .unwrap()
        .len()
}

#[test]
fn directory_commands_work_and_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(
        cli(
            d,
            None,
            &[
                "users",
                "add",
                "--upn",
                "Alice@Contoso.com",
                "--display-name",
                "Alice Liddell"
            ]
        )
        .0,
        0
    );
    let (st, out, _) = cli(d, None, &["users", "list"]);
    assert_eq!(st, 0);
    assert!(
        out.contains("alice@contoso.com") && out.contains("Alice Liddell"),
        "UPNs are lower-cased: {out}"
    );
    assert_eq!(cli(d, None, &["groups", "add", "Passkey pilots"]).0, 0);
    assert_eq!(
        cli(d, None, &["groups", "add", "Marketing", "--non-security"]).0,
        0
    );
    assert_eq!(
        cli(
            d,
            None,
            &[
                "groups",
                "members",
                "add",
                "--group",
                "Passkey pilots",
                "--user",
                "alice@contoso.com"
            ]
        )
        .0,
        0
    );
    let (_, out, _) = cli(
        d,
        None,
        &["groups", "members", "list", "--group", "Passkey pilots"],
    );
    assert!(out.contains("alice@contoso.com"));
    assert_eq!(
        cli(
            d,
            None,
            &[
                "roles",
                "assign",
                "--user",
                "alice@contoso.com",
                "--role",
                "Authentication Administrator"
            ]
        )
        .0,
        0
    );
    let (_, out, _) = cli(d, None, &["users", "show", "alice@contoso.com", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["roles"][0], "Authentication Administrator");
    assert_eq!(v["memberOf"][0]["displayName"], "Passkey pilots");
    let (st, out, _) = cli(
        d,
        None,
        &[
            "tap",
            "create",
            "--user",
            "alice@contoso.com",
            "--lifetime-minutes",
            "120",
            "--once",
        ],
    );
    assert_eq!(st, 0);
    let code = code_from(&out);
    assert_eq!(code.len(), 8);
    assert!(out.contains("one-time") && out.contains("120 minutes"));
    // A store that never ran `serve` has Graph's defaults: the TAP method is disabled.
    let (_, out, _) = cli(d, None, &["tap", "show", "--user", "alice@contoso.com"]);
    assert!(
        out.contains("DisabledByPolicy") && !out.contains(&code),
        "{out}"
    );
    let enable = d.join("enable.json");
    std::fs::write(&enable, r#"{"state":"enabled"}"#).unwrap();
    let (st, out, _) = cli(
        d,
        None,
        &[
            "policy",
            "patch",
            "temporaryaccesspass",
            enable.to_str().unwrap(),
        ],
    );
    assert_eq!(st, 0);
    assert!(
        out.contains(r#""id": "TemporaryAccessPass""#) && out.contains(r#""state": "enabled""#),
        "canonical id, new state: {out}"
    );
    let (_, out, _) = cli(d, None, &["tap", "show", "--user", "alice@contoso.com"]);
    assert!(
        out.contains("EnabledByPolicy") && !out.contains(&code),
        "{out}"
    );
    assert_eq!(
        cli(d, None, &["users", "disable", "alice@contoso.com"]).0,
        0
    );
    let (_, out, _) = cli(d, None, &["logs", "audit"]);
    for activity in [
        "Add user",
        "Add group",
        "Add member to group",
        "Add member to role",
        "Admin registered security info",
        "Authentication Methods Policy Update",
        "Disable account",
    ] {
        assert!(out.contains(activity), "audit shows {activity}: {out}");
    }
}

#[test]
fn bad_input_to_every_command_is_refused_clearly_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(
        cli(d, None, &["users", "add", "--upn", "bob@contoso.com"]).0,
        0
    );
    assert_eq!(
        cli(d, None, &["groups", "add", "Marketing", "--non-security"]).0,
        0
    );
    let (_, out, _) = cli(d, None, &["groups", "list", "--json"]);
    let m365 = serde_json::from_str::<serde_json::Value>(&out).unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = audit_count(d);
    let bad_json = d.join("bad.json");
    std::fs::write(&bad_json, "{ not json").unwrap();
    let not_security = d.join("target.json");
    std::fs::write(
        &not_security,
        format!(r#"{{"includeTargets":[{{"id":"{m365}","targetType":"group"}}]}}"#),
    )
    .unwrap();
    let wrong_type = d.join("type.json");
    std::fs::write(&wrong_type, r#"{"defaultLifetimeInMinutes":"sixty"}"#).unwrap();
    let huge = d.join("huge.json");
    std::fs::write(&huge, format!(r#"{{"x":"{}"}}"#, "a".repeat(70_000))).unwrap();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["users", "add", "--upn", "not-an-upn"],
            1,
            "name@domain",
        ),
        (
            vec!["users", "add", "--upn", "bob@contoso.com"],
            1,
            "already exists",
        ),
        (
            vec![
                "users",
                "add",
                "--upn",
                "eve@contoso.com",
                "--display-name",
                "  ",
            ],
            1,
            "displayName must not be empty",
        ),
        (
            vec!["users", "show", "nobody@contoso.com"],
            1,
            "no user 'nobody@contoso.com'",
        ),
        (vec!["users", "disable", "nobody@contoso.com"], 1, "no user"),
        (vec!["groups", "add", "Marketing"], 1, "already exists"),
        (
            vec![
                "groups",
                "members",
                "add",
                "--group",
                "Nope",
                "--user",
                "bob@contoso.com",
            ],
            1,
            "no group 'Nope'",
        ),
        (
            vec![
                "groups",
                "members",
                "add",
                "--group",
                "Marketing",
                "--user",
                "bad upn",
            ],
            1,
            "not a valid userPrincipalName",
        ),
        (
            vec![
                "roles",
                "assign",
                "--user",
                "bob@contoso.com",
                "--role",
                "Emperor",
            ],
            1,
            "unknown role 'Emperor'",
        ),
        (
            vec![
                "roles",
                "assign",
                "--user",
                "nobody@contoso.com",
                "--role",
                "Global Administrator",
            ],
            1,
            "no user",
        ),
        (
            vec!["tap", "create", "--user", "nobody@contoso.com"],
            1,
            "no user",
        ),
        (
            vec![
                "tap",
                "create",
                "--user",
                "bob@contoso.com",
                "--lifetime-minutes",
                "5",
            ],
            1,
            "valid range is between 60 and 480",
        ),
        (
            vec![
                "tap",
                "create",
                "--user",
                "bob@contoso.com",
                "--lifetime-minutes",
                "100000",
            ],
            1,
            "valid range",
        ),
        (
            vec![
                "tap",
                "create",
                "--user",
                "bob@contoso.com",
                "--lifetime-minutes",
                "abc",
            ],
            2,
            "invalid value",
        ),
        (
            vec![
                "tap",
                "create",
                "--user",
                "bob@contoso.com",
                "--start",
                "yesterday",
            ],
            1,
            "RFC 3339",
        ),
        (
            vec![
                "tap",
                "create",
                "--user",
                "bob@contoso.com",
                "--once",
                "--multi-use",
            ],
            2,
            "cannot be used with",
        ),
        (
            vec!["tap", "delete", "--user", "bob@contoso.com"],
            1,
            "has no Temporary Access Pass",
        ),
        (
            vec!["policy", "show", "Sms"],
            1,
            "unknown method configuration",
        ),
        (
            vec!["policy", "patch", "fido2", bad_json.to_str().unwrap()],
            1,
            "not valid JSON",
        ),
        (
            vec![
                "policy",
                "patch",
                "TemporaryAccessPass",
                not_security.to_str().unwrap(),
            ],
            1,
            "not a security group",
        ),
        (
            vec![
                "policy",
                "patch",
                "TemporaryAccessPass",
                wrong_type.to_str().unwrap(),
            ],
            1,
            "invalid type",
        ),
        (
            vec!["policy", "patch", "fido2", huge.to_str().unwrap()],
            1,
            "larger than",
        ),
        (
            vec!["policy", "patch", "fido2", "/no/such/file.json"],
            1,
            "cannot read",
        ),
        (vec!["logs", "audit", "--since", "last week"], 1, "RFC 3339"),
        (vec!["logs", "audit", "--limit", "0"], 2, "not in"),
        (vec!["users", "frobnicate"], 2, "unrecognized subcommand"),
    ];
    for (args, code, needle) in cases {
        let (st, out, err) = cli(d, None, &args);
        assert_eq!(st, code, "{args:?}: stdout {out} stderr {err}");
        assert!(
            err.contains(needle),
            "{args:?}: expected '{needle}' in: {err}"
        );
    }
    assert_eq!(audit_count(d), before, "refused commands changed nothing");
    let (_, out, _) = cli(d, None, &["tap", "show", "--user", "bob@contoso.com"]);
    assert!(out.contains("has no Temporary Access Pass"));
}

#[test]
fn configuration_layers_defaults_file_env_flags_and_unknown_keys_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (a, b, c) = (d.join("a"), d.join("b"), d.join("c"));
    let file = d.join("portcullis.toml");
    std::fs::write(&file, format!("data_dir = {:?}\n", a.to_str().unwrap())).unwrap();
    let run = |env: Option<&std::path::Path>, flag: Option<&std::path::Path>| {
        let mut cmd = Command::new(bin());
        cmd.args(["users", "list", "--config", file.to_str().unwrap()]);
        if let Some(e) = env {
            cmd.env("PORTCULLIS_DATA_DIR", e);
        }
        if let Some(f) = flag {
            cmd.arg("--data-dir").arg(f);
        }
        assert!(cmd.output().unwrap().status.success());
    };
    run(None, None);
    assert!(
        a.join("portcullis.db").exists(),
        "the file's data_dir is used"
    );
    run(Some(&b), None);
    assert!(
        b.join("portcullis.db").exists(),
        "PORTCULLIS_DATA_DIR overrides the file"
    );
    run(Some(&b), Some(&c));
    assert!(
        c.join("portcullis.db").exists(),
        "--data-dir overrides the environment"
    );

    std::fs::write(&file, "listne = \"127.0.0.1:1\"\n").unwrap();
    let out = Command::new(bin())
        .args([
            "users",
            "list",
            "--config",
            file.to_str().unwrap(),
            "--data-dir",
        ])
        .arg(&a)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("listne"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    std::fs::write(&file, "body_limit_bytes = \"big\"\n").unwrap();
    let out = Command::new(bin())
        .args([
            "users",
            "list",
            "--config",
            file.to_str().unwrap(),
            "--data-dir",
        ])
        .arg(&a)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("body_limit_bytes"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = Command::new(bin())
        .args(["users", "list", "--data-dir"])
        .arg(&a)
        .env("PORTCULLIS_BOGUS_KEY", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bogus_key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = Command::new(bin())
        .args(["users", "list", "--config", "/no/such.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));

    let out = Command::new(bin())
        .args(["serve", "--listen", "nonsense", "--data-dir"])
        .arg(&a)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen"));
}

/// `portcullis readiness` (R50): exit 1 on a blocker finding, 0 without, 2 on a usage error;
/// JSON, CSV and text carry the same finding.
#[tokio::test]
async fn readiness_reports_findings_and_gates_on_blockers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The first start sets the tenant up (Security info, the starting policy).
    support::Server::start(d, None).await.stop().await;
    let (st, _, err) = cli(
        d,
        None,
        &[
            "users",
            "add",
            "--upn",
            "gina@contoso.com",
            "--display-name",
            "Gina",
        ],
    );
    assert_eq!(st, 0, "{err}");
    // Gina holds nothing and TAP is off: she can never start.
    let off = d.join("tap-off.json");
    std::fs::write(&off, r#"{"state": "disabled"}"#).unwrap();
    let (st, _, err) = cli(
        d,
        None,
        &[
            "policy",
            "patch",
            "TemporaryAccessPass",
            off.to_str().unwrap(),
        ],
    );
    assert_eq!(st, 0, "{err}");
    let (st, out, err) = cli(d, None, &["readiness", "--format", "json"]);
    assert_eq!(st, 1, "a blocker fails the run: {err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    // The administrator's first pass is refused by the same switch.
    assert_eq!(doc["summary"]["byCode"]["tapUnavailable"], 2, "{doc}");
    let f = &doc["findings"].as_array().unwrap()[0];
    assert_eq!(f["code"], "tapUnavailable");
    assert_eq!(f["severity"], "blocker");
    let mut who: Vec<&str> = f["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userPrincipalName"].as_str().unwrap())
        .collect();
    who.sort_unstable();
    assert_eq!(who, ["admin@portcullis.local", "gina@contoso.com"]);
    assert_eq!(f["users"][0]["step"], "obtainPass");
    assert_eq!(f["remedies"][0]["code"], "includeInTapPolicy");
    let (st, out, _) = cli(
        d,
        None,
        &["readiness", "--format", "csv", "--user", "gina@contoso.com"],
    );
    assert_eq!(st, 1);
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(rows[1].starts_with("tapUnavailable,blocker,") && rows[1].contains("gina@contoso.com"));
    let (st, out, _) = cli(d, None, &["readiness"]);
    assert_eq!(st, 1);
    assert!(
        out.contains("tapUnavailable")
            && out.contains("Include the users in the Temporary Access Pass targets"),
        "{out}"
    );
    // The remedy: TAP on again.
    let on = d.join("tap-on.json");
    std::fs::write(&on, r#"{"state": "enabled"}"#).unwrap();
    assert_eq!(
        cli(
            d,
            None,
            &[
                "policy",
                "patch",
                "TemporaryAccessPass",
                on.to_str().unwrap()
            ]
        )
        .0,
        0
    );
    let (st, out, err) = cli(d, None, &["readiness", "--format", "json"]);
    assert_eq!(st, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["summary"]["usersWithFindings"], 0, "{doc}");
    // R51, the dry run: a proposal that turns TAP off adds the blockers, and says so.
    let proposed = d.join("proposed-tap-off.json");
    std::fs::write(
        &proposed,
        r##"{"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration", "state": "disabled"}"##,
    )
    .unwrap();
    let p = proposed.to_str().unwrap();
    let (st, out, _) = cli(d, None, &["readiness", "--format", "json", "--proposed", p]);
    assert_eq!(st, 1, "the proposal adds a blocker");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        doc["delta"]["newFindings"][0]["code"], "tapUnavailable",
        "{doc}"
    );
    assert_eq!(doc["delta"]["resolvedFindings"], serde_json::json!([]));
    let (st, out, _) = cli(d, None, &["readiness", "--proposed", p]);
    assert_eq!(st, 1);
    assert!(
        out.contains("The proposal creates 2 finding(s) and resolves 0."),
        "{out}"
    );
    // Nothing proposed that changes anything: no delta, exit 0.
    let same = d.join("proposed-tap-on.json");
    std::fs::write(
        &same,
        r##"{"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration", "state": "enabled"}"##,
    )
    .unwrap();
    let (st, out, err) = cli(
        d,
        None,
        &[
            "readiness",
            "--format",
            "json",
            "--proposed",
            same.to_str().unwrap(),
        ],
    );
    assert_eq!(st, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        doc["delta"],
        serde_json::json!({"newFindings": [], "resolvedFindings": []})
    );
    // Usage errors are 2: a format that does not exist, a document of no known kind, a
    // policy to delete that does not exist, a user who does not exist.
    assert_eq!(cli(d, None, &["readiness", "--format", "xml"]).0, 2);
    assert_eq!(
        cli(d, None, &["readiness", "--proposed", off.to_str().unwrap()]).0,
        2
    );
    assert_eq!(
        cli(d, None, &["readiness", "--proposed-delete-policy", "nope"]).0,
        2
    );
    assert_eq!(
        cli(d, None, &["readiness", "--user", "nobody@contoso.com"]).0,
        2
    );
}

/// R53: `portcullis adoption` prints the series the admin center exports, as CSV or JSON,
/// and refuses a bad range with exit status 2.
#[test]
fn adoption_exports_the_series_and_refuses_bad_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for upn in ["ann@contoso.com", "ben@contoso.com"] {
        assert_eq!(cli(d, None, &["users", "add", "--upn", upn]).0, 0);
    }
    let (st, out, err) = cli(
        d,
        None,
        &["adoption", "--from", "2026-01-01", "--to", "2026-01-03"],
    );
    assert_eq!(st, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("date,users,targetedUsers,usersWithUsablePasskey"),
        "{out}"
    );
    assert_eq!(lines.len(), 4, "a header and three days: {out}");
    assert!(
        lines[1].starts_with("2026-01-01,0,0,0,0.0,"),
        "nobody existed yet: {out}"
    );
    let (st, out, err) = cli(d, None, &["adoption", "--format", "json"]);
    assert_eq!(st, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let today = v["daily"].as_array().unwrap().last().unwrap().clone();
    // The two users (no server has run: no administrator yet); the Passkey (FIDO2) method is
    // off by default, so nobody is targeted.
    assert_eq!(
        (today["users"].as_u64(), today["targetedUsers"].as_u64()),
        (Some(2), Some(0)),
        "{v}"
    );
    let (st, out, _) = cli(d, None, &["adoption", "--format", "breakdown-csv"]);
    assert_eq!(st, 0);
    assert!(out.starts_with("dimension,value,targetedUsers"), "{out}");
    for bad in [
        vec!["adoption", "--from", "01/02/2026"],
        vec!["adoption", "--from", "2026-02-02", "--to", "2026-02-01"],
        vec!["adoption", "--from", "1900-01-01", "--to", "2026-01-01"],
    ] {
        let (st, _, err) = cli(d, None, &bad);
        assert_ne!(st, 0, "{bad:?}");
        assert!(!err.is_empty(), "{bad:?}");
    }
}
