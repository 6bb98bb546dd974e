//! Copying a gate's database into another, empty one (`shipgate admin
//! migrate --to-database`): every table, row by row in key order, in one
//! transaction of the target, then verified.
//!
//! The copy keeps every key as it is (`releases.id`, `events.seq`, the
//! leaf indexes): the PostgreSQL schema assigns keys the way SQLite does
//! (`MAX + 1` under the write lock), so there is no sequence to move past
//! the copied ids. Verification reads both databases back: the same rows
//! in every table (a SHA-256 over each table's rows in key order), the same
//! log size and root, and a root recomputed from the copied leaves that
//! matches the copied head.
//!
//! [`TABLES`] must list every table of the schema; a test compares it with
//! the tables the migrations create, so a new migration cannot be
//! forgotten here.

use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::{Db, LogHead, StorageError};

/// How a column is read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// BIGINT.
    Int,
    /// TEXT.
    Text,
    /// BLOB / BYTEA.
    Bytes,
    /// BOOLEAN (SQLite stores 0 or 1).
    Bool,
}

/// One table to copy.
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
    /// A total order (a key), so both databases list rows alike.
    order: &'static str,
}

use Kind::{Bool, Bytes, Int, Text};

/// Every table, parents before children (foreign keys hold at each insert).
/// `log_state` (one row, made by the migration) is updated, not inserted.
const TABLES: &[Table] = &[
    Table {
        name: "maintainers",
        columns: &[
            ("name", Text),
            ("token_hash", Text),
            ("totp_secret", Text),
            ("last_totp_step", Int),
            ("enrolled_at", Int),
            ("locked_at", Int),
            ("revoked_at", Int),
            ("lock_reason", Text),
        ],
        order: "name",
    },
    Table {
        name: "maintainer_packages",
        columns: &[("maintainer", Text), ("package", Text)],
        order: "maintainer, package",
    },
    Table {
        name: "totp_failures",
        columns: &[("maintainer", Text), ("failed_at", Int), ("cleared", Bool)],
        order: "maintainer, failed_at, cleared",
    },
    Table {
        name: "releases",
        columns: &[
            ("id", Int),
            ("package", Text),
            ("version", Text),
            ("state", Text),
            ("issuer", Text),
            ("subject", Text),
            ("repository", Text),
            ("repository_owner_id", Text),
            ("workflow", Text),
            ("git_ref", Text),
            ("commit_sha", Text),
            ("run_id", Text),
            ("environment", Text),
            ("event_name", Text),
            ("created_at", Int),
            ("decided_at", Int),
            ("reject_reason", Text),
            ("manifest", Bytes),
            ("manifest_signature", Text),
            ("blobs_purged_at", Int),
            ("artifacts", Text),
        ],
        order: "id",
    },
    Table {
        name: "release_files",
        columns: &[
            ("release_id", Int),
            ("path", Text),
            ("size", Int),
            ("sha256", Text),
            ("blob_key", Text),
        ],
        order: "release_id, path",
    },
    Table {
        name: "approvals",
        columns: &[
            ("release_id", Int),
            ("maintainer", Text),
            ("approved_at", Int),
        ],
        order: "release_id, maintainer",
    },
    Table {
        name: "used_jtis",
        columns: &[("jti", Text), ("exp", Int)],
        order: "jti",
    },
    Table {
        name: "events",
        columns: &[
            ("seq", Int),
            ("at", Int),
            ("kind", Text),
            ("release_id", Int),
            ("actor", Text),
            ("detail", Text),
        ],
        order: "seq",
    },
    Table {
        name: "log_leaves",
        columns: &[("idx", Int), ("seq", Int), ("data", Bytes), ("hash", Bytes)],
        order: "idx",
    },
    Table {
        name: "log_state",
        columns: &[
            ("id", Int),
            ("size", Int),
            ("frontier", Bytes),
            ("root", Bytes),
        ],
        order: "id",
    },
    Table {
        name: "log_checkpoints",
        columns: &[
            ("size", Int),
            ("signer", Text),
            ("root", Bytes),
            ("note", Text),
            ("signed_at", Int),
        ],
        order: "size, signer",
    },
    Table {
        name: "publish_jobs",
        columns: &[
            ("release_id", Int),
            ("target_index", Int),
            ("kind", Text),
            ("registry", Text),
            ("state", Text),
            ("attempts", Int),
            ("next_attempt_ms", Int),
            ("last_error", Text),
            ("url", Text),
            ("integrity", Text),
            ("updated_at", Int),
        ],
        order: "release_id, target_index",
    },
    Table {
        name: "passkeys",
        columns: &[
            ("credential_id", Text),
            ("maintainer", Text),
            ("alg", Int),
            ("public_key", Text),
            ("rp_id", Text),
            ("passkey", Text),
            ("sign_count", Int),
            ("enrolled_at", Int),
            ("revoked_at", Int),
        ],
        order: "credential_id",
    },
    Table {
        name: "passkey_enrolments",
        columns: &[
            ("token_hash", Text),
            ("maintainer", Text),
            ("created_at", Int),
            ("expires_at", Int),
            ("used_at", Int),
            ("registration", Text),
        ],
        order: "token_hash",
    },
    Table {
        name: "passkey_ceremonies",
        columns: &[
            ("id", Text),
            ("purpose", Text),
            ("maintainer", Text),
            ("state", Text),
            ("release_id", Int),
            ("decision", Text),
            ("reason", Text),
            ("manifest_sha256", Text),
            ("nonce", Text),
            ("origin", Text),
            ("expires_at", Int),
        ],
        order: "id",
    },
    Table {
        name: "passkey_used_nonces",
        columns: &[("nonce", Text), ("used_at", Int)],
        order: "nonce",
    },
    Table {
        name: "web_sessions",
        columns: &[
            ("token_hash", Text),
            ("maintainer", Text),
            ("csrf_token", Text),
            ("created_at", Int),
            ("expires_at", Int),
        ],
        order: "token_hash",
    },
    Table {
        name: "webhook_queue",
        columns: &[("event_seq", Int)],
        order: "event_seq",
    },
    Table {
        name: "webhook_deliveries",
        columns: &[
            ("id", Text),
            ("event_seq", Int),
            ("url", Text),
            ("state", Text),
            ("attempts", Int),
            ("next_attempt_ms", Int),
            ("created_ms", Int),
            ("last_status", Int),
            ("last_error", Text),
            ("updated_at", Int),
        ],
        order: "id",
    },
];

