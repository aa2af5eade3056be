//! `tlog-server`: the Rekor v1 + RFC 6962 CT log as a standalone service.
//! Flags (each also an environment variable) become a [`TlogConfig`]; the
//! rest is the library.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use shared::keys::{pem_blocks, EcdsaP256Signer};
use shared::note::CheckpointKey;
use tlog_server::{RekorV2Config, SequencerConfig, Tlog, TlogConfig, WitnessConfig, WitnessPolicy};

/// Rekor-compatible transparency log and RFC 6962 CT log.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "TLOG_LISTEN", default_value = "0.0.0.0:3000")]
    listen: SocketAddr,
    /// Database URL: `postgres://user[:password]@host:port/db` (production;
    /// several replicas may share it, one sequencing each tree at a time)
    /// or `sqlite:///var/lib/sigil/tlog.db?mode=rwc` (one process only).
    /// Migrations run on start.
    /// The environment value is never shown in --help: it may hold a password.
    #[arg(
        long,
        env = "TLOG_DATABASE_URL",
        hide_env_values = true,
        default_value = "sqlite://tlog.db?mode=rwc"
    )]
    database_url: String,
    /// PKCS#8 PEM ECDSA P-256 key of the Rekor log (SETs, checkpoints).
    #[arg(long, env = "TLOG_REKOR_KEY")]
    rekor_key: PathBuf,
    /// PKCS#8 PEM ECDSA P-256 key of the CT log (SCTs, STHs).
    #[arg(long, env = "TLOG_CT_KEY")]
    ct_key: PathBuf,
    /// PEM file of root certificate(s) the CT log accepts chains to; repeatable.
    #[arg(
        long = "ct-root",
        env = "TLOG_CT_ROOTS",
        value_delimiter = ',',
        required = true
    )]
    ct_roots: Vec<PathBuf>,
    /// Host name: checkpoint origin `"<hostname> - <treeID>"` and note key
    /// name; must match the host of the tlog URL clients are given.
    #[arg(long, env = "TLOG_HOSTNAME", default_value = "localhost")]
    hostname: String,
    /// Most entries per committed batch.
    #[arg(long, env = "TLOG_BATCH_SIZE", default_value_t = SequencerConfig::default().batch_size)]
    batch_size: usize,
    /// How long a batch may linger for more entries once the writer is
    /// free, in milliseconds; 0 commits at once what is waiting (group commit).
    #[arg(long, env = "TLOG_FLUSH_INTERVAL_MS", default_value_t = 0)]
    flush_interval_ms: u64,
    /// Submissions that may wait before the API answers 503.
    #[arg(long, env = "TLOG_POOL_SIZE", default_value_t = SequencerConfig::default().pool_size)]
    pool_size: usize,
    /// The `Retry-After` (seconds) of a 503 when the pool is full.
    #[arg(long, env = "TLOG_RETRY_AFTER_SECS", default_value_t = SequencerConfig::default().retry_after.as_secs())]
    retry_after_secs: u64,
    /// Memory, in MiB, for Rekor entries already served (body, entry ID and
    /// signed entry timestamp), so re-reads cost no store read or signature;
    /// 0 disables it.
    #[arg(long, env = "TLOG_ENTRY_CACHE_MIB", default_value_t = tlog_server::DEFAULT_ENTRY_CACHE_BYTES >> 20)]
    entry_cache_mib: usize,
    /// Memory, in MiB, for tree tiles with their interior nodes, so proofs
    /// need no tile read: about 64 bytes per entry hold every tile of a
    /// log; beyond that, each proof of a leaf whose tile is not held reads
    /// and hashes one tile.
    #[arg(long, env = "TLOG_TILE_CACHE_MIB", default_value_t = tlog_server::DEFAULT_TILE_CACHE_BYTES >> 20)]
    tile_cache_mib: usize,
    /// Memory (MiB) for full tiles and entry bundles of the Rekor v2 log as
    /// `GET /tile/…` serves them; immutable, so a hit costs no store read.
    /// 0 keeps none.
    #[arg(long, env = "TLOG_SERVED_TILE_CACHE_MIB", default_value_t = tlog_server::DEFAULT_SERVED_TILE_CACHE_BYTES >> 20)]
    served_tile_cache_mib: usize,
    /// The Rekor v2 log's checkpoint key: a PKCS#8 PEM file of an Ed25519
    /// key (the default of `sigil keygen`) or a P-256 key. With
    /// it the server also runs the v2 log (`POST /api/v2/log/entries`,
    /// `/checkpoint`, `/tile/…`) on the same listener and store.
    #[arg(long, env = "TLOG_REKOR_V2_KEY", requires = "rekor_v2_origin")]
    rekor_v2_key: Option<PathBuf>,
    /// The Rekor v2 log's origin, which names its checkpoints and key: the
    /// log's public URL without the scheme, e.g. `rekor.example.com`.
    #[arg(long, env = "TLOG_REKOR_V2_ORIGIN", requires = "rekor_v2_key")]
    rekor_v2_origin: Option<String>,
    /// A witness to cosign the Rekor v2 log's checkpoints (C2SP
    /// tlog-witness): `URL,VKEY`, the URL its submission prefix and the vkey
    /// of type 0x04. Repeatable; `;`-separated in the environment variable.
    #[arg(
        long = "witness",
        env = "TLOG_WITNESSES",
        value_delimiter = ';',
        requires = "rekor_v2_key"
    )]
    witnesses: Vec<WitnessConfig>,
    /// Publish (at /checkpoint and in tiles) only v2 checkpoints that this
    /// many witnesses cosigned; 0 publishes every checkpoint, cosigned when
    /// the witnesses answer in time.
    #[arg(long, env = "TLOG_WITNESS_QUORUM", default_value_t = 0)]
    witness_quorum: usize,
    #[command(flatten)]
    connections: serving::ConnectionLimits,
}

