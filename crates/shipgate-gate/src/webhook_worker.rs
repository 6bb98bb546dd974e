//! The webhook worker: turns queued events into deliveries and POSTs them,
//! signed, to each webhook, retrying with exponential backoff and jitter.
//!
//! It runs beside the publish worker and never holds a database
//! transaction while it waits on the network, so a receiver that is slow,
//! hangs or is down delays only its own deliveries, never a decision.
//! Every attempt has a timeout (connect to last byte), follows no
//! redirect, and reads at most a few hundred bytes of an error answer.
//!
//! Delivery is at least once: a gate killed after the receiver accepted a
//! delivery but before it recorded that sends it again, with the same
//! `X-Shipgate-Delivery` id. A delivery not accepted within
//! `give_up_after_seconds` of being queued is given up (logged, and counted
//! in `/metrics`).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::api::AppState;
use crate::config::GateConfig;
use crate::storage::{DeliveryOutcome, StorageError, WebhookDelivery};
use crate::webhook_config::{WebhookSecretError, WebhookSecrets, origin, webhooks_for};
use crate::webhook_message::{
    DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, body, signature,
};

/// How often the worker looks for new events and due retries (events may
/// also come from `shipgate admin` in another process, so it polls).
const POLL: Duration = Duration::from_millis(500);
/// Deliveries in flight at once: a few hanging receivers cannot starve the
/// others.
const MAX_IN_FLIGHT: usize = 16;
/// Queued events turned into deliveries per transaction.
const FAN_OUT_BATCH: i64 = 100;
/// Bytes of an error answer kept for the log.
const ERROR_SNIPPET: usize = 512;
/// Delivered and given-up deliveries are kept this long (for inspection),
/// then deleted; the events themselves stay in the log.
const KEEP_ENDED: Duration = Duration::from_secs(30 * 86_400);
/// How often old deliveries are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// What the worker needs besides the gate's state: the webhook keys loaded
/// at start and one HTTP client.
#[derive(Debug, Clone)]
pub struct Webhooks {
    secrets: WebhookSecrets,
    client: reqwest::Client,
    config: crate::webhook_config::WebhookDeliveryConfig,
    in_flight: Arc<Semaphore>,
}

/// Why webhooks could not be set up at start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookSetupError {
    /// A webhook's secret could not be loaded.
    #[error(transparent)]
    Secret(#[from] WebhookSecretError),
    /// The HTTP client could not be built.
    #[error("webhooks: cannot build the HTTP client: {0}")]
    Client(String),
}

/// Why a pass of the worker stopped early (it tries again on the next).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookWorkerError {
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// No randomness for a delivery id.
    #[error("no randomness for a delivery id: {0}")]
    Random(String),
}

impl Webhooks {
    /// Loads every webhook's key (refusing a file others can read) and
    /// builds the HTTP client.
    pub fn load(config: &GateConfig) -> Result<Self, WebhookSetupError> {
        let secrets = WebhookSecrets::load(config)?;
        let delivery = config.webhook_delivery.clone();
        let client = reqwest::Client::builder()
            .connect_timeout(delivery.timeout())
            .timeout(delivery.timeout())
            // A receiver that moved is a configuration change, and a signed
            // body must not be handed on to wherever a redirect points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("shipgate-webhook/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| WebhookSetupError::Client(e.to_string()))?;
        Ok(Webhooks {
            secrets,
            client,
            config: delivery,
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        })
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn random_bytes<const N: usize>() -> Result<[u8; N], WebhookWorkerError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| WebhookWorkerError::Random(e.to_string()))?;
    Ok(bytes)
}

/// A number in `0.0..=1.0` for the jitter (0.5 without randomness).
fn random_fraction() -> f64 {
    match random_bytes::<4>() {
        Ok(bytes) => f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX),
        Err(_) => 0.5,
    }
}

