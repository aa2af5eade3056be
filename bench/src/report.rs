//! What a benchmark run found, and how it is printed: human lines first, then
//! exactly one JSON object as the last line of output (the machine contract).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::LoadArgs;

/// Outcomes recorded by one load worker (merged at the end).
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Latency of every successful request in the measured window, in µs.
    pub latencies_us: Vec<u64>,
    /// Failed requests in the measured window by reason: the HTTP status
    /// ("503"), "timeout", "connect", "transport", or "bad-response".
    pub errors: BTreeMap<String, u64>,
}

impl Tally {
    pub(crate) fn error(&mut self, reason: impl Into<String>) {
        *self.errors.entry(reason.into()).or_default() += 1;
    }

    /// Classifies a client error.
    pub(crate) fn transport_error(&mut self, e: &reqwest::Error) {
        let reason = if e.is_timeout() {
            "timeout"
        } else if e.is_connect() {
            "connect"
        } else {
            "transport"
        };
        self.error(reason);
    }

    pub(crate) fn merge(&mut self, other: Self) {
        self.latencies_us.extend(other.latencies_us);
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
    }
}

/// Latency percentiles of the successful requests, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles; all zero when there is no sample.
    pub(crate) fn of(latencies_us: &mut [u64]) -> Self {
        latencies_us.sort_unstable();
        let rank = |p: f64| -> f64 {
            if latencies_us.is_empty() {
                return 0.0;
            }
            let i = ((p * latencies_us.len() as f64).ceil() as usize).clamp(1, latencies_us.len());
            latencies_us[i - 1] as f64 / 1000.0
        };
        Self {
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            max: rank(1.0),
        }
    }
}

/// A ceiling measured in the same run: operations per second and what was measured.
#[derive(Debug, Clone)]
pub(crate) struct Ceiling {
    pub per_sec: f64,
    pub what: String,
}

/// The whole result of a load run.
pub(crate) struct Report {
    /// "tlog", "tlog-read", ...
    pub target: &'static str,
    /// Unit of the rate: "entries" or "reads".
    pub unit: &'static str,
    pub url: String,
    pub concurrency: usize,
    pub duration: Duration,
    pub warmup_s: u64,
    pub ok: u64,
    pub latency: Percentiles,
    pub errors: BTreeMap<String, u64>,
    pub cpu: Option<Ceiling>,
    pub store: Option<Ceiling>,
    /// Target-specific extra figures for the JSON line.
    pub extra: Map<String, Value>,
}

impl Report {
    /// The report of an HTTP load run with `load`'s options: `tally` over
    /// the measured `duration`; no ceilings and no extra figures yet.
    pub(crate) fn of(
        target: &'static str,
        unit: &'static str,
        load: &LoadArgs,
        duration: Duration,
        mut tally: Tally,
    ) -> Self {
        Self {
            target,
            unit,
            url: load.url.clone(),
            concurrency: load.concurrency,
            duration,
            warmup_s: load.warmup,
            ok: tally.latencies_us.len() as u64,
            latency: Percentiles::of(&mut tally.latencies_us),
            errors: tally.errors,
            cpu: None,
            store: None,
            extra: Map::new(),
        }
    }

    pub(crate) fn rate(&self) -> f64 {
        self.ok as f64 / self.duration.as_secs_f64().max(1e-9)
    }

    /// Prints the human report and then the JSON line.
    pub(crate) fn print(&self) {
        let rate = self.rate();
        let l = self.latency;
        println!(
            "{} against {} ({} connections, {:.1} s measured after {} s warm-up)",
            self.target,
            self.url,
            self.concurrency,
            self.duration.as_secs_f64(),
            self.warmup_s
        );
        println!("  {:>10.0} {}/s ({} ok)", rate, self.unit, self.ok);
        println!(
            "  latency ms: p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
            l.p50, l.p90, l.p99, l.max
        );
        if self.errors.is_empty() {
            println!("  errors: none");
        } else {
            let list: Vec<String> = self
                .errors
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            println!("  errors: {}", list.join(", "));
        }
        for (name, ceiling) in [("cpu", &self.cpu), ("store", &self.store)] {
            if let Some(c) = ceiling {
                println!(
                    "  ceiling {name:<5} {:>10.0}/s  achieved/ceiling {:.2}  ({})",
                    c.per_sec,
                    ratio(rate, c.per_sec),
                    c.what
                );
            }
        }
        println!("{}", self.json());
    }

    /// The one-line JSON summary.
    pub(crate) fn json(&self) -> Value {
        let rate = self.rate();
        let mut v = json!({
            "target": self.target,
            "url": self.url,
            "concurrency": self.concurrency,
            "duration_s": round(self.duration.as_secs_f64(), 2),
            "warmup_s": self.warmup_s,
            "cores": super::cores(),
            "loadavg_1m": super::loadavg(),
            format!("{}_per_sec", self.unit): round(rate, 1),
            "ok": self.ok,
            "p50_ms": round(self.latency.p50, 2),
            "p90_ms": round(self.latency.p90, 2),
            "p99_ms": round(self.latency.p99, 2),
            "max_ms": round(self.latency.max, 2),
            "errors": self.errors,
        });
        if let Value::Object(m) = &mut v {
            for (name, ceiling) in [("cpu", &self.cpu), ("store", &self.store)] {
                let (per_sec, r) = match ceiling {
                    Some(c) => (
                        json!(round(c.per_sec, 1)),
                        json!(round(ratio(rate, c.per_sec), 3)),
                    ),
                    None => (Value::Null, Value::Null),
                };
                m.insert(format!("ceiling_{name}_per_sec"), per_sec);
                m.insert(format!("ratio_{name}"), r);
            }
            m.extend(self.extra.clone());
        }
        v
    }
}

fn ratio(achieved: f64, ceiling: f64) -> f64 {
    if ceiling > 0.0 {
        achieved / ceiling
    } else {
        0.0
    }
}

/// `x` rounded to `digits` decimal places.
pub(crate) fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<u64> = (1..=100).map(|ms| ms * 1000).collect();
        v.reverse();
        let p = Percentiles::of(&mut v);
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50.0, 90.0, 99.0, 100.0));
        assert_eq!(Percentiles::of(&mut []).p99, 0.0);
        let mut one = vec![1500];
        assert_eq!(Percentiles::of(&mut one).p50, 1.5);
    }

    #[test]
    fn json_line_has_the_documented_keys() {
        let mut errors = BTreeMap::new();
        errors.insert("503".to_owned(), 7);
        let r = Report {
            target: "tlog",
            unit: "entries",
            url: "http://x".into(),
            concurrency: 8,
            duration: Duration::from_secs(2),
            warmup_s: 1,
            ok: 1000,
            latency: Percentiles {
                p50: 1.0,
                p90: 2.0,
                p99: 3.0,
                max: 4.0,
            },
            errors,
            cpu: Some(Ceiling {
                per_sec: 2000.0,
                what: "x".into(),
            }),
            store: None,
            extra: Map::new(),
        };
        let v = r.json();
        assert_eq!(v["entries_per_sec"], 500.0);
        assert_eq!(v["ratio_cpu"], 0.25);
        assert_eq!(v["errors"]["503"], 7);
        assert!(v["ceiling_store_per_sec"].is_null());
        for k in [
            "p50_ms",
            "p90_ms",
            "p99_ms",
            "max_ms",
            "concurrency",
            "duration_s",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
        assert!(!v.to_string().contains('\n'));
    }
}