/// One value, as both databases hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
    Bool(Option<bool>),
}

impl Value {
    /// Feeds an unambiguous encoding of the value to `hasher`.
    fn digest(&self, hasher: &mut Sha256) {
        fn tagged(hasher: &mut Sha256, tag: u8, bytes: Option<&[u8]>) {
            match bytes {
                None => hasher.update([tag, 0]),
                Some(bytes) => {
                    hasher.update([tag, 1]);
                    hasher.update((bytes.len() as u64).to_be_bytes());
                    hasher.update(bytes);
                }
            }
        }
        match self {
            Self::Int(v) => tagged(
                hasher,
                b'i',
                v.map(i64::to_be_bytes).as_ref().map(|b| &b[..]),
            ),
            Self::Text(v) => tagged(hasher, b't', v.as_deref().map(str::as_bytes)),
            Self::Bytes(v) => tagged(hasher, b'b', v.as_deref()),
            Self::Bool(v) => tagged(
                hasher,
                b'o',
                v.map(|b| [u8::from(b)]).as_ref().map(|b| &b[..]),
            ),
        }
    }
}

/// The SELECT list for a table: booleans are read as 0/1 on both backends.
fn select(table: &Table) -> String {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|(name, kind)| match kind {
            Bool => format!("CASE WHEN {name} THEN 1 ELSE 0 END AS {name}"),
            _ => (*name).to_owned(),
        })
        .collect();
    format!(
        "SELECT {} FROM {} ORDER BY {}",
        columns.join(", "),
        table.name,
        table.order
    )
}

