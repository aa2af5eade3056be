//! Tiles held in memory, with their interior nodes, in front of a SQL
//! store's `tiles` table (layout: [`super::tiles`], C2SP tlog-tiles).
//!
//! A proof needs about `log2(n)` nodes from a handful of tiles. Without this
//! cache each proof read those tiles' rows and re-hashed up to 255 bottom-row
//! hashes per node above the tile's bottom row; with it, a node is one
//! lookup in a precomputed row.
//!
//! Correctness rests on two facts of an append-only tree that cannot fork
//! ([`super::LogStore::commit`] refuses anything else): a full tile never
//! changes, and a partial tile read at width `w` is a prefix of every later
//! version of it. So a cached tile — full, or partial at any width — answers
//! every node inside its width correctly on every replica, and a node beyond
//! it is a miss that re-reads the tile. The writer inserts the tiles it
//! commits *after* the commit is durable, so readers of this process see the
//! right edge from memory and never a tile of an uncommitted batch.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use shared::merkle::{node_hash, Hash, NodeId};

use super::tiles::{check_tile, span, NodeSpan, TileId};
use super::{StoreError, TreeId};
use crate::weighted_cache::WeightedCache;

/// Default memory a store gives its tile cache: a full tile with its
/// interior levels is 16 KiB, so 64 MiB holds about 4,000 of them: the
/// leaf tiles of a million entries, or every tile above the leaves of a
/// log of 2.5 × 10^8 entries (one level-1 tile per 65,536 entries).
/// Holding every tile of a log takes about 64 bytes per entry (16 KiB per
/// 256 leaves, plus 1/256 of that for the levels above).
pub const DEFAULT_TILE_CACHE_BYTES: usize = 64 << 20;

/// A tile's bottom row and every complete subtree above it inside the tile:
/// `rows[k]` holds the `width >> k` nodes of height `k` over the row.
#[derive(Debug)]
pub(crate) struct Tile {
    rows: Vec<Vec<Hash>>,
}

impl Tile {
    /// Builds the interior levels over the stored bytes of tile `id`.
    /// `prefix`, an older (narrower) version of the same tile, saves
    /// re-hashing the part of each row it already has.
    pub(crate) fn build(
        id: TileId,
        bytes: &[u8],
        prefix: Option<&Self>,
    ) -> Result<Self, StoreError> {
        check_tile(id, bytes)?;
        let bottom: Vec<Hash> = bytes
            .chunks_exact(32)
            .map(|c| Hash::from_slice(c).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect::<Result<_, _>>()?;
        // A prefix that disagrees with what was read would be corruption;
        // ignoring it costs only the hashing it would have saved.
        let prefix = prefix.filter(|p| bottom.starts_with(&p.rows[0]));
        let mut rows = vec![bottom];
        for height in 1.. {
            let below = &rows[height - 1];
            if below.len() < 2 {
                break;
            }
            // Exact capacity: the cache counts a row's length as its memory.
            let mut row: Vec<Hash> = Vec::with_capacity(below.len() / 2);
            if let Some(done) = prefix.and_then(|p| p.rows.get(height)) {
                row.extend_from_slice(done);
            }
            for i in row.len()..below.len() / 2 {
                row.push(node_hash(&below[2 * i], &below[2 * i + 1]));
            }
            rows.push(row);
        }
        Ok(Self { rows })
    }

    /// Bottom-row hashes held.
    pub(crate) fn width(&self) -> usize {
        self.rows[0].len()
    }

    /// The bottom row as tile bytes (32 per hash).
    fn bottom_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.rows[0].len() * 32);
        for hash in &self.rows[0] {
            bytes.extend_from_slice(&hash.0);
        }
        bytes
    }

    /// The node `span` names, if the tile is wide enough to hold all of it.
    fn node(&self, span: &NodeSpan) -> Option<Hash> {
        // Spans are aligned to their width, a power of two below 256.
        let height = span.width.trailing_zeros() as usize;
        self.rows.get(height)?.get(span.offset >> height).copied()
    }

    /// Bytes held, as the cache counts them.
    fn weight(&self) -> usize {
        self.rows.iter().map(|r| r.len() * 32).sum::<usize>() + 64
    }
}

/// What a full tile with its interior rows weighs, about; the cache is
/// sized by it.
const TYPICAL_TILE_WEIGHT: usize = 16 << 10;

/// The tiles of all trees of one store, shared by its readers and writer.
pub(crate) struct TileCache {
    tiles: WeightedCache<(TreeId, TileId), Arc<Tile>>,
}

impl std::fmt::Debug for TileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TileCache").finish_non_exhaustive()
    }
}

