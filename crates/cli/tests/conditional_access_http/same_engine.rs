//! R50, the same engine: readiness, What If and the real sign-in answer alike. A property
//! test draws Conditional Access configurations (users, applications or the "register
//! security info" action, platforms, grants, report-only), then for every user × persona ×
//! application compares what the real binary does over HTTP — the authorization endpoint
//! from that persona's browser with each method the user holds, and the registration API —
//! with What If (Graph `evaluate`) and with the readiness analysis (`POST
//! /api/admin/readiness`). A step readiness calls failing must fail over HTTP, and a step
//! that fails over HTTP must be a finding (save a block, which is the administrator's intent
//! where no desktop gets through either).

use super::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// The personas' browsers (both Android personas sign in from the same browser).
const PERSONAS: [(&str, &[&str], bool); 5] = [
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
        &["windowsDesktop"],
        false,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)",
        &["macDesktop"],
        false,
    ),
    ("Mozilla/5.0 (X11; Linux x86_64)", &["linuxDesktop"], false),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
        &["ios"],
        true,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8)",
        &["androidPersonal", "androidWork"],
        true,
    ),
];

const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const MFA: &str = "00000000-0000-0000-0000-000000000002";
const REDIRECT: &str = "http://127.0.0.1:8765/cb";

/// One drawn policy, as indexes into the vocabulary.
#[derive(Debug, Clone)]
struct Rule {
    /// All users; only Ben; all but Ben.
    users: u8,
    /// All applications; the first; the second; registering security info.
    target: u8,
    /// Any platform; iOS and Android; every platform but those; Windows.
    platforms: u8,
    /// Block; phishing-resistant MFA; a passkey in the Authenticator; MFA; a compliant
    /// device; an approved client app.
    grant: u8,
    /// Report-only (not for the user action, which has no such state).
    report_only: bool,
}

fn rule() -> impl Strategy<Value = Rule> {
    (0u8..3, 0u8..4, 0u8..4, 0u8..6, any::<bool>()).prop_map(
        |(users, target, platforms, grant, report_only)| Rule {
            users,
            target,
            platforms,
            grant,
            report_only,
        },
    )
}

/// The tenant a case runs on.
struct World {
    apps: [String; 2],
    ben: String,
    authenticator_strength: String,
}

fn policy(w: &World, i: usize, r: &Rule) -> Value {
    let users = match r.users {
        0 => json!({"includeUsers": ["All"], "excludeRoles": [GLOBAL_ADMIN]}),
        1 => json!({"includeUsers": [w.ben], "excludeRoles": [GLOBAL_ADMIN]}),
        _ => {
            json!({"includeUsers": ["All"], "excludeUsers": [w.ben], "excludeRoles": [GLOBAL_ADMIN]})
        }
    };
    let applications = match r.target {
        0 => json!({"includeApplications": ["All"]}),
        1 => json!({"includeApplications": [w.apps[0]]}),
        2 => json!({"includeApplications": [w.apps[1]]}),
        _ => json!({"includeUserActions": ["urn:user:registersecurityinfo"]}),
    };
    let mut conditions =
        json!({"users": users, "applications": applications, "clientAppTypes": ["all"]});
    let platforms = match r.platforms {
        1 => Some(json!({"includePlatforms": ["android", "iOS"]})),
        2 => Some(json!({"includePlatforms": ["all"], "excludePlatforms": ["android", "iOS"]})),
        3 => Some(json!({"includePlatforms": ["windows"]})),
        _ => None,
    };
    if let (Some(p), Value::Object(m)) = (platforms, &mut conditions) {
        m.insert("platforms".into(), p);
    }
    let grant = match r.grant {
        0 => json!({"operator": "OR", "builtInControls": ["block"]}),
        1 => json!({"operator": "OR", "authenticationStrength": {"id": PHISHING_RESISTANT}}),
        2 => json!({"operator": "OR", "authenticationStrength": {"id": w.authenticator_strength}}),
        3 => json!({"operator": "OR", "authenticationStrength": {"id": MFA}}),
        4 => json!({"operator": "OR", "builtInControls": ["compliantDevice"]}),
        _ => json!({"operator": "OR", "builtInControls": ["approvedApplication"]}),
    };
    json!({"displayName": format!("Drawn {i}"),
        // (User actions have no report-only state: such a draw is enforced.)
        "state": if r.report_only && r.target != 3 { "enabledForReportingButNotEnforced" } else { "enabled" },
        "conditions": conditions, "grantControls": grant})
}

/// What a step came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allow,
    StepUp,
    RegisterFirst,
    /// Refused by a block.
    Blocked,
    /// Refused otherwise (or a loop).
    Refused,
}

