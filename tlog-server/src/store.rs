//! Storage of append-only Merkle logs (RFC 6962 trees) behind one trait,
//! [`LogStore`], so the sequencer and the HTTP layer do not care whether the
//! bytes live in SQLite (embedded, `sigil dev`) or Postgres (production).
//!
//! A store holds several trees (the Rekor log, the CT log, later shards), each
//! named by a short string and identified by a random positive [`TreeId`].
//! Per tree it keeps: the entries (index, identity, canonical body, time), the
//! search-index keys of each entry, the hashes of *complete* subtrees named by
//! [`NodeId`] (stored as C2SP tlog-tiles, see [`tiles`], so a proof reads a
//! handful of tile rows; readers only ask for `NodeId`s), and every signed
//! tree head the log ever published. The SQL stores keep recently used and
//! just-committed tiles, with their interior nodes, in memory
//! ([`tile_cache`]), so a proof usually reads no tile row at all.
//!
//! Backends: [`sqlite`] (embedded, one process) and [`postgres`] (production;
//! several processes may share a database, one sequencing each tree at a
//! time, see [`LogStore::lead`]). [`open_with`] picks one from the URL.

pub(crate) mod postgres;
pub(crate) mod sqlite;
pub(crate) mod tile_cache;
pub(crate) mod tiles;

#[cfg(test)]
pub(crate) mod memory;
#[cfg(test)]
pub(crate) mod suite;

use std::future::Future;
use std::pin::Pin;

use shared::merkle::{Hash, NodeId};

pub use tile_cache::DEFAULT_TILE_CACHE_BYTES;

