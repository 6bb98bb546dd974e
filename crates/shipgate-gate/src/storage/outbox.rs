//! The publishing outbox and the artifacts read at staging.
//!
//! A job per registry target is written in the transaction that marks the
//! release `released`; the publish worker takes due `pending` jobs and ends
//! each in one transaction that sets its state and writes its event (also a
//! transparency-log leaf). A gate killed in between finds its jobs still
//! `pending` and publishes them on restart (publishing is idempotent).

use serde_json::json;
use shipgate_protocol::wire::{PublishedIntegrity, TargetStatus};
use sqlx::Row;

use super::{Db, StorageError, WriteTx};
use crate::targets::TargetConfig;

/// A job the worker can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishJob {
    /// The release.
    pub release_id: i64,
    /// The release's package.
    pub package: String,
    /// The release's version.
    pub version: String,
    /// Position of the target in the package's `[[package.target]]` list.
    pub target_index: usize,
    /// The target's kind as configured when the job was written.
    pub kind: String,
    /// The registry as configured when the job was written.
    pub registry: String,
    /// Attempts so far.
    pub attempts: u32,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobOutcome {
    /// Published (or already there with these bytes).
    Published {
        /// Where it can be fetched.
        url: String,
        /// Each file's integrity.
        integrity: Vec<PublishedIntegrity>,
        /// True when the registry already held exactly these bytes.
        already_present: bool,
    },
    /// The registry holds the version with other bytes: never overwritten.
    Conflict {
        /// What differs.
        error: String,
    },
    /// Try again at `next_attempt_ms`.
    Retry {
        /// The error of this attempt.
        error: String,
        /// Unix milliseconds.
        next_attempt_ms: i64,
    },
    /// Given up: the last error.
    Failed {
        /// The error of the last attempt.
        error: String,
    },
}

fn count(value: i64, what: &'static str) -> Result<u32, StorageError> {
    u32::try_from(value).map_err(|_| StorageError::Corrupt(what))
}

