//! What `shipgate serve` keeps to answer `/v1/log/...`: the checkpoint
//! signer and an in-memory copy of the tree for O(log n) proofs.
//!
//! The database is the truth; the in-memory [`MemoryTree`] (about 64 bytes
//! per leaf) is a cache of it. Before every answer the cache catches up with
//! the leaves appended since (by this server or by `shipgate admin`, another
//! process), and its root at the stored size must equal the stored root — if
//! not, the database changed under the server (or is corrupt) and the gate
//! answers 500 rather than sign or prove anything.
//!
//! Checkpoints are signed on request for the current size and stored, one per
//! size and signing key (`log_checkpoints`; only the current key's are ever
//! served): signing is cheap and Ed25519 is deterministic, so
//! every client asking at one size gets the same note, and an append costs no
//! signature (admin, a separate process, never needs the key).
//!
//! Pages of leaves are bounded twice: by [`MAX_LOG_PAGE_BYTES`] each (the
//! page ends before a leaf that would pass it, measured from the stored
//! lengths before any leaf is read) and by [`CONCURRENT_PAGES`] built at
//! once, so anonymous readers cannot make the gate hold more than a few
//! pages in memory however large the log and however many ask.

use shipgate_log::{Checkpoint, CheckpointError, Hash, MemoryTree, ProveError};
use shipgate_protocol::wire::{
    LogEntries, LogEntryView, MAX_LOG_ENTRIES, MAX_LOG_PAGE_BYTES, log_entry_budget,
};
use tokio::sync::{Mutex, MutexGuard, Semaphore};

use super::LogSigner;
use super::witnesses::Witnesses;
use crate::storage::{Db, LogHead, StorageError, StoredCheckpoint};

/// Pages of leaves built at the same time; further requests wait.
pub const CONCURRENT_PAGES: usize = 4;

