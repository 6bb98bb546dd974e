//! The publish worker: takes due `pending` jobs from the outbox and publishes
//! the released files to each target's registry.
//!
//! It runs beside the housekeeping task. It wakes when a release commits
//! ([`Publishing::wake`]) and when the next retry is due, so an approved
//! release is on the registry within the time of one upload. Jobs left
//! `pending` by a gate that was killed are picked up at start. Every attempt
//! ends in one transaction that updates the job and, for an outcome, writes
//! its event: `published`, `publish_conflict` or `publish_failed`.

use std::sync::Arc;
use std::time::Duration;

use shipgate_protocol::wire::PublishedIntegrity;
use shipgate_registry::{PublishError, PublishFile, PublishOptions, Publisher};
use tokio::sync::Notify;

use crate::api::AppState;
use crate::storage::{JobOutcome, PublishJob, StorageError};
use crate::targets::{Credentials, TargetError};

/// What the worker needs besides the gate's state: the credentials loaded
/// at start, one HTTP client, and the bell rung when a release commits.
#[derive(Debug, Clone)]
pub struct Publishing {
    credentials: Credentials,
    publisher: Publisher,
    bell: Arc<Notify>,
}

/// Why publishing could not be set up at start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishingError {
    /// A target's credential could not be loaded.
    #[error(transparent)]
    Credential(#[from] TargetError),
    /// The HTTP client could not be built.
    #[error("publishing: {0}")]
    Client(String),
}

impl Publishing {
    /// Loads every target's credential (refusing a token file others can
    /// read, or an unset variable) and builds the HTTP client.
    pub fn load(config: &crate::config::GateConfig) -> Result<Self, PublishingError> {
        let credentials = Credentials::load(config)?;
        let timeout = Duration::from_secs(config.publishing.timeout_seconds.max(1));
        let publisher = Publisher::new(PublishOptions::with_timeouts(timeout, timeout))
            .map_err(|e| PublishingError::Client(e.to_string()))?;
        Ok(Publishing {
            credentials,
            publisher,
            bell: Arc::new(Notify::new()),
        })
    }

