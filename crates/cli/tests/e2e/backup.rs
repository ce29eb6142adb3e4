//! R60: `portcullis backup` while the server writes, `portcullis restore` once it stopped —
//! every write answered before the backup began is in it, and nothing replaces a database
//! under a running server.

use super::*;
use std::sync::{Arc, Mutex};

#[tokio::test]
async fn a_backup_under_load_restores_every_write_answered_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start(d, None).await;
    let token = support::token(
        d,
        None,
        &s.origin(),
        "admin@portcullis.local",
        &["User.ReadWrite.All"],
    );
    let answered: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (answered, stop, url, token) = (
            answered.clone(),
            stop.clone(),
            s.url("/v1.0/users"),
            token.clone(),
        );
        tokio::spawn(async move {
            let c = client();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let upn = format!("load{n}@portcullis.local");
                let r = c.post(&url).bearer_auth(&token)
                    .json(&serde_json::json!({"userPrincipalName": upn, "displayName": format!("Load {n}"), "accountEnabled": true}))
                    .send().await.unwrap();
                assert_eq!(r.status(), StatusCode::CREATED);
                answered.lock().unwrap().push(upn);
                n += 1;
            }
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let before: Vec<String> = answered.lock().unwrap().clone();
    let file = d.join("backup.db");
    let (st, out, err) = cli(d, None, &["backup", "--to", file.to_str().unwrap()]);
    assert_eq!(st, 0, "{err}");
    assert!(out.contains("Backed up to"), "{out}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.await.unwrap();
    let after: Vec<String> = answered.lock().unwrap().clone();
    assert!(
        before.len() >= 5 && after.len() > before.len() + 2,
        "{} then {}",
        before.len(),
        after.len()
    );

    // Nothing replaces the database under a running server, and a backup never overwrites.
    let (st, _, err) = cli(d, None, &["restore", "--from", file.to_str().unwrap()]);
    assert_ne!(st, 0);
    assert!(err.contains("a server is running"), "{err}");
    let (st, _, err) = cli(d, None, &["backup", "--to", file.to_str().unwrap()]);
    assert_ne!(st, 0);
    assert!(err.contains("never overwrites"), "{err}");
    s.stop().await;

    // A file that is no Portcullis database is refused, and nothing is replaced.
    let junk = d.join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    let (st, _, err) = cli(d, None, &["restore", "--from", junk.to_str().unwrap()]);
    assert_ne!(st, 0, "{err}");
    assert_eq!(
        cli(d, None, &["users", "show", after.last().unwrap()]).0,
        0,
        "nothing replaced"
    );

    let (st, out, err) = cli(d, None, &["restore", "--from", file.to_str().unwrap()]);
    assert_eq!(st, 0, "{err}");
    assert!(out.contains("before-restore-"), "{out}");
    let kept = std::fs::read_dir(d)
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("portcullis.db.before-restore-")
        })
        .expect("the replaced database is kept");
    // It is whole on its own (its log was folded in): it still holds the last user.
    let kept_dir = tempfile::tempdir().unwrap();
    std::fs::copy(kept.path(), kept_dir.path().join("portcullis.db")).unwrap();
    let (st, _, err) = cli(
        kept_dir.path(),
        None,
        &["users", "show", after.last().unwrap()],
    );
    assert_eq!(st, 0, "the kept database has every write: {err}");
    let s = Server::start(d, None).await;
    let c = client();
    let token = support::token(
        d,
        None,
        &s.origin(),
        "admin@portcullis.local",
        &["User.Read.All"],
    );
    for upn in &before {
        let r = c
            .get(s.url(&format!("/v1.0/users/{upn}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "{upn}, answered before the backup, is restored"
        );
    }
    let last = after.last().unwrap();
    let r = c
        .get(s.url(&format!("/v1.0/users/{last}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "{last} came after the backup"
    );
    s.stop().await;
    // The replaced database is kept whole beside it.
    let (st, out, _) = cli(d, None, &["users", "list"]);
    assert_eq!(st, 0);
    assert!(!out.contains(last.as_str()));
}

#[tokio::test]
async fn backup_and_restore_are_for_the_embedded_database() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pg = fresh_postgres_url().await;
    let (st, _, err) = cli(
        d,
        Some(&*pg),
        &["backup", "--to", d.join("x.db").to_str().unwrap()],
    );
    assert_eq!(st, 2, "{err}");
    assert!(err.contains("pg_dump"), "{err}");
}
