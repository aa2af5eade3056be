//! A map that forgets values once they weigh more than a budget: the read
//! caches' shared building block (tiles in the stores, rendered entries and
//! full tiles in the HTTP layer), on the `quick_cache` crate.
//!
//! quick_cache evicts by S3-FIFO, not strict least-recently-used: a new
//! value enters a small probationary queue and is kept only if it is read
//! again before that queue turns over, so one scan over the whole log (an
//! auditor, a monitor catching up) cannot push out what readers keep
//! asking for. Its lock is sharded, so concurrent readers rarely meet.
//!
//! Values are meant to be cheap to clone (`Arc`s, `Bytes`): a lookup hands
//! out a clone. Everything cached here is immutable once written (committed
//! log data), so a cached value is never wrong, only possibly absent.

use std::hash::Hash;

use quick_cache::sync::Cache;
use quick_cache::Weighter;

/// A weight-bounded map. A budget of 0 caches nothing.
pub(crate) struct WeightedCache<K, V> {
    /// `None` when the budget is 0.
    cache: Option<Cache<K, Weighed<V>, ByWeight>>,
    budget: u64,
}

/// A value and the weight it was inserted with.
#[derive(Clone)]
struct Weighed<V> {
    value: V,
    weight: u64,
}

#[derive(Clone)]
struct ByWeight;

impl<K, V> Weighter<K, Weighed<V>> for ByWeight {
    fn weight(&self, _key: &K, value: &Weighed<V>) -> u64 {
        value.weight
    }
}

impl<K: Eq + Hash + Clone, V: Clone> WeightedCache<K, V> {
    /// A map holding values of total weight at most about `budget`, sized
    /// for values of about `typical_weight` each.
    pub(crate) fn new(budget: usize, typical_weight: usize) -> Self {
        let budget = budget as u64;
        let items = (budget / typical_weight.max(1) as u64).max(1);
        Self {
            cache: (budget > 0).then(|| {
                Cache::with_weighter(
                    usize::try_from(items).unwrap_or(usize::MAX),
                    budget,
                    ByWeight,
                )
            }),
            budget,
        }
    }

    /// The value under `key`, if kept.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        Some(self.cache.as_ref()?.get(key)?.value)
    }

    /// Stores `value` under `key` unless `keep_old(old)` says the value
    /// already there is at least as good (e.g. a wider tile). Two racing
    /// inserts may both pass the check; either value is right.
    pub(crate) fn insert_unless(
        &self,
        key: K,
        value: V,
        weight: usize,
        keep_old: impl FnOnce(&V) -> bool,
    ) {
        let Some(cache) = &self.cache else { return };
        // A weight of 0 would never be evicted: every value weighs something.
        let weight = (weight as u64).max(1);
        if weight > self.budget {
            return;
        }
        if let Some(old) = cache.peek(&key) {
            if keep_old(&old.value) {
                return;
            }
        }
        cache.insert(key, Weighed { value, weight });
    }

    /// Stores `value` under `key`, replacing any older one.
    pub(crate) fn insert(&self, key: K, value: V, weight: usize) {
        self.insert_unless(key, value, weight, |_| false);
    }

    /// Total weight held.
    #[cfg(test)]
    pub(crate) fn weight(&self) -> u64 {
        self.cache.as_ref().map_or(0, Cache::weight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_again_outlive_a_scan_of_new_ones() {
        let cache: WeightedCache<u32, u32> = WeightedCache::new(100, 1);
        for k in 0..50 {
            cache.insert(k, k * 10, 1);
        }
        for _ in 0..3 {
            for k in 0..10 {
                assert_eq!(cache.get(&k), Some(k * 10));
            }
        }
        // A scan twenty times the budget, each value read never again.
        for k in 1_000..3_000 {
            cache.insert(k, 0, 1);
        }
        let kept = (0..10).filter(|k| cache.get(k).is_some()).count();
        assert!(kept >= 8, "only {kept} of the hot values survived the scan");
        assert!(cache.weight() <= 100, "{}", cache.weight());
    }

    #[test]
    fn weights_bound_the_total_and_replacements_are_not_counted_twice() {
        let cache: WeightedCache<u32, &str> = WeightedCache::new(100, 30);
        cache.insert(1, "a", 60);
        cache.insert(1, "b", 50);
        assert_eq!(cache.weight(), 50);
        assert_eq!(cache.get(&1), Some("b"));
        for k in 2..40 {
            cache.insert(k, "c", 30);
            assert!(cache.weight() <= 100, "{}", cache.weight());
        }
        cache.insert(99, "too heavy", 101);
        assert_eq!(cache.get(&99), None);
    }

    #[test]
    fn insert_unless_keeps_a_better_value() {
        let cache: WeightedCache<u32, usize> = WeightedCache::new(10, 1);
        cache.insert(1, 5, 1);
        cache.insert_unless(1, 3, 1, |old| *old >= 3);
        assert_eq!(cache.get(&1), Some(5));
        cache.insert_unless(1, 7, 1, |old| *old >= 7);
        assert_eq!(cache.get(&1), Some(7));
    }

    #[test]
    fn a_zero_budget_caches_nothing() {
        let cache: WeightedCache<u32, u32> = WeightedCache::new(0, 1);
        cache.insert(1, 1, 1);
        assert_eq!(cache.get(&1), None);
        assert_eq!(cache.weight(), 0);
    }
}
