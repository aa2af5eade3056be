//! The closed-loop load driver the write benchmarks share: `concurrency`
//! workers, each posting the next pre-generated body and waiting for its
//! answer, over a warm-up and then the measured window. Only requests that
//! start and finish inside the window count; a request counts as a success
//! only when its status is the expected one and its body passes the
//! benchmark's own check (a verifying inclusion proof, a certificate chain).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;

use super::ceiling::XorShift;
use super::report::Tally;
use super::LoadArgs;

/// What a load run recorded.
pub(crate) struct Run {
    pub tally: Tally,
    /// The measured window; shorter than `--duration` when the pool ran out.
    pub measured: Duration,
    /// Whether the pre-generated bodies ran out before the window ended.
    pub exhausted: bool,
}

/// What one request of a closed loop came to.
pub(crate) enum Outcome {
    /// The expected status and a body that passed the benchmark's check.
    Ok,
    /// Another status.
    Status(u16),
    /// The expected status, but a body that failed the benchmark's check.
    BadResponse,
    Transport(reqwest::Error),
    /// Nothing left to send: the worker stops and the run is exhausted.
    Exhausted,
}

/// What a successful answer is: its status and a check of its body.
#[derive(Clone, Copy)]
pub(crate) struct Expect {
    pub status: u16,
    pub body_ok: fn(&[u8]) -> bool,
}

/// The closed loop every HTTP load target runs: `concurrency` workers,
/// each making the requests its `worker()` closure gives it one after the
/// other, over `warmup` and then `duration` seconds. Only requests that
/// start and finish inside the measured window count.
pub(crate) async fn closed_loop<W, Fut>(
    concurrency: usize,
    warmup: u64,
    duration: u64,
    worker: impl Fn() -> W,
) -> Run
where
    W: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let exhausted = Arc::new(AtomicBool::new(false));
    let measure_from = Instant::now() + Duration::from_secs(warmup);
    let end = measure_from + Duration::from_secs(duration);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let mut request = worker();
        let exhausted = exhausted.clone();
        workers.spawn(async move {
            let mut tally = Tally::default();
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let outcome = request().await;
                let t1 = Instant::now();
                if let Outcome::Exhausted = outcome {
                    exhausted.store(true, Ordering::Relaxed);
                    break;
                }
                if t0 < measure_from || t1 > end {
                    continue;
                }
                match outcome {
                    Outcome::Ok => tally.latencies_us.push((t1 - t0).as_micros() as u64),
                    Outcome::Status(s) => tally.error(s.to_string()),
                    Outcome::BadResponse => tally.error("bad-response"),
                    Outcome::Transport(e) => tally.transport_error(&e),
                    Outcome::Exhausted => unreachable!("handled above"),
                }
            }
            tally
        });
    }
    let mut tally = Tally::default();
    while let Some(t) = workers.join_next().await {
        match t {
            Ok(t) => tally.merge(t),
            Err(_) => tally.error("worker-panic"),
        }
    }
    // If the pool ran out, the window ended early: rate over the real window.
    let measured = end
        .min(Instant::now())
        .saturating_duration_since(measure_from);
    Run {
        tally,
        measured,
        exhausted: exhausted.load(Ordering::Relaxed),
    }
}

/// Runs `load.concurrency` workers over `pool`, posting each body once to `url`.
pub(crate) async fn drive(
    client: &reqwest::Client,
    url: &str,
    load: &LoadArgs,
    pool: Arc<Vec<Bytes>>,
    expect: Expect,
) -> Run {
    let next = Arc::new(AtomicUsize::new(0));
    closed_loop(load.concurrency, load.warmup, load.duration, || {
        let (client, url, pool, next) =
            (client.clone(), url.to_owned(), pool.clone(), next.clone());
        move || {
            let body = pool.get(next.fetch_add(1, Ordering::Relaxed)).cloned();
            let (client, url) = (client.clone(), url.clone());
            async move {
                match body {
                    Some(body) => post(&client, &url, body, expect).await,
                    None => Outcome::Exhausted,
                }
            }
        }
    })
    .await
}

async fn post(client: &reqwest::Client, url: &str, body: Bytes, expect: Expect) -> Outcome {
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    judge(sent, expect.status, expect.body_ok).await
}

/// What a request that was `sent` came to: `Ok` when its status is
/// `status` and its whole body passes `body_ok`.
pub(crate) async fn judge(
    sent: reqwest::Result<reqwest::Response>,
    status: u16,
    body_ok: impl FnOnce(&[u8]) -> bool,
) -> Outcome {
    let response = match sent {
        Ok(response) => response,
        Err(e) => return Outcome::Transport(e),
    };
    let got = response.status().as_u16();
    match response.bytes().await {
        Err(e) => Outcome::Transport(e),
        Ok(_) if got != status => Outcome::Status(got),
        Ok(bytes) if body_ok(&bytes) => Outcome::Ok,
        Ok(_) => Outcome::BadResponse,
    }
}

/// GETs random `paths` (relative to `base`) from `concurrency` workers; a
/// 200 counts when `ok(path, body)` holds. The tally of the measured window
/// and its length.
pub(crate) async fn get_random(
    client: &reqwest::Client,
    base: &str,
    paths: Arc<Vec<String>>,
    concurrency: usize,
    warmup: u64,
    duration: u64,
    ok: fn(&str, &[u8]) -> bool,
) -> (Tally, Duration) {
    let run = closed_loop(concurrency, warmup, duration, || {
        let (client, base, paths) = (client.clone(), base.to_owned(), paths.clone());
        let mut rng = XorShift::seeded();
        move || {
            let path = paths[rng.below(paths.len() as u64) as usize].clone();
            let (client, url) = (client.clone(), format!("{base}/{path}"));
            async move { judge(client.get(url).send().await, 200, |body| ok(&path, body)).await }
        }
    })
    .await;
    (run.tally, run.measured)
}
