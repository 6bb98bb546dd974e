-- Registry targets. `artifacts`: what the staged files state and declare
-- (JSON list, read at staging; NULL for packages without targets).
ALTER TABLE releases ADD COLUMN artifacts TEXT;

-- The publishing outbox: one job per target of a released release, written
-- in the same transaction as `released`, worked off by the publish worker.
CREATE TABLE publish_jobs (
    release_id BIGINT NOT NULL REFERENCES releases (id),
    target_index BIGINT NOT NULL CHECK (target_index >= 0),
    kind TEXT NOT NULL,
    registry TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'published', 'failed', 'conflict')),
    attempts BIGINT NOT NULL DEFAULT 0,
    -- Unix milliseconds before which a pending job is not tried again.
    next_attempt_ms BIGINT NOT NULL,
    last_error TEXT,
    url TEXT,
    -- JSON list of {file_name, integrity} once published.
    integrity TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (release_id, target_index)
);
CREATE INDEX publish_jobs_due ON publish_jobs (state, next_attempt_ms);
