//! The ceilings a log benchmark is compared with (docs/design.md, "Performance
//! targets": "the ceiling of the same machine measured in the same run"), measured in
//! this process after the load run, with the server idle:
//!
//! * CPU, writes: per entry, what the server must compute whatever its
//!   storage — parse + verify the hashedrekord signature and canonicalise
//!   (`shared::entry::canonicalize_proposed`), the leaf hash and Merkle
//!   append, and the SET signature — on one thread per core.
//! * CPU, reads: per read, the SET signature, the body's base64, the proof's
//!   hex and the JSON of the answer.
//! * Store, writes: the sequencer's store work per batch (duplicate lookup +
//!   one `LogStore::commit` of `batch_size` entries with their index rows,
//!   nodes and head) driven directly, one batch at a time like the single
//!   writer, into a fresh scratch tree.
//! * Store, reads: entry by index + the inclusion proof's node reads, from
//!   `concurrency` tasks, on the server's own `rekor` tree.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rand_core::RngCore as _;
use sha2::{Digest as _, Sha256};
use shared::entry::CanonicalEntry;
use shared::keys::EcdsaP256Signer;
use shared::merkle::{leaf_hash, Frontier, Hash};
use shared::rekor::{set_payload, InclusionProof, LogEntryValue, Verification};
use tlog_server::bulk::{BulkEntry, BulkStore};

use super::entries::Api;
use super::report::Ceiling;

/// Entries per write ceiling iteration check of the clock.
const CLOCK_EVERY: u64 = 32;

/// Write CPU ceiling for `api`'s entries: v2 entries get no SET.
pub(crate) fn cpu_write_for(api: Api, entries: &[Bytes], secs: u64) -> anyhow::Result<Ceiling> {
    anyhow::ensure!(
        !entries.is_empty(),
        "no entries to measure the CPU ceiling on"
    );
    let signer = EcdsaP256Signer::generate();
    let log_id = signer.log_id();
    let threads = super::cores();
    let failed = AtomicBool::new(false);
    let (_, per_sec, how) = on_all_cores(threads, secs, |t, stop| {
        let mut frontier = Frontier::new();
        let mut done = 0u64;
        let mut i = t * entries.len() / threads;
        while !stop() {
            for _ in 0..CLOCK_EVERY {
                let Ok(c) = api.canonicalize(&entries[i % entries.len()]) else {
                    failed.store(true, Ordering::Relaxed);
                    return done;
                };
                frontier.append(c.leaf_hash());
                if api == Api::V1 {
                    let body = B64.encode(&c.body);
                    let set = signer.sign(&set_payload(&body, 0, &log_id, frontier.size()));
                    std::hint::black_box(set);
                }
                i += 1;
                done += 1;
            }
        }
        done
    });
    anyhow::ensure!(
        !failed.load(Ordering::Relaxed),
        "a generated entry did not verify"
    );
    Ok(Ceiling {
        per_sec,
        what: match api {
            Api::V1 => format!("verify+canonicalise+leaf/append+SET sign; entries: {how}"),
            Api::V2 => format!("verify+canonicalise+leaf/append (v2: no SET); entries: {how}"),
        },
    })
}

/// Raw ECDSA P-256 signatures over all cores (the TSA ceiling: one
/// signature per time-stamp token; hashing and DER encoding are extra).
pub(crate) fn cpu_sign(secs: u64) -> Ceiling {
    let signer = EcdsaP256Signer::generate();
    // About the size of a token's signed attributes.
    let message = [0x31u8; 200];
    let (_, per_sec, how) = on_all_cores(super::cores(), secs, |_, stop| {
        let mut done = 0u64;
        while !stop() {
            for _ in 0..CLOCK_EVERY {
                std::hint::black_box(signer.sign(&message));
                done += 1;
            }
        }
        done
    });
    Ceiling {
        per_sec,
        what: format!("ECDSA P-256 signatures; {how}"),
    }
}

