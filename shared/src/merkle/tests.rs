//! Tests for the parent module: the RFC 6962 / certificate-transparency
//! reference tree, a straightforward recursive reference written from
//! RFC 6962 §2.1, and property tests against `rs_merkle`.

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

// ── Reference data ──────────────────────────────────────────────────────────

/// The leaves of the 8-leaf reference tree in certificate-transparency's
/// merkle tree tests (also used by transparency-dev/merkle).
const CT_LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// Roots of the reference tree for sizes 0..=8.
const CT_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (0-based leaf index, tree size, proof) from the CT tests (which count from 1).
const CT_INCLUSION: [(u64, u64, &[&str]); 4] = [
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (first, second, proof) from the CT tests.
const CT_CONSISTENCY: [(u64, u64, &[&str]); 4] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

fn h(s: &str) -> Hash {
    Hash::from_hex(s).unwrap()
}

fn hs(v: &[&str]) -> Vec<Hash> {
    v.iter().map(|s| h(s)).collect()
}

fn ct_leaf_hashes() -> Vec<Hash> {
    CT_LEAVES
        .iter()
        .map(|l| leaf_hash(&hex::decode(l).unwrap()))
        .collect()
}

fn synthetic_leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

// ── A recursive reference straight from RFC 6962 §2.1 ──────────────────────

fn k_of(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn ref_mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => empty_root(),
        1 => d[0],
        n => {
            let k = k_of(n);
            node_hash(&ref_mth(&d[..k]), &ref_mth(&d[k..]))
        }
    }
}

fn ref_path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n == 1 {
        return vec![];
    }
    let k = k_of(n);
    if m < k {
        let mut p = ref_path(m, &d[..k]);
        p.push(ref_mth(&d[k..]));
        p
    } else {
        let mut p = ref_path(m - k, &d[k..]);
        p.push(ref_mth(&d[..k]));
        p
    }
}

fn ref_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![ref_mth(d)] };
    }
    let k = k_of(n);
    if m <= k {
        let mut p = ref_subproof(m, &d[..k], b);
        p.push(ref_mth(&d[k..]));
        p
    } else {
        let mut p = ref_subproof(m - k, &d[k..], false);
        p.push(ref_mth(&d[..k]));
        p
    }
}

fn ref_proof(m: usize, d: &[Hash]) -> Vec<Hash> {
    ref_subproof(m, d, true)
}

// ── An in-memory store fed only by Frontier::append ────────────────────────

#[derive(Default)]
struct MemStore {
    frontier: Frontier,
    nodes: HashMap<NodeId, Hash>,
    /// The largest number of nodes asked for in one read.
    max_reads: std::cell::Cell<usize>,
}

impl MemStore {
    fn with_leaves(leaves: &[Hash]) -> Self {
        let mut s = Self::default();
        for l in leaves {
            for (id, hash) in s.frontier.append(*l) {
                assert!(s.nodes.insert(id, hash).is_none(), "{id:?} stored twice");
            }
        }
        s
    }
}

#[derive(Debug, PartialEq)]
enum StoreError {
    Missing(NodeId),
    Merkle(MerkleError),
}

impl From<MerkleError> for StoreError {
    fn from(e: MerkleError) -> Self {
        Self::Merkle(e)
    }
}

impl HashReader for MemStore {
    type Error = StoreError;
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        self.max_reads.set(self.max_reads.get().max(ids.len()));
        ids.iter()
            .map(|id| self.nodes.get(id).copied().ok_or(StoreError::Missing(*id)))
            .collect()
    }
}

fn store_root(s: &MemStore, size: u64) -> Hash {
    let plan = root_plan(size).unwrap();
    let got = plan.assemble(&s.read_nodes(plan.nodes()).unwrap()).unwrap();
    assert_eq!(got.len(), 1);
    got[0]
}

// ── Published vectors ──────────────────────────────────────────────────────

#[test]
fn hashing_primitives() {
    assert_eq!(empty_root(), h(CT_ROOTS[0]));
    assert_eq!(leaf_hash(b""), h(CT_ROOTS[1]));
    let l = ct_leaf_hashes();
    assert_eq!(node_hash(&l[0], &l[1]), h(CT_ROOTS[2]));
    // Swapping children must change the hash (0x01 prefix, ordered concat).
    assert_ne!(node_hash(&l[1], &l[0]), h(CT_ROOTS[2]));
}