/// A boxed, `Send` future. The trait returns these instead of using `async fn`
/// so that it stays object safe: the backend is chosen at run time from the
/// database URL and held as `Arc<dyn LogStore>`.
pub(crate) type StoreFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// The store behind one or more logs.
///
/// # Durability and atomicity contract
///
/// * [`LogStore::commit`] applies a whole [`Batch`] as **one transaction**: the
///   entries, their search-index rows, the new Merkle nodes and the new signed
///   tree head become visible together or not at all. It returns `Ok` only
///   after the transaction is **durable** (synced to stable storage), so a
///   caller may acknowledge the batch's submitters as soon as it returns. A
///   crash before `Ok` loses at most that batch.
/// * `commit` refuses (with [`StoreError::Conflict`]) a batch that does not
///   extend the latest stored head exactly: its first entry index and its
///   head's size must continue the tree as stored. Two writers can therefore
///   never fork a tree, whatever they hold in memory.
/// * Readers see only committed state: every read method observes some
///   committed prefix of the tree, never a half-applied batch.
/// * Stored data is immutable: entries, nodes and heads are only ever added.
///
/// Reads return [`StoreError::MissingNode`] rather than a wrong answer when a
/// node a proof needs is absent (which would mean a corrupt store).
pub(crate) trait LogStore: Send + Sync + 'static {
    /// The id of the tree called `name`, creating it (with a fresh random
    /// positive id, persisted) the first time a name is seen.
    fn tree(&self, name: &str) -> StoreFuture<'_, TreeId>;

    /// The latest committed signed head of `tree`, or `None` before the first commit.
    fn latest_head(&self, tree: TreeId) -> StoreFuture<'_, Option<SignedHead>>;

    /// The hashes of the complete subtrees `ids`, in the same order.
    fn read_nodes<'a>(&'a self, tree: TreeId, ids: &'a [NodeId]) -> StoreFuture<'a, Vec<Hash>>;

    /// The stored bottom row of the tile at tile level `level` and index
    /// `index` (C2SP tlog-tiles bytes, 32 per hash) if it holds at least
    /// `min_width` hashes. A right-edge tile may be wider than a given
    /// checkpoint covers: callers that serve tiles cut it to the width
    /// their checkpoint names (a narrower version is always a prefix).
    fn read_tile(
        &self,
        tree: TreeId,
        level: u8,
        index: u64,
        min_width: usize,
    ) -> StoreFuture<'_, Option<Vec<u8>>>;

    /// The entry at `index`, if committed.
    fn entry_by_index(&self, tree: TreeId, index: u64) -> StoreFuture<'_, Option<StoredEntry>>;

    /// The committed entries whose identity is one of `identities` (any order,
    /// misses omitted). This is the duplicate check.
    fn entries_by_identity<'a>(
        &'a self,
        tree: TreeId,
        identities: &'a [Hash],
    ) -> StoreFuture<'a, Vec<StoredEntry>>;

    /// Indices of the entries indexed under `key`, ascending.
    fn search<'a>(&'a self, tree: TreeId, key: &'a str) -> StoreFuture<'a, Vec<u64>>;

    /// The committed entries with indices in `start..end`, ascending, each
    /// with the [`NewEntry::extra_data`] committed with it (empty if none).
    /// Serves CT `get-entries`; callers bound `end - start`.
    fn entries_in_range(
        &self,
        tree: TreeId,
        start: u64,
        end: u64,
    ) -> StoreFuture<'_, Vec<EntryWithExtra>>;

    /// Appends a batch atomically and durably (see the contract above).
    fn commit(&self, batch: Batch) -> StoreFuture<'_, ()>;

    /// Closes connections once nothing uses the store any more. Durability
    /// never depends on it (commits are durable when they return); it lets a
    /// backend finish cleanly, e.g. SQLite checkpoints and removes its WAL.
    /// It also gives up any sequencing lock this process holds.
    fn close(&self) -> StoreFuture<'_, ()>;

    /// Whether this process may sequence `tree` now. Stores that several
    /// processes can share (Postgres) hold a per-tree lock for the caller:
    /// the first call takes it if it is free, later calls check that it is
    /// still held (re-taking it after a lost connection if nobody else did).
    /// Exactly one process is [`Leadership::Leader`] of a tree at a time.
    /// An `Err` means the database is unreachable: the caller is neither.
    ///
    /// The lock only decides *who* writes; [`LogStore::commit`]'s head check
    /// alone keeps the tree from forking, even if two processes briefly both
    /// believe they lead (e.g. across a lost lock connection).
    fn lead(&self, _tree: TreeId) -> StoreFuture<'_, Leadership> {
        Box::pin(async { Ok(Leadership::Sole) })
    }

    /// Keeps `checkpoint` as the newest cosigned checkpoint of `tree`
    /// (C2SP tlog-witness; `crate::witness`), unless a larger one is kept
    /// already. Durable when it returns. Only the leader writes it; every
    /// replica reads it, so all of them publish the same cosigned note.
    /// Unlike the log itself this row is replaced, and losing it loses
    /// nothing of the log: witnesses are simply asked again.
    fn save_cosigned(&self, tree: TreeId, checkpoint: &CosignedCheckpoint) -> StoreFuture<'_, ()>;

    /// The checkpoint [`LogStore::save_cosigned`] keeps for `tree`, if any.
    fn latest_cosigned(&self, tree: TreeId) -> StoreFuture<'_, Option<CosignedCheckpoint>>;
}

/// A checkpoint with the witness cosignatures collected for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CosignedCheckpoint {
    pub size: u64,
    pub root: Hash,
    /// The log's signed note with the cosignature lines appended.
    pub note: String,
    pub cosignatures: u32,
}

/// The answer of [`LogStore::lead`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Leadership {
    /// The store has a single writing process by construction (SQLite, the
    /// test store): always sequence, never re-check.
    Sole,
    /// This process holds the tree's sequencing lock.
    Leader,
    /// Another process holds it; this one serves reads only.
    Follower,
}

