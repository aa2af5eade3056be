//! SQLite store tests: the shared behaviour suite, the query plans, and
//! the conversion of databases written before tiles.

use super::*;
use crate::store::NewEntry;

fn entry(index: u64) -> NewEntry {
    NewEntry {
        entry: StoredEntry {
            index,
            identity: Hash([index as u8 + 1; 32]),
            body: format!("body {index}").into_bytes(),
            timestamp_ms: 1_000 + index,
        },
        index_keys: vec![
            format!("sha256:{index}"),
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

fn head(size: u64) -> SignedHead {
    SignedHead {
        size,
        root: Hash([size as u8; 32]),
        timestamp_ms: 5,
        signed: b"sig".to_vec(),
    }
}

#[tokio::test]
async fn commit_and_read_back_on_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = SqliteStore::open(&url).await.unwrap();
    let tree = store.tree("rekor").await.unwrap();
    assert_eq!(store.tree("rekor").await.unwrap(), tree, "the id is stable");
    assert_ne!(store.tree("ct").await.unwrap(), tree);
    assert_eq!(store.latest_head(tree).await.unwrap(), None);

    let node = |level, index| NodeId { level, index };
    store
        .commit(Batch {
            tree,
            entries: vec![entry(0), entry(1)],
            nodes: vec![
                (node(0, 0), Hash([7; 32])),
                (node(0, 1), Hash([8; 32])),
                (
                    node(1, 0),
                    shared::merkle::node_hash(&Hash([7; 32]), &Hash([8; 32])),
                ),
            ],
            head: head(2),
        })
        .await
        .unwrap();

    assert_eq!(store.latest_head(tree).await.unwrap(), Some(head(2)));
    assert_eq!(
        store.entry_by_index(tree, 1).await.unwrap(),
        Some(entry(1).entry)
    );
    assert_eq!(store.entry_by_index(tree, 2).await.unwrap(), None);
    let found = store
        .entries_by_identity(tree, &[Hash([2; 32]), Hash([99; 32])])
        .await
        .unwrap();
    assert_eq!(found, vec![entry(1).entry]);
    assert_eq!(store.search(tree, "common").await.unwrap(), vec![0, 1]);
    let range = store.entries_in_range(tree, 0, 5).await.unwrap();
    assert_eq!(
        range,
        vec![
            EntryWithExtra {
                entry: entry(0).entry,
                extra_data: vec![]
            },
            EntryWithExtra {
                entry: entry(1).entry,
                extra_data: b"extra 1".to_vec()
            },
        ]
    );
    assert_eq!(store.entries_in_range(tree, 1, 1).await.unwrap(), vec![]);
    assert_eq!(
        store
            .read_nodes(tree, &[node(1, 0), node(0, 0)])
            .await
            .unwrap(),
        vec![
            shared::merkle::node_hash(&Hash([7; 32]), &Hash([8; 32])),
            Hash([7; 32])
        ]
    );
    assert!(matches!(
        store.read_nodes(tree, &[node(0, 2)]).await,
        Err(StoreError::MissingNode { level: 0, index: 2 })
    ));

    // A batch that does not continue the stored tree is refused and writes nothing.
    let stale = Batch {
        tree,
        entries: vec![entry(1)],
        nodes: vec![],
        head: head(2),
    };
    assert!(matches!(
        store.commit(stale).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.latest_head(tree).await.unwrap(), Some(head(2)));

    // Reopening finds the same trees and data.
    drop(store);
    let store = SqliteStore::open(&url).await.unwrap();
    assert_eq!(store.tree("rekor").await.unwrap(), tree);
    assert_eq!(store.latest_head(tree).await.unwrap(), Some(head(2)));
}

#[tokio::test]
async fn a_failed_batch_leaves_nothing_behind() {
    let store = SqliteStore::open("sqlite::memory:").await.unwrap();
    let tree = store.tree("rekor").await.unwrap();
    store
        .commit(Batch {
            tree,
            entries: vec![entry(0)],
            nodes: vec![],
            head: head(1),
        })
        .await
        .unwrap();
    // Entry 2 reuses entry 1's identity, so the unique index fails the
    // transaction after entry 1 was inserted.
    let mut dup = entry(2);
    dup.entry.identity = entry(1).entry.identity;
    let batch = Batch {
        tree,
        entries: vec![entry(1), dup],
        nodes: vec![],
        head: head(3),
    };
    assert!(store.commit(batch).await.is_err());
    assert_eq!(store.entry_by_index(tree, 1).await.unwrap(), None);
    assert_eq!(store.latest_head(tree).await.unwrap(), Some(head(1)));
}

#[tokio::test]
async fn tile_reads_are_primary_key_lookups() {
    let store = SqliteStore::open("sqlite::memory:").await.unwrap();
    let tree = store.tree("rekor").await.unwrap();
    let ids = [TileId { level: 0, index: 5 }, TileId { level: 1, index: 1 }];
    let q = tiles_query(tree, &ids).unwrap();
    let plan_sql = format!("EXPLAIN QUERY PLAN {}", q.sql());
    let mut plan = sqlx::query(&plan_sql);
    for bind in [0i64, 5, 1, 1, tree.get()] {
        plan = plan.bind(bind);
    }
    let details: Vec<String> = plan
        .fetch_all(&store.reader)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("detail"))
        .collect();
    assert!(
        details
            .iter()
            .any(|d| d.contains("SEARCH t USING PRIMARY KEY (tree_id=? AND level=? AND idx=?)")),
        "{details:?}"
    );
    assert!(!details.iter().any(|d| d.contains("SCAN t")), "{details:?}");
}

/// A database written before tiles keeps its tree: the nodes move to tiles on open.
#[tokio::test]
async fn legacy_nodes_are_converted_to_tiles() {
    use shared::merkle::{leaf_hash, root_plan, Frontier};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = SqliteStore::open(&url).await.unwrap();
    let tree = store.tree("rekor").await.unwrap();
    let mut frontier = Frontier::new();
    let mut nodes = Vec::new();
    for i in 0..600u64 {
        nodes.extend(frontier.append(leaf_hash(&i.to_be_bytes())));
    }
    // Write them the old way, one row per node.
    for (id, hash) in &nodes {
        sqlx::query("INSERT INTO nodes (tree_id, level, idx, hash) VALUES (?, ?, ?, ?)")
            .bind(tree.get())
            .bind(i64::from(id.level))
            .bind(id.index as i64)
            .bind(&hash.0[..])
            .execute(&store.writer)
            .await
            .unwrap();
    }
    store.close().await.unwrap();

    let store = SqliteStore::open(&url).await.unwrap();
    let plan = root_plan(600).unwrap();
    let hashes = store.read_nodes(tree, plan.nodes()).await.unwrap();
    assert_eq!(plan.assemble(&hashes).unwrap(), vec![frontier.root()]);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM nodes")
        .fetch_one(&store.reader)
        .await
        .unwrap();
    assert_eq!(left, 0);
    let tiles: i64 = sqlx::query_scalar("SELECT count(*) FROM tiles")
        .fetch_one(&store.reader)
        .await
        .unwrap();
    assert_eq!(tiles, 4, "3 level-0 tiles and one level-1 tile");
}

crate::store::suite::behaviour_suite!(crate::store::suite::SqliteFixture);
