//! One set of tests, run against every blob store: the data directory and
//! a real S3 server (`SHIPGATE_S3_SERVER`, see [`super::test_server`]).

use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::*;
use crate::storage::{Db, ReleaseFile};

#[path = "test_server.rs"]
pub(crate) mod test_server;

/// The largest blob the S3 store writes with one PUT.
const ONE_PUT: usize = super::s3::SINGLE_PUT_MAX as usize;

#[derive(Debug, Clone, Copy)]
enum Kind {
    Dir,
    S3,
}

struct Fixture {
    blobs: Blobs,
    db: Db,
    _dir: tempfile::TempDir,
}

fn s3_settings(endpoint: &str) -> S3Settings {
    S3Settings {
        endpoint: Some(endpoint.to_owned()),
        region: Some(test_server::REGION.into()),
        allow_http: true,
        access_key_id: Some(test_server::ACCESS_KEY.into()),
        secret_access_key: Some(test_server::SECRET_KEY.into()),
        max_retries: Some(1),
        retry_timeout_seconds: Some(5),
        ..S3Settings::default()
    }
}

fn s3_store(server: &test_server::S3Server) -> S3Store {
    let bucket = server.fresh_bucket();
    S3Store::open(&bucket, "gate/blobs", &s3_settings(&server.endpoint)).unwrap()
}

async fn fixture(kind: Kind) -> Fixture {
    let dir = crate::private_files::private_tempdir();
    let db = Db::open(dir.path()).await.unwrap();
    let blobs = match kind {
        Kind::Dir => Blobs::open_dir(dir.path().join("blobs")).unwrap(),
        Kind::S3 => {
            let server = tokio::task::spawn_blocking(test_server::shared)
                .await
                .unwrap();
            Blobs::new(Arc::new(s3_store(server)), dir.path().join("scratch"))
        }
    };
    Fixture {
        blobs,
        db,
        _dir: dir,
    }
}

fn sha(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Bytes that differ from chunk to chunk (so a lost or reordered part
/// shows in the digest).
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i >> 16) as u8)
        .collect()
}

async fn put(blobs: &Blobs, holds: &mut Holds, data: &[u8]) -> Result<String, BlobError> {
    let mut writer = blobs.writer(data.len() as u64, &sha(data)).await?;
    for chunk in data.chunks(64 * 1024) {
        writer.write(chunk).await?;
    }
    writer.finish(holds).await
}

async fn read_all(blobs: &Blobs, key: &str) -> Vec<u8> {
    let mut reader = blobs.open_read(key).await.unwrap();
    let mut out = Vec::new();
    reader.read_to_end(&mut out).await.unwrap();
    out
}

async fn keys(blobs: &Blobs) -> Vec<String> {
    let mut keys: Vec<String> = blobs
        .store()
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.key)
        .collect();
    keys.sort();
    keys
}

/// Commits a staged release whose one file is `key`.
async fn reference(db: &Db, version: &str, key: &str, size: u64) {
    let release = crate::storage::NewRelease {
        package: "hello".into(),
        version: version.into(),
        provenance: crate::storage::Provenance::default(),
        files: vec![ReleaseFile {
            path: "hello.tgz".into(),
            size,
            sha256: key.to_owned(),
        }],
    };
    let mut tx = db.begin_write().await.unwrap();
    tx.insert_staged(&release, crate::unix_now()).await.unwrap();
    tx.commit().await.unwrap();
}

/// Each test body runs once per store.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod dir {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Kind::Dir).await })*
        }
        mod s3 {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Kind::S3).await })*
        }
    };
}

contract!(
    stores_streams_and_reads_back,
    a_large_blob_streams_in_parts,
    refuses_wrong_size_and_digest_and_leaves_nothing,
    a_truncated_large_upload_leaves_nothing,
    a_cancelled_upload_leaves_nothing,
    concurrent_puts_of_one_digest_store_it_once,
    a_cancelled_request_leaves_no_blob_that_nothing_else_holds,
    missing_blobs_and_bad_keys_are_errors,
    sweep_keeps_referenced_and_young_blobs,
);

