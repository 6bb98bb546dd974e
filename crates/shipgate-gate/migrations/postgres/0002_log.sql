-- The transparency log, PostgreSQL dialect of ../0002_log.sql.
-- `idx` is gapless because every writer takes it from log_state.size while
-- holding the gate's write lock (an advisory lock, storage/postgres.rs), and
-- unique because it is the primary key.

CREATE TABLE log_leaves (
    idx BIGINT PRIMARY KEY CHECK (idx >= 0),
    seq BIGINT NOT NULL UNIQUE REFERENCES events (seq),
    data BYTEA NOT NULL,
    hash BYTEA NOT NULL CHECK (length(hash) = 32)
);

CREATE TABLE log_state (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL CHECK (size >= 0),
    frontier BYTEA NOT NULL,
    root BYTEA NOT NULL CHECK (length(root) = 32)
);
INSERT INTO log_state (id, size, frontier, root)
VALUES (1, 0, '\x'::bytea, '\xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'::bytea);

CREATE TABLE log_checkpoints (
    size BIGINT NOT NULL CHECK (size >= 0),
    signer TEXT NOT NULL,
    root BYTEA NOT NULL CHECK (length(root) = 32),
    note TEXT NOT NULL,
    signed_at BIGINT NOT NULL,
    PRIMARY KEY (size, signer)
);
