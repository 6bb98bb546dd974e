//! Backups of a running gate and restores into a stopped one.
//!
//! - A backup is a consistent online copy of `gate.db` (SQLite's
//!   `VACUUM INTO`: one read snapshot, so writes during the copy are either
//!   wholly in it or wholly not), written under a temporary name, checked
//!   with `PRAGMA integrity_check`, made 0600 and then renamed into place.
//!   The keys and blobs are files the operator copies; [`what_else`] says
//!   which and where.
//! - A restore refuses while a gate serves the data directory: `shipgate
//!   serve` holds an exclusive `flock` on `DATA/serve.lock` for as long as
//!   it runs (the kernel drops it when the process ends, even on a crash),
//!   and the restore takes the same lock for its duration. It refuses a file
//!   that is not a shipgate database (missing tables, a migration this
//!   binary does not know, failed integrity check), keeps the replaced
//!   database as `gate.db.before-restore-<unix time>`, and reports what the
//!   restore rolled back.

use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use crate::config::GateConfig;
use crate::private_files;
use crate::storage::{DB_FILE, Db, StorageError};

/// The lock file `shipgate serve` holds in the data directory.
pub const SERVE_LOCK_FILE: &str = "serve.lock";

/// Tables every shipgate database has.
const REQUIRED_TABLES: &[&str] = &[
    "_sqlx_migrations",
    "releases",
    "release_files",
    "maintainers",
    "approvals",
    "used_jtis",
    "events",
    "log_leaves",
];

/// What can go wrong backing up or restoring.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// A gate is serving this data directory.
    #[error(
        "a gate is running on {data_dir} (it holds {lock}); stop it first (systemctl stop shipgate-gate, or SIGTERM)"
    )]
    GateRunning {
        /// The data directory.
        data_dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// There is no database to back up.
    #[error("no database at {0} (is data_dir right?)")]
    NoDatabase(PathBuf),
    /// The output exists already.
    #[error("{0} exists already; choose a new file name")]
    OutputExists(PathBuf),
    /// The file is not a usable shipgate database.
    #[error("{path} is not a shipgate database backup: {reason}")]
    NotShipgate {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A file has modes that let others read it.
    #[error(transparent)]
    Permissions(#[from] private_files::PrivateFileError),
}

impl From<sqlx::Error> for BackupError {
    fn from(err: sqlx::Error) -> Self {
        Self::Storage(StorageError::from(err))
    }
}

/// The exclusive lock a serving gate holds on its data directory.
#[derive(Debug)]
pub struct ServeLock {
    _file: File,
}

impl ServeLock {
    /// Takes the lock, or says that a gate already holds it.
    pub fn acquire(data_dir: &Path) -> Result<Self, BackupError> {
        private_files::ensure_private_dir(data_dir, "data directory")?;
        let lock = data_dir.join(SERVE_LOCK_FILE);
        let io = |source| BackupError::Io {
            path: lock.clone(),
            source,
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock)
            .map_err(io)?;
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Self { _file: file }),
            Err(rustix::io::Errno::WOULDBLOCK) => Err(BackupError::GateRunning {
                data_dir: data_dir.to_owned(),
                lock,
            }),
            Err(err) => Err(io(std::io::Error::from(err))),
        }
    }
}

/// One thing to back up besides the database.
#[derive(Debug, Clone, Serialize)]
pub struct BackupItem {
    /// What it is.
    pub what: &'static str,
    /// Where it is.
    pub path: PathBuf,
    /// How to treat it.
    pub note: &'static str,
}

