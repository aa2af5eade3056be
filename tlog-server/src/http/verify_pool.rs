//! Where entry canonicalisation runs (docs/rekor-wire.md §2: parsing, key
//! decoding and signature checks): on tokio's blocking pool, at most one
//! job per CPU at a time. Signature verification is CPU-bound; run on the
//! async workers it would stall the reads, health checks and sequencer
//! sharing them, and unbounded on the blocking pool (up to 512 threads) a
//! flood of entries would still take every core. Requests beyond the permits
//! wait their turn without holding a thread.
//!
//! Two lanes, each with its own permits (issue P6 §2): Rekor entries, and
//! CT chains. The CA calls `add-pre-chain` for every certificate it issues,
//! so certificate issuance waits only behind other chains, never behind a
//! queue of expensive Rekor entries; under a flood of both, the OS shares
//! the CPUs between the lanes.

use std::num::NonZeroUsize;
use std::sync::{Arc, LazyLock};

use tokio::sync::Semaphore;

use super::error::ApiError;

/// One permit per CPU the process may use, shared by every router in the
/// process (the CPUs are shared too). `available_parallelism` fails only
/// where the count is unknowable; one permit is then the safe floor.
static ENTRY_PERMITS: LazyLock<Arc<Semaphore>> =
    LazyLock::new(|| Arc::new(Semaphore::new(capacity())));
static CHAIN_PERMITS: LazyLock<Arc<Semaphore>> =
    LazyLock::new(|| Arc::new(Semaphore::new(capacity())));

/// Which kind of work a job is; each kind queues only behind its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lane {
    /// Rekor entries (v1 and v2) and retrieve-by-entry.
    Entries,
    /// CT `add-chain` / `add-pre-chain`: the CA's path to every certificate.
    Chains,
}

impl Lane {
    fn permits(self) -> &'static Arc<Semaphore> {
        match self {
            Self::Entries => &ENTRY_PERMITS,
            Self::Chains => &CHAIN_PERMITS,
        }
    }
}

/// How many verification jobs may run at once: the CPUs available.
pub(crate) fn capacity() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// Runs `job` on the blocking pool once a CPU permit is free, and returns
/// its result. The permit travels with the job, so a request abandoned by
/// its client still counts until the job it started finishes.
pub(crate) async fn run<T, F>(lane: Lane, job: F) -> Result<T, ApiError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let permit = lane
        .permits()
        .clone()
        .acquire_owned()
        .await
        // The semaphore is never closed.
        .map_err(|e| ApiError::Internal(format!("verification permits: {e}")))?;
    tokio::task::spawn_blocking(move || {
        let out = job();
        drop(permit);
        out
    })
    .await
    .map_err(|e| ApiError::Internal(format!("verification task failed: {e}")))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// On a single-threaded runtime a job run inline would block the only
    /// worker, so the task it waits for could never run.
    #[tokio::test(flavor = "current_thread")]
    async fn jobs_leave_the_async_worker_free() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let other = tokio::spawn(async move {
            tx.send(()).unwrap();
        });
        let heard = run(Lane::Entries, move || {
            rx.recv_timeout(Duration::from_secs(5)).is_ok()
        })
        .await
        .unwrap();
        assert!(heard, "the async task ran while the job was blocking");
        other.await.unwrap();
    }

    /// A chain job runs while every entry permit is held by a stuck job.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn chains_never_queue_behind_entries() {
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = Arc::new(std::sync::Mutex::new(released));
        let stuck: Vec<_> = (0..capacity() * 2)
            .map(|_| {
                let released = released.clone();
                tokio::spawn(run(Lane::Entries, move || {
                    let _ = released
                        .lock()
                        .unwrap()
                        .recv_timeout(Duration::from_secs(10));
                }))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let chain = tokio::time::timeout(Duration::from_secs(5), run(Lane::Chains, || 7)).await;
        assert_eq!(chain.unwrap().unwrap(), 7, "the chain lane was free");
        for _ in 0..stuck.len() {
            let _ = release.send(());
        }
        for job in stuck {
            job.await.unwrap().unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_one_job_per_cpu_runs_at_once() {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..capacity() * 4)
            .map(|_| {
                let (running, peak) = (running.clone(), peak.clone());
                tokio::spawn(run(Lane::Entries, move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for job in jobs {
            job.await.unwrap().unwrap();
        }
        let peak = peak.load(Ordering::SeqCst);
        assert!(
            (1..=capacity()).contains(&peak),
            "peak {peak} > {}",
            capacity()
        );
    }
}
