//! What the transparency log costs the gate, measured against the same gate
//! without it (the "peer": the events row alone, as before the log).
//!
//! Usage: gate_log_bench DATA_DIR [EVENTS] [DURABLE_TX]
//!
//! 1. DURABLE_TX single-event transactions (fsync on every commit, as the
//!    gate commits a decision) with the log leaf, then the same without it.
//! 2. EVENTS events in transactions of 1000 (CPU cost: canonical JSON, leaf
//!    hash, frontier update), with the log, then without.
//! 3. The server side at EVENTS leaves: the cold start of the proof cache,
//!    inclusion and consistency proofs, a checkpoint (signed once, then
//!    cached per size).
//!
//! DATA_DIR is left holding a gate database with EVENTS + DURABLE_TX leaves
//! for `bench/gate_log/run.sh` to serve and audit over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde_json::json;
use shipgate_gate::storage::Db;
use shipgate_gate::tlog::LogSigner;
use shipgate_gate::tlog::service::LogService;
use shipgate_manifest::SecretKeyFile;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

const BATCH: usize = 1000;

/// A staged-sized event detail (two files and the provenance).
fn detail(i: usize) -> serde_json::Value {
    json!({
        "files": [
            {"path": format!("hello-{i}.tar.gz"), "size": 1_234_567, "sha256": format!("{:064x}", i)},
            {"path": "README.md", "size": 2048, "sha256": format!("{:064x}", i + 1)},
        ],
        "provenance": {
            "issuer": "https://token.actions.githubusercontent.com",
            "subject": "repo:acme/hello:environment:release",
            "repository": "acme/hello", "repository_owner_id": "42",
            "workflow": "acme/hello/.github/workflows/release.yml@refs/tags/v1.0.0",
            "ref": "refs/tags/v1.0.0", "commit_sha": "4e9b7dbc0c1d2e3f40516273849506a7b8c9d0e1",
            "run_id": "987654321", "environment": "release", "event_name": "push"
        }
    })
}

async fn with_log(db: &Db, count: usize, per_tx: usize) -> Duration {
    let start = Instant::now();
    let mut done = 0;
    while done < count {
        let mut tx = db.begin_write().await.unwrap();
        for _ in 0..per_tx.min(count - done) {
            tx.event(1_700_000_000, "bench", None, "ci", detail(done))
                .await
                .unwrap();
            done += 1;
        }
        tx.commit().await.unwrap();
    }
    start.elapsed()
}

/// The same events rows, the same transactions and settings, no leaf.
async fn without_log(dir: &Path, count: usize, per_tx: usize) -> Duration {
    Db::open(dir).await.unwrap().close().await;
    let options = SqliteConnectOptions::from_str("sqlite://")
        .unwrap()
        .filename(dir.join("gate.db"))
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    let start = Instant::now();
    let mut done = 0;
    while done < count {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
        for _ in 0..per_tx.min(count - done) {
            sqlx::query(
                "INSERT INTO events (at, kind, release_id, actor, detail) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(1_700_000_000i64)
            .bind("bench")
            .bind(None::<i64>)
            .bind("ci")
            .bind(detail(done).to_string())
            .execute(&mut *tx)
            .await
            .unwrap();
            done += 1;
        }
        tx.commit().await.unwrap();
    }
    let elapsed = start.elapsed();
    pool.close().await;
    elapsed
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p) as usize]
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let data = std::path::PathBuf::from(
        args.next()
            .expect("usage: gate_log_bench DATA_DIR [EVENTS] [DURABLE_TX]"),
    );
    let events: usize = args.next().map_or(100_000, |a| a.parse().unwrap());
    let durable: usize = args.next().map_or(300, |a| a.parse().unwrap());
    let scratch = tempfile::tempdir_in(data.parent().unwrap_or(Path::new("."))).unwrap();
    let _ = std::fs::remove_dir_all(&data);
    let db = Db::open(&data).await.unwrap();

    println!("== appends (the gate with its log vs the same gate without it)");
    let with = with_log(&db, durable, 1).await;
    let without = without_log(&scratch.path().join("a"), durable, 1).await;
    println!(
        "{durable} single-event transactions (fsync each): with log {:.2} ms/tx, without {:.2} ms/tx, ratio {:.2}",
        with.as_secs_f64() * 1e3 / durable as f64,
        without.as_secs_f64() * 1e3 / durable as f64,
        with.as_secs_f64() / without.as_secs_f64()
    );
    let with = with_log(&db, events, BATCH).await;
    let without = without_log(&scratch.path().join("b"), events, BATCH).await;
    println!(
        "{events} events in transactions of {BATCH}: with log {:.0} events/s, without {:.0} events/s, ratio {:.2} (time with / without)",
        events as f64 / with.as_secs_f64(),
        events as f64 / without.as_secs_f64(),
        with.as_secs_f64() / without.as_secs_f64()
    );

    println!("== serving at {} leaves", db.log_head().await.unwrap().size);
    let key = shipgate_manifest::keys::generate_key_pair(None).unwrap();
    let key = SecretKeyFile::parse(&key.secret_key_file, "bench")
        .unwrap()
        .unlock(None)
        .unwrap();
    let service = LogService::new(LogSigner::new("https://gate.bench", &key).unwrap());
    let start = Instant::now();
    service.checkpoint(&db, 1).await.unwrap();
    println!(
        "first checkpoint (loads every leaf hash into the proof cache, signs): {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    let size = db.log_head().await.unwrap().size;
    let mut checkpoint = Vec::new();
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    for i in 0..1000u64 {
        let t = Instant::now();
        service.checkpoint(&db, 1).await.unwrap();
        checkpoint.push(t.elapsed());
        let index = (i * 7919) % size;
        let t = Instant::now();
        service.inclusion_proof(&db, index, size).await.unwrap();
        inclusion.push(t.elapsed());
        let t = Instant::now();
        service
            .consistency_proof(&db, 1 + index % (size - 1), size)
            .await
            .unwrap();
        consistency.push(t.elapsed());
    }
    for (name, samples) in [
        ("checkpoint (stored)", &mut checkpoint),
        ("inclusion proof", &mut inclusion),
        ("consistency proof", &mut consistency),
    ] {
        println!(
            "{name:<22} p50 {:>10}  p99 {:>10}  (1000 requests, each with the cache catch-up and root check)",
            us(percentile(samples, 0.5)),
            us(percentile(samples, 0.99))
        );
    }
    db.close().await;
}
