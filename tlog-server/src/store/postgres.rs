//! [`LogStore`] on Postgres through sqlx: the production store, which
//! several `tlog-server` processes may share. Schema: `migrations/postgres`
//! (applied on open; sqlx serialises concurrent migrators with a lock).
//!
//! Queries are plain runtime queries with binds, so building needs no
//! database. A batch is one transaction of a handful of statements whatever
//! its size: each table gets one multi-row `INSERT ... SELECT FROM UNNEST`
//! of array binds (Trillian-Postgres uses COPY for the same reason: batched
//! 256-row transactions reach tens of thousands of rows/s on one client).
//! Durability is Postgres' own: `COMMIT` returns after the WAL is flushed
//! (with the default `synchronous_commit = on`).
//!
//! Writers of one tree are serialised by locking the tree's row
//! (`SELECT ... FOR UPDATE`, Tessera's coordination-row pattern), and the
//! stored head is re-read under that lock, so a batch that does not extend
//! it is refused; the primary keys on `(tree_id, idx)` and
//! `(tree_id, size)` back this up. *Who* sequences is decided separately by
//! a session advisory lock per tree, held on a dedicated connection for the
//! process lifetime ([`LogStore::lead`]).
//!
//! The pool's acquire timeout is short ([`ACQUIRE_TIMEOUT`]), so while the
//! database is unreachable every call fails within seconds instead of
//! hanging, and works again once it is back (broken connections are tested
//! and replaced on acquire).
//!
//! Every connection runs with `plan_cache_mode = force_custom_plan`: its
//! statements stay prepared (one round trip each), but Postgres plans each
//! execution with its parameters and the tables as they are. A cached
//! generic plan made while a table was empty stays a sequential scan after
//! the table grows unless an ANALYZE invalidates it, and autovacuum may be
//! off or behind: measured here with autovacuum off, the duplicate check
//! became a scan of every entry and commits took 90 ms at 250,000 entries.
//!
//! A commit is five round trips whatever the batch size: `BEGIN`, the tree
//! lock with the stored head, the partial tiles, one statement that writes
//! every table (data-modifying CTEs), and `COMMIT`. On this 2-core machine
//! each round trip costs a context switch on both sides, and the commit is
//! the sequencer's critical section, so they set its throughput.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use shared::merkle::{Hash, NodeId};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection as _, Row};
use tokio::sync::Mutex;

use super::tile_cache::TileCache;
use super::tiles::{check_tile, extend_tiles, touched_tiles, TileId};
use super::{
    from_sql_int, hash_from_sql, to_sql_int, Batch, CosignedCheckpoint, EntryWithExtra, Leadership,
    LogStore, SignedHead, StoreError, StoreFuture, StoredEntry, TreeId,
};

/// Longest wait for a pooled connection (or a new lock connection) before a
/// call fails with a "database unreachable" error, answered 503.
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Pool size: the sequencers use one connection each at a time; the rest
/// serve concurrent reads. Postgres' default limit is 100 connections.
const MAX_CONNECTIONS: u32 = 16;

/// A Postgres-backed log store.
pub(crate) struct PgStore {
    pool: PgPool,
    options: PgConnectOptions,
    /// The session that holds this process' sequencing locks.
    locks: Mutex<LockSession>,
    cache: TileCache,
}

/// A dedicated connection whose session holds `pg_advisory_lock(tree_id)`
/// for every tree in `held`. Losing the connection loses the locks.
#[derive(Default)]
struct LockSession {
    conn: Option<PgConnection>,
    held: HashSet<TreeId>,
}

