//! Prometheus metrics of the log server (docs/design.md "Observability"), written
//! by hand in the text exposition format 0.0.4
//! (<https://prometheus.io/docs/instrumenting/exposition_formats/>):
//!
//! * `sigil_http_requests_total{route,method,status}` and
//!   `sigil_http_request_duration_seconds{route,method,status}`: every answer,
//!   labelled by the matched route *template* (`/api/v1/log/entries/{id}`,
//!   never the raw URL, so label cardinality stays bounded);
//! * per tree (`tree="rekor"|"ct"`): `sigil_tlog_pool_depth`,
//!   `sigil_tlog_pool_capacity`, `sigil_tlog_sequencer_running`,
//!   `sigil_tlog_tree_size`, and the histograms `sigil_tlog_batch_size`
//!   (entries per committed batch) and `sigil_tlog_flush_duration_seconds`
//!   (sequencing plus the durable commit of one batch).
//!
//! Recording takes a short uncontended mutex per request or batch; nothing
//! is allocated per request beyond the first time a label set is seen.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Upper bounds (seconds) of the HTTP latency buckets: 1 ms to 10 s.
const LATENCY_BOUNDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Upper bounds of the batch-size buckets (entries); the default batch is 256.
const BATCH_BOUNDS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0,
];

/// Upper bounds (seconds) of the flush-latency buckets: 0.5 ms to 5 s.
const FLUSH_BOUNDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// A cumulative histogram's state.
#[derive(Clone, Debug)]
struct Histogram {
    bounds: &'static [f64],
    /// Non-cumulative counts per bucket; the last one is `+Inf`.
    counts: Vec<u64>,
    sum: f64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
        }
    }

    fn observe(&mut self, value: f64) {
        let bucket = self
            .bounds
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(self.bounds.len());
        self.counts[bucket] += 1;
        self.sum += value;
    }

    fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The `_bucket`, `_sum` and `_count` lines; `labels` is `k="v",…` or empty.
    /// (Here and below, `writeln!` into a `String` cannot fail; its `Result` is dropped.)
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            cumulative += count;
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}"
            );
        }
        let total = self.count();
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {total}");
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {total}");
    }
}

/// Locks a metrics mutex; a panic elsewhere cannot leave a counter
/// half-written in a way that matters, so a poisoned lock is used as is.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What one HTTP series is keyed by.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct RouteKey {
    route: String,
    method: String,
    status: u16,
}

/// Request counts and latencies of one server.
#[derive(Debug, Default)]
pub(crate) struct HttpMetrics {
    series: Mutex<BTreeMap<RouteKey, Histogram>>,
}

impl HttpMetrics {
    /// Records one answered request.
    pub(crate) fn observe(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let key = RouteKey {
            route: route.to_owned(),
            method: method.to_owned(),
            status,
        };
        lock(&self.series)
            .entry(key)
            .or_insert_with(|| Histogram::new(LATENCY_BOUNDS))
            .observe(elapsed.as_secs_f64());
    }

    /// Appends both HTTP metric families.
    pub(crate) fn render(&self, out: &mut String) {
        let series = lock(&self.series).clone();
        out.push_str(
            "# HELP sigil_http_requests_total HTTP requests answered, by route template, method and status.\n\
             # TYPE sigil_http_requests_total counter\n",
        );
        for (key, h) in &series {
            let _ = writeln!(
                out,
                "sigil_http_requests_total{{{}}} {}",
                route_labels(key),
                h.count()
            );
        }
        out.push_str(
            "# HELP sigil_http_request_duration_seconds Time to answer an HTTP request, by route template, method and status.\n\
             # TYPE sigil_http_request_duration_seconds histogram\n",
        );
        for (key, h) in &series {
            h.render(
                out,
                "sigil_http_request_duration_seconds",
                &route_labels(key),
            );
        }
    }
}

fn route_labels(key: &RouteKey) -> String {
    format!(
        "route=\"{}\",method=\"{}\",status=\"{}\"",
        escape(&key.route),
        escape(&key.method),
        key.status
    )
}

/// What a sequencer records per committed batch.
#[derive(Debug)]
pub(crate) struct SequencerStats {
    batch_size: Mutex<Histogram>,
    flush_seconds: Mutex<Histogram>,
    /// Commits that failed since the last one that succeeded.
    failed_in_a_row: std::sync::atomic::AtomicU64,
}

