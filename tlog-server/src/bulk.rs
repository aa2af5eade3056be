//! A narrow door into the log's storage for the tools that measure it
//! (`sigil bench`'s store ceilings and `proof-scale`), so that the store's
//! trait and schema stay private to this crate.
//!
//! It offers exactly the store work the log itself does:
//!
//! * [`ScratchTree`] grows a tree in whole batches, each one transaction of
//!   entries, index keys, completed RFC 6962 subtree nodes and a head, as the
//!   sequencer commits them (docs/architecture.md, "The store contract"),
//!   with the sequencer's one-query duplicate lookup beside it.
//! * [`TreeReader`] reads an entry by index with its inclusion proof, the
//!   store work of `GET /api/v1/log/entries?logIndex=N`.
//!
//! Contract: a scratch tree must be new and must not be served by a running
//! log at the same time (a tree has one writer). Its heads carry a stand-in
//! signature of a checkpoint's size, not a signature anyone could verify:
//! signing is CPU work, which the tools measure apart from the store.

use std::sync::Arc;

use anyhow::Context as _;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use shared::merkle::{inclusion_plan, leaf_hash, Frontier, Hash};

use crate::store::{self, Batch, LogStore, NewEntry, SignedHead, StoredEntry, TreeId};

/// A log store opened for measuring.
pub struct BulkStore {
    store: Arc<dyn LogStore>,
}

/// One entry to append to a [`ScratchTree`].
#[derive(Clone, Debug)]
pub struct BulkEntry {
    /// The leaf data; its RFC 6962 leaf hash goes into the tree.
    pub body: Vec<u8>,
    /// What the duplicate lookup finds the entry by (for Rekor entries, the
    /// leaf hash; callers that repeat bodies pass something unique).
    pub identity: Hash,
    /// Search-index keys committed with the entry.
    pub index_keys: Vec<String>,
}

/// A new tree being grown batch by batch; the frontier in memory runs ahead
/// of the store by the batches prepared but not yet committed.
pub struct ScratchTree {
    store: Arc<dyn LogStore>,
    tree: TreeId,
    name: String,
    frontier: Frontier,
}

/// A batch built by [`ScratchTree::prepare`], ready to commit. Batches must
/// be committed in the order they were prepared; a batch committed out of
/// order fails with a conflict and changes nothing.
pub struct PreparedBatch {
    store: Arc<dyn LogStore>,
    batch: Batch,
}

/// Reads of one tree at the size of its latest head when it was opened.
/// Cheap to clone: clones share the store's connections and caches.
#[derive(Clone)]
pub struct TreeReader {
    store: Arc<dyn LogStore>,
    tree: TreeId,
    size: u64,
    root: Hash,
}

/// An entry read back with its inclusion proof.
#[derive(Clone, Debug)]
pub struct ProvenEntry {
    pub index: u64,
    pub body: Vec<u8>,
    /// The RFC 6962 audit path of `index` in the reader's tree size.
    pub proof: Vec<Hash>,
    /// Stored nodes read to assemble `proof` (fewer than its hashes when
    /// some are computed from others).
    pub nodes_read: usize,
}

impl BulkStore {
    /// Opens the store at `database_url` (the URLs `tlog-server` takes) with
    /// a tile cache of `tile_cache_bytes`, applying migrations.
    pub async fn open(database_url: &str, tile_cache_bytes: usize) -> anyhow::Result<Self> {
        let store = store::open_with(database_url, tile_cache_bytes).await?;
        Ok(Self { store })
    }

    /// Creates the tree `name`, which must have no entries yet.
    pub async fn scratch_tree(&self, name: &str) -> anyhow::Result<ScratchTree> {
        let tree = self.store.tree(name).await?;
        if let Some(head) = self.store.latest_head(tree).await? {
            anyhow::bail!(
                "tree {name} already holds {} entries; a scratch tree must be new",
                head.size
            );
        }
        Ok(ScratchTree {
            store: self.store.clone(),
            tree,
            name: name.to_owned(),
            frontier: Frontier::new(),
        })
    }

    /// A reader of the tree `name` at its latest head; an error if the tree
    /// has no entries.
    pub async fn reader(&self, name: &str) -> anyhow::Result<TreeReader> {
        let tree = self.store.tree(name).await?;
        let head = self
            .store
            .latest_head(tree)
            .await?
            .filter(|h| h.size > 0)
            .with_context(|| format!("tree {name} holds no entries"))?;
        Ok(TreeReader {
            store: self.store.clone(),
            tree,
            size: head.size,
            root: head.root,
        })
    }

    /// Closes the store's connections; durability never depends on it
    /// (every commit is durable when it returns).
    pub async fn close(self) -> anyhow::Result<()> {
        Ok(self.store.close().await?)
    }
}

impl ScratchTree {
    /// Entries prepared so far, committed or not.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The root over [`ScratchTree::size`] entries.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// The next batch: `entries` at the next indices stamped
    /// `timestamp_ms`, the subtree nodes they complete and the head over
    /// them. CPU only; nothing is written until [`PreparedBatch::commit`].
    pub fn prepare(&mut self, entries: Vec<BulkEntry>, timestamp_ms: u64) -> PreparedBatch {
        let mut new = Vec::with_capacity(entries.len());
        let mut nodes = Vec::with_capacity(2 * entries.len() + 64);
        for e in entries {
            let index = self.frontier.size();
            nodes.extend(self.frontier.append(leaf_hash(&e.body)));
            new.push(NewEntry {
                entry: StoredEntry {
                    index,
                    identity: e.identity,
                    body: e.body,
                    timestamp_ms,
                },
                index_keys: e.index_keys,
                extra_data: Vec::new(),
            });
        }
        PreparedBatch {
            store: self.store.clone(),
            batch: Batch {
                tree: self.tree,
                entries: new,
                nodes,
                head: stand_in_head(&self.name, &self.frontier, timestamp_ms),
            },
        }
    }
}