impl PgStore {
    /// Connects (`postgres://user@host:port/db`) and migrates the database.
    #[cfg(test)]
    pub(crate) async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, super::DEFAULT_TILE_CACHE_BYTES).await
    }

    /// [`PgStore::open`] with a tile cache of `tile_cache_bytes`.
    pub(crate) async fn open_with(url: &str, tile_cache_bytes: usize) -> Result<Self, StoreError> {
        let options =
            PgConnectOptions::from_str(url)?.options([("plan_cache_mode", "force_custom_plan")]);
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await?;
        Ok(Self {
            pool,
            options,
            locks: Mutex::default(),
            cache: TileCache::new(tile_cache_bytes),
        })
    }

    async fn tree_impl(&self, name: &str) -> Result<TreeId, StoreError> {
        let created_at = time::OffsetDateTime::now_utc().unix_timestamp();
        // DO NOTHING keeps the first id if two openers race.
        sqlx::query(
            "INSERT INTO trees (name, tree_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(TreeId::random().get())
        .bind(created_at)
        .execute(&self.pool)
        .await?;
        let id: i64 = sqlx::query_scalar("SELECT tree_id FROM trees WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        TreeId::new(id).ok_or_else(|| StoreError::Corrupt(format!("tree id {id}")))
    }

    async fn read_nodes_impl(&self, tree: TreeId, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        self.cache
            .read_nodes(tree, ids, |missing| async move {
                let mut conn = self.pool.acquire().await?;
                read_tiles(&mut conn, tree, &missing).await
            })
            .await
    }

    async fn commit_impl(&self, batch: Batch) -> Result<(), StoreError> {
        let tree = batch.tree.get();
        let mut tx = self.pool.begin().await?;
        // Serialise the writers of this tree: a second committer waits on
        // the row lock and then sees the first one's head.
        let locked = sqlx::query(LOCK_AND_HEAD)
            .bind(tree)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("unknown tree {tree}")))?;
        let latest = match locked.try_get::<Option<i64>, _>("size")? {
            None => None,
            Some(_) => Some(head_from_row(&locked)?),
        };
        batch.check_extends(latest.as_ref())?;

        let n = batch.entries.len();
        let (mut idx, mut identity, mut body, mut ts) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut key_text, mut key_idx) = (Vec::new(), Vec::new());
        let (mut extra_idx, mut extra_data) = (Vec::new(), Vec::new());
        for e in &batch.entries {
            let i = to_sql_int(e.entry.index)?;
            idx.push(i);
            identity.push(&e.entry.identity.0[..]);
            body.push(&e.entry.body[..]);
            ts.push(to_sql_int(e.entry.timestamp_ms)?);
            for key in &e.index_keys {
                key_text.push(key.as_str());
                key_idx.push(i);
            }
            if !e.extra_data.is_empty() {
                extra_idx.push(i);
                extra_data.push(&e.extra_data[..]);
            }
        }

        // The tiles the new nodes extend: read the partial ones, append, and
        // write them back whole (a few rows per batch).
        let existing = read_tiles(&mut tx, batch.tree, &touched_tiles(&batch.nodes)?).await?;
        let tiles = extend_tiles(&batch.nodes, &existing)?;
        let mut level = Vec::with_capacity(tiles.len());
        let mut index = Vec::with_capacity(tiles.len());
        let mut hashes = Vec::with_capacity(tiles.len());
        for (id, bytes) in &tiles {
            level.push(i16::from(id.level));
            index.push(to_sql_int(id.index)?);
            hashes.push(&bytes[..]);
        }

        let head = &batch.head;
        sqlx::query(WRITE_BATCH)
            .bind(tree)
            .bind(&idx)
            .bind(&identity)
            .bind(&body)
            .bind(&ts)
            .bind(&key_text)
            .bind(&key_idx)
            .bind(&extra_idx)
            .bind(&extra_data)
            .bind(&level)
            .bind(&index)
            .bind(&hashes)
            .bind(to_sql_int(head.size)?)
            .bind(&head.root.0[..])
            .bind(to_sql_int(head.timestamp_ms)?)
            .bind(&head.signed[..])
            .execute(&mut *tx)
            .await
            // Entries and heads are unique by index, identity and size.
            .map_err(conflict_on_duplicate)?;
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

    async fn lead_impl(&self, tree: TreeId) -> Result<Leadership, StoreError> {
        let mut session = self.locks.lock().await;
        // A dead lock connection means the locks are gone with it.
        if let Some(conn) = session.conn.as_mut() {
            if !matches!(
                tokio::time::timeout(ACQUIRE_TIMEOUT, conn.ping()).await,
                Ok(Ok(()))
            ) {
                session.conn = None;
                session.held.clear();
            }
        }
        let session = &mut *session;
        let conn = match &mut session.conn {
            Some(conn) => conn,
            slot @ None => {
                let conn = tokio::time::timeout(
                    ACQUIRE_TIMEOUT,
                    PgConnection::connect_with(&self.options),
                )
                .await
                .map_err(|_| StoreError::Database(sqlx::Error::PoolTimedOut))??;
                session.held.clear();
                slot.insert(conn)
            }
        };
        if session.held.contains(&tree) {
            return Ok(Leadership::Leader);
        }
        let attempt = tokio::time::timeout(
            ACQUIRE_TIMEOUT,
            sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
                .bind(tree.get())
                .fetch_one(&mut *conn),
        )
        .await;
        match attempt {
            Ok(Ok(true)) => {
                session.held.insert(tree);
                Ok(Leadership::Leader)
            }
            Ok(Ok(false)) => Ok(Leadership::Follower),
            Ok(Err(e)) => {
                session.conn = None;
                Err(e.into())
            }
            Err(_) => {
                session.conn = None;
                Err(StoreError::Database(sqlx::Error::PoolTimedOut))
            }
        }
    }
}

