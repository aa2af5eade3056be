//! `sigil bench <target>`: load generators for a running Sigil service
//! (docs/design.md "Performance targets"). Each target drives the service over
//! HTTP, then measures, in the same process on the same machine, the
//! ceilings that bound it, and prints a human report whose last line is one
//! JSON object with every figure (so scripts can `tail -n1 | jq`).
//! `proof-scale` is the exception: it drives a store directly, no service.
//!
//! Targets are variants of [`BenchTarget`]; adding one (e.g. `ca`) is one
//! variant, one module and one match arm in [`run`].

use std::path::Path;

use clap::{Args, Subcommand};
use dev_oidc::DevIssuer;

mod ca;
mod ceiling;
mod contention;
mod driver;
mod entries;
mod explorer;
mod monitor;
mod proof_scale;
mod report;
mod tiles;
mod tlog;
mod tlog_read;
mod tsa;

/// `sigil bench` arguments.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub target: BenchTarget,
}

/// What to benchmark.
#[derive(Debug, Subcommand)]
pub enum BenchTarget {
    /// Log writes: POST validly signed, unique hashedrekord entries and time
    /// each 201 (with its inclusion proof).
    Tlog(tlog::TlogArgs),
    /// Log reads: GET entries by random existing logIndex (entry + inclusion proof).
    TlogRead(tlog_read::TlogReadArgs),
    /// Certificates: POST /api/v2/signingCert with a fresh token, key and
    /// proof of possession per request; each certificate gets its embedded
    /// SCT from the CT log over HTTP.
    Ca(ca::CaArgs),
    /// Read cost against log size, on the store alone (no service): grows a
    /// scratch tree in `--store-url` (point it at a scratch database; the
    /// tree stays there) and times entry + inclusion proof reads at each of
    /// `--sizes`, cold (freshly opened store) and warm.
    ProofScale(proof_scale::ProofScaleArgs),
    /// Time-stamps: POST the JSON request sigstore-js sends to the CA's
    /// RFC 3161 authority (`--url` is the CA's base URL); the ceiling is the
    /// raw ECDSA P-256 signature rate.
    Tsa(tsa::TsaArgs),
    /// C2SP tiles: GET random full hash tiles and entry bundles of a
    /// log's published tree, against a static-file server of the same bytes.
    Tiles(tiles::TilesArgs),
    /// Isolation: legitimate write latency alone, then while clients post
    /// the most expensive entry the log accepts (16 P-384 verifiers); reports
    /// the ratio of the two p50s.
    Contention(contention::ContentionArgs),
    /// Auditing: how fast `sigil monitor` scans a log from a cold start
    /// (v1 through `entries/retrieve`, v2 through entry bundles), against
    /// fetching the same answers and doing nothing with them.
    Monitor(monitor::MonitorBenchArgs),
    /// The log explorer: GET `/ui/entry/N` pages for random N, against the
    /// same entries read as Rekor JSON through the same load loop.
    Explorer(explorer::ExplorerArgs),
}

/// How the embedding command loads the development issuer kept in a
/// `sigil dev` data directory (`bench ca --data-dir`): the directory's
/// layout belongs to `sigil`, not to the benchmarks.
#[derive(Clone, Copy)]
pub struct LoadDevIssuer(pub fn(&Path) -> anyhow::Result<DevIssuer>);

/// Runs a benchmark on its own multi-threaded runtime.
pub fn run(args: BenchArgs, dev_issuer: LoadDevIssuer) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match args.target {
        BenchTarget::Tlog(a) => runtime.block_on(tlog::run(a)),
        BenchTarget::TlogRead(a) => runtime.block_on(tlog_read::run(a)),
        BenchTarget::Ca(a) => runtime.block_on(ca::run(a, dev_issuer)),
        BenchTarget::ProofScale(a) => runtime.block_on(proof_scale::run(a)),
        BenchTarget::Tsa(a) => runtime.block_on(tsa::run(a)),
        BenchTarget::Tiles(a) => runtime.block_on(tiles::run(a)),
        BenchTarget::Contention(a) => runtime.block_on(contention::run(a)),
        BenchTarget::Monitor(a) => runtime.block_on(monitor::run(a)),
        BenchTarget::Explorer(a) => runtime.block_on(explorer::run(a)),
    }
}

/// Options every HTTP load target shares.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// Base URL of the running service, e.g. `http://127.0.0.1:3000`.
    #[arg(long)]
    pub url: String,
    /// Length of the measured run, in seconds.
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// Concurrent connections (each one request at a time, kept alive).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Seconds of load before measuring starts (connections, caches, JIT of
    /// the database's plans); requests in it are not counted.
    #[arg(long, default_value_t = 5)]
    pub warmup: u64,
    /// Per-request timeout in seconds; a timeout counts as an error.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// A database URL of the same kind as the server's (a scratch database,
    /// or the server's own: the write ceiling uses a fresh scratch tree) to
    /// measure the store ceiling on. Without it the write ceiling is measured
    /// on a scratch SQLite file in a temporary directory.
    #[arg(long)]
    pub store_url: Option<String>,
    /// Seconds each ceiling measurement runs.
    #[arg(long, default_value_t = 4)]
    pub ceiling_secs: u64,
}

impl LoadArgs {
    /// A client whose connection pool keeps one connection per worker alive.
    pub(crate) fn client(&self) -> anyhow::Result<reqwest::Client> {
        Ok(reqwest::Client::builder()
            .pool_max_idle_per_host(self.concurrency)
            .pool_idle_timeout(None)
            .tcp_nodelay(true)
            .timeout(std::time::Duration::from_secs(self.timeout))
            .build()?)
    }

    pub(crate) fn base(&self) -> &str {
        self.url.trim_end_matches('/')
    }
}

/// Cores available to this process (the CPU ceilings run one thread each).
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The 1-minute load average (Linux `/proc/loadavg`): other work on the
/// machine competes with the server and the load generator for the cores.
pub(crate) fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