async fn stores_streams_and_reads_back(kind: Kind) {
    let f = fixture(kind).await;
    let mut holds = f.blobs.holds(f.db.clone());
    let data = pattern(200_000);
    let key = put(&f.blobs, &mut holds, &data).await.unwrap();
    assert_eq!(key, sha(&data));
    assert_eq!(read_all(&f.blobs, &key).await, data);
    assert_eq!(f.blobs.store().len(&key).await.unwrap(), Some(200_000));
    assert_eq!(keys(&f.blobs).await, vec![key.clone()]);
    let local = f.blobs.local_file(&key).await.unwrap();
    assert_eq!(std::fs::read(local.path()).unwrap(), data);
    f.blobs.store().probe().await.unwrap();
    f.blobs.store().delete(&key).await.unwrap();
    f.blobs.store().delete(&key).await.unwrap();
    assert_eq!(f.blobs.store().len(&key).await.unwrap(), None);
    holds.end(false).await;
}

async fn a_large_blob_streams_in_parts(kind: Kind) {
    let f = fixture(kind).await;
    let mut holds = f.blobs.holds(f.db.clone());
    // Larger than one PUT and than two parts: three parts, the last short.
    let data = pattern(ONE_PUT * 2 + 12_345);
    let key = put(&f.blobs, &mut holds, &data).await.unwrap();
    assert_eq!(read_all(&f.blobs, &key).await, data);
    assert_eq!(keys(&f.blobs).await, vec![key]);
    holds.end(false).await;
}

async fn refuses_wrong_size_and_digest_and_leaves_nothing(kind: Kind) {
    let f = fixture(kind).await;
    let mut holds = f.blobs.holds(f.db.clone());

    let mut w = f.blobs.writer(3, &sha(b"abc")).await.unwrap();
    assert!(matches!(
        w.write(b"abcd").await,
        Err(BlobError::TooLong { expected: 3 })
    ));
    drop(w);

    let mut w = f.blobs.writer(3, &sha(b"abc")).await.unwrap();
    w.write(b"ab").await.unwrap();
    assert!(matches!(
        w.finish(&mut holds).await,
        Err(BlobError::TooShort {
            expected: 3,
            actual: 2
        })
    ));

    let mut w = f.blobs.writer(3, &sha(b"abc")).await.unwrap();
    w.write(b"abd").await.unwrap();
    assert!(matches!(
        w.finish(&mut holds).await,
        Err(BlobError::DigestMismatch { .. })
    ));

    assert!(matches!(
        f.blobs.writer(3, "not a digest").await,
        Err(BlobError::NotAKey)
    ));
    assert_eq!(keys(&f.blobs).await, Vec::<String>::new());
    assert_eq!(f.blobs.store().len(&sha(b"abc")).await.unwrap(), None);
}

async fn a_truncated_large_upload_leaves_nothing(kind: Kind) {
    let f = fixture(kind).await;
    let mut holds = f.blobs.holds(f.db.clone());
    let data = pattern(ONE_PUT + 3 * 1024 * 1024);
    let key = sha(&data);
    let mut w = f.blobs.writer(data.len() as u64, &key).await.unwrap();
    // All but the last byte: parts have gone up, but the upload is short.
    for chunk in data[..data.len() - 1].chunks(64 * 1024) {
        w.write(chunk).await.unwrap();
    }
    assert!(matches!(
        w.finish(&mut holds).await,
        Err(BlobError::TooShort { .. })
    ));
    // The same length with one byte changed: the digest differs.
    let mut bad = data.clone();
    bad[5] ^= 1;
    let mut w = f.blobs.writer(data.len() as u64, &key).await.unwrap();
    for chunk in bad.chunks(64 * 1024) {
        w.write(chunk).await.unwrap();
    }
    assert!(matches!(
        w.finish(&mut holds).await,
        Err(BlobError::DigestMismatch { .. })
    ));
    assert_eq!(f.blobs.store().len(&key).await.unwrap(), None);
    assert_eq!(keys(&f.blobs).await, Vec::<String>::new());
}