impl LogStore for PgStore {
    fn tree(&self, name: &str) -> StoreFuture<'_, TreeId> {
        let name = name.to_owned();
        Box::pin(async move { self.tree_impl(&name).await })
    }

    fn latest_head(&self, tree: TreeId) -> StoreFuture<'_, Option<SignedHead>> {
        Box::pin(async move {
            let mut conn = self.pool.acquire().await?;
            latest_head_on(&mut conn, tree).await
        })
    }

    fn save_cosigned(&self, tree: TreeId, checkpoint: &CosignedCheckpoint) -> StoreFuture<'_, ()> {
        let checkpoint = checkpoint.clone();
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO cosigned_checkpoints (tree_id, size, root, note, cosignatures) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (tree_id) DO UPDATE SET size = excluded.size, root = excluded.root, \
                 note = excluded.note, cosignatures = excluded.cosignatures \
                 WHERE excluded.size >= cosigned_checkpoints.size",
            )
            .bind(tree.get())
            .bind(to_sql_int(checkpoint.size)?)
            .bind(checkpoint.root.0.as_slice())
            .bind(&checkpoint.note)
            .bind(i32::try_from(checkpoint.cosignatures).unwrap_or(i32::MAX))
            .execute(&self.pool)
            .await?;
            Ok(())
        })
    }

    fn latest_cosigned(&self, tree: TreeId) -> StoreFuture<'_, Option<CosignedCheckpoint>> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT size, root, note, cosignatures FROM cosigned_checkpoints WHERE tree_id = $1",
            )
            .bind(tree.get())
            .fetch_optional(&self.pool)
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
                    let mut conn = self.pool.acquire().await?;
                    read_tiles(&mut conn, tree, &wanted).await
                })
                .await
        })
    }

    fn entry_by_index(&self, tree: TreeId, index: u64) -> StoreFuture<'_, Option<StoredEntry>> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT idx, identity, body, timestamp_ms FROM entries \
                 WHERE tree_id = $1 AND idx = $2",
            )
            .bind(tree.get())
            .bind(to_sql_int(index)?)
            .fetch_optional(&self.pool)
            .await?;
            row.map(|r| entry_from_row(&r)).transpose()
        })
    }

    fn entries_by_identity<'a>(
        &'a self,
        tree: TreeId,
        identities: &'a [Hash],
    ) -> StoreFuture<'a, Vec<StoredEntry>> {
        Box::pin(async move {
            let wanted: Vec<&[u8]> = identities.iter().map(|h| &h.0[..]).collect();
            let rows = sqlx::query(
                "SELECT idx, identity, body, timestamp_ms FROM entries \
                 WHERE tree_id = $1 AND identity = ANY($2::bytea[])",
            )
            .bind(tree.get())
            .bind(&wanted)
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(entry_from_row).collect()
        })
    }

    fn search<'a>(&'a self, tree: TreeId, key: &'a str) -> StoreFuture<'a, Vec<u64>> {
        Box::pin(async move {
            let rows: Vec<i64> = sqlx::query_scalar(
                "SELECT idx FROM search_index WHERE tree_id = $1 AND key = $2 ORDER BY idx",
            )
            .bind(tree.get())
            .bind(key)
            .fetch_all(&self.pool)
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
                 WHERE e.tree_id = $1 AND e.idx >= $2 AND e.idx < $3 ORDER BY e.idx",
            )
            .bind(tree.get())
            .bind(to_sql_int(start)?)
            .bind(to_sql_int(end)?)
            .fetch_all(&self.pool)
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
            let mut session = self.locks.lock().await;
            session.held.clear();
            if let Some(mut conn) = session.conn.take() {
                // Ending the session releases its advisory locks, but the
                // server does so only once the backend has exited; unlock
                // explicitly so a standby can take over at once.
                if let Err(e) = sqlx::query("SELECT pg_advisory_unlock_all()")
                    .execute(&mut conn)
                    .await
                {
                    tracing::debug!(error = %e, "releasing the sequencing locks");
                }
                if let Err(e) = conn.close().await {
                    tracing::debug!(error = %e, "closing the lock connection");
                }
            }
            self.pool.close().await;
            Ok(())
        })
    }

    fn lead(&self, tree: TreeId) -> StoreFuture<'_, Leadership> {
        Box::pin(self.lead_impl(tree))
    }
}

/// The query that reads tiles: the wanted `(level, idx)` pairs come as two
/// arrays and drive a nested loop of primary-key lookups.
/// The tree's row, locked for this transaction, with its latest head (NULLs
/// before the first).
const LOCK_AND_HEAD: &str = "SELECT h.size, h.root, h.timestamp_ms, h.signed \
     FROM trees AS t LEFT JOIN LATERAL ( \
         SELECT size, root, timestamp_ms, signed FROM tree_heads \
         WHERE tree_id = t.tree_id ORDER BY size DESC LIMIT 1) AS h ON true \
     WHERE t.tree_id = $1 FOR UPDATE OF t";

