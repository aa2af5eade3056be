//! `sigil bench monitor`: how fast `sigil monitor` catches up on a log from
//! a cold start (no state, from index 0), with the monitor's own reader
//! (`auditor::rekor_v1` or `auditor::rekor_v2`) and a watch rule that reads
//! every entry's signers. The ceiling, measured in the same run, is the
//! same answers fetched the same number at a time and thrown away: no
//! decoding, hashing, proof checking or certificate parsing.
//!
//! Latency here is the time to scan each 256 entries of a v2 log (one
//! entry bundle), or each 10,000 of a v1 log (the monitor's read chunk).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use serde_json::{json, Map};
use shared::merkle::Frontier;

use super::report::{Ceiling, Percentiles, Report, Tally};
use auditor::monitor::{report, watching_nobody, ENTRIES_PER_READ};
use auditor::rekor_v1::RekorV1;
use auditor::rekor_v2::{RekorV2, BUNDLES_IN_FLIGHT};

/// Entries per latency sample.
const CHUNK: u64 = 256;

#[derive(Debug, Args)]
pub struct MonitorBenchArgs {
    /// Base URL of the log.
    #[arg(long)]
    url: String,
    /// The log's public key (PEM): the v1 log key, or for v2 the
    /// checkpoint key.
    #[arg(long)]
    public_key: PathBuf,
    /// 1 (the `/api/v1` API) or 2 (C2SP tiles).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=2))]
    rekor_api: u8,
}

pub(crate) async fn run(args: MonitorBenchArgs) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let base = args.url.trim_end_matches('/').to_owned();
    let rules = watching_nobody();
    let mut tally = Tally::default();
    let started = Instant::now();
    let (size, in_flight) = if args.rekor_api == 2 {
        let log = RekorV2::with_key_file(&base, &args.public_key)?;
        let head = log.head().await?;
        eprintln!("scanning {} entries of {base} (v2, tiles)...", head.size);
        let mut last = Instant::now();
        log.scan(Frontier::new(), &head, |entry| {
            report(&rules, entry.index, "", None, &entry.body);
            if (entry.index + 1) % CHUNK == 0 {
                tally.latencies_us.push(last.elapsed().as_micros() as u64);
                last = Instant::now();
            }
        })
        .await?;
        (head.size, BUNDLES_IN_FLIGHT)
    } else {
        let log = RekorV1::with_key_file(&base, &args.public_key)?;
        let head = log.head().await?;
        eprintln!("scanning {} entries of {base} (v1)...", head.size);
        // In the monitor's own chunks: each chunk ends by draining the
        // requests in flight, so smaller ones would understate it.
        let mut next = 0;
        while next < head.size {
            let t = Instant::now();
            let end = (next + ENTRIES_PER_READ).min(head.size);
            for entry in log.entries(next..end, &head).await? {
                report(&rules, entry.index, &entry.uuid, None, &entry.body);
            }
            tally.latencies_us.push(t.elapsed().as_micros() as u64);
            next = end;
        }
        (head.size, auditor::rekor_v1::RETRIEVES_IN_FLIGHT)
    };
    let measured = started.elapsed();

    eprintln!("measuring the fetch-only ceiling over the same answers...");
    let ceiling_started = Instant::now();
    let fetched = fetch_only(&http, &base, args.rekor_api, size, in_flight).await?;
    let ceiling_time = ceiling_started.elapsed();
    let ceiling = Ceiling {
        per_sec: fetched as f64 / ceiling_time.as_secs_f64().max(1e-9),
        what: format!(
            "the same answers fetched {in_flight} at a time and dropped (no decoding, hashing, \
             proof checks or signer parsing): {fetched} entries in {:.1} s",
            ceiling_time.as_secs_f64()
        ),
    };
    let mut extra = Map::new();
    extra.insert("tree_size".into(), json!(size));
    extra.insert("rekor_api".into(), json!(args.rekor_api));
    let per = if args.rekor_api == 2 {
        CHUNK
    } else {
        ENTRIES_PER_READ
    };
    extra.insert("latency_is_per_entries".into(), json!(per));
    Report {
        target: "monitor",
        unit: "entries",
        url: base,
        concurrency: in_flight,
        duration: measured,
        warmup_s: 0,
        ok: size,
        latency: Percentiles::of(&mut tally.latencies_us),
        errors: tally.errors,
        cpu: Some(ceiling),
        store: None,
        extra,
    }
    .print();
    Ok(())
}

/// Fetches every entry of a tree of `size` the way the monitor does (v2:
/// entry bundles; v1: `entries/retrieve` of 10), `in_flight` at a time,
/// checking only the status; answers how many entries that covered.
async fn fetch_only(
    http: &reqwest::Client,
    base: &str,
    api: u8,
    size: u64,
    in_flight: usize,
) -> anyhow::Result<u64> {
    let per_request: u64 = if api == 2 { 256 } else { 10 };
    let requests = size.div_ceil(per_request);
    let mut pending = std::collections::VecDeque::new();
    let mut next = 0;
    while next < requests || !pending.is_empty() {
        while next < requests && pending.len() < in_flight {
            let request = if api == 2 {
                let fill = shared::tlog_tiles::entry_bundle_fill(size, next)
                    .context("an entry bundle past the tree")?;
                let path = shared::tlog_tiles::TilePath::Entries {
                    index: next,
                    width: fill.path_width(),
                }
                .path();
                http.get(format!("{base}/{path}"))
            } else {
                let first = next * per_request;
                let indexes: Vec<u64> = (first..(first + per_request).min(size)).collect();
                http.post(format!("{base}/api/v1/log/entries/retrieve"))
                    .json(&json!({ "logIndexes": indexes }))
            };
            pending.push_back(tokio::spawn(async move {
                let response = request.send().await?.error_for_status()?;
                response.bytes().await.map(|b| b.len())
            }));
            next += 1;
        }
        if let Some(task) = pending.pop_front() {
            task.await??;
        }
    }
    Ok(size)
}
