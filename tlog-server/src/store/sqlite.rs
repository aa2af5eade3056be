//! [`LogStore`] on SQLite through sqlx: the embedded store of `sigil dev` and
//! of a fresh machine. Schema: `migrations/sqlite` (applied on open).
//!
//! Durability: the database runs in WAL mode with `synchronous=FULL`, so
//! every commit fsyncs the WAL before `COMMIT` returns. `NORMAL` would only
//! sync at checkpoints and could lose the last acknowledged batches on power
//! loss, which the [`LogStore`] contract forbids; since a commit covers a
//! whole batch, the extra sync costs one fsync per batch, not per entry.
//!
//! Writes go through a dedicated one-connection pool (`BEGIN IMMEDIATE`, so a
//! writer never has to upgrade a read lock), reads through a separate pool;
//! WAL lets readers proceed during a write and see only committed state.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use shared::merkle::{Hash, NodeId};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::{
    from_sql_int, hash_from_sql, to_sql_int, Batch, LogStore, SignedHead, StoreError, StoreFuture,
    StoredEntry, TreeId,
};

/// Rows per multi-row statement: 5 binds a row stays far below SQLite's
/// 32,766-variable limit while keeping statements few per batch.
const ROWS_PER_STATEMENT: usize = 500;

/// Reader connections for a file database (the machine has few cores; reads are short).
const READ_CONNECTIONS: u32 = 4;

