//! The request metrics both servers export, with the `prometheus` crate, in
//! the text exposition format 0.0.4
//! (<https://prometheus.io/docs/instrumenting/exposition_formats/>).
//!
//! [`track`] is the middleware: it times every request and labels it with
//! the matched route *template* (`/api/v1/log/entries/{id}`, never the raw
//! URL), `unmatched` when no route matched, and the method, `other` for an
//! unusual one, so no client can grow the label sets. What is recorded is
//! each server's choice ([`ObserveRequests`]): both record
//! [`HttpFamilies`], and each adds the families Fulcio or Rekor export under
//! the same names, so dashboards built for those keep working.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};

/// The text exposition's content type.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds (seconds) of the request-latency buckets: 1 ms to 10 s.
const LATENCY_BOUNDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// One answered request, as the middleware saw it.
#[derive(Clone, Copy, Debug)]
pub struct Answered<'a> {
    /// The matched route template, or `unmatched`.
    pub route: &'a str,
    /// The method in capitals, or `other`.
    pub method: &'static str,
    pub status: StatusCode,
    /// From the request's arrival to its response head.
    pub elapsed: Duration,
}

/// What a server records per answered request.
pub trait ObserveRequests: Send + Sync + 'static {
    fn observe(&self, answered: &Answered<'_>);
}

/// Times one request and hands it to the server's metrics.
pub async fn track<O: ObserveRequests>(
    State(metrics): State<Arc<O>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = match *request.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let response = next.run(request).await;
    metrics.observe(&Answered {
        route: &route,
        method,
        status: response.status(),
        elapsed: started.elapsed(),
    });
    response
}

/// Sigil's own request families, the same on every server:
/// `sigil_http_requests_total` and `sigil_http_request_duration_seconds`,
/// both by `route`, `method` and `status`.
#[derive(Clone, Debug)]
pub struct HttpFamilies {
    requests: IntCounterVec,
    duration: HistogramVec,
}

impl HttpFamilies {
    /// Creates both families in `registry`; fails only when it holds
    /// families of the same names already.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        const LABELS: &[&str] = &["route", "method", "status"];
        let requests = IntCounterVec::new(
            Opts::new(
                "sigil_http_requests_total",
                "HTTP requests answered, by route template, method and status.",
            ),
            LABELS,
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "sigil_http_request_duration_seconds",
                "Time to answer an HTTP request, by route template, method and status.",
            )
            .buckets(LATENCY_BOUNDS.to_vec()),
            LABELS,
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        Ok(Self { requests, duration })
    }

    pub fn observe(&self, answered: &Answered<'_>) {
        let labels = [answered.route, answered.method, answered.status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.duration
            .with_label_values(&labels)
            .observe(answered.elapsed.as_secs_f64());
    }
}

/// `GET /metrics`: every family of `registry`, in the text format.
pub fn exposition(registry: &Registry) -> Response {
    match TextEncoder::new().encode_to_string(&registry.gather()) {
        Ok(text) => ([(header::CONTENT_TYPE, TEXT_CONTENT_TYPE)], text).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "encoding the metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt as _;

    use super::*;

    struct Recorded {
        registry: Registry,
        http: HttpFamilies,
    }

    impl ObserveRequests for Recorded {
        fn observe(&self, answered: &Answered<'_>) {
            self.http.observe(answered);
        }
    }

    #[tokio::test]
    async fn requests_are_counted_by_route_template_and_unmatched_ones_together() {
        let registry = Registry::new();
        let http = HttpFamilies::register(&registry).unwrap();
        let metrics = Arc::new(Recorded { registry, http });
        let app = Router::new()
            .route("/entries/{id}", get(|| async { "entry" }))
            .layer(axum::middleware::from_fn_with_state(
                metrics.clone(),
                track::<Recorded>,
            ));
        for uri in ["/entries/1", "/entries/2", "/nothing/here", "/other"] {
            let request = Request::get(uri).body(Body::empty()).unwrap();
            app.clone().oneshot(request).await.unwrap();
        }
        let text = TextEncoder::new()
            .encode_to_string(&metrics.registry.gather())
            .unwrap();
        for line in [
            r#"sigil_http_requests_total{method="GET",route="/entries/{id}",status="200"} 2"#,
            r#"sigil_http_requests_total{method="GET",route="unmatched",status="404"} 2"#,
            r#"sigil_http_request_duration_seconds_count{method="GET",route="/entries/{id}",status="200"} 2"#,
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
        assert!(
            !text.contains("/entries/1"),
            "a raw URL became a label:\n{text}"
        );
    }

    #[test]
    fn a_registry_refuses_the_families_twice() {
        let registry = Registry::new();
        HttpFamilies::register(&registry).unwrap();
        assert!(HttpFamilies::register(&registry).is_err());
    }
}
