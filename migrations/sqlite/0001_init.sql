-- Sigil transparency-log store, SQLite flavour (tlog-server/src/store/sqlite.rs).
-- Several Merkle trees live in one database; every table is keyed by tree_id.
-- Rows are only ever inserted: a log is append-only, so nothing here is
-- updated or deleted. Integers that are log indices or sizes fit in i64.

-- One row per tree, created the first time a tree name is opened.
-- tree_id is a random positive i64: Rekor's treeID and the %016x prefix of
-- 80-hex entry IDs, so it must never change once entries exist.
CREATE TABLE trees (
    name       TEXT    PRIMARY KEY,
    tree_id    INTEGER NOT NULL UNIQUE CHECK (tree_id > 0),
    created_at INTEGER NOT NULL            -- Unix seconds
);

-- The log entries. identity is what duplicate submissions are detected by
-- (Rekor: the RFC 6962 leaf hash = entry UUID; CT: the hash of the
-- timestamp-free signed entry), so it is unique per tree. body is the leaf
-- data whose leaf hash is in the tree (Rekor: canonical JSON; CT: the TLS
-- MerkleTreeLeaf). A rowid table, because bodies can be kilobytes.
CREATE TABLE entries (
    tree_id      INTEGER NOT NULL REFERENCES trees (tree_id),
    idx          INTEGER NOT NULL CHECK (idx >= 0),
    identity     BLOB    NOT NULL CHECK (length(identity) = 32),
    body         BLOB    NOT NULL,
    timestamp_ms INTEGER NOT NULL,         -- when it was sequenced
    PRIMARY KEY (tree_id, idx)
);
CREATE UNIQUE INDEX entries_by_identity ON entries (tree_id, identity);

-- Search keys (artifact hashes, key fingerprints, identities) -> entries.
CREATE TABLE search_index (
    tree_id INTEGER NOT NULL,
    key     TEXT    NOT NULL,
    idx     INTEGER NOT NULL,
    PRIMARY KEY (tree_id, key, idx)
) WITHOUT ROWID;

-- Hashes of complete subtrees only: (level, idx) is the subtree of 2^level
-- leaves starting at leaf idx << level. The ragged right edge is never
-- stored; it is rebuilt in memory from these on open.
CREATE TABLE nodes (
    tree_id INTEGER NOT NULL,
    level   INTEGER NOT NULL CHECK (level BETWEEN 0 AND 63),
    idx     INTEGER NOT NULL CHECK (idx >= 0),
    hash    BLOB    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (tree_id, level, idx)
) WITHOUT ROWID;

-- Every signed tree head, one per committed batch. The primary key makes a
-- second head for the same size (a fork) impossible. signed holds the
-- personality's signature bytes (Rekor: the checkpoint note text; CT: the
-- TLS DigitallySigned tree head signature).
CREATE TABLE tree_heads (
    tree_id      INTEGER NOT NULL REFERENCES trees (tree_id),
    size         INTEGER NOT NULL CHECK (size >= 0),
    root         BLOB    NOT NULL CHECK (length(root) = 32),
    timestamp_ms INTEGER NOT NULL,
    signed       BLOB    NOT NULL,
    PRIMARY KEY (tree_id, size)
) WITHOUT ROWID;