#[test]
fn reference_tree_roots_via_frontier_and_store() {
    let leaves = ct_leaf_hashes();
    let mut f = Frontier::new();
    assert_eq!(f.root(), h(CT_ROOTS[0]));
    for (i, l) in leaves.iter().enumerate() {
        f.append(*l);
        assert_eq!(f.size(), i as u64 + 1);
        assert_eq!(f.root(), h(CT_ROOTS[i + 1]), "size {}", i + 1);
    }
    let s = MemStore::with_leaves(&leaves);
    for (size, want) in CT_ROOTS.iter().enumerate() {
        assert_eq!(store_root(&s, size as u64), h(want), "size {size}");
        assert_eq!(ref_mth(&leaves[..size]), h(want), "reference, size {size}");
    }
}

#[test]
fn reference_tree_inclusion_proofs() {
    let leaves = ct_leaf_hashes();
    let s = MemStore::with_leaves(&leaves);
    for (index, size, proof) in CT_INCLUSION {
        let want = hs(proof);
        assert_eq!(inclusion_proof(index, size, &s).unwrap(), want);
        let root = h(CT_ROOTS[size as usize]);
        verify_inclusion(&leaves[index as usize], index, size, &want, &root).unwrap();
    }
    // A one-leaf tree has an empty proof.
    assert!(inclusion_proof(0, 1, &s).unwrap().is_empty());
}

#[test]
fn reference_tree_consistency_proofs() {
    let leaves = ct_leaf_hashes();
    let s = MemStore::with_leaves(&leaves);
    for (first, second, proof) in CT_CONSISTENCY {
        let want = hs(proof);
        assert_eq!(consistency_proof(first, second, &s).unwrap(), want);
        let (r1, r2) = (h(CT_ROOTS[first as usize]), h(CT_ROOTS[second as usize]));
        verify_consistency(first, second, &r1, &r2, &want).unwrap();
    }
}

// ── Frontier ───────────────────────────────────────────────────────────────

#[test]
fn append_returns_completed_nodes_leaf_first() {
    let leaves = synthetic_leaves(8);
    let mut f = Frontier::new();
    for l in &leaves[..3] {
        f.append(*l);
    }
    let done = f.append(leaves[3]);
    let ids: Vec<NodeId> = done.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        ids,
        vec![
            NodeId { level: 0, index: 3 },
            NodeId { level: 1, index: 1 },
            NodeId { level: 2, index: 0 },
        ]
    );
    assert_eq!(done[2].1, ref_mth(&leaves[..4]));
    assert_eq!(done[1].1, ref_mth(&leaves[2..4]));
    // Appending to an even size completes only the leaf.
    assert_eq!(
        f.append(leaves[4]),
        vec![(NodeId { level: 0, index: 4 }, leaves[4])]
    );
}

#[test]
fn every_stored_node_is_its_complete_subtree_root() {
    let leaves = synthetic_leaves(100);
    let s = MemStore::with_leaves(&leaves);
    // A tree of n leaves has 2n - popcount(n) complete subtrees.
    assert_eq!(s.nodes.len(), 2 * 100 - 100u64.count_ones() as usize);
    for (id, hash) in &s.nodes {
        let start = (id.index << id.level) as usize;
        let end = start + (1usize << id.level);
        assert_eq!(*hash, ref_mth(&leaves[start..end]), "{id:?}");
    }
}

#[test]
fn frontier_rebuilds_from_stored_nodes() {
    let leaves = synthetic_leaves(77);
    let s = MemStore::with_leaves(&leaves);
    for size in 0..=77u64 {
        let ids = Frontier::nodes_for_size(size);
        assert_eq!(ids.len(), size.count_ones() as usize);
        let mut f = Frontier::from_nodes(size, &s.read_nodes(&ids).unwrap()).unwrap();
        assert_eq!(f.root(), ref_mth(&leaves[..size as usize]));
        // And it keeps growing correctly from there.
        if size < 77 {
            f.append(leaves[size as usize]);
            assert_eq!(f.root(), ref_mth(&leaves[..=size as usize]));
        }
    }
    assert_eq!(
        Frontier::nodes_for_size(6),
        vec![NodeId { level: 2, index: 0 }, NodeId { level: 1, index: 2 }]
    );
    assert_eq!(
        Frontier::from_nodes(3, &[empty_root()]),
        Err(MerkleError::WrongNodeCount {
            expected: 2,
            got: 1
        })
    );
}

// ── Exhaustive small trees against the reference ───────────────────────────

