//! A Rekor v2 log read the way an auditor must, through its C2SP
//! tlog-tiles API (https://c2sp.org/tlog-tiles; docs/rekor-v2.md §2–§3).
//!
//! The checkpoint is a signed note verified against a key given out of band,
//! under the log's origin (its URL without the scheme). Tiles are never
//! trusted: the auditor keeps the tree's right edge (its [`Frontier`]), and
//! every run appends the leaf hashes of the new entries, read from entry
//! bundles, to it. The tree is consistent, and the entries read are exactly
//! the ones logged, only if the edge then recomputes to the new checkpoint's
//! root (RFC 6962 §2.1: a tree is its leaves). Hash tiles are read only to
//! rebuild an edge the auditor has not kept, and that edge too must
//! recompute to a signed root before anything relies on it.

use std::collections::{HashMap, VecDeque};

use anyhow::{anyhow, bail, ensure, Context as _};
use shared::checkpoint::Checkpoint;
use shared::merkle::{leaf_hash, node_hash, Frontier, Hash, NodeId};
use shared::note::{CheckpointVerifier, SignedNote};
use shared::tlog_tiles::{decode_entry_bundle, entry_bundle_fill, tile_fill, TileFill, TilePath};

use super::http::get_capped;

/// The largest checkpoint read (a note with a few dozen cosignatures).
const MAX_CHECKPOINT_BYTES: usize = 64 << 10;
/// Entry bundles fetched at once while scanning.
pub const BUNDLES_IN_FLIGHT: usize = 8;

/// An entry bundle being fetched: its index and bytes once done.
type BundleFetch = tokio::task::JoinHandle<anyhow::Result<(u64, Vec<u8>)>>;

/// Fetches in flight, in order; those still running when a scan stops
/// (on an error) are cancelled, not left to finish unread.
struct InFlight(VecDeque<BundleFetch>);

impl Drop for InFlight {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// The state an auditor keeps of a v2 log: its last verified checkpoint
/// and that tree's right edge, which recomputes to the checkpoint's root.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TiledHead {
    pub origin: String,
    pub size: u64,
    /// Lower-case hex.
    pub root_hash: String,
    /// The edge's hashes (hex), largest subtree first.
    pub frontier: Vec<String>,
}

impl TiledHead {
    fn new(origin: &str, frontier: &Frontier) -> Self {
        Self {
            origin: origin.to_owned(),
            size: frontier.size(),
            root_hash: frontier.root().to_hex(),
            frontier: frontier.hashes().iter().map(Hash::to_hex).collect(),
        }
    }

