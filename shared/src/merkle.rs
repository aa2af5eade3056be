//! RFC 6962 §2.1 Merkle hash trees: leaf and node hashing, the right edge of
//! a growing tree, inclusion and consistency proofs, and their verification
//! (RFC 9162 §2.1.3.2 and §2.1.4.2).
//!
//! Storage is not this module's business. A tree's nodes are named by
//! [`NodeId`]: the root of the *complete* subtree of `2^level` leaves that
//! starts at leaf `index << level`. Only complete subtrees are ever stored;
//! hashes over the ragged right edge are derived. Proof generation is split so
//! async stores can use it: a `*_plan` function says which nodes are needed, the
//! caller reads them however it likes, and [`ProofPlan::assemble`] combines them.

use sha2::{Digest, Sha256};

/// A SHA-256 Merkle tree hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// Lower-case hex, as Rekor v1 serves hashes.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses exactly 64 hex digits (either case).
    pub fn from_hex(s: &str) -> Result<Self, MerkleError> {
        let mut out = [0u8; 32];
        // `decode_to_slice` insists on exactly 64 digits for a 32-byte buffer.
        hex::decode_to_slice(s, &mut out).map_err(|_| MerkleError::MalformedHash)?;
        Ok(Self(out))
    }

    /// Parses exactly 32 bytes.
    pub fn from_slice(b: &[u8]) -> Result<Self, MerkleError> {
        <[u8; 32]>::try_from(b)
            .map(Self)
            .map_err(|_| MerkleError::MalformedHash)
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

/// Errors from proof generation or verification.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum MerkleError {
    #[error("index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("invalid tree sizes: {first} and {second}")]
    InvalidSizes { first: u64, second: u64 },
    #[error("proof has the wrong number of hashes")]
    WrongProofSize,
    #[error("computed root does not match")]
    RootMismatch,
    #[error("expected {expected} hashes, got {got}")]
    WrongNodeCount { expected: usize, got: usize },
    #[error("malformed hash")]
    MalformedHash,
}

/// SHA-256 of the empty string: the root of the empty tree.
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// RFC 6962 leaf hash: SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    Hash(h.finalize().into())
}

/// RFC 6962 interior node hash: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// The root of the complete subtree of `2^level` leaves starting at leaf `index << level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

/// The right edge of a tree: the roots of the complete subtrees that make up
/// a tree of `size` leaves (one per set bit of `size`, largest first). It is all
/// an appender needs to keep in memory to extend the tree and compute its root.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    /// One hash per set bit of `size`, largest (leftmost) subtree first.
    edge: Vec<Hash>,
}

impl Frontier {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds the edge of a tree of `size` from its stored nodes; `hashes`
    /// must be the nodes named by [`Frontier::nodes_for_size`], in that order.
    pub fn from_nodes(size: u64, hashes: &[Hash]) -> Result<Self, MerkleError> {
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(MerkleError::WrongNodeCount {
                expected,
                got: hashes.len(),
            });
        }
        Ok(Self {
            size,
            edge: hashes.to_vec(),
        })
    }

    /// The complete-subtree roots that make up a tree of `size`, largest (leftmost) first.
    pub fn nodes_for_size(size: u64) -> Vec<NodeId> {
        range_nodes(0, size)
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The edge's hashes, in the order [`Frontier::from_nodes`] takes them.
    pub fn hashes(&self) -> &[Hash] {
        &self.edge
    }

    /// Appends one leaf hash; returns every complete-subtree node this append
    /// completed (the leaf itself at level 0 first, then its ancestors), which
    /// is what a store must persist.
    pub fn append(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        let mut completed = vec![(
            NodeId {
                level: 0,
                index: self.size,
            },
            leaf,
        )];
        let mut hash = leaf;
        let mut level: u8 = 0;
        // Each set low bit of the old size is a complete left sibling on the
        // edge that the new node now pairs with, exactly like a binary carry.
        while (self.size >> level) & 1 == 1 {
            let Some(left) = self.edge.pop() else {
                // The edge holds one hash per set bit of `size` (an invariant
                // of every constructor), so a set bit always has its hash.
                break;
            };
            hash = node_hash(&left, &hash);
            level += 1;
            completed.push((
                NodeId {
                    level,
                    index: self.size >> level,
                },
                hash,
            ));
        }
        self.edge.push(hash);
        self.size += 1;
        completed
    }

    /// The Merkle tree hash (root) of the current tree; `empty_root()` for size 0.
    pub fn root(&self) -> Hash {
        fold_right(&self.edge)
    }
}