impl WriteTx {
    /// Stores what the staged files state and declare (JSON list).
    pub async fn set_artifacts(&mut self, release: i64, json: &str) -> Result<(), StorageError> {
        sqlx::query("UPDATE releases SET artifacts = $1 WHERE id = $2")
            .bind(json)
            .bind(release)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Writes one `pending` job per target (call in the `released` transaction).
    pub async fn enqueue_publish_jobs(
        &mut self,
        release: i64,
        targets: &[TargetConfig],
        now: i64,
    ) -> Result<(), StorageError> {
        for (index, target) in targets.iter().enumerate() {
            let index = i64::try_from(index).map_err(|_| StorageError::Corrupt("target_index"))?;
            sqlx::query(
                "INSERT INTO publish_jobs (release_id, target_index, kind, registry, state, \
                 next_attempt_ms, updated_at) VALUES ($1, $2, $3, $4, 'pending', 0, $5)",
            )
            .bind(release)
            .bind(index)
            .bind(target.kind.as_str())
            .bind(&target.registry)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// Claims a due job for one attempt: moves its next attempt to
    /// `lease_until_ms`, so no other replica's worker takes it meanwhile. False
    /// when another worker claimed or ended it first. A worker that dies
    /// mid-attempt leaves the job pending; it is due again when the lease
    /// runs out, and publishing is idempotent.
    pub async fn claim_publish_job(
        &mut self,
        job: &PublishJob,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<bool, StorageError> {
        let index =
            i64::try_from(job.target_index).map_err(|_| StorageError::Corrupt("target_index"))?;
        let updated = sqlx::query(
            "UPDATE publish_jobs SET next_attempt_ms = $1 \
             WHERE release_id = $2 AND target_index = $3 AND state = 'pending' \
             AND attempts = $4 AND next_attempt_ms <= $5",
        )
        .bind(lease_until_ms)
        .bind(job.release_id)
        .bind(index)
        .bind(i64::from(job.attempts))
        .bind(now_ms)
        .execute(&mut *self.tx)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Records how an attempt ended, with its event, if the job is still
    /// `pending` (false otherwise: another worker ended it).
    pub async fn finish_publish_attempt(
        &mut self,
        job: &PublishJob,
        outcome: &JobOutcome,
        now: i64,
    ) -> Result<bool, StorageError> {
        let index =
            i64::try_from(job.target_index).map_err(|_| StorageError::Corrupt("target_index"))?;
        let attempts = i64::from(job.attempts.saturating_add(1));
        let (state, next, error, url, integrity) = match outcome {
            JobOutcome::Published { url, integrity, .. } => (
                "published",
                0,
                None,
                Some(url.as_str()),
                Some(serde_json::to_string(integrity).unwrap_or_default()),
            ),
            JobOutcome::Conflict { error } => ("conflict", 0, Some(error.as_str()), None, None),
            JobOutcome::Retry {
                error,
                next_attempt_ms,
            } => (
                "pending",
                *next_attempt_ms,
                Some(error.as_str()),
                None,
                None,
            ),
            JobOutcome::Failed { error } => ("failed", 0, Some(error.as_str()), None, None),
        };
        let updated = sqlx::query(
            "UPDATE publish_jobs SET state = $1, attempts = $2, next_attempt_ms = $3, last_error = $4, \
             url = $5, integrity = $6, updated_at = $7 \
             WHERE release_id = $8 AND target_index = $9 AND state = 'pending' AND attempts = $10",
        )
        .bind(state)
        .bind(attempts)
        .bind(next)
        .bind(error)
        .bind(url)
        .bind(integrity)
        .bind(now)
        .bind(job.release_id)
        .bind(index)
        .bind(i64::from(job.attempts))
        .execute(&mut *self.tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Ok(false);
        }
        let base = json!({
            "target": job.target_index,
            "kind": job.kind,
            "registry": job.registry,
            "attempts": attempts,
        });
        let (kind, extra) = match outcome {
            JobOutcome::Published {
                url,
                integrity,
                already_present,
            } => (
                "published",
                json!({ "url": url, "files": integrity, "already_present": already_present }),
            ),
            JobOutcome::Conflict { error } => ("publish_conflict", json!({ "error": error })),
            JobOutcome::Failed { error } => ("publish_failed", json!({ "error": error })),
            // A retry is not an outcome: the job's row shows the last error.
            JobOutcome::Retry { .. } => return Ok(true),
        };
        let mut detail = base;
        if let (Some(d), Some(e)) = (detail.as_object_mut(), extra.as_object()) {
            d.extend(e.clone());
        }
        self.event(now, kind, Some(job.release_id), "gate", detail)
            .await?;
        Ok(true)
    }
}

impl Db {
    /// What the staged files of `release` state and declare (JSON), if read.
    pub async fn artifacts(&self, release: i64) -> Result<Option<String>, StorageError> {
        let value: Option<Option<String>> =
            sqlx::query_scalar("SELECT artifacts FROM releases WHERE id = $1")
                .bind(release)
                .fetch_optional(&self.pool)
                .await?;
        Ok(value.flatten())
    }

    /// The latest release of `package` released before `before` (by id):
    /// its version and its artifacts JSON.
    pub async fn previous_released_artifacts(
        &self,
        package: &str,
        before: i64,
    ) -> Result<Option<(String, Option<String>)>, StorageError> {
        let row = sqlx::query(
            "SELECT version, artifacts FROM releases WHERE package = $1 AND state = 'released' \
             AND id < $2 ORDER BY id DESC LIMIT 1",
        )
        .bind(package)
        .bind(before)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get("version")?, r.try_get("artifacts")?)))
            .transpose()
    }

    /// Pending jobs due at `now_ms`, oldest release first.
    pub async fn due_publish_jobs(&self, now_ms: i64) -> Result<Vec<PublishJob>, StorageError> {
        let rows = sqlx::query(
            "SELECT j.release_id, r.package, r.version, j.target_index, j.kind, j.registry, \
             j.attempts FROM publish_jobs j JOIN releases r ON r.id = j.release_id \
             WHERE j.state = 'pending' AND j.next_attempt_ms <= $1 \
             ORDER BY j.release_id, j.target_index LIMIT 64",
        )
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PublishJob {
                    release_id: r.try_get("release_id")?,
                    package: r.try_get("package")?,
                    version: r.try_get("version")?,
                    target_index: usize::try_from(r.try_get::<i64, _>("target_index")?)
                        .map_err(|_| StorageError::Corrupt("publish_jobs.target_index"))?,
                    kind: r.try_get("kind")?,
                    registry: r.try_get("registry")?,
                    attempts: count(r.try_get("attempts")?, "publish_jobs.attempts")?,
                })
            })
            .collect()
    }

    /// When the next pending job is due (Unix ms), if any.
    pub async fn next_publish_due(&self) -> Result<Option<i64>, StorageError> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(next_attempt_ms) FROM publish_jobs WHERE state = 'pending'",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Every target job of `release`, in target order.
    pub async fn publish_status(&self, release: i64) -> Result<Vec<TargetStatus>, StorageError> {
        let rows = sqlx::query(
            "SELECT kind, registry, state, attempts, last_error, url, integrity FROM publish_jobs \
             WHERE release_id = $1 ORDER BY target_index",
        )
        .bind(release)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let integrity: Option<String> = r.try_get("integrity")?;
                Ok(TargetStatus {
                    kind: r.try_get("kind")?,
                    registry: r.try_get("registry")?,
                    state: r.try_get("state")?,
                    attempts: count(r.try_get("attempts")?, "publish_jobs.attempts")?,
                    last_error: r.try_get("last_error")?,
                    url: r.try_get("url")?,
                    integrity: match integrity {
                        Some(text) => serde_json::from_str(&text)
                            .map_err(|_| StorageError::Corrupt("publish_jobs.integrity"))?,
                        None => Vec::new(),
                    },
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{event_kinds, temp_db};
    use super::*;

    fn targets() -> Vec<TargetConfig> {
        ["npm", "pypi"]
            .iter()
            .map(|kind| {
                toml::from_str(&format!(
                    "kind = \"{kind}\"\nregistry = \"http://127.0.0.1:9/\"\ntoken_env = \"T\""
                ))
                .unwrap()
            })
            .collect()
    }

    #[tokio::test]
    async fn jobs_commit_with_their_transaction_and_end_once() {
        let (_dir, db) = temp_db().await;
        let mut tx = db.begin_write().await.unwrap();
        let new = crate::storage::releases::tests::new_release("hello", "1.0.0");
        let id = tx.insert_staged(&new, 1).await.unwrap();
        tx.commit().await.unwrap();

        // A transaction that does not commit leaves no job.
        let mut tx = db.begin_write().await.unwrap();
        tx.enqueue_publish_jobs(id, &targets(), 2).await.unwrap();
        drop(tx);
        assert!(db.due_publish_jobs(i64::MAX).await.unwrap().is_empty());

        let mut tx = db.begin_write().await.unwrap();
        tx.enqueue_publish_jobs(id, &targets(), 2).await.unwrap();
        tx.commit().await.unwrap();
        let jobs = db.due_publish_jobs(0).await.unwrap();
        assert_eq!(jobs.len(), 2);
        assert_eq!(db.next_publish_due().await.unwrap(), Some(0));

        // One worker claims a job; a second (another replica) cannot until
        // the lease runs out, and then only once.
        let mut tx = db.begin_write().await.unwrap();
        assert!(tx.claim_publish_job(&jobs[0], 1, 1_000).await.unwrap());
        assert!(!tx.claim_publish_job(&jobs[0], 1, 1_000).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(db.due_publish_jobs(999).await.unwrap().len(), 1);
        let mut tx = db.begin_write().await.unwrap();
        assert!(!tx.claim_publish_job(&jobs[0], 999, 2_000).await.unwrap());
        assert!(tx.claim_publish_job(&jobs[0], 1_000, 2_000).await.unwrap());
        assert!(!tx.claim_publish_job(&jobs[0], 1_000, 2_000).await.unwrap());
        tx.commit().await.unwrap();

        // A retry keeps the job pending, later, with its error; no event.
        let retry = JobOutcome::Retry {
            error: "registry answered 503".into(),
            next_attempt_ms: 5_000,
        };
        let mut tx = db.begin_write().await.unwrap();
        assert!(
            tx.finish_publish_attempt(&jobs[0], &retry, 3)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        let status = db.publish_status(id).await.unwrap();
        assert_eq!(status[0].state, "pending");
        assert_eq!(status[0].attempts, 1);
        assert_eq!(
            status[0].last_error.as_deref(),
            Some("registry answered 503")
        );
        assert_eq!(db.due_publish_jobs(4_999).await.unwrap().len(), 1);

        // The same attempt cannot be recorded twice (a second worker).
        let mut tx = db.begin_write().await.unwrap();
        assert!(
            !tx.finish_publish_attempt(&jobs[0], &retry, 3)
                .await
                .unwrap()
        );
        drop(tx);

        let published = JobOutcome::Published {
            url: "http://127.0.0.1:9/hello".into(),
            integrity: vec![PublishedIntegrity {
                file_name: "b.tar.gz".into(),
                integrity: "sha256:bb".into(),
            }],
            already_present: false,
        };
        let due = db.due_publish_jobs(i64::MAX).await.unwrap();
        let mut tx = db.begin_write().await.unwrap();
        assert!(
            tx.finish_publish_attempt(&due[0], &published, 4)
                .await
                .unwrap()
        );
        let failed = JobOutcome::Failed {
            error: "credentials refused (401)".into(),
        };
        assert!(
            tx.finish_publish_attempt(&due[1], &failed, 4)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        let status = db.publish_status(id).await.unwrap();
        assert_eq!(status[0].state, "published");
        assert_eq!(status[0].integrity[0].integrity, "sha256:bb");
        assert_eq!(status[1].state, "failed");
        assert!(db.due_publish_jobs(i64::MAX).await.unwrap().is_empty());
        assert_eq!(db.next_publish_due().await.unwrap(), None);
        let kinds = event_kinds(&db).await;
        assert_eq!(&kinds[kinds.len() - 2..], ["published", "publish_failed"]);
    }
}