    /// The kept edge, after checking that it still recomputes to the kept
    /// root (a state file edited by hand proves nothing).
    pub fn frontier(&self) -> anyhow::Result<Frontier> {
        let hashes = self
            .frontier
            .iter()
            .map(|h| Hash::from_hex(h).map_err(|e| anyhow!("state frontier: {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let frontier =
            Frontier::from_nodes(self.size, &hashes).map_err(|e| anyhow!("state frontier: {e}"))?;
        ensure!(
            frontier.root().to_hex() == self.root_hash,
            "the state file's frontier does not recompute to its root"
        );
        Ok(frontier)
    }
}

/// One logged entry, read from an entry bundle.
pub struct TiledEntry {
    pub index: u64,
    pub leaf_hash: Hash,
    /// The canonical body, parsed (`Null` if it is not JSON).
    pub body: serde_json::Value,
}

/// A Rekor v2 log and the key its checkpoints must verify with.
pub struct RekorV2 {
    http: reqwest::Client,
    base: String,
    verifier: CheckpointVerifier,
}

impl RekorV2 {
    /// The log at `base`, whose checkpoints must verify with the PEM key in
    /// `key_file` (Ed25519 or P-256, from the trusted root) under the
    /// origin `base` names.
    pub fn with_key_file(base: &str, key_file: &std::path::Path) -> anyhow::Result<Self> {
        let pem = std::fs::read_to_string(key_file)
            .with_context(|| format!("reading {}", key_file.display()))?;
        let base = base.trim_end_matches('/');
        let origin = base
            .split_once("://")
            .map_or(base, |(_, rest)| rest)
            .to_owned();
        let verifier = CheckpointVerifier::from_public_pem(&origin, &pem)
            .map_err(|e| anyhow!("{}: {e}", key_file.display()))?;
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()?,
            base: base.to_owned(),
            verifier,
        })
    }

    pub fn origin(&self) -> &str {
        self.verifier.name()
    }

    /// The log's latest checkpoint, its signature verified.
    pub async fn head(&self) -> anyhow::Result<Checkpoint> {
        let bytes = self.get("/checkpoint", MAX_CHECKPOINT_BYTES).await?;
        let text = String::from_utf8(bytes).context("the checkpoint is not UTF-8")?;
        self.verify_checkpoint(&text)
    }

    /// A checkpoint (the log's, or a bundle's `checkpoint.envelope`) whose
    /// signature verifies with the log key, for this log's origin.
    pub fn verify_checkpoint(&self, text: &str) -> anyhow::Result<Checkpoint> {
        let note = SignedNote::parse(text)
            .map_err(|e| anyhow!("the checkpoint is not a signed note: {e}"))?;
        self.verifier
            .verify(&note)
            .map_err(|e| anyhow!("the checkpoint does not verify with the log key: {e}"))?;
        let checkpoint = Checkpoint::parse(&note.text)
            .map_err(|e| anyhow!("the signed note is not a checkpoint: {e}"))?;
        ensure!(
            checkpoint.origin == self.origin(),
            "the checkpoint is for origin {:?}, not {:?}",
            checkpoint.origin,
            self.origin()
        );
        Ok(checkpoint)
    }

    /// The right edge of the tree of `size` leaves, rebuilt from the hash
    /// tiles of `head`'s tree. Unverified unless `size == head.size`, where
    /// it must recompute to the head's root; otherwise the caller verifies
    /// it by extending it to a signed root ([`RekorV2::scan`]).
    pub async fn frontier_at(&self, size: u64, head: &Checkpoint) -> anyhow::Result<Frontier> {
        ensure!(
            size <= head.size,
            "index {size} is beyond the tree of {}",
            head.size
        );
        let mut tiles: HashMap<(u8, u64), Vec<Hash>> = HashMap::new();
        let mut hashes = Vec::new();
        for node in Frontier::nodes_for_size(size) {
            hashes.push(self.node_hash(node, head.size, &mut tiles).await?);
        }
        let frontier =
            Frontier::from_nodes(size, &hashes).map_err(|e| anyhow!("rebuilt edge: {e}"))?;
        if size == head.size {
            ensure!(
                frontier.root() == head.root,
                "the hash tiles do not recompute to the checkpoint's root"
            );
        }
        Ok(frontier)
    }

    /// Reads entries `from.size()..head.size` from entry bundles, hands each
    /// to `on_entry` in order, and returns the edge of `head`'s tree, after
    /// checking that it recomputes to `head.root`: that proves the tree at
    /// `head` extends the one `from` is the edge of, with these entries.
    pub async fn scan(
        &self,
        mut frontier: Frontier,
        head: &Checkpoint,
        mut on_entry: impl FnMut(TiledEntry),
    ) -> anyhow::Result<TiledHead> {
        let start = frontier.size();
        ensure!(
            head.size >= start,
            "the log shrank from {start} to {} entries",
            head.size
        );
        // Nothing new: no bundle to read (the edge must still be the head's).
        let first = if start == head.size {
            head.size.div_ceil(256)
        } else {
            start / 256
        };
        let end = head.size.div_ceil(256);
        let mut pending = InFlight(VecDeque::new());
        let mut next = first;
        while next < end || !pending.0.is_empty() {
            while next < end && pending.0.len() < BUNDLES_IN_FLIGHT {
                pending
                    .0
                    .push_back(self.spawn_bundle_fetch(next, head.size)?);
                next += 1;
            }
            let Some(task) = pending.0.pop_front() else {
                break;
            };
            let (bundle_index, bytes) = task.await??;
            let entries = decode_entry_bundle(&bytes)
                .map_err(|e| anyhow!("entry bundle {bundle_index}: {e}"))?;
            let want = entry_bundle_fill(head.size, bundle_index).map_or(0, TileFill::width);
            ensure!(
                entries.len() == usize::from(want),
                "entry bundle {bundle_index} holds {} entries, not {want}",
                entries.len()
            );
            for (offset, body) in (bundle_index * 256..).zip(entries) {
                if offset < start {
                    continue;
                }
                let leaf = leaf_hash(body);
                frontier.append(leaf);
                on_entry(TiledEntry {
                    index: offset,
                    leaf_hash: leaf,
                    body: serde_json::from_slice(body).unwrap_or(serde_json::Value::Null),
                });
            }
        }
        if frontier.root() != head.root {
            bail!(
                "no consistency: the entries from {start} to {} do not recompute to the \
                 checkpoint's root; the tree is not the one before it extended (or the log \
                 served entries that are not in it)",
                head.size
            );
        }
        Ok(TiledHead::new(self.origin(), &frontier))
    }

    /// Fetches entry bundle `index` of a tree of `tree_size`, in the
    /// background; the answer is the bundle's bytes.
    fn spawn_bundle_fetch(&self, index: u64, tree_size: u64) -> anyhow::Result<BundleFetch> {
        let fill = entry_bundle_fill(tree_size, index)
            .ok_or_else(|| anyhow!("no entry bundle {index} in a tree of {tree_size}"))?;
        let path = TilePath::Entries {
            index,
            width: fill.path_width(),
        };
        let url = format!("{}/{}", self.base, path.path());
        let http = self.http.clone();
        // Each entry is at most 65,535 bytes plus its two-byte length.
        let cap = usize::from(fill.width()) * (65_535 + 2);
        Ok(tokio::spawn(async move {
            Ok((index, get_capped(&http, &url, cap).await?))
        }))
    }

    /// The hash of `node`, from the tile of the tree of `tree_size` that
    /// holds it (C2SP tlog-tiles: a tile at level L holds the hashes at tree
    /// level 8L; a node in between is the root of 2^k of them).
    async fn node_hash(
        &self,
        node: NodeId,
        tree_size: u64,
        tiles: &mut HashMap<(u8, u64), Vec<Hash>>,
    ) -> anyhow::Result<Hash> {
        let tile_level = node.level / 8;
        let span = 1u64 << (node.level % 8);
        let first = node.index * span;
        let key = (tile_level, first / 256);
        let tile = match tiles.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(self.tile(key.0, key.1, tree_size).await?)
            }
        };
        let offset = usize::try_from(first % 256)?;
        let span = usize::try_from(span)?;
        let Some(leaves) = tile.get(offset..offset + span) else {
            bail!("tile {}/{} is too narrow for node {node:?}", key.0, key.1);
        };
        Ok(perfect_root(leaves))
    }

    async fn tile(&self, level: u8, index: u64, tree_size: u64) -> anyhow::Result<Vec<Hash>> {
        let fill = tile_fill(tree_size, level, index)
            .ok_or_else(|| anyhow!("no tile {level}/{index} in a tree of {tree_size}"))?;
        let path = TilePath::Hashes {
            level,
            index,
            width: fill.path_width(),
        };
        let want = usize::from(fill.width()) * 32;
        let bytes = self.get(&format!("/{}", path.path()), want).await?;
        ensure!(
            bytes.len() == want,
            "{} holds {} bytes, not {want}",
            path.path(),
            bytes.len()
        );
        bytes
            .chunks_exact(32)
            .map(|h| Hash::from_slice(h).map_err(|e| anyhow!("{e}")))
            .collect()
    }

    async fn get(&self, path: &str, cap: usize) -> anyhow::Result<Vec<u8>> {
        get_capped(&self.http, &format!("{}{path}", self.base), cap).await
    }
}