/// Which stored nodes a proof needs, and how to combine them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofPlan {
    nodes: Vec<NodeId>,
    /// One entry per output hash: the half-open range of `nodes` whose
    /// right fold is that hash (a complete subtree is a range of one).
    parts: Vec<(usize, usize)>,
}

impl ProofPlan {
    /// The distinct nodes to read, in the order `assemble` expects them.
    pub fn nodes(&self) -> &[NodeId] {
        &self.nodes
    }

    /// Builds the proof (RFC 6962 order: leaf to root) from the hashes of `nodes()`.
    pub fn assemble(&self, hashes: &[Hash]) -> Result<Vec<Hash>, MerkleError> {
        if hashes.len() != self.nodes.len() {
            return Err(MerkleError::WrongNodeCount {
                expected: self.nodes.len(),
                got: hashes.len(),
            });
        }
        Ok(self
            .parts
            .iter()
            .map(|&(from, to)| fold_right(&hashes[from..to]))
            .collect())
    }

    fn from_ranges(ranges: &[(u64, u64)]) -> Self {
        let mut plan = Self {
            nodes: Vec::new(),
            parts: Vec::with_capacity(ranges.len()),
        };
        for &(start, end) in ranges {
            let from = plan.nodes.len();
            plan.nodes.extend(range_nodes(start, end));
            plan.parts.push((from, plan.nodes.len()));
        }
        plan
    }
}

/// Plan for the inclusion proof of leaf `index` in the tree of `size` leaves (RFC 6962 §2.1.1).
pub fn inclusion_plan(index: u64, size: u64) -> Result<ProofPlan, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    // RFC 6962 PATH(m, D[start:end]) unrolled from the root down; the
    // sibling found at each split is pushed, then reversed to leaf→root.
    let mut ranges = Vec::new();
    let (mut start, mut end) = (0, size);
    while end - start > 1 {
        let k = split_point(end - start);
        if index < start + k {
            ranges.push((start + k, end));
            end = start + k;
        } else {
            ranges.push((start, start + k));
            start += k;
        }
    }
    ranges.reverse();
    Ok(ProofPlan::from_ranges(&ranges))
}

/// Plan for the consistency proof between tree sizes `first` and `second`
/// (RFC 6962 §2.1.2); 0 < first <= second. first == second gives an empty proof.
pub fn consistency_plan(first: u64, second: u64) -> Result<ProofPlan, MerkleError> {
    if first == 0 || first > second {
        return Err(MerkleError::InvalidSizes { first, second });
    }
    // RFC 6962 SUBPROOF(m, D[start:end], b) unrolled from the root down.
    // `m` is the old size relative to `start`.
    let mut ranges = Vec::new();
    let (mut start, mut end, mut m, mut whole) = (0, second, first, true);
    while m != end - start {
        let k = split_point(end - start);
        if m <= k {
            ranges.push((start + k, end));
            end = start + k;
        } else {
            ranges.push((start, start + k));
            start += k;
            m -= k;
            whole = false;
        }
    }
    // The old tree's own root is needed unless the old tree is exactly the
    // subtree we stopped at and the verifier already knows its root.
    if !whole {
        ranges.push((start, end));
    }
    ranges.reverse();
    Ok(ProofPlan::from_ranges(&ranges))
}