/// Single-thread cost of each part of the write CPU ceiling, in µs per
/// entry: `(verify + canonicalise, SET sign, leaf hash + Merkle append)`.
/// It says which part bounds the ceiling. Timed by this thread's CPU time
/// where it is long enough to resolve (Linux ticks are 10 ms), else by wall time.
pub(crate) fn cpu_write_breakdown(api: Api, entries: &[Bytes]) -> anyhow::Result<(f64, f64, f64)> {
    let n = entries.len().min(1000);
    anyhow::ensure!(n > 0, "no entries");
    let signer = EcdsaP256Signer::generate();
    let log_id = signer.log_id();
    let (canonical, verify) = per_op(n, || canonical_sample_for(api, &entries[..n], n));
    let canonical = canonical?;
    let bodies: Vec<String> = canonical.iter().map(|c| B64.encode(&c.body)).collect();
    // v2 entries get no SET: nothing to sign per entry.
    let ((), sign) = per_op(n, || {
        for (i, b) in bodies.iter().enumerate().filter(|_| api == Api::V1) {
            std::hint::black_box(signer.sign(&set_payload(b, 0, &log_id, i as u64)));
        }
    });
    let mut frontier = Frontier::new();
    let ((), append) = per_op(n, || {
        for c in &canonical {
            std::hint::black_box(frontier.append(c.leaf_hash()));
        }
    });
    Ok((verify * 1e6, sign * 1e6, append * 1e6))
}

/// Runs `f` (which does `n` operations); its result and the seconds per operation.
fn per_op<T>(n: usize, f: impl FnOnce() -> T) -> (T, f64) {
    let (cpu0, t0) = (cpu_seconds("thread-self"), Instant::now());
    let out = f();
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds("thread-self")
        .zip(cpu0)
        .map(|(b, a)| b - a)
        .filter(|c| *c >= 0.05);
    (out, cpu.unwrap_or(wall) / n as f64)
}

/// Read CPU ceiling over all cores: SET sign, base64 body, proof hex and JSON.
pub(crate) fn cpu_read(bodies: &[Vec<u8>], tree_size: u64, secs: u64) -> anyhow::Result<Ceiling> {
    anyhow::ensure!(
        !bodies.is_empty(),
        "no bodies to measure the read ceiling on"
    );
    let signer = EcdsaP256Signer::generate();
    let log_id = signer.log_id();
    let threads = super::cores();
    let depth = 64 - tree_size.max(2).leading_zeros() as usize;
    let proof: Vec<Hash> = (0..depth).map(|d| leaf_hash(&[d as u8])).collect();
    let (_, per_sec, how) = on_all_cores(threads, secs, |t, stop| {
        let mut done = 0u64;
        let mut i = t;
        while !stop() {
            for _ in 0..CLOCK_EVERY {
                let body = B64.encode(&bodies[i % bodies.len()]);
                let set = signer.sign(&set_payload(&body, 0, &log_id, i as u64));
                let value = LogEntryValue {
                    body,
                    integrated_time: 0,
                    log_id: log_id.to_hex(),
                    log_index: i as u64,
                    verification: Verification {
                        inclusion_proof: InclusionProof {
                            checkpoint: String::new(),
                            hashes: proof.iter().map(Hash::to_hex).collect(),
                            log_index: i as u64,
                            root_hash: proof[0].to_hex(),
                            tree_size,
                        },
                        signed_entry_timestamp: B64.encode(set),
                    },
                };
                std::hint::black_box(serde_json::to_vec(&value).unwrap_or_default());
                i += 1;
                done += 1;
            }
        }
        done
    });
    Ok(Ceiling {
        per_sec,
        what: format!("SET sign+base64+proof hex+JSON; reads: {how}"),
    })
}

