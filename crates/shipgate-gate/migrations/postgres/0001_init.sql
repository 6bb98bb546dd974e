-- The gate's state, PostgreSQL dialect of ../0001_init.sql (same tables,
-- columns and constraints). Times are Unix seconds.
--
-- Keys (`releases.id`, `events.seq`) are plain BIGINTs: the gate assigns
-- MAX + 1 inside its serialised write transaction, as SQLite does for an
-- INTEGER PRIMARY KEY. A rolled-back transaction leaves no hole, and a copy
-- from SQLite keeps every id without a sequence to move.

CREATE TABLE releases (
    id BIGINT PRIMARY KEY,
    package TEXT NOT NULL,
    version TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('staged', 'released', 'rejected')),
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    repository TEXT NOT NULL,
    repository_owner_id TEXT,
    workflow TEXT NOT NULL,
    git_ref TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    run_id TEXT NOT NULL,
    environment TEXT,
    event_name TEXT,
    created_at BIGINT NOT NULL,
    decided_at BIGINT,
    reject_reason TEXT,
    manifest BYTEA,
    manifest_signature TEXT,
    CHECK ((state = 'released') = (manifest IS NOT NULL AND manifest_signature IS NOT NULL))
);

CREATE UNIQUE INDEX releases_one_live_version
    ON releases (package, version) WHERE state <> 'rejected';
CREATE INDEX releases_by_state ON releases (state, id);

CREATE TABLE release_files (
    release_id BIGINT NOT NULL REFERENCES releases (id),
    path TEXT NOT NULL,
    size BIGINT NOT NULL CHECK (size >= 0),
    sha256 TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    PRIMARY KEY (release_id, path)
);
CREATE INDEX release_files_by_blob ON release_files (blob_key);

CREATE TABLE maintainers (
    name TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    totp_secret TEXT NOT NULL,
    last_totp_step BIGINT NOT NULL DEFAULT 0,
    enrolled_at BIGINT NOT NULL,
    locked_at BIGINT,
    revoked_at BIGINT
);

CREATE TABLE maintainer_packages (
    maintainer TEXT NOT NULL REFERENCES maintainers (name),
    package TEXT NOT NULL,
    PRIMARY KEY (maintainer, package)
);

CREATE TABLE totp_failures (
    maintainer TEXT NOT NULL REFERENCES maintainers (name),
    failed_at BIGINT NOT NULL
);
CREATE INDEX totp_failures_by_maintainer ON totp_failures (maintainer, failed_at);

CREATE TABLE approvals (
    release_id BIGINT NOT NULL REFERENCES releases (id),
    maintainer TEXT NOT NULL REFERENCES maintainers (name),
    approved_at BIGINT NOT NULL,
    UNIQUE (release_id, maintainer)
);

CREATE TABLE used_jtis (
    jti TEXT PRIMARY KEY,
    exp BIGINT NOT NULL
);

CREATE TABLE events (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    release_id BIGINT REFERENCES releases (id),
    actor TEXT NOT NULL,
    detail TEXT NOT NULL
);
