//! `sigil audit`: one-off checks of a Rekor log against its public key.
//!
//! - `bundle FILE`: a Sigstore bundle's log entry (`verificationMaterial.
//!   tlogEntries[0]`, docs/rekor-wire.md §1) is still in the log: its
//!   checkpoint verifies, the live tree is consistent with it (RFC 6962
//!   §2.1.2), and the entry at its index, proven included in the live tree,
//!   is byte for byte the body the bundle holds.
//! - `log`: every entry of the tree, read in order with its inclusion proof,
//!   recomputes to the root of the signed checkpoint (RFC 6962 §2.1).
//!
//! On a v2 log (`--rekor-api 2`, C2SP tiles) the same two checks read entry
//! bundles instead of proofs: `bundle` verifies the bundle's own inclusion
//! proof against its checkpoint, rebuilds that tree's right edge from the
//! live tiles (it must give the bundle's root) and extends it with every
//! later entry to the live checkpoint's root; `log` extends an empty edge
//! with every entry (see `rekor_v2`).
//!
//! Either prints what it proved, or fails (exit 1) saying what does not hold.

use std::path::PathBuf;

use anyhow::{anyhow, ensure, Context as _};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use clap::{Args, Subcommand};
use serde_json::Value;

use shared::merkle::{leaf_hash, verify_inclusion, Frontier, Hash};

use super::rekor_v1::{RekorV1, VerifiedHead};
use super::rekor_v2::RekorV2;

/// Entries read between two progress lines of `audit log`.
const PROGRESS_EVERY: u64 = 1000;

/// `sigil audit` arguments.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
    /// Base URL of the Rekor v1 log.
    #[arg(long, global = true)]
    url: Option<String>,
    /// The log's public key (PEM), from its trust root, not from the log.
    #[arg(long, global = true)]
    public_key: Option<PathBuf>,
    /// The log's protocol: 1 (the `/api/v1` REST API) or 2 (C2SP tiles).
    #[arg(long, global = true, default_value_t = 1,
          value_parser = clap::value_parser!(u8).range(1..=2))]
    rekor_api: u8,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Prove that a bundle's entry is still in the live log.
    Bundle {
        /// A Sigstore bundle (`*.sigstore.json`) with an entry in this log.
        file: PathBuf,
    },
    /// Recompute the whole tree from its entries and compare with the
    /// signed checkpoint.
    Log,
}

/// Runs `sigil audit`.
pub fn run(args: AuditArgs) -> anyhow::Result<()> {
    let url = args.url.context("--url is required")?;
    let key = args.public_key.context("--public-key is required")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if args.rekor_api == 2 {
        let log = RekorV2::with_key_file(&url, &key)?;
        return runtime.block_on(async {
            match args.command {
                AuditCommand::Bundle { file } => audit_bundle_v2(&log, &file).await,
                AuditCommand::Log => audit_log_v2(&log).await,
            }
        });
    }
    let log = RekorV1::with_key_file(&url, &key)?;
    runtime.block_on(async {
        match args.command {
            AuditCommand::Bundle { file } => audit_bundle(&log, &file).await,
            AuditCommand::Log => audit_log(&log).await,
        }
    })
}

/// The parts of a bundle's log entry an audit checks.
struct BundleEntry {
    index: u64,
    body: Vec<u8>,
    envelope: String,
    /// The inclusion proof, for v2 entries (base64 hashes).
    proof: Vec<Hash>,
}

