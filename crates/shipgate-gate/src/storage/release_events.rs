//! The events of one release, for its review page (an indexed read instead
//! of the whole log).

use sqlx::Row;

use super::{Db, Event, StorageError};

impl Db {
    /// Every event about release `id`, in log order.
    pub async fn release_events(&self, id: i64) -> Result<Vec<Event>, StorageError> {
        let rows = sqlx::query(
            "SELECT seq, at, kind, release_id, actor, detail FROM events \
             WHERE release_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Event {
                    seq: row.try_get("seq")?,
                    at: row.try_get("at")?,
                    kind: row.try_get("kind")?,
                    release_id: row.try_get("release_id")?,
                    actor: row.try_get("actor")?,
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }
}
