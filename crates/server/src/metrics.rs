//! `/metrics` in the Prometheus text format (R60): requests by route, method and status,
//! their latency, sign-ins by method and result, authorization outcomes, and the database
//! pool. Counted at the edge from the route each request matched — one place, no handler
//! counts anything itself.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SignInLabels {
    method: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommittedLabels {
    committed: &'static str,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to ~8 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

/// The registry and its metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    sign_ins: Family<SignInLabels, Counter>,
    authorizations: Family<OutcomeLabels, Counter>,
    pool_size: Gauge,
    pool_idle: Gauge,
    batches: Family<CommittedLabels, Counter>,
    group_commits: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("portcullis");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let sign_ins = Family::<SignInLabels, Counter>::default();
        let authorizations = Family::<OutcomeLabels, Counter>::default();
        let (pool_size, pool_idle) = (Gauge::default(), Gauge::default());
        let batches = Family::<CommittedLabels, Counter>::default();
        let group_commits = Counter::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, by route",
            latency.clone(),
        );
        registry.register(
            "sign_ins",
            "Interactive sign-ins, by method and result",
            sign_ins.clone(),
        );
        registry.register("authorizations", "Authorization requests of applications, by outcome (code issued, refused by Conditional Access, sent to sign in or to the registration campaign, error)", authorizations.clone());
        registry.register(
            "db_pool_connections",
            "Database connections open",
            pool_size.clone(),
        );
        registry.register(
            "db_pool_idle_connections",
            "Database connections open and idle",
            pool_idle.clone(),
        );
        registry.register(
            "db_batches",
            "Write batches committed (a sign-in's writes are one), by how: in a SQLite group commit, as one PostgreSQL statement, or in a transaction of their own",
            batches.clone(),
        );
        registry.register(
            "db_group_commits",
            "SQLite group commits: each one transaction and one fsync for the batches in it",
            group_commits.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            sign_ins,
            authorizations,
            pool_size,
            pool_idle,
            batches,
            group_commits,
        }
    }
}

impl Metrics {
    fn record(
        &self,
        route: &str,
        method: &Method,
        status: StatusCode,
        seconds: f64,
        location: Option<&str>,
        code_in_answer: bool,
    ) {
        // A fixed set: any token is a method to HTTP, and each new label value is a series
        // kept for good — a client must not be able to grow /metrics at will.
        let verb = match *method {
            Method::GET => "GET",
            Method::HEAD => "HEAD",
            Method::POST => "POST",
            Method::PUT => "PUT",
            Method::PATCH => "PATCH",
            Method::DELETE => "DELETE",
            Method::OPTIONS => "OPTIONS",
            _ => "other",
        };
        self.requests
            .get_or_create(&RequestLabels {
                route: route.into(),
                method: verb.into(),
                status: status.as_u16(),
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.into(),
            })
            .observe(seconds);
        let sign_in = match (method, route) {
            (&Method::POST, "/signin/tap") => {
                Some(("temporaryAccessPass", status == StatusCode::SEE_OTHER))
            }
            (&Method::POST, "/api/signin/passkey") => Some(("passkey", status == StatusCode::OK)),
            _ => None,
        };
        if let Some((m, ok)) = sign_in {
            self.sign_ins
                .get_or_create(&SignInLabels {
                    method: m,
                    result: if ok { "success" } else { "failure" },
                })
                .inc();
        }
        if code_in_answer {
            self.authorizations
                .get_or_create(&OutcomeLabels {
                    outcome: "codeIssued",
                })
                .inc();
        }
        if route == crate::oidc::AUTHORIZE_PATH {
            let to = location.unwrap_or_default();
            let outcome = match status {
                StatusCode::FORBIDDEN => "denied",
                s if s.is_redirection() && to.starts_with("/signin") => "signInRequired",
                s if s.is_redirection() && to.starts_with("/registration-campaign") => {
                    "registrationCampaign"
                }
                s if s.is_redirection() && carries_code(to) => "codeIssued",
                s if s.is_redirection() => "redirectedWithError",
                _ => "error",
            };
            self.authorizations
                .get_or_create(&OutcomeLabels { outcome })
                .inc();
        }
    }
}

/// Marks an answer that carries an authorization code though it is not the authorization
/// endpoint's: a passkey sign-in that continued the request it was for.
#[derive(Debug, Clone, Copy)]
pub struct CodeInAnswer;

/// Whether a redirect carries an authorization code (a `code` parameter, not `code=` inside
/// some other value).
fn carries_code(location: &str) -> bool {
    url::Url::parse(location)
        .ok()
        .is_some_and(|u| u.query_pairs().any(|(k, _)| k == "code"))
}

/// The middleware: times and counts each request under the route it matched.
pub async fn count(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let method = req.method().clone();
    let started = Instant::now();
    let res = next.run(req).await;
    let location = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok());
    st.metrics.record(
        &route,
        &method,
        res.status(),
        started.elapsed().as_secs_f64(),
        location,
        res.extensions().get::<CodeInAnswer>().is_some(),
    );
    res
}

/// Moves a counter kept by the store up to its count now: never down, and two scrapes at
/// once do not add the same batches twice.
fn up_to(c: &Counter, n: u64) {
    c.inner().fetch_max(n, std::sync::atomic::Ordering::Relaxed);
}

/// `GET /metrics`.
pub async fn scrape(State(st): State<AppState>) -> Response {
    let (size, idle) = st.service.store().pool_stats();
    st.metrics.pool_size.set(i64::from(size));
    st.metrics
        .pool_idle
        .set(i64::try_from(idle).unwrap_or(i64::MAX));
    let counts = st.service.store().batch_counts();
    for (committed, n) in [
        ("in_group", counts.in_groups),
        ("as_one_statement", counts.as_one_statement),
        ("in_transaction", counts.in_transaction),
    ] {
        up_to(
            &st.metrics
                .batches
                .get_or_create(&CommittedLabels { committed }),
            n,
        );
    }
    up_to(&st.metrics.group_commits, counts.groups);
    let mut out = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &st.metrics.registry) {
        tracing::error!(error = %e, "encoding metrics failed");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