#[test]
fn all_inclusion_proofs_up_to_64() {
    let leaves = synthetic_leaves(64);
    let s = MemStore::with_leaves(&leaves);
    for size in 1..=64u64 {
        let d = &leaves[..size as usize];
        let root = ref_mth(d);
        for index in 0..size {
            let proof = inclusion_proof(index, size, &s).unwrap();
            assert_eq!(proof, ref_path(index as usize, d), "({index}, {size})");
            verify_inclusion(&leaves[index as usize], index, size, &proof, &root).unwrap();
            // Wrong leaf, wrong index, tampered or truncated proofs all fail.
            let other = leaves[((index + 1) % 64) as usize];
            assert!(verify_inclusion(&other, index, size, &proof, &root).is_err());
            if size > 1 {
                let wrong = (index + 1) % size;
                assert!(
                    verify_inclusion(&leaves[index as usize], wrong, size, &proof, &root).is_err()
                );
                let mut bad = proof.clone();
                bad[0].0[0] ^= 1;
                assert_eq!(
                    verify_inclusion(&leaves[index as usize], index, size, &bad, &root),
                    Err(MerkleError::RootMismatch)
                );
                assert_eq!(
                    verify_inclusion(
                        &leaves[index as usize],
                        index,
                        size,
                        &proof[..proof.len() - 1],
                        &root
                    ),
                    Err(MerkleError::WrongProofSize)
                );
            }
            let mut long = proof.clone();
            long.push(root);
            assert_eq!(
                verify_inclusion(&leaves[index as usize], index, size, &long, &root),
                Err(MerkleError::WrongProofSize)
            );
        }
    }
}

#[test]
fn all_consistency_proofs_up_to_64() {
    let leaves = synthetic_leaves(64);
    let s = MemStore::with_leaves(&leaves);
    let roots: Vec<Hash> = (0..=64).map(|n| ref_mth(&leaves[..n])).collect();
    for second in 1..=64u64 {
        for first in 1..=second {
            let proof = consistency_proof(first, second, &s).unwrap();
            let want = ref_proof(first as usize, &leaves[..second as usize]);
            assert_eq!(proof, want, "({first}, {second})");
            let (r1, r2) = (roots[first as usize], roots[second as usize]);
            verify_consistency(first, second, &r1, &r2, &proof).unwrap();
            if first < second {
                let mut bad = proof.clone();
                let last = bad.len() - 1;
                bad[last].0[31] ^= 0x80;
                assert!(verify_consistency(first, second, &r1, &r2, &bad).is_err());
                assert!(verify_consistency(first, second, &r2, &r1, &proof).is_err());
                assert!(verify_consistency(first, second, &r1, &r2, &[]).is_err());
                let mut long = proof.clone();
                long.push(r1);
                assert!(verify_consistency(first, second, &r1, &r2, &long).is_err());
                if second < 64 {
                    let r3 = roots[second as usize + 1];
                    assert!(verify_consistency(first, second + 1, &r1, &r3, &proof).is_err());
                }
            }
        }
    }
}

#[test]
fn argument_errors() {
    assert_eq!(
        inclusion_plan(5, 5),
        Err(MerkleError::IndexOutOfRange { index: 5, size: 5 })
    );
    assert_eq!(
        inclusion_plan(0, 0),
        Err(MerkleError::IndexOutOfRange { index: 0, size: 0 })
    );
    assert_eq!(
        consistency_plan(0, 5),
        Err(MerkleError::InvalidSizes {
            first: 0,
            second: 5
        })
    );
    assert_eq!(
        consistency_plan(6, 5),
        Err(MerkleError::InvalidSizes {
            first: 6,
            second: 5
        })
    );
    assert!(consistency_plan(5, 5).unwrap().nodes().is_empty());
    let plan = inclusion_plan(3, 10).unwrap();
    assert_eq!(
        plan.assemble(&[]),
        Err(MerkleError::WrongNodeCount {
            expected: plan.nodes().len(),
            got: 0
        })
    );
    let r = empty_root();
    assert_eq!(
        verify_inclusion(&r, 3, 3, &[], &r),
        Err(MerkleError::IndexOutOfRange { index: 3, size: 3 })
    );
    assert_eq!(
        verify_consistency(4, 3, &r, &r, &[]),
        Err(MerkleError::InvalidSizes {
            first: 4,
            second: 3
        })
    );
    assert_eq!(verify_consistency(0, 3, &r, &r, &[]), Ok(()));
    assert_eq!(
        verify_consistency(3, 3, &r, &r, &[r]),
        Err(MerkleError::WrongProofSize)
    );
    let other = leaf_hash(b"x");
    assert_eq!(
        verify_consistency(3, 3, &r, &other, &[]),
        Err(MerkleError::RootMismatch)
    );
    // A store error passes through the convenience functions.
    let s = MemStore::with_leaves(&synthetic_leaves(3));
    assert_eq!(
        inclusion_proof(0, 4, &s),
        Err(StoreError::Missing(NodeId { level: 1, index: 1 }))
    );
    assert_eq!(
        consistency_proof(2, 1, &s),
        Err(StoreError::Merkle(MerkleError::InvalidSizes {
            first: 2,
            second: 1
        }))
    );
}

