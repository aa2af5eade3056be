//! Where entry canonicalisation runs (docs/rekor-wire.md §2: parsing, key
//! decoding and signature checks): on tokio's blocking pool, at most one
//! job per CPU at a time. Signature verification is CPU-bound; run on the
//! async workers it would stall the reads, health checks and sequencer
//! sharing them, and unbounded on the blocking pool (up to 512 threads) a
//! flood of entries would still take every core. Requests beyond the permits
//! wait their turn without holding a thread.
//!
//! Three lanes, each with its own permits (docs/design.md, "Expensive work
//! queues behind itself"):
//! - CT chains. The CA calls `add-pre-chain` for every certificate it
//!   issues, so certificate issuance waits only behind other chains, never
//!   behind a queue of Rekor entries.
//! - Cheap Rekor entries: at most [`CHEAP_CHECKS`] signature checks, which
//!   is every entry a Sigstore client makes (one signature, one key).
//! - Expensive Rekor entries (multi-signature envelopes, retrieves of many
//!   proposed entries), with half the CPUs. A flood of them queues behind
//!   itself and leaves the cheap lane and at least one CPU's worth of time
//!   to everyone else.
//!
//! [`run_costed`] reads an entry's cost ([`shared::entry::cost`]) on the
//! cheap lane, where it is a parse, and moves the job to the expensive lane
//! when the count calls for it. Under a flood of every kind the OS shares
//! the CPUs between the lanes.
//!
//! One exception, for throughput: an entry of at most
//! [`INLINE_MAX_BYTES`] that needs one signature check by a fast key
//! (Ed25519, P-256, RSA; [`shared::entry::cost::only_fast_keys`]) is
//! verified on the async worker that received it. That is every entry a
//! Sigstore client sends, about 60 µs of work, inside tokio's budget
//! between two awaits; handing it to the blocking pool and back costs two
//! thread wake-ups, which measured 18–22 % of log throughput at 64
//! clients on two cores (README, "What bounds these figures"). An entry
//! that is larger, needs more checks, or names a P-384 or P-521 key
//! (milliseconds per check) still takes a lane.

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
static EXPENSIVE_PERMITS: LazyLock<Arc<Semaphore>> =
    LazyLock::new(|| Arc::new(Semaphore::new((capacity() / 2).max(1))));

/// The most signature checks an entry may need and still run on the cheap
/// lane: a two-signature, two-key envelope, and anything smaller.
pub(crate) const CHEAP_CHECKS: usize = 4;

/// Which kind of work a job is; each kind queues only behind its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lane {
    /// Rekor entries (v1 and v2) and retrieve-by-entry of at most
    /// [`CHEAP_CHECKS`] signature checks.
    Entries,
    /// Rekor entries and retrieves that need more.
    ExpensiveEntries,
    /// CT `add-chain` / `add-pre-chain`: the CA's path to every certificate.
    Chains,
}