    /// Tells the worker that jobs may be waiting (a release just committed).
    pub fn wake(&self) {
        self.bell.notify_one();
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Runs until the task is aborted.
pub async fn run(state: AppState) {
    let mut idle = Duration::from_secs(60);
    loop {
        match run_due(&state).await {
            Ok(()) => {}
            Err(err) => tracing::error!(error = %err, "publish worker: database error"),
        }
        // Sleep until the next retry is due, a release commits, or a minute
        // has passed (a job another gate process wrote).
        if let Ok(Some(due)) = state.db().next_publish_due().await {
            let wait = due.saturating_sub(now_ms()).max(0);
            idle = Duration::from_millis(u64::try_from(wait).unwrap_or(0)).min(idle);
        }
        tokio::select! {
            () = state.publishing().bell.notified() => {}
            () = tokio::time::sleep(idle) => {}
        }
        idle = Duration::from_secs(60);
    }
}

/// Runs every job due now, one after the other.
pub async fn run_due(state: &AppState) -> Result<(), StorageError> {
    loop {
        let jobs = state.db().due_publish_jobs(now_ms()).await?;
        if jobs.is_empty() {
            return Ok(());
        }
        // An attempt not recorded by then (this replica died) is due again;
        // each upload has `timeout_seconds`, and a job has a few of them.
        let timeout = state.config().publishing.timeout_seconds.max(1);
        let lease = i64::try_from(timeout.saturating_mul(4).saturating_add(30))
            .unwrap_or(i64::MAX)
            .saturating_mul(1000);
        for job in jobs {
            // Several replicas share the outbox: the one whose claim commits
            // runs the attempt, the others skip the job.
            let mut tx = state.db().begin_write().await?;
            let now = now_ms();
            if !tx
                .claim_publish_job(&job, now, now.saturating_add(lease))
                .await?
            {
                continue;
            }
            tx.commit().await?;
            let outcome = attempt(state, &job).await;
            let mut tx = state.db().begin_write().await?;
            if tx
                .finish_publish_attempt(&job, &outcome, crate::unix_now())
                .await?
            {
                tx.commit().await?;
            }
            match &outcome {
                JobOutcome::Published { url, .. } => tracing::info!(
                    release = job.release_id, target = job.target_index, kind = %job.kind, %url,
                    "published"
                ),
                JobOutcome::Conflict { error } => tracing::error!(
                    release = job.release_id, target = job.target_index, kind = %job.kind, %error,
                    "publish conflict: the registry holds other bytes for this version; not overwritten"
                ),
                JobOutcome::Retry { error, .. } => tracing::warn!(
                    release = job.release_id, target = job.target_index, kind = %job.kind, %error,
                    attempt = job.attempts + 1, "publish attempt failed; will retry"
                ),
                JobOutcome::Failed { error } => tracing::error!(
                    release = job.release_id, target = job.target_index, kind = %job.kind, %error,
                    "publishing failed"
                ),
            }
        }
    }
}

/// One attempt at one job.
async fn attempt(state: &AppState, job: &PublishJob) -> JobOutcome {
    let config = state.config();
    let publishing = &config.publishing;
    let failed = |error: String| JobOutcome::Failed { error };
    let Some(package) = config.package(&job.package) else {
        return failed(format!(
            "package {} is no longer configured on this gate",
            job.package
        ));
    };
    let Some(target) = package
        .targets
        .get(job.target_index)
        .filter(|t| t.kind.as_str() == job.kind && t.registry == job.registry)
    else {
        return failed(format!(
            "the {} target {} is no longer configured for {}",
            job.kind, job.registry, job.package
        ));
    };
    let Some(credential) = state
        .publishing()
        .credentials
        .get(&job.package, job.target_index)
    else {
        return failed("no credential loaded for this target".to_owned());
    };
    // The local copies (`_local`) live until the publish is done.
    let (files, _local) = match files_for(state, job, target.kind).await {
        Ok(files) => files,
        Err(FilesError::Gone(error)) => return failed(error),
        Err(FilesError::Store(error)) if job.attempts.saturating_add(1) < publishing.attempts() => {
            // The blob store may be back on the next attempt.
            let wait = publishing.backoff_after(job.attempts.saturating_add(1));
            return JobOutcome::Retry {
                error,
                next_attempt_ms: now_ms()
                    .saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX)),
            };
        }
        Err(FilesError::Store(error)) => return failed(error),
    };
    let result = state
        .publishing()
        .publisher
        .publish(&target.target(), credential, &files)
        .await;
    match result {
        Ok(published) => JobOutcome::Published {
            url: published.url,
            integrity: published
                .files
                .into_iter()
                .map(|f| PublishedIntegrity {
                    file_name: f.file_name,
                    integrity: f.integrity,
                })
                .collect(),
            already_present: published.already_present,
        },
        Err(e @ PublishError::Conflict { .. }) => JobOutcome::Conflict {
            error: e.to_string(),
        },
        Err(e) if e.is_retriable() && job.attempts.saturating_add(1) < publishing.attempts() => {
            let wait = publishing.backoff_after(job.attempts.saturating_add(1));
            JobOutcome::Retry {
                error: e.to_string(),
                next_attempt_ms: now_ms()
                    .saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX)),
            }
        }
        Err(e) if e.is_retriable() => failed(format!(
            "{e}; gave up after {} attempts",
            job.attempts.saturating_add(1)
        )),
        Err(e) => failed(e.to_string()),
    }
}

/// Why the files of a publish job are not at hand.
enum FilesError {
    /// The release or its files are gone for good.
    Gone(String),
    /// The blob store failed (it may recover).
    Store(String),
}

/// The released files this target publishes, with their blob paths, and
/// the local copies behind those paths.
async fn files_for(
    state: &AppState,
    job: &PublishJob,
    kind: shipgate_registry::TargetKind,
) -> Result<(Vec<PublishFile>, Vec<crate::blobs::LocalBlob>), FilesError> {
    let detail = state
        .db()
        .release(job.release_id)
        .await
        .map_err(|e| FilesError::Store(format!("reading release {}: {e}", job.release_id)))?
        .ok_or_else(|| FilesError::Gone(format!("release {} is gone", job.release_id)))?;
    let mut files = Vec::new();
    let mut local = Vec::new();
    for file in detail
        .files
        .iter()
        .filter(|f| shipgate_registry::artifact::accepts(kind, &f.path))
    {
        let blob = match state.blobs().local_file(&file.sha256).await {
            Ok(blob) => blob,
            Err(crate::blobs::BlobError::NotFound { .. } | crate::blobs::BlobError::NotAKey) => {
                return Err(FilesError::Gone(format!("{}: no stored blob", file.path)));
            }
            Err(err) => return Err(FilesError::Store(format!("{}: {err}", file.path))),
        };
        files.push(PublishFile {
            file_name: file.path.clone(),
            path: blob.path().to_owned(),
            sha256: file.sha256.clone(),
        });
        local.push(blob);
    }
    if files.is_empty() {
        return Err(FilesError::Gone(format!(
            "release {} has no file for this target",
            job.release_id
        )));
    }
    Ok((files, local))
}
