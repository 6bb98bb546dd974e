-- Passkeys (WebAuthn) and the review pages' sessions. Portable SQL: `?`
-- placeholders in the queries, no SQLite-only functions; single use is a
-- UNIQUE constraint or a conditional UPDATE, never a read-then-write.

-- One row per registered credential. `passkey` is webauthn-rs's own record
-- (JSON), what it needs to verify the next assertion; `alg` and
-- `public_key` are the same key in the log's format (see
-- shipgate_protocol::passkey), so the gate can show what it logged.
CREATE TABLE passkeys (
    credential_id TEXT PRIMARY KEY,          -- base64url, no padding
    maintainer TEXT NOT NULL REFERENCES maintainers (name),
    alg BIGINT NOT NULL,                     -- COSE: -7 ES256, -8 EdDSA
    public_key TEXT NOT NULL,                -- base64url
    rp_id TEXT NOT NULL,
    passkey TEXT NOT NULL,
    sign_count BIGINT NOT NULL DEFAULT 0,
    enrolled_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX passkeys_by_maintainer ON passkeys (maintainer);

-- One-time enrolment links printed by `shipgate admin enroll NAME --passkey`.
-- Only the SHA-256 of the link's token is stored.
CREATE TABLE passkey_enrolments (
    token_hash TEXT PRIMARY KEY,
    maintainer TEXT NOT NULL REFERENCES maintainers (name),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    -- webauthn-rs's registration state while the browser is registering.
    registration TEXT
);

-- A WebAuthn ceremony in progress (sign-in or a decision): the state the
-- gate checks the browser's answer against. Deleted when answered.
CREATE TABLE passkey_ceremonies (
    id TEXT PRIMARY KEY,                      -- random, base64url
    purpose TEXT NOT NULL CHECK (purpose IN ('signin', 'decision')),
    maintainer TEXT NOT NULL REFERENCES maintainers (name),
    state TEXT NOT NULL,
    release_id BIGINT REFERENCES releases (id),
    decision TEXT CHECK (decision IN ('approve', 'reject')),
    reason TEXT,
    manifest_sha256 TEXT,
    nonce TEXT,
    origin TEXT,
    expires_at BIGINT NOT NULL
);

-- Every decision nonce ever answered: an assertion is accepted once.
CREATE TABLE passkey_used_nonces (
    nonce TEXT PRIMARY KEY,
    used_at BIGINT NOT NULL
);

-- Signed-in maintainers of the review pages. Only the SHA-256 of the
-- session cookie is stored; the CSRF token is per session.
CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,
    maintainer TEXT NOT NULL REFERENCES maintainers (name),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- The review page lists one release's events.
CREATE INDEX events_by_release ON events (release_id, seq);