impl Outcome {
    fn reached(self) -> bool {
        matches!(
            self,
            Outcome::Allow | Outcome::StepUp | Outcome::RegisterFirst
        )
    }
}

/// The sign-in's answer: a code, or the refusal page's `data-code`.
fn over_http(st: StatusCode, page: &str) -> Outcome {
    if st == StatusCode::SEE_OTHER {
        return Outcome::Allow;
    }
    let code = page
        .split("data-code=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default();
    match code {
        "stepUpRequired" => Outcome::StepUp,
        "registrationRequired" => Outcome::RegisterFirst,
        _ if page.contains("A Conditional Access policy blocks this sign-in.") => Outcome::Blocked,
        _ => Outcome::Refused,
    }
}

/// What If's answer.
fn from_what_if(v: &Value) -> Outcome {
    match v["result"].as_str().unwrap_or_default() {
        "allow" | "allowForRegistration" => Outcome::Allow,
        "stepUp" => Outcome::StepUp,
        "registerFirst" => Outcome::RegisterFirst,
        _ if v["reason"] == "A Conditional Access policy blocks this sign-in." => Outcome::Blocked,
        _ => Outcome::Refused,
    }
}

fn platform_of(ua: &str) -> &'static str {
    if ua.contains("Android") {
        "android"
    } else if ua.contains("iPhone") {
        "iOS"
    } else if ua.contains("Windows") {
        "windows"
    } else if ua.contains("Macintosh") {
        "macOS"
    } else {
        "linux"
    }
}

/// Opens Security info from `ua`'s browser (every hop with that user agent), then asks the
/// registration API to begin: whether it would.
async fn registers_from(c: &reqwest::Client, s: &Server, ua: &str) -> bool {
    support::get_following_as(c, s, "/security-info", Some(ua)).await;
    let r = c
        .post(s.url("/api/passkeys/registration/options"))
        .header("user-agent", ua)
        .header("origin", s.origin())
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    r.status() == StatusCode::OK
}

/// A method as What If takes it.
#[derive(Clone)]
struct Held {
    client: reqwest::Client,
    method: Value,
}

