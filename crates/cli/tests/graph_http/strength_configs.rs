//! Issue 15, point 11: `combinationConfigurations` of a custom strength — the way Graph sets
//! the passkey models the admin center's Advanced options set — and its refusals.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{call, graph_error, saved_id, token_in, ADMIN, AUTHN_ANDROID, AUTHN_IOS};
use crate::support::{cli, Server};

const FIDO2: &str = "#microsoft.graph.fido2CombinationConfiguration";

#[tokio::test]
async fn combination_configurations_set_change_and_remove_a_strengths_models() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let write = token_in(d, None, &s, ADMIN, &["Policy.ReadWrite.ConditionalAccess"]);
    let read = token_in(d, None, &s, ADMIN, &["Policy.Read.All"]);
    let id = saved_id(
        &cli(
            d,
            None,
            &[
                "ca",
                "strength",
                "--name",
                "Passkeys",
                "--combination",
                "fido2",
                "--combination",
                "temporaryAccessPassOneTime",
            ],
        )
        .1,
    );
    let base =
        format!("/v1.0/policies/authenticationStrengthPolicies/{id}/combinationConfigurations");
    let body = |aaguids: &[&str]| json!({"@odata.type": FIDO2, "allowedAAGUIDs": aaguids, "appliesToCombinations": ["fido2"]});
    let (st, _, v) = call(&s, "GET", &base, Some(&read), None).await;
    assert_eq!((st, v["value"].clone()), (StatusCode::OK, json!([])));

    // Created: 201 with its id; the strength now restricts passkeys to the model.
    let (st, _, created) = call(
        &s,
        "POST",
        &base,
        Some(&write),
        Some(body(&[AUTHN_ANDROID])),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    assert_eq!(created["@odata.type"], FIDO2);
    assert_eq!(created["allowedAAGUIDs"], json!([AUTHN_ANDROID]));
    let cc = created["id"].as_str().unwrap().to_string();
    let strength = |v: &Value| v["combinationConfigurations"][0]["allowedAAGUIDs"].clone();
    let (_, _, got) = call(
        &s,
        "GET",
        &format!("/v1.0/policies/authenticationStrengthPolicies/{id}"),
        Some(&read),
        None,
    )
    .await;
    assert_eq!(strength(&got), json!([AUTHN_ANDROID]));
    let (st, _, one) = call(&s, "GET", &format!("{base}/{cc}"), Some(&read), None).await;
    assert_eq!(
        (st, one["id"].as_str()),
        (StatusCode::OK, Some(cc.as_str()))
    );

    // A second one, a built-in, another kind, a bad model, another combination: refused.
    for (path, b, want) in [
        (base.clone(), body(&[AUTHN_IOS]), StatusCode::CONFLICT),
        (
            "/v1.0/policies/authenticationStrengthPolicies/00000000-0000-0000-0000-000000000004/combinationConfigurations".to_string(),
            body(&[AUTHN_IOS]),
            StatusCode::BAD_REQUEST,
        ),
        (base.clone(), json!({"@odata.type": "#microsoft.graph.x509CertificateCombinationConfiguration", "allowedIssuerSkis": ["x"], "appliesToCombinations": ["x509CertificateMultiFactor"]}), StatusCode::BAD_REQUEST),
        (base.clone(), body(&["not-a-model"]), StatusCode::BAD_REQUEST),
        (base.clone(), json!({"@odata.type": FIDO2, "allowedAAGUIDs": [AUTHN_IOS], "appliesToCombinations": ["temporaryAccessPassOneTime"]}), StatusCode::BAD_REQUEST),
    ] {
        let (st, _, v) = call(&s, "POST", &path, Some(&write), Some(b)).await;
        assert_eq!(st, want, "{path}: {v}");
        graph_error(&v);
    }
    // A reader may not change it.
    let (st, _, _) = call(
        &s,
        "PATCH",
        &format!("{base}/{cc}"),
        Some(&read),
        Some(json!({"allowedAAGUIDs": [AUTHN_IOS]})),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Changed: the models replaced; an empty list is refused (delete the configuration).
    let (st, _, _) = call(
        &s,
        "PATCH",
        &format!("{base}/{cc}"),
        Some(&write),
        Some(json!({"allowedAAGUIDs": [AUTHN_ANDROID, AUTHN_IOS]})),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, _, got) = call(
        &s,
        "GET",
        &format!("/v1.0/policies/authenticationStrengthPolicies/{id}"),
        Some(&read),
        None,
    )
    .await;
    assert_eq!(strength(&got), json!([AUTHN_ANDROID, AUTHN_IOS]));
    let (st, _, _) = call(
        &s,
        "PATCH",
        &format!("{base}/{cc}"),
        Some(&write),
        Some(json!({"allowedAAGUIDs": []})),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _, _) = call(
        &s,
        "PATCH",
        &format!("{base}/00000000-0000-0000-0000-00000000abcd"),
        Some(&write),
        Some(json!({"allowedAAGUIDs": [AUTHN_IOS]})),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Another strength's configuration, through this strength's path: not found, and
    // neither strength changes.
    let other = saved_id(
        &cli(
            d,
            None,
            &[
                "ca",
                "strength",
                "--name",
                "Others",
                "--combination",
                "fido2",
                "--aaguid",
                AUTHN_IOS,
            ],
        )
        .1,
    );
    let other_base =
        format!("/v1.0/policies/authenticationStrengthPolicies/{other}/combinationConfigurations");
    let (_, _, theirs) = call(&s, "GET", &other_base, Some(&read), None).await;
    let their_cc = theirs["value"][0]["id"].as_str().unwrap().to_string();
    for (method, body) in [
        ("PATCH", Some(json!({"allowedAAGUIDs": [AUTHN_ANDROID]}))),
        ("DELETE", None),
    ] {
        let (st, _, _) = call(
            &s,
            method,
            &format!("{base}/{their_cc}"),
            Some(&write),
            body,
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{method}");
    }
    let (_, _, after) = call(&s, "GET", &other_base, Some(&read), None).await;
    assert_eq!(after, theirs, "the other strength is unchanged");

    // A configuration that does not exist is 404 whatever the body; the id's case does not
    // matter, as on GET.
    let (st, _, _) = call(
        &s,
        "PATCH",
        &format!("{base}/00000000-0000-0000-0000-00000000abcd"),
        Some(&write),
        Some(json!({})),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let upper = format!("{base}/{}", cc.to_uppercase());
    let (st, _, _) = call(
        &s,
        "PATCH",
        &upper,
        Some(&write),
        Some(json!({"allowedAAGUIDs": [AUTHN_IOS]})),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);

    // Removed: any model meets the fido2 combination again; the configuration is gone.
    let (st, _, _) = call(&s, "DELETE", &format!("{base}/{cc}"), Some(&write), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, _, v) = call(&s, "GET", &base, Some(&read), None).await;
    assert_eq!(v["value"], json!([]));
    let (st, _, _) = call(&s, "GET", &format!("{base}/{cc}"), Some(&read), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Every change was audited.
    let audit: Vec<Value> =
        serde_json::from_str(&cli(d, None, &["logs", "audit", "--json"]).1).unwrap();
    let changes = audit
        .iter()
        .filter(|e| e["activityDisplayName"] == "Update authentication strength policy")
        .count();
    assert_eq!(changes, 4, "{audit:?}");
    s.stop().await;
}
