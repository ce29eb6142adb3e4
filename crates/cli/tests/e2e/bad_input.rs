//! Bad input on every route (issue 19, item 2; SPEC §7: a client's mistake gets a 4xx in its
//! surface's shape and changes nothing). The corpus is derived, not listed: the routes come
//! from the server's route table, the ids and the forms' fields from crawling the pages an
//! administrator sees, the bodies of the JSON and OAuth routes from one valid sample each;
//! `support::corpus` turns each into malformed, truncated and deeply nested JSON, wrong types
//! per field, huge strings, invalid UTF-8, wrong content types, bad ids and odd queries.
//! Every answer is below 500; every error is in the shape the route's surface documents; a
//! signed-out client never gets a page that needs a session; and after every refused request
//! the whole store (every table, every row) is what it was before it. The Graph API has its
//! own walk with the same corpus (`graph_http.rs`).

use super::*;
use portcullis_server::route_table::{self, Access, Route, Surface, Verb};
use portcullis_testkit::snapshot::{Snapshot, Snapshotter};
use portcullis_testkit::softkey::SoftKey;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use support::corpus::{self, Bad, LOGS_OF_REFUSALS};

const ADMIN: &str = "admin@portcullis.local";
const BOB: &str = "bob@portcullis.local";

#[tokio::test]
async fn bad_input_on_every_route_is_refused_in_shape_and_changes_nothing() {
    for db in [None, Some(fresh_postgres_url().await)] {
        walk(db.as_deref()).await;
    }
}

/// A form on a page: where it goes, how, and the fields it posts as the page fills them.
#[derive(Debug, Clone)]
struct Form {
    action: String,
    post: bool,
    fields: Vec<(String, String)>,
}

/// The value of attribute `name` in the tag `tag` (maud writes them double-quoted).
fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = tag[start..].find('"')? + start;
    Some(
        tag[start..end]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#39;", "'")
            .replace("&amp;", "&"),
    )
}

/// Each `<tag …>` in `html`, as its text up to `>`, with what follows it.
fn tags<'a>(html: &'a str, tag: &str) -> Vec<(&'a str, &'a str)> {
    let open = format!("<{tag}");
    html.match_indices(&open)
        .filter_map(|(i, _)| {
            let rest = &html[i..];
            // `<a` is not `<abbr`.
            let next = rest[open.len()..].chars().next()?;
            if !(next.is_whitespace() || next == '>') {
                return None;
            }
            let end = rest.find('>')?;
            Some((&rest[..end], &rest[end + 1..]))
        })
        .collect()
}

/// The forms of a page, with their fields as the page fills them.
fn forms(html: &str) -> Vec<Form> {
    let mut out = vec![];
    for (tag, rest) in tags(html, "form") {
        let body = rest.split("</form>").next().unwrap_or_default();
        let mut fields = vec![];
        for (t, _) in tags(body, "input") {
            let kind = attr(t, "type").unwrap_or_default();
            // A browser posts the boxes and the option that are checked.
            let unchecked =
                matches!(kind.as_str(), "radio" | "checkbox") && !t.contains(" checked");
            if let (Some(n), false) = (attr(t, "name"), kind == "file" || unchecked) {
                fields.push((n, attr(t, "value").unwrap_or_default()));
            }
        }
        for (t, after) in tags(body, "select") {
            if let Some(n) = attr(t, "name") {
                let first = tags(after, "option")
                    .first()
                    .and_then(|(o, _)| attr(o, "value"));
                fields.push((n, first.unwrap_or_default()));
            }
        }
        for (t, after) in tags(body, "textarea") {
            if let Some(n) = attr(t, "name") {
                fields.push((
                    n,
                    after
                        .split("</textarea>")
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                ));
            }
        }
        // …and the button pressed: the first.
        if let Some(n) = tags(body, "button")
            .first()
            .and_then(|(t, _)| attr(t, "name").zip(attr(t, "value")))
        {
            fields.push(n);
        }
        out.push(Form {
            action: attr(tag, "action").unwrap_or_default(),
            post: attr(tag, "method").is_some_and(|m| m.eq_ignore_ascii_case("post")),
            fields,
        });
    }
    out
}

/// The links of a page.
fn links(html: &str) -> Vec<String> {
    tags(html, "a")
        .into_iter()
        .filter_map(|(t, _)| attr(t, "href"))
        .collect()
}

/// Whether the path `concrete` (no query) is an instance of the route pattern `pattern`.
fn matches(pattern: &str, concrete: &str) -> bool {
    let (p, c): (Vec<&str>, Vec<&str>) =
        (pattern.split('/').collect(), concrete.split('/').collect());
    p.len() == c.len()
        && p.iter()
            .zip(&c)
            .all(|(p, c)| (p.starts_with('{') && p.ends_with('}') && !c.is_empty()) || p == c)
}

fn route_of(path: &str) -> Option<&'static Route> {
    route_table::routes().find(|r| r.verbs != [Verb::Any] && matches(r.path, path))
}

