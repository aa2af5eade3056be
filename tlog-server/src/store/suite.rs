//! The one behaviour suite of the [`LogStore`] contract, written once and
//! run against every backend: `behaviour_suite!(Fixture)` expands to one
//! `#[tokio::test]` per case in the module that invokes it (memory.rs's
//! tests, sqlite/tests.rs, postgres/tests.rs). Each test gets a fresh store;
//! Postgres tests a fresh database ([`PgDatabase`]), dropped afterwards.

use std::collections::HashMap;
use std::sync::Arc;

use shared::merkle::{consistency_plan, inclusion_plan, leaf_hash, Frontier, Hash, NodeId};

use super::{
    Batch, CosignedCheckpoint, EntryWithExtra, LogStore, NewEntry, SignedHead, StoreError,
    StoredEntry, TreeId,
};

pub(crate) use test_support::postgres::PgDatabase;

/// A backend under test: a fresh, empty database per fixture, which
/// [`StoreFixture::open`] may open several times (to test reopening).
pub(crate) trait StoreFixture: Sized {
    async fn create() -> Self;
    async fn open(&self) -> Arc<dyn LogStore>;
}

/// The test-only in-memory store; "reopening" shares the same state.
pub(crate) struct MemoryFixture(super::memory::MemoryStore);

impl StoreFixture for MemoryFixture {
    async fn create() -> Self {
        Self(super::memory::MemoryStore::new())
    }
    async fn open(&self) -> Arc<dyn LogStore> {
        Arc::new(self.0.clone())
    }
}

/// A SQLite file in a temporary directory.
pub(crate) struct SqliteFixture(tempfile::TempDir);

impl StoreFixture for SqliteFixture {
    async fn create() -> Self {
        Self(tempfile::tempdir().unwrap())
    }
    async fn open(&self) -> Arc<dyn LogStore> {
        let url = format!("sqlite://{}?mode=rwc", self.0.path().join("t.db").display());
        Arc::new(super::sqlite::SqliteStore::open(&url).await.unwrap())
    }
}

/// A fresh Postgres database.
pub(crate) struct PgFixture(pub(crate) PgDatabase);

impl StoreFixture for PgFixture {
    async fn create() -> Self {
        Self(PgDatabase::create().expect(
            "a Postgres server: SIGIL_TEST_POSTGRES_URL, else 127.0.0.1:5432 (scripts/test.sh starts it)",
        ))
    }
    async fn open(&self) -> Arc<dyn LogStore> {
        Arc::new(super::postgres::PgStore::open(&self.0.url()).await.unwrap())
    }
}

/// Builds real batches for one tree: consecutive entries, the nodes they
/// complete, and a head with the true root.
pub(crate) struct Writer {
    pub(crate) tree: TreeId,
    pub(crate) frontier: Frontier,
    pub(crate) nodes: HashMap<NodeId, Hash>,
}

impl Writer {
    pub(crate) fn new(tree: TreeId) -> Self {
        Self {
            tree,
            frontier: Frontier::new(),
            nodes: HashMap::new(),
        }
    }

    /// The initial empty head's batch.
    pub(crate) fn empty(&self) -> Batch {
        Batch {
            tree: self.tree,
            entries: vec![],
            nodes: vec![],
            head: head(0, self.frontier.root()),
        }
    }

    /// The next `n` entries (not applied until [`Writer::applied`]).
    pub(crate) fn batch(&self, n: u64) -> (Batch, Frontier) {
        let mut frontier = self.frontier.clone();
        let mut entries = Vec::new();
        let mut nodes = Vec::new();
        for _ in 0..n {
            let index = frontier.size();
            let e = entry(self.tree, index);
            nodes.extend(frontier.append(leaf_hash(&e.entry.body)));
            entries.push(e);
        }
        let batch = Batch {
            tree: self.tree,
            entries,
            nodes,
            head: head(frontier.size(), frontier.root()),
        };
        (batch, frontier)
    }

    /// Commits the next `n` entries and returns the batch committed.
    pub(crate) async fn commit(&mut self, store: &dyn LogStore, n: u64) -> Batch {
        let (batch, frontier) = self.batch(n);
        store.commit(batch.clone()).await.unwrap();
        self.frontier = frontier;
        self.nodes.extend(batch.nodes.iter().copied());
        batch
    }
}

