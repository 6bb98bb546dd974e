//! `GET /metrics`: the gate's numbers in the Prometheus text format.
//!
//! Counters the process keeps (decisions, refused credentials, publish
//! outcomes, request latency) live in one process-wide registry, so any
//! code can count without holding the server's state; figures the database
//! already knows (releases by state, locked maintainers, events by kind)
//! are read from it at scrape time, so they are right after a restart too.
//!
//! `/metrics` is only served on `metrics_listen` (a separate address for the
//! scraper), never on the public listener: the counts say when maintainers
//! act and how often credentials are refused, which is nobody else's
//! business.

use std::sync::OnceLock;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::api::AppState;

type Labels = Vec<(&'static str, String)>;

/// The process-wide metric families.
struct Metrics {
    registry: Registry,
    releases: Family<Labels, Gauge>,
    events: Family<Labels, Gauge>,
    locked: Gauge,
    decisions: Family<Labels, Counter>,
    refused: Family<Labels, Counter>,
    publish: Family<Labels, Counter>,
    webhook_attempts: Family<Labels, Counter>,
    webhook_deliveries: Family<Labels, Gauge>,
    latency: Family<Labels, Histogram, fn() -> Histogram>,
    /// Scrapes refresh the database gauges one at a time.
    scrape: tokio::sync::Mutex<()>,
}

fn latency_histogram() -> Histogram {
    // 1 ms to ~33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let mut registry = Registry::default();
        let releases = Family::<Labels, Gauge>::default();
        registry.register(
            "shipgate_releases",
            "Releases in the database by state",
            releases.clone(),
        );
        let events = Family::<Labels, Gauge>::default();
        registry.register(
            "shipgate_events",
            "Recorded events by kind (staged, approved, released, rejected, maintainer_locked, ...)",
            events.clone(),
        );
        let locked = Gauge::default();
        registry.register(
            "shipgate_maintainers_locked",
            "Enrolled maintainers currently locked out (wrong TOTP codes)",
            locked.clone(),
        );
        let decisions = Family::<Labels, Counter>::default();
        registry.register(
            "shipgate_decisions",
            "Approve and reject requests by decision and outcome since start",
            decisions.clone(),
        );
        let refused = Family::<Labels, Counter>::default();
        registry.register(
            "shipgate_refused_tokens",
            "Refused credentials (CI tokens, maintainer tokens, TOTP codes) by reason class since start",
            refused.clone(),
        );
        let publish = Family::<Labels, Counter>::default();
        registry.register(
            "shipgate_publish",
            "Registry publish attempts by registry and outcome since start",
            publish.clone(),
        );
        let webhook_attempts = Family::<Labels, Counter>::default();
        registry.register(
            "shipgate_webhook_attempts",
            "Webhook delivery attempts by outcome (delivered, retry, failed) since start",
            webhook_attempts.clone(),
        );
        let webhook_deliveries = Family::<Labels, Gauge>::default();
        registry.register(
            "shipgate_webhook_deliveries",
            "Webhook deliveries in the database by state (queued, pending, delivered, failed)",
            webhook_deliveries.clone(),
        );
        let latency =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register(
            "shipgate_http_request_duration_seconds",
            "HTTP request latency by method, route template and status class",
            latency.clone(),
        );
        Metrics {
            registry,
            releases,
            events,
            locked,
            decisions,
            refused,
            publish,
            webhook_attempts,
            webhook_deliveries,
            latency,
            scrape: tokio::sync::Mutex::new(()),
        }
    })
}

/// Counts one publish attempt (`outcome`: `published`, `failed`, ...).
pub fn publish_outcome(registry: &str, outcome: &str) {
    metrics()
        .publish
        .get_or_create(&vec![
            ("registry", registry.to_owned()),
            ("outcome", outcome.to_owned()),
        ])
        .inc();
}

/// Counts one webhook delivery attempt (`outcome`: `delivered`, `retry`
/// or `failed`).
pub fn webhook_attempt(outcome: &str) {
    metrics()
        .webhook_attempts
        .get_or_create(&vec![("outcome", outcome.to_owned())])
        .inc();
}

/// Counts one refused credential; `reason` is the precise (logged) reason,
/// reduced here to a small fixed set of classes.
pub fn token_refused(reason: &str) {
    metrics()
        .refused
        .get_or_create(&vec![("class", refusal_class(reason).to_owned())])
        .inc();
}

