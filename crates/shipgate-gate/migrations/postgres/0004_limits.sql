-- PostgreSQL dialect of ../0004_limits.sql.
ALTER TABLE releases ADD COLUMN blobs_purged_at BIGINT;
CREATE INDEX releases_by_package_state ON releases (package, state);