fn read_row(table: &Table, row: &AnyRow) -> Result<Vec<Value>, StorageError> {
    table
        .columns
        .iter()
        .map(|(name, kind)| {
            Ok(match kind {
                Int => Value::Int(row.try_get(*name)?),
                Text => Value::Text(row.try_get(*name)?),
                Bytes => Value::Bytes(row.try_get(*name)?),
                Bool => Value::Bool(row.try_get::<Option<i64>, _>(*name)?.map(|v| v != 0)),
            })
        })
        .collect()
}

/// Every row of `table` in key order.
async fn read_table(db: &Db, table: &Table) -> Result<Vec<Vec<Value>>, StorageError> {
    let rows = sqlx::query(AssertSqlSafe(select(table)))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(|row| read_row(table, row)).collect()
}

/// What a copy did and what it verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// Rows per table, in copy order.
    pub rows: Vec<(&'static str, u64)>,
    /// The log head of both databases (verified equal).
    pub log: LogHead,
}

/// A table's rows as a digest and a count.
async fn table_digest(db: &Db, table: &Table) -> Result<([u8; 32], u64), StorageError> {
    let rows = read_table(db, table).await?;
    let mut hasher = Sha256::new();
    for row in &rows {
        for value in row {
            value.digest(&mut hasher);
        }
    }
    Ok((hasher.finalize().into(), rows.len() as u64))
}

impl Db {
    /// Copies every row of this database into `target`, which must be empty
    /// (freshly migrated), in one transaction of the target; then verifies
    /// the copy (see the module comment). Nothing may write to either
    /// database meanwhile (the gate is stopped).
    pub async fn copy_into_database(&self, target: &Db) -> Result<CopyReport, StorageError> {
        let mut tx = target.begin_write().await?;
        for table in TABLES {
            let count: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM {}",
                table.name
            )))
            .fetch_one(&mut *tx.tx)
            .await?;
            let fresh = if table.name == "log_state" { 1 } else { 0 };
            let size: i64 = sqlx::query_scalar("SELECT size FROM log_state WHERE id = 1")
                .fetch_one(&mut *tx.tx)
                .await?;
            if count != fresh || size != 0 {
                return Err(StorageError::TargetNotEmpty(table.name));
            }
        }
        for table in TABLES {
            let rows = read_table(self, table).await?;
            let names: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
            let statement = if table.name == "log_state" {
                // The migration made the row: set it to the source's head.
                "UPDATE log_state SET size = $2, frontier = $3, root = $4 WHERE id = $1".to_owned()
            } else {
                let params: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
                format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    table.name,
                    names.join(", "),
                    params.join(", ")
                )
            };
            for row in rows {
                let mut query = sqlx::query(AssertSqlSafe(statement.clone()));
                for value in row {
                    query = match value {
                        Value::Int(v) => query.bind(v),
                        Value::Text(v) => query.bind(v),
                        Value::Bytes(v) => query.bind(v),
                        Value::Bool(v) => query.bind(v),
                    };
                }
                query.execute(&mut *tx.tx).await?;
            }
        }
        tx.commit().await?;
        self.verify_copy(target).await
    }

    /// Compares this database with its copy `target`.
    async fn verify_copy(&self, target: &Db) -> Result<CopyReport, StorageError> {
        let mut rows = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            let (ours, count) = table_digest(self, table).await?;
            let (theirs, copied) = table_digest(target, table).await?;
            if ours != theirs || count != copied {
                return Err(StorageError::CopyDiffers(table.name));
            }
            rows.push((table.name, count));
        }
        let head = self.log_head().await?;
        if target.log_head().await? != head {
            return Err(StorageError::CopyDiffers("log_state"));
        }
        let mut frontier = shipgate_log::Frontier::new();
        for hash in target.log_leaf_hashes(0, head.size).await? {
            frontier
                .append(hash)
                .map_err(|_| StorageError::CopyDiffers("log_leaves"))?;
        }
        if frontier.root() != head.root || frontier.size() != head.size {
            return Err(StorageError::CopyDiffers("log_leaves"));
        }
        Ok(CopyReport { rows, log: head })
    }
}

