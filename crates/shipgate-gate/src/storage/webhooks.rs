//! The webhook outbox (migration 7).
//!
//! [`WriteTx::event`] queues every event a webhook may hear of in its own
//! transaction, so a committed decision always has its notification queued
//! and a rolled-back one never has. The webhook worker then, in one
//! transaction, turns each queued event into one delivery per configured
//! webhook URL and drops it from the queue. A delivery is tried under a
//! lease (its `next_attempt_ms` pushed past the attempt's timeout, with the
//! attempt counted) and ended by an update that only applies while that
//! lease is the latest, so a gate killed mid-attempt retries after the
//! lease and two workers never record the same attempt twice.
//!
//! Plain SQL with `?` placeholders: the same statements run on PostgreSQL.

use sqlx::Row;

use super::{Db, StorageError, WriteTx};
use crate::webhook_config::WebhookEvent;

/// A queued event waiting to be turned into deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedWebhookEvent {
    /// The event's position in the log.
    pub seq: i64,
    /// Its kind (`staged`, `released`, ...).
    pub kind: String,
    /// The release's package, when the event concerns a release.
    pub package: Option<String>,
}

/// A delivery the worker may attempt, with what its body is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// The delivery id (`X-Shipgate-Delivery`).
    pub id: String,
    /// The webhook URL.
    pub url: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Unix milliseconds when it was queued.
    pub created_ms: i64,
    /// The event's position in the log.
    pub event_seq: i64,
    /// The event kind.
    pub kind: String,
    /// Unix seconds of the event.
    pub at: i64,
    /// Who caused it.
    pub actor: String,
    /// The event's detail (JSON text).
    pub detail: String,
    /// The release.
    pub release_id: i64,
    /// The release's package.
    pub package: String,
    /// The release's version.
    pub version: String,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx.
    Delivered {
        /// Its status code.
        status: u16,
    },
    /// Try again at `next_attempt_ms`.
    Retry {
        /// The receiver's status, if it answered.
        status: Option<u16>,
        /// What went wrong.
        error: String,
        /// Unix milliseconds.
        next_attempt_ms: i64,
    },
    /// Given up (too old, or the webhook is no longer configured).
    Failed {
        /// The receiver's last status, if it answered.
        status: Option<u16>,
        /// What went wrong last.
        error: String,
    },
}

/// Deliveries by state, for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookFigures {
    /// Events queued but not yet turned into deliveries.
    pub queued_events: i64,
    /// Deliveries not yet accepted (including those waiting for a retry).
    pub pending: i64,
    /// Deliveries a receiver accepted.
    pub delivered: i64,
    /// Deliveries given up.
    pub failed: i64,
}

fn count(value: i64, what: &'static str) -> Result<u32, StorageError> {
    u32::try_from(value).map_err(|_| StorageError::Corrupt(what))
}

