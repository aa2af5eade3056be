//! Sigil's Merkle log engine (RFC 6962 trees, docs/design.md "One Merkle engine,
//! many trees") with two personalities on one store: the Rekor v1 API
//! (docs/rekor-wire.md) and the RFC 6962 CT API that issues Fulcio's SCTs
//! (docs/fulcio-wire.md §6).
//!
//! [`Tlog::open`] opens the store, creates or loads both trees, and starts
//! one sequencer (single writer, batched, one transaction per batch) per
//! tree; [`Tlog::router`] serves them; [`Tlog::shutdown`] drains them.

pub mod bulk;
mod clock;
mod genesis;
mod heads;
mod http;
mod metrics;
mod sequencer;
mod store;
mod tree;
mod weighted_cache;
mod witness;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use anyhow::Context as _;
use shared::keys::EcdsaP256Signer;

pub use http::entry_cache::DEFAULT_ENTRY_CACHE_BYTES;
pub use http::served_tiles::DEFAULT_SERVED_TILE_CACHE_BYTES;
pub use sequencer::SequencerConfig;
pub use store::DEFAULT_TILE_CACHE_BYTES;
pub use witness::{WitnessConfig, WitnessPolicy};

use clock::{Clock, SystemClock};
use heads::{CtSthSigner, RekorCheckpointSigner, RekorV2CheckpointSigner};
use http::{AppState, CtLog, RekorLog, RekorV2Log};
use sequencer::SequencerTask;
use store::LogStore;
use tree::LogTree;

/// Store name of the Rekor tree.
const REKOR_TREE: &str = "rekor";
/// Store name of the CT tree.
const CT_TREE: &str = "ct";
/// Store name of the Rekor v2 tree.
const REKOR_V2_TREE: &str = "rekor-v2";

/// Everything a log server needs.
#[derive(Clone, Debug)]
pub struct TlogConfig {
    /// `sqlite:///abs/path/tlog.db?mode=rwc`, `sqlite::memory:`, ...
    pub database_url: String,
    /// Signs Rekor SETs and checkpoints; its SPKI hash is the Rekor `logID`.
    pub rekor_signer: EcdsaP256Signer,
    /// Signs SCTs and STHs; its SPKI hash is the CT log ID.
    pub ct_signer: EcdsaP256Signer,
    /// DER certificates the CT log accepts chains to.
    pub ct_roots: Vec<Vec<u8>>,
    /// Checkpoint origin host and note key name, e.g. "localhost". sigstore-js
    /// requires it to match the host of the tlog `baseUrl` (docs/clients.md §3).
    pub hostname: String,
    pub sequencer: SequencerConfig,
    /// Memory for served Rekor entries with their SETs (0 disables it); see
    /// [`DEFAULT_ENTRY_CACHE_BYTES`].
    pub entry_cache_bytes: usize,
    /// Memory for tree tiles with their interior nodes; see
    /// [`store::DEFAULT_TILE_CACHE_BYTES`].
    pub tile_cache_bytes: usize,
    /// The Rekor v2 log (docs/rekor-v2.md), if this server runs one.
    pub rekor_v2: Option<RekorV2Config>,
}

/// The Rekor v2 log: a tree of its own in the same store, behind the same
/// kind of sequencer, with its own checkpoint key.
#[derive(Clone)]
pub struct RekorV2Config {
    /// Signs checkpoints (C2SP signed note; Ed25519 or ECDSA P-256). Its
    /// name is the log's origin: the log's URL without the scheme, e.g.
    /// `rekor.example.com`.
    pub key: shared::note::CheckpointKey,
    /// Witnesses asked to cosign its checkpoints, and the publication policy.
    pub witnesses: WitnessPolicy,
    /// Memory for full tiles and entry bundles as `GET /tile/…` serves
    /// them ([`DEFAULT_SERVED_TILE_CACHE_BYTES`]; 0 keeps none).
    pub served_tile_cache_bytes: usize,
}

impl std::fmt::Debug for RekorV2Config {
    // The key's Debug shows only its public half.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RekorV2Config")
            .field("key", &self.key)
            .field("witnesses", &self.witnesses)
            .field("served_tile_cache_bytes", &self.served_tile_cache_bytes)
            .finish()
    }
}

/// A running log: both trees, their sequencers and the HTTP state.
pub struct Tlog {
    state: AppState,
    tasks: Vec<SequencerTask>,
    store: Arc<dyn LogStore>,
}

impl Tlog {
    /// Opens and migrates the store, loads (or creates) the Rekor and CT
    /// trees, and starts their sequencers.
    pub async fn open(config: TlogConfig) -> anyhow::Result<Self> {
        let store = store::open_with(&config.database_url, config.tile_cache_bytes)
            .await
            .context("opening the log store")?;
        Self::open_on(store, config, Arc::new(SystemClock)).await
    }

    /// All routes (Rekor, CT, `/healthz`) with the state applied.
    pub fn router(&self) -> axum::Router {
        http::router(self.state.clone())
    }

    /// The Rekor tree's id (`treeID`, the prefix of entry IDs).
    pub fn rekor_tree_id(&self) -> i64 {
        self.state.rekor.tree.id().get()
    }