/// Entry `index` of `tree`: distinct bodies and identities per tree, two
/// search keys (one shared by all), one listed twice, and extra data on odd indices.
pub(crate) fn entry(tree: TreeId, index: u64) -> NewEntry {
    let body = format!("tree {tree} entry {index}").into_bytes();
    NewEntry {
        entry: StoredEntry {
            index,
            identity: leaf_hash(&body),
            body,
            timestamp_ms: 1_700_000_000_000 + index,
        },
        index_keys: vec![
            format!("sha256:{index:064x}"),
            "common".to_owned(),
            "common".to_owned(),
        ],
        extra_data: if index % 2 == 1 {
            format!("extra {index}").into_bytes()
        } else {
            vec![]
        },
    }
}

pub(crate) fn head(size: u64, root: Hash) -> SignedHead {
    SignedHead {
        size,
        root,
        timestamp_ms: 1_700_000_000_000 + size,
        signed: format!("signed head {size}").into_bytes(),
    }
}

pub(crate) async fn trees_are_created_once_and_persist<F: StoreFixture>(f: &F) {
    let store = f.open().await;
    let rekor = store.tree("rekor").await.unwrap();
    assert_eq!(
        store.tree("rekor").await.unwrap(),
        rekor,
        "the id is stable"
    );
    let ct = store.tree("ct").await.unwrap();
    assert_ne!(ct, rekor);
    assert_eq!(store.latest_head(rekor).await.unwrap(), None);
    store.close().await.unwrap();
    let store = f.open().await;
    assert_eq!(store.tree("ct").await.unwrap(), ct);
    assert_eq!(store.tree("rekor").await.unwrap(), rekor);
    store.close().await.unwrap();
}

pub(crate) async fn the_largest_cosigned_checkpoint_is_kept_per_tree<F: StoreFixture>(f: &F) {
    let store = f.open().await;
    let (a, b) = (
        store.tree("v2").await.unwrap(),
        store.tree("other").await.unwrap(),
    );
    assert_eq!(store.latest_cosigned(a).await.unwrap(), None);
    let cosigned = |size: u64, cosignatures| CosignedCheckpoint {
        size,
        root: Hash([size as u8; 32]),
        note: format!("log\n{size}\n\n— witness sig\n"),
        cosignatures,
    };
    store.save_cosigned(a, &cosigned(10, 1)).await.unwrap();
    store.save_cosigned(a, &cosigned(7, 2)).await.unwrap();
    assert_eq!(
        store.latest_cosigned(a).await.unwrap(),
        Some(cosigned(10, 1)),
        "a smaller checkpoint never replaces a larger one"
    );
    store.save_cosigned(a, &cosigned(10, 2)).await.unwrap();
    store.save_cosigned(a, &cosigned(12, 3)).await.unwrap();
    assert_eq!(store.latest_cosigned(b).await.unwrap(), None, "per tree");
    store.close().await.unwrap();
    let store = f.open().await;
    assert_eq!(
        store.latest_cosigned(a).await.unwrap(),
        Some(cosigned(12, 3)),
        "kept across a reopen"
    );
    store.close().await.unwrap();
}