/// A batch's rows in every table, in one statement: Postgres runs each
/// data-modifying CTE exactly once and to completion, read or not. Empty
/// arrays write no rows. Search-index keys may repeat within an entry (a
/// hash that is both payload and artifact hash), hence DO NOTHING; tiles
/// are rewritten whole.
const WRITE_BATCH: &str = "WITH new_entries AS ( \
         INSERT INTO entries (tree_id, idx, identity, body, timestamp_ms) \
         SELECT $1, * FROM UNNEST($2::bigint[], $3::bytea[], $4::bytea[], $5::bigint[])), \
     new_keys AS ( \
         INSERT INTO search_index (tree_id, key, idx) \
         SELECT $1, * FROM UNNEST($6::text[], $7::bigint[]) ON CONFLICT DO NOTHING), \
     new_extra AS ( \
         INSERT INTO entry_extra (tree_id, idx, data) \
         SELECT $1, * FROM UNNEST($8::bigint[], $9::bytea[])), \
     new_tiles AS ( \
         INSERT INTO tiles (tree_id, level, idx, hashes) \
         SELECT $1, * FROM UNNEST($10::smallint[], $11::bigint[], $12::bytea[]) \
         ON CONFLICT (tree_id, level, idx) DO UPDATE SET hashes = EXCLUDED.hashes) \
     INSERT INTO tree_heads (tree_id, size, root, timestamp_ms, signed) \
     VALUES ($1, $13, $14, $15, $16)";

pub(crate) const TILES_QUERY: &str = "SELECT t.level, t.idx, t.hashes \
     FROM UNNEST($2::smallint[], $3::bigint[]) AS w (level, idx) \
     JOIN tiles AS t ON t.tree_id = $1 AND t.level = w.level AND t.idx = w.idx";

/// The stored tiles among `ids` (absent ones are simply missing).
async fn read_tiles(
    conn: &mut PgConnection,
    tree: TreeId,
    ids: &[TileId],
) -> Result<HashMap<TileId, Vec<u8>>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let levels: Vec<i16> = ids.iter().map(|t| i16::from(t.level)).collect();
    let indices: Vec<i64> = ids
        .iter()
        .map(|t| to_sql_int(t.index))
        .collect::<Result<_, _>>()?;
    let rows = sqlx::query(TILES_QUERY)
        .bind(tree.get())
        .bind(&levels)
        .bind(&indices)
        .fetch_all(&mut *conn)
        .await?;
    let mut found = HashMap::with_capacity(rows.len());
    for row in rows {
        let level: i16 = row.try_get("level")?;
        let id = TileId {
            level: u8::try_from(level)
                .map_err(|_| StoreError::Corrupt(format!("tile level {level}")))?,
            index: from_sql_int(row.try_get("idx")?)?,
        };
        let bytes: Vec<u8> = row.try_get("hashes")?;
        check_tile(id, &bytes)?;
        found.insert(id, bytes);
    }
    Ok(found)
}

async fn latest_head_on(
    conn: &mut PgConnection,
    tree: TreeId,
) -> Result<Option<SignedHead>, StoreError> {
    let row = sqlx::query(
        "SELECT size, root, timestamp_ms, signed FROM tree_heads \
         WHERE tree_id = $1 ORDER BY size DESC LIMIT 1",
    )
    .bind(tree.get())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(head_from_row).transpose()
}

fn head_from_row(row: &PgRow) -> Result<SignedHead, StoreError> {
    Ok(SignedHead {
        size: from_sql_int(row.try_get("size")?)?,
        root: hash_from_sql(row.try_get("root")?)?,
        timestamp_ms: from_sql_int(row.try_get("timestamp_ms")?)?,
        signed: row.try_get("signed")?,
    })
}

fn cosigned_from_row(row: &PgRow) -> Result<CosignedCheckpoint, StoreError> {
    Ok(CosignedCheckpoint {
        size: from_sql_int(row.try_get("size")?)?,
        root: hash_from_sql(row.try_get("root")?)?,
        note: row.try_get("note")?,
        cosignatures: u32::try_from(row.try_get::<i32, _>("cosignatures")?).unwrap_or(0),
    })
}

fn entry_from_row(row: &PgRow) -> Result<StoredEntry, StoreError> {
    Ok(StoredEntry {
        index: from_sql_int(row.try_get("idx")?)?,
        identity: hash_from_sql(row.try_get("identity")?)?,
        body: row.try_get("body")?,
        timestamp_ms: from_sql_int(row.try_get("timestamp_ms")?)?,
    })
}

/// A unique violation on entries or heads is a concurrent or duplicate
/// append: report it as the conflict it is.
fn conflict_on_duplicate(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
            StoreError::Conflict(db.message().to_owned())
        }
        _ => StoreError::Database(e),
    }
}

#[cfg(test)]
mod tests;