impl Default for SequencerStats {
    fn default() -> Self {
        Self {
            batch_size: Mutex::new(Histogram::new(BATCH_BOUNDS)),
            flush_seconds: Mutex::new(Histogram::new(FLUSH_BOUNDS)),
            failed_in_a_row: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl SequencerStats {
    /// One committed batch of `entries` new entries that took `elapsed` to
    /// sequence and commit.
    pub(crate) fn observe_batch(&self, entries: usize, elapsed: Duration) {
        lock(&self.batch_size).observe(entries as f64);
        lock(&self.flush_seconds).observe(elapsed.as_secs_f64());
        self.failed_in_a_row
            .store(0, std::sync::atomic::Ordering::Relaxed);
    }

    /// A commit that failed (the database refused or could not be reached).
    pub(crate) fn observe_failure(&self) {
        self.failed_in_a_row
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Commits that failed since the last one that succeeded.
    pub(crate) fn failed_in_a_row(&self) -> u64 {
        self.failed_in_a_row
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A tree's sequencer as a scrape sees it.
pub(crate) struct TreeSnapshot<'a> {
    pub(crate) name: &'a str,
    pub(crate) size: u64,
    pub(crate) pool_depth: usize,
    pub(crate) pool_capacity: usize,
    pub(crate) running: bool,
    pub(crate) stats: &'a SequencerStats,
}

/// The whole exposition: HTTP families, then the per-tree ones.
pub(crate) fn render(http: &HttpMetrics, trees: &[TreeSnapshot<'_>]) -> String {
    let mut out = String::new();
    http.render(&mut out);
    type Gauge = fn(&TreeSnapshot<'_>) -> u64;
    let gauges: [(&str, &str, Gauge); 4] = [
        (
            "sigil_tlog_tree_size",
            "Entries in the latest committed tree head.",
            |t| t.size,
        ),
        (
            "sigil_tlog_pool_depth",
            "Submissions waiting in the sequencer pool.",
            |t| t.pool_depth as u64,
        ),
        (
            "sigil_tlog_pool_capacity",
            "Submissions the pool holds before answering 503.",
            |t| t.pool_capacity as u64,
        ),
        (
            "sigil_tlog_sequencer_running",
            "1 while the tree's sequencer accepts submissions.",
            |t| u64::from(t.running),
        ),
    ];
    for (name, help, value) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for t in trees {
            let _ = writeln!(out, "{name}{{tree=\"{}\"}} {}", escape(t.name), value(t));
        }
    }
    type Pick = fn(&SequencerStats) -> &Mutex<Histogram>;
    let histograms: [(&str, &str, Pick); 2] = [
        (
            "sigil_tlog_batch_size",
            "New entries per committed batch.",
            |s| &s.batch_size,
        ),
        (
            "sigil_tlog_flush_duration_seconds",
            "Time to sequence and durably commit one batch.",
            |s| &s.flush_seconds,
        ),
    ];
    for (name, help, pick) in histograms {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for t in trees {
            let h = lock(pick(t.stats)).clone();
            h.render(&mut out, name, &format!("tree=\"{}\"", escape(t.name)));
        }
    }
    out
}

/// Label-value escaping of the text format: backslash, quote, newline.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut h = Histogram::new(&[1.0, 2.0]);
        for v in [0.5, 1.0, 1.5, 3.0] {
            h.observe(v);
        }
        let mut out = String::new();
        h.render(&mut out, "x", "a=\"b\"");
        assert_eq!(
            out,
            "x_bucket{a=\"b\",le=\"1\"} 2\n\
             x_bucket{a=\"b\",le=\"2\"} 3\n\
             x_bucket{a=\"b\",le=\"+Inf\"} 4\n\
             x_sum{a=\"b\"} 6\n\
             x_count{a=\"b\"} 4\n"
        );
    }

    #[test]
    fn exposition_has_every_family_with_its_labels() {
        let http = HttpMetrics::default();
        http.observe("/api/v1/log", "GET", 200, Duration::from_millis(3));
        http.observe("/api/v1/log", "GET", 200, Duration::from_millis(30));
        http.observe("/weird\"route", "GET", 404, Duration::from_millis(1));
        let stats = SequencerStats::default();
        stats.observe_batch(3, Duration::from_millis(2));
        let text = render(
            &http,
            &[TreeSnapshot {
                name: "rekor",
                size: 7,
                pool_depth: 1,
                pool_capacity: 10,
                running: true,
                stats: &stats,
            }],
        );
        for line in [
            "sigil_http_requests_total{route=\"/api/v1/log\",method=\"GET\",status=\"200\"} 2",
            "sigil_http_request_duration_seconds_bucket{route=\"/api/v1/log\",method=\"GET\",status=\"200\",le=\"0.005\"} 1",
            "sigil_http_request_duration_seconds_count{route=\"/api/v1/log\",method=\"GET\",status=\"200\"} 2",
            "sigil_http_requests_total{route=\"/weird\\\"route\",method=\"GET\",status=\"404\"} 1",
            "sigil_tlog_tree_size{tree=\"rekor\"} 7",
            "sigil_tlog_pool_depth{tree=\"rekor\"} 1",
            "sigil_tlog_pool_capacity{tree=\"rekor\"} 10",
            "sigil_tlog_sequencer_running{tree=\"rekor\"} 1",
            "sigil_tlog_batch_size_bucket{tree=\"rekor\",le=\"2\"} 0",
            "sigil_tlog_batch_size_bucket{tree=\"rekor\",le=\"4\"} 1",
            "sigil_tlog_batch_size_sum{tree=\"rekor\"} 3",
            "sigil_tlog_flush_duration_seconds_count{tree=\"rekor\"} 1",
            "# TYPE sigil_tlog_flush_duration_seconds histogram",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }
}