/// Everything besides the database that a full backup needs.
pub fn what_else(config: &GateConfig) -> Vec<BackupItem> {
    let data = config.data_dir();
    let mut items = vec![
        BackupItem {
            what: "gate key",
            path: config.gate_key_path(),
            note: "signs release manifests and log checkpoints; without it the gate cannot sign under the same key",
        },
        BackupItem {
            what: "secrets key",
            path: config.secrets_key_path(),
            note: "back up SEPARATELY from the database: together they reveal every TOTP secret; without it every maintainer must be re-enrolled",
        },
        BackupItem {
            what: "execution-token keys",
            path: data.join("oidc-keys"),
            note: "signs execution tokens; deploy steps trust these keys",
        },
    ];
    if config.blobs.is_none() {
        items.push(BackupItem {
            what: "blobs",
            path: data.join("blobs"),
            note: "the released and staged files; copy after the database backup (blobs are written before the database refers to them)",
        });
    } else {
        items.push(BackupItem {
            what: "blobs (bucket)",
            path: PathBuf::from(config.blobs.clone().unwrap_or_default()),
            note: "the released and staged files live in the bucket: enable its versioning (or object lock) so that it is its own backup; a copy of the bucket taken after the database backup also works",
        });
    }
    if let Some((cert, key)) = config.tls_paths() {
        items.push(BackupItem {
            what: "TLS certificate",
            path: cert,
            note: "or re-issue it",
        });
        items.push(BackupItem {
            what: "TLS key",
            path: key,
            note: "or re-issue it with the certificate",
        });
    }
    items
}

/// Refuses `what` unless `config` keeps its state in the embedded database.
fn embedded_only(config: &GateConfig, what: &'static str) -> Result<(), BackupError> {
    match config.database()? {
        crate::storage::Location::Embedded(_) => Ok(()),
        _ => Err(StorageError::EmbeddedOnly(what).into()),
    }
}