pub(crate) async fn commits_read_back<F: StoreFixture>(f: &F) {
    let store = f.open().await;
    let tree = store.tree("rekor").await.unwrap();
    let mut w = Writer::new(tree);
    store.commit(w.empty()).await.unwrap();
    assert_eq!(
        store.latest_head(tree).await.unwrap(),
        Some(head(0, w.frontier.root()))
    );
    let batch = w.commit(store.as_ref(), 3).await;
    assert_eq!(
        store.latest_head(tree).await.unwrap(),
        Some(batch.head.clone())
    );
    for e in &batch.entries {
        assert_eq!(
            store.entry_by_index(tree, e.entry.index).await.unwrap(),
            Some(e.entry.clone())
        );
    }
    assert_eq!(store.entry_by_index(tree, 3).await.unwrap(), None);
    let mut found = store
        .entries_by_identity(
            tree,
            &[
                batch.entries[2].entry.identity,
                Hash([0xee; 32]),
                batch.entries[0].entry.identity,
            ],
        )
        .await
        .unwrap();
    found.sort_by_key(|e| e.index);
    assert_eq!(
        found,
        vec![
            batch.entries[0].entry.clone(),
            batch.entries[2].entry.clone()
        ]
    );
    let range = store.entries_in_range(tree, 1, 10).await.unwrap();
    let expected: Vec<EntryWithExtra> = batch.entries[1..]
        .iter()
        .map(|e| EntryWithExtra {
            entry: e.entry.clone(),
            extra_data: e.extra_data.clone(),
        })
        .collect();
    assert_eq!(range, expected);
    assert_eq!(store.entries_in_range(tree, 2, 2).await.unwrap(), vec![]);
    // Another tree sees none of it.
    let other = store.tree("ct").await.unwrap();
    assert_eq!(store.entry_by_index(other, 0).await.unwrap(), None);
    assert_eq!(
        store.search(other, "common").await.unwrap(),
        Vec::<u64>::new()
    );
    store.close().await.unwrap();
}

/// Batches crossing tile boundaries (levels 0 and 8): every complete node
/// reads back, proofs assemble, and the right edge reloads.
pub(crate) async fn nodes_read_back_from_tiles<F: StoreFixture>(f: &F) {
    let store = f.open().await;
    let tree = store.tree("rekor").await.unwrap();
    let mut w = Writer::new(tree);
    store.commit(w.empty()).await.unwrap();
    for n in [1u64, 254, 1, 2, 300, 256, 70_000 - 814] {
        w.commit(store.as_ref(), n).await;
        let size = w.frontier.size();
        // The frontier reloads from the store exactly.
        let edge = Frontier::nodes_for_size(size);
        let hashes = store.read_nodes(tree, &edge).await.unwrap();
        let reloaded = Frontier::from_nodes(size, &hashes).unwrap();
        assert_eq!(reloaded.root(), w.frontier.root(), "size {size}");
        // Proofs at both ends and the middle.
        for index in [0, size / 2, size - 1] {
            let plan = inclusion_plan(index, size).unwrap();
            let got = store.read_nodes(tree, plan.nodes()).await.unwrap();
            let want: Vec<Hash> = plan.nodes().iter().map(|id| w.nodes[id]).collect();
            assert_eq!(got, want, "inclusion of {index} in {size}");
        }
        let plan = consistency_plan(1.max(size / 3), size).unwrap();
        let got = store.read_nodes(tree, plan.nodes()).await.unwrap();
        let want: Vec<Hash> = plan.nodes().iter().map(|id| w.nodes[id]).collect();
        assert_eq!(got, want);
    }
    assert_eq!(w.frontier.size(), 70_000);
    // A sample of every stored node, in one call.
    let mut ids: Vec<NodeId> = w
        .nodes
        .keys()
        .copied()
        .filter(|id| id.index % 97 == 0)
        .collect();
    ids.sort_unstable();
    let got = store.read_nodes(tree, &ids).await.unwrap();
    for (id, hash) in ids.iter().zip(got) {
        assert_eq!(w.nodes[id], hash, "{id:?}");
    }
    // Nodes beyond the tree, or over its ragged edge, are missing, not wrong.
    for missing in [
        NodeId {
            level: 0,
            index: 70_000,
        },
        NodeId {
            level: 5,
            index: 70_000 >> 5,
        },
        NodeId {
            level: 9,
            index: 500,
        },
    ] {
        assert!(
            matches!(
                store.read_nodes(tree, &[missing]).await,
                Err(StoreError::MissingNode { .. })
            ),
            "{missing:?}"
        );
    }
    store.close().await.unwrap();
}

pub(crate) async fn search_rows_are_committed_with_their_entries<F: StoreFixture>(f: &F) {
    let store = f.open().await;
    let tree = store.tree("rekor").await.unwrap();
    let mut w = Writer::new(tree);
    store.commit(w.empty()).await.unwrap();
    w.commit(store.as_ref(), 2).await;
    w.commit(store.as_ref(), 256).await;
    let all: Vec<u64> = (0..258).collect();
    assert_eq!(
        store.search(tree, "common").await.unwrap(),
        all,
        "once each, ascending"
    );
    assert_eq!(
        store
            .search(tree, &format!("sha256:{:064x}", 200))
            .await
            .unwrap(),
        vec![200]
    );
    assert_eq!(
        store.search(tree, "absent").await.unwrap(),
        Vec::<u64>::new()
    );
    store.close().await.unwrap();
}