/// Plan for the root hash of the tree of `size` leaves (assemble yields one hash).
pub fn root_plan(size: u64) -> Result<ProofPlan, MerkleError> {
    Ok(ProofPlan::from_ranges(&[(0, size)]))
}

/// Synchronous node source for the convenience functions below and for tests.
pub trait HashReader {
    type Error: From<MerkleError>;
    /// Returns the hashes of `ids`, in order.
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Self::Error>;
}

/// The inclusion proof of leaf `index` in the tree of `size`, read from `r`.
pub fn inclusion_proof<R: HashReader>(index: u64, size: u64, r: &R) -> Result<Vec<Hash>, R::Error> {
    run_plan(&inclusion_plan(index, size)?, r)
}

/// The consistency proof between sizes `first` and `second`, read from `r`.
pub fn consistency_proof<R: HashReader>(
    first: u64,
    second: u64,
    r: &R,
) -> Result<Vec<Hash>, R::Error> {
    run_plan(&consistency_plan(first, second)?, r)
}

/// RFC 9162 §2.1.3.2 inclusion verification.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(MerkleError::WrongProofSize);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            // Skip the levels where our node is the last one and has no sibling.
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(MerkleError::WrongProofSize);
    }
    if r != *root {
        return Err(MerkleError::RootMismatch);
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2 consistency verification.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> Result<(), MerkleError> {
    if first > second {
        return Err(MerkleError::InvalidSizes { first, second });
    }
    if first == second {
        if !proof.is_empty() {
            return Err(MerkleError::WrongProofSize);
        }
        return if first_root == second_root {
            Ok(())
        } else {
            Err(MerkleError::RootMismatch)
        };
    }
    if first == 0 {
        // Every tree extends the empty tree; there is nothing to prove.
        return if proof.is_empty() {
            Ok(())
        } else {
            Err(MerkleError::WrongProofSize)
        };
    }
    if proof.is_empty() {
        return Err(MerkleError::WrongProofSize);
    }
    // When the old tree is a complete subtree its root is not in the proof.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);

    let (mut fnode, mut snode) = (first - 1, second - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return Err(MerkleError::WrongProofSize);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(MerkleError::WrongProofSize);
    }
    if fr != *first_root || sr != *second_root {
        return Err(MerkleError::RootMismatch);
    }
    Ok(())
}

/// The complete subtrees covering leaves `[start, end)`, largest first, where
/// `start` is a multiple of a power of two no smaller than `end - start` (true
/// of every range RFC 6962's recursions produce). Their right fold is the
/// range's Merkle tree hash.
fn range_nodes(start: u64, end: u64) -> Vec<NodeId> {
    let len = end - start;
    let mut nodes = Vec::with_capacity(len.count_ones() as usize);
    let mut offset = start;
    for level in (0..64u8).rev() {
        if (len >> level) & 1 == 1 {
            nodes.push(NodeId {
                level,
                index: offset >> level,
            });
            offset += 1 << level;
        }
    }
    nodes
}

/// RFC 6962's `k`: the largest power of two smaller than `n` (n > 1).
fn split_point(n: u64) -> u64 {
    debug_assert!(n > 1);
    1 << (63 - (n - 1).leading_zeros())
}

/// MTH of a sequence of complete-subtree roots, largest first: each is the
/// left child of the hash of everything to its right.
fn fold_right(hashes: &[Hash]) -> Hash {
    let mut iter = hashes.iter().rev();
    let Some(last) = iter.next() else {
        return empty_root();
    };
    iter.fold(*last, |acc, left| node_hash(left, &acc))
}

fn run_plan<R: HashReader>(plan: &ProofPlan, r: &R) -> Result<Vec<Hash>, R::Error> {
    let hashes = r.read_nodes(plan.nodes())?;
    Ok(plan.assemble(&hashes)?)
}

#[cfg(test)]
mod tests;