impl TileCache {
    /// A cache of at most about `budget` bytes.
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            tiles: WeightedCache::new(budget, TYPICAL_TILE_WEIGHT),
        }
    }

    /// The hashes of `ids`, from the cache where it holds them and from
    /// `read` (the store's query for the tiles given, absent ones omitted)
    /// for the rest, which are then cached.
    pub(crate) async fn read_nodes<F, Fut>(
        &self,
        tree: TreeId,
        ids: &[NodeId],
        read: F,
    ) -> Result<Vec<Hash>, StoreError>
    where
        F: FnOnce(Vec<TileId>) -> Fut,
        Fut: Future<Output = Result<HashMap<TileId, Vec<u8>>, StoreError>>,
    {
        let spans: Vec<NodeSpan> = ids.iter().map(|&id| span(id)).collect::<Result<_, _>>()?;
        let mut found: Vec<Option<Hash>> = Vec::with_capacity(ids.len());
        let mut missing: Vec<TileId> = Vec::new();
        // A proof touches a handful of tiles: a list beats a map here.
        let mut seen: Vec<(TileId, Option<Arc<Tile>>)> = Vec::with_capacity(8);
        for s in &spans {
            let tile = match seen.iter().position(|(id, _)| *id == s.tile) {
                Some(at) => &seen[at].1,
                None => {
                    seen.push((s.tile, self.tiles.get(&(tree, s.tile))));
                    &seen[seen.len() - 1].1
                }
            };
            let hash = tile.as_ref().and_then(|t| t.node(s));
            if hash.is_none() && !missing.contains(&s.tile) {
                missing.push(s.tile);
            }
            found.push(hash);
        }
        if !missing.is_empty() {
            missing.sort_unstable();
            let read = read(missing).await?;
            let mut fresh = HashMap::with_capacity(read.len());
            for (id, bytes) in read {
                fresh.insert(id, self.insert(tree, id, &bytes)?);
            }
            for (slot, s) in found.iter_mut().zip(&spans) {
                if slot.is_none() {
                    *slot = fresh.get(&s.tile).and_then(|t| t.node(s));
                }
            }
        }
        found
            .into_iter()
            .zip(ids)
            .map(|(hash, id)| {
                hash.ok_or(StoreError::MissingNode {
                    level: id.level,
                    index: id.index,
                })
            })
            .collect()
    }

    /// The bottom row of tile `id` if it holds at least `min_width` hashes:
    /// from the cache when a wide enough version is held, else from `read`
    /// (then cached). Serves C2SP tiles.
    pub(crate) async fn read_tile<F, Fut>(
        &self,
        tree: TreeId,
        id: TileId,
        min_width: usize,
        read: F,
    ) -> Result<Option<Vec<u8>>, StoreError>
    where
        F: FnOnce(Vec<TileId>) -> Fut,
        Fut: Future<Output = Result<HashMap<TileId, Vec<u8>>, StoreError>>,
    {
        if let Some(tile) = self.tiles.get(&(tree, id)) {
            if tile.width() >= min_width {
                return Ok(Some(tile.bottom_bytes()));
            }
        }
        let Some(bytes) = read(vec![id]).await?.remove(&id) else {
            return Ok(None);
        };
        self.insert(tree, id, &bytes)?;
        Ok((bytes.len() >= min_width * 32).then_some(bytes))
    }

    /// Caches the bytes of tile `id` as read or just committed, unless a
    /// version at least as wide is cached already; returns the tile built.
    pub(crate) fn insert(
        &self,
        tree: TreeId,
        id: TileId,
        bytes: &[u8],
    ) -> Result<Arc<Tile>, StoreError> {
        let key = (tree, id);
        let old = self.tiles.get(&key);
        if let Some(old) = old.as_ref().filter(|t| t.width() * 32 >= bytes.len()) {
            return Ok(old.clone());
        }
        let tile = Arc::new(Tile::build(id, bytes, old.as_deref())?);
        let width = tile.width();
        self.tiles
            .insert_unless(key, tile.clone(), tile.weight(), |cached| {
                cached.width() >= width
            });
        Ok(tile)
    }
}

#[cfg(test)]
mod tests {
    use shared::merkle::{leaf_hash, Frontier};

    use super::super::tiles::{extend_tiles, touched_tiles};
    use super::*;

    /// Tiles of a tree of `size` leaves, and every complete node in it.
    fn tree_tiles(size: u64) -> (HashMap<TileId, Vec<u8>>, HashMap<NodeId, Hash>) {
        let mut frontier = Frontier::new();
        let mut nodes = Vec::new();
        for i in 0..size {
            nodes.extend(frontier.append(leaf_hash(&i.to_be_bytes())));
        }
        let tiles = extend_tiles(&nodes, &HashMap::new()).unwrap();
        assert!(!touched_tiles(&nodes).unwrap().is_empty());
        (tiles.into_iter().collect(), nodes.into_iter().collect())
    }