/// Runs `work(thread, stop)` on `threads` threads for `secs` seconds; the
/// sum of their counts, and the rate they achieved per second of the
/// `threads` cores. The rate is computed from the CPU time the threads got
/// (Linux), not the wall time: on a machine where other processes run, the
/// ceiling is what these cores can do, not what was left over for us.
fn on_all_cores<F>(threads: usize, secs: u64, work: F) -> (u64, f64, String)
where
    F: Fn(usize, &dyn Fn() -> bool) -> u64 + Sync,
{
    let start = Instant::now();
    let end = start + Duration::from_secs(secs.max(1));
    let stop = || Instant::now() >= end;
    let (total, cpu): (u64, Option<f64>) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let work = &work;
                s.spawn(move || {
                    let before = cpu_seconds("thread-self");
                    let n = work(t, &stop);
                    let used = cpu_seconds("thread-self")
                        .zip(before)
                        .map(|(after, before)| after - before);
                    (n, used)
                })
            })
            .collect();
        handles
            .into_iter()
            // A worker only panics on a bug; propagate it.
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .fold((0, Some(0.0)), |(n, cpu), (m, used)| {
                (n + m, cpu.zip(used).map(|(a, b)| a + b))
            })
    });
    let wall = start.elapsed().as_secs_f64();
    let by_wall = total as f64 / wall;
    match cpu.filter(|c| *c > 0.1) {
        Some(cpu) => (
            total,
            total as f64 / cpu * threads as f64,
            format!(
                "{total} in {wall:.1} s wall, {cpu:.1} CPU-s of {threads} threads (wall rate {by_wall:.0}/s)"
            ),
        ),
        None => (total, by_wall, format!("{total} in {wall:.1} s")),
    }
}

