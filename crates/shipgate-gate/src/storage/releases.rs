//! Release rows: staging, reading, approving, releasing and rejecting.

use shipgate_protocol::wire::{RELEASES_PAGE_DEFAULT, ReleaseQuery};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{
    Approval, Db, NewRelease, Provenance, ReleaseDetail, ReleaseFile, ReleaseState, ReleaseSummary,
    SignedManifest, StorageError, WriteTx,
};

fn summary(row: &AnyRow) -> Result<ReleaseSummary, StorageError> {
    let state: String = row.try_get("state")?;
    Ok(ReleaseSummary {
        id: row.try_get("id")?,
        package: row.try_get("package")?,
        version: row.try_get("version")?,
        state: ReleaseState::parse(&state).ok_or(StorageError::Corrupt("releases.state"))?,
        created_at: row.try_get("created_at")?,
        decided_at: row.try_get("decided_at")?,
    })
}

fn file(row: &AnyRow) -> Result<ReleaseFile, StorageError> {
    let size: i64 = row.try_get("size")?;
    Ok(ReleaseFile {
        path: row.try_get("path")?,
        size: u64::try_from(size).map_err(|_| StorageError::Corrupt("release_files.size"))?,
        sha256: row.try_get("sha256")?,
    })
}

async fn files(conn: &mut AnyConnection, id: i64) -> Result<Vec<ReleaseFile>, StorageError> {
    let rows = sqlx::query(
        "SELECT path, size, sha256 FROM release_files WHERE release_id = $1 ORDER BY path",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(file).collect()
}

async fn detail(conn: &mut AnyConnection, id: i64) -> Result<Option<ReleaseDetail>, StorageError> {
    let Some(row) = sqlx::query(
        "SELECT id, package, version, state, created_at, decided_at, reject_reason, \
         issuer, subject, repository, repository_owner_id, workflow, git_ref, commit_sha, \
         run_id, environment, event_name FROM releases WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let provenance = Provenance {
        issuer: row.try_get("issuer")?,
        subject: row.try_get("subject")?,
        repository: row.try_get("repository")?,
        repository_owner_id: row.try_get("repository_owner_id")?,
        workflow: row.try_get("workflow")?,
        git_ref: row.try_get("git_ref")?,
        commit_sha: row.try_get("commit_sha")?,
        run_id: row.try_get("run_id")?,
        environment: row.try_get("environment")?,
        event_name: row.try_get("event_name")?,
    };
    let approvals = sqlx::query(
        "SELECT maintainer, approved_at FROM approvals WHERE release_id = $1 \
         ORDER BY approved_at, maintainer",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        Ok(Approval {
            maintainer: r.try_get("maintainer")?,
            approved_at: r.try_get("approved_at")?,
        })
    })
    .collect::<Result<Vec<_>, StorageError>>()?;
    Ok(Some(ReleaseDetail {
        summary: summary(&row)?,
        reject_reason: row.try_get("reject_reason")?,
        provenance,
        files: files(conn, id).await?,
        approvals,
    }))
}

impl Db {
    /// One release with its files and approvals.
    pub async fn release(&self, id: i64) -> Result<Option<ReleaseDetail>, StorageError> {
        let mut conn = self.pool.acquire().await?;
        detail(&mut conn, id).await
    }

