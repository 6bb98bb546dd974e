//! Decisions recorded with how they were made: the `approved` and
//! `rejected` leaves carry `"approval": "totp"` or `"approval": "passkey"`
//! and, for a passkey, the whole assertion (see `shipgate_protocol::passkey`),
//! so anyone holding the log can check it.

use serde_json::{Map, Value};

use super::{StorageError, WriteTx};

/// The leaf detail of a decision: `maintainer`, then the evidence fields.
fn decision_detail(maintainer: &str, evidence: &Map<String, Value>) -> Value {
    let mut detail = Map::new();
    detail.insert("maintainer".into(), Value::from(maintainer));
    for (key, value) in evidence {
        detail.insert(key.clone(), value.clone());
    }
    Value::Object(detail)
}

impl WriteTx {
    /// Records an approval with its evidence (refused if this maintainer
    /// already approved).
    pub async fn add_approval_with(
        &mut self,
        release: i64,
        maintainer: &str,
        evidence: &Map<String, Value>,
        now: i64,
    ) -> Result<(), StorageError> {
        let inserted = sqlx::query(
            "INSERT INTO approvals (release_id, maintainer, approved_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(release)
        .bind(maintainer)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StorageError::AlreadyApproved {
                release,
                maintainer: maintainer.to_owned(),
            });
        }
        self.event(
            now,
            "approved",
            Some(release),
            maintainer,
            decision_detail(maintainer, evidence),
        )
        .await
    }

    /// Marks a staged release rejected, with the decision's evidence.
    pub async fn mark_rejected_with(
        &mut self,
        release: i64,
        maintainer: &str,
        reason: &str,
        evidence: &Map<String, Value>,
        now: i64,
    ) -> Result<(), StorageError> {
        let updated = sqlx::query(
            "UPDATE releases SET state = 'rejected', decided_at = $1, reject_reason = $2 \
             WHERE id = $3 AND state = 'staged'",
        )
        .bind(now)
        .bind(reason)
        .bind(release)
        .execute(&mut *self.tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StorageError::Corrupt("releases.state"));
        }
        let mut detail = decision_detail(maintainer, evidence);
        if let Value::Object(map) = &mut detail {
            map.insert("reason".into(), Value::from(reason));
        }
        self.event(now, "rejected", Some(release), maintainer, detail)
            .await
    }
}
