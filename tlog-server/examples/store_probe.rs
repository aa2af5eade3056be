//! Throwaway probe (deleted after use): batched insert rate and proof read latency.
#![allow(clippy::unwrap_used)]
use std::time::{Duration, Instant};

use rand_core::RngCore;
use shared::merkle::{inclusion_plan, leaf_hash, Frontier};
use tlog_server::store::{open, Batch, NewEntry, SignedHead, StoredEntry};

#[tokio::main]
async fn main() {
    let url = std::env::args().nth(1).unwrap();
    let max: u64 = std::env::args().nth(2).unwrap().parse().unwrap();
    let store = open(&url).await.unwrap();
    let tree = store.tree("probe").await.unwrap();
    let mut f = Frontier::new();
    let head = |f: &Frontier| SignedHead {
        size: f.size(),
        root: f.root(),
        timestamp_ms: 0,
        signed: vec![7; 200],
    };
    store
        .commit(Batch { tree, entries: vec![], nodes: vec![], head: head(&f) })
        .await
        .unwrap();
    let mut checkpoints = vec![10_000u64, 100_000, 1_000_000, 10_000_000];
    checkpoints.retain(|c| *c <= max);
    let mut seg_start = Instant::now();
    let mut seg_entries = 0u64;
    let mut commit_time = Duration::ZERO;
    for cp in checkpoints {
        while f.size() < cp {
            let mut entries = Vec::with_capacity(256);
            let mut nodes = Vec::new();
            for _ in 0..256 {
                let i = f.size();
                let mut body = vec![0u8; 600];
                rand_core::OsRng.fill_bytes(&mut body);
                let leaf = leaf_hash(&body);
                nodes.extend(f.append(leaf));
                entries.push(NewEntry {
                    entry: StoredEntry { index: i, identity: leaf, body, timestamp_ms: i },
                    index_keys: vec![format!("sha256:{}", leaf.to_hex()), format!("email:{}", i % 1000)],
                    extra_data: vec![],
                });
            }
            let t = Instant::now();
            store.commit(Batch { tree, entries, nodes, head: head(&f) }).await.unwrap();
            commit_time += t.elapsed();
            seg_entries += 256;
        }
        let rate = seg_entries as f64 / seg_start.elapsed().as_secs_f64();
        let store_rate = seg_entries as f64 / commit_time.as_secs_f64();
        let size = f.size();
        let mut lat = Vec::new();
        for _ in 0..2000 {
            let idx = rand_core::OsRng.next_u64() % size;
            let plan = inclusion_plan(idx, size).unwrap();
            let t = Instant::now();
            let hashes = store.read_nodes(tree, plan.nodes()).await.unwrap();
            lat.push(t.elapsed());
            plan.assemble(&hashes).unwrap();
        }
        lat.sort();
        println!(
            "size {size}: insert {rate:.0} entries/s overall ({store_rate:.0}/s in commit, 256-entry batches); proof read p50 {:?} p99 {:?}",
            lat[lat.len() / 2],
            lat[lat.len() * 99 / 100]
        );
        seg_start = Instant::now();
        seg_entries = 0;
        commit_time = Duration::ZERO;
    }
    store.close().await.unwrap();
}
