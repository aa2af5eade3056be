//! C2SP tlog-tiles (https://c2sp.org/tlog-tiles): the resource paths of hash
//! tiles (§ Merkle Tree) and entry bundles (§ Log entries), which tiles a tree
//! of a given size holds and how wide they are (§ Partial Tiles), and the entry
//! bundle encoding (big-endian uint16 length-prefixed entries).
//!
//! A tile at level `L` and index `N` holds up to 256 consecutive Merkle tree
//! hashes at height `8·L`, spanning leaves `[N·256^(L+1), (N+1)·256^(L+1))`; an
//! entry bundle holds the entries behind the level-0 tile of the same index.
//! The hashes themselves are RFC 6962 ones, computed by [`crate::merkle`].

use std::num::NonZeroU8;

/// Hashes (or entries) in a full tile (or entry bundle).
pub const FULL_TILE_WIDTH: u16 = 256;

/// The highest tile level a path may name (§ Merkle Tree: `<L>` is 0 to 63).
///
/// A tree of at most `u64::MAX` leaves has no tiles above level 7.
pub const MAX_TILE_LEVEL: u8 = 63;

/// Tile path and entry bundle errors.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum TileError {
    #[error("malformed tile path: {0}")]
    MalformedPath(String),
    #[error("entry {index} of the bundle is {len} bytes; at most 65535 fit a uint16 length")]
    EntryTooLarge { index: usize, len: usize },
    #[error("an entry bundle holds 1 to 256 entries, not {0}")]
    BundleSize(usize),
    #[error("entry bundle truncated in entry {index} (at byte {offset})")]
    TruncatedBundle { index: usize, offset: usize },
}

/// The width of a partial tile or entry bundle: 1 to 255 hashes or entries
/// (a full one has 256, and an empty one is never served).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileWidth(NonZeroU8);

impl TileWidth {
    /// `None` for 0, which is not a width.
    pub const fn new(width: u8) -> Option<Self> {
        match NonZeroU8::new(width) {
            Some(w) => Some(Self(w)),
            None => None,
        }
    }

    pub const fn get(self) -> u8 {
        self.0.get()
    }
}

/// A tile resource, named by the path after `<prefix>/tile/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TilePath {
    /// `<L>/<N>[.p/<W>]`: the `index`-th tile of hashes at `level`. Parsed
    /// paths have `level <= MAX_TILE_LEVEL`.
    Hashes {
        level: u8,
        index: u64,
        /// `Some` for a partial tile.
        width: Option<TileWidth>,
    },
    /// `entries/<N>[.p/<W>]`: the entries behind level-0 tile `index`.
    Entries {
        index: u64,
        /// `Some` for a partial bundle.
        width: Option<TileWidth>,
    },
}

impl TilePath {
    /// Parses the part of a path after `tile/`, accepting only the one
    /// canonical spelling of each resource: `<L>` without leading zeros,
    /// `<N>` in 3-digit groups with an `x` before all but the last and no
    /// leading `x000` group, and `<W>` from 1 to 255 without leading zeros.
    pub fn parse(path: &str) -> Result<Self, TileError> {
        let (head, rest) = path
            .split_once('/')
            .ok_or_else(|| malformed(format!("{path:?} has no tile index")))?;
        let (index, width) = parse_index_and_width(rest)?;
        if head == "entries" {
            return Ok(Self::Entries { index, width });
        }
        let level = parse_small_decimal(head)
            .and_then(|l| u8::try_from(l).ok())
            .filter(|&l| l <= MAX_TILE_LEVEL)
            .ok_or_else(|| malformed(format!("level {head:?} is not a number from 0 to 63")))?;
        Ok(Self::Hashes {
            level,
            index,
            width,
        })
    }

    /// The canonical path, `tile/...` (relative to the log's prefix).
    pub fn path(&self) -> String {
        let (head, index, width) = match *self {
            Self::Hashes {
                level,
                index,
                width,
            } => (level.to_string(), index, width),
            Self::Entries { index, width } => ("entries".to_owned(), index, width),
        };
        let mut out = format!("tile/{head}/{}", encode_index(index));
        if let Some(w) = width {
            out.push_str(&format!(".p/{}", w.get()));
        }
        out
    }

    /// How many hashes (or entries) this resource holds, if a log whose
    /// latest tree has `tree_size` leaves can serve it; `None` if it cannot.
    ///
    /// A full path needs a full tile. A partial path of width `W` needs at
    /// least `W` hashes: it is the tile as a smaller tree, one with a
    /// checkpoint of its own, saw it, and a log MAY still serve it after the
    /// tile has grown or filled (§ Partial Tiles). Whether such a tree was
    /// ever checkpointed is the client's business: it must not ask otherwise.
    pub fn width_in(&self, tree_size: u64) -> Option<u16> {
        let (fill, asked) = match *self {
            Self::Hashes {
                level,
                index,
                width,
            } => (tile_fill(tree_size, level, index)?, width),
            Self::Entries { index, width } => (entry_bundle_fill(tree_size, index)?, width),
        };
        match asked {
            None => (fill == TileFill::Full).then_some(FULL_TILE_WIDTH),
            Some(w) => (u16::from(w.get()) <= fill.width()).then_some(u16::from(w.get())),
        }
    }
}

/// How much of a tile a tree fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TileFill {
    /// All 256 hashes: the tile never changes again.
    Full,
    /// The rightmost tile of its level, with this many hashes.
    Partial(TileWidth),
}

impl TileFill {
    /// Hashes (or entries) in the tile: 1 to 256.
    pub fn width(self) -> u16 {
        match self {
            Self::Full => FULL_TILE_WIDTH,
            Self::Partial(w) => u16::from(w.get()),
        }
    }

