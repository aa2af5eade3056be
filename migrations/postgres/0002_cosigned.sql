-- The newest checkpoint of a tree that witnesses cosigned (C2SP
-- tlog-witness; tlog-server/src/witness.rs): the log's signed note with
-- their cosignature lines. One row per tree, replaced by a larger
-- checkpoint, never by a smaller one; unlike the log's own tables it is
-- updated, and losing it loses nothing of the log (witnesses are asked
-- again). Stored so that every replica serves the same cosigned note.
CREATE TABLE cosigned_checkpoints (
    tree_id      BIGINT  PRIMARY KEY REFERENCES trees (tree_id),
    size         BIGINT  NOT NULL CHECK (size >= 0),
    root         BYTEA   NOT NULL CHECK (length(root) = 32),
    note         TEXT    NOT NULL,
    cosignatures INTEGER NOT NULL CHECK (cosignatures >= 0)
);
