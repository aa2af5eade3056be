//! Prometheus metrics of the log server (docs/design.md "Observability"),
//! kept with the `prometheus` crate and served as text by `/metrics`:
//!
//! * Rekor's own families under Rekor's names (`pkg/api/metrics.go` in
//!   sigstore/rekor), so dashboards built for Rekor read this log too:
//!   `rekor_new_entries` (entries appended to the Rekor v1 and v2 trees),
//!   `rekor_qps_by_api{path,method,code}` and
//!   `rekor_latency_by_api{path,method}`, the latter in nanoseconds over
//!   Rekor's buckets (1 ms to 4 s, ten of them), as Rekor records it. Like
//!   Rekor, the last two count only the Rekor v1 API (see
//!   [`rekor_api_path`]), each route under its path template in Rekor's
//!   OpenAPI document (`/api/v1/log/entries/{entryUUID}`): CT, tiles, the
//!   explorer, probes and scrapes are not Rekor API calls;
//! * Sigil's request families, the same on both servers (see
//!   `serving::metrics`): `sigil_http_requests_total` and
//!   `sigil_http_request_duration_seconds`, by route template, method and
//!   status;
//! * per tree (`tree="rekor"|"ct"|"rekor-v2"`): the gauges
//!   `sigil_tlog_tree_size`, `sigil_tlog_pool_depth`,
//!   `sigil_tlog_pool_capacity` and `sigil_tlog_sequencer_running`, read at
//!   scrape time, and the histograms `sigil_tlog_batch_size` (entries per
//!   committed batch) and `sigil_tlog_flush_duration_seconds` (sequencing
//!   plus the durable commit of one batch).
//!
//! A label set is allocated the first time it is seen; after that a request
//! costs a few atomic additions.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus::{
    exponential_buckets, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGaugeVec, Opts, Registry,
};
use serving::metrics::{Answered, HttpFamilies, ObserveRequests};

/// Upper bounds of the batch-size buckets (entries); the default batch is 256.
const BATCH_BOUNDS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0,
];

