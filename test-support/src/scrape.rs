//! A `/metrics` scrape read through a Prometheus text-format parser
//! (`prom_text_format_parser`, which checks the exposition grammar), so a
//! test asserts on what a Prometheus server would store: families and their
//! types, samples by name and exact label set.

use anyhow::Context as _;
use prom_text_format_parser::{Scrape as Parsed, Type, ValueType};

/// A parsed exposition.
pub struct Scrape(Parsed);

impl Scrape {
    /// Parses `text`; fails on anything the text format does not allow.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        Parsed::parse(text)
            .map(Self)
            .map_err(|e| anyhow::anyhow!("{e:?}"))
            .context("not the Prometheus text format")
    }

    /// The type a family declares (`counter`, `gauge`, `histogram`, …).
    pub fn kind(&self, family: &str) -> Option<&'static str> {
        let metric = self.0.metrics.iter().find(|m| m.name == family)?;
        Some(match metric.kind {
            Type::Counter => "counter",
            Type::Gauge => "gauge",
            Type::Untyped => "untyped",
            Type::Summary => "summary",
            Type::Histogram => "histogram",
        })
    }

    /// The value of sample `name` (a family, or a histogram's `_sum`,
    /// `_count` or `_bucket`) whose labels are exactly `labels`. Label values
    /// are compared as written in the exposition, escapes included.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let (family, wanted) = match name {
            _ if name.ends_with("_sum") => (&name[..name.len() - 4], ValueType::Sum),
            _ if name.ends_with("_count") => (&name[..name.len() - 6], ValueType::Count),
            _ if name.ends_with("_bucket") => (&name[..name.len() - 7], ValueType::Sample),
            _ => (name, ValueType::Sample),
        };
        let exact = |family: &str, wanted: ValueType| {
            let metric = self.0.metrics.iter().find(|m| m.name == family)?;
            metric
                .samples
                .iter()
                .find(|s| {
                    s.value.value_type == wanted
                        && s.labels.len() == labels.len()
                        && labels
                            .iter()
                            .all(|(k, v)| s.labels.iter().any(|l| l.key == *k && l.value == *v))
                })
                .map(|s| s.value.value.as_f64())
        };
        // A family may itself end in `_count` (a counter): try it whole first.
        exact(name, ValueType::Sample).or_else(|| exact(family, wanted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# HELP jobs_total Jobs done.
# TYPE jobs_total counter
jobs_total{queue=\"a\"} 3
jobs_total{queue=\"a\",kind=\"b\"} 4
# HELP wait_seconds Waiting.
# TYPE wait_seconds histogram
wait_seconds_bucket{le=\"1\"} 1
wait_seconds_bucket{le=\"+Inf\"} 2
wait_seconds_sum 2.5
wait_seconds_count 2
";

    #[test]
    fn samples_are_found_by_name_and_exact_labels() {
        let scrape = Scrape::parse(TEXT).unwrap();
        assert_eq!(scrape.value("jobs_total", &[("queue", "a")]), Some(3.0));
        assert_eq!(
            scrape.value("jobs_total", &[("queue", "a"), ("kind", "b")]),
            Some(4.0)
        );
        assert_eq!(scrape.value("jobs_total", &[]), None);
        assert_eq!(scrape.value("wait_seconds_count", &[]), Some(2.0));
        assert_eq!(scrape.value("wait_seconds_sum", &[]), Some(2.5));
        assert_eq!(
            scrape.value("wait_seconds_bucket", &[("le", "1")]),
            Some(1.0)
        );
        assert_eq!(scrape.kind("wait_seconds"), Some("histogram"));
    }

    #[test]
    fn text_outside_the_format_is_refused() {
        assert!(Scrape::parse("jobs_total{queue=\"a} 3\n").is_err());
        assert!(Scrape::parse("# TYPE x counter\nx one\n").is_err());
    }
}
