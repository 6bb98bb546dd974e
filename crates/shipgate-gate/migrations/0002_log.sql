-- The transparency log (RFC 6962 / RFC 9162 Merkle tree over the events).
-- Every events row gets one leaf in the SAME transaction that writes it
-- (storage/log.rs). Events that existed before this migration are appended
-- by the gate when it opens the database (Rust: SQLite has no SHA-256).

-- One row per leaf. `idx` is the 0-based leaf index: gapless because the
-- writer takes it from log_state.size inside its BEGIN IMMEDIATE
-- transaction, and unique because it is the primary key.
CREATE TABLE log_leaves (
    idx BIGINT PRIMARY KEY CHECK (idx >= 0),
    seq BIGINT NOT NULL UNIQUE REFERENCES events (seq),
    -- The leaf bytes (canonical JSON, see tlog/leaf.rs) and SHA-256(0x00 || data).
    data BLOB NOT NULL,
    hash BLOB NOT NULL CHECK (length(hash) = 32)
);

-- The tree head, one row: the size, the frontier (the roots of the complete
-- subtrees, largest first, concatenated: 32 bytes each, one per bit set in
-- size) and the root, so an append costs O(log n) without reading leaves.
CREATE TABLE log_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL CHECK (size >= 0),
    frontier BLOB NOT NULL,
    root BLOB NOT NULL CHECK (length(root) = 32)
);
INSERT INTO log_state (id, size, frontier, root)
VALUES (1, 0, X'', X'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');

-- Every checkpoint the gate signed: one per size and signing key (Ed25519
-- is deterministic, so signing a size again gives the same note; a new gate
-- key or public URL — another verifier key — signs anew).
CREATE TABLE log_checkpoints (
    size BIGINT NOT NULL CHECK (size >= 0),
    -- The verifier key string <origin>+<key id>+<base64 key> that signed it.
    signer TEXT NOT NULL,
    root BLOB NOT NULL CHECK (length(root) = 32),
    note TEXT NOT NULL,
    signed_at BIGINT NOT NULL,
    PRIMARY KEY (size, signer)
);