#[test]
fn hash_parsing() {
    let hex64 = CT_ROOTS[1];
    assert_eq!(Hash::from_hex(&hex64.to_uppercase()).unwrap(), h(hex64));
    assert_eq!(h(hex64).to_hex(), hex64);
    for bad in [
        "",
        "00",
        &hex64[..63],
        &format!("{hex64}00"),
        &hex64.replace('6', "g"),
    ] {
        assert_eq!(
            Hash::from_hex(bad),
            Err(MerkleError::MalformedHash),
            "{bad}"
        );
    }
    assert_eq!(Hash::from_slice(&[7; 32]).unwrap(), Hash([7; 32]));
    assert_eq!(Hash::from_slice(&[7; 31]), Err(MerkleError::MalformedHash));
    assert_eq!(format!("{:?}", h(hex64)), format!("Hash({hex64})"));
}

#[test]
fn plans_read_logarithmically_many_nodes() {
    let sizes = [
        1u64 << 40,
        (1 << 40) + 1,
        (1 << 40) - 1,
        1_506_280_580,
        u64::MAX / 3,
        u64::MAX,
    ];
    for &size in &sizes {
        let bits = 64 - size.leading_zeros() as usize;
        for index in [0, 1, size / 2, size - 2, size - 1] {
            let n = inclusion_plan(index, size).unwrap().nodes().len();
            assert!(n <= 2 * bits, "inclusion({index}, {size}) reads {n}");
        }
        for first in [1, 2, 3, size / 2 + 1, size - 1, size] {
            let n = consistency_plan(first, size).unwrap().nodes().len();
            assert!(n <= 2 * bits + 1, "consistency({first}, {size}) reads {n}");
        }
        assert_eq!(
            root_plan(size).unwrap().nodes().len(),
            size.count_ones() as usize
        );
    }
    // No plan ever names the same node twice.
    for size in 1..200u64 {
        for other in 1..=size {
            for plan in [
                consistency_plan(other, size).unwrap(),
                inclusion_plan(other - 1, size).unwrap(),
            ] {
                let mut ids = plan.nodes().to_vec();
                let n = ids.len();
                ids.sort();
                ids.dedup();
                assert_eq!(ids.len(), n, "({other}, {size})");
            }
        }
    }
}

// ── Cross-checks with rs_merkle ────────────────────────────────────────────

/// rs_merkle configured for RFC 6962 interior nodes. It promotes a lone last
/// node unchanged to the next layer, which builds exactly RFC 6962's
/// left-full tree; we feed it RFC 6962 leaf hashes ourselves.
#[derive(Clone)]
struct Rfc6962Hasher;

impl rs_merkle::Hasher for Rfc6962Hasher {
    type Hash = [u8; 32];

    fn hash(data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }

    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(r) => node_hash(&Hash(*left), &Hash(*r)).0,
            None => *left,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn roots_and_inclusion_match_rs_merkle(size in 1u64..1500, pick in any::<u64>()) {
        let leaves = synthetic_leaves(size);
        let raw: Vec<[u8; 32]> = leaves.iter().map(|l| l.0).collect();
        let tree = rs_merkle::MerkleTree::<Rfc6962Hasher>::from_leaves(&raw);
        let s = MemStore::with_leaves(&leaves);
        let root = s.frontier.root();
        prop_assert_eq!(Some(root.0), tree.root());
        prop_assert_eq!(store_root(&s, size), root);

        let index = pick % size;
        let ours = inclusion_proof(index, size, &s).unwrap();
        let theirs: Vec<Hash> = tree
            .proof(&[index as usize])
            .proof_hashes()
            .iter()
            .map(|x| Hash(*x))
            .collect();
        prop_assert_eq!(&ours, &theirs);
        prop_assert!(verify_inclusion(&leaves[index as usize], index, size, &ours, &root).is_ok());
        // Plans are O(log n): at most two nodes per level of the tree.
        let levels = 64 - size.leading_zeros() as usize;
        prop_assert!(s.max_reads.get() <= 2 * levels);
    }

    #[test]
    fn random_consistency_proofs_verify(second in 1u64..3000, pick in any::<u64>()) {
        let first = pick % second + 1;
        let leaves = synthetic_leaves(second);
        let s = MemStore::with_leaves(&leaves);
        let r1 = store_root(&s, first);
        let r2 = s.frontier.root();
        let proof = consistency_proof(first, second, &s).unwrap();
        prop_assert!(verify_consistency(first, second, &r1, &r2, &proof).is_ok());
        if first < second {
            prop_assert_eq!(&proof, &ref_proof(first as usize, &leaves[..second as usize]));
            let mut bad = proof;
            bad[0].0[0] ^= 1;
            prop_assert!(verify_consistency(first, second, &r1, &r2, &bad).is_err());
        }
    }
}
