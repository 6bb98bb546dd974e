-- Issue 6: the TOTP guessing policy gains a yearly budget (see src/lockout.rs),
-- and codes become 8 digits (0001's comment on `totp_secret` predates that;
-- the secret is unchanged, the digit count is the gate's setting and reaches
-- authenticator apps as `digits=8` in the otpauth URI).
--
-- Failed codes are now kept for 365 days. `cleared` marks the failures that an
-- accepted code or `shipgate admin unlock` forgave: they no longer count for
-- the 15-minute rule, but still count against the yearly budget, which only
-- re-enrolment (a new token and TOTP secret) resets.
ALTER TABLE totp_failures ADD COLUMN cleared BOOLEAN NOT NULL DEFAULT FALSE;

-- Why a locked maintainer is locked: 'failures' (5 in 15 minutes; `admin
-- unlock` lifts it) or 'budget' (30 in 365 days; only re-enrolment lifts it).
-- A lock written before this column existed reads as 'failures'.
ALTER TABLE maintainers ADD COLUMN lock_reason TEXT
    CHECK (lock_reason IN ('failures', 'budget'));