pub(crate) async fn a_batch_that_does_not_extend_the_head_is_refused<F: StoreFixture>(f: &F) {
    let store = f.open().await;
    let tree = store.tree("rekor").await.unwrap();
    let mut w = Writer::new(tree);
    store.commit(w.empty()).await.unwrap();
    // A second empty head over an existing one.
    assert!(matches!(
        store.commit(w.empty()).await,
        Err(StoreError::Conflict(_))
    ));
    let stale = w.batch(2).0;
    w.commit(store.as_ref(), 3).await;
    let committed = store.latest_head(tree).await.unwrap();
    // Another writer's batch from the same base: refused, nothing written.
    assert!(matches!(
        store.commit(stale).await,
        Err(StoreError::Conflict(_))
    ));
    // A batch that skips ahead.
    let mut ahead = w.batch(2).0;
    for e in &mut ahead.entries {
        e.entry.index += 1;
    }
    ahead.head.size += 1;
    assert!(matches!(
        store.commit(ahead).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.latest_head(tree).await.unwrap(), committed);
    assert_eq!(store.entry_by_index(tree, 3).await.unwrap(), None);
    // The real continuation still works.
    w.commit(store.as_ref(), 1).await;
    assert_eq!(store.latest_head(tree).await.unwrap().unwrap().size, 4);
    store.close().await.unwrap();
}

pub(crate) async fn reopening_keeps_everything<F: StoreFixture>(f: &F) {
    let store = f.open().await;
    let tree = store.tree("rekor").await.unwrap();
    let mut w = Writer::new(tree);
    store.commit(w.empty()).await.unwrap();
    let first = w.commit(store.as_ref(), 300).await;
    let last = w.commit(store.as_ref(), 5).await;
    store.close().await.unwrap();
    drop(store);

    let store = f.open().await;
    assert_eq!(store.tree("rekor").await.unwrap(), tree);
    assert_eq!(
        store.latest_head(tree).await.unwrap(),
        Some(last.head.clone())
    );
    assert_eq!(
        store.entry_by_index(tree, 299).await.unwrap(),
        Some(first.entries[299].entry.clone())
    );
    assert_eq!(store.search(tree, "common").await.unwrap().len(), 305);
    let edge = Frontier::nodes_for_size(305);
    let hashes = store.read_nodes(tree, &edge).await.unwrap();
    assert_eq!(
        Frontier::from_nodes(305, &hashes).unwrap().root(),
        last.head.root
    );
    // And it keeps growing from there.
    w.commit(store.as_ref(), 1).await;
    assert_eq!(store.latest_head(tree).await.unwrap().unwrap().size, 306);
    store.close().await.unwrap();
}

pub(crate) async fn duplicates_are_found_by_identity_and_never_stored_twice<F: StoreFixture>(
    f: &F,
) {
    let store = f.open().await;
    let tree = store.tree("rekor").await.unwrap();
    let mut w = Writer::new(tree);
    store.commit(w.empty()).await.unwrap();
    let batch = w.commit(store.as_ref(), 2).await;
    let identity = batch.entries[1].entry.identity;
    assert_eq!(
        store.entries_by_identity(tree, &[identity]).await.unwrap(),
        vec![batch.entries[1].entry.clone()]
    );
    // A batch carrying an identity already logged fails as a whole.
    let (mut dup, _) = w.batch(2);
    dup.entries[1].entry.identity = identity;
    assert!(store.commit(dup).await.is_err());
    assert_eq!(store.entry_by_index(tree, 2).await.unwrap(), None);
    assert_eq!(
        store.latest_head(tree).await.unwrap(),
        Some(batch.head.clone())
    );
    // The same identity in another tree is a different entry.
    let other = store.tree("ct").await.unwrap();
    assert_eq!(
        store.entries_by_identity(other, &[identity]).await.unwrap(),
        vec![]
    );
    store.close().await.unwrap();
}

/// Expands to one test per behaviour, on the fixture `$fixture`.
/// Tiles read back as C2SP tlog-tiles bytes: full tiles whole, the right
/// edge at its width or wider, and nothing that is not stored.
pub(crate) async fn tiles_read_back_as_tlog_tiles<F: StoreFixture>(f: &F) {
    let store = f.open().await;
    let tree = store.tree("rekor").await.unwrap();
    let mut w = Writer::new(tree);
    store.commit(w.empty()).await.unwrap();
    w.commit(store.as_ref(), 300).await;
    let row = |level: u8, from: u64, to: u64| -> Vec<u8> {
        (from..to)
            .flat_map(|i| w.nodes[&NodeId { level, index: i }].0)
            .collect()
    };
    // Twice each: the first read may come from the store, the second from the cache.
    for _ in 0..2 {
        assert_eq!(
            store.read_tile(tree, 0, 0, 256).await.unwrap(),
            Some(row(0, 0, 256)),
            "the full leaf tile"
        );
        let edge = store.read_tile(tree, 0, 1, 44).await.unwrap().unwrap();
        assert_eq!(edge, row(0, 256, 300), "the partial leaf tile at width 44");
        assert_eq!(
            store.read_tile(tree, 0, 1, 10).await.unwrap().unwrap()[..10 * 32],
            row(0, 256, 266)[..],
            "a narrower width is a prefix"
        );
        assert_eq!(
            store.read_tile(tree, 1, 0, 1).await.unwrap(),
            Some(row(8, 0, 1)),
            "level 1 holds the root of each full leaf tile"
        );
        assert_eq!(store.read_tile(tree, 0, 1, 45).await.unwrap(), None);
        assert_eq!(store.read_tile(tree, 0, 2, 1).await.unwrap(), None);
        assert_eq!(store.read_tile(tree, 2, 0, 1).await.unwrap(), None);
    }
    store.close().await.unwrap();
}

macro_rules! behaviour_suite {
    ($fixture:ty) => {
        mod behaviour {
            #[allow(unused_imports)]
            use super::*;
            use $crate::store::suite as s;

            #[tokio::test]
            async fn trees_are_created_once_and_persist() {
                let f = <$fixture as s::StoreFixture>::create().await;
                s::trees_are_created_once_and_persist(&f).await;
            }

            #[tokio::test]
            async fn the_largest_cosigned_checkpoint_is_kept_per_tree() {
                let f = <$fixture as s::StoreFixture>::create().await;
                s::the_largest_cosigned_checkpoint_is_kept_per_tree(&f).await;
            }

            #[tokio::test]
            async fn commits_read_back() {
                let f = <$fixture as s::StoreFixture>::create().await;
                s::commits_read_back(&f).await;
            }

            #[tokio::test]
            async fn nodes_read_back_from_tiles() {
                let f = <$fixture as s::StoreFixture>::create().await;
                s::nodes_read_back_from_tiles(&f).await;
            }

            #[tokio::test]
            async fn tiles_read_back_as_tlog_tiles() {
                let f = <$fixture as s::StoreFixture>::create().await;
                s::tiles_read_back_as_tlog_tiles(&f).await;
            }

            #[tokio::test]
            async fn search_rows_are_committed_with_their_entries() {
                let f = <$fixture as s::StoreFixture>::create().await;
                s::search_rows_are_committed_with_their_entries(&f).await;
            }

            #[tokio::test]
            async fn a_batch_that_does_not_extend_the_head_is_refused() {
                let f = <$fixture as s::StoreFixture>::create().await;
                s::a_batch_that_does_not_extend_the_head_is_refused(&f).await;
            }

            #[tokio::test]
            async fn reopening_keeps_everything() {
                let f = <$fixture as s::StoreFixture>::create().await;
                s::reopening_keeps_everything(&f).await;
            }

            #[tokio::test]
            async fn duplicates_are_found_by_identity_and_never_stored_twice() {
                let f = <$fixture as s::StoreFixture>::create().await;
                s::duplicates_are_found_by_identity_and_never_stored_twice(&f).await;
            }
        }
    };
}
pub(crate) use behaviour_suite;