/// Copies the live database of `config` into `out` (0600).
pub async fn backup(config: &GateConfig, out: &Path) -> Result<(), BackupError> {
    embedded_only(
        config,
        "a backup file (back PostgreSQL up with its own tools, such as pg_dump)",
    )?;
    let db_path = config.data_dir().join(DB_FILE);
    if !db_path.exists() {
        return Err(BackupError::NoDatabase(db_path));
    }
    if out.exists() {
        return Err(BackupError::OutputExists(out.to_owned()));
    }
    let partial = partial_name(out);
    // Created 0600 and empty, which `VACUUM INTO` accepts and keeps.
    let _ = std::fs::remove_file(&partial);
    drop(
        private_files::create_new_private(&partial).map_err(|source| BackupError::Io {
            path: partial.clone(),
            source,
        })?,
    );
    let result = async {
        let target = partial.to_str().ok_or_else(|| BackupError::Io {
            path: partial.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not valid UTF-8"),
        })?;
        let db = Db::connect(&config.database()?).await?;
        let copied = db.copy_into(target).await;
        db.close().await;
        copied?;
        check_shipgate_db(&partial).await?;
        std::fs::rename(&partial, out).map_err(|source| BackupError::Io {
            path: out.to_owned(),
            source,
        })?;
        if let Some(dir) = out.parent() {
            private_files::sync_dir(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            });
        }
        Ok(())
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn partial_name(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// Facts of one database that a restore compares.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DbFacts {
    /// Newest event sequence number (0: none).
    pub newest_event_seq: i64,
    /// Newest event time, Unix seconds (0: none).
    pub newest_event_at: i64,
    /// Log size.
    pub log_size: i64,
    /// Used CI-token ids remembered.
    pub used_token_ids: i64,
    /// (maintainer, last accepted TOTP step).
    pub totp_steps: Vec<(String, i64)>,
    /// Maintainers revoked.
    pub revoked: Vec<String>,
    /// Maintainers locked (not revoked).
    pub locked: Vec<String>,
}

/// Opens `path` read-only and checks that it is an intact shipgate
/// database this binary can serve; returns its facts.
pub async fn check_shipgate_db(path: &Path) -> Result<DbFacts, BackupError> {
    let not = |reason: String| BackupError::NotShipgate {
        path: path.to_owned(),
        reason,
    };
    let options = SqliteConnectOptions::from_str("sqlite://")?
        .filename(path)
        .read_only(true)
        .immutable(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(|e| not(format!("cannot open it as SQLite ({e})")))?;
    let result = facts_of(&pool, &not).await;
    pool.close().await;
    result
}

async fn facts_of(
    pool: &sqlx::SqlitePool,
    not: &dyn Fn(String) -> BackupError,
) -> Result<DbFacts, BackupError> {
    let integrity: String = sqlx::query("PRAGMA integrity_check")
        .fetch_one(pool)
        .await
        .map_err(|e| not(format!("cannot read it as SQLite ({e})")))?
        .try_get(0)?;
    if integrity != "ok" {
        return Err(not(format!("integrity check failed: {integrity}")));
    }
    let tables: Vec<String> = sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table'")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| row.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
    for table in REQUIRED_TABLES {
        if !tables.iter().any(|t| t == table) {
            return Err(not(format!("it has no `{table}` table")));
        }
    }
    let known: Vec<i64> = crate::storage::migration_versions();
    let applied: Vec<i64> = sqlx::query("SELECT version FROM _sqlx_migrations WHERE success = 1")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| row.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()?;
    if let Some(unknown) = applied.iter().find(|v| !known.contains(v)) {
        return Err(not(format!(
            "it was written by a newer shipgate (schema migration {unknown} is unknown to this one)"
        )));
    }
    let one = |sql: &'static str| async move {
        sqlx::query(sql)
            .fetch_one(pool)
            .await
            .and_then(|row| row.try_get::<i64, _>(0))
    };
    let names = |sql: &'static str| async move {
        sqlx::query(sql).fetch_all(pool).await.and_then(|rows| {
            rows.iter()
                .map(|row| row.try_get::<String, _>(0))
                .collect::<Result<Vec<_>, _>>()
        })
    };
    let totp_steps = sqlx::query("SELECT name, last_totp_step FROM maintainers ORDER BY name")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| Ok((row.try_get::<String, _>(0)?, row.try_get::<i64, _>(1)?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(DbFacts {
        newest_event_seq: one("SELECT COALESCE(MAX(seq), 0) FROM events").await?,
        newest_event_at: one("SELECT COALESCE(MAX(at), 0) FROM events").await?,
        log_size: one("SELECT COUNT(*) FROM log_leaves").await?,
        used_token_ids: one("SELECT COUNT(*) FROM used_jtis").await?,
        totp_steps,
        revoked: names("SELECT name FROM maintainers WHERE revoked_at IS NOT NULL ORDER BY name")
            .await?,
        locked: names(
            "SELECT name FROM maintainers WHERE locked_at IS NOT NULL AND revoked_at IS NULL ORDER BY name",
        )
        .await?,
    })
}

/// What a restore replaced and rolled back.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    /// Where the replaced database now is (absent: there was none).
    pub kept_aside: Option<PathBuf>,
    /// The restored database's facts.
    pub restored: DbFacts,
    /// The replaced database's facts (absent: there was none).
    pub replaced: Option<DbFacts>,
    /// Events in the replaced database that the restored one does not have.
    pub events_rolled_back: i64,
    /// Maintainers whose burned TOTP steps were rolled back.
    pub totp_steps_rolled_back: Vec<String>,
    /// Used CI-token ids forgotten.
    pub token_ids_forgotten: i64,
    /// Maintainers revoked after the backup: active again.
    pub revocations_rolled_back: Vec<String>,
    /// Maintainers locked after the backup: unlocked again.
    pub lockouts_rolled_back: Vec<String>,
}

/// Replaces the database of `config` (gate stopped) with `backup`.
pub async fn restore(config: &GateConfig, backup: &Path) -> Result<RestoreReport, BackupError> {
    // A gate on PostgreSQL never reads `gate.db`: writing one would look
    // like a restore and change nothing.
    embedded_only(
        config,
        "restoring a backup file (restore PostgreSQL with its own tools, such as pg_restore)",
    )?;
    let data = config.data_dir();
    let _lock = ServeLock::acquire(&data)?;
    let restored = check_shipgate_db(backup).await?;
    let db_path = data.join(DB_FILE);
    let replaced = if db_path.exists() {
        // Folds the write-ahead log in, so the file kept aside is whole.
        let db = Db::open(&data).await?;
        db.close().await;
        Some(check_shipgate_db(&db_path).await?)
    } else {
        None
    };
    let stamp = crate::unix_now();
    let incoming = data.join(format!("{DB_FILE}.restoring"));
    let _ = std::fs::remove_file(&incoming);
    copy_private(backup, &incoming)?;
    let mut kept_aside = None;
    if replaced.is_some() {
        let aside = free_aside_name(&data, stamp);
        for suffix in ["", "-wal", "-shm"] {
            let from = data.join(format!("{DB_FILE}{suffix}"));
            if from.exists() {
                let to = PathBuf::from(format!("{}{suffix}", aside.display()));
                std::fs::rename(&from, &to)
                    .map_err(|source| BackupError::Io { path: from, source })?;
            }
        }
        kept_aside = Some(aside);
    }
    std::fs::rename(&incoming, &db_path).map_err(|source| BackupError::Io {
        path: db_path.clone(),
        source,
    })?;
    private_files::sync_dir(&data);
    Ok(compare(kept_aside, restored, replaced))
}

/// `gate.db.before-restore-TIME`, or with `.2`, `.3`, ... when a restore in
/// the same second already used it: a kept database is never overwritten.
fn free_aside_name(data: &Path, stamp: i64) -> PathBuf {
    let base = format!("{DB_FILE}.before-restore-{stamp}");
    let mut candidate = data.join(&base);
    let mut n = 2;
    while candidate.exists() {
        candidate = data.join(format!("{base}.{n}"));
        n += 1;
    }
    candidate
}

fn copy_private(from: &Path, to: &Path) -> Result<(), BackupError> {
    let mut source = File::open(from).map_err(|source| BackupError::Io {
        path: from.to_owned(),
        source,
    })?;
    let io = |source| BackupError::Io {
        path: to.to_owned(),
        source,
    };
    let mut target = private_files::create_new_private(to).map_err(io)?;
    std::io::copy(&mut source, &mut target).map_err(io)?;
    target.sync_all().map_err(io)?;
    Ok(())
}

fn compare(
    kept_aside: Option<PathBuf>,
    restored: DbFacts,
    replaced: Option<DbFacts>,
) -> RestoreReport {
    let mut report = RestoreReport {
        kept_aside,
        restored: restored.clone(),
        replaced: replaced.clone(),
        events_rolled_back: 0,
        totp_steps_rolled_back: Vec::new(),
        token_ids_forgotten: 0,
        revocations_rolled_back: Vec::new(),
        lockouts_rolled_back: Vec::new(),
    };
    let Some(current) = replaced else {
        return report;
    };
    report.events_rolled_back = (current.newest_event_seq - restored.newest_event_seq).max(0);
    report.token_ids_forgotten = (current.used_token_ids - restored.used_token_ids).max(0);
    report.totp_steps_rolled_back = current
        .totp_steps
        .iter()
        .filter(|(name, step)| {
            restored
                .totp_steps
                .iter()
                .find(|(n, _)| n == name)
                .is_some_and(|(_, old)| old < step)
        })
        .map(|(name, _)| name.clone())
        .collect();
    report.revocations_rolled_back = current
        .revoked
        .iter()
        .filter(|name| !restored.revoked.contains(name))
        .cloned()
        .collect();
    report.lockouts_rolled_back = current
        .locked
        .iter()
        .filter(|name| !restored.locked.contains(name) && !restored.revoked.contains(name))
        .cloned()
        .collect();
    report
}
