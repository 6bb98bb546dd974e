//! Holds: the blobs a request in flight wrote and is about to reference.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Blobs, is_blob_key};

/// Hold counts per key, shared by every clone of a [`Blobs`].
pub(super) type HoldCounts = Arc<tokio::sync::Mutex<HashMap<String, usize>>>;

/// The blobs one staging request holds.
///
/// End them with [`Holds::end`]. A request can also be cancelled at any
/// await (axum drops the handler when its connection closes); dropping the
/// holds then releases them in the background and deletes every blob that
/// no release references and no other request holds, so a client that goes
/// away leaves nothing behind without waiting for the sweep.
#[derive(Debug)]
pub struct Holds {
    blobs: Blobs,
    db: crate::storage::Db,
    keys: Vec<String>,
}

impl Blobs {
    /// An empty set of holds for one request; blobs it finishes are held
    /// until [`Holds::end`], or until it is dropped.
    pub fn holds(&self, db: crate::storage::Db) -> Holds {
        Holds {
            blobs: self.clone(),
            db,
            keys: Vec::new(),
        }
    }

    /// Whether a request of this process holds `key`.
    pub async fn is_held(&self, key: &str) -> bool {
        self.holds.lock().await.contains_key(key)
    }

    /// Releases the holds a request took. With `discard_from`, each blob that
    /// is then neither held nor referenced by a release in that database is
    /// deleted (the request failed; its bytes are garbage).
    pub async fn release(
        &self,
        keys: &[String],
        discard_from: Option<&crate::storage::Db>,
    ) -> Result<(), crate::storage::StorageError> {
        let mut holds = self.holds.lock().await;
        for key in keys {
            let remaining = match holds.get_mut(key) {
                Some(count) => {
                    *count = count.saturating_sub(1);
                    *count
                }
                None => 0,
            };
            if remaining == 0 {
                holds.remove(key);
                if let Some(db) = discard_from
                    && is_blob_key(key)
                    && !db.blob_referenced(key).await?
                    && let Err(err) = self.store.delete(key).await
                {
                    tracing::warn!(%err, blob = %key, "deleting the blob of a failed staging");
                }
            }
        }
        Ok(())
    }

    /// Deletes each of `keys` that no live release references, no request
    /// holds, and (in a store shared by replicas) that was not written
    /// within the grace period (the files of expired and purged releases;
    /// one kept now is left to the periodic sweep). Returns how many were
    /// deleted.
    pub async fn discard_unreferenced(
        &self,
        keys: &[String],
        db: &crate::storage::Db,
    ) -> Result<usize, crate::storage::StorageError> {
        let holds = self.holds.lock().await;
        let mut deleted = 0;
        for key in keys {
            if !is_blob_key(key) || holds.contains_key(key) || db.blob_referenced(key).await? {
                continue;
            }
            if self.grace_seconds > 0 {
                let grace = i64::try_from(self.grace_seconds).unwrap_or(i64::MAX);
                match self.store.modified(key).await {
                    Ok(Some(at)) if crate::unix_now().saturating_sub(at) >= grace => {}
                    Ok(_) => continue,
                    Err(err) => {
                        tracing::warn!(%err, blob = %key, "reading an unreferenced blob's age");
                        continue;
                    }
                }
            }
            match self.store.delete(key).await {
                Ok(()) => deleted += 1,
                Err(err) => tracing::warn!(%err, blob = %key, "deleting an unreferenced blob"),
            }
        }
        Ok(deleted)
    }
}

impl Holds {
    /// Holds `key` for this request. Counted and recorded with no await in
    /// between once the lock is taken, so a request cancelled here can never
    /// leave a hold nobody will release.
    pub(super) async fn hold(&mut self, key: &str) {
        let mut counts = self.blobs.holds.lock().await;
        *counts.entry(key.to_owned()).or_default() += 1;
        self.keys.push(key.to_owned());
    }

    /// Releases the holds; when the request `failed`, its blobs that nothing
    /// references are deleted. Runs as its own task, so it completes even if
    /// the request is cancelled while it waits. A failure here costs only
    /// storage until the next sweep, so it is logged, not raised.
    pub async fn end(mut self, failed: bool) {
        let keys = std::mem::take(&mut self.keys);
        let blobs = self.blobs.clone();
        let db = self.db.clone();
        let task = tokio::spawn(async move { blobs.release(&keys, failed.then_some(&db)).await });
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!(%err, "releasing the blobs of a staging request"),
            Err(err) => {
                tracing::error!(%err, "the task releasing a staging request's blobs failed")
            }
        }
    }
}

impl Drop for Holds {
    fn drop(&mut self) {
        if self.keys.is_empty() {
            return;
        }
        let keys = std::mem::take(&mut self.keys);
        let blobs = self.blobs.clone();
        let db = self.db.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(err) = blobs.release(&keys, Some(&db)).await {
                    tracing::error!(%err, "releasing the blobs of a cancelled staging request");
                }
            });
        }
    }
}
