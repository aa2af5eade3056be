-- Tree nodes as C2SP tlog-tiles (tlog-server/src/store/tiles.rs): one row
-- per tile of height 8. hashes is the tile's bottom row, concatenated:
-- the hashes of the complete subtrees at tree level 8*level with indices
-- 256*idx .. 256*idx + length(hashes)/32. A full tile holds 256 hashes
-- (8192 bytes); the partial tile at the right edge of each tile level is
-- rewritten, one batch at a time, as it grows (the only rows ever updated,
-- and only ever by appending). Every other node is derived from a tile.
CREATE TABLE tiles (
    tree_id INTEGER NOT NULL,
    level   INTEGER NOT NULL CHECK (level BETWEEN 0 AND 7),
    idx     INTEGER NOT NULL CHECK (idx >= 0),
    hashes  BLOB    NOT NULL CHECK (length(hashes) BETWEEN 32 AND 8192 AND length(hashes) % 32 = 0),
    PRIMARY KEY (tree_id, level, idx)
) WITHOUT ROWID;

-- The per-node table of 0001 is superseded. Databases written before this
-- migration still hold their nodes there; the store converts them to tiles
-- once, on open, in one transaction (SQL alone cannot concatenate BLOBs
-- safely), then empties it.
