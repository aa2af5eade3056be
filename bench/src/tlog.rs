//! `sigil bench tlog`: write load on a running Rekor-compatible log
//! (`POST /api/v1/log/entries`, docs/rekor-wire.md §1). A request counts as done
//! when it gets its 201 *and* the answer's inclusion proof verifies against
//! the root it carries (docs/design.md, "Performance targets": "to a 201 with its proof").

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use clap::Args;
use serde_json::{json, Map};

use super::driver::{drive, Expect};
use super::report::Report;
use super::{ceiling, entries, LoadArgs};

#[derive(Debug, Args)]
pub struct TlogArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Entries are pre-generated for this rate over warm-up + duration; set
    /// it above what the log can take (running out is reported).
    #[arg(long, default_value_t = 6000)]
    pub max_rate: u64,
    /// Entries per batch for the store ceiling (use the server's --batch-size).
    #[arg(long, default_value_t = tlog_server::SequencerConfig::default().batch_size)]
    pub batch_size: usize,
    /// Rekor API to write: v1 (`/api/v1/log/entries`, a SET per entry) or
    /// v2 (`/api/v2/log/entries`, `hashedRekordRequestV002`, no SET).
    #[arg(long, value_enum, default_value_t = entries::Api::V1)]
    pub api: entries::Api,
}

pub(crate) async fn run(args: TlogArgs) -> anyhow::Result<()> {
    let load = &args.load;
    let client = load.client()?;
    let api = args.api;
    let size_before = tree_size(api, &client, load.base()).await?;

    let count = (args.max_rate * (load.warmup + load.duration)) as usize;
    eprintln!(
        "generating {count} signed hashedrekord entries on {} cores...",
        super::cores()
    );
    let t = Instant::now();
    let pool =
        Arc::new(tokio::task::spawn_blocking(move || entries::generate_for(api, count)).await?);
    eprintln!("  done in {:.1} s", t.elapsed().as_secs_f64());

    eprintln!(
        "writing for {} s (+{} s warm-up) with {} connections...",
        load.duration, load.warmup, load.concurrency
    );
    let (cpu0, t0) = (ceiling::cpu_seconds("self"), Instant::now());
    let url = format!("{}{}", load.base(), api.entries_path());
    let expect = Expect {
        status: 201,
        body_ok: match api {
            entries::Api::V1 => proof_verifies,
            entries::Api::V2 => v2_proof_verifies,
        },
    };
    let run = drive(&client, &url, load, pool.clone(), expect).await;
    // Cores the load generator itself used: on one machine it competes with the server.
    let client_cores = ceiling::cpu_seconds("self")
        .zip(cpu0)
        .map(|(b, a)| ((b - a) / t0.elapsed().as_secs_f64() * 100.0).round() / 100.0);
    let size_after = tree_size(api, &client, load.base()).await?;
    drop(client);

    eprintln!("measuring the CPU ceiling for {} s...", load.ceiling_secs);
    let secs = load.ceiling_secs;
    let cpu_pool = pool.clone();
    let (cpu, (us_verify, us_sign, us_append)) = tokio::task::spawn_blocking(move || {
        Ok::<_, anyhow::Error>((
            ceiling::cpu_write_for(api, &cpu_pool, secs)?,
            ceiling::cpu_write_breakdown(api, &cpu_pool)?,
        ))
    })
    .await??;
    eprintln!(
        "  one core, per entry: verify+canonicalise {us_verify:.0} µs, SET sign {us_sign:.0} µs, \
         leaf+append {us_append:.1} µs"
    );

    let (store_url, _scratch) = match &load.store_url {
        Some(url) => (url.clone(), None),
        None => {
            let dir = tempfile::tempdir().context("creating a scratch directory")?;
            let url = format!("sqlite://{}/scratch.db?mode=rwc", dir.path().display());
            (url, Some(dir))
        }
    };
    eprintln!(
        "measuring the store ceiling for {} s on {}...",
        load.ceiling_secs,
        ceiling::redact(&store_url)
    );
    let sample = ceiling::canonical_sample_for(api, &pool, 4096)?;
    let store = ceiling::store_write(&store_url, &sample, args.batch_size, load.ceiling_secs)
        .await
        .context("measuring the store ceiling")?;

    let mut extra = Map::new();
    extra.insert("max_rate".into(), json!(args.max_rate));
    extra.insert("api".into(), json!(format!("{api:?}").to_lowercase()));
    extra.insert("client_cpu_cores".into(), json!(client_cores));
    extra.insert(
        "cpu_us_verify_canonicalize".into(),
        json!(us_verify.round()),
    );
    extra.insert("cpu_us_set_sign".into(), json!(us_sign.round()));
    extra.insert(
        "cpu_us_leaf_append".into(),
        json!((us_append * 10.0).round() / 10.0),
    );
    extra.insert("entries_generated".into(), json!(pool.len()));
    extra.insert("entries_exhausted".into(), json!(run.exhausted));
    extra.insert("batch_size".into(), json!(args.batch_size));
    extra.insert("store_url".into(), json!(ceiling::redact(&store_url)));
    extra.insert("tree_size_before".into(), json!(size_before));
    extra.insert("tree_size_after".into(), json!(size_after));
    let report = Report {
        cpu: Some(cpu),
        store: Some(store),
        extra,
        ..Report::of("tlog", "entries", load, run.measured, run.tally)
    };
    if run.exhausted {
        eprintln!("WARNING: the pre-generated entries ran out; rerun with a higher --max-rate");
    }
    report.print();
    Ok(())
}

/// The tree size the log reports: v1 from `/api/v1/log`, v2 from `/checkpoint`.
async fn tree_size(api: entries::Api, client: &reqwest::Client, base: &str) -> anyhow::Result<u64> {
    match api {
        entries::Api::V1 => super::tlog_read::tree_size(client, base).await,
        entries::Api::V2 => super::tiles::checkpoint_size(client, base).await,
    }
}

/// A v2 write counts when its 201 (a protobuf-JSON `TransparencyLogEntry`)
/// carries an inclusion proof that verifies against the root it states.
fn v2_proof_verifies(body: &[u8]) -> bool {
    let Ok(answer) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    let number = |v: &serde_json::Value| v.as_str().and_then(|s| s.parse::<u64>().ok());
    let hash = |v: &serde_json::Value| {
        v.as_str()
            .and_then(|s| B64.decode(s).ok())
            .and_then(|b| shared::merkle::Hash::from_slice(&b).ok())
    };
    let proof = &answer["inclusionProof"];
    let (Some(index), Some(size), Some(root)) = (
        number(&proof["logIndex"]),
        number(&proof["treeSize"]),
        hash(&proof["rootHash"]),
    ) else {
        return false;
    };
    let Some(leaf) = answer["canonicalizedBody"]
        .as_str()
        .and_then(|b| B64.decode(b).ok())
    else {
        return false;
    };
    let Some(hashes) = proof["hashes"]
        .as_array()
        .and_then(|a| a.iter().map(hash).collect::<Option<Vec<_>>>())
    else {
        return false;
    };
    shared::merkle::verify_inclusion(
        &shared::merkle::leaf_hash(&leaf),
        index,
        size,
        &hashes,
        &root,
    )
    .is_ok()
}

/// A write counts when its 201 carries an inclusion proof that verifies.
fn proof_verifies(body: &[u8]) -> bool {
    super::tlog_read::proof_verifies(body, None)
}
