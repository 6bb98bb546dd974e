-- PostgreSQL dialect of ../0003_totp_budget.sql.
ALTER TABLE totp_failures ADD COLUMN cleared BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE maintainers ADD COLUMN lock_reason TEXT
    CHECK (lock_reason IN ('failures', 'budget'));
