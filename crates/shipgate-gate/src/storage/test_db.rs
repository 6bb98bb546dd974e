//! Databases for the gate's tests, on the backend the run asks for: the
//! embedded SQLite file by default, or with `SHIPGATE_TEST_BACKEND=postgres`
//! a fresh database (random name) on the PostgreSQL server whose admin URL
//! is `SHIPGATE_TEST_POSTGRES`, dropped when the test ends. The same tests
//! run on both (`.ci/run` runs them a second time with the variables set).

use std::path::Path;

use sqlx::Connection;

use super::{Db, Location};

/// The variable choosing the backend (`sqlite`, the default, or `postgres`).
pub(crate) const BACKEND_VAR: &str = "SHIPGATE_TEST_BACKEND";
/// The variable naming a PostgreSQL server the tests may create databases on.
pub(crate) const POSTGRES_VAR: &str = "SHIPGATE_TEST_POSTGRES";

/// A test's database; dropping it removes it.
pub(crate) struct TestDb {
    dir: tempfile::TempDir,
    location: Location,
    /// (admin URL, database name) of a PostgreSQL database to drop.
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// A new, empty database on the backend of this run (nothing opened).
    pub(crate) async fn new() -> Self {
        let dir = crate::private_files::private_tempdir();
        match std::env::var(BACKEND_VAR).as_deref() {
            Err(_) | Ok("sqlite") => Self {
                location: Location::Embedded(dir.path().to_owned()),
                dir,
                postgres: None,
            },
            Ok("postgres") => {
                let admin = std::env::var(POSTGRES_VAR).unwrap_or_else(|_| {
                    panic!(
                        "{BACKEND_VAR}=postgres needs {POSTGRES_VAR}=postgres://USER@HOST:PORT/postgres \
                         (a server where the tests may create databases; .ci/setup-postgres.sh starts one)"
                    )
                });
                let mut random = [0u8; 8];
                getrandom::fill(&mut random).unwrap();
                let name = format!("shipgate_test_{}", hex::encode(random));
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("cannot reach {POSTGRES_VAR} ({admin}): {e}"));
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                conn.close().await.unwrap();
                let mut url = url::Url::parse(&admin).unwrap();
                url.set_path(&name);
                Self {
                    location: Location::Postgres(url.to_string()),
                    dir,
                    postgres: Some((admin, name)),
                }
            }
            Ok(other) => panic!("{BACKEND_VAR}={other:?}: expected sqlite or postgres"),
        }
    }

    /// A temporary directory of the test's own (the data directory of the
    /// embedded database).
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Where the database is.
    pub(crate) fn location(&self) -> &Location {
        &self.location
    }

    /// The `database` setting of a `gate.toml` for this database (absent
    /// for the embedded one, whose data directory is [`path`](Self::path)).
    pub(crate) fn database_setting(&self) -> Option<String> {
        match &self.location {
            Location::Embedded(_) => None,
            Location::Postgres(url) => Some(url.clone()),
        }
    }

    /// A new handle on this database (as another process or replica opens it).
    pub(crate) async fn open(&self) -> Db {
        Db::connect(&self.location).await.unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime: use a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) && !std::thread::panicking() {
            panic!("could not drop the test database: {dropped:?}");
        }
    }
}
