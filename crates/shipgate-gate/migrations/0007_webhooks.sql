-- Webhook notifications: a durable outbox in two steps.
--
-- `webhook_queue`: one row per event a webhook may be told about, written by
-- the same transaction as the event (so a committed decision always has its
-- notification queued, and a rolled-back one never does). The webhook
-- worker turns each row into deliveries for the webhooks configured at that
-- moment, and deletes it, in one transaction.
CREATE TABLE webhook_queue (
    event_seq BIGINT PRIMARY KEY REFERENCES events (seq)
);

-- One delivery per event and webhook URL. `id` is sent as
-- X-Shipgate-Delivery and stays the same on every attempt, so a receiver
-- can drop a repeated delivery.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    event_seq BIGINT NOT NULL REFERENCES events (seq),
    url TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    -- Unix milliseconds before which a pending delivery is not tried (also
    -- the lease of an attempt in flight).
    next_attempt_ms BIGINT NOT NULL,
    -- Unix milliseconds when the delivery was queued (retries stop after
    -- the give-up period counted from here).
    created_ms BIGINT NOT NULL,
    last_status BIGINT,
    last_error TEXT,
    updated_at BIGINT NOT NULL,
    UNIQUE (event_seq, url)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_ms);
