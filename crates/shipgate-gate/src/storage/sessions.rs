//! Sessions of the review pages: a maintainer signed in with a passkey.
//! Only the SHA-256 of the cookie's token is stored.

use sqlx::Row;

use super::{Db, StorageError, WriteTx};

/// A signed-in maintainer's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    /// Who is signed in.
    pub maintainer: String,
    /// The token every form and script must send back (CSRF).
    pub csrf_token: String,
    /// Unix seconds after which the session is over.
    pub expires_at: i64,
}

impl Db {
    /// The unexpired session whose cookie hashes to `token_hash`.
    pub async fn web_session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<WebSession>, StorageError> {
        let row = sqlx::query(
            "SELECT maintainer, csrf_token, expires_at FROM web_sessions \
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(WebSession {
                maintainer: row.try_get("maintainer")?,
                csrf_token: row.try_get("csrf_token")?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }
}

impl WriteTx {
    /// Starts a session (and drops expired ones).
    pub async fn create_web_session(
        &mut self,
        token_hash: &str,
        session: &WebSession,
        now: i64,
    ) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query(
            "INSERT INTO web_sessions (token_hash, maintainer, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(&session.maintainer)
        .bind(&session.csrf_token)
        .bind(now)
        .bind(session.expires_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Ends a session (sign-out).
    pub async fn end_web_session(&mut self, token_hash: &str) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_db;
    use super::*;

    #[tokio::test]
    async fn sessions_expire_and_end() {
        let (_dir, db) = temp_db().await;
        let mut tx = db.begin_write().await.unwrap();
        tx.enroll("alice", "hash", "secret", &["hello".to_owned()], 100)
            .await
            .unwrap();
        let session = WebSession {
            maintainer: "alice".into(),
            csrf_token: "csrf".into(),
            expires_at: 1000,
        };
        tx.create_web_session("h", &session, 100).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(db.web_session("h", 999).await.unwrap(), Some(session));
        assert_eq!(db.web_session("h", 1000).await.unwrap(), None, "expired");
        assert_eq!(db.web_session("other", 500).await.unwrap(), None);
        let mut tx = db.begin_write().await.unwrap();
        tx.end_web_session("h").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(db.web_session("h", 500).await.unwrap(), None);
    }
}