async fn one_case(rules: Vec<Rule>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = start(d).await;
    let app = |name: &str| {
        last_word(&ok(
            d,
            &[
                "apps",
                "add",
                "--name",
                name,
                "--public",
                "--redirect-uri",
                REDIRECT,
            ],
        ))
    };
    let apps = [app("Payroll"), app("Wiki")];
    let authenticator_strength = in_authenticator(d);
    let mut ids = vec![];
    for upn in ["ann", "ben", "cat"] {
        ids.push(last_word(&ok(
            d,
            &["users", "add", "--upn", &format!("{upn}@portcullis.local")],
        )));
    }
    let w = World {
        apps: apps.clone(),
        ben: ids[1].clone(),
        authenticator_strength,
    };
    // Ann and Ben hold a pass; Cat a passkey in the Authenticator, and no pass.
    let mut held: Vec<Vec<Held>> = vec![];
    for upn in ["ann@portcullis.local", "ben@portcullis.local"] {
        held.push(vec![Held {
            client: support::tap_client(d, &s, upn).await,
            method: json!({"method": "temporaryAccessPass"}),
        }]);
    }
    let c = support::tap_client(d, &s, "cat@portcullis.local").await;
    let mut key = SoftKey::new(AUTHN_ANDROID);
    register(&c, &s, &mut key).await;
    ok(d, &["tap", "delete", "--user", "cat@portcullis.local"]);
    held.push(vec![Held {
        client: passkey_client(&s, "cat@portcullis.local", &mut key).await,
        method: json!({"method": "fido2", "aaguid": AUTHN_ANDROID, "aaguidAttested": true}),
    }]);
    for (i, r) in rules.iter().enumerate() {
        let f = policy_file(d, &format!("drawn-{i}"), policy(&w, i, r));
        // Every drawn policy is one the product accepts (else the case would test nothing).
        let (st, _, err) = cli(d, None, &["ca", "save", &f]);
        prop_assert_eq!(st, 0, "{:?} was refused: {}", r, err);
    }

    // Readiness, once, over HTTP.
    let admin = admin_token(d, &s);
    let report = readiness_report(
        &s,
        &admin,
        &[
            "ann@portcullis.local",
            "ben@portcullis.local",
            "cat@portcullis.local",
        ],
    )
    .await;
    // (user id, persona, application or "", code) of every finding that says a step fails.
    let mut failing: Vec<(String, String, String, String)> = vec![];
    for f in report["findings"].as_array().unwrap() {
        for u in f["users"].as_array().unwrap() {
            if u["severity"] == "info" {
                continue;
            }
            failing.push((
                u["id"].as_str().unwrap().to_string(),
                u["persona"].as_str().unwrap_or_default().to_string(),
                u["application"].as_str().unwrap_or_default().to_string(),
                f["code"].as_str().unwrap().to_string(),
            ));
        }
    }
    let blocked = |user: &str, app: &str| -> bool {
        report["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|f| {
                f["users"].as_array().into_iter().flatten().any(|u| {
                    u["id"] == user && u["application"] == app && u["severity"] == "blocker"
                })
            })
    };
    let found = |user: &str, personas: &[&str], app: &str, codes: &[&str]| -> Vec<bool> {
        personas
            .iter()
            .map(|p| {
                failing.iter().any(|(u, fp, fa, fc)| {
                    u == user && fp == p && fa == app && codes.contains(&fc.as_str())
                })
            })
            .collect()
    };

    for (u, user) in ids.iter().enumerate() {
        for app in &apps {
            // Every persona's outcome with every method, over HTTP and from What If.
            let mut outcomes: Vec<Vec<Outcome>> = vec![];
            for (ua, _, _) in PERSONAS {
                let mut per_method = vec![];
                for h in &held[u] {
                    let (st, _, page) = authorize_from(&h.client, &s, app, REDIRECT, ua).await;
                    let http = over_http(st, &page);
                    let what_if = evaluate_from(
                        &s,
                        &admin,
                        user,
                        json!({"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": [app]}),
                        platform_of(ua),
                        json!([h.method]),
                    )
                    .await;
                    let verdict = &what_if["@portcullis.verdict"];
                    prop_assert_eq!(
                        http,
                        from_what_if(verdict),
                        "user {} app {} from {}: the sign-in and What If ({}) differ ({:?})",
                        u,
                        app,
                        ua,
                        verdict,
                        rules
                    );
                    per_method.push(http);
                }
                outcomes.push(per_method);
            }
            let desktops_all_blocked = outcomes
                .iter()
                .zip(PERSONAS)
                .filter(|(_, (_, _, mobile))| !mobile)
                .all(|(o, _)| o.iter().all(|x| *x == Outcome::Blocked));
            // A blocker exactly when no persona gets there (but where a block is intended
            // everywhere).
            let nowhere = outcomes.iter().all(|o| !o.iter().any(|x| x.reached()));
            let all_blocked = outcomes
                .iter()
                .all(|o| o.iter().all(|x| *x == Outcome::Blocked));
            prop_assert_eq!(
                blocked(user, app),
                nowhere && !all_blocked,
                "user {} app {}: a blocker iff no persona gets there; HTTP gave {:?}; rules {:?}; report {}",
                u,
                app,
                outcomes,
                rules,
                report
            );
            for (o, (ua, personas, mobile)) in outcomes.iter().zip(PERSONAS) {
                let reached = o.iter().any(|x| x.reached());
                let block_intended =
                    o.iter().all(|x| *x == Outcome::Blocked) && (!mobile || desktops_all_blocked);
                let expect = !reached && !block_intended;
                let sign_in_codes = [
                    "strengthLoop",
                    "notEnabledForPasskeys",
                    "approvedClientAppBlock",
                    "compliantDeviceUnreachable",
                    "mobilePlatformBlocked",
                ];
                for (p, said) in personas
                    .iter()
                    .zip(found(user, personas, app, &sign_in_codes))
                {
                    prop_assert_eq!(
                        said,
                        expect,
                        "user {} app {} as {} ({}): readiness says failing={}, HTTP gave {:?}; rules {:?}; report {}",
                        u,
                        app,
                        p,
                        ua,
                        said,
                        o,
                        rules,
                        report
                    );
                }
            }
        }
        // Registering, for those who need a passkey: the registration API from each browser.
        if u < 2 {
            for (ua, personas, _) in PERSONAS {
                let c = &held[u][0].client;
                let registers = registers_from(c, &s, ua).await;
                for (p, said) in personas.iter().zip(found(
                    user,
                    personas,
                    "",
                    &["registerSecurityInfoUnsatisfiable"],
                )) {
                    prop_assert_eq!(
                        said,
                        !registers,
                        "user {} registering as {}: readiness says failing={}, the API {}; rules {:?}",
                        u,
                        p,
                        said,
                        if registers { "began" } else { "refused" },
                        rules
                    );
                }
            }
        }
    }
    s.stop().await;
    Ok(())
}

#[test]
fn r50_readiness_what_if_and_the_sign_in_agree_on_every_step() {
    let mut runner = TestRunner::new(Config {
        // More with PROPTEST_CASES; CI runs a dozen new configurations each time.
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(12),
        max_shrink_iters: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    let result = runner.run(&prop::collection::vec(rule(), 1..=3), |rules| {
        rt.block_on(one_case(rules))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