/// mimalloc instead of glibc malloc: responses are built from many short-lived
/// allocations, whose slow paths cost ≈ 10 % of a busy server's cycles.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    serving::startup::init_tracing();
    let args = Args::parse();
    let mut stop = serving::startup::shutdown_signal();

    let config = TlogConfig {
        database_url: args.database_url,
        rekor_signer: read_key(&args.rekor_key)?,
        ct_signer: read_key(&args.ct_key)?,
        ct_roots: read_roots(&args.ct_roots)?,
        hostname: args.hostname,
        sequencer: SequencerConfig {
            batch_size: args.batch_size,
            flush_interval: Duration::from_millis(args.flush_interval_ms),
            pool_size: args.pool_size,
            retry_after: Duration::from_secs(args.retry_after_secs),
        },
        entry_cache_bytes: args.entry_cache_mib.saturating_mul(1 << 20),
        tile_cache_bytes: args.tile_cache_mib.saturating_mul(1 << 20),
        rekor_v2: match (&args.rekor_v2_key, &args.rekor_v2_origin) {
            (Some(path), Some(origin)) => Some(RekorV2Config {
                key: read_note_key(path, origin)?,
                witnesses: WitnessPolicy {
                    witnesses: args.witnesses.clone(),
                    quorum: args.witness_quorum,
                },
                served_tile_cache_bytes: args.served_tile_cache_mib.saturating_mul(1 << 20),
            }),
            _ => None,
        },
    };
    // Opening waits for the database: a stop signal meanwhile ends it.
    let Some(tlog) = stop.unless_stopped(Tlog::open(config)).await.transpose()? else {
        return Ok(());
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(addr = %args.listen, "listening");
    serving::serve(listener, tlog.router(), &args.connections, stop).await?;
    tlog.shutdown().await;
    Ok(())
}

/// Reads the v2 checkpoint key for `origin`. Errors name the file, never its content.
fn read_note_key(path: &Path, origin: &str) -> anyhow::Result<CheckpointKey> {
    let pem =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    CheckpointKey::from_pem(origin, &pem).with_context(|| {
        format!(
            "{} is not an Ed25519 or P-256 private key for origin {origin:?}",
            path.display()
        )
    })
}

/// Reads a key file. Errors name the file, never its content.
fn read_key(path: &Path) -> anyhow::Result<EcdsaP256Signer> {
    let pem =
        std::fs::read_to_string(path).with_context(|| format!("reading key {}", path.display()))?;
    EcdsaP256Signer::from_pem(&pem).with_context(|| format!("parsing key {}", path.display()))
}

/// Every CERTIFICATE block of every root file, as DER.
fn read_roots(paths: &[PathBuf]) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut roots = Vec::new();
    for path in paths {
        let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let certs: Vec<Vec<u8>> = pem_blocks(&pem)
            .with_context(|| format!("parsing {}", path.display()))?
            .into_iter()
            .filter(|(label, _)| label == "CERTIFICATE")
            .map(|(_, der)| der)
            .collect();
        anyhow::ensure!(!certs.is_empty(), "{} holds no CERTIFICATE", path.display());
        roots.extend(certs);
    }
    Ok(roots)
}
