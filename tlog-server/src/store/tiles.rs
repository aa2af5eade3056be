//! Tree nodes stored as tiles, in the C2SP tlog-tiles layout
//! (<https://c2sp.org/tlog-tiles>): a tile of height 8 at tile level `L`
//! and index `N` holds, as its bottom row, the hashes of the complete
//! subtrees at tree level `8·L` with indices `256·N .. 256·N + W`
//! (`W` = 256 for a full tile, 1..=255 for the partial tile at the right
//! edge, which is rewritten as it grows). A node at tree level `l` lives in
//! the tile at tile level `l / 8` and is derived by hashing `2^(l mod 8)`
//! consecutive hashes of that tile's bottom row.
//!
//! Both SQL stores keep one row per tile; a proof of a tree of `n` leaves
//! then touches O(log n / 8) tile rows, a handful. The stored bytes are the
//! bottom row's hashes concatenated, exactly a tlog-tiles tile body, so they
//! can later be served read-only.

use std::collections::{BTreeMap, HashMap};

#[cfg(test)]
use shared::merkle::node_hash;
use shared::merkle::{Hash, NodeId};

use super::StoreError;

/// Tree levels per tile.
pub(crate) const TILE_HEIGHT: u8 = 8;
/// Hashes in a full tile's bottom row.
pub(crate) const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;
/// Bytes of a full tile.
pub(crate) const FULL_TILE_BYTES: usize = TILE_WIDTH as usize * 32;

/// A tile: tile level (0..=7, as tree levels are below 64) and index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct TileId {
    pub(crate) level: u8,
    pub(crate) index: u64,
}

/// Where a node's hash comes from: `width` hashes of `tile`'s bottom row from `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NodeSpan {
    pub(crate) tile: TileId,
    pub(crate) offset: usize,
    pub(crate) width: usize,
}

impl NodeSpan {
    /// The span of `node` (`None` for indices too large for any tree).
    pub(crate) fn of(node: NodeId) -> Option<Self> {
        let sub = u32::from(node.level % TILE_HEIGHT);
        let first = node.index.checked_mul(1u64 << sub)?;
        Some(Self {
            tile: TileId {
                level: node.level / TILE_HEIGHT,
                index: first / TILE_WIDTH,
            },
            // Both below 256, so the casts are lossless.
            offset: (first % TILE_WIDTH) as usize,
            width: 1usize << sub,
        })
    }

    /// The node's hash from the bytes of its tile, or `None` when the tile
    /// does not (yet) hold the whole span. The plain derivation, kept as the
    /// reference the tile cache's precomputed rows are tested against.
    #[cfg(test)]
    pub(crate) fn hash_in(&self, tile: &[u8]) -> Option<Hash> {
        let bytes = tile.get(self.offset * 32..(self.offset + self.width) * 32)?;
        let mut row: Vec<Hash> = bytes
            .chunks_exact(32)
            .map(|c| Hash::from_slice(c).ok())
            .collect::<Option<_>>()?;
        // A complete subtree of `width` (a power of two) bottom-row hashes:
        // hash pairs level by level up to its root.
        while row.len() > 1 {
            row = row
                .chunks_exact(2)
                .map(|p| node_hash(&p[0], &p[1]))
                .collect();
        }
        row.first().copied()
    }
}

/// The distinct tiles that hold `ids` (in ascending order).
pub(crate) fn tiles_for(ids: &[NodeId]) -> Result<Vec<TileId>, StoreError> {
    let mut tiles: Vec<TileId> = ids
        .iter()
        .map(|&id| span(id).map(|s| s.tile))
        .collect::<Result<_, _>>()?;
    tiles.sort_unstable();
    tiles.dedup();
    Ok(tiles)
}

/// Derives the hashes of `ids` (in order) from the tiles read, by
/// [`NodeSpan::hash_in`] (the tests' reference derivation).
#[cfg(test)]
pub(crate) fn nodes_from_tiles(
    ids: &[NodeId],
    tiles: &HashMap<TileId, Vec<u8>>,
) -> Result<Vec<Hash>, StoreError> {
    ids.iter()
        .map(|&id| {
            let s = span(id)?;
            tiles
                .get(&s.tile)
                .and_then(|t| s.hash_in(t))
                .ok_or(StoreError::MissingNode {
                    level: id.level,
                    index: id.index,
                })
        })
        .collect()
}

/// The tiles a batch's new nodes extend: only nodes at tile-boundary levels
/// (0, 8, 16, ...) are stored; the rest are derived from them.
pub(crate) fn touched_tiles(nodes: &[(NodeId, Hash)]) -> Result<Vec<TileId>, StoreError> {
    let stored: Vec<NodeId> = nodes
        .iter()
        .filter(|(id, _)| id.level % TILE_HEIGHT == 0)
        .map(|(id, _)| *id)
        .collect();
    tiles_for(&stored)
}

/// The new contents of every tile the batch's `nodes` extend, given the
/// current contents of those tiles (`existing`; absent = empty). Each new
/// bottom-row hash must land exactly at its tile's current width: a gap or
/// an overwrite means the batch does not continue the stored tree.
pub(crate) fn extend_tiles(
    nodes: &[(NodeId, Hash)],
    existing: &HashMap<TileId, Vec<u8>>,
) -> Result<Vec<(TileId, Vec<u8>)>, StoreError> {
    let mut out: BTreeMap<TileId, Vec<u8>> = BTreeMap::new();
    let mut sorted: Vec<(NodeId, Hash)> = nodes
        .iter()
        .filter(|(id, _)| id.level % TILE_HEIGHT == 0)
        .copied()
        .collect();
    sorted.sort_unstable_by_key(|(id, _)| *id);
    for (id, hash) in sorted {
        let s = span(id)?;
        let tile = out
            .entry(s.tile)
            .or_insert_with(|| existing.get(&s.tile).cloned().unwrap_or_default());
        if tile.len() != s.offset * 32 || tile.len() >= FULL_TILE_BYTES {
            return Err(StoreError::Conflict(format!(
                "node level {} index {} does not extend tile {}/{} of {} hashes",
                id.level,
                id.index,
                s.tile.level,
                s.tile.index,
                tile.len() / 32
            )));
        }
        tile.extend_from_slice(&hash.0);
    }
    Ok(out.into_iter().collect())
}