/// Upper bounds (seconds) of the flush-latency buckets: 0.5 ms to 5 s.
const FLUSH_BOUNDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// A per-tree gauge and how a scrape reads its value.
type TreeGauge = (IntGaugeVec, fn(&TreeSnapshot<'_>) -> i64);

/// Every family of one log server.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    http: HttpFamilies,
    rekor_qps: IntCounterVec,
    rekor_latency: HistogramVec,
    rekor_new_entries: IntCounter,
    batch_size: HistogramVec,
    flush_seconds: HistogramVec,
    tree_gauges: [TreeGauge; 4],
}

impl Metrics {
    pub(crate) fn new() -> Self {
        // Every name below is a distinct constant in a fresh registry, which
        // is all `register` checks: a failure is a bug the tests catch.
        Self::build().expect("the log server's metric families are distinct and valid")
    }

    fn build() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let http = HttpFamilies::register(&registry)?;
        let rekor_qps = IntCounterVec::new(
            Opts::new(
                "rekor_qps_by_api",
                "Api QPS by path, method, and response code",
            ),
            &["path", "method", "code"],
        )?;
        // Rekor's buckets: ten from 1 ms to 4 s, spaced by a constant factor,
        // in nanoseconds (Rekor observes a Go time.Duration as a float).
        let factor = (4_000.0_f64).powf(1.0 / 9.0);
        let rekor_latency = HistogramVec::new(
            HistogramOpts::new(
                "rekor_latency_by_api",
                "Api Latency (in ns) by path and method",
            )
            .buckets(exponential_buckets(1e6, factor, 10)?),
            &["path", "method"],
        )?;
        let rekor_new_entries =
            IntCounter::new("rekor_new_entries", "The total number of new log entries")?;
        let batch_size = HistogramVec::new(
            HistogramOpts::new("sigil_tlog_batch_size", "New entries per committed batch.")
                .buckets(BATCH_BOUNDS.to_vec()),
            &["tree"],
        )?;
        let flush_seconds = HistogramVec::new(
            HistogramOpts::new(
                "sigil_tlog_flush_duration_seconds",
                "Time to sequence and durably commit one batch.",
            )
            .buckets(FLUSH_BOUNDS.to_vec()),
            &["tree"],
        )?;
        let gauge = |name: &str, help: &str| IntGaugeVec::new(Opts::new(name, help), &["tree"]);
        let tree_gauges: [TreeGauge; 4] = [
            (
                gauge(
                    "sigil_tlog_tree_size",
                    "Entries in the latest committed tree head.",
                )?,
                |t| i64::try_from(t.size).unwrap_or(i64::MAX),
            ),
            (
                gauge(
                    "sigil_tlog_pool_depth",
                    "Submissions waiting in the sequencer pool.",
                )?,
                |t| i64::try_from(t.pool_depth).unwrap_or(i64::MAX),
            ),
            (
                gauge(
                    "sigil_tlog_pool_capacity",
                    "Submissions the pool holds before answering 503.",
                )?,
                |t| i64::try_from(t.pool_capacity).unwrap_or(i64::MAX),
            ),
            (
                gauge(
                    "sigil_tlog_sequencer_running",
                    "1 while the tree's sequencer accepts submissions.",
                )?,
                |t| i64::from(t.running),
            ),
        ];
        registry.register(Box::new(rekor_qps.clone()))?;
        registry.register(Box::new(rekor_latency.clone()))?;
        registry.register(Box::new(rekor_new_entries.clone()))?;
        registry.register(Box::new(batch_size.clone()))?;
        registry.register(Box::new(flush_seconds.clone()))?;
        for (gauge, _) in &tree_gauges {
            registry.register(Box::new(gauge.clone()))?;
        }
        Ok(Self {
            registry,
            http,
            rekor_qps,
            rekor_latency,
            rekor_new_entries,
            batch_size,
            flush_seconds,
            tree_gauges,
        })
    }

    /// What the sequencer of tree `tree` records into; its new entries
    /// count as `rekor_new_entries` when it is a Rekor tree.
    pub(crate) fn sequencer_stats(&self, tree: &str, rekor: bool) -> SequencerStats {
        SequencerStats {
            batch_size: self.batch_size.with_label_values(&[tree]),
            flush_seconds: self.flush_seconds.with_label_values(&[tree]),
            new_entries: rekor.then(|| self.rekor_new_entries.clone()),
            failed_in_a_row: AtomicU64::new(0),
        }
    }

    /// The whole exposition, with the tree gauges read now.
    pub(crate) fn exposition(&self, trees: &[TreeSnapshot<'_>]) -> axum::response::Response {
        for (gauge, value) in &self.tree_gauges {
            for tree in trees {
                gauge.with_label_values(&[tree.name]).set(value(tree));
            }
        }
        serving::metrics::exposition(&self.registry)
    }
}

impl ObserveRequests for Metrics {
    fn observe(&self, answered: &Answered<'_>) {
        self.http.observe(answered);
        let Some(path) = rekor_api_path(answered.method, answered.route) else {
            return;
        };
        self.rekor_qps
            .with_label_values(&[path, answered.method, answered.status.as_str()])
            .inc();
        let nanos = answered.elapsed.as_nanos() as f64;
        self.rekor_latency
            .with_label_values(&[path, answered.method])
            .observe(nanos);
    }
}

/// Rekor's name for a call of its v1 API, from our route template: the
/// path in Rekor's OpenAPI document (`openapi.yaml` in sigstore/rekor),
/// whose parameter names differ from ours. `None` for everything else,
/// which Rekor's families leave out (`sigil_http_*` count it).
fn rekor_api_path(method: &str, route: &str) -> Option<&'static str> {
    Some(match (method, route) {
        ("POST", "/api/v1/log/entries") => "/api/v1/log/entries",
        ("GET", "/api/v1/log/entries") => "/api/v1/log/entries",
        ("GET", "/api/v1/log/entries/{id}") => "/api/v1/log/entries/{entryUUID}",
        ("POST", "/api/v1/log/entries/retrieve") => "/api/v1/log/entries/retrieve",
        ("GET", "/api/v1/log") => "/api/v1/log",
        ("GET", "/api/v1/log/publicKey") => "/api/v1/log/publicKey",
        ("GET", "/api/v1/log/proof") => "/api/v1/log/proof",
        ("POST", "/api/v1/index/retrieve") => "/api/v1/index/retrieve",
        _ => return None,
    })
}

/// What one sequencer records per committed batch.
#[derive(Debug)]
pub(crate) struct SequencerStats {
    batch_size: Histogram,
    flush_seconds: Histogram,
    new_entries: Option<IntCounter>,
    /// Commits that failed since the last one that succeeded.
    failed_in_a_row: AtomicU64,
}

impl SequencerStats {
    /// One committed batch of `entries` new entries that took `elapsed` to
    /// sequence and commit.
    pub(crate) fn observe_batch(&self, entries: usize, elapsed: Duration) {
        self.batch_size.observe(entries as f64);
        self.flush_seconds.observe(elapsed.as_secs_f64());
        if let Some(counter) = &self.new_entries {
            counter.inc_by(entries as u64);
        }
        self.failed_in_a_row.store(0, Ordering::Relaxed);
    }

    /// A commit that failed (the database refused or could not be reached).
    pub(crate) fn observe_failure(&self) {
        self.failed_in_a_row.fetch_add(1, Ordering::Relaxed);
    }

    /// Commits that failed since the last one that succeeded.
    pub(crate) fn failed_in_a_row(&self) -> u64 {
        self.failed_in_a_row.load(Ordering::Relaxed)
    }
}

