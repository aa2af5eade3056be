//! `sigil bench explorer`: read load on the log explorer's entry page,
//! `GET /ui/entry/N` for random existing N. Each page decodes the entry's
//! certificate, proves the entry's inclusion in the current tree and
//! renders HTML; a page counts only if it says the proof verified. The
//! ceiling, measured in the same run by the same load loop, is the same
//! entries read as Rekor JSON (`GET /api/v1/log/entries?logIndex=N`): the
//! store reads and proof the page builds on, without decoding or HTML.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use serde_json::{json, Map};

use super::ceiling::XorShift;
use super::driver::get_random;
use super::report::{Ceiling, Percentiles, Report};
use super::LoadArgs;

#[derive(Debug, Args)]
pub struct ExplorerArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Distinct random entries the load cycles through: few stay in the
    /// server's caches, many (up to the whole log) mostly do not.
    #[arg(long, default_value_t = 10_000,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub distinct: usize,
}

pub(crate) async fn run(args: ExplorerArgs) -> anyhow::Result<()> {
    let load = &args.load;
    let client = load.client()?;
    let info: serde_json::Value = client
        .get(format!("{}/api/v1/log", load.base()))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let size = info["treeSize"].as_u64().unwrap_or(0);
    anyhow::ensure!(
        size > 1,
        "the log at {} is empty: fill it first (sigil bench tlog)",
        load.url
    );
    let mut rng = XorShift::seeded();
    // Entry 0 is the genesis entry; pages of real entries start at 1.
    let indexes: Vec<u64> = (0..args.distinct)
        .map(|_| 1 + rng.below(size - 1))
        .collect();
    let pages: Vec<String> = indexes.iter().map(|i| format!("ui/entry/{i}")).collect();
    let api: Vec<String> = indexes
        .iter()
        .map(|i| format!("api/v1/log/entries?logIndex={i}"))
        .collect();

    eprintln!(
        "reading explorer entry pages of a {size}-entry log for {} s (+{} s warm-up) with {} \
         connections...",
        load.duration, load.warmup, load.concurrency
    );
    let (tally, measured) = get_random(
        &client,
        load.base(),
        Arc::new(pages),
        load.concurrency,
        load.warmup,
        load.duration,
        page_ok,
    )
    .await;

    eprintln!(
        "measuring the JSON-read ceiling for {} s...",
        load.ceiling_secs
    );
    let (mut api_tally, api_time) = get_random(
        &client,
        load.base(),
        Arc::new(api),
        load.concurrency,
        1,
        load.ceiling_secs,
        |_, body| body.starts_with(b"{"),
    )
    .await;
    let api_latency = Percentiles::of(&mut api_tally.latencies_us);
    let ceiling = Ceiling {
        per_sec: api_tally.latencies_us.len() as f64 / api_time.as_secs_f64().max(1e-9),
        what: format!(
            "the same entries with their inclusion proofs as Rekor JSON, same load loop \
             (p99 {:.1} ms, {} reads)",
            api_latency.p99,
            api_tally.latencies_us.len()
        ),
    };

    let mut extra = Map::new();
    extra.insert("tree_size".into(), json!(size));
    extra.insert("json_read_p99_ms".into(), json!(api_latency.p99));
    extra.insert("distinct_entries".into(), json!(args.distinct));
    let duration = measured.max(Duration::from_millis(1));
    Report {
        cpu: Some(ceiling),
        extra,
        ..Report::of("explorer", "pages", load, duration, tally)
    }
    .print();
    Ok(())
}

/// A page counts when it shows the entry with its inclusion proof verified.
fn page_ok(_path: &str, body: &[u8]) -> bool {
    std::str::from_utf8(body).is_ok_and(|html| html.contains("Verified: the entry is leaf"))
}
