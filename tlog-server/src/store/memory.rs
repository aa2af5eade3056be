//! An in-memory [`LogStore`] for unit tests: the same contract as the real
//! stores (atomic batches, append-only, conflict on a non-continuing batch),
//! plus a gate that can hold commits back so tests can fill the pool.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use shared::merkle::{Hash, NodeId};
use tokio::sync::Semaphore;

use super::{Batch, LogStore, SignedHead, StoreError, StoreFuture, StoredEntry, TreeId};

#[derive(Default)]
struct Tree {
    entries: BTreeMap<u64, StoredEntry>,
    by_identity: HashMap<Hash, u64>,
    index: HashMap<String, Vec<u64>>,
    nodes: HashMap<NodeId, Hash>,
    heads: Vec<SignedHead>,
}

#[derive(Default)]
struct State {
    names: HashMap<String, TreeId>,
    trees: HashMap<TreeId, Tree>,
    commits: usize,
    batch_sizes: Vec<usize>,
}

/// The in-memory store. Cloning shares the state.
#[derive(Clone)]
pub(crate) struct MemoryStore {
    state: Arc<Mutex<State>>,
    /// When set, each commit takes one permit first (tests release them).
    gate: Option<Arc<Semaphore>>,
}

impl MemoryStore {
    pub(crate) fn new() -> Self {
        Self {
            state: Arc::default(),
            gate: None,
        }
    }

    /// A store whose commits wait for permits on the returned semaphore.
    pub(crate) fn gated() -> (Self, Arc<Semaphore>) {
        let gate = Arc::new(Semaphore::new(0));
        (
            Self {
                state: Arc::default(),
                gate: Some(gate.clone()),
            },
            gate,
        )
    }

    /// Sizes (entry counts) of the committed batches, in order.
    pub(crate) fn batch_sizes(&self) -> Vec<usize> {
        self.state.lock().unwrap().batch_sizes.clone()
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut State) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        f(&mut self.state.lock().unwrap())
    }
}

impl LogStore for MemoryStore {
    fn tree(&self, name: &str) -> StoreFuture<'_, TreeId> {
        let name = name.to_owned();
        Box::pin(async move {
            self.with(|s| {
                let id = *s.names.entry(name).or_insert_with(TreeId::random);
                s.trees.entry(id).or_default();
                Ok(id)
            })
        })
    }

    fn latest_head(&self, tree: TreeId) -> StoreFuture<'_, Option<SignedHead>> {
        Box::pin(async move {
            self.with(|s| Ok(s.trees.get(&tree).and_then(|t| t.heads.last().cloned())))
        })
    }

    fn read_nodes<'a>(&'a self, tree: TreeId, ids: &'a [NodeId]) -> StoreFuture<'a, Vec<Hash>> {
        Box::pin(async move {
            self.with(|s| {
                let t = s.trees.get(&tree);
                ids.iter()
                    .map(|id| {
                        t.and_then(|t| t.nodes.get(id).copied())
                            .ok_or(StoreError::MissingNode {
                                level: id.level,
                                index: id.index,
                            })
                    })
                    .collect()
            })
        })
    }

    fn entry_by_index(&self, tree: TreeId, index: u64) -> StoreFuture<'_, Option<StoredEntry>> {
        Box::pin(async move {
            self.with(|s| {
                Ok(s.trees
                    .get(&tree)
                    .and_then(|t| t.entries.get(&index).cloned()))
            })
        })
    }

    fn entries_by_identity<'a>(
        &'a self,
        tree: TreeId,
        identities: &'a [Hash],
    ) -> StoreFuture<'a, Vec<StoredEntry>> {
        Box::pin(async move {
            self.with(|s| {
                let Some(t) = s.trees.get(&tree) else {
                    return Ok(vec![]);
                };
                Ok(identities
                    .iter()
                    .filter_map(|id| {
                        t.by_identity
                            .get(id)
                            .and_then(|i| t.entries.get(i))
                            .cloned()
                    })
                    .collect())
            })
        })
    }

    fn search<'a>(&'a self, tree: TreeId, key: &'a str) -> StoreFuture<'a, Vec<u64>> {
        Box::pin(async move {
            self.with(|s| {
                Ok(s.trees
                    .get(&tree)
                    .and_then(|t| t.index.get(key).cloned())
                    .unwrap_or_default())
            })
        })
    }

    fn commit(&self, batch: Batch) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            if let Some(gate) = &self.gate {
                gate.acquire()
                    .await
                    .map_err(|_| StoreError::Corrupt("gate closed".into()))?
                    .forget();
            }
            self.with(|s| {
                let t = s.trees.entry(batch.tree).or_default();
                batch.check_extends(t.heads.last())?;
                if batch
                    .entries
                    .iter()
                    .any(|e| t.by_identity.contains_key(&e.entry.identity))
                {
                    return Err(StoreError::Conflict("duplicate identity".into()));
                }
                for e in &batch.entries {
                    t.by_identity.insert(e.entry.identity, e.entry.index);
                    t.entries.insert(e.entry.index, e.entry.clone());
                    for k in &e.index_keys {
                        t.index.entry(k.clone()).or_default().push(e.entry.index);
                    }
                }
                t.nodes.extend(batch.nodes.iter().copied());
                t.heads.push(batch.head.clone());
                s.commits += 1;
                s.batch_sizes.push(batch.entries.len());
                Ok(())
            })
        })
    }

    fn close(&self) -> StoreFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
}