impl PreparedBatch {
    /// Entries in the batch.
    pub fn len(&self) -> usize {
        self.batch.entries.len()
    }

    /// Whether the batch holds no entry.
    pub fn is_empty(&self) -> bool {
        self.batch.entries.is_empty()
    }

    /// The sequencer's duplicate lookup for the batch's identities (one
    /// query): how many of them the tree already holds.
    pub async fn count_duplicates(&self) -> anyhow::Result<usize> {
        let identities: Vec<Hash> = self
            .batch
            .entries
            .iter()
            .map(|e| e.entry.identity)
            .collect();
        let found = self
            .store
            .entries_by_identity(self.batch.tree, &identities)
            .await?;
        Ok(found.len())
    }

    /// Commits the batch in one transaction, durable when this returns.
    pub async fn commit(self) -> anyhow::Result<()> {
        Ok(self.store.commit(self.batch).await?)
    }
}

impl TreeReader {
    /// The tree size reads are answered at.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the tree at [`TreeReader::size`].
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The entry at `index` with its inclusion proof at the reader's size.
    pub async fn entry_with_proof(&self, index: u64) -> anyhow::Result<ProvenEntry> {
        let entry = self
            .store
            .entry_by_index(self.tree, index)
            .await?
            .with_context(|| format!("entry {index} is missing"))?;
        let plan = inclusion_plan(index, self.size)?;
        let hashes = self.store.read_nodes(self.tree, plan.nodes()).await?;
        Ok(ProvenEntry {
            index: entry.index,
            body: entry.body,
            proof: plan.assemble(&hashes)?,
            nodes_read: plan.nodes().len(),
        })
    }
}

/// A head over `frontier` whose signed bytes are checkpoint-sized (origin,
/// size, root, one ECDSA-sized signature line) but signed by nobody.
fn stand_in_head(name: &str, frontier: &Frontier, timestamp_ms: u64) -> SignedHead {
    let root = frontier.root();
    SignedHead {
        size: frontier.size(),
        root,
        timestamp_ms,
        signed: format!(
            "{name}\n{}\n{}\n\n\u{2014} bench {}\n",
            frontier.size(),
            B64.encode(root.0),
            B64.encode([0u8; 76])
        )
        .into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use shared::merkle::verify_inclusion;

    use super::*;

    fn entry(i: u64) -> BulkEntry {
        let body = format!("{{\"n\":{i}}}").into_bytes();
        BulkEntry {
            identity: leaf_hash(&body),
            body,
            index_keys: vec![format!("key-{}", i % 3)],
        }
    }

    /// A store in a fresh SQLite file (kept while the `TempDir` lives).
    async fn sqlite() -> (tempfile::TempDir, BulkStore) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/bulk.db?mode=rwc", dir.path().display());
        (dir, BulkStore::open(&url, 1 << 20).await.unwrap())
    }

    #[tokio::test]
    async fn batches_commit_in_order_and_every_proof_verifies() {
        let (_dir, bulk) = sqlite().await;
        let mut tree = bulk.scratch_tree("scratch").await.unwrap();
        let first = tree.prepare((0..5).map(entry).collect(), 1);
        let second = tree.prepare((5..12).map(entry).collect(), 2);
        // Out of order: refused, and nothing written.
        assert!(refused_out_of_order(&bulk, &second).await);
        first.commit().await.unwrap();
        assert_eq!(second.count_duplicates().await.unwrap(), 0);
        second.commit().await.unwrap();

        let reader = bulk.reader("scratch").await.unwrap();
        assert_eq!((reader.size(), reader.root()), (12, tree.root()));
        for i in 0..12 {
            let e = reader.entry_with_proof(i).await.unwrap();
            assert_eq!((e.index, &e.body), (i, &entry(i).body));
            verify_inclusion(&leaf_hash(&e.body), i, 12, &e.proof, &reader.root()).unwrap();
        }
        assert!(reader.entry_with_proof(12).await.is_err());

        // The duplicate lookup finds committed identities.
        let again = tree.prepare((3..6).map(entry).collect(), 3);
        assert_eq!(again.count_duplicates().await.unwrap(), 3);
        bulk.close().await.unwrap();
    }

    #[tokio::test]
    async fn a_scratch_tree_must_be_new_and_a_reader_needs_entries() {
        let (_dir, bulk) = sqlite().await;
        assert!(bulk.reader("t").await.is_err());
        let mut tree = bulk.scratch_tree("t").await.unwrap();
        tree.prepare(vec![entry(0)], 1).commit().await.unwrap();
        let err = bulk.scratch_tree("t").await.err().unwrap();
        assert!(err.to_string().contains("already holds 1 entries"), "{err}");
        bulk.close().await.unwrap();
    }

    /// Commits a copy of `batch` (which must not go first) and reports
    /// whether the store refused it, leaving the tree empty.
    async fn refused_out_of_order(bulk: &BulkStore, batch: &PreparedBatch) -> bool {
        let refused = bulk.store.commit(batch.batch.clone()).await.is_err();
        let tree = batch.batch.tree;
        refused && bulk.store.latest_head(tree).await.unwrap().is_none()
    }
}
