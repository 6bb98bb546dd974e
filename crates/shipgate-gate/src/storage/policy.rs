//! The `package_policy` event: the quorum and the maintainers listed for a
//! package in `gate.toml`, logged when the gate starts with a policy that
//! differs from the last one logged for that package. With it (and the
//! enrolment and revocation events) the log alone says who could approve
//! what and how many approvals a release needed, so an auditor can replay
//! every decision (`shipgate log verify --entries`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Db, StorageError};

/// One package's approval policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackagePolicy {
    /// The package.
    pub package: String,
    /// Distinct approvals needed.
    pub quorum: u32,
    /// Maintainers listed for it (each must also be enrolled for it).
    pub maintainers: Vec<String>,
    /// `any` or `passkey` (see [`crate::config::ApprovalMode`]).
    pub approval: &'static str,
}

impl PackagePolicy {
    /// The event's detail: maintainers sorted, so a reordered list is not a
    /// change.
    fn detail(&self) -> Value {
        let mut maintainers = self.maintainers.clone();
        maintainers.sort();
        maintainers.dedup();
        json!({
            "package": self.package,
            "quorum": self.quorum,
            "maintainers": maintainers,
            "approval": self.approval,
        })
    }
}

impl Db {
    /// Logs a `package_policy` event for every package whose policy is not
    /// the last one logged for it (all of them the first time). Returns how
    /// many were logged. Re-reads inside its write transaction, so two
    /// processes starting at once log each change once.
    pub async fn log_package_policies(
        &self,
        policies: &[PackagePolicy],
        now: i64,
    ) -> Result<usize, StorageError> {
        let mut tx = self.begin_write().await?;
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT detail FROM events WHERE kind = 'package_policy' ORDER BY seq",
        )
        .fetch_all(&mut *tx.tx)
        .await?;
        let mut logged: BTreeMap<String, Value> = BTreeMap::new();
        for text in rows {
            let detail: Value =
                serde_json::from_str(&text).map_err(|_| StorageError::Corrupt("events.detail"))?;
            if let Some(package) = detail.get("package").and_then(Value::as_str) {
                logged.insert(package.to_owned(), detail.clone());
            }
        }
        let mut count = 0;
        for policy in policies {
            let detail = policy.detail();
            if logged.get(&policy.package) == Some(&detail) {
                continue;
            }
            tx.event(now, "package_policy", None, "gate", detail)
                .await?;
            count += 1;
        }
        tx.commit().await?;
        if count > 0 {
            tracing::info!(packages = count, "logged the packages' approval policy");
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_db;
    use super::*;

    fn policy(package: &str, quorum: u32, maintainers: &[&str]) -> PackagePolicy {
        PackagePolicy {
            package: package.into(),
            quorum,
            maintainers: maintainers.iter().map(|m| (*m).to_owned()).collect(),
            approval: "any",
        }
    }

    #[tokio::test]
    async fn a_policy_is_logged_once_and_again_when_it_changes() {
        let (_dir, db) = temp_db().await;
        let first = [policy("a", 1, &["x"]), policy("b", 2, &["y", "x"])];
        assert_eq!(db.log_package_policies(&first, 1).await.unwrap(), 2);
        assert_eq!(db.log_package_policies(&first, 2).await.unwrap(), 0);
        // Another order of the same maintainers is the same policy.
        let reordered = [policy("a", 1, &["x"]), policy("b", 2, &["x", "y"])];
        assert_eq!(db.log_package_policies(&reordered, 3).await.unwrap(), 0);
        let changed = [policy("a", 1, &["x"]), policy("b", 1, &["x", "y"])];
        assert_eq!(db.log_package_policies(&changed, 4).await.unwrap(), 1);
        let events = db.events().await.unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["package_policy"; 3]);
        let detail = |i: usize| serde_json::from_str::<Value>(&events[i].detail).unwrap();
        assert_eq!(detail(1)["maintainers"], json!(["x", "y"]));
        assert_eq!(detail(2)["quorum"], 1);
        assert_eq!(db.log_head().await.unwrap().size, 3);
    }
}
