//! Item 8: long lists are paged, and following "Next page" to the end shows every row once —
//! none skipped, none repeated — for users (also within a search), groups and a group's members.

use super::*;
use std::collections::BTreeSet;

/// Follows "Next page" from `path` to the last page and returns every row's `attr`, in order,
/// with how many pages there were.
async fn every_row(
    c: &Client,
    origin: &str,
    path: &str,
    rows: &str,
    attr: &str,
) -> (Vec<String>, usize) {
    c.goto(&format!("{origin}{path}")).await.unwrap();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        pages += 1;
        for r in c.find_all(Locator::Css(rows)).await.unwrap() {
            seen.push(r.attr(attr).await.unwrap().unwrap_or_default());
        }
        match c.find(Locator::Id("next-page")).await {
            Ok(next) => next.click().await.unwrap(),
            Err(_) => return (seen, pages),
        }
        assert!(pages < 20, "{path}: paging never ends");
    }
}

fn once(seen: &[String], expected: &BTreeSet<String>, what: &str) {
    let distinct: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(
        distinct.len(),
        seen.len(),
        "{what}: a row repeated across pages"
    );
    assert_eq!(&distinct, expected, "{what}: rows skipped or unexpected");
}

#[tokio::test]
async fn long_lists_are_paged_and_every_row_shows_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let graph = client();
    let token = support::token(d, None, &s.origin(), ADMIN, &["Group.ReadWrite.All"]);
    let post = |path: &str, body: Value| {
        graph
            .post(s.url(&format!("/v1.0/{path}")))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let everyone = post(
        "groups",
        json!({"displayName": "Everyone", "securityEnabled": true}),
    )
    .await
    .unwrap()
    .json::<Value>()
    .await
    .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // 120 users (two full pages of 50 and a part), all members of Everyone (a full page of
    // 100 and a part); 104 more groups (a full page of 100 and a part, with Everyone).
    let mut users = BTreeSet::from([ADMIN.to_string()]);
    for i in 0..120 {
        let upn = format!("user{i:03}@portcullis.local");
        ok(d, &["users", "add", "--upn", &upn]);
        let id = serde_json::from_str::<Value>(&ok(d, &["users", "show", &upn, "--json"])).unwrap()
            ["user"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let r = post(
            &format!("groups/{everyone}/members/$ref"),
            json!({"@odata.id": format!("{}/v1.0/directoryObjects/{id}", s.origin())}),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        users.insert(upn);
    }
    let mut groups = BTreeSet::from(["Everyone".to_string()]);
    for i in 0..104 {
        let name = format!("Team {i:03}");
        let r = post(
            "groups",
            json!({"displayName": name, "securityEnabled": true}),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        groups.insert(name);
    }

    let b = admin_browser(&s).await;
    let c = &b.client;
    let o = s.origin();
    let (seen, pages) = every_row(c, &o, "/admin/users", "tr.user", "data-upn").await;
    once(&seen, &users, "users");
    assert_eq!(pages, 3, "50 a page");
    // Paging within a search keeps the search.
    let (seen, pages) = every_row(c, &o, "/admin/users?search=user0", "tr.user", "data-upn").await;
    let matching: BTreeSet<String> = users
        .iter()
        .filter(|u| u.starts_with("user0"))
        .cloned()
        .collect();
    once(&seen, &matching, "users matching user0");
    assert_eq!(pages, 2);
    let (seen, pages) = every_row(c, &o, "/admin/groups", "tr.group", "data-name").await;
    once(&seen, &groups, "groups");
    assert_eq!(pages, 2, "100 a page");
    let (seen, pages) = every_row(
        c,
        &o,
        &format!("/admin/groups/{everyone}"),
        "tr.member",
        "data-upn",
    )
    .await;
    let members: BTreeSet<String> = users.iter().filter(|u| *u != ADMIN).cloned().collect();
    once(&seen, &members, "members of Everyone");
    assert_eq!(pages, 2, "100 a page");
    assert!(
        c.find(Locator::Id("first-page")).await.is_ok(),
        "a way back to the first page"
    );
    // The next page's address carries the user principal name encoded: a name's characters
    // cannot add a parameter to it.
    c.goto(&format!("{o}/admin/groups/{everyone}"))
        .await
        .unwrap();
    let href = c
        .find(Locator::Id("next-page"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        href.ends_with("?after=user099%40portcullis.local"),
        "{href}"
    );
    b.close().await;
    s.stop().await;
}