async fn a_cancelled_upload_leaves_nothing(kind: Kind) {
    let f = fixture(kind).await;
    let data = pattern(ONE_PUT + 1024);
    let key = sha(&data);
    let mut w = f.blobs.writer(data.len() as u64, &key).await.unwrap();
    w.write(&data[..1024 * 1024]).await.unwrap();
    drop(w);
    assert_eq!(f.blobs.store().len(&key).await.unwrap(), None);
    assert_eq!(keys(&f.blobs).await, Vec::<String>::new());
}

async fn concurrent_puts_of_one_digest_store_it_once(kind: Kind) {
    let f = fixture(kind).await;
    for size in [100_000, ONE_PUT + 100_000] {
        let data = Arc::new(pattern(size));
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let blobs = f.blobs.clone();
            let db = f.db.clone();
            let data = Arc::clone(&data);
            tasks.push(tokio::spawn(async move {
                let mut holds = blobs.holds(db);
                let key = put(&blobs, &mut holds, &data).await;
                holds.end(false).await;
                key
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap(), sha(&data));
        }
        assert_eq!(read_all(&f.blobs, &sha(&data)).await, *data);
    }
    assert_eq!(keys(&f.blobs).await.len(), 2);
}

async fn a_cancelled_request_leaves_no_blob_that_nothing_else_holds(kind: Kind) {
    let f = fixture(kind).await;
    let gone = |key: String| {
        let store = f.blobs.store_arc();
        async move {
            for _ in 0..200 {
                if store.len(&key).await.unwrap().is_none() {
                    return true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            false
        }
    };
    // Two requests upload the same bytes; the first is cancelled.
    let mut first = f.blobs.holds(f.db.clone());
    let mut second = f.blobs.holds(f.db.clone());
    let key = put(&f.blobs, &mut first, b"same bytes").await.unwrap();
    put(&f.blobs, &mut second, b"same bytes").await.unwrap();
    drop(first);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(f.blobs.store().len(&key).await.unwrap().is_some(), "held");
    // The second is cancelled too: now nothing holds or references it.
    drop(second);
    assert!(gone(key).await, "left behind: {:?}", keys(&f.blobs).await);

    // A request whose release was committed keeps its blob.
    let mut ok = f.blobs.holds(f.db.clone());
    let key = put(&f.blobs, &mut ok, b"kept").await.unwrap();
    reference(&f.db, "1.0.0", &key, 4).await;
    ok.end(true).await;
    assert!(f.blobs.store().len(&key).await.unwrap().is_some());
    // One that ends in failure with nothing referencing it does not.
    let mut failed = f.blobs.holds(f.db.clone());
    let key = put(&f.blobs, &mut failed, b"refused").await.unwrap();
    failed.end(true).await;
    assert!(f.blobs.store().len(&key).await.unwrap().is_none());
}

async fn missing_blobs_and_bad_keys_are_errors(kind: Kind) {
    let f = fixture(kind).await;
    let absent = sha(b"never stored");
    assert!(matches!(
        f.blobs.open_read(&absent).await,
        Err(BlobError::NotFound { .. })
    ));
    assert!(matches!(
        f.blobs.local_file(&absent).await,
        Err(BlobError::NotFound { .. })
    ));
    for bad in ["../etc/passwd", &"A".repeat(64), &"a".repeat(63), ""] {
        assert!(matches!(
            f.blobs.open_read(bad).await,
            Err(BlobError::NotAKey)
        ));
        assert!(matches!(
            f.blobs.store().len(bad).await,
            Err(BlobError::NotAKey)
        ));
    }
}

async fn sweep_keeps_referenced_and_young_blobs(kind: Kind) {
    let f = fixture(kind).await;
    let mut holds = f.blobs.holds(f.db.clone());
    let kept = put(&f.blobs, &mut holds, b"referenced").await.unwrap();
    let orphan = put(&f.blobs, &mut holds, b"orphan").await.unwrap();
    holds.end(false).await;
    reference(&f.db, "1.0.0", &kept, 10).await;
    let now = crate::unix_now();

    // Within the grace period nothing unreferenced is deleted.
    let report = f.blobs.sweep(&f.db, 600, now).await.unwrap();
    assert_eq!((report.unreferenced, report.kept_young), (0, 1));
    assert_eq!(keys(&f.blobs).await.len(), 2);

    // A blob held by a request in flight survives even past the grace.
    let mut in_flight = f.blobs.holds(f.db.clone());
    put(&f.blobs, &mut in_flight, b"orphan").await.unwrap();
    let report = f.blobs.sweep(&f.db, 600, now + 601).await.unwrap();
    assert_eq!((report.unreferenced, report.kept_young), (0, 1));
    in_flight.end(false).await;

    // Past it, the orphan goes and the referenced blob stays.
    let report = f.blobs.sweep(&f.db, 600, now + 601).await.unwrap();
    assert_eq!(report.unreferenced, 1);
    let mut expected = vec![kept.clone()];
    expected.sort();
    assert_eq!(keys(&f.blobs).await, expected);
    assert!(f.blobs.store().len(&orphan).await.unwrap().is_none());
}

#[tokio::test]
async fn the_directory_sweep_removes_temp_files_at_once() {
    let f = fixture(Kind::Dir).await;
    let store = DirStore::open(f._dir.path().join("blobs")).unwrap();
    std::fs::write(store.dir().join(".tmp-0123"), b"half an upl").unwrap();
    std::fs::write(store.dir().join(sha(b"orphan")), b"orphan").unwrap();
    let report = f.blobs.sweep(&f.db, 0, crate::unix_now()).await.unwrap();
    assert_eq!((report.temp_files, report.unreferenced), (1, 1));
    assert_eq!(keys(&f.blobs).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_all_moves_blobs_between_stores_and_checks_every_byte() {
    let server = tokio::task::spawn_blocking(test_server::shared)
        .await
        .unwrap();
    let dir = crate::private_files::private_tempdir();
    let from = DirStore::open(dir.path().join("from")).unwrap();
    let to = s3_store(server);
    let small = pattern(1000);
    let large = pattern(ONE_PUT + 1);
    let mut digests = Vec::new();
    for data in [&small, &large] {
        digests.push(
            put_verified(&from, data.len() as u64, &sha(data), stream_of(data))
                .await
                .unwrap(),
        );
    }
    let report = copy_all(&from, &to, &digests).await.unwrap();
    assert_eq!((report.copied, report.already_present), (2, 0));
    assert_eq!(report.bytes, (small.len() + large.len()) as u64);
    // Again: nothing to copy, and what is there was read back and checked.
    let report = copy_all(&from, &to, &digests).await.unwrap();
    assert_eq!((report.copied, report.already_present), (0, 2));
    // And back into an empty directory.
    let back = DirStore::open(dir.path().join("back")).unwrap();
    assert_eq!(copy_all(&to, &back, &digests).await.unwrap().copied, 2);
    assert_eq!(
        std::fs::read(back.path(&digests[1]).unwrap()).unwrap(),
        large
    );

    // A damaged source blob is refused and nothing appears in the target.
    let damaged = sha(b"what the key says");
    std::fs::write(from.path(&damaged).unwrap(), b"something else").unwrap();
    let err = copy_all(&from, &to, std::slice::from_ref(&damaged))
        .await
        .unwrap_err();
    assert!(matches!(err, BlobError::DigestMismatch { .. }), "{err}");
    assert_eq!(to.len(&damaged).await.unwrap(), None);
    // A missing one is named.
    let absent = sha(b"absent");
    let err = copy_all(&from, &to, &[absent]).await.unwrap_err();
    assert!(matches!(err, BlobError::NotFound { .. }), "{err}");
}

fn stream_of(data: &[u8]) -> impl futures_util::Stream<Item = Result<bytes::Bytes, BlobError>> {
    let chunks: Vec<Result<bytes::Bytes, BlobError>> = data
        .chunks(100_000)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    futures_util::stream::iter(chunks)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_goes_down_mid_upload_fails_the_upload_and_the_probe() {
    let mut server = tokio::task::spawn_blocking(test_server::S3Server::start)
        .await
        .unwrap();
    let store = s3_store(&server);
    let data = pattern(ONE_PUT * 3);
    let key = sha(&data);
    let mut w = BlobWriter::begin(&store, data.len() as u64, &key)
        .await
        .unwrap();
    let half = data.len() / 2;
    for chunk in data[..half].chunks(64 * 1024) {
        w.write(chunk).await.unwrap();
    }
    tokio::task::block_in_place(|| server.stop());
    let mut result = Ok(());
    for chunk in data[half..].chunks(64 * 1024) {
        result = w.write(chunk).await;
        if result.is_err() {
            break;
        }
    }
    let outcome = match result {
        Ok(()) => w.finish_unheld().await.map(|_| ()),
        Err(err) => Err(err),
    };
    let err = outcome.unwrap_err();
    assert!(matches!(err, BlobError::ObjectStore { .. }), "{err}");
    assert!(err.to_string().contains("s3://"), "{err}");
    assert!(!err.to_string().contains(test_server::SECRET_KEY), "{err}");
    assert!(store.probe().await.is_err());
}

/// Throughput of put (stream in, verify, commit) and get (stream out) for
/// each store; run by `bench/blobs/run.sh`, never in the normal suite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: bench/blobs/run.sh"]
async fn bench_put_get_throughput() {
    for size in [1usize << 20, 100 << 20] {
        let data = pattern(size);
        let rounds = if size <= 1 << 20 { 50 } else { 3 };
        for kind in [Kind::Dir, Kind::S3] {
            let f = fixture(kind).await;
            let mut put_secs = 0.0;
            let mut get_secs = 0.0;
            for round in 0..rounds {
                // A fresh digest each round: no upload finds its blob stored.
                let mut data = data.clone();
                data[0] = round as u8;
                let mut holds = f.blobs.holds(f.db.clone());
                let start = std::time::Instant::now();
                let key = put(&f.blobs, &mut holds, &data).await.unwrap();
                put_secs += start.elapsed().as_secs_f64();
                let start = std::time::Instant::now();
                let mut reader = f.blobs.open_read(&key).await.unwrap();
                let mut buf = vec![0u8; 256 * 1024];
                let mut total = 0usize;
                loop {
                    let n = reader.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    total += n;
                }
                get_secs += start.elapsed().as_secs_f64();
                assert_eq!(total, size);
                holds.end(false).await;
            }
            let mib = (size * rounds) as f64 / (1 << 20) as f64;
            println!(
                "blobs bench: {kind:?} {} MiB x {rounds}: put {:.0} MiB/s, get {:.0} MiB/s",
                size >> 20,
                mib / put_secs,
                mib / get_secs
            );
        }
    }
}

/// In a store shared by replicas, the files of an expired release are not
/// deleted while they are young: another replica may just have stored the
/// same bytes for a release it is about to commit.
#[tokio::test]
async fn discarding_respects_the_grace_period_of_a_shared_store() {
    let f = fixture(Kind::Dir).await;
    let shared = f.blobs.clone().with_grace(600);
    let mut holds = shared.holds(f.db.clone());
    let key = put(&shared, &mut holds, b"expired release").await.unwrap();
    holds.end(false).await;
    assert_eq!(
        shared
            .discard_unreferenced(std::slice::from_ref(&key), &f.db)
            .await
            .unwrap(),
        0
    );
    assert!(shared.store().len(&key).await.unwrap().is_some());
    // With one writer (no grace) it goes at once.
    assert_eq!(
        f.blobs
            .discard_unreferenced(std::slice::from_ref(&key), &f.db)
            .await
            .unwrap(),
        1
    );
    assert_eq!(f.blobs.store().modified(&key).await.unwrap(), None);
}
