-- Bounded staging: when the files of a rejected or expired release were
-- deleted (NULL: still stored). A release whose files are gone keeps its
-- rows (what was staged, by whom, and the decision) for the record.
ALTER TABLE releases ADD COLUMN blobs_purged_at BIGINT;
CREATE INDEX releases_by_package_state ON releases (package, state);