impl WriteTx {
    /// Queues event `seq` for the webhooks when its kind is one they hear
    /// of (called by [`WriteTx::event`], in the event's transaction).
    pub(super) async fn queue_for_webhooks(
        &mut self,
        seq: i64,
        kind: &str,
        release_id: Option<i64>,
    ) -> Result<(), StorageError> {
        if release_id.is_none() || WebhookEvent::from_kind(kind).is_none() {
            return Ok(());
        }
        sqlx::query("INSERT INTO webhook_queue (event_seq) VALUES ($1)")
            .bind(seq)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// The oldest queued events (at most `limit`), with their package.
    pub async fn queued_webhook_events(
        &mut self,
        limit: i64,
    ) -> Result<Vec<QueuedWebhookEvent>, StorageError> {
        let rows = sqlx::query(
            "SELECT q.event_seq, e.kind, r.package FROM webhook_queue q \
             JOIN events e ON e.seq = q.event_seq \
             LEFT JOIN releases r ON r.id = e.release_id \
             ORDER BY q.event_seq LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(QueuedWebhookEvent {
                    seq: r.try_get("event_seq")?,
                    kind: r.try_get("kind")?,
                    package: r.try_get("package")?,
                })
            })
            .collect()
    }

    /// Adds a pending delivery of event `seq` to `url` (nothing if that
    /// URL already has one for this event).
    pub async fn add_webhook_delivery(
        &mut self,
        seq: i64,
        url: &str,
        id: &str,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        let inserted = sqlx::query(
            "INSERT INTO webhook_deliveries (id, event_seq, url, state, attempts, \
             next_attempt_ms, created_ms, updated_at) VALUES ($1, $2, $3, 'pending', 0, $4, $5, $6) \
             ON CONFLICT (event_seq, url) DO NOTHING",
        )
        .bind(id)
        .bind(seq)
        .bind(url)
        .bind(now_ms)
        .bind(now_ms)
        .bind(now_ms / 1000)
        .execute(&mut *self.tx)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Drops event `seq` from the queue (its deliveries are written).
    pub async fn unqueue_webhook_event(&mut self, seq: i64) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM webhook_queue WHERE event_seq = $1")
            .bind(seq)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Takes the lease on a due delivery for one attempt: counts the
    /// attempt and pushes its next try to `lease_until_ms`. False when it is
    /// not due any more or another worker took it.
    pub async fn claim_webhook_delivery(
        &mut self,
        delivery: &WebhookDelivery,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<bool, StorageError> {
        let updated = sqlx::query(
            "UPDATE webhook_deliveries SET attempts = $1, next_attempt_ms = $2, updated_at = $3 \
             WHERE id = $4 AND state = 'pending' AND attempts = $5 AND next_attempt_ms <= $6",
        )
        .bind(i64::from(delivery.attempts.saturating_add(1)))
        .bind(lease_until_ms)
        .bind(now_ms / 1000)
        .bind(&delivery.id)
        .bind(i64::from(delivery.attempts))
        .bind(now_ms)
        .execute(&mut *self.tx)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Records how the attempt claimed as number `attempt` ended; false
    /// when a later claim superseded it.
    pub async fn finish_webhook_delivery(
        &mut self,
        id: &str,
        attempt: u32,
        outcome: &DeliveryOutcome,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        let (state, next, status, error) = match outcome {
            DeliveryOutcome::Delivered { status } => ("delivered", 0, Some(*status), None),
            DeliveryOutcome::Retry {
                status,
                error,
                next_attempt_ms,
            } => ("pending", *next_attempt_ms, *status, Some(error.as_str())),
            DeliveryOutcome::Failed { status, error } => {
                ("failed", 0, *status, Some(error.as_str()))
            }
        };
        let updated = sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, next_attempt_ms = $2, last_status = $3, \
             last_error = $4, updated_at = $5 WHERE id = $6 AND state = 'pending' AND attempts = $7",
        )
        .bind(state)
        .bind(next)
        .bind(status.map(i64::from))
        .bind(error)
        .bind(now_ms / 1000)
        .bind(id)
        .bind(i64::from(attempt))
        .execute(&mut *self.tx)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Deletes delivered and given-up deliveries that ended before
    /// `before` (Unix seconds); pending ones are never deleted.
    pub async fn prune_webhook_deliveries(&mut self, before: i64) -> Result<u64, StorageError> {
        let deleted = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE state IN ('delivered', 'failed') \
             AND updated_at < $1",
        )
        .bind(before)
        .execute(&mut *self.tx)
        .await?;
        Ok(deleted.rows_affected())
    }
}

impl Db {
    /// How many events wait to be turned into deliveries.
    pub async fn webhook_queue_len(&self) -> Result<i64, StorageError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM webhook_queue")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Pending deliveries due at `now_ms` (at most `limit`), oldest event
    /// first.
    pub async fn due_webhook_deliveries(
        &self,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<WebhookDelivery>, StorageError> {
        let rows = sqlx::query(
            "SELECT d.id, d.url, d.attempts, d.created_ms, d.event_seq, e.kind, e.at, e.actor, \
             e.detail, r.id AS release_id, r.package, r.version FROM webhook_deliveries d \
             JOIN events e ON e.seq = d.event_seq JOIN releases r ON r.id = e.release_id \
             WHERE d.state = 'pending' AND d.next_attempt_ms <= $1 \
             ORDER BY d.next_attempt_ms, d.event_seq LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(WebhookDelivery {
                    id: r.try_get("id")?,
                    url: r.try_get("url")?,
                    attempts: count(r.try_get("attempts")?, "webhook_deliveries.attempts")?,
                    created_ms: r.try_get("created_ms")?,
                    event_seq: r.try_get("event_seq")?,
                    kind: r.try_get("kind")?,
                    at: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    detail: r.try_get("detail")?,
                    release_id: r.try_get("release_id")?,
                    package: r.try_get("package")?,
                    version: r.try_get("version")?,
                })
            })
            .collect()
    }

    /// Queued events and deliveries by state.
    pub async fn webhook_figures(&self) -> Result<WebhookFigures, StorageError> {
        let mut figures = WebhookFigures {
            queued_events: self.webhook_queue_len().await?,
            ..WebhookFigures::default()
        };
        let rows =
            sqlx::query("SELECT state, COUNT(*) AS n FROM webhook_deliveries GROUP BY state")
                .fetch_all(&self.pool)
                .await?;
        for row in &rows {
            let n: i64 = row.try_get("n")?;
            match row.try_get::<String, _>("state")?.as_str() {
                "pending" => figures.pending = n,
                "delivered" => figures.delivered = n,
                "failed" => figures.failed = n,
                _ => return Err(StorageError::Corrupt("webhook_deliveries.state")),
            }
        }
        Ok(figures)
    }

    /// Every delivery of event `seq`: (url, state, attempts, last_error).
    pub async fn webhook_deliveries_of(
        &self,
        seq: i64,
    ) -> Result<Vec<(String, String, u32, Option<String>)>, StorageError> {
        let rows = sqlx::query(
            "SELECT url, state, attempts, last_error FROM webhook_deliveries \
             WHERE event_seq = $1 ORDER BY url",
        )
        .bind(seq)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("url")?,
                    r.try_get("state")?,
                    count(r.try_get("attempts")?, "webhook_deliveries.attempts")?,
                    r.try_get("last_error")?,
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_db;
    use super::*;

    async fn staged(db: &Db) -> i64 {
        let mut tx = db.begin_write().await.unwrap();
        let new = crate::storage::releases::tests::new_release("hello", "1.0.0");
        let id = tx.insert_staged(&new, 1).await.unwrap();
        tx.commit().await.unwrap();
        id
    }

    #[tokio::test]
    async fn events_are_queued_with_their_transaction_only() {
        let (_dir, db) = temp_db().await;
        let id = staged(&db).await;
        // `staged` is queued; a rolled-back approval leaves nothing.
        assert_eq!(db.webhook_queue_len().await.unwrap(), 1);
        let approved = || serde_json::json!({ "maintainer": "alice" });
        let mut tx = db.begin_write().await.unwrap();
        tx.event(2, "approved", Some(id), "alice", approved())
            .await
            .unwrap();
        drop(tx);
        assert_eq!(db.webhook_queue_len().await.unwrap(), 1);
        // Kinds webhooks do not hear of, and events without a release,
        // are not queued.
        let mut tx = db.begin_write().await.unwrap();
        tx.event(
            3,
            "approval_withdrawn",
            Some(id),
            "gate",
            serde_json::json!({}),
        )
        .await
        .unwrap();
        tx.event(3, "staged", None, "gate", serde_json::json!({}))
            .await
            .unwrap();
        tx.event(3, "approved", Some(id), "alice", approved())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut tx = db.begin_write().await.unwrap();
        let queued = tx.queued_webhook_events(10).await.unwrap();
        let kinds: Vec<&str> = queued.iter().map(|q| q.kind.as_str()).collect();
        assert_eq!(kinds, ["staged", "approved"]);
        assert_eq!(queued[0].package.as_deref(), Some("hello"));
    }

    #[tokio::test]
    async fn a_delivery_is_written_once_per_url_claimed_once_and_ended_once() {
        let (_dir, db) = temp_db().await;
        staged(&db).await;
        let mut tx = db.begin_write().await.unwrap();
        let queued = tx.queued_webhook_events(10).await.unwrap();
        let seq = queued[0].seq;
        assert!(
            tx.add_webhook_delivery(seq, "https://a.example/h", "d1", 1_000)
                .await
                .unwrap()
        );
        assert!(
            !tx.add_webhook_delivery(seq, "https://a.example/h", "d2", 1_000)
                .await
                .unwrap(),
            "one delivery per event and URL"
        );
        tx.unqueue_webhook_event(seq).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(db.webhook_queue_len().await.unwrap(), 0);

        let due = db.due_webhook_deliveries(1_000, 10).await.unwrap();
        assert_eq!(due.len(), 1);
        let d = &due[0];
        assert_eq!((d.id.as_str(), d.kind.as_str()), ("d1", "staged"));
        assert_eq!((d.package.as_str(), d.version.as_str()), ("hello", "1.0.0"));

        // Claimed once: the lease hides it, a second claim fails.
        let mut tx = db.begin_write().await.unwrap();
        assert!(tx.claim_webhook_delivery(d, 1_000, 9_000).await.unwrap());
        assert!(!tx.claim_webhook_delivery(d, 1_000, 9_000).await.unwrap());
        tx.commit().await.unwrap();
        assert!(
            db.due_webhook_deliveries(8_999, 10)
                .await
                .unwrap()
                .is_empty()
        );

        let retry = DeliveryOutcome::Retry {
            status: Some(500),
            error: "receiver answered 500".into(),
            next_attempt_ms: 5_000,
        };
        let mut tx = db.begin_write().await.unwrap();
        assert!(
            tx.finish_webhook_delivery("d1", 1, &retry, 2_000)
                .await
                .unwrap()
        );
        // The same attempt cannot end twice.
        assert!(
            !tx.finish_webhook_delivery("d1", 2, &retry, 2_000)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        let due = db.due_webhook_deliveries(5_000, 10).await.unwrap();
        assert_eq!(due[0].attempts, 1);
        let figures = db.webhook_figures().await.unwrap();
        assert_eq!((figures.pending, figures.delivered), (1, 0));

        // A lease that ran out (a gate killed mid-attempt) is claimed again.
        let mut tx = db.begin_write().await.unwrap();
        assert!(
            tx.claim_webhook_delivery(&due[0], 5_000, 6_000)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        let again = db.due_webhook_deliveries(6_000, 10).await.unwrap();
        assert_eq!(again[0].attempts, 2);
        let mut tx = db.begin_write().await.unwrap();
        assert!(
            tx.claim_webhook_delivery(&again[0], 6_000, 7_000)
                .await
                .unwrap()
        );
        // The attempt of the dead lease cannot record over the new one.
        assert!(
            !tx.finish_webhook_delivery(
                "d1",
                2,
                &DeliveryOutcome::Delivered { status: 200 },
                6_500
            )
            .await
            .unwrap()
        );
        assert!(
            tx.finish_webhook_delivery("d1", 3, &DeliveryOutcome::Delivered { status: 204 }, 6_500)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        assert!(
            db.due_webhook_deliveries(i64::MAX, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let figures = db.webhook_figures().await.unwrap();
        assert_eq!(
            (figures.pending, figures.delivered, figures.failed),
            (0, 1, 0)
        );
        let rows = db.webhook_deliveries_of(seq).await.unwrap();
        assert_eq!(rows[0].1, "delivered");
        assert_eq!(rows[0].2, 3);

        // Ended deliveries are pruned once old enough; pending ones never.
        let mut tx = db.begin_write().await.unwrap();
        assert!(
            tx.add_webhook_delivery(seq, "https://b.example/h", "d3", 1_000)
                .await
                .unwrap()
        );
        assert_eq!(tx.prune_webhook_deliveries(6).await.unwrap(), 0);
        assert_eq!(tx.prune_webhook_deliveries(i64::MAX).await.unwrap(), 1);
        tx.commit().await.unwrap();
        let rows = db.webhook_deliveries_of(seq).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].1, "pending");
    }
}