    /// The `.p/<W>` a path to this tile carries: none for a full tile.
    pub fn path_width(self) -> Option<TileWidth> {
        match self {
            Self::Full => None,
            Self::Partial(w) => Some(w),
        }
    }
}

/// Whether tile `index` at `level` exists in a tree of `tree_size` leaves,
/// and how full it is (§ Partial Tiles): the tree has `floor(s / 256^(L+1))`
/// full tiles at level `L`, then a partial one of width
/// `floor(s / 256^L) mod 256` unless that is zero (empty tiles do not exist).
pub fn tile_fill(tree_size: u64, level: u8, index: u64) -> Option<TileFill> {
    // Hashes at this level: complete subtrees of 256^level leaves. 256^8 =
    // 2^64 exceeds any tree size, so there are none from level 8 up.
    let hashes = if level < 8 {
        tree_size >> (8 * u32::from(level))
    } else {
        0
    };
    let full_tiles = hashes >> 8;
    if index < full_tiles {
        return Some(TileFill::Full);
    }
    // Truncating to the low byte is the `mod 256` of the spec's formula.
    let partial = hashes as u8;
    match TileWidth::new(partial) {
        Some(w) if index == full_tiles => Some(TileFill::Partial(w)),
        _ => None,
    }
}

/// Whether entry bundle `index` exists in a tree of `tree_size` leaves, and
/// how full it is: the same as level-0 tile `index` (§ Log entries).
pub fn entry_bundle_fill(tree_size: u64, index: u64) -> Option<TileFill> {
    tile_fill(tree_size, 0, index)
}

/// Encodes an entry bundle: each entry as a big-endian uint16 length and its
/// bytes. A bundle holds 1 to 256 entries of at most 65,535 bytes each.
pub fn encode_entry_bundle<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, TileError> {
    let mut out = Vec::new();
    let mut count = 0usize;
    for (index, entry) in entries.into_iter().enumerate() {
        let len = u16::try_from(entry.len()).map_err(|_| TileError::EntryTooLarge {
            index,
            len: entry.len(),
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(entry);
        count = index + 1;
    }
    check_bundle_size(count)?;
    Ok(out)
}

/// Decodes an entry bundle into its 1 to 256 entries, refusing any trailing
/// or missing bytes.
pub fn decode_entry_bundle(bytes: &[u8]) -> Result<Vec<&[u8]>, TileError> {
    let mut entries = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let index = entries.len();
        let offset = bytes.len() - rest.len();
        let truncated = TileError::TruncatedBundle { index, offset };
        let [hi, lo, tail @ ..] = rest else {
            return Err(truncated);
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        if tail.len() < len {
            return Err(truncated);
        }
        let (entry, tail) = tail.split_at(len);
        entries.push(entry);
        rest = tail;
    }
    check_bundle_size(entries.len())?;
    Ok(entries)
}

fn check_bundle_size(count: usize) -> Result<(), TileError> {
    if count == 0 || count > usize::from(FULL_TILE_WIDTH) {
        return Err(TileError::BundleSize(count));
    }
    Ok(())
}

fn malformed(msg: String) -> TileError {
    TileError::MalformedPath(msg)
}

/// `<N>[.p/<W>]`.
fn parse_index_and_width(s: &str) -> Result<(u64, Option<TileWidth>), TileError> {
    let (index, width) = match s.split_once(".p/") {
        Some((index, width)) => {
            let w = parse_small_decimal(width)
                .and_then(|w| u8::try_from(w).ok())
                .and_then(TileWidth::new)
                .ok_or_else(|| {
                    malformed(format!(
                        "partial width {width:?} is not a number from 1 to 255"
                    ))
                })?;
            (index, Some(w))
        }
        None => (s, None),
    };
    Ok((parse_index(index)?, width))
}

/// `x001/x234/067`: 3-digit groups, `x` before all but the last.
fn parse_index(s: &str) -> Result<u64, TileError> {
    let groups: Vec<&str> = s.split('/').collect();
    // `split` yields at least one (possibly empty) element.
    let last = groups.len().saturating_sub(1);
    let mut index: u64 = 0;
    for (i, group) in groups.iter().enumerate() {
        let digits = if i < last {
            group.strip_prefix('x').ok_or_else(|| {
                malformed(format!(
                    "index element {group:?} is not the last but does not start with 'x'"
                ))
            })?
        } else {
            group
        };
        let value = match digits.as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_digit) => {
                u64::from(a - b'0') * 100 + u64::from(b - b'0') * 10 + u64::from(c - b'0')
            }
            _ => {
                return Err(malformed(format!(
                    "index element {group:?} is not {}3 digits",
                    if i < last { "'x' and " } else { "" }
                )))
            }
        };
        if i == 0 && i < last && value == 0 {
            return Err(malformed(format!("index {s:?} has a leading x000 element")));
        }
        index = index
            .checked_mul(1000)
            .and_then(|n| n.checked_add(value))
            .ok_or_else(|| malformed(format!("index {s:?} does not fit 64 bits")))?;
    }
    Ok(index)
}

/// A decimal of at most 3 digits with no leading zeros (`0` itself is fine).
fn parse_small_decimal(s: &str) -> Option<u16> {
    let canonical = (1..=3).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    if !canonical {
        return None;
    }
    s.parse().ok()
}

/// `1234067` → `x001/x234/067`.
fn encode_index(index: u64) -> String {
    let mut out = format!("{:03}", index % 1000);
    let mut rest = index / 1000;
    while rest > 0 {
        out = format!("x{:03}/{out}", rest % 1000);
        rest /= 1000;
    }
    out
}

#[cfg(test)]
mod tests;