impl Lane {
    fn permits(self) -> &'static Arc<Semaphore> {
        match self {
            Self::Entries => &ENTRY_PERMITS,
            Self::Chains => &CHAIN_PERMITS,
            Self::ExpensiveEntries => &EXPENSIVE_PERMITS,
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

/// The largest entry body verified on the async worker (see the module
/// header); a Sigstore client's hashedrekord is 2 to 4 KiB.
pub(crate) const INLINE_MAX_BYTES: usize = 16 << 10;

/// Whether an entry body may be verified inline: small, one signature
/// check by `checks`, and only fast keys. Reading that costs a skim of at
/// most [`INLINE_MAX_BYTES`], a few µs.
pub(crate) fn verify_inline(body: &[u8], checks: fn(&[u8]) -> usize) -> bool {
    body.len() <= INLINE_MAX_BYTES && checks(body) <= 1 && shared::entry::cost::only_fast_keys(body)
}

/// Runs `job(input)` where its cost calls for: at once on this task when
/// `inline` (see [`verify_inline`]); otherwise `checks(&input)` (an upper
/// bound on its signature checks) is read first on the cheap lane, and
/// above [`CHEAP_CHECKS`] the job gives up that permit and queues on the
/// expensive lane instead.
pub(crate) async fn run_costed<I, T, F>(
    input: I,
    inline: bool,
    checks: fn(&I) -> usize,
    job: F,
) -> Result<T, ApiError>
where
    I: Send + 'static,
    F: FnOnce(I) -> T + Send + 'static,
    T: Send + 'static,
{
    if inline {
        return Ok(job(input));
    }
    let cheap = run(Lane::Entries, move || {
        if checks(&input) <= CHEAP_CHECKS {
            Ok(job(input))
        } else {
            Err((input, job))
        }
    })
    .await?;
    match cheap {
        Ok(out) => Ok(out),
        Err((input, job)) => run(Lane::ExpensiveEntries, move || job(input)).await,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// The lanes are process-wide: tests that fill them take turns.
    static LANES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

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

    /// Jobs that block until released (or 10 s), to hold a lane's permits.
    struct Gate {
        release: std::sync::mpsc::Sender<()>,
        released: Arc<std::sync::Mutex<std::sync::mpsc::Receiver<()>>>,
        held: Vec<tokio::task::JoinHandle<Result<(), ApiError>>>,
    }

    impl Gate {
        fn new() -> Self {
            let (release, released) = std::sync::mpsc::channel();
            Self {
                release,
                released: Arc::new(std::sync::Mutex::new(released)),
                held: Vec::new(),
            }
        }

        /// A job that blocks until [`Self::open`].
        fn job(&self) -> impl FnOnce() + Send + 'static {
            let released = self.released.clone();
            move || {
                let _ = released
                    .lock()
                    .unwrap()
                    .recv_timeout(Duration::from_secs(10));
            }
        }

        /// Lets every blocked job finish, and checks that each did.
        async fn open(self) {
            for _ in 0..self.held.len() {
                let _ = self.release.send(());
            }
            for job in self.held {
                job.await.unwrap().unwrap();
            }
        }
    }

    /// A chain job runs while every entry permit is held by a stuck job.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn chains_never_queue_behind_entries() {
        let _turn = LANES.lock().await;
        let mut gate = Gate::new();
        for _ in 0..capacity() * 2 {
            let job = gate.job();
            gate.held.push(tokio::spawn(run(Lane::Entries, job)));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let chain = tokio::time::timeout(Duration::from_secs(5), run(Lane::Chains, || 7)).await;
        assert_eq!(chain.unwrap().unwrap(), 7, "the chain lane was free");
        gate.open().await;
    }

    /// With the expensive lane held by stuck jobs, a cheap entry still runs
    /// at once, and an expensive one waits for the lane.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn expensive_entries_queue_apart_from_cheap_ones() {
        let _turn = LANES.lock().await;
        let mut gate = Gate::new();
        for _ in 0..capacity() {
            let job = gate.job();
            let costly = run_costed(CHEAP_CHECKS + 1, false, |checks| *checks, move |_| job());
            gate.held.push(tokio::spawn(costly));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let cheap = tokio::time::timeout(
            Duration::from_secs(5),
            run_costed(CHEAP_CHECKS, false, |checks| *checks, |checks| checks * 2),
        )
        .await;
        assert_eq!(
            cheap.unwrap().unwrap(),
            CHEAP_CHECKS * 2,
            "cheap lane was free"
        );
        let expensive = tokio::time::timeout(
            Duration::from_millis(200),
            run_costed(CHEAP_CHECKS + 1, false, |checks| *checks, |_| ()),
        )
        .await;
        assert!(
            expensive.is_err(),
            "an expensive entry ran past the held lane"
        );
        gate.open().await;
    }

    /// A client's hashedrekord is verified inline; a big body, a second
    /// check, or a key the cost reader cannot vouch for is not.
    #[test]
    fn only_small_single_check_fast_key_entries_run_inline() {
        use base64::Engine as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let pem = shared::keys::EcdsaP256Signer::generate().public_pem();
        let entry = |pem: &[u8], padding: usize| {
            serde_json::json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
                "signature": {"content": "MEUCIQ", "publicKey": {"content": b64(pem)}},
                "data": {"hash": {"algorithm": "sha256", "value": "ab".repeat(32)}},
                "padding": "x".repeat(padding)}})
            .to_string()
            .into_bytes()
        };
        let checks = shared::entry::cost::proposed_entry_checks;
        assert!(verify_inline(&entry(pem.as_bytes(), 0), checks));
        assert!(!verify_inline(
            &entry(pem.as_bytes(), INLINE_MAX_BYTES),
            checks
        ));
        assert!(!verify_inline(&entry(pem.as_bytes(), 0), |_| 2));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_one_job_per_cpu_runs_at_once() {
        let _turn = LANES.lock().await;
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
