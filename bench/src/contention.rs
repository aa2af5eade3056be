//! `sigil bench contention`: what expensive entries do to everyone else's
//! writes (docs/design.md, "Expensive work queues behind itself"). Two phases against the
//! same running log, one after the other:
//!
//! 1. *idle*: `--concurrency` clients post cheap, validly signed
//!    hashedrekord entries (docs/rekor-wire.md §2), as `sigil bench tlog` does;
//! 2. *contended*: the same legitimate load, while `--hostile` clients post,
//!    back to back, a DSSE entry with 16 P-384 verifiers and 16 signatures
//!    (the most signature checks the log lets one entry cost).
//!
//! The figure is the ratio of the legitimate p50 under contention to the
//! idle p50 of the same run (the target is ≤ 4). The hostile entry is one
//! body, re-posted: after its first 201 the log answers 409, but only after
//! verifying it again, so every post costs the full verification.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use clap::Args;
use p384::ecdsa::signature::hazmat::PrehashSigner as _;
use p384::pkcs8::{EncodePublicKey as _, LineEnding};
use serde_json::{json, Map};
use sha2::{Digest as _, Sha256};

use super::driver::{drive, Expect};
use super::report::{round, Percentiles, Report, Tally};
use super::{entries, LoadArgs};

/// Verifiers (and signatures) in the hostile entry: the log's cap, so the
/// entry costs the most a single entry may.
const HOSTILE_KEYS: usize = shared::entry::MAX_VERIFIERS;

#[derive(Debug, Args)]
pub struct ContentionArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Clients posting the expensive DSSE entry during the second phase.
    #[arg(long, default_value_t = 8)]
    pub hostile: usize,
    /// Legitimate entries are pre-generated for this rate over both phases.
    #[arg(long, default_value_t = 3000)]
    pub max_rate: u64,
}

