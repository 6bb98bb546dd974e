//! The transparency log's tables (`migrations/0002_log.sql`): one leaf per
//! event, appended in the transaction that writes the event; the tree head
//! with its frontier; and the checkpoints the gate signed.
//!
//! Two writers can never take the same leaf index: a write transaction
//! starts with `BEGIN IMMEDIATE`, so the second writer waits until the first
//! has committed and then reads the new size (and `idx` is the primary key,
//! so even a bug could not store two leaves at one index).

use serde_json::{Value, json};
use shipgate_log::hash::HASH_LEN;
use shipgate_log::{Frontier, Hash, leaf_hash};
use shipgate_manifest::SignatureFile;
use sqlx::{AnyConnection, Row};

use super::{Db, StorageError, WriteTx};
use crate::tlog::{LeafError, LogEvent};
use shipgate_protocol::leaf::MAX_WRITTEN_LEAF_BYTES;

/// The log's size and root hash as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogHead {
    /// Number of leaves.
    pub size: u64,
    /// The tree head.
    pub root: Hash,
}

/// One stored leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// 0-based leaf index.
    pub index: u64,
    /// The leaf bytes (canonical JSON of the event).
    pub data: Vec<u8>,
    /// `SHA-256(0x00 || data)` as stored.
    pub hash: Hash,
}

/// A checkpoint the gate signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size.
    pub size: u64,
    /// The verifier key that signed it (`<origin>+<key id>+<base64 key>`).
    pub signer: String,
    /// Root hash it signs.
    pub root: Hash,
    /// The signed note.
    pub note: String,
}

fn to_i64(value: u64, what: &'static str) -> Result<i64, StorageError> {
    i64::try_from(value).map_err(|_| StorageError::Corrupt(what))
}

fn to_u64(value: i64, what: &'static str) -> Result<u64, StorageError> {
    u64::try_from(value).map_err(|_| StorageError::Corrupt(what))
}

fn hash_from(bytes: &[u8], what: &'static str) -> Result<Hash, StorageError> {
    Hash::from_slice(bytes).map_err(|_| StorageError::Corrupt(what))
}