/// A tree's sequencer as a scrape sees it.
pub(crate) struct TreeSnapshot<'a> {
    pub(crate) name: &'a str,
    pub(crate) size: u64,
    pub(crate) pool_depth: usize,
    pub(crate) pool_capacity: usize,
    pub(crate) running: bool,
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    async fn scrape(metrics: &Metrics, trees: &[TreeSnapshot<'_>]) -> String {
        let body = metrics.exposition(trees).into_body();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn a_scrape_parses_and_holds_rekors_families_and_the_trees() {
        let metrics = Metrics::new();
        let answered = |route, status, millis| Answered {
            route,
            method: "POST",
            status,
            elapsed: Duration::from_millis(millis),
        };
        metrics.observe(&answered("/api/v1/log/entries", StatusCode::CREATED, 3));
        metrics.observe(&answered("/api/v1/log/entries", StatusCode::CREATED, 30));
        metrics.observe(&answered("/weird\"route", StatusCode::NOT_FOUND, 1));
        metrics.observe(&answered("/ct/v1/add-chain", StatusCode::OK, 1));
        let rekor = metrics.sequencer_stats("rekor", true);
        rekor.observe_batch(3, Duration::from_millis(2));
        let ct = metrics.sequencer_stats("ct", false);
        ct.observe_batch(5, Duration::from_millis(2));
        let trees = [TreeSnapshot {
            name: "rekor",
            size: 7,
            pool_depth: 1,
            pool_capacity: 10,
            running: true,
        }];
        let text = scrape(&metrics, &trees).await;

        let scrape = test_support::scrape::Scrape::parse(&text).unwrap();
        let value = |name: &str, labels: &[(&str, &str)]| {
            scrape
                .value(name, labels)
                .unwrap_or_else(|| panic!("no {name} {labels:?} in\n{text}"))
        };
        // CT entries are not Rekor entries.
        assert_eq!((value("rekor_new_entries", &[])), 3.0);
        let created = [("path", "/api/v1/log/entries"), ("method", "POST")];
        assert_eq!(
            (value(
                "rekor_qps_by_api",
                &[created[0], created[1], ("code", "201")]
            )),
            2.0
        );
        assert_eq!((value("rekor_latency_by_api_count", &created)), 2.0);
        // Only Rekor's API is in Rekor's families; every route is in ours.
        let rekor_paths: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("rekor_qps_by_api{"))
            .collect();
        assert_eq!(rekor_paths.len(), 1, "{text}");
        assert_eq!(
            (value(
                "sigil_http_requests_total",
                &[
                    ("route", "/ct/v1/add-chain"),
                    ("method", "POST"),
                    ("status", "200")
                ]
            )),
            1.0
        );
        assert_eq!(
            (value("rekor_latency_by_api_sum", &created)),
            33e6,
            "nanoseconds, as Rekor records them"
        );
        // The parser does not unescape label values; the exposition must.
        let escaped =
            r#"sigil_http_requests_total{method="POST",route="/weird\"route",status="404"} 1"#;
        assert!(text.lines().any(|l| l == escaped), "{text}");
        assert_eq!((value("sigil_tlog_tree_size", &[("tree", "rekor")])), 7.0);
        assert_eq!(
            (value("sigil_tlog_pool_capacity", &[("tree", "rekor")])),
            10.0
        );
        assert_eq!(
            (value("sigil_tlog_sequencer_running", &[("tree", "rekor")])),
            1.0
        );
        assert_eq!((value("sigil_tlog_batch_size_sum", &[("tree", "ct")])), 5.0);
        assert!(text.contains("# TYPE sigil_tlog_flush_duration_seconds histogram"));
        assert!(text.contains("# TYPE rekor_new_entries counter"));
    }

    #[test]
    fn rekor_api_calls_carry_rekors_path_templates() {
        assert_eq!(
            rekor_api_path("GET", "/api/v1/log/entries/{id}"),
            Some("/api/v1/log/entries/{entryUUID}")
        );
        assert_eq!(
            rekor_api_path("POST", "/api/v1/index/retrieve"),
            Some("/api/v1/index/retrieve")
        );
        for (method, route) in [
            ("GET", "/metrics"),
            ("GET", "/healthz"),
            ("GET", "/tile/{*path}"),
            ("POST", "/api/v2/log/entries"),
            ("GET", "unmatched"),
            ("DELETE", "/api/v1/log/entries"),
        ] {
            assert_eq!(rekor_api_path(method, route), None, "{method} {route}");
        }
    }

    #[test]
    fn rekors_latency_buckets_run_from_one_millisecond_to_four_seconds() {
        let metrics = Metrics::new();
        metrics.observe(&Answered {
            route: "/api/v1/log",
            method: "GET",
            status: StatusCode::OK,
            elapsed: Duration::from_secs(3),
        });
        let families = metrics.registry.gather();
        let latency = families
            .iter()
            .find(|f| f.name() == "rekor_latency_by_api")
            .unwrap();
        let buckets = latency.get_metric()[0].get_histogram().get_bucket();
        let bounds: Vec<f64> = buckets.iter().map(|b| b.upper_bound()).collect();
        assert_eq!(bounds.len(), 10);
        assert!((bounds[0] - 1e6).abs() < 1.0, "{bounds:?}");
        assert!((bounds[9] - 4e9).abs() / 4e9 < 1e-9, "{bounds:?}");
        assert_eq!(
            buckets[8].cumulative_count(),
            0,
            "3 s is above the ninth bound"
        );
        assert_eq!(buckets[9].cumulative_count(), 1);
    }
}