/// The root of a perfect tree over `hashes` (a power of two of them).
fn perfect_root(hashes: &[Hash]) -> Hash {
    let mut level = hashes.to_vec();
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
    }
    level[0]
}

#[cfg(test)]
mod tests {
    // Test code: a failed step should panic with its error.
    #![allow(clippy::unwrap_used)]

    use std::sync::{Arc, Mutex};

    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use shared::note::{CheckpointAlgorithm, CheckpointKey};
    use shared::tlog_tiles::encode_entry_bundle;

    use super::*;

    #[test]
    fn a_perfect_root_is_the_tree_hash_of_its_leaves() {
        let leaves: Vec<Hash> = (0u8..8).map(|i| leaf_hash(&[i])).collect();
        let mut frontier = Frontier::new();
        for leaf in &leaves {
            frontier.append(*leaf);
        }
        assert_eq!(perfect_root(&leaves), frontier.root());
        assert_eq!(perfect_root(&leaves[..1]), leaves[0]);
    }

    #[test]
    fn a_kept_edge_must_recompute_to_its_root() {
        let mut frontier = Frontier::new();
        for i in 0u8..5 {
            frontier.append(leaf_hash(&[i]));
        }
        let head = TiledHead::new("log.example", &frontier);
        assert_eq!(head.frontier().unwrap(), frontier);
        let mut edited = head.clone();
        edited.root_hash = leaf_hash(b"other").to_hex();
        assert!(edited.frontier().is_err());
        let mut short = head;
        short.frontier.pop();
        assert!(short.frontier().is_err());
    }