/// The stored frontier and root.
async fn read_state(conn: &mut AnyConnection) -> Result<(Frontier, Hash), StorageError> {
    let row = sqlx::query("SELECT size, frontier, root FROM log_state WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StorageError::Corrupt("log_state"))?;
    let size = to_u64(row.try_get("size")?, "log_state.size")?;
    let blob: Vec<u8> = row.try_get("frontier")?;
    if !blob.len().is_multiple_of(HASH_LEN) {
        return Err(StorageError::Corrupt("log_state.frontier"));
    }
    let hashes = blob
        .chunks_exact(HASH_LEN)
        .map(|chunk| hash_from(chunk, "log_state.frontier"))
        .collect::<Result<Vec<_>, _>>()?;
    let frontier = Frontier::from_parts(size, hashes)
        .map_err(|_| StorageError::Corrupt("log_state.frontier"))?;
    let root = hash_from(&row.try_get::<Vec<u8>, _>("root")?, "log_state.root")?;
    Ok((frontier, root))
}

/// Package and version of a release (for the leaf of an event about it).
async fn release_names(
    conn: &mut AnyConnection,
    release_id: Option<i64>,
) -> Result<(Option<String>, Option<String>), StorageError> {
    let Some(id) = release_id else {
        return Ok((None, None));
    };
    let row = sqlx::query("SELECT package, version FROM releases WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StorageError::Corrupt("events.release_id"))?;
    Ok((Some(row.try_get("package")?), Some(row.try_get("version")?)))
}

/// The detail of a `released` event: the signed manifest's digest, the key
/// that signed it and who approved it, so the leaf alone says what was
/// released, under which key, on whose word.
pub(super) async fn released_detail(
    conn: &mut AnyConnection,
    release_id: i64,
    manifest_sha256: &str,
    signature: &str,
) -> Result<Value, StorageError> {
    let key_id = SignatureFile::parse(signature, "release signature")
        .map_err(|_| StorageError::Corrupt("releases.manifest_signature"))?
        .key_id();
    let approved_by: Vec<String> = sqlx::query_scalar(
        "SELECT maintainer FROM approvals WHERE release_id = $1 ORDER BY maintainer",
    )
    .bind(release_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(json!({
        "manifest_sha256": manifest_sha256,
        "signature_key_id": key_id.to_string(),
        "approved_by": approved_by,
    }))
}

/// Builds the leaf of event `seq` and appends it. Returns its index.
#[allow(clippy::too_many_arguments)]
async fn append_event(
    conn: &mut AnyConnection,
    seq: i64,
    at: i64,
    kind: &str,
    release_id: Option<i64>,
    actor: &str,
    detail: &Value,
) -> Result<u64, StorageError> {
    let (package, version) = release_names(conn, release_id).await?;
    let event = LogEvent {
        seq,
        time: at,
        kind: kind.to_owned(),
        actor: actor.to_owned(),
        release_id,
        package,
        version,
        detail: detail
            .as_object()
            .cloned()
            .ok_or(StorageError::Corrupt("events.detail"))?,
    };
    let data = event.to_leaf()?;
    // Callers check what they log beforehand (staging refuses an
    // announcement whose leaf would be too large); this is the backstop
    // that keeps every leaf smaller than a page of `/v1/log/entries`.
    if data.len() > MAX_WRITTEN_LEAF_BYTES {
        return Err(LeafError::TooLarge(data.len()).into());
    }
    append_leaf(conn, seq, &data).await
}

/// Appends one leaf: O(log n) — the frontier, not the older leaves, is read.
async fn append_leaf(conn: &mut AnyConnection, seq: i64, data: &[u8]) -> Result<u64, StorageError> {
    let (mut frontier, _) = read_state(conn).await?;
    let index = frontier.size();
    let hash = leaf_hash(data);
    frontier
        .append(hash)
        .map_err(|_| StorageError::Corrupt("log_state.size"))?;
    sqlx::query("INSERT INTO log_leaves (idx, seq, data, hash) VALUES ($1, $2, $3, $4)")
        .bind(to_i64(index, "log_leaves.idx")?)
        .bind(seq)
        .bind(data)
        .bind(hash.as_bytes().as_slice())
        .execute(&mut *conn)
        .await?;
    let blob: Vec<u8> = frontier
        .hashes()
        .iter()
        .flat_map(|h| h.as_bytes().iter().copied())
        .collect();
    sqlx::query("UPDATE log_state SET size = $1, frontier = $2, root = $3 WHERE id = 1")
        .bind(to_i64(frontier.size(), "log_state.size")?)
        .bind(blob)
        .bind(frontier.root().as_bytes().as_slice())
        .execute(&mut *conn)
        .await?;
    Ok(index)
}

impl WriteTx {
    /// Appends the leaf of the event just inserted (called by [`WriteTx::event`]).
    pub(super) async fn log_event(
        &mut self,
        seq: i64,
        at: i64,
        kind: &str,
        release_id: Option<i64>,
        actor: &str,
        detail: &Value,
    ) -> Result<u64, StorageError> {
        append_event(&mut self.tx, seq, at, kind, release_id, actor, detail).await
    }

    /// The log head as seen inside this transaction.
    pub async fn log_head(&mut self) -> Result<LogHead, StorageError> {
        let (frontier, root) = read_state(&mut self.tx).await?;
        Ok(LogHead {
            size: frontier.size(),
            root,
        })
    }
}

impl Db {
    /// The log's current size and root.
    pub async fn log_head(&self) -> Result<LogHead, StorageError> {
        let mut conn = self.pool.acquire().await?;
        let (frontier, root) = read_state(&mut conn).await?;
        Ok(LogHead {
            size: frontier.size(),
            root,
        })
    }

    /// The leaf hashes of leaves `start..end`, in order. Fails if one is
    /// missing (the table is gapless in a healthy database).
    pub async fn log_leaf_hashes(&self, start: u64, end: u64) -> Result<Vec<Hash>, StorageError> {
        let rows = sqlx::query(
            "SELECT idx, hash FROM log_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        )
        .bind(to_i64(start, "log range")?)
        .bind(to_i64(end, "log range")?)
        .fetch_all(&self.pool)
        .await?;
        let mut hashes = Vec::with_capacity(rows.len());
        for (expected, row) in (start..end).zip(&rows) {
            if to_u64(row.try_get("idx")?, "log_leaves.idx")? != expected {
                return Err(StorageError::Corrupt("log_leaves.idx (a gap)"));
            }
            hashes.push(hash_from(
                &row.try_get::<Vec<u8>, _>("hash")?,
                "log_leaves.hash",
            )?);
        }
        if hashes.len() as u64 != end.saturating_sub(start) {
            return Err(StorageError::Corrupt("log_leaves.idx (a gap)"));
        }
        Ok(hashes)
    }

    /// The byte lengths of leaves `start..end`, in order (without reading
    /// the leaves: SQLite knows a blob's length from its header).
    pub async fn log_leaf_lengths(&self, start: u64, end: u64) -> Result<Vec<u64>, StorageError> {
        let lengths: Vec<i64> = sqlx::query_scalar(
            "SELECT length(data) FROM log_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        )
        .bind(to_i64(start, "log range")?)
        .bind(to_i64(end, "log range")?)
        .fetch_all(&self.pool)
        .await?;
        lengths
            .into_iter()
            .map(|n| to_u64(n, "log_leaves.data"))
            .collect()
    }

    /// Leaves `start..end` with their data.
    pub async fn log_entries(&self, start: u64, end: u64) -> Result<Vec<LogEntry>, StorageError> {
        let rows = sqlx::query(
            "SELECT idx, data, hash FROM log_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        )
        .bind(to_i64(start, "log range")?)
        .bind(to_i64(end, "log range")?)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LogEntry {
                    index: to_u64(row.try_get("idx")?, "log_leaves.idx")?,
                    data: row.try_get("data")?,
                    hash: hash_from(&row.try_get::<Vec<u8>, _>("hash")?, "log_leaves.hash")?,
                })
            })
            .collect()
    }

    /// The log index of a release's `released` event.
    pub async fn released_log_index(&self, release_id: i64) -> Result<Option<u64>, StorageError> {
        let index: Option<i64> = sqlx::query_scalar(
            "SELECT l.idx FROM log_leaves l JOIN events e ON e.seq = l.seq \
             WHERE e.release_id = $1 AND e.kind = 'released'",
        )
        .bind(release_id)
        .fetch_optional(&self.pool)
        .await?;
        index.map(|i| to_u64(i, "log_leaves.idx")).transpose()
    }

    /// The checkpoint `signer` signed for `size`, if any.
    pub async fn checkpoint(
        &self,
        size: u64,
        signer: &str,
    ) -> Result<Option<StoredCheckpoint>, StorageError> {
        let row = sqlx::query(
            "SELECT size, signer, root, note FROM log_checkpoints WHERE size = $1 AND signer = $2",
        )
        .bind(to_i64(size, "log_checkpoints.size")?)
        .bind(signer)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(StoredCheckpoint {
                size: to_u64(row.try_get("size")?, "log_checkpoints.size")?,
                signer: row.try_get("signer")?,
                root: hash_from(&row.try_get::<Vec<u8>, _>("root")?, "log_checkpoints.root")?,
                note: row.try_get("note")?,
            })
        })
        .transpose()
    }

    /// Stores a signed checkpoint unless its signer already signed one for
    /// its size; returns the one stored (the earlier one if two requests raced).
    pub async fn store_checkpoint(
        &self,
        checkpoint: &StoredCheckpoint,
        now: i64,
    ) -> Result<StoredCheckpoint, StorageError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO log_checkpoints (size, signer, root, note, signed_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (size, signer) DO NOTHING",
        )
        .bind(to_i64(checkpoint.size, "log_checkpoints.size")?)
        .bind(&checkpoint.signer)
        .bind(checkpoint.root.as_bytes().as_slice())
        .bind(&checkpoint.note)
        .bind(now)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        self.checkpoint(checkpoint.size, &checkpoint.signer)
            .await?
            .ok_or(StorageError::Corrupt("log_checkpoints"))
    }

    /// Appends a leaf for every event newer than the last logged one: the
    /// events a database had before the log existed (the migration's Rust
    /// half), in `seq` order. Returns how many were appended. Safe to run
    /// from several processes at once: it re-reads inside its transaction.
    pub(super) async fn backfill_log(&self) -> Result<u64, StorageError> {
        // Cheap check first (MAX(seq) and a rowid range): nothing to do in
        // the usual case.
        if sqlx::query(PENDING_EVENTS)
            .fetch_optional(&self.pool)
            .await?
            .is_none()
        {
            return Ok(0);
        }
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(PENDING_EVENTS).fetch_all(&mut *tx.tx).await?;
        for row in &rows {
            let seq: i64 = row.try_get("seq")?;
            let kind: String = row.try_get("kind")?;
            let release_id: Option<i64> = row.try_get("release_id")?;
            let text: String = row.try_get("detail")?;
            let mut detail: Value =
                serde_json::from_str(&text).map_err(|_| StorageError::Corrupt("events.detail"))?;
            if kind == "released"
                && let Some(id) = release_id
                && detail.get("signature_key_id").is_none()
            {
                // Released before the log existed: record the signing key and
                // the approvers as a new `released` event would.
                detail = backfilled_released_detail(&mut tx.tx, id, &detail).await?;
                sqlx::query("UPDATE events SET detail = $1 WHERE seq = $2")
                    .bind(detail.to_string())
                    .bind(seq)
                    .execute(&mut *tx.tx)
                    .await?;
            }
            append_event(
                &mut tx.tx,
                seq,
                row.try_get("at")?,
                &kind,
                release_id,
                &row.try_get::<String, _>("actor")?,
                &detail,
            )
            .await?;
        }
        tx.commit().await?;
        tracing::info!(
            events = rows.len(),
            "appended earlier events to the transparency log"
        );
        Ok(rows.len() as u64)
    }
}