/// Why a log request could not be answered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogServiceError {
    /// The sizes or index asked for are not in the log (a 400).
    #[error("{0}")]
    BadRange(String),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The stored leaves do not give the stored root, or a stored checkpoint
    /// signs another root than the stored one.
    #[error("the transparency log's stored state is inconsistent: {0}")]
    Inconsistent(&'static str),
    /// Signing the checkpoint failed.
    #[error("signing the checkpoint failed: {0}")]
    Sign(#[from] CheckpointError),
    /// Writing a page as JSON failed.
    #[error("encoding a page of log entries failed: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The log part of the server's state.
#[derive(Debug)]
pub struct LogService {
    signer: LogSigner,
    tree: Mutex<MemoryTree>,
    pages: Semaphore,
    witnesses: Witnesses,
}

impl LogService {
    /// A service with an empty cache (filled on first use).
    pub fn new(signer: LogSigner) -> LogService {
        LogService {
            signer,
            tree: Mutex::new(MemoryTree::new()),
            pages: Semaphore::new(CONCURRENT_PAGES),
            witnesses: Witnesses::default(),
        }
    }

    /// The same service, asking these witnesses to cosign.
    pub fn with_witnesses(mut self, witnesses: Witnesses) -> LogService {
        self.witnesses = witnesses;
        self
    }

    /// The witnesses and the cosignatures they gave.
    pub fn witnesses(&self) -> &Witnesses {
        &self.witnesses
    }

    /// The checkpoint signer.
    pub fn signer(&self) -> &LogSigner {
        &self.signer
    }

    /// The stored head, with the cache brought up to it and checked.
    async fn synced(
        &self,
        db: &Db,
    ) -> Result<(LogHead, MutexGuard<'_, MemoryTree>), LogServiceError> {
        let head = db.log_head().await?;
        let mut tree = self.tree.lock().await;
        if tree.size() < head.size {
            for hash in db.log_leaf_hashes(tree.size(), head.size).await? {
                tree.append(hash)
                    .map_err(|_| LogServiceError::Inconsistent("the log is full"))?;
            }
        }
        let root = tree
            .root(head.size)
            .map_err(|_| LogServiceError::Inconsistent("the log lost leaves"))?;
        if root != head.root {
            return Err(LogServiceError::Inconsistent(
                "the leaves do not give the stored root",
            ));
        }
        Ok((head, tree))
    }

    /// The signed checkpoint for the current size (signed now if this size
    /// has none yet).
    pub async fn checkpoint(&self, db: &Db, now: i64) -> Result<StoredCheckpoint, LogServiceError> {
        let (head, tree) = self.synced(db).await?;
        drop(tree);
        let signer = self.signer.verifier_key();
        let stored = match db.checkpoint(head.size, &signer).await? {
            Some(stored) => stored,
            None => {
                let note = Checkpoint::new(self.signer.origin(), head.size, head.root)
                    .sign(self.signer.signer())?;
                let signed = StoredCheckpoint {
                    size: head.size,
                    signer,
                    root: head.root,
                    note,
                };
                db.store_checkpoint(&signed, now).await?
            }
        };
        if stored.root != head.root {
            return Err(LogServiceError::Inconsistent(
                "a stored checkpoint signs another root for the current size",
            ));
        }
        Ok(stored)
    }

    /// A page of leaves from `start` (fewer than `end - start` when the page
    /// is full), as the JSON body of `GET /v1/log/entries`.
    pub async fn entries_page(
        &self,
        db: &Db,
        start: u64,
        end: u64,
    ) -> Result<Vec<u8>, LogServiceError> {
        let size = db.log_head().await?.size;
        if start >= end || end > size {
            return Err(LogServiceError::BadRange(format!(
                "entries {start}..{end} are not a non-empty range within the log's {size} leaves"
            )));
        }
        let end = end.min(start.saturating_add(MAX_LOG_ENTRIES));
        // Closed only if the service is dropped, which cannot happen while
        // a request holds it.
        let _permit = self
            .pages
            .acquire()
            .await
            .map_err(|_| LogServiceError::Inconsistent("the page limiter is closed"))?;
        let lengths = db.log_leaf_lengths(start, end).await?;
        let end = start.saturating_add(page_len(&lengths));
        let rows = db.log_entries(start, end).await?;
        if rows.len() as u64 != end - start {
            return Err(LogServiceError::Inconsistent("log_leaves has a gap"));
        }
        let entries = rows
            .into_iter()
            .map(|row| {
                let data = String::from_utf8(row.data)
                    .map_err(|_| LogServiceError::Inconsistent("a log leaf is not UTF-8"))?;
                Ok(LogEntryView {
                    index: row.index,
                    data,
                    leaf_hash: row.hash,
                })
            })
            .collect::<Result<Vec<_>, LogServiceError>>()?;
        Ok(serde_json::to_vec(&LogEntries { entries })?)
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves.
    pub async fn inclusion_proof(
        &self,
        db: &Db,
        index: u64,
        size: u64,
    ) -> Result<Vec<Hash>, LogServiceError> {
        let (head, tree) = self.synced(db).await?;
        if size > head.size {
            return Err(LogServiceError::BadRange(format!(
                "size {size} is larger than the log ({} leaves)",
                head.size
            )));
        }
        tree.inclusion_proof(index, size).map_err(range_error)
    }

    /// The consistency proof from `from` leaves to `to` leaves.
    pub async fn consistency_proof(
        &self,
        db: &Db,
        from: u64,
        to: u64,
    ) -> Result<Vec<Hash>, LogServiceError> {
        let (head, tree) = self.synced(db).await?;
        if to > head.size {
            return Err(LogServiceError::BadRange(format!(
                "size {to} is larger than the log ({} leaves)",
                head.size
            )));
        }
        tree.consistency_proof(from, to).map_err(range_error)
    }
}

/// How many of the leaves with these lengths fit in one page: at least one
/// (a leaf the gate wrote always fits; an older, larger one is served alone).
fn page_len(lengths: &[u64]) -> u64 {
    let mut used: u64 = 0;
    let mut count: u64 = 0;
    for &length in lengths {
        used = used.saturating_add(log_entry_budget(length));
        if count > 0 && used > MAX_LOG_PAGE_BYTES {
            break;
        }
        count += 1;
    }
    count
}

fn range_error(err: ProveError) -> LogServiceError {
    LogServiceError::BadRange(err.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shipgate_log::{check_consistent, verify_consistency};
    use shipgate_manifest::SecretKeyFile;
    use shipgate_manifest::keys::generate_key_pair;

    use super::*;
    use crate::storage::tests::temp_db;

    fn new_service() -> (LogService, shipgate_log::NoteVerifier) {
        let pair = generate_key_pair(None).unwrap();
        let key = SecretKeyFile::parse(&pair.secret_key_file, "k")
            .unwrap()
            .unlock(None)
            .unwrap();
        let signer = LogSigner::new("https://gate.test", &key).unwrap();
        let verifier = signer.signer().verifier();
        (LogService::new(signer), verifier)
    }

    async fn append(db: &Db, n: usize) {
        for i in 0..n {
            let mut tx = db.begin_write().await.unwrap();
            tx.event(1, "test", None, "me", json!({"i": i}))
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
    }

    #[tokio::test]
    async fn proofs_follow_appends_from_any_process_and_verify() {
        let (dir, db) = temp_db().await;
        let (service, verifier) = new_service();
        let empty = service.checkpoint(&db, 1).await.unwrap();
        assert_eq!(empty.size, 0);
        append(&db, 5).await;
        // Another process (`shipgate admin`) appends too.
        let other = dir.open().await;
        append(&other, 6).await;
        let stored = service.checkpoint(&db, 2).await.unwrap();
        let checkpoint = Checkpoint::open(stored.note.as_bytes(), "gate.test", &verifier).unwrap();
        assert_eq!(checkpoint.size, 11);
        assert_eq!(checkpoint.root, db.log_head().await.unwrap().root);
        // The same size gives the same note (stored once).
        assert_eq!(service.checkpoint(&db, 3).await.unwrap(), stored);
        // A new gate key (same database) signs its own checkpoint for this
        // size rather than serve one made with the old key.
        let (rotated, rotated_verifier) = new_service();
        let new_key = rotated.checkpoint(&db, 4).await.unwrap();
        assert_ne!(new_key.note, stored.note);
        Checkpoint::open(new_key.note.as_bytes(), "gate.test", &rotated_verifier).unwrap();
        assert_eq!(service.checkpoint(&db, 5).await.unwrap(), stored);
        let leaves = db.log_leaf_hashes(0, 11).await.unwrap();
        for size in 1..=11u64 {
            let root = shipgate_log::root(&leaves[..size as usize]);
            for index in 0..size {
                let proof = service.inclusion_proof(&db, index, size).await.unwrap();
                shipgate_log::verify_inclusion(&leaves[index as usize], index, size, &proof, &root)
                    .unwrap();
            }
            let proof = service.consistency_proof(&db, size, 11).await.unwrap();
            verify_consistency(size, 11, &root, &checkpoint.root, &proof).unwrap();
        }
        let old = Checkpoint::open(empty.note.as_bytes(), "gate.test", &verifier).unwrap();
        check_consistent(&old, &checkpoint, &[]).unwrap();
    }

    #[test]
    fn pages_end_before_the_byte_cap_and_hold_at_least_one_leaf() {
        let big = MAX_LOG_PAGE_BYTES / 2;
        assert_eq!(page_len(&[]), 0);
        assert_eq!(page_len(&[10; 5]), 5);
        // One oversized leaf (an old gate's) is served alone.
        assert_eq!(page_len(&[big, 1]), 1);
        let max = shipgate_protocol::leaf::MAX_WRITTEN_LEAF_BYTES as u64;
        let fit = MAX_LOG_PAGE_BYTES / log_entry_budget(max);
        assert!(fit >= 2, "a page holds several of the largest leaves");
        assert_eq!(page_len(&[max; 100]), fit);
        assert!((0..fit).map(|_| log_entry_budget(max)).sum::<u64>() <= MAX_LOG_PAGE_BYTES);
    }

    /// The pages a client reads cover the log in order, each within the
    /// cap, each non-empty.
    #[tokio::test]
    async fn large_leaves_are_served_in_pages_within_the_cap() {
        let (_dir, db) = temp_db().await;
        let (service, _) = new_service();
        let filler = "x".repeat(400 << 10);
        for i in 0..30 {
            let mut tx = db.begin_write().await.unwrap();
            tx.event(1, "test", None, "me", json!({"i": i, "filler": filler}))
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        let mut next = 0;
        let mut pages = 0;
        while next < 30 {
            let body = service.entries_page(&db, next, 30).await.unwrap();
            assert!(body.len() as u64 <= MAX_LOG_PAGE_BYTES, "{}", body.len());
            let page: LogEntries = serde_json::from_slice(&body).unwrap();
            assert!(!page.entries.is_empty());
            for entry in page.entries {
                assert_eq!(entry.index, next);
                next += 1;
            }
            pages += 1;
        }
        assert!(pages >= 6, "{pages} pages");
        // A leaf too large for a page is never written.
        let mut tx = db.begin_write().await.unwrap();
        let huge = "x".repeat(shipgate_protocol::leaf::MAX_WRITTEN_LEAF_BYTES);
        let err = tx
            .event(1, "test", None, "me", json!({ "filler": huge }))
            .await
            .unwrap_err();
        assert!(matches!(err, StorageError::Leaf(_)), "{err}");
        for (start, end) in [(30, 31), (3, 3), (0, 31)] {
            assert!(matches!(
                service.entries_page(&db, start, end).await,
                Err(LogServiceError::BadRange(_))
            ));
        }
    }

    #[tokio::test]
    async fn bad_ranges_are_refused() {
        let (_dir, db) = temp_db().await;
        let (service, _) = new_service();
        append(&db, 3).await;
        for (index, size) in [(3, 3), (0, 4), (5, 2), (0, 0)] {
            assert!(
                matches!(
                    service.inclusion_proof(&db, index, size).await,
                    Err(LogServiceError::BadRange(_))
                ),
                "{index} {size}"
            );
        }
        for (from, to) in [(2, 1), (0, 4), (4, 4)] {
            assert!(
                matches!(
                    service.consistency_proof(&db, from, to).await,
                    Err(LogServiceError::BadRange(_))
                ),
                "{from} {to}"
            );
        }
        assert!(
            service
                .consistency_proof(&db, 0, 3)
                .await
                .unwrap()
                .is_empty()
        );
    }

    /// The database changed under the running server (a leaf rewritten):
    /// the cached tree no longer gives the stored root, and the gate refuses
    /// to sign or prove anything rather than serve a mix of two histories.
    #[tokio::test]
    async fn a_database_changed_under_the_server_is_refused() {
        let (_dir, db) = temp_db().await;
        let (service, _) = new_service();
        append(&db, 4).await;
        service.checkpoint(&db, 1).await.unwrap();
        let mut tx = db.begin_write().await.unwrap();
        let mut frontier = shipgate_log::Frontier::new();
        for i in 0..4u8 {
            frontier.append(shipgate_log::leaf_hash(&[i])).unwrap();
        }
        sqlx::query("UPDATE log_state SET root = $1 WHERE id = 1")
            .bind(frontier.root().as_bytes().as_slice())
            .execute(tx.connection())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(matches!(
            service.checkpoint(&db, 2).await,
            Err(LogServiceError::Inconsistent(_))
        ));
        assert!(matches!(
            service.inclusion_proof(&db, 0, 4).await,
            Err(LogServiceError::Inconsistent(_))
        ));
    }
}
