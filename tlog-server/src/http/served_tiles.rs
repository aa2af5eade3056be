//! Full tiles of the Rekor v2 log, kept as the bytes `GET /tile/…` sends
//! (https://c2sp.org/tlog-tiles; docs/rekor-v2.md §2).
//!
//! A full tile (256 hashes) or full entry bundle (256 entries) never changes
//! once the tree has grown past it, so a copy made on the first read is
//! right for every later one. Without it an entry bundle costs a query of
//! 256 entry rows and its encoding on every request. Partial tiles are not
//! kept: each width is its own response, and the right edge moves with every
//! batch. Served bytes are reference-counted, so a hit copies nothing.

use axum::body::Bytes;

use crate::weighted_cache::WeightedCache;

/// Default memory for served tiles: a few hundred full entry bundles of
/// typical hashedrekord entries (≈ 250 KiB each) or thousands of hash tiles.
pub const DEFAULT_SERVED_TILE_CACHE_BYTES: usize = 64 << 20;

/// What a full hash tile weighs (256 hashes of 32 bytes, and the slot); the
/// cache is sized by it. Entry bundles weigh more and are fewer.
const HASH_TILE_WEIGHT: usize = (8 << 10) + 64;

/// Which full tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum FullTile {
    Hashes { level: u8, index: u64 },
    Entries { index: u64 },
}

/// Full tiles by position.
pub(crate) struct ServedTiles {
    tiles: WeightedCache<FullTile, Bytes>,
    /// Heaviest tile kept: a bundle of large attestations (up to 16 MiB)
    /// would otherwise push out hundreds of ordinary ones.
    max_tile_bytes: usize,
}

impl ServedTiles {
    /// A cache of about `budget` bytes (0 keeps nothing).
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            tiles: WeightedCache::new(budget, HASH_TILE_WEIGHT),
            max_tile_bytes: budget / 8,
        }
    }

    pub(crate) fn get(&self, tile: FullTile) -> Option<Bytes> {
        self.tiles.get(&tile)
    }

    /// Keeps `bytes`, which must be the full tile `tile` of the log.
    pub(crate) fn insert(&self, tile: FullTile, bytes: Bytes) {
        if bytes.len() <= self.max_tile_bytes {
            let weight = bytes.len() + 64;
            self.tiles.insert(tile, bytes, weight);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_tiles_up_to_its_budget_and_refuses_oversized_ones() {
        let served = ServedTiles::new(64 << 10);
        let tile = FullTile::Entries { index: 3 };
        served.insert(tile, Bytes::from(vec![1u8; 1000]));
        assert_eq!(served.get(tile).unwrap().len(), 1000);
        assert!(served.get(FullTile::Entries { index: 4 }).is_none());
        assert!(
            served
                .get(FullTile::Hashes { level: 0, index: 3 })
                .is_none(),
            "hash tiles and bundles of one index are different tiles"
        );
        let big = FullTile::Entries { index: 9 };
        served.insert(big, Bytes::from(vec![0u8; 9 << 10]));
        assert!(served.get(big).is_none(), "over an eighth of the budget");
        for index in 0..200 {
            served.insert(
                FullTile::Hashes { level: 0, index },
                Bytes::from(vec![0u8; 8192]),
            );
        }
        assert!(
            served.tiles.weight() <= 64 << 10,
            "{}",
            served.tiles.weight()
        );
        assert!(
            served
                .get(FullTile::Hashes {
                    level: 0,
                    index: 199
                })
                .is_some(),
            "the newest stays"
        );
    }

    #[test]
    fn a_zero_budget_keeps_nothing() {
        let served = ServedTiles::new(0);
        let tile = FullTile::Hashes { level: 1, index: 0 };
        served.insert(tile, Bytes::from_static(&[0u8; 32]));
        assert!(served.get(tile).is_none());
    }
}