    /// Stops accepting submissions, commits those already pooled, and waits
    /// for both sequencers. Submissions after this answer 503.
    pub async fn shutdown(self) {
        for task in self.tasks {
            task.shutdown().await;
        }
        if let Err(e) = self.store.close().await {
            tracing::warn!(error = %e, "closing the log store");
        }
    }

    /// [`Tlog::open`] on a given store and clock (tests use memory and fixed time).
    pub(crate) async fn open_on(
        store: Arc<dyn LogStore>,
        config: TlogConfig,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let rekor_id = store
            .tree(REKOR_TREE)
            .await
            .context("opening the Rekor tree")?;
        let ct_id = store.tree(CT_TREE).await.context("opening the CT tree")?;
        let metrics = Arc::new(metrics::Metrics::new());

        let rekor_heads = RekorCheckpointSigner {
            hostname: config.hostname.clone(),
            tree_id: rekor_id,
            signer: config.rekor_signer.clone(),
        };
        let (rekor_seq, rekor_task) = sequencer::start(
            rekor_id,
            store.clone(),
            Arc::new(rekor_heads),
            clock.clone(),
            config.sequencer.clone(),
            Arc::new(metrics.sequencer_stats("rekor", true)),
            Some(
                genesis::rekor_genesis(rekor_id, &config.rekor_signer)
                    .context("building the Rekor genesis entry")?,
            ),
        )
        .await
        .context("starting the Rekor sequencer")?;
        let ct_heads = CtSthSigner {
            signer: config.ct_signer.clone(),
        };
        let (ct_seq, ct_task) = sequencer::start(
            ct_id,
            store.clone(),
            Arc::new(ct_heads),
            clock.clone(),
            config.sequencer.clone(),
            Arc::new(metrics.sequencer_stats("ct", false)),
            // SCTs carry no index: a CT tree needs no genesis entry.
            None,
        )
        .await
        .context("starting the CT sequencer")?;

        let mut tasks = vec![rekor_task, ct_task];
        let rekor_v2 = match config.rekor_v2 {
            Some(v2) => {
                let id = store
                    .tree(REKOR_V2_TREE)
                    .await
                    .context("opening the Rekor v2 tree")?;
                let (sequencer, task) = sequencer::start(
                    id,
                    store.clone(),
                    Arc::new(RekorV2CheckpointSigner {
                        key: v2.key.clone(),
                    }),
                    clock.clone(),
                    config.sequencer.clone(),
                    Arc::new(metrics.sequencer_stats("rekor-v2", true)),
                    Some(
                        genesis::rekor_v2_genesis(id, &v2.key)
                            .context("building the Rekor v2 genesis entry")?,
                    ),
                )
                .await
                .context("starting the Rekor v2 sequencer")?;
                tasks.push(task);
                tracing::info!(
                    tree_id = %id,
                    origin = %v2.key.name(),
                    algorithm = v2.key.algorithm().name(),
                    key_hash = %hex::encode(v2.key.key_hash()),
                    vkey = v2.key.vkey().unwrap_or_default(),
                    "Rekor v2 log open"
                );
                let tree = LogTree::new(id, store.clone(), sequencer);
                anyhow::ensure!(
                    v2.witnesses.quorum <= v2.witnesses.witnesses.len(),
                    "a witness quorum of {} needs as many witnesses, not {}",
                    v2.witnesses.quorum,
                    v2.witnesses.witnesses.len()
                );
                let witnessed = Arc::new(witness::Witnessed::new(v2.witnesses.quorum));
                if !v2.witnesses.witnesses.is_empty() {
                    tracing::info!(
                        witnesses = v2.witnesses.witnesses.len(),
                        quorum = v2.witnesses.quorum,
                        "asking witnesses to cosign Rekor v2 checkpoints"
                    );
                    witness::start(tree.clone(), v2.witnesses, witnessed.clone());
                }
                Some(Arc::new(RekorV2Log {
                    tree,
                    key: v2.key,
                    witnessed,
                    served: http::served_tiles::ServedTiles::new(v2.served_tile_cache_bytes),
                }))
            }
            None => None,
        };

        tracing::info!(
            rekor_tree_id = %rekor_id,
            rekor_log_id = %config.rekor_signer.log_id().to_hex(),
            ct_tree_id = %ct_id,
            ct_log_id = %config.ct_signer.log_id().to_hex(),
            "transparency logs open"
        );
        let state = AppState {
            rekor: Arc::new(RekorLog {
                tree: LogTree::new(rekor_id, store.clone(), rekor_seq),
                log_id: config.rekor_signer.log_id(),
                checkpoints: http::CheckpointCache::new(
                    config.hostname.clone(),
                    rekor_id,
                    config.rekor_signer.clone(),
                ),
                signer: config.rekor_signer,
                entries: http::entry_cache::EntryCache::new(config.entry_cache_bytes),
            }),
            ct: Arc::new(CtLog {
                tree: LogTree::new(ct_id, store.clone(), ct_seq),
                sths: http::sth::SthCache::new(config.ct_signer.clone()),
                signer: config.ct_signer,
                roots: config.ct_roots,
                clock,
            }),
            rekor_v2,
            store: store.clone(),
            metrics,
            body_budget: http::body_budget::BodyBudget::new(
                http::body_budget::MAX_BUFFERED_BODY_BYTES,
            ),
        };
        Ok(Self {
            state,
            tasks,
            store,
        })
    }
}
