//! The log stays auditable whatever is staged. One publisher stages the
//! largest releases the gate accepts (1000 files, 255-byte names); the log's
//! pages stay within their byte cap, `shipgate log verify --entries`
//! follows them to the end, and the real `shipgate serve` process does not
//! grow with the log while many clients read pages at once.

use crate::gate_log::{free_port, log_verify};
use crate::gate_util::{CiIssuer, Gate, announce, bound_config, json, multipart};
use crate::util::assert_exit;

/// Maximal stagings in the log: about 380 KiB of leaf each, so a page of
/// 1000 leaves used to be over 70 MiB (more than the client reads).
const STAGINGS: i64 = 200;

/// The gate's resident memory high-water mark, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in /proc/{pid}/status"))
}

/// The largest announcement accepted: 1000 empty files with 255-byte names.
fn largest_files() -> Vec<(String, Vec<u8>)> {
    (0..1000)
        .map(|i| (format!("{i:04}-{}", "n".repeat(250)), Vec::new()))
        .collect()
}

fn stage_raw(
    gate: &Gate,
    ci: &CiIssuer,
    version: &str,
    files: &[(String, Vec<u8>)],
) -> (u16, String) {
    let named: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let parts: Vec<(String, &[u8])> = files
        .iter()
        .enumerate()
        .map(|(i, (_, d))| (format!("file.{i}"), d.as_slice()))
        .collect();
    let parts: Vec<(&str, &[u8])> = parts.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    let (content_type, body) = multipart(&announce(&named), &parts);
    let token = ci.github_token("shipgate-test", "acme/hello", "42", version, &[]);
    gate.request(
        "POST",
        &format!("/v1/packages/hello/versions/{version}"),
        Some(&token),
        Some(&content_type),
        &body,
    )
}

fn log_size(gate: &Gate) -> u64 {
    let (status, note) = gate.get("/v1/log/checkpoint");
    assert_eq!(status, 200);
    note.lines().nth(1).unwrap().parse().unwrap()
}

#[test]
fn many_maximal_stagings_stay_auditable_and_pages_stay_small() {
    let ci = CiIssuer::start();
    let port = free_port();
    let config = bound_config(&ci.url).replace(
        "listen = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1\"",
        &format!("listen = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\""),
    );
    let gate = Gate::start(&config);

    // Over the caps: refused with a 4xx before anything is stored.
    let before = log_size(&gate);
    let mut too_many = largest_files();
    too_many.push(("extra".into(), Vec::new()));
    let (status, body) = stage_raw(&gate, &ci, "0.0.1", &too_many);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("at most 1000 are accepted"), "{body}");
    let long_name = vec![("n".repeat(256), Vec::new())];
    let (status, body) = stage_raw(&gate, &ci, "0.0.2", &long_name);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("longer than 255 bytes"), "{body}");
    assert_eq!(log_size(&gate), before);
    let (_, list) = gate.get("/v1/releases");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&list).unwrap()["releases"],
        serde_json::json!([])
    );

    // One real maximal staging...
    let (status, body) = stage_raw(&gate, &ci, "1.0.0", &largest_files());
    assert_eq!(status, 201, "{body}");
    let (_, page) = gate.get(&format!(
        "/v1/log/entries?start={before}&end={}",
        before + 1
    ));
    let leaf_len = json_entries(&page)[0]["data"].as_str().unwrap().len();
    assert!((300_000..512 * 1024).contains(&leaf_len), "{leaf_len}");
    eprintln!("the `staged` leaf of a maximal release: {leaf_len} bytes");

    // ...and as many more as a busy publisher stages, written the way the
    // gate writes them (a release row and its `staged` event, copied from
    // the real one; the gate logs them when it starts).
    let (status, dir) = gate.terminate();
    assert!(status.success());
    let db = dir.path().join("data/gate.db");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&db);
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            let mut tx = pool.begin().await.unwrap();
            for id in 2..=STAGINGS {
                sqlx::query(
                    "INSERT INTO releases (id, package, version, state, issuer, subject, repository, \
                     repository_owner_id, workflow, git_ref, commit_sha, run_id, environment, event_name, created_at) \
                     SELECT ?, package, ?, 'staged', issuer, subject, repository, repository_owner_id, \
                     workflow, git_ref, commit_sha, run_id, environment, event_name, created_at \
                     FROM releases WHERE id = 1",
                )
                .bind(id)
                .bind(format!("1.0.{id}"))
                .execute(&mut *tx)
                .await
                .unwrap();
                sqlx::query(
                    "INSERT INTO events (at, kind, release_id, actor, detail) \
                     SELECT at, kind, ?, actor, detail FROM events WHERE kind = 'staged' AND release_id = 1",
                )
                .bind(id)
                .execute(&mut *tx)
                .await
                .unwrap();
            }
            tx.commit().await.unwrap();
            pool.close().await;
        });
    // Started twice: the first start logs the copies, the second is a
    // fresh process whose memory peak the page requests alone make.
    // (A request first: it answers once the server also listens for the
    // SIGTERM that stops it.)
    let first = Gate::start_in(dir);
    assert_eq!(log_size(&first), before + STAGINGS as u64);
    let (status, dir) = first.terminate();
    assert!(status.success());
    let gate = Gate::start_in(dir);
    let size = log_size(&gate);
    assert_eq!(size, before + STAGINGS as u64);

    // A client asking for everything gets a page within the byte cap, and
    // the auditor follows the short pages to the end.
    let (status, page) = gate.get(&format!("/v1/log/entries?start=0&end={size}"));
    assert_eq!(status, 200);
    assert!(page.len() <= 4 << 20, "{} bytes", page.len());
    let served = json_entries(&page).len() as u64;
    assert!(served > before && served < size, "{served} of {size}");
    eprintln!(
        "asked for all {size} leaves: served {served} in {} bytes",
        page.len()
    );
    let out = log_verify(&gate, &["--checkpoint", "cp.note", "--entries", "--json"]);
    assert_exit(&out, 0);
    let report = json(&out);
    assert_eq!(report["entries"]["entries"], size);
    assert_eq!(report["entries"]["kinds"]["staged"], STAGINGS);
    assert_eq!(report["entries"]["violations"], serde_json::json!([]));

    // Many clients reading large pages at once: the gate builds a few
    // pages at a time, each bounded, so its memory stays far below what
    // holding the log (about 80 MB of leaves) once per request would take.
    let readers: Vec<_> = (0..16)
        .map(|_| {
            let port = gate.port;
            std::thread::spawn(move || {
                for _ in 0..3 {
                    let request = format!(
                        "GET /v1/log/entries?start=0&end={size} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                    );
                    let (status, _) = crate::gate_util::raw_http(port, request.as_bytes());
                    assert_eq!(status, 200);
                }
            })
        })
        .collect();
    for reader in readers {
        reader.join().unwrap();
    }
    let peak = peak_rss_kib(gate.pid());
    eprintln!("gate peak RSS with 16 concurrent page readers: {peak} KiB");
    assert!(peak < 192 * 1024, "peak RSS {peak} KiB");
}

fn json_entries(page: &str) -> Vec<serde_json::Value> {
    serde_json::from_str::<serde_json::Value>(page).unwrap()["entries"]
        .as_array()
        .unwrap()
        .clone()
}
