//! The gate's housekeeping, run at start and then periodically: undecided
//! releases expire after their package's `staged_expiry` (an `expired`
//! event; the version may be staged again), and the files of rejected and
//! expired releases are deleted after `rejected_retention` (expired ones at
//! once: nobody can approve them any more). A blob shared with a live
//! release, or held by a staging in progress, is never deleted.

use std::time::Duration;

use crate::api::AppState;
use crate::limits::{Limits, LimitsConfig};
use crate::storage::StorageError;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Releases that expired.
    pub expired: Vec<i64>,
    /// Releases whose files were released for deletion.
    pub purged: Vec<i64>,
    /// Blob files deleted.
    pub blobs_deleted: usize,
}

fn limits(state: &AppState, package: &str) -> Limits {
    let config = state.config();
    match config.package(package) {
        Some(p) => config.limits_for(p),
        // A package removed from gate.toml: the gate-wide limits apply.
        None => Limits::resolve(
            &LimitsConfig::default(),
            &config.limits,
            config.max_upload_bytes,
        ),
    }
}

fn is_due(since: i64, after: Duration, now: i64) -> bool {
    let after = i64::try_from(after.as_secs()).unwrap_or(i64::MAX);
    now.saturating_sub(since) >= after
}

/// Runs one pass at time `now`.
pub async fn run_once(state: &AppState, now: i64) -> Result<Report, StorageError> {
    let db = state.db();
    let mut report = Report::default();
    for release in db.staged_releases().await? {
        let expiry = limits(state, &release.package).staged_expiry;
        if !is_due(release.since, expiry, now) {
            continue;
        }
        let reason = format!(
            "expired: not decided within {} (staged_expiry)",
            humanize(expiry)
        );
        let mut tx = db.begin_write().await?;
        if tx.expire(release.id, &reason, now).await? {
            tx.commit().await?;
            tracing::info!(release = release.id, package = %release.package, "expired");
            report.expired.push(release.id);
        }
    }
    for release in db.rejected_with_files().await? {
        let retention = limits(state, &release.package).rejected_retention;
        if !is_due(release.since, retention, now) {
            continue;
        }
        let mut tx = db.begin_write().await?;
        if tx.purge_files(release.id, now).await? {
            tx.commit().await?;
            report.purged.push(release.id);
        }
    }
    for id in report.expired.iter().chain(&report.purged) {
        let keys = db.release_blob_keys(*id).await?;
        report.blobs_deleted += state.blobs().discard_unreferenced(&keys, db).await?;
    }
    if report.blobs_deleted > 0 {
        tracing::info!(
            blobs = report.blobs_deleted,
            "deleted the files of expired and rejected releases"
        );
    }
    Ok(report)
}

/// How often a gate sharing its blob store with other replicas sweeps it
/// for orphans (an upload whose release never committed on any replica).
const SHARED_SWEEP_INTERVAL: Duration = Duration::from_secs(3600);

/// Runs [`run_once`] now and then every `interval`, until the process ends;
/// with a blob store shared by replicas, also the orphan sweep (hourly).
pub async fn run_periodically(state: AppState, interval: Duration) {
    let mut last_sweep = tokio::time::Instant::now();
    loop {
        if let Err(err) = run_once(&state, crate::unix_now()).await {
            tracing::error!(%err, "housekeeping (expiry, retention) failed; retrying later");
        }
        let blobs = state.blobs();
        if blobs.grace_seconds() > 0 && last_sweep.elapsed() >= SHARED_SWEEP_INTERVAL {
            last_sweep = tokio::time::Instant::now();
            match blobs
                .sweep(state.db(), blobs.grace_seconds(), crate::unix_now())
                .await
            {
                Ok(report) if report.unreferenced > 0 => {
                    tracing::info!(blobs = report.unreferenced, "swept unreferenced blobs")
                }
                Ok(_) => {}
                Err(err) => tracing::error!(%err, "blob sweep failed; retrying later"),
            }
        }
        tokio::time::sleep(interval).await;
    }
}

/// `30d`, `12h`, `5m` or `40s`: the largest whole unit.
fn humanize(duration: Duration) -> String {
    let secs = duration.as_secs();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if secs >= size && secs.is_multiple_of(size) {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_dates_and_names() {
        assert!(is_due(0, Duration::from_secs(10), 10));
        assert!(!is_due(1, Duration::from_secs(10), 10));
        assert!(!is_due(i64::MAX, Duration::from_secs(10), i64::MIN));
        assert!(!is_due(0, Duration::MAX, i64::MAX - 1));
        assert_eq!(humanize(Duration::from_secs(30 * 86_400)), "30d");
        assert_eq!(humanize(Duration::from_secs(7200)), "2h");
        assert_eq!(humanize(Duration::from_secs(90)), "90s");
    }
}