    fn tree() -> TreeId {
        TreeId::new(7).unwrap()
    }

    #[tokio::test]
    async fn every_complete_node_comes_out_right_and_reads_happen_once() {
        let (tiles, all) = tree_tiles(70_001);
        let cache = TileCache::new(DEFAULT_TILE_CACHE_BYTES);
        let ids: Vec<NodeId> = all.keys().copied().collect();
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let read = |wanted: Vec<TileId>| {
            reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let out: HashMap<TileId, Vec<u8>> = wanted
                .iter()
                .filter_map(|t| tiles.get(t).map(|b| (*t, b.clone())))
                .collect();
            async move { Ok(out) }
        };
        let got = cache.read_nodes(tree(), &ids, read).await.unwrap();
        for (id, hash) in ids.iter().zip(got) {
            assert_eq!(all[id], hash, "{id:?}");
        }
        assert_eq!(reads.load(std::sync::atomic::Ordering::Relaxed), 1);
        let again = cache
            .read_nodes(tree(), &ids, |_| async {
                Err(StoreError::Corrupt("read after caching".into()))
            })
            .await
            .unwrap();
        for (id, hash) in ids.iter().zip(again) {
            assert_eq!(all[id], hash, "{id:?} from the cache");
        }
    }

    #[tokio::test]
    async fn a_narrow_partial_tile_is_re_read_for_a_node_beyond_it() {
        let (small, _) = tree_tiles(100);
        let (big, all) = tree_tiles(200);
        let cache = TileCache::new(DEFAULT_TILE_CACHE_BYTES);
        let t0 = TileId { level: 0, index: 0 };
        cache.insert(tree(), t0, &small[&t0]).unwrap();
        // Node (4, 6) covers leaves 96..112: beyond the cached 100.
        let inside = NodeId { level: 5, index: 2 };
        let beyond = NodeId { level: 4, index: 6 };
        let got = cache
            .read_nodes(tree(), &[inside], |_| async {
                Err(StoreError::Corrupt("must come from the cache".into()))
            })
            .await
            .unwrap();
        assert_eq!(got, vec![all[&inside]]);
        let got = cache
            .read_nodes(tree(), &[inside, beyond], |wanted| {
                assert_eq!(wanted, vec![t0]);
                let bytes = big[&t0].clone();
                async move { Ok(HashMap::from([(t0, bytes)])) }
            })
            .await
            .unwrap();
        assert_eq!(got, vec![all[&inside], all[&beyond]]);
        // The wider version replaced the narrow one; a narrower one does not come back.
        cache.insert(tree(), t0, &small[&t0]).unwrap();
        let got = cache
            .read_nodes(tree(), &[beyond], |_| async {
                Err(StoreError::Corrupt("must come from the cache".into()))
            })
            .await
            .unwrap();
        assert_eq!(got, vec![all[&beyond]]);
    }

    #[tokio::test]
    async fn an_absent_tile_is_a_missing_node_not_a_wrong_hash() {
        let cache = TileCache::new(DEFAULT_TILE_CACHE_BYTES);
        let err = cache
            .read_nodes(tree(), &[NodeId { level: 0, index: 3 }], |_| async {
                Ok(HashMap::new())
            })
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            StoreError::MissingNode { level: 0, index: 3 }
        ));
    }

    #[test]
    fn building_on_a_prefix_gives_the_same_rows() {
        let (small, _) = tree_tiles(100);
        let (big, _) = tree_tiles(256);
        let t0 = TileId { level: 0, index: 0 };
        let narrow = Tile::build(t0, &small[&t0], None).unwrap();
        let grown = Tile::build(t0, &big[&t0], Some(&narrow)).unwrap();
        let direct = Tile::build(t0, &big[&t0], None).unwrap();
        assert_eq!(grown.rows, direct.rows);
        assert_eq!(direct.rows.len(), 9, "256 wide: heights 0..=8");
        assert_eq!(direct.weight(), 511 * 32 + 64);
        // A prefix of another tree is ignored, not trusted.
        let (other, _) = tree_tiles(300);
        let wrong = Tile::build(
            TileId { level: 0, index: 1 },
            &other[&TileId { level: 0, index: 1 }],
            None,
        )
        .unwrap();
        let rebuilt = Tile::build(t0, &big[&t0], Some(&wrong)).unwrap();
        assert_eq!(rebuilt.rows, direct.rows);
    }
}