/// What the crawl found: a real instance of each route, the forms posting to it, and the
/// query parameters the pages' GET forms send to it.
#[derive(Default)]
struct Found {
    instances: BTreeMap<&'static str, String>,
    posts: BTreeMap<&'static str, Form>,
    query_names: BTreeMap<&'static str, BTreeSet<String>>,
}

impl Found {
    /// Adds what a later crawl found (its values win: they are the later state's).
    fn merge(&mut self, later: Found) {
        self.instances.extend(later.instances);
        self.posts.extend(later.posts);
        for (k, v) in later.query_names {
            self.query_names.entry(k).or_default().extend(v);
        }
    }
}

/// Visits every page an administrator reaches by links from the start pages, following
/// only GET routes of the page surface.
async fn crawl(admin: &reqwest::Client, s: &Server) -> Found {
    let mut found = crawl_once(admin, s).await;
    // A passkey profile exists only once made: make one with its page's own form.
    if let Some(new) = found
        .posts
        .get("/admin/authentication-methods/fido2/profiles/new")
    {
        let mut fields = new.fields.clone();
        for (n, v) in &mut fields {
            match n.as_str() {
                "name" => *v = "Walk profile".into(),
                "action" => *v = "save".into(),
                _ => {}
            }
        }
        let r = admin
            .post(s.url(&new.action))
            .header("origin", s.origin())
            .form(&fields)
            .send()
            .await
            .expect("new profile");
        let st = r.status();
        assert!(
            st.is_redirection(),
            "the new-profile form: {st} {}",
            r.text().await.unwrap_or_default()
        );
        found.merge(crawl_once(admin, s).await);
    }
    // An authenticator app's delete form exists only once the app does: set one up with
    // the set-up page's own form.
    if found.posts.contains_key("/security-info/authenticator-app") {
        support::enrol_oath(admin, s).await;
        found.merge(crawl_once(admin, s).await);
    }
    found
}

/// A phone (a device key) and the request it may answer.
struct Phone {
    key: p256::ecdsa::SigningKey,
    device: String,
    request: String,
    /// A second phone of Carl's, which the removal's samples may remove.
    spare: Box<Option<Phone>>,
}

