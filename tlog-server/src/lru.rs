//! A small map that forgets its least recently used values once they weigh
//! more than a budget: the read caches' shared building block (tiles in the
//! stores, rendered entries in the Rekor API).
//!
//! Values are meant to be cheap to clone (`Arc`s): a lookup clones under the
//! lock and hands the clone out. Eviction is LRU in amortised O(1): when
//! over budget, the least recently used quarter (by a lookup clock) goes at
//! once, found by an O(n) selection once per n/4 inserts.
//! Everything cached here is immutable once written (committed log data),
//! so a cached value is never wrong, only possibly absent.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

/// A weight-bounded, least-recently-used map. A budget of 0 caches nothing.
pub(crate) struct Lru<K, V> {
    budget: usize,
    inner: Mutex<Inner<K, V>>,
}

struct Inner<K, V> {
    map: HashMap<K, Slot<V>>,
    /// Sum of the weights in `map`.
    weight: usize,
    /// Ticks once per lookup or insert; a slot's `used` is its last tick.
    clock: u64,
}

struct Slot<V> {
    value: V,
    weight: usize,
    used: u64,
}

impl<K: Eq + Hash + Clone, V: Clone> Lru<K, V> {
    /// A map holding values of total weight at most about `budget`.
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            budget,
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                weight: 0,
                clock: 0,
            }),
        }
    }

    /// The value under `key`, marking it recently used.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let slot = inner.map.get_mut(key)?;
        slot.used = now;
        Some(slot.value.clone())
    }

    /// Stores `value` under `key` unless `keep_old(old)` says the value
    /// already there is at least as good (e.g. a wider tile).
    pub(crate) fn insert_unless(
        &self,
        key: K,
        value: V,
        weight: usize,
        keep_old: impl FnOnce(&V) -> bool,
    ) {
        if self.budget == 0 || weight > self.budget {
            return;
        }
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        if let Some(old) = inner.map.get(&key) {
            if keep_old(&old.value) {
                return;
            }
        }
        let slot = Slot {
            value,
            weight,
            used: now,
        };
        if let Some(old) = inner.map.insert(key, slot) {
            inner.weight -= old.weight;
        }
        inner.weight += weight;
        while inner.weight > self.budget {
            inner.evict_oldest_quarter();
        }
    }

    /// Stores `value` under `key`, replacing any older one.
    pub(crate) fn insert(&self, key: K, value: V, weight: usize) {
        self.insert_unless(key, value, weight, |_| false);
    }

    /// Total weight held (for tests and metrics).
    #[cfg(test)]
    pub(crate) fn weight(&self) -> usize {
        self.lock().weight
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        // Every critical section leaves the map and its weight consistent
        // before anything that could panic, so a poisoned lock is usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<K: Eq + Hash, V> Inner<K, V> {
    /// Forgets at least a quarter of the slots, the least recently used.
    fn evict_oldest_quarter(&mut self) {
        let mut ages: Vec<u64> = self.map.values().map(|s| s.used).collect();
        // Ticks are unique per slot (one tick per lookup or insert), so the
        // cut-off removes exactly the oldest quarter, and at least one slot
        // (the map is not empty: it is over budget). A selection, not a
        // sort: this runs under the lock every reader takes.
        let at = (ages.len() / 4).max(1) - 1;
        let (_, &mut cutoff, _) = ages.select_nth_unstable(at);
        let mut freed = 0;
        self.map.retain(|_, s| {
            let keep = s.used > cutoff;
            if !keep {
                freed += s.weight;
            }
            keep
        });
        self.weight -= freed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_go_first() {
        let lru: Lru<u32, u32> = Lru::new(4);
        for k in 0..4 {
            lru.insert(k, k * 10, 1);
        }
        assert_eq!(lru.get(&0), Some(0), "0 is now the most recently used");
        lru.insert(4, 40, 1);
        assert_eq!(lru.get(&1), None, "the oldest went");
        for k in [0, 2, 3, 4] {
            assert_eq!(lru.get(&k), Some(k * 10));
        }
        assert_eq!(lru.weight(), 4);
    }

    #[test]
    fn weights_bound_the_total_and_replacements_are_not_counted_twice() {
        let lru: Lru<u32, &str> = Lru::new(100);
        lru.insert(1, "a", 60);
        lru.insert(1, "b", 50);
        assert_eq!(lru.weight(), 50);
        assert_eq!(lru.get(&1), Some("b"));
        lru.insert(2, "c", 40);
        assert_eq!(lru.weight(), 90);
        lru.insert(3, "d", 30);
        assert!(lru.weight() <= 100, "{}", lru.weight());
        assert_eq!(lru.get(&3), Some("d"), "the newest stays");
        lru.insert(4, "too heavy", 101);
        assert_eq!(lru.get(&4), None);
    }

    #[test]
    fn insert_unless_keeps_a_better_value() {
        let lru: Lru<u32, usize> = Lru::new(10);
        lru.insert(1, 5, 1);
        lru.insert_unless(1, 3, 1, |old| *old >= 3);
        assert_eq!(lru.get(&1), Some(5));
        lru.insert_unless(1, 7, 1, |old| *old >= 7);
        assert_eq!(lru.get(&1), Some(7));
    }

    #[test]
    fn a_zero_budget_caches_nothing() {
        let lru: Lru<u32, u32> = Lru::new(0);
        lru.insert(1, 1, 1);
        assert_eq!(lru.get(&1), None);
        assert_eq!(lru.weight(), 0);
    }
}