/// Runs until the task is aborted.
pub async fn run(state: AppState, webhooks: Webhooks) {
    let webhooks = Arc::new(webhooks);
    let mut pruned_at: Option<tokio::time::Instant> = None;
    loop {
        if let Err(err) = run_due(&state, &webhooks).await {
            tracing::error!(error = %err, "webhook worker: will try again");
        }
        if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            pruned_at = Some(tokio::time::Instant::now());
            if let Err(err) = prune(&state).await {
                tracing::error!(error = %err, "webhook worker: cannot delete old deliveries");
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Deletes deliveries that ended more than [`KEEP_ENDED`] ago.
async fn prune(state: &AppState) -> Result<(), StorageError> {
    let keep = i64::try_from(KEEP_ENDED.as_secs()).unwrap_or(i64::MAX);
    let mut tx = state.db().begin_write().await?;
    let deleted = tx
        .prune_webhook_deliveries(crate::unix_now().saturating_sub(keep))
        .await?;
    tx.commit().await?;
    if deleted > 0 {
        tracing::info!(deleted, "deleted webhook deliveries that ended 30 days ago");
    }
    Ok(())
}

/// Turns queued events into deliveries, then starts every due delivery
/// there is room for (each in its own task).
pub async fn run_due(state: &AppState, webhooks: &Arc<Webhooks>) -> Result<(), WebhookWorkerError> {
    while fan_out(state).await? > 0 {}
    let room = webhooks.in_flight.available_permits();
    if room == 0 {
        return Ok(());
    }
    let now = now_ms();
    let due = state
        .db()
        .due_webhook_deliveries(now, i64::try_from(room).unwrap_or(1))
        .await?;
    // An attempt not recorded by then (the gate died) is tried again.
    let lease = millis(webhooks.config.timeout() * 2 + Duration::from_secs(5));
    for delivery in due {
        let Ok(permit) = webhooks.in_flight.clone().try_acquire_owned() else {
            break;
        };
        let mut tx = state.db().begin_write().await?;
        let now = now_ms();
        if !tx
            .claim_webhook_delivery(&delivery, now, now.saturating_add(lease))
            .await?
        {
            continue;
        }
        tx.commit().await?;
        let state = state.clone();
        let webhooks = Arc::clone(webhooks);
        tokio::spawn(async move {
            let _permit = permit;
            attempt_and_record(&state, &webhooks, delivery).await;
        });
    }
    Ok(())
}

/// Turns up to one batch of queued events into deliveries (one per webhook
/// of the event's package that wants its kind), in one transaction.
/// Returns how many events it took.
async fn fan_out(state: &AppState) -> Result<usize, WebhookWorkerError> {
    if state.db().webhook_queue_len().await? == 0 {
        return Ok(0);
    }
    let config = state.config();
    let mut tx = state.db().begin_write().await?;
    let queued = tx.queued_webhook_events(FAN_OUT_BATCH).await?;
    let now = now_ms();
    for event in &queued {
        let wanted = crate::webhook_config::WebhookEvent::from_kind(&event.kind);
        if let (Some(package), Some(wanted)) = (&event.package, wanted) {
            for (_, hook) in webhooks_for(config, package) {
                if hook.wants(wanted) {
                    let id = hex::encode(random_bytes::<16>()?);
                    tx.add_webhook_delivery(event.seq, &hook.url, &id, now)
                        .await?;
                }
            }
        }
        tx.unqueue_webhook_event(event.seq).await?;
    }
    tx.commit().await?;
    Ok(queued.len())
}

/// One attempt at one claimed delivery, then its outcome recorded.
async fn attempt_and_record(state: &AppState, webhooks: &Webhooks, delivery: WebhookDelivery) {
    let attempt = delivery.attempts.saturating_add(1);
    let outcome = attempt_once(state, webhooks, &delivery, attempt).await;
    let recorded = async {
        let mut tx = state.db().begin_write().await?;
        let ended = tx
            .finish_webhook_delivery(&delivery.id, attempt, &outcome, now_ms())
            .await?;
        if ended {
            tx.commit().await?;
        }
        Ok::<bool, StorageError>(ended)
    }
    .await;
    if let Err(err) = recorded {
        tracing::error!(delivery = %delivery.id, error = %err, "webhook worker: cannot record an attempt; it will be tried again");
    }
    let to = origin(&delivery.url);
    match &outcome {
        DeliveryOutcome::Delivered { status } => {
            crate::metrics::webhook_attempt("delivered");
            tracing::info!(delivery = %delivery.id, event = %delivery.kind, release = delivery.release_id, webhook = %to, status, attempt, "webhook delivered");
        }
        DeliveryOutcome::Retry { error, .. } => {
            crate::metrics::webhook_attempt("retry");
            tracing::warn!(delivery = %delivery.id, event = %delivery.kind, release = delivery.release_id, webhook = %to, %error, attempt, "webhook delivery failed; will retry");
        }
        DeliveryOutcome::Failed { error, .. } => {
            crate::metrics::webhook_attempt("failed");
            tracing::error!(delivery = %delivery.id, event = %delivery.kind, release = delivery.release_id, webhook = %to, %error, attempt, "webhook delivery given up");
        }
    }
}

async fn attempt_once(
    state: &AppState,
    webhooks: &Webhooks,
    delivery: &WebhookDelivery,
    attempt: u32,
) -> DeliveryOutcome {
    let config = state.config();
    let failed = |error: String| DeliveryOutcome::Failed {
        status: None,
        error,
    };
    let Some((scope, hook)) = webhooks_for(config, &delivery.package)
        .into_iter()
        .find(|(_, hook)| hook.url == delivery.url)
    else {
        return failed(format!(
            "the webhook at {} is no longer configured for {}",
            origin(&delivery.url),
            delivery.package
        ));
    };
    let Some(key) = webhooks.secrets.get(scope, &hook.url) else {
        return failed("no secret loaded for this webhook (restart the gate)".into());
    };
    let body = body(delivery, hook.format, &config.public_url);
    let timestamp = crate::unix_now();
    let sent = webhooks
        .client
        .post(&hook.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(EVENT_HEADER, &delivery.kind)
        .header(DELIVERY_HEADER, &delivery.id)
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, signature(key, timestamp, &body))
        .body(body)
        .send()
        .await;
    let (status, error) = match sent {
        Err(err) => (None, describe(err, &webhooks.config)),
        Ok(response) => {
            let status = response.status();
            if status.is_success() {
                // The answer's body means nothing here and is not read.
                return DeliveryOutcome::Delivered {
                    status: status.as_u16(),
                };
            }
            let error = if status.is_redirection() {
                format!(
                    "receiver answered {status}; redirects are not followed (set url to the final address)"
                )
            } else {
                format!("receiver answered {status}: {}", snippet(response).await)
            };
            (Some(status.as_u16()), error)
        }
    };
    retry_or_give_up(&webhooks.config, delivery, attempt, status, error)
}

/// The next attempt after failure number `attempt`, unless that would be
/// past the give-up time.
fn retry_or_give_up(
    config: &crate::webhook_config::WebhookDeliveryConfig,
    delivery: &WebhookDelivery,
    attempt: u32,
    status: Option<u16>,
    error: String,
) -> DeliveryOutcome {
    let wait = config.jittered_backoff_after(attempt, random_fraction());
    let next_attempt_ms = now_ms().saturating_add(millis(wait));
    let give_up_at = delivery.created_ms.saturating_add(
        i64::try_from(config.give_up_after_seconds)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000),
    );
    if next_attempt_ms > give_up_at {
        DeliveryOutcome::Failed {
            status,
            error: format!(
                "{error}; gave up after {attempt} attempt(s) (give_up_after_seconds = {})",
                config.give_up_after_seconds
            ),
        }
    } else {
        DeliveryOutcome::Retry {
            status,
            error,
            next_attempt_ms,
        }
    }
}

/// A transport error without the URL (it may hold a secret), with its
/// causes.
fn describe(err: reqwest::Error, config: &crate::webhook_config::WebhookDeliveryConfig) -> String {
    if err.is_timeout() {
        return format!("no answer within {} s", config.timeout_seconds);
    }
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The start of an error answer, as one escaped line (at most
/// [`ERROR_SNIPPET`] bytes are read, whatever the receiver sends).
async fn snippet(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < ERROR_SNIPPET {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    bytes.truncate(ERROR_SNIPPET);
    let text: String = String::from_utf8_lossy(&bytes)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let text = text.trim();
    if text.is_empty() {
        "(no body)".into()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook_config::WebhookDeliveryConfig;

    fn delivery(created_ms: i64) -> WebhookDelivery {
        WebhookDelivery {
            id: "d".into(),
            url: "https://h.example/x".into(),
            attempts: 0,
            created_ms,
            event_seq: 1,
            kind: "staged".into(),
            at: 0,
            actor: "ci".into(),
            detail: "{}".into(),
            release_id: 1,
            package: "hello".into(),
            version: "1.0.0".into(),
        }
    }

    #[test]
    fn failures_are_retried_until_the_give_up_time() {
        let config = WebhookDeliveryConfig::default();
        let fresh = delivery(now_ms());
        match retry_or_give_up(&config, &fresh, 1, Some(500), "boom".into()) {
            DeliveryOutcome::Retry {
                next_attempt_ms,
                status,
                ..
            } => {
                assert_eq!(status, Some(500));
                let wait = next_attempt_ms - now_ms();
                assert!((2_000..=5_100).contains(&wait), "{wait}");
            }
            other => panic!("{other:?}"),
        }
        // Queued three days ago: given up, saying why.
        let old = delivery(now_ms() - 3 * 86_400 * 1000);
        match retry_or_give_up(&config, &old, 80, None, "connection refused".into()) {
            DeliveryOutcome::Failed { error, .. } => {
                assert!(
                    error.starts_with("connection refused; gave up after 80 attempt(s)"),
                    "{error}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn delivery_ids_are_random() {
        let a = hex::encode(random_bytes::<16>().unwrap());
        let b = hex::encode(random_bytes::<16>().unwrap());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        let f = random_fraction();
        assert!((0.0..=1.0).contains(&f));
    }
}
