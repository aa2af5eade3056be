//! `sigil bench tlog-read`: read load on a running Rekor-compatible log,
//! `GET /api/v1/log/entries?logIndex=N` for random existing N (docs/rekor-wire.md
//! §1): each answer is the entry with an inclusion proof, which is verified.

use std::collections::BTreeMap;
use std::time::Instant;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use clap::Args;
use serde_json::{json, Map};
use shared::merkle::{leaf_hash, verify_inclusion, Hash};
use shared::rekor::{LogEntryValue, LogInfo};

use super::ceiling::{self, XorShift};
use super::driver::{closed_loop, judge, Outcome};
use super::report::Report;
use super::{entries, LoadArgs};

#[derive(Debug, Args)]
pub struct TlogReadArgs {
    #[command(flatten)]
    pub load: LoadArgs,
}

pub(crate) async fn run(args: TlogReadArgs) -> anyhow::Result<()> {
    let load = &args.load;
    let client = load.client()?;
    let size = tree_size(&client, load.base()).await?;
    anyhow::ensure!(
        size > 0,
        "the log at {} is empty: fill it first (sigil bench tlog)",
        load.url
    );
    eprintln!(
        "reading random entries of {size} for {} s (+{} s warm-up) with {} connections...",
        load.duration, load.warmup, load.concurrency
    );
    let cpu0 = ceiling::cpu_seconds("self");
    let start = Instant::now();
    let run = closed_loop(load.concurrency, load.warmup, load.duration, || {
        let (client, base) = (client.clone(), load.base().to_owned());
        let mut rng = XorShift::seeded();
        move || {
            let index = rng.below(size);
            let (client, base) = (client.clone(), base.clone());
            async move { get(&client, &base, index).await }
        }
    })
    .await;
    drop(client);
    // Cores the load generator itself used: on one machine it competes with the server.
    let client_cores = ceiling::cpu_seconds("self")
        .zip(cpu0)
        .map(|(b, a)| ((b - a) / start.elapsed().as_secs_f64() * 100.0).round() / 100.0);

    eprintln!("measuring the CPU ceiling for {} s...", load.ceiling_secs);
    let secs = load.ceiling_secs;
    let cpu = tokio::task::spawn_blocking(move || {
        let sample = ceiling::canonical_sample(&entries::generate(64), 64)?;
        let bodies: Vec<Vec<u8>> = sample.into_iter().map(|c| c.body).collect();
        ceiling::cpu_read(&bodies, size, secs)
    })
    .await??;
    let store = match &load.store_url {
        Some(url) => {
            eprintln!(
                "measuring the store ceiling for {} s on {}...",
                load.ceiling_secs,
                ceiling::redact(url)
            );
            Some(ceiling::store_read(url, load.concurrency, load.ceiling_secs).await?)
        }
        None => None,
    };

    let mut extra = Map::new();
    extra.insert("tree_size".into(), json!(size));
    extra.insert("client_cpu_cores".into(), json!(client_cores));
    extra.insert(
        "store_url".into(),
        json!(load.store_url.as_deref().map(ceiling::redact)),
    );
    let report = Report {
        cpu: Some(cpu),
        store,
        extra,
        ..Report::of("tlog-read", "reads", load, run.measured, run.tally)
    };
    report.print();
    Ok(())
}

/// One read: it counts as `Ok` when the answer is a 200 holding the entry
/// at `index` with an inclusion proof that verifies.
async fn get(client: &reqwest::Client, base: &str, index: u64) -> Outcome {
    let sent = client
        .get(format!("{base}/api/v1/log/entries?logIndex={index}"))
        .send()
        .await;
    judge(sent, 200, |body| proof_verifies(body, Some(index))).await
}

/// The log's current size (`GET /api/v1/log`).
pub(crate) async fn tree_size(client: &reqwest::Client, base: &str) -> anyhow::Result<u64> {
    let info: LogInfo = client
        .get(format!("{base}/api/v1/log"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(info.tree_size)
}

/// Whether a LogEntry answer holds one entry (at `index`, if given) whose
/// inclusion proof verifies against the root hash it carries.
pub(crate) fn proof_verifies(answer: &[u8], index: Option<u64>) -> bool {
    let Ok(entry) = serde_json::from_slice::<BTreeMap<String, LogEntryValue>>(answer) else {
        return false;
    };
    let Some(value) = entry.values().next().filter(|_| entry.len() == 1) else {
        return false;
    };
    let proof = &value.verification.inclusion_proof;
    if index.is_some_and(|i| i != value.log_index) || proof.log_index != value.log_index {
        return false;
    }
    let Ok(body) = B64.decode(&value.body) else {
        return false;
    };
    let Ok(root) = Hash::from_hex(&proof.root_hash) else {
        return false;
    };
    let Ok(hashes) = proof
        .hashes
        .iter()
        .map(|h| Hash::from_hex(h))
        .collect::<Result<Vec<_>, _>>()
    else {
        return false;
    };
    verify_inclusion(
        &leaf_hash(&body),
        proof.log_index,
        proof.tree_size,
        &hashes,
        &root,
    )
    .is_ok()
}