/// Checks a tile read from a store: a whole number of hashes, 1..=256 of them.
pub(crate) fn check_tile(tile: TileId, bytes: &[u8]) -> Result<(), StoreError> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(32) || bytes.len() > FULL_TILE_BYTES {
        return Err(StoreError::Corrupt(format!(
            "tile {}/{} has {} bytes",
            tile.level,
            tile.index,
            bytes.len()
        )));
    }
    Ok(())
}

pub(crate) fn span(id: NodeId) -> Result<NodeSpan, StoreError> {
    NodeSpan::of(id).ok_or(StoreError::MissingNode {
        level: id.level,
        index: id.index,
    })
}

#[cfg(test)]
mod tests {
    use shared::merkle::{inclusion_plan, leaf_hash, Frontier};

    use super::*;

    fn node(level: u8, index: u64) -> NodeId {
        NodeId { level, index }
    }

    #[test]
    fn spans_follow_the_tlog_tiles_layout() {
        let s = NodeSpan::of(node(0, 513)).unwrap();
        assert_eq!(
            (s.tile, s.offset, s.width),
            (TileId { level: 0, index: 2 }, 1, 1)
        );
        // Level 3, index 40 covers leaves 320..328: tile 0/1, offset 64, 8 wide.
        let s = NodeSpan::of(node(3, 40)).unwrap();
        assert_eq!(
            (s.tile, s.offset, s.width),
            (TileId { level: 0, index: 1 }, 64, 8)
        );
        // Level 8 is the bottom row of tile level 1.
        let s = NodeSpan::of(node(8, 300)).unwrap();
        assert_eq!(
            (s.tile, s.offset, s.width),
            (TileId { level: 1, index: 1 }, 44, 1)
        );
        let s = NodeSpan::of(node(15, 1)).unwrap();
        assert_eq!(
            (s.tile, s.offset, s.width),
            (TileId { level: 1, index: 0 }, 128, 128)
        );
        assert_eq!(NodeSpan::of(node(7, u64::MAX)), None);
    }

    /// Grows a tree leaf by leaf, keeps its tiles with `extend_tiles`, and
    /// checks every complete node of every size against the frontier's.
    #[test]
    fn tiles_reproduce_every_complete_node() {
        let mut frontier = Frontier::new();
        let mut tiles: HashMap<TileId, Vec<u8>> = HashMap::new();
        let mut all: HashMap<NodeId, Hash> = HashMap::new();
        // 3 batches crossing tile boundaries at levels 0 and 8.
        for batch in [100u64, 300, 70_001] {
            let mut nodes = Vec::new();
            for _ in 0..batch {
                let leaf = leaf_hash(&frontier.size().to_be_bytes());
                nodes.extend(frontier.append(leaf));
            }
            let touched = touched_tiles(&nodes).unwrap();
            let existing: HashMap<TileId, Vec<u8>> = touched
                .iter()
                .filter_map(|t| tiles.get(t).map(|b| (*t, b.clone())))
                .collect();
            for (id, bytes) in extend_tiles(&nodes, &existing).unwrap() {
                check_tile(id, &bytes).unwrap();
                tiles.insert(id, bytes);
            }
            all.extend(nodes);
            let ids: Vec<NodeId> = all.keys().copied().collect();
            let derived = nodes_from_tiles(&ids, &tiles).unwrap();
            for (id, hash) in ids.iter().zip(derived) {
                assert_eq!(all[id], hash, "{id:?}");
            }
        }
        // 70,401 leaves: 276 level-0 tiles (the last partial), 2 at level 1, 1 at level 2.
        assert_eq!(tiles.keys().filter(|t| t.level == 0).count(), 276);
        assert_eq!(
            tiles[&TileId {
                level: 0,
                index: 275
            }]
                .len(),
            32
        );
        assert_eq!(tiles.keys().filter(|t| t.level == 1).count(), 2);
        assert_eq!(tiles.keys().filter(|t| t.level == 2).count(), 1);
        // A proof in a tree of 70,401 touches few tiles.
        let plan = inclusion_plan(12_345, 70_401).unwrap();
        assert!(tiles_for(plan.nodes()).unwrap().len() <= 6);
    }

    #[test]
    fn a_gap_or_an_overwrite_is_refused() {
        let h = Hash([1; 32]);
        let existing: HashMap<TileId, Vec<u8>> =
            [(TileId { level: 0, index: 0 }, vec![0; 64])].into();
        assert!(extend_tiles(&[(node(0, 2), h)], &existing).is_ok());
        assert!(matches!(
            extend_tiles(&[(node(0, 3), h)], &existing),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            extend_tiles(&[(node(0, 1), h)], &existing),
            Err(StoreError::Conflict(_))
        ));
        // A node above level 0 inside a tile is derived, never stored.
        assert!(extend_tiles(&[(node(3, 0), h)], &HashMap::new())
            .unwrap()
            .is_empty());
        assert!(nodes_from_tiles(&[node(1, 1)], &existing).is_err());
        assert!(nodes_from_tiles(&[node(1, 0)], &existing).is_ok());
    }
}