    /// Releases, newest first, optionally only those in `state`.
    pub async fn list_releases(
        &self,
        query: &ReleaseQuery<'_>,
    ) -> Result<Vec<ReleaseSummary>, StorageError> {
        // One statement for every combination: an absent filter is NULL.
        let limit = query.limit.unwrap_or(RELEASES_PAGE_DEFAULT);
        let rows = sqlx::query(
            "SELECT id, package, version, state, created_at, decided_at FROM releases \
             WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR package = $2) \
             AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
        )
        .bind(query.state.map(|s| s.as_str()))
        .bind(query.package)
        .bind(query.before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(summary).collect()
    }

    /// True when `package version` is staged or released.
    pub async fn version_taken(&self, package: &str, version: &str) -> Result<bool, StorageError> {
        let row = sqlx::query(
            "SELECT id FROM releases WHERE package = $1 AND version = $2 AND state <> 'rejected'",
        )
        .bind(package)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// The latest release of `package` released before release `before`
    /// (by id), for the review diff.
    pub async fn previous_released(
        &self,
        package: &str,
        before: i64,
    ) -> Result<Option<(String, Vec<ReleaseFile>)>, StorageError> {
        let mut conn = self.pool.acquire().await?;
        let Some(row) = sqlx::query(
            "SELECT id, version FROM releases WHERE package = $1 AND state = 'released' \
             AND id < $2 ORDER BY id DESC LIMIT 1",
        )
        .bind(package)
        .bind(before)
        .fetch_optional(&mut *conn)
        .await?
        else {
            return Ok(None);
        };
        let id: i64 = row.try_get("id")?;
        let version: String = row.try_get("version")?;
        Ok(Some((version, files(&mut conn, id).await?)))
    }

    /// The released `package version` and its signed manifest.
    pub async fn released_version(
        &self,
        package: &str,
        version: &str,
    ) -> Result<Option<(ReleaseDetail, SignedManifest)>, StorageError> {
        let mut conn = self.pool.acquire().await?;
        let Some(row) = sqlx::query(
            "SELECT id, manifest, manifest_signature FROM releases \
             WHERE package = $1 AND version = $2 AND state = 'released'",
        )
        .bind(package)
        .bind(version)
        .fetch_optional(&mut *conn)
        .await?
        else {
            return Ok(None);
        };
        let id: i64 = row.try_get("id")?;
        let signed = SignedManifest {
            manifest: row.try_get("manifest")?,
            signature: row.try_get("manifest_signature")?,
        };
        let detail = detail(&mut conn, id)
            .await?
            .ok_or(StorageError::Corrupt("releases.id"))?;
        Ok(Some((detail, signed)))
    }

    /// True when some release references this blob.
    pub async fn blob_referenced(&self, key: &str) -> Result<bool, StorageError> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM release_files f JOIN releases r ON r.id = f.release_id \
             WHERE f.blob_key = $1 AND r.blobs_purged_at IS NULL LIMIT 1",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// The blob key of one file of a released version.
    pub async fn released_file(
        &self,
        package: &str,
        version: &str,
        path: &str,
    ) -> Result<Option<(ReleaseFile, String)>, StorageError> {
        let row = sqlx::query(
            "SELECT f.path, f.size, f.sha256, f.blob_key FROM release_files f \
             JOIN releases r ON r.id = f.release_id \
             WHERE r.package = $1 AND r.version = $2 AND r.state = 'released' AND f.path = $3",
        )
        .bind(package)
        .bind(version)
        .bind(path)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok((file(&row)?, row.try_get("blob_key")?)))
            .transpose()
    }
}

/// The `detail` of a release's `staged` event. Package and version are the
/// leaf's own fields (from the release row).
fn staged_detail(new: &NewRelease) -> serde_json::Value {
    serde_json::json!({
        "files": new.files,
        "provenance": new.provenance,
    })
}

/// The length of the `staged` leaf `new` would get, at its largest (every
/// number at the most a leaf holds), so staging can refuse a release whose
/// leaf would be too large before it stores anything.
pub fn staged_leaf_len(new: &NewRelease) -> Result<usize, crate::tlog::LeafError> {
    const LARGEST: i64 = (1 << 53) - 1;
    let detail = match staged_detail(new) {
        serde_json::Value::Object(detail) => detail,
        _ => serde_json::Map::new(),
    };
    let event = crate::tlog::LogEvent {
        seq: LARGEST,
        time: LARGEST,
        kind: "staged".into(),
        actor: new.provenance.subject.clone(),
        release_id: Some(LARGEST),
        package: Some(new.package.clone()),
        version: Some(new.version.clone()),
        detail,
    };
    Ok(event.to_leaf()?.len())
}

impl WriteTx {
    /// Inserts a staged release and its files (blobs must already be durable,
    /// keyed by their sha256) and its `staged` event. Returns the new id.
    pub async fn insert_staged(&mut self, new: &NewRelease, now: i64) -> Result<i64, StorageError> {
        let p = &new.provenance;
        // The id is the next one (as SQLite assigns it) under the write
        // lock; DO NOTHING (no row returned) means the version is live
        // already, without failing the statement (which in PostgreSQL
        // would abort the transaction).
        let inserted = sqlx::query(
            "INSERT INTO releases (id, package, version, state, issuer, subject, repository, \
             repository_owner_id, workflow, git_ref, commit_sha, run_id, environment, event_name, \
             created_at) VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM releases), \
             $1, $2, 'staged', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(&new.package)
        .bind(&new.version)
        .bind(&p.issuer)
        .bind(&p.subject)
        .bind(&p.repository)
        .bind(&p.repository_owner_id)
        .bind(&p.workflow)
        .bind(&p.git_ref)
        .bind(&p.commit_sha)
        .bind(&p.run_id)
        .bind(&p.environment)
        .bind(&p.event_name)
        .bind(now)
        .fetch_optional(&mut *self.tx)
        .await?;
        let Some(row) = inserted else {
            return Err(StorageError::VersionTaken {
                package: new.package.clone(),
                version: new.version.clone(),
            });
        };
        let id: i64 = row.try_get("id")?;
        for f in &new.files {
            let size = i64::try_from(f.size).map_err(|_| StorageError::Corrupt("file size"))?;
            sqlx::query(
                "INSERT INTO release_files (release_id, path, size, sha256, blob_key) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(&f.path)
            .bind(size)
            .bind(&f.sha256)
            .bind(&f.sha256)
            .execute(&mut *self.tx)
            .await?;
        }
        self.event(now, "staged", Some(id), &p.subject, staged_detail(new))
            .await?;
        Ok(id)
    }

    /// One release as seen inside this transaction.
    pub async fn release(&mut self, id: i64) -> Result<Option<ReleaseDetail>, StorageError> {
        detail(&mut self.tx, id).await
    }

    /// Records an approval (refused if this maintainer already approved) and
    /// returns how many distinct maintainers have approved now.
    pub async fn add_approval(
        &mut self,
        release: i64,
        maintainer: &str,
        now: i64,
    ) -> Result<u32, StorageError> {
        self.add_approval_with(release, maintainer, &serde_json::Map::new(), now)
            .await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM approvals WHERE release_id = $1")
            .bind(release)
            .fetch_one(&mut *self.tx)
            .await?;
        u32::try_from(count).map_err(|_| StorageError::Corrupt("approvals"))
    }

    /// The maintainers who approved `release`, by name.
    pub async fn approvers(&mut self, release: i64) -> Result<Vec<String>, StorageError> {
        Ok(sqlx::query_scalar(
            "SELECT maintainer FROM approvals WHERE release_id = $1 ORDER BY maintainer",
        )
        .bind(release)
        .fetch_all(&mut *self.tx)
        .await?)
    }

    /// Withdraws `maintainer`'s approval of `release` (they may no longer
    /// approve this package) and logs why.
    pub async fn withdraw_approval(
        &mut self,
        release: i64,
        maintainer: &str,
        reason: &str,
        now: i64,
    ) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM approvals WHERE release_id = $1 AND maintainer = $2")
            .bind(release)
            .bind(maintainer)
            .execute(&mut *self.tx)
            .await?;
        self.event(
            now,
            "approval_withdrawn",
            Some(release),
            "gate",
            serde_json::json!({ "maintainer": maintainer, "reason": reason }),
        )
        .await
    }

    /// Marks a staged release released with its signed manifest.
    pub async fn mark_released(
        &mut self,
        release: i64,
        signed: &SignedManifest,
        manifest_sha256: &str,
        now: i64,
    ) -> Result<(), StorageError> {
        let updated = sqlx::query(
            "UPDATE releases SET state = 'released', decided_at = $1, manifest = $2, \
             manifest_signature = $3 WHERE id = $4 AND state = 'staged'",
        )
        .bind(now)
        .bind(&signed.manifest)
        .bind(&signed.signature)
        .bind(release)
        .execute(&mut *self.tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StorageError::Corrupt("releases.state"));
        }
        let detail =
            super::log::released_detail(&mut self.tx, release, manifest_sha256, &signed.signature)
                .await?;
        self.event(now, "released", Some(release), "gate", detail)
            .await
    }

