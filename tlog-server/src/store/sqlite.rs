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

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use shared::merkle::{Hash, NodeId};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::tile_cache::TileCache;
use super::tiles::{check_tile, extend_tiles, touched_tiles, TileId};
use super::{
    from_sql_int, hash_from_sql, to_sql_int, Batch, CosignedCheckpoint, EntryWithExtra, LogStore,
    SignedHead, StoreError, StoreFuture, StoredEntry, TreeId,
};

/// Rows per multi-row statement: 5 binds a row stays far below SQLite's
/// 32,766-variable limit while keeping statements few per batch.
const ROWS_PER_STATEMENT: usize = 500;

/// Reader connections for a file database (the machine has few cores; reads are short).
const READ_CONNECTIONS: u32 = 4;

/// A SQLite-backed log store.
#[derive(Clone, Debug)]
pub(crate) struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    cache: Arc<TileCache>,
}

impl SqliteStore {
    /// Opens (creating if the URL says `mode=rwc`) and migrates the database.
    /// `sqlite::memory:` gives a private in-memory store on one connection.
    #[cfg(test)]
    pub(crate) async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, super::DEFAULT_TILE_CACHE_BYTES).await
    }

    /// [`SqliteStore::open`] with a tile cache of `tile_cache_bytes`.
    pub(crate) async fn open_with(url: &str, tile_cache_bytes: usize) -> Result<Self, StoreError> {
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
            convert_legacy_nodes(&pool).await?;
            return Ok(Self {
                writer: pool.clone(),
                reader: pool,
                cache: Arc::new(TileCache::new(tile_cache_bytes)),
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
        convert_legacy_nodes(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .connect_with(options.create_if_missing(false))
            .await?;
        Ok(Self {
            writer,
            reader,
            cache: Arc::new(TileCache::new(tile_cache_bytes)),
        })
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
        self.cache
            .read_nodes(tree, ids, |missing| async move {
                let mut conn = self.reader.acquire().await?;
                read_tiles(&mut conn, tree, &missing).await
            })
            .await
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

        let extras: Vec<(i64, &[u8])> = batch
            .entries
            .iter()
            .filter(|e| !e.extra_data.is_empty())
            .map(|e| Ok((to_sql_int(e.entry.index)?, &e.extra_data[..])))
            .collect::<Result<_, StoreError>>()?;
        for chunk in extras.chunks(ROWS_PER_STATEMENT) {
            let mut q =
                QueryBuilder::<Sqlite>::new("INSERT INTO entry_extra (tree_id, idx, data) ");
            q.push_values(chunk, |mut b, (idx, data)| {
                b.push_bind(tree).push_bind(*idx).push_bind(*data);
            });
            q.build().execute(&mut *tx).await?;
        }

        // The tiles the new nodes extend: read the partial ones, append,
        // and write them back whole (at most a few rows per batch).
        let existing = read_tiles(&mut tx, batch.tree, &touched_tiles(&batch.nodes)?).await?;
        let tiles = extend_tiles(&batch.nodes, &existing)?;
        for chunk in tiles.chunks(ROWS_PER_STATEMENT) {
            let mut q =
                QueryBuilder::<Sqlite>::new("INSERT INTO tiles (tree_id, level, idx, hashes) ");
            let mut rows = Vec::with_capacity(chunk.len());
            for (id, bytes) in chunk {
                rows.push((i64::from(id.level), to_sql_int(id.index)?, &bytes[..]));
            }
            q.push_values(rows, |mut b, (level, idx, bytes)| {
                b.push_bind(tree)
                    .push_bind(level)
                    .push_bind(idx)
                    .push_bind(bytes);
            });
            q.push(" ON CONFLICT (tree_id, level, idx) DO UPDATE SET hashes = excluded.hashes");
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
        // Durable now, so this process' readers may see the new right edge.
        // The batch is committed whatever happens here: a tile that fails to
        // cache is only read from the table later.
        for (id, bytes) in &tiles {
            if let Err(e) = self.cache.insert(batch.tree, *id, bytes) {
                tracing::warn!(error = %e, "caching a committed tile");
            }
        }
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

    fn save_cosigned(&self, tree: TreeId, checkpoint: &CosignedCheckpoint) -> StoreFuture<'_, ()> {
        let checkpoint = checkpoint.clone();
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO cosigned_checkpoints (tree_id, size, root, note, cosignatures) \
                 VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (tree_id) DO UPDATE SET size = excluded.size, root = excluded.root, \
                 note = excluded.note, cosignatures = excluded.cosignatures \
                 WHERE excluded.size >= cosigned_checkpoints.size",
            )
            .bind(tree.get())
            .bind(to_sql_int(checkpoint.size)?)
            .bind(checkpoint.root.0.as_slice())
            .bind(&checkpoint.note)
            .bind(i64::from(checkpoint.cosignatures))
            .execute(&self.writer)
            .await?;
            Ok(())
        })
    }

    fn latest_cosigned(&self, tree: TreeId) -> StoreFuture<'_, Option<CosignedCheckpoint>> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT size, root, note, cosignatures FROM cosigned_checkpoints WHERE tree_id = ?",
            )
            .bind(tree.get())
            .fetch_optional(&self.reader)
            .await?;
            row.map(|row| cosigned_from_row(&row)).transpose()
        })
    }

    fn read_nodes<'a>(&'a self, tree: TreeId, ids: &'a [NodeId]) -> StoreFuture<'a, Vec<Hash>> {
        Box::pin(self.read_nodes_impl(tree, ids))
    }

    fn read_tile(
        &self,
        tree: TreeId,
        level: u8,
        index: u64,
        min_width: usize,
    ) -> StoreFuture<'_, Option<Vec<u8>>> {
        Box::pin(async move {
            let id = TileId { level, index };
            self.cache
                .read_tile(tree, id, min_width, |wanted| async move {
                    let mut conn = self.reader.acquire().await?;
                    read_tiles(&mut conn, tree, &wanted).await
                })
                .await
        })
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

    fn entries_in_range(
        &self,
        tree: TreeId,
        start: u64,
        end: u64,
    ) -> StoreFuture<'_, Vec<EntryWithExtra>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT e.idx, e.identity, e.body, e.timestamp_ms, x.data AS extra \
                 FROM entries AS e LEFT JOIN entry_extra AS x \
                 ON x.tree_id = e.tree_id AND x.idx = e.idx \
                 WHERE e.tree_id = ? AND e.idx >= ? AND e.idx < ? ORDER BY e.idx",
            )
            .bind(tree.get())
            .bind(to_sql_int(start)?)
            .bind(to_sql_int(end)?)
            .fetch_all(&self.reader)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(EntryWithExtra {
                        entry: entry_from_row(row)?,
                        extra_data: row
                            .try_get::<Option<Vec<u8>>, _>("extra")?
                            .unwrap_or_default(),
                    })
                })
                .collect()
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