#[cfg(test)]
mod tests {
    use super::super::releases::tests::new_release;
    use super::super::tests::TestDb;
    use super::super::{StoredCheckpoint, WriteTx};
    use super::*;

    /// A database with a row in most tables (a boolean, blobs, NULLs).
    async fn populated() -> (tempfile::TempDir, Db) {
        let dir = crate::private_files::private_tempdir();
        let db = Db::open(dir.path()).await.unwrap();
        let mut tx: WriteTx = db.begin_write().await.unwrap();
        tx.enroll("alice", "h", "s", &["hello".to_owned()], 1)
            .await
            .unwrap();
        tx.enroll("bob", "h2", "s2", &["hello".to_owned()], 1)
            .await
            .unwrap();
        let id = tx
            .insert_staged(&new_release("hello", "1.0"), 2)
            .await
            .unwrap();
        tx.insert_staged(&new_release("hello", "2.0"), 2)
            .await
            .unwrap();
        tx.add_approval(id, "alice", 3).await.unwrap();
        tx.record_totp_failure("bob", 4, 0, 0).await.unwrap();
        assert!(tx.accept_totp_step("bob", 9).await.unwrap());
        tx.record_totp_failure("bob", 5, 0, 0).await.unwrap();
        assert!(tx.record_jti("jti-1", 100, 5).await.unwrap());
        tx.commit().await.unwrap();
        let head = db.log_head().await.unwrap();
        let checkpoint = StoredCheckpoint {
            size: head.size,
            signer: "gate.test+1234abcd+key".into(),
            root: head.root,
            note: "note".into(),
        };
        db.store_checkpoint(&checkpoint, 6).await.unwrap();
        (dir, db)
    }

    /// The embedded database copied into this run's backend (PostgreSQL in
    /// the PostgreSQL pass) reads back the same, log included, and new
    /// writes continue it; a second copy into it is refused.
    #[tokio::test]
    async fn a_copy_is_whole_and_verified_and_continues_the_log() {
        let (_dir, source) = populated().await;
        let target_db = TestDb::new().await;
        let target = Db::connect(target_db.location()).await.unwrap();
        let report = source.copy_into_database(&target).await.unwrap();
        let rows: std::collections::HashMap<_, _> = report.rows.iter().copied().collect();
        assert_eq!(rows["releases"], 2);
        assert_eq!(rows["totp_failures"], 2);
        assert_eq!(rows["events"], report.log.size);
        assert_eq!(report.log, source.log_head().await.unwrap());
        assert_eq!(
            target.events().await.unwrap(),
            source.events().await.unwrap()
        );
        // The copy keeps working: the next release and event follow on.
        let mut tx = target.begin_write().await.unwrap();
        let id = tx
            .insert_staged(&new_release("hello", "3.0"), 7)
            .await
            .unwrap();
        assert_eq!(id, 3);
        tx.commit().await.unwrap();
        assert_eq!(target.log_head().await.unwrap().size, report.log.size + 1);
        assert!(matches!(
            source.copy_into_database(&target).await,
            Err(StorageError::TargetNotEmpty(_))
        ));
    }

    /// Every table the migrations create is copied (a table added by a new
    /// migration must be added to [`TABLES`]).
    #[tokio::test]
    async fn every_table_is_copied() {
        let dir = crate::private_files::private_tempdir();
        let db = Db::open(dir.path()).await.unwrap();
        let mut tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name <> '_sqlx_migrations' ORDER BY name",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap();
        tables.sort();
        let mut copied: Vec<String> = TABLES.iter().map(|t| t.name.to_owned()).collect();
        copied.sort();
        assert_eq!(tables, copied);
    }
}
