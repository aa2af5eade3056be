//! The closed-loop load driver the write benchmarks share: `concurrency`
//! workers, each posting the next pre-generated body and waiting for its
//! answer, over a warm-up and then the measured window. Only requests that
//! start and finish inside the window count; a request counts as a success
//! only when its status is the expected one and its body passes the
//! benchmark's own check (a verifying inclusion proof, a certificate chain).

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

/// Why one request did not count as a success.
enum Failure {
    Status(u16),
    /// The expected status, but a body that failed the benchmark's check.
    BadResponse,
    Transport(reqwest::Error),
}

/// What a successful answer is: its status and a check of its body.
#[derive(Clone, Copy)]
pub(crate) struct Expect {
    pub status: u16,
    pub body_ok: fn(&[u8]) -> bool,
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
    let exhausted = Arc::new(AtomicBool::new(false));
    let measure_from = Instant::now() + Duration::from_secs(load.warmup);
    let end = measure_from + Duration::from_secs(load.duration);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..load.concurrency.max(1) {
        let (client, url, pool, next, exhausted) = (
            client.clone(),
            url.to_owned(),
            pool.clone(),
            next.clone(),
            exhausted.clone(),
        );
        workers.spawn(async move {
            let mut tally = Tally::default();
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = pool.get(i) else {
                    exhausted.store(true, Ordering::Relaxed);
                    break;
                };
                let outcome = post(&client, &url, body.clone(), expect).await;
                let t1 = Instant::now();
                if t0 < measure_from || t1 > end {
                    continue;
                }
                match outcome {
                    Ok(()) => tally.latencies_us.push((t1 - t0).as_micros() as u64),
                    Err(Failure::Status(s)) => tally.error(s.to_string()),
                    Err(Failure::BadResponse) => tally.error("bad-response"),
                    Err(Failure::Transport(e)) => tally.transport_error(&e),
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

async fn post(
    client: &reqwest::Client,
    url: &str,
    body: Bytes,
    expect: Expect,
) -> Result<(), Failure> {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(Failure::Transport)?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(Failure::Transport)?;
    if status != expect.status {
        return Err(Failure::Status(status));
    }
    if (expect.body_ok)(&bytes) {
        Ok(())
    } else {
        Err(Failure::BadResponse)
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
    let measure_from = Instant::now() + Duration::from_secs(warmup);
    let end = measure_from + Duration::from_secs(duration);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (client, base, paths) = (client.clone(), base.to_owned(), paths.clone());
        workers.spawn(async move {
            let mut tally = Tally::default();
            let mut rng = XorShift::seeded();
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let path = &paths[rng.below(paths.len() as u64) as usize];
                let outcome = match client.get(format!("{base}/{path}")).send().await {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        r.bytes().await.map(|b| (status, b))
                    }
                    Err(e) => Err(e),
                };
                let t1 = Instant::now();
                if t0 < measure_from || t1 > end {
                    continue;
                }
                match outcome {
                    Ok((200, bytes)) if ok(path, &bytes) => {
                        tally.latencies_us.push((t1 - t0).as_micros() as u64)
                    }
                    Ok((200, _)) => tally.error("bad-response"),
                    Ok((status, _)) => tally.error(status.to_string()),
                    Err(e) => tally.transport_error(&e),
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
    (
        tally,
        end.min(Instant::now())
            .saturating_duration_since(measure_from),
    )
}