/// The class of a refusal reason (a fixed, small label set).
pub fn refusal_class(reason: &str) -> &'static str {
    let reason = reason.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| reason.contains(w));
    if has(&[
        "no authorization",
        "empty or too long",
        "not `bearer",
        "not bearer",
    ]) {
        "missing"
    } else if has(&["totp"]) {
        "totp"
    } else if has(&["locked"]) {
        "locked"
    } else if has(&["replay", "jti", "already used"]) {
        "replayed"
    } else if has(&["expired", "not yet valid", "exp ", "nbf", "iat"]) {
        "expired"
    } else if has(&["audience", "aud"]) {
        "audience"
    } else if has(&["signature", "kid", "alg", "key"]) {
        "signature"
    } else if has(&[
        "repository",
        "workflow",
        "environment",
        "ref",
        "binding",
        "publisher",
        "event",
        "issuer",
    ]) {
        "binding"
    } else if has(&["maintainer", "token"]) {
        "maintainer_token"
    } else if has(&["malformed", "decode", "parse", "json", "base64"]) {
        "malformed"
    } else {
        "other"
    }
}

fn status_class(status: StatusCode) -> String {
    format!("{}xx", status.as_u16() / 100)
}

/// Measures every routed request (by route template, never the raw path,
/// so that ids and names do not make new series) and counts decisions.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status();
    let m = metrics();
    m.latency
        .get_or_create(&vec![
            ("method", method),
            ("route", route.clone()),
            ("status", status_class(status)),
        ])
        .observe(started.elapsed().as_secs_f64());
    let decision = match route.as_str() {
        "/v1/releases/{id}/approve" => Some("approve"),
        "/v1/releases/{id}/reject" => Some("reject"),
        _ => None,
    };
    if let Some(decision) = decision {
        // A locked maintainer is refused like any wrong credential (401).
        let outcome = match status.as_u16() {
            200..=299 => "accepted",
            401 | 403 => "refused",
            409 => "conflict",
            400..=499 => "invalid",
            _ => "error",
        };
        m.decisions
            .get_or_create(&vec![
                ("decision", decision.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
    }
    response
}

/// Adds the latency middleware to every route of `router` (call it after
/// the last route is added).
pub fn instrument(router: Router<AppState>) -> Router<AppState> {
    router.route_layer(axum::middleware::from_fn(track))
}

/// The router for `metrics_listen`: `/metrics` and `/healthz`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(serve))
        .route("/healthz", get(crate::health::serve))
        .with_state(state)
}

/// `GET /metrics`.
pub async fn serve(State(state): State<AppState>) -> Response {
    let m = metrics();
    let _turn = m.scrape.lock().await;
    let figures = match state.db().ops_figures().await {
        Ok(figures) => figures,
        Err(err) => {
            tracing::error!(%err, "metrics: cannot read the database");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response();
        }
    };
    for state in ["staged", "released", "rejected"] {
        m.releases
            .get_or_create(&vec![("state", state.to_owned())])
            .set(0);
    }
    for (state, count) in figures.releases_by_state {
        m.releases.get_or_create(&vec![("state", state)]).set(count);
    }
    for (kind, count) in figures.events_by_kind {
        m.events.get_or_create(&vec![("kind", kind)]).set(count);
    }
    m.locked.set(figures.locked_maintainers);
    match state.db().webhook_figures().await {
        Ok(hooks) => {
            for (state, count) in [
                ("queued", hooks.queued_events),
                ("pending", hooks.pending),
                ("delivered", hooks.delivered),
                ("failed", hooks.failed),
            ] {
                m.webhook_deliveries
                    .get_or_create(&vec![("state", state.to_owned())])
                    .set(count);
            }
        }
        Err(err) => tracing::error!(%err, "metrics: cannot read the webhook outbox"),
    }
    let mut text = String::new();
    if let Err(err) = encode(&mut text, &m.registry) {
        tracing::error!(%err, "metrics: cannot encode");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::{metrics, publish_outcome, refusal_class};

    #[test]
    fn refusal_reasons_fall_into_a_few_classes() {
        assert_eq!(refusal_class("no Authorization header"), "missing");
        assert_eq!(refusal_class("token expired at 123"), "expired");
        assert_eq!(refusal_class("wrong TOTP code"), "totp");
        assert_eq!(refusal_class("jti already used"), "replayed");
        assert_eq!(refusal_class("something new"), "other");
    }

    #[test]
    fn publish_outcomes_are_counted_by_registry_and_outcome() {
        publish_outcome("npm", "published");
        publish_outcome("npm", "published");
        publish_outcome("pypi", "failed");
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &metrics().registry).unwrap();
        assert!(text.contains("# TYPE shipgate_publish counter"), "{text}");
        assert!(
            text.contains(r#"shipgate_publish_total{registry="npm",outcome="published"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"shipgate_publish_total{registry="pypi",outcome="failed"} 1"#),
            "{text}"
        );
    }
}