/// A SQLite-backed log store.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if the URL says `mode=rwc`) and migrates the database.
    /// `sqlite::memory:` gives a private in-memory store on one connection.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let options = SqliteConnectOptions::from_str(url)?
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        if in_memory {
            // An in-memory database lives as long as its last connection, so
            // the pool keeps exactly one connection open forever.
            let pool = SqlitePoolOptions::new()
                .min_connections(1)
                .max_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await?;
            sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
            return Ok(Self {
                writer: pool.clone(),
                reader: pool,
            });
        }
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("../migrations/sqlite").run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .connect_with(options.create_if_missing(false))
            .await?;
        Ok(Self { writer, reader })
    }

    async fn tree_impl(&self, name: &str) -> Result<TreeId, StoreError> {
        let created_at = time::OffsetDateTime::now_utc().unix_timestamp();
        // INSERT OR IGNORE keeps the first id if two openers race.
        sqlx::query("INSERT OR IGNORE INTO trees (name, tree_id, created_at) VALUES (?, ?, ?)")
            .bind(name)
            .bind(TreeId::random().get())
            .bind(created_at)
            .execute(&self.writer)
            .await?;
        let id: i64 = sqlx::query_scalar("SELECT tree_id FROM trees WHERE name = ?")
            .bind(name)
            .fetch_one(&self.writer)
            .await?;
        TreeId::new(id).ok_or_else(|| StoreError::Corrupt(format!("tree id {id}")))
    }

    async fn read_nodes_impl(&self, tree: TreeId, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        let mut found: HashMap<NodeId, Hash> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let mut q = nodes_query(tree, chunk)?;
            for row in q.build().fetch_all(&self.reader).await? {
                let level: i64 = row.try_get("level")?;
                let level = u8::try_from(level)
                    .map_err(|_| StoreError::Corrupt(format!("node level {level}")))?;
                let index = from_sql_int(row.try_get("idx")?)?;
                found.insert(
                    NodeId { level, index },
                    hash_from_sql(row.try_get("hash")?)?,
                );
            }
        }
        ids.iter()
            .map(|id| {
                found.get(id).copied().ok_or(StoreError::MissingNode {
                    level: id.level,
                    index: id.index,
                })
            })
            .collect()
    }

    async fn entries_by_identity_impl(
        &self,
        tree: TreeId,
        identities: &[Hash],
    ) -> Result<Vec<StoredEntry>, StoreError> {
        let mut out = Vec::new();
        for chunk in identities.chunks(ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT idx, identity, body, timestamp_ms FROM entries WHERE tree_id = ",
            );
            q.push_bind(tree.get());
            q.push(" AND identity IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id.0.to_vec());
            }
            q.push(")");
            for row in q.build().fetch_all(&self.reader).await? {
                out.push(entry_from_row(&row)?);
            }
        }
        Ok(out)
    }

    async fn commit_impl(&self, batch: Batch) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let latest = latest_head_on(&mut tx, batch.tree).await?;
        batch.check_extends(latest.as_ref())?;
        let tree = batch.tree.get();

        for chunk in batch.entries.chunks(ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO entries (tree_id, idx, identity, body, timestamp_ms) ",
            );
            let mut rows = Vec::with_capacity(chunk.len());
            for e in chunk {
                rows.push((
                    to_sql_int(e.entry.index)?,
                    &e.entry.identity.0[..],
                    &e.entry.body[..],
                    to_sql_int(e.entry.timestamp_ms)?,
                ));
            }
            q.push_values(rows, |mut b, (idx, identity, body, ts)| {
                b.push_bind(tree)
                    .push_bind(idx)
                    .push_bind(identity)
                    .push_bind(body)
                    .push_bind(ts);
            });
            q.build().execute(&mut *tx).await?;
        }

        let mut keys = Vec::new();
        for e in &batch.entries {
            let idx = to_sql_int(e.entry.index)?;
            for key in &e.index_keys {
                keys.push((key.as_str(), idx));
            }
        }
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            // OR IGNORE: one entry may list the same key twice (e.g. a hash
            // that is both payload and artifact hash).
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT OR IGNORE INTO search_index (tree_id, key, idx) ",
            );
            q.push_values(chunk, |mut b, (key, idx)| {
                b.push_bind(tree).push_bind(*key).push_bind(*idx);
            });
            q.build().execute(&mut *tx).await?;
        }

        let mut nodes = Vec::with_capacity(batch.nodes.len());
        for (id, hash) in &batch.nodes {
            nodes.push((i64::from(id.level), to_sql_int(id.index)?, &hash.0[..]));
        }
        for chunk in nodes.chunks(ROWS_PER_STATEMENT) {
            let mut q =
                QueryBuilder::<Sqlite>::new("INSERT INTO nodes (tree_id, level, idx, hash) ");
            q.push_values(chunk, |mut b, (level, idx, hash)| {
                b.push_bind(tree)
                    .push_bind(*level)
                    .push_bind(*idx)
                    .push_bind(*hash);
            });
            q.build().execute(&mut *tx).await?;
        }

        let head = &batch.head;
        sqlx::query("INSERT INTO tree_heads (tree_id, size, root, timestamp_ms, signed) VALUES (?, ?, ?, ?, ?)")
            .bind(tree)
            .bind(to_sql_int(head.size)?)
            .bind(&head.root.0[..])
            .bind(to_sql_int(head.timestamp_ms)?)
            .bind(&head.signed[..])
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl LogStore for SqliteStore {
    fn tree(&self, name: &str) -> StoreFuture<'_, TreeId> {
        let name = name.to_owned();
        Box::pin(async move { self.tree_impl(&name).await })
    }

    fn latest_head(&self, tree: TreeId) -> StoreFuture<'_, Option<SignedHead>> {
        Box::pin(async move {
            let mut conn = self.reader.acquire().await?;
            latest_head_on(&mut conn, tree).await
        })
    }

    fn read_nodes<'a>(&'a self, tree: TreeId, ids: &'a [NodeId]) -> StoreFuture<'a, Vec<Hash>> {
        Box::pin(self.read_nodes_impl(tree, ids))
    }

    fn entry_by_index(&self, tree: TreeId, index: u64) -> StoreFuture<'_, Option<StoredEntry>> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT idx, identity, body, timestamp_ms FROM entries WHERE tree_id = ? AND idx = ?",
            )
            .bind(tree.get())
            .bind(to_sql_int(index)?)
            .fetch_optional(&self.reader)
            .await?;
            row.map(|r| entry_from_row(&r)).transpose()
        })
    }

    fn entries_by_identity<'a>(
        &'a self,
        tree: TreeId,
        identities: &'a [Hash],
    ) -> StoreFuture<'a, Vec<StoredEntry>> {
        Box::pin(self.entries_by_identity_impl(tree, identities))
    }

    fn search<'a>(&'a self, tree: TreeId, key: &'a str) -> StoreFuture<'a, Vec<u64>> {
        Box::pin(async move {
            let rows: Vec<i64> = sqlx::query_scalar(
                "SELECT idx FROM search_index WHERE tree_id = ? AND key = ? ORDER BY idx",
            )
            .bind(tree.get())
            .bind(key)
            .fetch_all(&self.reader)
            .await?;
            rows.into_iter().map(from_sql_int).collect()
        })
    }

    fn commit(&self, batch: Batch) -> StoreFuture<'_, ()> {
        Box::pin(self.commit_impl(batch))
    }

    fn close(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.reader.close().await;
            self.writer.close().await;
            Ok(())
        })
    }
}