impl Phone {
    /// A phone added with an activation link.
    async fn added(link: &str, s: &Server) -> Phone {
        let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        let body = json!({"code": link.split("code=").nth(1).unwrap(), "publicKey": public_key(&key), "displayName": "Pixel", "platform": "android"});
        let r: Value = client()
            .post(s.url("/api/authenticator/devices"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let device = r["deviceId"]
            .as_str()
            .unwrap_or_else(|| panic!("{r}"))
            .to_string();
        Phone {
            key,
            device,
            request: String::new(),
            spare: Box::new(None),
        }
    }

    fn sign(&self, m: &str) -> String {
        use base64::Engine;
        use p256::ecdsa::signature::Signer;
        let s: p256::ecdsa::DerSignature = self.key.sign(m.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s.as_bytes())
    }
}

fn public_key(k: &p256::ecdsa::SigningKey) -> String {
    use base64::Engine;
    use p256::pkcs8::EncodePublicKey;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(k.verifying_key().to_public_key_der().unwrap().as_bytes())
}

fn phone_json() -> Value {
    json!({"platform": "android", "osVersion": "14", "profile": "work", "passkeyProvider": true, "name": "Pixel"})
}

/// An access token of the Authenticator application for the signed-in user of `c` (PKCE
/// with RFC 7636's example verifier).
async fn authenticator_token(c: &reqwest::Client, s: &Server) -> String {
    const APP: &str = "4813382a-8fa7-425e-ab75-3b753aab3abb";
    const CB: &str = "msauth.com.microsoft.azureauthenticator://auth";
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", APP)
        .append_pair("redirect_uri", CB)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .append_pair(
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        )
        .append_pair("code_challenge_method", "S256")
        .finish();
    let r = c
        .get(s.url(&format!("/oauth2/v2.0/authorize?{q}")))
        .send()
        .await
        .unwrap();
    let loc = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("the Authenticator's sign-in: {}", r.status()))
        .to_string();
    let code = url::Url::parse(&loc)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let t: Value = client()
        .post(s.url("/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CB),
            ("client_id", APP),
            (
                "code_verifier",
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            ),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    t["access_token"].as_str().unwrap().to_string()
}

/// A fresh activation link from Security info, as the signed-in user of `c`.
async fn activation_link(c: &reqwest::Client, s: &Server) -> String {
    support::open_security_info(c, s).await;
    let page = support::get_following(c, s, "/security-info/authenticator")
        .await
        .text()
        .await
        .unwrap();
    let at = page
        .find(r#"id="activation-link" href=""#)
        .unwrap_or_else(|| panic!("no activation link: {page:.600}"))
        + r#"id="activation-link" href=""#.len();
    page[at..at + page[at..].find('"').unwrap()].replace("&amp;", "&")
}

/// Carl, with a password and a phone: the push page's form, the delete form of his phone on
/// Security info, and a pending request of his, which no link reaches.
async fn push_steps(d: &std::path::Path, db: Option<&str>, s: &Server) -> (Phone, Found) {
    let carl = "carl@portcullis.local";
    let pw = "quiet-harbor-lamps-glow";
    support::enable_push(d, db);
    assert_eq!(cli(d, db, &["users", "add", "--upn", carl]).0, 0);
    let (st, _, err) =
        support::cli_input(d, db, &["users", "set-password", carl], &format!("{pw}\n"));
    assert_eq!(st, 0, "{err}");
    let c = support::password_client(s, carl, pw, None).await;
    // Two links while Carl holds no second factor (once he does, a password session adds none).
    let (first, second) = (activation_link(&c, s).await, activation_link(&c, s).await);
    let mut phone = Phone::added(&first, s).await;
    let spare = Phone::added(&second, s).await;
    let mut found = Found::default();
    // His Security info, with the phone's delete form.
    let page = support::get_following(&c, s, "/security-info")
        .await
        .text()
        .await
        .unwrap();
    for f in forms(&page) {
        if let Some(route) =
            route_of(&f.action).filter(|r| r.path == "/security-info/authenticator/{id}/delete")
        {
            found.instances.insert(route.path, f.action.clone());
            found.posts.insert(route.path, f);
        }
    }
    let page = client()
        .post(s.url("/signin/password"))
        .form(&[("username", carl), ("password", pw)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let f = forms(&page)
        .into_iter()
        .find(|f| f.action == "/signin/push")
        .unwrap_or_else(|| panic!("no push form: {page:.600}"));
    found
        .instances
        .insert("/signin/push", "/signin/push".into());
    found.posts.insert("/signin/push", f);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let m = format!("portcullis-poll|{}|{now}", phone.device);
    let r: Value = client()
        .post(s.url("/api/authenticator/requests"))
        .json(&json!({"deviceId": phone.device, "signedAt": now, "signature": phone.sign(&m)}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    phone.request = r["value"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string();
    found.instances.insert(
        "/api/authenticator/devices/{id}/remove",
        format!("/api/authenticator/devices/{}/remove", spare.device),
    );
    phone.spare = Box::new(Some(spare));
    let path = format!("/api/authenticator/requests/{}", phone.request);
    found
        .instances
        .insert("/api/authenticator/requests/{id}", path);
    (phone, found)
}

/// The forms a password sign-in answers with — the app's code, then the new password an
/// administrator requires — which no link reaches: `upn` has a password that must change
/// and an authenticator app.
async fn password_steps(s: &Server, upn: &str, password: &str, app: &totp_rs::TOTP) -> Found {
    let mut found = Found::default();
    let c = client();
    let page = c
        .post(s.url("/signin/password"))
        .form(&[("username", upn), ("password", password)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The next step's code: inside the window, and later than the step the set-up took.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code = app.generate(now + 30);
    let next = c
        .post(s.url("/signin/code"))
        .form(&[
            ("pending", support::hidden(&page, "pending").as_str()),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (html, path) in [(&page, "/signin/code"), (&next, "/signin/password/new")] {
        let f = forms(html)
            .into_iter()
            .find(|f| f.action == path)
            .unwrap_or_else(|| panic!("no form posting to {path} in {html:.600}"));
        let route = route_of(path).unwrap();
        found.instances.insert(route.path, path.to_string());
        found.posts.insert(route.path, f);
    }
    found
}

async fn crawl_once(admin: &reqwest::Client, s: &Server) -> Found {
    let mut found = Found::default();
    let mut queue: Vec<String> = ["/admin", "/me", "/security-info", "/signin"]
        .map(String::from)
        .to_vec();
    // Each address once, and at most four addresses of one route (pages of a list).
    let mut seen = BTreeSet::new();
    let mut per_route: BTreeMap<&str, usize> = BTreeMap::new();
    while let Some(url) = queue.pop() {
        let path = url.split(['?', '#']).next().unwrap_or_default().to_string();
        let Some(route) = route_of(&path) else {
            continue;
        };
        if route.surface != Surface::Page || !route.verbs.contains(&Verb::Get) {
            continue;
        }
        let visits = per_route.entry(route.path).or_default();
        if *visits >= 4 || !seen.insert(url.clone()) {
            continue;
        }
        *visits += 1;
        found.instances.insert(route.path, url.clone());
        let r = admin.get(s.url(&url)).send().await.expect("crawl");
        if !r.status().is_success()
            || !r
                .headers()
                .get("content-type")
                .is_some_and(|c| c.to_str().unwrap_or_default().starts_with("text/html"))
        {
            continue;
        }
        let html = r.text().await.unwrap_or_default();
        for f in forms(&html) {
            let action = if f.action.is_empty() {
                path.clone()
            } else {
                f.action.clone()
            };
            let target = action.split('?').next().unwrap_or_default().to_string();
            let Some(to) = route_of(&target) else {
                continue;
            };
            if f.post {
                found.instances.insert(to.path, target.clone());
                found.posts.insert(
                    to.path,
                    Form {
                        action: target,
                        ..f
                    },
                );
            } else {
                found
                    .query_names
                    .entry(to.path)
                    .or_default()
                    .extend(f.fields.iter().map(|(n, _)| n.clone()));
                queue.push(format!("{target}?{}", query_of(&f.fields)));
            }
        }
        for l in links(&html) {
            if l.starts_with('/') && !l.starts_with("//") {
                let target = l.split('?').next().unwrap_or_default();
                if let Some(to) = route_of(target) {
                    found.instances.insert(to.path, target.to_string());
                    if let Some(q) = l.split_once('?').map(|(_, q)| q) {
                        found.query_names.entry(to.path).or_default().extend(
                            url::form_urlencoded::parse(q.as_bytes()).map(|(k, _)| k.into_owned()),
                        );
                    }
                }
                queue.push(l);
            }
        }
    }
    found
}

/// Who sends a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// No session, no token.
    Nobody,
    /// The administrator's page session.
    Admin,
    /// A bearer token that is not one.
    GarbageToken,
    /// An administrator's bearer token with the scope the route's capability needs.
    AdminToken,
}

struct Walk<'a> {
    s: &'a Server,
    db: Option<&'a str>,
    anonymous: reqwest::Client,
    admin: reqwest::Client,
    tokens: BTreeMap<&'static str, String>,
    snap: Snapshotter,
    baseline: Snapshot,
    fp: Vec<(String, String)>,
    /// Bad bodies that were accepted (2xx): reported, to read.
    accepted: Vec<String>,
    /// The ceremony the body being sent answers, if any.
    answering: Option<String>,
    sent: usize,
    by_status: BTreeMap<u16, usize>,
}

impl Walk<'_> {
    /// Sends one request and checks its answer and the store.
    async fn send(
        &mut self,
        route: &Route,
        who: Who,
        method: &str,
        path_and_query: &str,
        body: Option<&Bad>,
        what: &str,
    ) {
        let c = if who == Who::Admin {
            &self.admin
        } else {
            &self.anonymous
        };
        let mut rq = c
            .request(method.parse().expect("method"), self.s.url(path_and_query))
            .header("origin", self.s.origin());
        match who {
            Who::GarbageToken => rq = rq.bearer_auth("not.a.jwt"),
            Who::AdminToken => {
                if let Some(t) = self.tokens.get(route.path) {
                    rq = rq.bearer_auth(t);
                }
            }
            _ => {}
        }
        if let Some(b) = body {
            if let Some(ct) = b.content_type {
                rq = rq.header("content-type", ct);
            }
            rq = rq.body(b.body.clone());
        }
        let context = format!(
            "{:?} {method} {} as {who:?}: {what}",
            self.db.map(|_| "postgres").unwrap_or("sqlite"),
            path_and_query.chars().take(200).collect::<String>()
        );
        let r = rq.send().await.unwrap_or_else(|e| panic!("{context}: {e}"));
        // A body that signed someone in (a strong new password where one was required) leaves
        // a session in the cookie jar: the signed-out client starts again without it.
        if who != Who::Admin && r.headers().contains_key("set-cookie") {
            self.anonymous = client();
        }
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = r.text().await.unwrap_or_default();
        self.sent += 1;
        *self.by_status.entry(status.as_u16()).or_default() += 1;
        assert!(
            status.as_u16() < 500,
            "{context}: {status} {}",
            text.chars().take(300).collect::<String>()
        );
        if status.is_client_error() {
            check_shape(route, status, &ct, &text, &context);
        }
        // A signed-out client never gets what needs a session or a token.
        if who != Who::Admin && who != Who::AdminToken && route.access != Access::Anyone {
            assert!(
                !status.is_success(),
                "{context}: {status} without being signed in"
            );
            if status.is_redirection() {
                // To sign in: the sign-in page, or (Security info is an OpenID Connect client
                // of this server) the authorize endpoint.
                assert!(
                    location.starts_with("/signin")
                        || location.starts_with(portcullis_server::oidc::AUTHORIZE_PATH),
                    "{context}: sent to {location}"
                );
            }
        }
        // Not JSON at all is refused wherever a body is read as JSON (the registration
        // options take no body and read none).
        if body.is_some_and(|b| b.malformed) && route.path != "/api/passkeys/registration/options" {
            assert!(
                status.is_client_error(),
                "{context}: not JSON, answered {status}"
            );
        }
        let fp = self.snap.fingerprint().await;
        if fp == self.fp {
            return;
        }
        let now = self.snap.take().await;
        // Refused: a 4xx, or (signed out, where a session or token is needed) any answer.
        let signed_out =
            !matches!(who, Who::Admin | Who::AdminToken) && route.access != Access::Anyone;
        if status.is_client_error() || signed_out {
            // R17: a well-formed answer that fails spends the ceremony it answers; malformed
            // input (400) spends nothing.
            // A registration's ceremony is a stored row; a sign-in's is sealed into its id
            // (`<uuid>.<sealed>`) and spending it records the uuid.
            let spent = |c: &String| {
                status != reqwest::StatusCode::BAD_REQUEST
                    && (c.starts_with("ceremonies: ") || c.starts_with("spent_ceremonies: "))
                    && self
                        .answering
                        .as_ref()
                        .is_some_and(|id| c.contains(id.split('.').next().unwrap_or_default()))
            };
            let changed: Vec<String> = now
                .changes_since(&self.baseline, &[])
                .into_iter()
                .filter(|c| !spent(c))
                .collect();
            assert!(
                changed.is_empty(),
                "{context}: refused ({status}{}), yet the store changed:\n{}",
                if signed_out { ", signed out" } else { "" },
                changed
                    .iter()
                    .map(|c| c.chars().take(300).collect::<String>())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        if body.is_some() {
            let tables: BTreeSet<String> = now
                .changes_since(&self.baseline, &[])
                .iter()
                .filter_map(|c| c.split(':').next().map(String::from))
                .collect();
            if !tables.is_empty() {
                self.accepted
                    .push(format!("{context} → {status}, wrote {tables:?}"));
            }
        }
        self.baseline = now;
        self.fp = fp;
    }

    /// The store as it is now becomes what the next request is compared with.
    async fn rebase(&mut self) {
        self.fp = self.snap.fingerprint().await;
        self.baseline = self.snap.take().await;
    }
}

/// An error in the shape the route's surface documents.
fn check_shape(route: &Route, status: reqwest::StatusCode, ct: &str, text: &str, context: &str) {
    let json = || -> Value {
        serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("{context}: {status} is not JSON ({e}): {text:.300}"))
    };
    match route.surface {
        Surface::Graph | Surface::Api => {
            let v = json();
            assert!(
                v["error"]["code"].is_string() && v["error"]["message"].is_string(),
                "{context}: {status} not in the API's error shape: {v}"
            );
        }
        Surface::OAuth => {
            let front_channel = route.path == portcullis_server::oidc::AUTHORIZE_PATH
                || route.path == portcullis_server::oidc::LOGOUT_PATH;
            if front_channel && ct.starts_with("text/html") {
                assert!(text.contains("<html"), "{context}: {status} {text:.300}");
            } else {
                let v = json();
                assert!(
                    v["error"].is_string(),
                    "{context}: {status} not in OAuth's error shape: {v}"
                );
            }
        }
        Surface::Page => assert!(
            ct.starts_with("text/html") && text.contains("<html"),
            "{context}: {status} is not a page ({ct}): {text:.300}"
        ),
    }
}

/// A client signed in as `upn` with the pass `code`, which has then registered a passkey.
async fn signed_in_with_a_passkey(s: &Server, upn: &str, code: &str) -> reqwest::Client {
    let c = client();
    assert_eq!(
        sign_in(&c, s, upn, code).await.status(),
        StatusCode::SEE_OTHER
    );
    let mut key = SoftKey::new("01020304-0506-0708-0102-030405060708");
    let (st, v) = support::register_key(&c, s, &mut key).await;
    assert!(st.is_success(), "{upn}: {st} {v}");
    c
}

/// A ceremony's options from `path`, asked as `c`.
async fn options(c: &reqwest::Client, s: &Server, path: &str) -> Option<Value> {
    c.post(s.url(path))
        .header("origin", s.origin())
        .json(&json!({}))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()
}

/// A JSON body the route accepts, for the routes that take one.
async fn json_sample(
    route: &Route,
    admin: &reqwest::Client,
    s: &Server,
    phone: &Phone,
) -> Option<Value> {
    match route.path {
        // A key of its own and a fresh activation link of the administrator's, each time.
        "/api/authenticator/devices" => {
            let link = activation_link(admin, s).await;
            let code = link.split("code=").nth(1)?.to_string();
            let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
            Some(
                json!({"code": code, "publicKey": public_key(&key), "displayName": "Pixel", "platform": "android"}),
            )
        }
        "/api/authenticator/requests" => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?
                .as_secs();
            let m = format!("portcullis-poll|{}|{now}", phone.device);
            Some(
                json!({"deviceId": phone.device, "signedAt": now, "signature": phone.sign(&m), "waitSeconds": 0}),
            )
        }
        "/api/authenticator/devices/{id}/remove" => {
            let spare = phone.spare.as_ref().as_ref()?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?
                .as_secs();
            let m = format!("portcullis-remove|{}|{now}", spare.device);
            Some(json!({"signedAt": now, "signature": spare.sign(&m)}))
        }
        "/api/authenticator/requests/{id}" => {
            // A number that is not the one shown: the right shape, and a denial if it lands.
            let m = format!("portcullis-answer|{}|1|100", phone.request);
            Some(
                json!({"deviceId": phone.device, "approve": true, "number": 100, "signature": phone.sign(&m)}),
            )
        }
        // The Authenticator app signed in (its token is the route's): a phone, a ceremony of
        // its own, codes that were never given.
        "/api/authenticator/passkeys/options" => Some(json!({"phone": phone_json()})),
        "/api/authenticator/passkeys" => {
            let token = authenticator_token(admin, s).await;
            let o: Value = client()
                .post(s.url("/api/authenticator/passkeys/options"))
                .bearer_auth(&token)
                .json(&json!({"phone": phone_json()}))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let cred = SoftKey::new("de1e552d-db1d-4423-a619-566b625cdc84").register(
                &o["publicKey"],
                &s.origin(),
                &Default::default(),
            );
            let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
            Some(
                json!({"ceremonyId": o["ceremonyId"], "credential": cred, "phone": phone_json(), "deviceKey": public_key(&key)}),
            )
        }
        "/api/authenticator/codes" => Some(json!({"token": "not-a-set-up", "code": "123456"})),
        "/api/authenticator/passkeys/{id}/delete" => Some(json!({})),
        "/api/passkeys/registration/options" => Some(json!({})),
        "/api/passkeys/registration" => {
            let o = options(admin, s, "/api/passkeys/registration/options").await?;
            let cred = SoftKey::new("01020304-0506-0708-0102-030405060708").register(
                &o["publicKey"],
                &s.origin(),
                &Default::default(),
            );
            Some(
                json!({"ceremonyId": o["ceremonyId"], "credential": cred, "name": "Key", "device": "Laptop", "deviceProfile": "personal"}),
            )
        }
        "/api/signin/passkey/options" => Some(json!({"username": ADMIN})),
        "/api/signin/passkey" => {
            let o = options(&reqwest::Client::new(), s, "/api/signin/passkey/options").await?;
            // Signed by a key the server does not know: the shape is right, the passkey is not.
            let cred = SoftKey::new("01020304-0506-0708-0102-030405060708").assert(
                &o["publicKey"],
                &s.origin(),
                &Default::default(),
            );
            Some(json!({"ceremonyId": o["ceremonyId"], "credential": cred}))
        }
        "/api/admin/readiness" => Some(json!({
            "proposed": [{"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration", "isAttestationEnforced": true}],
            "deletePolicies": [],
            "users": [ADMIN]
        })),
        _ => None,
    }
}

/// The form fields a back-channel OAuth route or the authorize endpoint accepts.
fn oauth_sample(route: &Route, s: &Server) -> Vec<(String, String)> {
    let redirect = format!("{}/security-info/callback", s.origin());
    let f = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    match route.path {
        p if p.ends_with("/token") => f(&[
            ("grant_type", "authorization_code"),
            ("client_id", "14d82eec-204b-4c2f-b7e8-296a70dab67e"),
            ("code", "not-a-code"),
            ("redirect_uri", &redirect),
            (
                "code_verifier",
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            ),
            ("refresh_token", "not-a-token"),
            ("scope", "openid profile"),
            ("client_secret", "not-a-secret"),
        ]),
        p if p == portcullis_server::oidc::LOGOUT_PATH => f(&[
            ("id_token_hint", "not.a.jwt"),
            ("post_logout_redirect_uri", "https://evil.example/"),
            ("state", "s"),
            ("client_id", "14d82eec-204b-4c2f-b7e8-296a70dab67e"),
        ]),
        _ => f(&[
            ("client_id", "14d82eec-204b-4c2f-b7e8-296a70dab67e"),
            ("redirect_uri", &redirect),
            ("response_type", "code"),
            ("scope", "openid profile"),
            ("state", "s"),
            ("nonce", "n"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
            ("prompt", "login"),
            ("max_age", "60"),
            ("login_hint", ADMIN),
            ("response_mode", "query"),
        ]),
    }
}

fn query_of(fields: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// `pattern` with each `{param}` replaced: by the crawled instance's segment, except the
/// one at `bad`, which gets `segment`.
fn fill(pattern: &str, instance: Option<&str>, bad: Option<(usize, &str)>) -> String {
    let inst: Vec<&str> = instance.map(|i| i.split('/').collect()).unwrap_or_default();
    let mut param = 0;
    pattern
        .split('/')
        .enumerate()
        .map(|(i, seg)| {
            if seg.starts_with('{') {
                param += 1;
                if let Some((at, with)) = bad {
                    if at == param - 1 {
                        return with.to_string();
                    }
                }
                if seg == "{tenant}" {
                    return "common".to_string();
                }
                inst.get(i)
                    .map_or("00000000-0000-0000-0000-000000000000".to_string(), |s| {
                        s.to_string()
                    })
            } else {
                seg.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Routes whose accepted requests end the administrator's session or remove the crawled
/// objects go last.
fn last(route: &Route) -> u8 {
    match route.path {
        "/signout" => 3,
        p if p == portcullis_server::oidc::LOGOUT_PATH => 3,
        p if p.ends_with("/delete") => 2,
        _ => 1,
    }
}

async fn walk(db: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = Server::start_env(
        d,
        db,
        &[
            (
                "PORTCULLIS_RATE_LIMIT__SIGN_IN_OPTIONS_PER_MINUTE",
                "1000000".into(),
            ),
            (
                "PORTCULLIS_RATE_LIMIT__SIGN_IN_ANSWERS_PER_MINUTE",
                "1000000".into(),
            ),
            (
                "PORTCULLIS_RATE_LIMIT__TAP_ATTEMPTS_PER_MINUTE",
                "1000000".into(),
            ),
            (
                "PORTCULLIS_LOCKOUT__MAX_FAILURES_PER_SOURCE",
                "1000000".into(),
            ),
            (
                "PORTCULLIS_LOCKOUT__MAX_FAILURES_PER_USER",
                "1000000".into(),
            ),
            // Housekeeping only at start: a round during the walk (expired ceremonies
            // deleted) would read as a change a refusal made.
            ("PORTCULLIS_RETENTION__HOUSEKEEPING_MINUTES", "1440".into()),
        ],
    )
    .await;
    support::enable_fido2(d, db);
    // Objects for the pages to show: a user with a passkey, a group, a policy, a strength,
    // a named location.
    assert_eq!(cli(d, db, &["users", "add", "--upn", BOB]).0, 0);
    assert_eq!(cli(d, db, &["groups", "add", "Pilot"]).0, 0);
    assert_eq!(
        cli(
            d,
            db,
            &["groups", "members", "add", "--group", "Pilot", "--user", BOB]
        )
        .0,
        0
    );
    let f = d.join("policy.json");
    std::fs::write(&f, json!({"displayName": "Walk", "state": "disabled", "conditions": {"users": {"includeUsers": ["None"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]}, "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}).to_string()).unwrap();
    assert_eq!(cli(d, db, &["ca", "save", f.to_str().unwrap()]).0, 0);
    assert_eq!(
        cli(
            d,
            db,
            &["ca", "strength", "--name", "Keys", "--combination", "fido2"]
        )
        .0,
        0
    );
    assert_eq!(
        cli(
            d,
            db,
            &[
                "ca",
                "location",
                "--name",
                "Office",
                "--cidr",
                "192.0.2.0/24"
            ]
        )
        .0,
        0
    );
    let (st, out, err) = cli(d, db, &["tap", "create", "--user", BOB]);
    assert_eq!(st, 0, "{err}");
    support::enable_oath(d, db);
    let bob = signed_in_with_a_passkey(&s, BOB, &code_from(&out)).await;
    let bob_app = support::enrol_oath(&bob, &s).await;
    let bob_pw = "amber-kettle-sings-twice";
    let (st, _, err) = support::cli_input(
        d,
        db,
        &["users", "set-password", BOB, "--must-change"],
        &format!("{bob_pw}\n"),
    );
    assert_eq!(st, 0, "{err}");
    let admin =
        signed_in_with_a_passkey(&s, ADMIN, s.tap.as_deref().expect("bootstrap pass")).await;
    let mut found = crawl(&admin, &s).await;
    found.merge(password_steps(&s, BOB, bob_pw, &bob_app).await);
    // Carl approves with a phone: his password sign-in's push page, and his request.
    let (phone, push_found) = push_steps(d, db, &s).await;
    found.merge(push_found);

    // Bearer tokens for the admin API, each with the scope its capability asks for (the
    // authorization table), and one for userinfo.
    let mut tokens = BTreeMap::new();
    for (_, path, cap) in portcullis_server::admin_api::ROUTES {
        let scope = cap.requirement().scopes[0];
        tokens.insert(*path, support::token(d, db, &s.origin(), ADMIN, &[scope]));
    }
    tokens.insert(
        portcullis_service::oidc::USERINFO_PATH,
        support::token(d, db, &s.origin(), ADMIN, &["openid", "profile"]),
    );
    // The Authenticator app's API takes the app's own sign-in.
    let app_token = authenticator_token(&admin, &s).await;
    for path in [
        "/api/authenticator/passkeys/options",
        "/api/authenticator/passkeys",
        "/api/authenticator/passkeys/{id}/delete",
        "/api/authenticator/codes",
    ] {
        tokens.insert(path, app_token.clone());
    }

    let mut snap = Snapshotter::open(d, db, &LOGS_OF_REFUSALS).await;
    let baseline = snap.take().await;
    let fp = snap.fingerprint().await;
    let mut w = Walk {
        s: &s,
        db,
        anonymous: client(),
        admin,
        tokens,
        snap,
        baseline,
        fp,
        accepted: vec![],
        answering: None,
        sent: 0,
        by_status: BTreeMap::new(),
    };
    let mut routes: Vec<&Route> = route_table::routes()
        .filter(|r| r.surface != Surface::Graph)
        .collect();
    routes.sort_by_key(|r| last(r));
    let mut without_sample = vec![];
    for route in routes {
        let instance = found.instances.get(route.path).map(String::as_str);
        let params = route.path.matches('{').count();
        let good = fill(route.path, instance, None);
        let whos: &[Who] = match route.access {
            Access::Bearer => &[Who::Nobody, Who::GarbageToken, Who::AdminToken],
            _ => &[Who::Nobody, Who::Admin],
        };
        for verb in route.verbs {
            let method = verb.as_str();
            // The bodies (POST) or queries (GET) of this route.
            let mut cases: Vec<(String, String, Option<Bad>)> = vec![];
            if *verb == Verb::Post {
                let bodies = match route.surface {
                    Surface::Api => match json_sample(route, &w.admin, &s, &phone).await {
                        Some(sample) => corpus::json_bodies(&sample),
                        None => {
                            without_sample.push(route.path);
                            vec![]
                        }
                    },
                    Surface::OAuth => corpus::form_bodies(&oauth_sample(route, &s)),
                    _ => match found.posts.get(route.path) {
                        Some(f) => corpus::form_bodies(&f.fields),
                        // Shown only to a user the registration campaign holds up.
                        None if route.path == "/registration-campaign/snooze" => {
                            corpus::form_bodies(&[("return_to".into(), "/me".into())])
                        }
                        None => {
                            without_sample.push(route.path);
                            corpus::form_bodies(&[])
                        }
                    },
                };
                cases.extend(
                    bodies
                        .into_iter()
                        .map(|b| (good.clone(), b.what.clone(), Some(b))),
                );
                // Making a sample may itself write (a ceremony's options): from here on.
                w.rebase().await;
            } else {
                let mut names: Vec<String> = found
                    .query_names
                    .get(route.path)
                    .map(|n| n.iter().cloned().collect())
                    .unwrap_or_default();
                if route.path == portcullis_server::oidc::AUTHORIZE_PATH
                    || route.path == portcullis_server::oidc::LOGOUT_PATH
                {
                    let sample = oauth_sample(route, &s);
                    names.extend(sample.iter().map(|(n, _)| n.clone()));
                    cases.push((
                        format!("{good}?{}", query_of(&sample)),
                        "the sample query".into(),
                        None,
                    ));
                }
                if route.path == "/api/admin/inventory/passkeys" {
                    names.push("format".into());
                    names.extend(portcullis_domain::inventory::RawFilter::NAMES.map(String::from));
                }
                for (what, q) in corpus::odd_queries(&names) {
                    cases.push((format!("{good}?{q}"), what, None));
                }
            }
            // Bad ids in each parameter.
            for p in 0..params {
                for (what, seg) in corpus::bad_segments() {
                    let path = fill(route.path, instance, Some((p, &seg)));
                    // The page's own form, so that only the id is wrong.
                    let body = (*verb == Verb::Post)
                        .then(|| found.posts.get(route.path))
                        .flatten()
                        .map(|f| Bad {
                            what: "the page's form".into(),
                            content_type: Some("application/x-www-form-urlencoded"),
                            body: query_of(&f.fields).into_bytes(),
                            malformed: false,
                        });
                    cases.push((path, format!("parameter {p} is {what}"), body));
                }
            }
            // The routes that finish a ceremony: each body answers a ceremony of its own, so
            // that every mutation meets a live one (a refused answer spends it, R17).
            let live = *verb == Verb::Post
                && matches!(
                    route.path,
                    "/api/signin/passkey"
                        | "/api/passkeys/registration"
                        | "/api/authenticator/passkeys"
                );
            for who in whos {
                // Without a session or token, a route that needs one refuses before it reads
                // anything: every fifth case (and every bad id) shows it.
                let thin =
                    route.access != Access::Anyone && !matches!(who, Who::Admin | Who::AdminToken);
                for (i, (path, what, body)) in cases.iter().enumerate() {
                    if thin && i % 5 != 0 && path == &good {
                        continue;
                    }
                    let fresh: Option<Bad>;
                    let mut body = body.as_ref();
                    w.answering = None;
                    if live && path == &good {
                        if let Some(sample) = json_sample(route, &w.admin, &s, &phone).await {
                            fresh = corpus::json_bodies(&sample).into_iter().nth(i);
                            body = fresh.as_ref();
                            // Only the administrator's own answer may spend the ceremony of
                            // the registration begun in their session; anyone's may spend a
                            // sign-in's (it is anonymous).
                            if route.path == "/api/signin/passkey"
                                || matches!(who, Who::Admin | Who::AdminToken)
                            {
                                w.answering = sample["ceremonyId"].as_str().map(String::from);
                            }
                            w.rebase().await;
                        }
                    }
                    w.send(route, *who, method, path, body, what).await;
                }
            }
            w.answering = None;
        }
        // Methods the route does not answer.
        for method in ["PUT", "DELETE", "PATCH"] {
            w.send(
                route,
                Who::Nobody,
                method,
                &good,
                None,
                "a method it does not answer",
            )
            .await;
        }
    }
    eprintln!(
        "bad input ({}): {} routes, {} requests, answers by status {:?}; no 5xx, every refusal left the store as it was",
        db.map(|_| "postgres").unwrap_or("sqlite"),
        route_table::routes().filter(|r| r.surface != Surface::Graph).count(),
        w.sent,
        w.by_status
    );
    eprintln!(
        "bad input ({}): {} bad bodies were accepted:\n{}",
        db.map(|_| "postgres").unwrap_or("sqlite"),
        w.accepted.len(),
        w.accepted.join("\n")
    );
    assert!(
        without_sample.is_empty(),
        "no sample body for {without_sample:?}: the crawl found no form posting there"
    );
    s.stop().await;
}
