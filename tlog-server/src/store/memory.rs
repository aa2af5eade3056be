//! An in-memory [`LogStore`] for unit tests: the same contract as the real
//! stores (atomic batches, append-only, conflict on a non-continuing batch),
//! plus a gate that can hold commits back so tests can fill the pool.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use shared::merkle::{Hash, NodeId};
use tokio::sync::Semaphore;

use super::tile_cache::TileCache;
use super::tiles::{extend_tiles, touched_tiles, TileId};
use super::{
    Batch, CosignedCheckpoint, EntryWithExtra, LogStore, SignedHead, StoreError, StoreFuture,
    StoredEntry, TreeId,
};

#[derive(Default)]
struct Tree {
    entries: BTreeMap<u64, StoredEntry>,
    extra: HashMap<u64, Vec<u8>>,
    by_identity: HashMap<Hash, u64>,
    index: HashMap<String, Vec<u64>>,
    tiles: HashMap<TileId, Vec<u8>>,
    heads: Vec<SignedHead>,
    cosigned: Option<CosignedCheckpoint>,
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
    /// Commits begun, including those waiting at the gate.
    started: Arc<AtomicUsize>,
    /// A search-index key the "database" refuses, failing any batch that
    /// holds it (as Postgres refuses a NUL byte or an oversized key).
    refused_key: Option<String>,
}

impl MemoryStore {
    pub(crate) fn new() -> Self {
        Self {
            state: Arc::default(),
            gate: None,
            started: Arc::default(),
            refused_key: None,
        }
    }

    /// A store that refuses every batch holding an entry indexed under `key`.
    pub(crate) fn refusing(key: &str) -> Self {
        Self {
            refused_key: Some(key.to_owned()),
            ..Self::new()
        }
    }

    /// A store whose commits wait for permits on the returned semaphore.
    pub(crate) fn gated() -> (Self, Arc<Semaphore>) {
        let gate = Arc::new(Semaphore::new(0));
        (
            Self {
                state: Arc::default(),
                gate: Some(gate.clone()),
                started: Arc::default(),
                refused_key: None,
            },
            gate,
        )
    }

    /// Commits begun so far, whether they passed the gate or wait at it.
    pub(crate) fn commits_started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
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

    fn save_cosigned(&self, tree: TreeId, checkpoint: &CosignedCheckpoint) -> StoreFuture<'_, ()> {
        let checkpoint = checkpoint.clone();
        Box::pin(async move {
            self.with(|s| {
                let kept = &mut s.trees.entry(tree).or_default().cosigned;
                if kept.as_ref().is_none_or(|k| checkpoint.size >= k.size) {
                    *kept = Some(checkpoint);
                }
                Ok(())
            })
        })
    }

    fn latest_cosigned(&self, tree: TreeId) -> StoreFuture<'_, Option<CosignedCheckpoint>> {
        Box::pin(
            async move { self.with(|s| Ok(s.trees.get(&tree).and_then(|t| t.cosigned.clone()))) },
        )
    }

    fn read_tile(
        &self,
        tree: TreeId,
        level: u8,
        index: u64,
        min_width: usize,
    ) -> StoreFuture<'_, Option<Vec<u8>>> {
        Box::pin(async move {
            self.with(|s| {
                Ok(s.trees
                    .get(&tree)
                    .and_then(|t| t.tiles.get(&TileId { level, index }))
                    .filter(|bytes| bytes.len() >= min_width * 32)
                    .cloned())
            })
        })
    }

    fn read_nodes<'a>(&'a self, tree: TreeId, ids: &'a [NodeId]) -> StoreFuture<'a, Vec<Hash>> {
        Box::pin(async move {
            // The same tile derivation as the SQL stores, with nothing cached.
            let stored = |wanted: Vec<TileId>| {
                let found = self.with(|s| {
                    Ok(match s.trees.get(&tree) {
                        Some(t) => wanted
                            .into_iter()
                            .filter_map(|id| t.tiles.get(&id).map(|b| (id, b.clone())))
                            .collect(),
                        None => HashMap::new(),
                    })
                });
                async move { found }
            };
            TileCache::new(0).read_nodes(tree, ids, stored).await
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

    fn entries_in_range(
        &self,
        tree: TreeId,
        start: u64,
        end: u64,
    ) -> StoreFuture<'_, Vec<EntryWithExtra>> {
        Box::pin(async move {
            self.with(|s| {
                let Some(t) = s.trees.get(&tree) else {
                    return Ok(vec![]);
                };
                Ok(t.entries
                    .range(start..end.max(start))
                    .map(|(i, e)| EntryWithExtra {
                        entry: e.clone(),
                        extra_data: t.extra.get(i).cloned().unwrap_or_default(),
                    })
                    .collect())
            })
        })
    }

    fn commit(&self, batch: Batch) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.started.fetch_add(1, Ordering::SeqCst);
            if let Some(gate) = &self.gate {
                gate.acquire()
                    .await
                    .map_err(|_| StoreError::Corrupt("gate closed".into()))?
                    .forget();
            }
            if let Some(key) = &self.refused_key {
                if batch.entries.iter().any(|e| e.index_keys.contains(key)) {
                    return Err(StoreError::Database(sqlx::Error::Protocol(format!(
                        "refused index key {key}"
                    ))));
                }
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
                // Everything that can fail comes before the first change.
                let existing: HashMap<TileId, Vec<u8>> = touched_tiles(&batch.nodes)?
                    .into_iter()
                    .filter_map(|id| t.tiles.get(&id).map(|b| (id, b.clone())))
                    .collect();
                let tiles = extend_tiles(&batch.nodes, &existing)?;
                for e in &batch.entries {
                    t.by_identity.insert(e.entry.identity, e.entry.index);
                    t.entries.insert(e.entry.index, e.entry.clone());
                    if !e.extra_data.is_empty() {
                        t.extra.insert(e.entry.index, e.extra_data.clone());
                    }
                    for k in &e.index_keys {
                        let list = t.index.entry(k.clone()).or_default();
                        // A key listed twice by one entry is indexed once.
                        if list.last() != Some(&e.entry.index) {
                            list.push(e.entry.index);
                        }
                    }
                }
                t.tiles.extend(tiles);
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

#[cfg(test)]
mod tests {
    crate::store::suite::behaviour_suite!(crate::store::suite::MemoryFixture);
}