/// `SELECT level, idx, hash` of the nodes `ids` of `tree`. The wanted ids are
/// a VALUES list driving a CROSS JOIN (which SQLite never reorders), so each
/// one is a primary-key point lookup; `(level, idx) IN (VALUES ...)` would
/// only use the `tree_id` prefix and scan the whole tree's nodes.
fn nodes_query(tree: TreeId, ids: &[NodeId]) -> Result<QueryBuilder<'static, Sqlite>, StoreError> {
    let mut q = QueryBuilder::<Sqlite>::new("SELECT n.level, n.idx, n.hash FROM (VALUES ");
    let mut list = q.separated(", ");
    for id in ids {
        list.push("(");
        list.push_bind_unseparated(i64::from(id.level));
        list.push_unseparated(", ");
        list.push_bind_unseparated(to_sql_int(id.index)?);
        list.push_unseparated(")");
    }
    q.push(") AS wanted CROSS JOIN nodes AS n ON n.tree_id = ");
    q.push_bind(tree.get());
    q.push(" AND n.level = wanted.column1 AND n.idx = wanted.column2");
    Ok(q)
}

async fn latest_head_on(
    conn: &mut SqliteConnection,
    tree: TreeId,
) -> Result<Option<SignedHead>, StoreError> {
    let row = sqlx::query(
        "SELECT size, root, timestamp_ms, signed FROM tree_heads WHERE tree_id = ? ORDER BY size DESC LIMIT 1",
    )
    .bind(tree.get())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(SignedHead {
        size: from_sql_int(row.try_get("size")?)?,
        root: hash_from_sql(row.try_get("root")?)?,
        timestamp_ms: from_sql_int(row.try_get("timestamp_ms")?)?,
        signed: row.try_get("signed")?,
    }))
}

fn entry_from_row(row: &SqliteRow) -> Result<StoredEntry, StoreError> {
    Ok(StoredEntry {
        index: from_sql_int(row.try_get("idx")?)?,
        identity: hash_from_sql(row.try_get("identity")?)?,
        body: row.try_get("body")?,
        timestamp_ms: from_sql_int(row.try_get("timestamp_ms")?)?,
    })
}

#[cfg(test)]
mod tests {
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
                    (node(1, 0), Hash([9; 32])),
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
        assert_eq!(
            store
                .read_nodes(tree, &[node(1, 0), node(0, 0)])
                .await
                .unwrap(),
            vec![Hash([9; 32]), Hash([7; 32])]
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
    async fn node_reads_are_primary_key_lookups() {
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        let tree = store.tree("rekor").await.unwrap();
        let ids = [NodeId { level: 0, index: 5 }, NodeId { level: 3, index: 1 }];
        let q = nodes_query(tree, &ids).unwrap();
        let plan_sql = format!("EXPLAIN QUERY PLAN {}", q.sql());
        let mut plan = sqlx::query(&plan_sql);
        for bind in [0i64, 5, 3, 1, tree.get()] {
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
                .any(|d| d.contains("SEARCH n USING PRIMARY KEY (tree_id=? AND level=? AND idx=?)")),
            "{details:?}"
        );
        assert!(!details.iter().any(|d| d.contains("SCAN n")), "{details:?}");
    }
}
