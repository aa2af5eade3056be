//! One log tree as the API layers see it: submit through the sequencer, read
//! entries and committed heads, and build RFC 6962 §2.1 proofs from O(log n)
//! stored nodes (the node plans come from `shared::merkle`).

use std::sync::Arc;

use shared::merkle::{consistency_plan, inclusion_plan, Hash, MerkleError, ProofPlan};

use crate::sequencer::{SequenceError, Sequenced, SequencerHandle, Submission};
use crate::store::{LogStore, SignedHead, StoreError, StoredEntry, TreeId};

/// Reading or proving failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TreeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Merkle(#[from] MerkleError),
}

/// A tree: its id, its store and its sequencer. Cheap to clone.
#[derive(Clone)]
pub(crate) struct LogTree {
    id: TreeId,
    store: Arc<dyn LogStore>,
    sequencer: SequencerHandle,
}

impl LogTree {
    pub(crate) fn new(id: TreeId, store: Arc<dyn LogStore>, sequencer: SequencerHandle) -> Self {
        Self {
            id,
            store,
            sequencer,
        }
    }

    pub(crate) fn id(&self) -> TreeId {
        self.id
    }

    /// The store the tree lives in.
    pub(crate) fn store(&self) -> &Arc<dyn LogStore> {
        &self.store
    }

    /// The tree's sequencer (pool depth, liveness and stats for metrics).
    pub(crate) fn sequencer(&self) -> &SequencerHandle {
        &self.sequencer
    }

    /// Submits and waits for the commit.
    pub(crate) async fn submit(&self, submission: Submission) -> Result<Sequenced, SequenceError> {
        self.sequencer.submit(submission).await
    }

    /// The latest committed head known to this process.
    pub(crate) fn head(&self) -> Arc<SignedHead> {
        self.sequencer.latest_head()
    }

    /// A committed head that covers `index`: the cached latest one, or, if the
    /// entry was read from the store a moment before the cache was updated,
    /// the store's latest.
    pub(crate) async fn head_covering(&self, index: u64) -> Result<Arc<SignedHead>, StoreError> {
        let cached = self.head();
        if index < cached.size {
            return Ok(cached);
        }
        match self.store.latest_head(self.id).await? {
            Some(head) if index < head.size => Ok(Arc::new(head)),
            _ => Err(StoreError::Corrupt(format!(
                "entry {index} is not covered by any stored head"
            ))),
        }
    }

    pub(crate) async fn entry_by_index(
        &self,
        index: u64,
    ) -> Result<Option<StoredEntry>, StoreError> {
        self.store.entry_by_index(self.id, index).await
    }

    pub(crate) async fn entry_by_identity(
        &self,
        identity: Hash,
    ) -> Result<Option<StoredEntry>, StoreError> {
        Ok(self
            .store
            .entries_by_identity(self.id, &[identity])
            .await?
            .into_iter()
            .next())
    }

    /// Audit path of leaf `index` in the tree of `size` leaves, leaf to root.
    pub(crate) async fn inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<Vec<Hash>, TreeError> {
        self.run_plan(inclusion_plan(index, size)?).await
    }

    /// Consistency proof between sizes `first` and `second` (0 < first <= second).
    pub(crate) async fn consistency_proof(
        &self,
        first: u64,
        second: u64,
    ) -> Result<Vec<Hash>, TreeError> {
        self.run_plan(consistency_plan(first, second)?).await
    }

    async fn run_plan(&self, plan: ProofPlan) -> Result<Vec<Hash>, TreeError> {
        let hashes = self.store.read_nodes(self.id, plan.nodes()).await?;
        Ok(plan.assemble(&hashes)?)
    }
}
