-- PostgreSQL dialect of ../0005_publish.sql.
ALTER TABLE releases ADD COLUMN artifacts TEXT;

CREATE TABLE publish_jobs (
    release_id BIGINT NOT NULL REFERENCES releases (id),
    target_index BIGINT NOT NULL CHECK (target_index >= 0),
    kind TEXT NOT NULL,
    registry TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'published', 'failed', 'conflict')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL,
    last_error TEXT,
    url TEXT,
    integrity TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (release_id, target_index)
);
CREATE INDEX publish_jobs_due ON publish_jobs (state, next_attempt_ms);
