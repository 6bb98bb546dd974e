-- The gate's state. Kept to portable SQL (SQLite and PostgreSQL both accept
-- it, apart from the auto-numbered keys noted below) so that a PostgreSQL
-- backend needs a sibling migration, not a redesign. Times are Unix seconds.

-- Releases: one row per staging. `state` only moves forward:
-- staged -> released, or staged -> rejected.
CREATE TABLE releases (
    id INTEGER PRIMARY KEY, -- PostgreSQL: BIGINT GENERATED ALWAYS AS IDENTITY
    package TEXT NOT NULL,
    version TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('staged', 'released', 'rejected')),
    -- Provenance: taken from the CI token that staged the release.
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
    -- Set in the same transaction that marks the release released.
    manifest BLOB,
    manifest_signature TEXT,
    CHECK ((state = 'released') = (manifest IS NOT NULL AND manifest_signature IS NOT NULL))
);

-- A version may be staged or released only once; a rejected version may be
-- staged again. (Partial unique indexes exist in SQLite and PostgreSQL.)
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
    -- SHA-256 (hex) of the maintainer token; the token itself is never stored.
    token_hash TEXT NOT NULL,
    -- Base32 TOTP secret (RFC 6238, SHA-1, 6 digits, 30 s).
    totp_secret TEXT NOT NULL,
    -- The last TOTP time step accepted: a code whose step is not greater is refused.
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

-- Failed TOTP attempts (5 within 15 minutes lock the maintainer).
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

-- CI token ids seen (replay guard); rows may be pruned after `exp`.
CREATE TABLE used_jtis (
    jti TEXT PRIMARY KEY,
    exp BIGINT NOT NULL
);

-- Every state change appends one or more events in its own transaction.
-- `detail` is a JSON object; issue 6 turns each row into a Merkle log leaf.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY, -- PostgreSQL: BIGINT GENERATED ALWAYS AS IDENTITY
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    release_id BIGINT REFERENCES releases (id),
    actor TEXT NOT NULL,
    detail TEXT NOT NULL
);