    /// What a fake log does wrong, if anything.
    #[derive(Clone, Copy, Default, PartialEq)]
    enum Lie {
        #[default]
        None,
        /// Every entry bundle loses its last byte.
        TruncatedBundles,
        /// The first hash of every level-1 tile is flipped.
        FlippedTileHash,
    }

    /// A tiled log in memory, served over HTTP like a real one.
    struct FakeLog {
        key: CheckpointKey,
        entries: Vec<Vec<u8>>,
        lie: Lie,
    }

    impl FakeLog {
        fn checkpoint(&self) -> String {
            let root = self.frontier(self.entries.len()).root();
            let text = Checkpoint {
                origin: self.key.name().to_owned(),
                size: self.entries.len() as u64,
                root,
            }
            .to_text();
            self.key.sign_note(&text).unwrap()
        }

        fn frontier(&self, size: usize) -> Frontier {
            let mut f = Frontier::new();
            for e in &self.entries[..size] {
                f.append(leaf_hash(e));
            }
            f
        }

        /// Hashes at tree level 8 * `level` (levels 0 and 1 suffice here).
        fn level_hashes(&self, level: u8) -> Vec<Hash> {
            let leaves: Vec<Hash> = self.entries.iter().map(|e| leaf_hash(e)).collect();
            match level {
                0 => leaves,
                _ => leaves.chunks_exact(256).map(perfect_root).collect(),
            }
        }

        fn serve(&self, path: &str) -> Option<Vec<u8>> {
            let size = self.entries.len() as u64;
            let tile = TilePath::parse(path).ok()?;
            let width = usize::from(tile.width_in(size)?);
            match tile {
                TilePath::Entries { index, .. } => {
                    let first = usize::try_from(index).ok()? * 256;
                    let mut bytes = encode_entry_bundle(
                        self.entries[first..first + width].iter().map(Vec::as_slice),
                    )
                    .ok()?;
                    if self.lie == Lie::TruncatedBundles {
                        bytes.pop();
                    }
                    Some(bytes)
                }
                TilePath::Hashes { level, index, .. } => {
                    let first = usize::try_from(index).ok()? * 256;
                    let mut hashes = self.level_hashes(level)[first..first + width].to_vec();
                    if self.lie == Lie::FlippedTileHash && level == 1 {
                        hashes[0].0[0] ^= 1;
                    }
                    Some(hashes.iter().flat_map(|h| h.0).collect())
                }
            }
        }
    }

    type Shared = Arc<Mutex<FakeLog>>;