/// Opens the store a database URL names, with a tile cache of
/// `tile_cache_bytes` (see [`tile_cache`]), and applies its migrations:
/// `sqlite:...` gives [`sqlite::SqliteStore`], `postgres://...` or
/// `postgresql://...` gives [`postgres::PgStore`].
pub(crate) async fn open_with(
    database_url: &str,
    tile_cache_bytes: usize,
) -> Result<std::sync::Arc<dyn LogStore>, StoreError> {
    let scheme = database_url.split(':').next().unwrap_or_default();
    match scheme {
        "sqlite" => Ok(std::sync::Arc::new(
            sqlite::SqliteStore::open_with(database_url, tile_cache_bytes).await?,
        )),
        "postgres" | "postgresql" => Ok(std::sync::Arc::new(
            postgres::PgStore::open_with(database_url, tile_cache_bytes).await?,
        )),
        other => Err(StoreError::UnsupportedUrl(other.to_owned())),
    }
}

/// A tree's id: a positive `i64` (Rekor's `treeID`, the prefix of entry IDs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct TreeId(i64);

impl TreeId {
    /// Accepts positive ids only.
    pub(crate) fn new(id: i64) -> Option<Self> {
        (id > 0).then_some(Self(id))
    }

    /// A fresh random positive id.
    pub(crate) fn random() -> Self {
        use rand_core::RngCore;
        loop {
            // Clearing the sign bit keeps it non-negative; 0 is retried.
            let id = (rand_core::OsRng.next_u64() >> 1) as i64;
            if let Some(id) = Self::new(id) {
                return id;
            }
        }
    }

    pub(crate) fn get(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for TreeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A committed log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredEntry {
    pub index: u64,
    /// What duplicates are detected by: the leaf hash for Rekor entries, the
    /// hash of the timestamp-free signed entry for CT.
    pub identity: Hash,
    /// The leaf data whose RFC 6962 leaf hash is in the tree.
    pub body: Vec<u8>,
    /// When the entry was sequenced, in milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
}

/// An entry to append, with its search-index keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NewEntry {
    pub entry: StoredEntry,
    pub index_keys: Vec<String>,
    /// Bytes kept beside the entry but outside its leaf, committed in the
    /// same transaction: the CT log's RFC 6962 §4.6 `extra_data` (the
    /// submitted chain). Empty for Rekor entries; stores may skip empty ones.
    pub extra_data: Vec<u8>,
}

/// A committed entry read back with its [`NewEntry::extra_data`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EntryWithExtra {
    pub entry: StoredEntry,
    pub extra_data: Vec<u8>,
}

/// A signed tree head: size, root, time and the personality-specific
/// signature bytes (a Rekor signed-note checkpoint, or a CT TLS
/// `DigitallySigned` tree head signature).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SignedHead {
    pub size: u64,
    pub root: Hash,
    pub timestamp_ms: u64,
    pub signed: Vec<u8>,
}

/// One sequencing batch: entries at consecutive indices continuing the tree,
/// the complete-subtree nodes they completed, and the head that covers them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Batch {
    pub tree: TreeId,
    pub entries: Vec<NewEntry>,
    pub nodes: Vec<(NodeId, Hash)>,
    pub head: SignedHead,
}

impl Batch {
    /// The tree size this batch expects to extend.
    pub(crate) fn base_size(&self) -> u64 {
        self.head.size.saturating_sub(self.entries.len() as u64)
    }

    /// Checks the batch is internally consistent (indices consecutive from
    /// `base_size`) and continues a tree whose latest head is `latest`.
    pub(crate) fn check_extends(&self, latest: Option<&SignedHead>) -> Result<(), StoreError> {
        let base = self.base_size();
        let expected = latest.map_or(0, |h| h.size);
        if base != expected || self.head.size < self.entries.len() as u64 {
            return Err(StoreError::Conflict(format!(
                "batch extends size {base} to {}, but the stored tree has size {expected}",
                self.head.size
            )));
        }
        if latest.is_some() && self.entries.is_empty() {
            return Err(StoreError::Conflict(
                "empty batch over an existing head".to_owned(),
            ));
        }
        for (offset, e) in self.entries.iter().enumerate() {
            if e.entry.index != base + offset as u64 {
                return Err(StoreError::Conflict(format!(
                    "entry index {} where {} was expected",
                    e.entry.index,
                    base + offset as u64
                )));
            }
        }
        Ok(())
    }
}