/// User + system CPU seconds of `/proc/<who>/stat` (`self`, `thread-self`),
/// in clock ticks of 1/100 s (Linux's USER_HZ); `None` off Linux.
pub(crate) fn cpu_seconds(who: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{who}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Canonical entries for store measurements (at most `max` of `entries`).
pub(crate) fn canonical_sample(
    entries: &[Bytes],
    max: usize,
) -> anyhow::Result<Vec<CanonicalEntry>> {
    canonical_sample_for(Api::V1, entries, max)
}

/// The canonical form of up to `max` of `api`'s `entries`.
pub(crate) fn canonical_sample_for(
    api: Api,
    entries: &[Bytes],
    max: usize,
) -> anyhow::Result<Vec<CanonicalEntry>> {
    entries
        .iter()
        .take(max)
        .map(|e| api.canonicalize(e).map_err(anyhow::Error::from))
        .collect()
}

/// The store's batched insert rate: `batch_size`-entry batches, one at a
/// time, into a fresh scratch tree of the store at `url`.
pub(crate) async fn store_write(
    url: &str,
    sample: &[CanonicalEntry],
    batch_size: usize,
    secs: u64,
) -> anyhow::Result<Ceiling> {
    anyhow::ensure!(!sample.is_empty() && batch_size > 0, "nothing to write");
    let store = BulkStore::open(url, tlog_server::DEFAULT_TILE_CACHE_BYTES).await?;
    let name = format!("bench-scratch-{:016x}", rand_core::OsRng.next_u64());
    let mut tree = store.scratch_tree(&name).await?;
    let mut written = 0u64;
    let mut batches = 0u64;
    let start = Instant::now();
    let end = start + Duration::from_secs(secs.max(1));
    while Instant::now() < end {
        let entries = (0..batch_size as u64)
            .map(|offset| {
                let index = tree.size() + offset;
                let c = &sample[(index % sample.len() as u64) as usize];
                let keys = c.index.clone();
                BulkEntry {
                    // Unique identity per entry, as every real submission has.
                    identity: Hash(
                        Sha256::new()
                            .chain_update(index.to_be_bytes())
                            .chain_update(&c.body)
                            .finalize()
                            .into(),
                    ),
                    body: c.body.clone(),
                    index_keys: keys
                        .hashes
                        .into_iter()
                        .chain(keys.public_keys)
                        .chain(keys.identities)
                        .collect(),
                }
            })
            .collect();
        let batch = tree.prepare(entries, now_ms());
        // The sequencer's duplicate check, one query per batch.
        batch.count_duplicates().await?;
        batch.commit().await?;
        written += batch_size as u64;
        batches += 1;
    }
    let elapsed = start.elapsed();
    store.close().await?;
    Ok(Ceiling {
        per_sec: written as f64 / elapsed.as_secs_f64(),
        what: format!(
            "{batches} batches of {batch_size} (dup check + commit) into scratch tree {name} at {}, {:.1} s",
            redact(url),
            elapsed.as_secs_f64()
        ),
    })
}

/// Entry + inclusion proof assembly straight from the store at `url`, on
/// the `rekor` tree, from `concurrency` tasks.
pub(crate) async fn store_read(
    url: &str,
    concurrency: usize,
    secs: u64,
) -> anyhow::Result<Ceiling> {
    let store = BulkStore::open(url, tlog_server::DEFAULT_TILE_CACHE_BYTES).await?;
    let reader = store.reader("rekor").await?;
    let size = reader.size();
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + Duration::from_secs(secs.max(1));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let reader = reader.clone();
        let count = count.clone();
        tasks.spawn(async move {
            let mut rng = XorShift::seeded();
            while Instant::now() < end {
                std::hint::black_box(reader.entry_with_proof(rng.below(size)).await?);
                count.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, anyhow::Error>(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    let elapsed = start.elapsed();
    let n = count.load(Ordering::Relaxed);
    store.close().await?;
    Ok(Ceiling {
        per_sec: n as f64 / elapsed.as_secs_f64(),
        what: format!(
            "entry_by_index + proof node reads from {concurrency} tasks at {}, {n} in {:.1} s",
            redact(url),
            elapsed.as_secs_f64()
        ),
    })
}

/// A database URL without its password, for printing. Only the authority
/// (between `://` and the first `/`, `?` or `#`) may hold one: an `@` in
/// the path or the query is left alone.
pub(crate) fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let authority_start = scheme_end + 3;
    let rest = &url[authority_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let tail = &rest[authority_end..];
            format!("{}{user}@{host}{tail}", &url[..authority_start])
        }
        None => url.to_owned(),
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A small, fast PRNG for picking random indices (not for secrets).
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn seeded() -> Self {
        Self(rand_core::OsRng.next_u64() | 1)
    }

    /// Uniform enough in `0..n` for load spreading (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_cpu_seconds_grow_with_work() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let before = cpu_seconds("thread-self").unwrap();
        let start = Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(120) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let used = cpu_seconds("thread-self").unwrap() - before;
        assert!(used >= 0.01, "{used}");
        assert!(used <= 0.2, "{used}");
    }

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(
            redact("postgres://postgres:hunter2@127.0.0.1:5432/db"),
            "postgres://postgres@127.0.0.1:5432/db"
        );
        assert_eq!(
            redact("sqlite:///tmp/x.db?mode=rwc"),
            "sqlite:///tmp/x.db?mode=rwc"
        );
        // An '@' outside the authority is not where a password ends.
        assert_eq!(
            redact("postgres://u:p%40ss@db.example:5432/x?application_name=a@b"),
            "postgres://u@db.example:5432/x?application_name=a@b"
        );
        assert_eq!(
            redact("postgres://db.example/x?user=a@b"),
            "postgres://db.example/x?user=a@b"
        );
    }

    #[test]
    fn random_indices_stay_in_range() {
        let mut r = XorShift::seeded();
        assert!((0..1000).all(|_| r.below(7) < 7));
    }

    #[tokio::test]
    async fn store_ceiling_writes_a_verifiable_tree() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/s.db?mode=rwc", dir.path().display());
        let entries = super::super::entries::generate(8);
        let sample = canonical_sample(&entries, 8).unwrap();
        let c = store_write(&url, &sample, 16, 1).await.unwrap();
        assert!(c.per_sec > 0.0, "{c:?}");
    }

    #[test]
    fn cpu_ceiling_counts_verified_entries() {
        let entries = super::super::entries::generate(8);
        let c = cpu_write_for(Api::V1, &entries, 1).unwrap();
        assert!(c.per_sec > 10.0, "{c:?}");
        let bodies: Vec<Vec<u8>> = canonical_sample(&entries, 8)
            .unwrap()
            .into_iter()
            .map(|c| c.body)
            .collect();
        assert!(cpu_read(&bodies, 1000, 1).unwrap().per_sec > 10.0);
    }
}