fn read_bundle_entry(file: &std::path::Path) -> anyhow::Result<BundleEntry> {
    let bundle: Value = serde_json::from_slice(
        &std::fs::read(file).with_context(|| format!("reading {}", file.display()))?,
    )
    .with_context(|| format!("{} is not JSON", file.display()))?;
    let entry = &bundle["verificationMaterial"]["tlogEntries"][0];
    let index = number(&entry["logIndex"]).context("the bundle has no tlogEntries[0].logIndex")?;
    let body = entry["canonicalizedBody"]
        .as_str()
        .and_then(|b| B64.decode(b).ok())
        .context("the bundle has no canonicalizedBody")?;
    let envelope = entry["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .context("the bundle's entry has no inclusionProof.checkpoint")?
        .to_owned();
    let proof = entry["inclusionProof"]["hashes"]
        .as_array()
        .map(|hashes| {
            hashes
                .iter()
                .map(|h| {
                    let bytes = B64
                        .decode(h.as_str().unwrap_or_default())
                        .map_err(|e| anyhow!("an inclusion proof hash: {e}"))?;
                    Hash::from_slice(&bytes).map_err(|e| anyhow!("an inclusion proof hash: {e}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()
        })
        .transpose()?
        .unwrap_or_default();
    Ok(BundleEntry {
        index,
        body,
        envelope,
        proof,
    })
}

async fn audit_bundle_v2(log: &RekorV2, file: &std::path::Path) -> anyhow::Result<()> {
    let entry = read_bundle_entry(file)?;
    let then = log
        .verify_checkpoint(&entry.envelope)
        .context("the bundle's checkpoint")?;
    verify_inclusion(
        &leaf_hash(&entry.body),
        entry.index,
        then.size,
        &entry.proof,
        &then.root,
    )
    .map_err(|e| anyhow!("the bundle's entry is not in its own checkpoint: {e}"))?;
    let now = log.head().await?;
    ensure!(
        now.size >= then.size,
        "the live log has {} entries, fewer than the bundle's checkpoint of {}: it rolled back",
        now.size,
        then.size
    );
    ensure!(
        now.size != then.size || now.root == then.root,
        "the log forked: two signed checkpoints of size {} with different roots (the bundle's \
         {}, the live {})",
        now.size,
        then.root.to_hex(),
        now.root.to_hex()
    );
    let edge = log.frontier_at(then.size, &now).await?;
    ensure!(
        edge.root() == then.root,
        "the live log's tiles do not hold the tree of the bundle's checkpoint (size {}): \
         the log is not consistent with it",
        then.size
    );
    log.scan(edge, &now, |_| {})
        .await
        .context("the live log is not consistent with the bundle's checkpoint")?;
    println!(
        "OK: entry {} is in the bundle's checkpoint of size {}, and the live log {} of size {} \
         (root {}) extends it",
        entry.index,
        then.size,
        log.origin(),
        now.size,
        now.root.to_hex()
    );
    Ok(())
}

async fn audit_log_v2(log: &RekorV2) -> anyhow::Result<()> {
    let head = log.head().await?;
    eprintln!(
        "auditing log {} of {} entries against its signed checkpoint",
        log.origin(),
        head.size
    );
    let verified = log
        .scan(Frontier::new(), &head, |entry| {
            if (entry.index + 1) % (PROGRESS_EVERY * 100) == 0 {
                eprintln!("  {}/{} entries", entry.index + 1, head.size);
            }
        })
        .await?;
    println!(
        "OK: all {} entries of log {} recompute to the signed root {}",
        verified.size, verified.origin, verified.root_hash
    );
    Ok(())
}

async fn audit_bundle(log: &RekorV1, file: &std::path::Path) -> anyhow::Result<()> {
    let BundleEntry {
        index,
        body,
        envelope,
        ..
    } = read_bundle_entry(file)?;
    let (checkpoint, tree_id) = log
        .verify_checkpoint(&envelope)
        .context("the bundle's checkpoint")?;
    let then = VerifiedHead {
        tree_id,
        size: checkpoint.size,
        root_hash: checkpoint.root.to_hex(),
    };
    let now = log.head().await?;
    log.prove_consistent(&then, &now)
        .await
        .context("the live log is not consistent with the bundle's checkpoint")?;
    ensure!(
        index < now.size,
        "entry {index} is beyond the live tree of {} entries",
        now.size
    );
    let live = log
        .entries(index..index + 1, &now)
        .await?
        .pop()
        .ok_or_else(|| anyhow!("the log did not return entry {index}"))?;
    ensure!(
        live.body_bytes == body,
        "entry {index} in the live log is not the entry the bundle holds"
    );
    println!(
        "OK: entry {index} ({}) is in tree {} at size {} (root {}), and that tree extends the \
         bundle's checkpoint of size {}",
        live.uuid, now.tree_id, now.size, now.root_hash, then.size
    );
    Ok(())
}

async fn audit_log(log: &RekorV1) -> anyhow::Result<()> {
    let head = log.head().await?;
    eprintln!(
        "auditing tree {} of {} entries against its signed checkpoint",
        head.tree_id, head.size
    );
    let mut frontier = Frontier::new();
    let mut next = 0;
    while next < head.size {
        let end = (next + PROGRESS_EVERY).min(head.size);
        for entry in log.entries(next..end, &head).await? {
            frontier.append(leaf_hash(&entry.body_bytes));
        }
        next = end;
        eprintln!("  {next}/{} entries", head.size);
    }
    let root = frontier.root();
    ensure!(
        root == head.root()?,
        "the {} entries recompute to root {}, not the checkpoint's {}",
        head.size,
        root.to_hex(),
        head.root_hash
    );
    println!(
        "OK: all {} entries of tree {} recompute to the signed root {}",
        head.size, head.tree_id, head.root_hash
    );
    Ok(())
}

/// A protobuf-JSON int64: a string of digits (or a plain number).
fn number(v: &Value) -> Option<u64> {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_u64())
}