/// Storage errors. None of these is the client's fault; the HTTP layer
/// answers 500 and logs the detail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL scheme {0:?}")]
    UnsupportedUrl(String),
    #[error("concurrent or inconsistent append: {0}")]
    Conflict(String),
    #[error("missing tree node level {level} index {index}")]
    MissingNode { level: u8, index: u64 },
    #[error("corrupt store: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// The database could not be reached (connection refused or lost, pool
    /// timed out): a transient condition the API answers with 503, unlike
    /// a query that failed on a live database.
    pub(crate) fn is_unavailable(&self) -> bool {
        match self {
            Self::Database(e) => {
                matches!(
                    e,
                    sqlx::Error::Io(_)
                        | sqlx::Error::PoolTimedOut
                        | sqlx::Error::PoolClosed
                        | sqlx::Error::WorkerCrashed
                        | sqlx::Error::Tls(_)
                ) || is_connection_sqlstate(e)
            }
            _ => false,
        }
    }
}

/// SQLSTATE classes 08 (connection exception) and 57P (the server is
/// shutting down or restarting): the database went away under a query.
fn is_connection_sqlstate(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    db.code()
        .is_some_and(|c| c.starts_with("08") || c.starts_with("57P"))
}

/// Converts a log index or size to SQL's `i64`; indices beyond `i64::MAX`
/// cannot exist in a store, so this is a corruption/overflow error.
pub(crate) fn to_sql_int(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{v} exceeds i64")))
}

/// The inverse of [`to_sql_int`]: negative numbers in the store are corruption.
pub(crate) fn from_sql_int(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative value {v}")))
}

/// Parses a stored 32-byte hash.
pub(crate) fn hash_from_sql(bytes: &[u8]) -> Result<Hash, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map(Hash)
        .map_err(|_| StoreError::Corrupt(format!("hash of {} bytes", bytes.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(size: u64) -> SignedHead {
        SignedHead {
            size,
            root: Hash([0; 32]),
            timestamp_ms: 0,
            signed: vec![],
        }
    }

    fn new_entry(index: u64) -> NewEntry {
        NewEntry {
            entry: StoredEntry {
                index,
                identity: Hash([index as u8; 32]),
                body: vec![],
                timestamp_ms: 0,
            },
            index_keys: vec![],
            extra_data: vec![],
        }
    }

    #[test]
    fn tree_ids_are_positive() {
        assert!(TreeId::new(0).is_none());
        assert!(TreeId::new(-5).is_none());
        for _ in 0..100 {
            assert!(TreeId::random().get() > 0);
        }
    }

    #[test]
    fn batch_must_continue_the_stored_tree() {
        let batch = Batch {
            tree: TreeId(1),
            entries: vec![new_entry(2), new_entry(3)],
            nodes: vec![],
            head: head(4),
        };
        assert!(batch.check_extends(Some(&head(2))).is_ok());
        assert!(matches!(
            batch.check_extends(Some(&head(3))),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            batch.check_extends(None),
            Err(StoreError::Conflict(_))
        ));

        let gap = Batch {
            tree: TreeId(1),
            entries: vec![new_entry(2), new_entry(4)],
            nodes: vec![],
            head: head(4),
        };
        assert!(matches!(
            gap.check_extends(Some(&head(2))),
            Err(StoreError::Conflict(_))
        ));

        let initial = Batch {
            tree: TreeId(1),
            entries: vec![],
            nodes: vec![],
            head: head(0),
        };
        assert!(initial.check_extends(None).is_ok());
        assert!(initial.check_extends(Some(&head(0))).is_err());
    }
}