/// `SELECT level, idx, hashes` of the tiles `ids` of `tree`. The wanted ids
/// are a VALUES list driving a CROSS JOIN (which SQLite never reorders), so
/// each one is a primary-key point lookup; `(level, idx) IN (VALUES ...)`
/// would only use the `tree_id` prefix and scan the whole tree's tiles.
fn tiles_query(tree: TreeId, ids: &[TileId]) -> Result<QueryBuilder<'static, Sqlite>, StoreError> {
    let mut q = QueryBuilder::<Sqlite>::new("SELECT t.level, t.idx, t.hashes FROM (VALUES ");
    let mut list = q.separated(", ");
    for id in ids {
        list.push("(");
        list.push_bind_unseparated(i64::from(id.level));
        list.push_unseparated(", ");
        list.push_bind_unseparated(to_sql_int(id.index)?);
        list.push_unseparated(")");
    }
    q.push(") AS wanted CROSS JOIN tiles AS t ON t.tree_id = ");
    q.push_bind(tree.get());
    q.push(" AND t.level = wanted.column1 AND t.idx = wanted.column2");
    Ok(q)
}

/// The stored tiles among `ids` (absent ones are simply missing).
async fn read_tiles(
    conn: &mut SqliteConnection,
    tree: TreeId,
    ids: &[TileId],
) -> Result<HashMap<TileId, Vec<u8>>, StoreError> {
    let mut found = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let mut q = tiles_query(tree, chunk)?;
        for row in q.build().fetch_all(&mut *conn).await? {
            let level: i64 = row.try_get("level")?;
            let id = TileId {
                level: u8::try_from(level)
                    .map_err(|_| StoreError::Corrupt(format!("tile level {level}")))?,
                index: from_sql_int(row.try_get("idx")?)?,
            };
            let bytes: Vec<u8> = row.try_get("hashes")?;
            check_tile(id, &bytes)?;
            found.insert(id, bytes);
        }
    }
    Ok(found)
}

/// Moves the nodes of a database written before tiles (migration 0002) into
/// tiles, in one transaction, once. Only tile-boundary levels are kept; the
/// rest are derived from them.
async fn convert_legacy_nodes(writer: &SqlitePool) -> Result<(), StoreError> {
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    let rows = sqlx::query(
        "SELECT tree_id, level, idx, hash FROM nodes WHERE level % 8 = 0 ORDER BY tree_id, level, idx",
    )
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let mut by_tree: BTreeMap<i64, Vec<(NodeId, Hash)>> = BTreeMap::new();
    for row in &rows {
        let level: i64 = row.try_get("level")?;
        let id = NodeId {
            level: u8::try_from(level)
                .map_err(|_| StoreError::Corrupt(format!("node level {level}")))?,
            index: from_sql_int(row.try_get("idx")?)?,
        };
        by_tree
            .entry(row.try_get("tree_id")?)
            .or_default()
            .push((id, hash_from_sql(row.try_get("hash")?)?));
    }
    for (tree, nodes) in by_tree {
        for (id, bytes) in extend_tiles(&nodes, &HashMap::new())? {
            sqlx::query("INSERT INTO tiles (tree_id, level, idx, hashes) VALUES (?, ?, ?, ?)")
                .bind(tree)
                .bind(i64::from(id.level))
                .bind(to_sql_int(id.index)?)
                .bind(bytes)
                .execute(&mut *tx)
                .await?;
        }
    }
    sqlx::query("DELETE FROM nodes").execute(&mut *tx).await?;
    tx.commit().await?;
    tracing::info!(nodes = rows.len(), "converted stored tree nodes to tiles");
    Ok(())
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

fn cosigned_from_row(row: &SqliteRow) -> Result<CosignedCheckpoint, StoreError> {
    Ok(CosignedCheckpoint {
        size: from_sql_int(row.try_get("size")?)?,
        root: hash_from_sql(row.try_get("root")?)?,
        note: row.try_get("note")?,
        cosignatures: u32::try_from(row.try_get::<i64, _>("cosignatures")?).unwrap_or(u32::MAX),
    })
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
mod tests;