    /// Marks a staged release rejected.
    pub async fn mark_rejected(
        &mut self,
        release: i64,
        maintainer: &str,
        reason: &str,
        now: i64,
    ) -> Result<(), StorageError> {
        self.mark_rejected_with(release, maintainer, reason, &serde_json::Map::new(), now)
            .await
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::tests::{event_kinds, temp_db};
    use super::*;

    pub(crate) fn new_release(package: &str, version: &str) -> NewRelease {
        NewRelease {
            package: package.into(),
            version: version.into(),
            provenance: Provenance {
                issuer: "https://ci.example".into(),
                subject: "repo:acme/hello:ref:refs/tags/v1".into(),
                repository: "acme/hello".into(),
                workflow: "acme/hello/.github/workflows/release.yml@refs/tags/v1".into(),
                git_ref: "refs/tags/v1".into(),
                commit_sha: "0123abcd".into(),
                run_id: "77".into(),
                ..Provenance::default()
            },
            files: vec![
                ReleaseFile {
                    path: "b.tar.gz".into(),
                    size: 10,
                    sha256: "b".repeat(64),
                },
                ReleaseFile {
                    path: "a.txt".into(),
                    size: 3,
                    sha256: "a".repeat(64),
                },
            ],
        }
    }

    #[tokio::test]
    async fn staging_is_one_transaction_with_its_event() {
        let (_dir, db) = temp_db().await;
        let mut tx = db.begin_write().await.unwrap();
        let id = tx
            .insert_staged(&new_release("hello", "1.0"), 100)
            .await
            .unwrap();
        // Not visible to others before commit.
        assert!(db.release(id).await.unwrap().is_none());
        tx.commit().await.unwrap();
        let detail = db.release(id).await.unwrap().unwrap();
        assert_eq!(detail.summary.state, ReleaseState::Staged);
        assert_eq!(detail.files[0].path, "a.txt", "sorted by path");
        assert_eq!(detail.provenance.run_id, "77");
        let events = db.events().await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, "staged");
        assert_eq!(events[0].release_id, Some(id));
        assert_eq!(db.referenced_blobs().await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_version_is_staged_or_released_once_but_can_follow_a_rejection() {
        let (_dir, db) = temp_db().await;
        let mut tx = db.begin_write().await.unwrap();
        let first = tx
            .insert_staged(&new_release("hello", "1.0"), 1)
            .await
            .unwrap();
        let err = tx
            .insert_staged(&new_release("hello", "1.0"), 2)
            .await
            .unwrap_err();
        assert!(matches!(err, StorageError::VersionTaken { .. }), "{err}");
        // Another package may use the same version.
        tx.insert_staged(&new_release("other", "1.0"), 2)
            .await
            .unwrap();
        tx.mark_rejected(first, "alice", "bad build", 3)
            .await
            .unwrap();
        let again = tx
            .insert_staged(&new_release("hello", "1.0"), 4)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(db.version_taken("hello", "1.0").await.unwrap());
        assert!(!db.version_taken("hello", "2.0").await.unwrap());
        let rejected = db.release(first).await.unwrap().unwrap();
        assert_eq!(rejected.reject_reason.as_deref(), Some("bad build"));
        assert_eq!(
            db.list_releases(&ReleaseQuery {
                state: Some(ReleaseState::Staged),
                ..Default::default()
            })
            .await
            .unwrap()
            .len(),
            2
        );
        assert_eq!(
            db.list_releases(&ReleaseQuery::default()).await.unwrap()[0].id,
            again
        );
    }

    #[tokio::test]
    async fn released_state_requires_a_signed_manifest_and_moves_only_forward() {
        let (_dir, db) = temp_db().await;
        sqlx::query(
            "INSERT INTO maintainers (name, token_hash, totp_secret, enrolled_at) \
             VALUES ('alice', 'x', 'y', 0)",
        )
        .execute(&db.pool)
        .await
        .unwrap();
        let mut tx = db.begin_write().await.unwrap();
        let id = tx
            .insert_staged(&new_release("hello", "1.0"), 1)
            .await
            .unwrap();
        assert_eq!(tx.add_approval(id, "alice", 2).await.unwrap(), 1);
        let err = tx.add_approval(id, "alice", 3).await.unwrap_err();
        assert!(matches!(err, StorageError::AlreadyApproved { .. }));
        let pair = shipgate_manifest::keys::generate_key_pair(None).unwrap();
        let key = crate::signing::GateKey::from_key(
            shipgate_manifest::SecretKeyFile::parse(&pair.secret_key_file, "k")
                .unwrap()
                .unlock(None)
                .unwrap(),
        );
        let release = tx.release(id).await.unwrap().unwrap();
        let (signed, digest) = key.sign_release(&release).unwrap();
        tx.mark_released(id, &signed, &digest, 4).await.unwrap();
        // A second transition is refused.
        assert!(tx.mark_rejected(id, "alice", "late", 5).await.is_err());
        tx.commit().await.unwrap();

        let (detail, got) = db.released_version("hello", "1.0").await.unwrap().unwrap();
        assert_eq!(got, signed);
        assert_eq!(detail.approvals.len(), 1);
        let (file, blob) = db
            .released_file("hello", "1.0", "a.txt")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(file.size, 3);
        assert_eq!(blob, "a".repeat(64));
        assert!(
            db.released_file("hello", "1.0", "../a.txt")
                .await
                .unwrap()
                .is_none()
        );
        let (prev, files) = db
            .previous_released("hello", id + 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(prev, "1.0");
        assert_eq!(files.len(), 2);
        assert!(db.previous_released("hello", id).await.unwrap().is_none());

        // The CHECK constraint: a released row without a manifest is impossible.
        let mut tx = db.begin_write().await.unwrap();
        let other = tx
            .insert_staged(&new_release("hello", "2.0"), 6)
            .await
            .unwrap();
        let bypass = sqlx::query("UPDATE releases SET state = 'released' WHERE id = $1")
            .bind(other)
            .execute(&mut *tx.tx)
            .await;
        assert!(bypass.is_err());
        let kinds = event_kinds(&db).await;
        assert_eq!(kinds, ["staged", "approved", "released"]);
    }

    #[tokio::test]
    async fn an_approval_by_an_unknown_maintainer_violates_the_foreign_key() {
        let (_dir, db) = temp_db().await;
        let mut tx = db.begin_write().await.unwrap();
        let id = tx
            .insert_staged(&new_release("hello", "1.0"), 1)
            .await
            .unwrap();
        assert!(tx.add_approval(id, "nobody", 2).await.is_err());
    }
}
