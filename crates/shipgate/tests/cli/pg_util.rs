//! PostgreSQL for the scale-out tests: a fresh database per test on the
//! server at `SHIPGATE_TEST_POSTGRES`, or a cluster of a test's own (from
//! `SHIPGATE_TEST_PG_BIN`) that the test may stop and start. Both come from
//! `.ci/setup-postgres.sh`; a missing one fails the test with that hint.
//! The server runs as the `postgres` user through `runuser` (it refuses
//! root), as in CI.

use std::path::{Path, PathBuf};
use std::process::Command;

use sqlx::Connection;

pub fn env_or_explain(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run .ci/setup-postgres.sh (it starts PostgreSQL and exports it)")
    })
}

pub fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// A fresh database on the `SHIPGATE_TEST_POSTGRES` server; dropped on drop.
pub struct PgDatabase {
    admin: String,
    name: String,
    /// Its URL.
    pub url: String,
}

impl PgDatabase {
    pub fn new() -> PgDatabase {
        let admin = env_or_explain("SHIPGATE_TEST_POSTGRES");
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "shipgate_cli_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        block_on(async {
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .unwrap();
        });
        let (server, _) = admin.rsplit_once('/').unwrap();
        PgDatabase {
            url: format!("{server}/{name}"),
            admin,
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = block_on(async move {
            let mut conn = sqlx::PgConnection::connect(&admin).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await
        });
    }
}

/// The test matrix: with `SHIPGATE_TEST_BACKEND=postgres` every gate a CLI
/// test starts keeps its state in a fresh database on the
/// `SHIPGATE_TEST_POSTGRES` server instead of the embedded SQLite file (a
/// `database =` line is added to its `gate.toml`, unless it names one). The
/// database outlives the test process (a killed gate may be restarted on it);
/// it lives in the throwaway cluster `.ci/setup-postgres.sh` starts.
pub fn with_test_backend(dir: &Path) {
    if std::env::var("SHIPGATE_TEST_BACKEND").as_deref() != Ok("postgres") {
        return;
    }
    let path = dir.join("gate.toml");
    let Ok(config) = std::fs::read_to_string(&path) else {
        return;
    };
    if config
        .lines()
        .any(|l| l.trim_start().starts_with("database"))
    {
        return;
    }
    let database = PgDatabase::new();
    let url = database.url.clone();
    std::mem::forget(database);
    std::fs::write(&path, format!("database = \"{url}\"\n{config}")).unwrap();
}

/// A PostgreSQL cluster of this test's own (so it may stop it).
pub struct Cluster {
    _dir: tempfile::TempDir,
    data: PathBuf,
    bin: PathBuf,
    port: u16,
}

fn as_postgres(bin: &Path, program: &str, args: &[&str]) {
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(bin.join(program))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("runuser (PostgreSQL runs as the postgres user): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Cluster {
    pub fn start() -> Cluster {
        let bin = PathBuf::from(env_or_explain("SHIPGATE_TEST_PG_BIN"));
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        for (path, mode) in [(dir.path(), "0755"), (data.as_path(), "0700")] {
            let ok = Command::new("chmod").arg(mode).arg(path).status().unwrap();
            assert!(ok.success());
        }
        let ok = Command::new("chown")
            .args(["postgres:", data.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(ok.success(), "chown postgres (the tests run as root in CI)");
        as_postgres(
            &bin,
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "--auth=trust",
                "--username=postgres",
            ],
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Cluster {
            _dir: dir,
            data,
            bin,
            port,
        };
        cluster.run();
        cluster
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn run(&self) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={}",
            self.port,
            self.data.display()
        );
        let log = self.data.join("server.log");
        as_postgres(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-w",
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
                "start",
            ],
        );
    }

    /// Stops the server without a clean shutdown (as a crash or power
    /// loss would): recovery from the write-ahead log at the next start.
    pub fn crash(&self) {
        as_postgres(
            &self.bin,
            "pg_ctl",
            &["-D", self.data.to_str().unwrap(), "-m", "immediate", "stop"],
        );
    }

    pub fn stop(&self) {
        as_postgres(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-w",
                "-m",
                "fast",
                "stop",
            ],
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", self.data.to_str().unwrap(), "-m", "immediate", "stop"])
            .output();
    }
}
