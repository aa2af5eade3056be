//! The per-entry part of Rekor LogEntries (docs/rekor-wire.md §1), kept in memory
//! so that serving an entry again costs neither a store read nor a
//! signature: the base64 body, the entry ID and the signed entry timestamp.
//!
//! All of it is fixed once an entry is committed: the SET signs (body,
//! integratedTime, logID, logIndex), none of which can change, and this
//! process' key cannot change under it. What does change with each new
//! head — the inclusion proof and the checkpoint — is never cached here.
//! Entries go in when they are first served, including in their 201, so a
//! client reading back what it just wrote finds it here.

use std::sync::Arc;

use shared::merkle::Hash;

use crate::weighted_cache::WeightedCache;

/// Default memory for the cache: about 200,000 typical hashedrekord
/// entries (≈ 1.3 KiB each with the SET). It fills only as entries are
/// written or read, so a small log never uses it all.
pub const DEFAULT_ENTRY_CACHE_BYTES: usize = 256 << 20;

/// What a LogEntry says about its entry, whatever the head.
#[derive(Debug)]
pub(crate) struct SignedEntry {
    pub(crate) index: u64,
    /// The leaf hash: Rekor's entry UUID.
    pub(crate) leaf: Hash,
    /// The 80-hex entry ID (tree ID + UUID).
    pub(crate) entry_id: String,
    pub(crate) body_b64: String,
    pub(crate) integrated_time: i64,
    pub(crate) set_b64: String,
}

impl SignedEntry {
    /// Bytes held, as the cache counts them (strings plus fixed overhead).
    fn weight(&self) -> usize {
        self.body_b64.len() + self.entry_id.len() + self.set_b64.len() + 160
    }
}

/// What a typical hashedrekord entry weighs here (body, proof, SET); the
/// cache is sized by it.
const TYPICAL_ENTRY_WEIGHT: usize = 2 << 10;

/// What one leaf-to-index slot weighs.
const LEAF_SLOT_WEIGHT: usize = 64;

/// Signed entries by index and by leaf hash.
pub(crate) struct EntryCache {
    by_index: WeightedCache<u64, Arc<SignedEntry>>,
    by_leaf: WeightedCache<Hash, u64>,
    /// Heaviest entry cached: a 32 MiB attestation would otherwise push
    /// out hundreds of thousands of ordinary entries.
    max_entry_weight: usize,
}

impl EntryCache {
    /// A cache of about `budget` bytes (0 disables it).
    pub(crate) fn new(budget: usize) -> Self {
        // The leaf map's slots are small; a twentieth of the budget holds
        // one per cached entry for entries of ~1 KiB.
        Self {
            by_index: WeightedCache::new(budget, TYPICAL_ENTRY_WEIGHT),
            by_leaf: WeightedCache::new(budget / 20, LEAF_SLOT_WEIGHT),
            max_entry_weight: budget / 256,
        }
    }

    pub(crate) fn at(&self, index: u64) -> Option<Arc<SignedEntry>> {
        self.by_index.get(&index)
    }

    pub(crate) fn with_leaf(&self, leaf: &Hash) -> Option<Arc<SignedEntry>> {
        let index = self.by_leaf.get(leaf)?;
        // The index map may have evicted it first, or (never, for a tree
        // that cannot fork) hold another entry there: check, don't trust.
        self.at(index).filter(|e| e.leaf == *leaf)
    }

    pub(crate) fn insert(&self, entry: Arc<SignedEntry>) {
        let weight = entry.weight();
        if weight > self.max_entry_weight {
            return;
        }
        self.by_leaf
            .insert(entry.leaf, entry.index, LEAF_SLOT_WEIGHT);
        self.by_index.insert(entry.index, entry, weight);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn light(index: u64) -> SignedEntry {
        SignedEntry {
            index,
            leaf: Hash([index as u8; 32]),
            entry_id: format!("{index:080x}"),
            body_b64: "e30=".into(),
            integrated_time: 1,
            set_b64: "MEUC".into(),
        }
    }

    fn entry(index: u64) -> Arc<SignedEntry> {
        Arc::new(light(index))
    }

    #[test]
    fn entries_are_found_by_index_and_by_leaf() {
        let cache = EntryCache::new(1 << 20);
        cache.insert(entry(3));
        assert_eq!(cache.at(3).unwrap().index, 3);
        assert_eq!(cache.with_leaf(&Hash([3; 32])).unwrap().index, 3);
        assert!(cache.at(4).is_none());
        assert!(cache.with_leaf(&Hash([4; 32])).is_none());
    }

    #[test]
    fn an_entry_heavier_than_a_256th_of_the_budget_is_not_cached() {
        let cache = EntryCache::new(256 * 1024);
        let heavy = Arc::new(SignedEntry {
            body_b64: "A".repeat(1024),
            ..light(5)
        });
        cache.insert(heavy);
        assert!(cache.at(5).is_none());
        cache.insert(entry(6));
        assert!(cache.at(6).is_some());
    }

    #[test]
    fn a_disabled_cache_holds_nothing() {
        let cache = EntryCache::new(0);
        cache.insert(entry(3));
        assert!(cache.at(3).is_none());
        assert!(cache.with_leaf(&Hash([3; 32])).is_none());
    }
}
