-- Sigil transparency-log store, Postgres flavour (tlog-server/src/store/postgres.rs).
-- The same schema as migrations/sqlite, in Postgres types. Several Merkle
-- trees live in one database; every table is keyed by tree_id. Rows are only
-- ever inserted, except the partial tile at the right edge of each tile level,
-- which is rewritten (only ever longer) as the tree grows.
-- Integers that are log indices or sizes fit in BIGINT.

-- One row per tree, created the first time a tree name is opened.
-- tree_id is a random positive BIGINT: Rekor's treeID and the %016x prefix
-- of 80-hex entry IDs, so it never changes once entries exist. A commit locks
-- its tree's row (SELECT ... FOR UPDATE) to serialise writers of that tree;
-- tree_id is also the key of the tree's sequencing advisory lock.
CREATE TABLE trees (
    name       TEXT   PRIMARY KEY,
    tree_id    BIGINT NOT NULL UNIQUE CHECK (tree_id > 0),
    created_at BIGINT NOT NULL            -- Unix seconds
);

-- The log entries. identity is what duplicate submissions are detected by
-- (Rekor: the RFC 6962 leaf hash = entry UUID; CT: the hash of the
-- timestamp-free signed entry), so it is unique per tree. body is the leaf
-- data whose leaf hash is in the tree (Rekor: canonical JSON; CT: the TLS
-- MerkleTreeLeaf).
CREATE TABLE entries (
    tree_id      BIGINT NOT NULL REFERENCES trees (tree_id),
    idx          BIGINT NOT NULL CHECK (idx >= 0),
    identity     BYTEA  NOT NULL CHECK (length(identity) = 32),
    body         BYTEA  NOT NULL,
    timestamp_ms BIGINT NOT NULL,         -- when it was sequenced
    PRIMARY KEY (tree_id, idx)
);
CREATE UNIQUE INDEX entries_by_identity ON entries (tree_id, identity);

-- Data kept beside an entry but outside its Merkle leaf: the CT log's
-- RFC 6962 §4.6 extra_data (the submitted chain) that get-entries returns.
-- Written in the entry's transaction, only when non-empty.
CREATE TABLE entry_extra (
    tree_id BIGINT NOT NULL,
    idx     BIGINT NOT NULL CHECK (idx >= 0),
    data    BYTEA  NOT NULL,
    PRIMARY KEY (tree_id, idx)
);

-- Search keys (artifact hashes, key fingerprints, identities) -> entries.
CREATE TABLE search_index (
    tree_id BIGINT NOT NULL,
    key     TEXT   NOT NULL,
    idx     BIGINT NOT NULL,
    PRIMARY KEY (tree_id, key, idx)
);

-- Tree nodes as C2SP tlog-tiles (tlog-server/src/store/tiles.rs): one row
-- per tile of height 8. hashes is the tile's bottom row, concatenated: the
-- hashes of the complete subtrees at tree level 8*level with indices
-- 256*idx .. 256*idx + length(hashes)/32. A full tile holds 256 hashes
-- (8192 bytes); every other node is derived from a tile, so a proof reads a
-- handful of rows.
CREATE TABLE tiles (
    tree_id BIGINT   NOT NULL,
    level   SMALLINT NOT NULL CHECK (level BETWEEN 0 AND 7),
    idx     BIGINT   NOT NULL CHECK (idx >= 0),
    hashes  BYTEA    NOT NULL
        CHECK (length(hashes) BETWEEN 32 AND 8192 AND length(hashes) % 32 = 0),
    PRIMARY KEY (tree_id, level, idx)
);

-- Every signed tree head, one per committed batch. The primary key makes a
-- second head for the same size (a fork) impossible. signed holds the
-- personality's signature bytes (Rekor: the checkpoint note text; CT: the
-- TLS DigitallySigned tree head signature).
CREATE TABLE tree_heads (
    tree_id      BIGINT NOT NULL REFERENCES trees (tree_id),
    size         BIGINT NOT NULL CHECK (size >= 0),
    root         BYTEA  NOT NULL CHECK (length(root) = 32),
    timestamp_ms BIGINT NOT NULL,
    signed       BYTEA  NOT NULL,
    PRIMARY KEY (tree_id, size)
);