/// Events newer than the last one in the log, oldest first.
const PENDING_EVENTS: &str = "SELECT seq, at, kind, release_id, actor, detail FROM events \
     WHERE seq > COALESCE((SELECT MAX(seq) FROM log_leaves), 0) ORDER BY seq";

async fn backfilled_released_detail(
    conn: &mut AnyConnection,
    release_id: i64,
    old: &Value,
) -> Result<Value, StorageError> {
    let row = sqlx::query("SELECT manifest_signature FROM releases WHERE id = $1")
        .bind(release_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StorageError::Corrupt("events.release_id"))?;
    let signature: String = row.try_get("manifest_signature")?;
    let digest = old
        .get("manifest_sha256")
        .and_then(Value::as_str)
        .ok_or(StorageError::Corrupt("events.detail"))?;
    released_detail(conn, release_id, digest, &signature).await
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use shipgate_log::root;
    use shipgate_manifest::SecretKeyFile;
    use shipgate_manifest::keys::generate_key_pair;
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

    use super::super::tests::temp_db;
    use super::super::{NewRelease, Provenance, ReleaseFile, SignedManifest};
    use super::*;
    use crate::signing::GateKey;

    fn gate_key() -> GateKey {
        let pair = generate_key_pair(None).unwrap();
        GateKey::from_key(
            SecretKeyFile::parse(&pair.secret_key_file, "k")
                .unwrap()
                .unlock(None)
                .unwrap(),
        )
    }

    fn new_release(version: &str) -> NewRelease {
        NewRelease {
            package: "hello".into(),
            version: version.into(),
            provenance: Provenance {
                subject: "repo:acme/hello".into(),
                commit_sha: "ab".repeat(20),
                ..Provenance::default()
            },
            files: vec![ReleaseFile {
                path: "a.txt".into(),
                size: 3,
                sha256: "a".repeat(64),
            }],
        }
    }

    async fn all_leaves(db: &Db) -> Vec<LogEntry> {
        let head = db.log_head().await.unwrap();
        db.log_entries(0, head.size).await.unwrap()
    }

    /// The stored head is the RFC 9162 root of the stored leaf hashes, each
    /// leaf hash is the hash of its data, and leaf i records event i+1.
    async fn assert_log_matches_events(db: &Db) {
        let head = db.log_head().await.unwrap();
        let leaves = all_leaves(db).await;
        let events = db.events().await.unwrap();
        assert_eq!(leaves.len(), events.len());
        assert_eq!(head.size, leaves.len() as u64);
        let hashes: Vec<Hash> = leaves.iter().map(|l| l.hash).collect();
        assert_eq!(head.root, root(&hashes));
        assert_eq!(db.log_leaf_hashes(0, head.size).await.unwrap(), hashes);
        for (i, (leaf, event)) in leaves.iter().zip(&events).enumerate() {
            assert_eq!(leaf.index, i as u64);
            assert_eq!(leaf.hash, leaf_hash(&leaf.data));
            let logged = LogEvent::from_leaf(&leaf.data).unwrap();
            assert_eq!(logged.seq, event.seq);
            assert_eq!(logged.kind, event.kind);
            assert_eq!(logged.actor, event.actor);
            assert_eq!(logged.release_id, event.release_id);
        }
    }

    #[tokio::test]
    async fn every_event_is_a_leaf_committed_with_it() {
        let (_dir, db) = temp_db().await;
        let key = gate_key();
        let mut tx = db.begin_write().await.unwrap();
        tx.enroll("alice", "h", "s", &["hello".into()], 1)
            .await
            .unwrap();
        let id = tx.insert_staged(&new_release("1.0"), 2).await.unwrap();
        tx.add_approval(id, "alice", 3).await.unwrap();
        let release = tx.release(id).await.unwrap().unwrap();
        let (signed, digest) = key.sign_release(&release).unwrap();
        tx.mark_released(id, &signed, &digest, 4).await.unwrap();
        assert_eq!(tx.log_head().await.unwrap().size, 4);
        // Nothing is visible before the commit.
        assert_eq!(db.log_head().await.unwrap().size, 0);
        tx.commit().await.unwrap();
        assert_log_matches_events(&db).await;

        let leaves = all_leaves(&db).await;
        let released = LogEvent::from_leaf(&leaves[3].data).unwrap();
        assert_eq!(released.kind, "released");
        assert_eq!(released.package.as_deref(), Some("hello"));
        assert_eq!(released.version.as_deref(), Some("1.0"));
        assert_eq!(
            released.detail_str("manifest_sha256"),
            Some(digest.as_str())
        );
        assert_eq!(
            released.detail_str("signature_key_id"),
            Some(key.signing_key().key_id().to_string().as_str())
        );
        assert_eq!(released.detail["approved_by"], json!(["alice"]));
        let staged = LogEvent::from_leaf(&leaves[1].data).unwrap();
        assert_eq!(staged.detail["files"][0]["sha256"], "a".repeat(64));
        assert_eq!(staged.detail["provenance"]["commit_sha"], "ab".repeat(20));
        assert_eq!(db.released_log_index(id).await.unwrap(), Some(3));
        assert_eq!(db.released_log_index(id + 1).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_rolled_back_state_change_leaves_no_leaf() {
        let (_dir, db) = temp_db().await;
        let mut tx = db.begin_write().await.unwrap();
        tx.insert_staged(&new_release("1.0"), 1).await.unwrap();
        tx.commit().await.unwrap();
        let before = db.log_head().await.unwrap();

        // Staged and then dropped (a failed upload): no leaf, same head.
        let mut tx = db.begin_write().await.unwrap();
        tx.insert_staged(&new_release("2.0"), 2).await.unwrap();
        tx.event(2, "test", None, "me", json!({})).await.unwrap();
        assert_eq!(tx.log_head().await.unwrap().size, 3);
        drop(tx);
        assert_eq!(db.log_head().await.unwrap(), before);
        // A release whose signature cannot be read fails, and takes its
        // `released` event (and the state change) with it.
        let mut tx = db.begin_write().await.unwrap();
        let bad = SignedManifest {
            manifest: b"m".to_vec(),
            signature: "not a signature".into(),
        };
        assert!(tx.mark_released(1, &bad, "x", 3).await.is_err());
        drop(tx);
        assert_eq!(db.log_head().await.unwrap(), before);
        // The next event takes the next index: no gap was left.
        let mut tx = db.begin_write().await.unwrap();
        tx.event(4, "test", None, "me", json!({})).await.unwrap();
        tx.commit().await.unwrap();
        assert_log_matches_events(&db).await;
        // An event that cannot be a canonical leaf is refused, not logged half.
        let mut tx = db.begin_write().await.unwrap();
        let err = tx
            .event(5, "test", None, "me", json!({"x": 0.5}))
            .await
            .unwrap_err();
        assert!(matches!(err, StorageError::Leaf(_)), "{err}");
    }

    /// Writers in two processes (two pools on one file) and many tasks at
    /// once: `BEGIN IMMEDIATE` serialises them, so leaf indexes stay gapless
    /// and unique and the head is the root of all of them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writers_never_share_or_skip_an_index() {
        let (dir, first) = temp_db().await;
        let second = dir.open().await;
        let mut tasks = Vec::new();
        for i in 0..40i64 {
            let db = if i % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            tasks.push(tokio::spawn(async move {
                let mut tx = db.begin_write().await.unwrap();
                tx.event(i, "test", None, &format!("writer-{i}"), json!({"i": i}))
                    .await
                    .unwrap();
                tokio::task::yield_now().await;
                tx.event(
                    i,
                    "test",
                    None,
                    &format!("writer-{i}"),
                    json!({"i": i, "second": true}),
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(first.log_head().await.unwrap().size, 80);
        assert_log_matches_events(&first).await;
        // A transaction's two events are adjacent leaves.
        let leaves = all_leaves(&first).await;
        for pair in leaves.chunks(2) {
            let a = LogEvent::from_leaf(&pair[0].data).unwrap();
            let b = LogEvent::from_leaf(&pair[1].data).unwrap();
            assert_eq!(a.actor, b.actor);
            assert_eq!(b.detail["second"], true);
        }
    }

    /// A database made before the log existed: opening it appends a leaf for
    /// every earlier event (enriching old `released` events with their key
    /// and approvers), once.
    #[tokio::test]
    async fn opening_an_old_database_builds_the_log_for_existing_events() {
        let dir = crate::private_files::private_tempdir();
        let key = gate_key();
        {
            let options = SqliteConnectOptions::from_str("sqlite://")
                .unwrap()
                .filename(dir.path().join(super::super::DB_FILE))
                .create_if_missing(true)
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .unwrap();
            let first = super::super::migrations().remove(0);
            sqlx::migrate::Migrator::with_migrations(vec![first])
                .run(&pool)
                .await
                .unwrap();
            // What the gate before the log wrote, row by row.
            let manifest =
                crate::signing::release_manifest("hello", "1.0", &new_release("1.0").files)
                    .unwrap();
            let signature =
                shipgate_manifest::signature::sign_manifest(&manifest, key.signing_key(), 5)
                    .unwrap();
            let digest = manifest.sha256().to_hex();
            for sql in [
                "INSERT INTO maintainers (name, token_hash, totp_secret, enrolled_at) VALUES ('alice', 'h', 's', 1)",
                "INSERT INTO releases (package, version, state, issuer, subject, repository, workflow, git_ref, commit_sha, run_id, created_at) VALUES ('hello', '1.0', 'staged', 'i', 'sub', 'acme/hello', 'w', 'r', 'c', '1', 2)",
                "INSERT INTO approvals (release_id, maintainer, approved_at) VALUES (1, 'alice', 3)",
                r#"INSERT INTO events (at, kind, release_id, actor, detail) VALUES (1, 'maintainer_enrolled', NULL, 'admin', '{"maintainer":"alice","packages":["hello"]}')"#,
                r#"INSERT INTO events (at, kind, release_id, actor, detail) VALUES (2, 'staged', 1, 'sub', '{"package":"hello","version":"1.0","files":[]}')"#,
                r#"INSERT INTO events (at, kind, release_id, actor, detail) VALUES (3, 'approved', 1, 'alice', '{"maintainer":"alice"}')"#,
            ] {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
            sqlx::query("UPDATE releases SET state = 'released', manifest = $1, manifest_signature = $2 WHERE id = 1")
                .bind(manifest.to_bytes())
                .bind(&signature)
                .execute(&pool)
                .await
                .unwrap();
            sqlx::query("INSERT INTO events (at, kind, release_id, actor, detail) VALUES (4, 'released', 1, 'gate', $1)")
                .bind(json!({"manifest_sha256": digest}).to_string())
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
        let db = Db::open(dir.path()).await.unwrap();
        assert_eq!(db.log_head().await.unwrap().size, 4);
        assert_log_matches_events(&db).await;
        let leaves = all_leaves(&db).await;
        let released = LogEvent::from_leaf(&leaves[3].data).unwrap();
        assert_eq!(
            released.detail_str("signature_key_id"),
            Some(key.signing_key().key_id().to_string().as_str())
        );
        assert_eq!(released.detail["approved_by"], json!(["alice"]));
        assert_eq!(db.released_log_index(1).await.unwrap(), Some(3));
        let head = db.log_head().await.unwrap();
        db.close().await;
        // Opening again changes nothing; new events follow on.
        let db = Db::open(dir.path()).await.unwrap();
        assert_eq!(db.log_head().await.unwrap(), head);
        let mut tx = db.begin_write().await.unwrap();
        tx.unlock("alice", 9).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(db.log_head().await.unwrap().size, 5);
        assert_log_matches_events(&db).await;
    }

    #[tokio::test]
    async fn checkpoints_are_stored_once_per_size_and_signer() {
        let (_dir, db) = temp_db().await;
        let first = StoredCheckpoint {
            size: 0,
            signer: "gate.test+1234abcd+key".into(),
            root: Hash::EMPTY_ROOT,
            note: "one".into(),
        };
        assert_eq!(db.store_checkpoint(&first, 1).await.unwrap(), first);
        let other = StoredCheckpoint {
            note: "two".into(),
            ..first.clone()
        };
        // The earlier one wins a race.
        assert_eq!(db.store_checkpoint(&other, 2).await.unwrap(), first);
        assert_eq!(
            db.checkpoint(0, &first.signer).await.unwrap(),
            Some(first.clone())
        );
        assert_eq!(db.checkpoint(1, &first.signer).await.unwrap(), None);
        // Another key (a rotated gate key, a new public URL) signs its own.
        let rotated = StoredCheckpoint {
            signer: "gate.test+99999999+other".into(),
            note: "three".into(),
            ..first.clone()
        };
        assert_eq!(db.store_checkpoint(&rotated, 3).await.unwrap(), rotated);
        assert_eq!(db.checkpoint(0, &first.signer).await.unwrap(), Some(first));
        assert!(
            db.log_leaf_hashes(0, 1).await.is_err(),
            "a missing leaf is an error"
        );
    }
}