    fn entries(tag: &str, n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("{tag} {i}").into_bytes()).collect()
    }

    /// A log of `entries`, served on a random port under a key named for
    /// its address, with the auditor's reader for it (given the key's PEM).
    async fn started(entries: Vec<Vec<u8>>) -> (Shared, RekorV2, tempfile::NamedTempFile) {
        async fn checkpoint(State(log): State<Shared>) -> String {
            log.lock().unwrap().checkpoint()
        }
        async fn tile(
            State(log): State<Shared>,
            Path(path): Path<String>,
        ) -> Result<Vec<u8>, StatusCode> {
            log.lock()
                .unwrap()
                .serve(&path)
                .ok_or(StatusCode::NOT_FOUND)
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = listener.local_addr().unwrap().to_string();
        let key = CheckpointKey::generate(CheckpointAlgorithm::Ed25519, &origin).unwrap();
        let key_file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(key_file.path(), key.public_pem()).unwrap();
        let log = Arc::new(Mutex::new(FakeLog {
            key,
            entries,
            lie: Lie::None,
        }));
        let router = axum::Router::new()
            .route("/checkpoint", axum::routing::get(checkpoint))
            .route("/tile/{*path}", axum::routing::get(tile))
            .with_state(log.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        let reader = RekorV2::with_key_file(&format!("http://{origin}"), key_file.path()).unwrap();
        (log, reader, key_file)
    }

    async fn scan_all(reader: &RekorV2, from: Frontier) -> anyhow::Result<(TiledHead, Vec<u64>)> {
        let head = reader.head().await?;
        let mut seen = Vec::new();
        let state = reader.scan(from, &head, |e| seen.push(e.index)).await?;
        Ok((state, seen))
    }

    #[tokio::test]
    async fn an_honest_log_verifies_from_its_start_from_a_kept_edge_and_from_its_tiles() {
        let (log, reader, _) = started(entries("a", 600)).await;
        let (state, seen) = scan_all(&reader, Frontier::new()).await.unwrap();
        assert_eq!(seen, (0..600).collect::<Vec<_>>());
        assert_eq!(state.size, 600);

        log.lock().unwrap().entries.extend(entries("b", 400));
        let (grown, seen) = scan_all(&reader, state.frontier().unwrap()).await.unwrap();
        assert_eq!(seen, (600..1000).collect::<Vec<_>>());

        // An edge rebuilt from hash tiles, at the head and mid-tree, is the
        // same as the one kept by reading every entry.
        let head = reader.head().await.unwrap();
        let at_head = reader.frontier_at(1000, &head).await.unwrap();
        assert_eq!(at_head, grown.frontier().unwrap());
        let mid = reader.frontier_at(600, &head).await.unwrap();
        assert_eq!(mid, state.frontier().unwrap());
    }

    #[tokio::test]
    async fn a_forked_log_is_not_consistent_with_the_kept_edge() {
        let (log, reader, _) = started(entries("common", 300)).await;
        log.lock().unwrap().entries.extend(entries("branch a", 50));
        let (on_a, _) = scan_all(&reader, Frontier::new()).await.unwrap();

        // Same key, same first 300 entries, then another history.
        let mut b = entries("common", 300);
        b.extend(entries("branch b", 120));
        log.lock().unwrap().entries = b;
        let err = scan_all(&reader, on_a.frontier().unwrap())
            .await
            .unwrap_err();
        assert!(format!("{err:#}").contains("no consistency"), "{err:#}");
    }

    #[tokio::test]
    async fn truncated_bundles_lying_tiles_and_foreign_keys_do_not_verify() {
        let (log, reader, _) = started(entries("a", 700)).await;
        log.lock().unwrap().lie = Lie::TruncatedBundles;
        let err = scan_all(&reader, Frontier::new()).await.unwrap_err();
        assert!(format!("{err:#}").contains("entry bundle 0"), "{err:#}");

        log.lock().unwrap().lie = Lie::FlippedTileHash;
        let head = reader.head().await.unwrap();
        let err = reader.frontier_at(700, &head).await.unwrap_err();
        assert!(format!("{err:#}").contains("do not recompute"), "{err:#}");
        // Mid-tree, the lie is caught once the entries are read on to the head.
        let edge = reader.frontier_at(600, &head).await.unwrap();
        assert!(reader.scan(edge, &head, |_| {}).await.is_err());

        // A checkpoint under another key of the same name is not the log's.
        log.lock().unwrap().lie = Lie::None;
        let origin = reader.origin().to_owned();
        log.lock().unwrap().key =
            CheckpointKey::generate(CheckpointAlgorithm::Ed25519, &origin).unwrap();
        let err = reader.head().await.unwrap_err();
        assert!(format!("{err:#}").contains("does not verify"), "{err:#}");
    }
}