pub(crate) async fn run(args: ContentionArgs) -> anyhow::Result<()> {
    let load = &args.load;
    let client = load.client()?;
    let phase_secs = load.warmup + load.duration;
    let count = (args.max_rate * phase_secs * 2) as usize;
    eprintln!("generating {count} legitimate entries and the hostile DSSE entry...");
    let (legit, hostile) = tokio::task::spawn_blocking(move || {
        (entries::generate(count), Bytes::from(hostile_entry()))
    })
    .await?;
    let (idle_pool, busy_pool) = {
        let mut legit = legit;
        let second = legit.split_off(count / 2);
        (Arc::new(legit), Arc::new(second))
    };
    let url = format!("{}/api/v1/log/entries", load.base());
    let expect = Expect {
        status: 201,
        body_ok: |body| super::tlog_read::proof_verifies(body, None),
    };

    eprintln!("cost of the hostile entry, verified here on one core...");
    let cost_ms = {
        let hostile = hostile.clone();
        tokio::task::spawn_blocking(move || {
            let t = Instant::now();
            let verified = shared::entry::canonicalize_proposed(&hostile).is_ok();
            (verified, t.elapsed().as_secs_f64() * 1000.0)
        })
        .await?
    };
    anyhow::ensure!(cost_ms.0, "the hostile entry does not verify: a bench bug");
    eprintln!("  {:.1} ms", cost_ms.1);

    eprintln!(
        "phase 1, idle: {} legitimate clients for {} s (+{} s warm-up)...",
        load.concurrency, load.duration, load.warmup
    );
    let idle = drive(&client, &url, load, idle_pool, expect).await;

    eprintln!(
        "phase 2, contended: the same, with {} clients posting the hostile entry...",
        args.hostile
    );
    let stop = Arc::new(AtomicBool::new(false));
    let hostile_done = Arc::new(AtomicU64::new(0));
    let mut hostile_tasks = tokio::task::JoinSet::new();
    for _ in 0..args.hostile {
        let (client, url, body, stop, done) = (
            load.client()?,
            url.clone(),
            hostile.clone(),
            stop.clone(),
            hostile_done.clone(),
        );
        hostile_tasks.spawn(async move {
            let mut tally = Tally::default();
            while !stop.load(Ordering::Relaxed) {
                match client.post(&url).body(body.clone()).send().await {
                    Ok(r) => {
                        tally.error(r.status().as_str().to_owned());
                        let _ = r.bytes().await;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => tally.transport_error(&e),
                }
            }
            tally
        });
    }
    let t_busy = Instant::now();
    let busy = drive(&client, &url, load, busy_pool, expect).await;
    stop.store(true, Ordering::Relaxed);
    let hostile_secs = t_busy.elapsed().as_secs_f64();
    let mut hostile_statuses = Tally::default();
    while let Some(t) = hostile_tasks.join_next().await {
        if let Ok(t) = t {
            hostile_statuses.merge(t);
        }
    }

    let mut idle_tally = idle.tally;
    let idle_p = Percentiles::of(&mut idle_tally.latencies_us);
    let mut busy_tally = busy.tally;
    let busy_ok = busy_tally.latencies_us.len() as u64;
    let busy_p = Percentiles::of(&mut busy_tally.latencies_us);
    let p50_ratio = if idle_p.p50 > 0.0 {
        busy_p.p50 / idle_p.p50
    } else {
        0.0
    };
    println!(
        "idle:      {:>8.0} entries/s  p50 {:.1} ms  p99 {:.1} ms  errors {:?}",
        idle_tally.latencies_us.len() as f64 / idle.measured.as_secs_f64().max(1e-9),
        idle_p.p50,
        idle_p.p99,
        idle_tally.errors
    );
    println!(
        "hostile:   {} clients, {:.1} entries/s answered ({:?}); each costs {:.1} ms of one core",
        args.hostile,
        hostile_done.load(Ordering::Relaxed) as f64 / hostile_secs,
        hostile_statuses.errors,
        cost_ms.1
    );
    println!("contended p50 / idle p50 = {p50_ratio:.2} (target <= 4)");

    let mut extra = Map::new();
    extra.insert("hostile_clients".into(), json!(args.hostile));
    extra.insert(
        "hostile_per_sec".into(),
        json!(round(
            hostile_done.load(Ordering::Relaxed) as f64 / hostile_secs,
            1
        )),
    );
    extra.insert("hostile_statuses".into(), json!(hostile_statuses.errors));
    extra.insert("hostile_entry_cpu_ms".into(), json!(round(cost_ms.1, 1)));
    extra.insert(
        "idle_per_sec".into(),
        json!(round(
            idle_tally.latencies_us.len() as f64 / idle.measured.as_secs_f64().max(1e-9),
            1
        )),
    );
    extra.insert("idle_p50_ms".into(), json!(round(idle_p.p50, 2)));
    extra.insert("idle_p99_ms".into(), json!(round(idle_p.p99, 2)));
    extra.insert("idle_errors".into(), json!(idle_tally.errors));
    extra.insert("p50_ratio_to_idle".into(), json!(round(p50_ratio, 2)));
    Report {
        target: "contention",
        unit: "entries",
        url: load.url.clone(),
        concurrency: load.concurrency,
        duration: busy.measured,
        warmup_s: load.warmup,
        ok: busy_ok,
        latency: busy_p,
        errors: busy_tally.errors,
        cpu: None,
        store: None,
        extra,
    }
    .print();
    Ok(())
}

/// A `dsse` proposed entry with [`HOSTILE_KEYS`] P-384 verifiers, each of
/// whose signatures sits last among those it is tried against: verifier `i`
/// signed signature `n - 1 - i`, and the log tries a verifier against the
/// envelope's signatures in order.
fn hostile_entry() -> Vec<u8> {
    let keys: Vec<p384::ecdsa::SigningKey> = (0..HOSTILE_KEYS)
        .map(|_| p384::ecdsa::SigningKey::random(&mut rand_core::OsRng))
        .collect();
    let payload = b"sigil bench contention: an entry that costs the most one entry may";
    let payload_type = "text/plain";
    let pae = shared::entry::dsse::pae(payload_type, payload);
    // Rekor verifies ECDSA keys of every size over SHA-256 of the PAE.
    let digest = Sha256::digest(&pae);
    let signatures: Vec<_> = keys
        .iter()
        .rev()
        .map(|key| {
            let sig: p384::ecdsa::Signature = key
                .sign_prehash(&digest)
                // A 32-byte prehash is within what P-384 signing accepts.
                .expect("P-384 signs a SHA-256 prehash");
            json!({ "sig": B64.encode(sig.to_der().as_bytes()) })
        })
        .collect();
    let envelope = json!({
        "payloadType": payload_type,
        "payload": B64.encode(payload),
        "signatures": signatures,
    });
    let verifiers: Vec<_> = keys
        .iter()
        .map(|key| {
            let pem = key
                .verifying_key()
                .to_public_key_pem(LineEnding::LF)
                // Encoding a valid curve point cannot fail.
                .expect("a P-384 public key encodes");
            B64.encode(pem)
        })
        .collect();
    json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": { "proposedContent": {
            "envelope": envelope.to_string(),
            "verifiers": verifiers,
        }},
    })
    .to_string()
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hostile entry is valid (so the log verifies all of it) and uses
    /// the most verifiers the log allows.
    #[test]
    fn the_hostile_entry_verifies_and_is_at_the_cap() {
        let body = hostile_entry();
        let entry = shared::entry::canonicalize_proposed(&body).unwrap();
        assert_eq!(entry.kind, shared::entry::EntryKind::Dsse);
        assert_eq!(entry.index.public_keys.len(), HOSTILE_KEYS);
    }
}
