//! Monitoring: the sign-in and audit logs, their filters and exports.

use super::*;

/// The logs from the attacker's side: exports are for the roles that read logs, bad filters
/// are named next to their field, and text anyone can choose (a user agent) cannot become a
/// spreadsheet formula in the CSV.
#[tokio::test]
async fn logs_filter_export_safely_and_refuse_users_without_a_log_role() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    for upn in ["reports@portcullis.local", "bob@portcullis.local"] {
        ok(d, &["users", "add", "--upn", upn]);
    }
    ok(
        d,
        &[
            "roles",
            "assign",
            "--user",
            "reports@portcullis.local",
            "--role",
            "Reports Reader",
        ],
    );
    // A refused sign-in whose user agent is a formula.
    let r = client()
        .post(s.url("/signin/tap"))
        .header("user-agent", "=HYPERLINK(\"http://evil.example\")")
        .form(&[("username", "bob@portcullis.local"), ("code", "WRONG-CODE")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let reports = support::tap_client(d, &s, "reports@portcullis.local").await;
    let get = |c: &reqwest::Client, path: &str| {
        let r = c.get(s.url(path)).send();
        async move {
            let r = r.await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (st, csv) = get(
        &reports,
        "/admin/sign-ins?user=bob%40portcullis.local&format=csv",
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let row = csv.lines().nth(1).unwrap_or_else(|| panic!("{csv}"));
    assert!(
        row.contains("\"'=HYPERLINK(\"\"http://evil.example\"\")\"") && row.contains(",failure,"),
        "neutralised and quoted: {row}"
    );
    assert_eq!(
        get(&reports, "/admin/audit?format=csv").await.0,
        StatusCode::OK
    );
    for (path, field, says) in [
        ("/admin/sign-ins?from=yesterday", "from", "not a date"),
        ("/admin/sign-ins?to=2026-13-45", "to", "not a date"),
        (
            "/admin/sign-ins?status=maybe",
            "status",
            "not Success or Failure",
        ),
        (
            "/admin/sign-ins?ca=blocked",
            "ca",
            "not a Conditional Access result",
        ),
        ("/admin/audit?from=31.12.2026", "from", "not a date"),
    ] {
        let (st, body) = get(&reports, path).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{path}");
        assert_error_next_to(&body, field, says);
    }
    for path in ["/admin/sign-ins?page=-1", "/admin/audit?format=xlsx"] {
        assert_eq!(
            get(&reports, path).await.0,
            StatusCode::BAD_REQUEST,
            "{path}"
        );
    }
    // A Reports Reader reads logs, not the methods policy; a user without a role, nothing.
    assert_eq!(get(&reports, FIDO2_PAGE).await.0, StatusCode::FORBIDDEN);
    let bob = support::tap_client(d, &s, "bob@portcullis.local").await;
    for path in [
        "/admin/sign-ins",
        "/admin/sign-ins?format=csv",
        "/admin/audit",
        "/admin/audit?format=csv",
    ] {
        let (st, body) = get(&bob, path).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{path}");
        assert!(!body.contains("HYPERLINK"), "{body}");
    }
    s.stop().await;
}
