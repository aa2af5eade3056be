-- Data kept beside an entry but outside its Merkle leaf: for the CT log, the
-- RFC 6962 §4.6 `extra_data` of each entry (the TLS-encoded certificate
-- chain, or PrecertChainEntry) that `get-entries` returns. Written in the
-- same transaction as the entry it belongs to, and only when non-empty, so
-- Rekor entries add no rows. A rowid table: chains are kilobytes.
-- (Numbered 0100 so that it orders after the storage migrations 0002.. .)
CREATE TABLE entry_extra (
    tree_id INTEGER NOT NULL,
    idx     INTEGER NOT NULL CHECK (idx >= 0),
    data    BLOB    NOT NULL,
    PRIMARY KEY (tree_id, idx)
);
