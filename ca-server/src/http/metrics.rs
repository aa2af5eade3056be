//! `GET /metrics`: the CA's Prometheus families, kept with the `prometheus`
//! crate. Fulcio's own under Fulcio's names (`pkg/server/metrics.go` in
//! sigstore/fulcio), so dashboards built for Fulcio read this CA too:
//! `fulcio_new_certs` (certificates issued), `fulcio_api_latency{code,method}`
//! (seconds, Prometheus's default buckets) and `http_requests_total{code,method}`,
//! with the method in lower case as Fulcio's instrumented handler writes it.
//! Fulcio serves its metrics on a port of their own, so its families never
//! see a scrape: here they count every request but those to `/metrics`.
//! Sigil's request families by route template (`serving::metrics`) count
//! every request.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry};
use serving::metrics::{Answered, HttpFamilies, ObserveRequests};

use super::AppState;

/// Where the exposition is served.
const METRICS_ROUTE: &str = "/metrics";

pub(crate) fn router() -> Router<AppState> {
    Router::new().route(METRICS_ROUTE, get(exposition))
}

async fn exposition(State(state): State<AppState>) -> Response {
    serving::metrics::exposition(&state.metrics.registry)
}

/// Every family of one CA.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    http: HttpFamilies,
    new_certs: IntCounter,
    api_latency: HistogramVec,
    requests: IntCounterVec,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        // Every name below is a distinct constant in a fresh registry, which
        // is all `register` checks: a failure is a bug the tests catch.
        Self::build().expect("the CA's metric families are distinct and valid")
    }

    fn build() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let http = HttpFamilies::register(&registry)?;
        let new_certs = IntCounter::new(
            "fulcio_new_certs",
            "The total number of certificates generated",
        )?;
        let api_latency = HistogramVec::new(
            HistogramOpts::new("fulcio_api_latency", "API Latency on calls"),
            &["code", "method"],
        )?;
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "Count all HTTP requests"),
            &["code", "method"],
        )?;
        registry.register(Box::new(new_certs.clone()))?;
        registry.register(Box::new(api_latency.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        Ok(Self {
            registry,
            http,
            new_certs,
            api_latency,
            requests,
        })
    }

    /// One certificate issued.
    pub(crate) fn issued(&self) {
        self.new_certs.inc();
    }
}

impl ObserveRequests for Metrics {
    fn observe(&self, answered: &Answered<'_>) {
        self.http.observe(answered);
        if answered.route == METRICS_ROUTE {
            return;
        }
        let method = answered.method.to_ascii_lowercase();
        let labels = [answered.status.as_str(), method.as_str()];
        self.api_latency
            .with_label_values(&labels)
            .observe(answered.elapsed.as_secs_f64());
        self.requests.with_label_values(&labels).inc();
    }
}
