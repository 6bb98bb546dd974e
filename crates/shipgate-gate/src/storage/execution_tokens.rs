//! Recording the execution tokens the gate issues. The token itself is not
//! stored (it is a bearer credential until it expires); its id, audience,
//! expiry and the CI identity that asked for it are, as an event.

use super::{StorageError, WriteTx};

/// What is recorded about one issued execution token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedExecutionToken<'a> {
    /// The release it is bound to.
    pub release: i64,
    /// The CI token subject that asked for it (the event's actor).
    pub requested_by: &'a str,
    /// The token's `jti`.
    pub jti: &'a str,
    /// Its `aud`.
    pub audience: &'a str,
    /// Its `exp` (Unix seconds).
    pub expires_at: u64,
    /// The manifest digest it carries.
    pub digest: &'a str,
}

impl WriteTx {
    /// Appends the `execution_token_issued` event in this transaction.
    pub async fn record_execution_token(
        &mut self,
        issued: &IssuedExecutionToken<'_>,
        now: i64,
    ) -> Result<(), StorageError> {
        self.event(
            now,
            "execution_token_issued",
            Some(issued.release),
            issued.requested_by,
            serde_json::json!({
                "jti": issued.jti,
                "audience": issued.audience,
                "expires_at": issued.expires_at,
                "digest": issued.digest,
            }),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_db;
    use super::super::{NewRelease, Provenance};
    use super::*;

    #[tokio::test]
    async fn the_event_names_the_release_the_caller_and_the_token_id() {
        let (_dir, db) = temp_db().await;
        let mut tx = db.begin_write().await.unwrap();
        let id = tx
            .insert_staged(
                &NewRelease {
                    package: "hello".into(),
                    version: "1.0".into(),
                    provenance: Provenance::default(),
                    files: vec![],
                },
                1,
            )
            .await
            .unwrap();
        tx.record_execution_token(
            &IssuedExecutionToken {
                release: id,
                requested_by: "repo:acme/hello:environment:release",
                jti: "abc",
                audience: "deploy:hello",
                expires_at: 700,
                digest: "dd",
            },
            100,
        )
        .await
        .unwrap();
        // Nothing before the commit.
        assert!(db.events().await.unwrap().is_empty());
        tx.commit().await.unwrap();
        let events = db.events().await.unwrap();
        let event = events.last().unwrap();
        assert_eq!(event.kind, "execution_token_issued");
        assert_eq!(event.release_id, Some(id));
        assert_eq!(event.actor, "repo:acme/hello:environment:release");
        let detail: serde_json::Value = serde_json::from_str(&event.detail).unwrap();
        assert_eq!(detail["jti"], "abc");
        assert_eq!(detail["audience"], "deploy:hello");
        assert_eq!(detail["expires_at"], 700);
    }
}
