//! `shipgate admin backup` of a gate under staging load, `admin restore`
//! into the stopped gate, and the restored gate's log checked in full.

use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::gate_util::{CiIssuer, Gate, Minter, bound_config, enroll};
use crate::util::{assert_exit, python_with, stderr, stdout};

/// (integrity_check, releases, events) of an SQLite file, read by Python's
/// sqlite3 (an independent reader).
fn sqlite_facts(path: &std::path::Path) -> (String, i64, i64) {
    let out = std::process::Command::new(python_with(&["sqlite3"]))
        .args([
            "-c",
            "import sqlite3, sys\n\
             c = sqlite3.connect(sys.argv[1])\n\
             print(c.execute('PRAGMA integrity_check').fetchone()[0])\n\
             print(c.execute('SELECT COUNT(*) FROM releases').fetchone()[0])\n\
             print(c.execute('SELECT COUNT(*) FROM events').fetchone()[0])\n",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    (
        lines[0].to_owned(),
        lines[1].parse().unwrap(),
        lines[2].parse().unwrap(),
    )
}

#[test]
fn backup_under_load_then_restore_into_the_stopped_gate() {
    let ci = CiIssuer::start();
    let gate = Gate::start(&bound_config(&ci.url));
    enroll(&gate, "alice", "hello");
    enroll(&gate, "bob", "hello");
    let minter = Minter::new(&ci);
    std::fs::write(gate.path().join("a.txt"), b"a\n").unwrap();

    let stop = AtomicBool::new(false);
    let staged = AtomicUsize::new(0);
    let backup = gate.path().join("backup-1.db");
    std::thread::scope(|scope| {
        for worker in 0..2 {
            let (gate, minter, stop, staged) = (&gate, &minter, &stop, &staged);
            scope.spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let version = format!("{worker}.0.{n}");
                    let token = minter.github_token("shipgate-test", "acme/hello", "42", &version);
                    assert_exit(&gate.stage(&token, "hello", &version, &["a.txt"]), 0);
                    staged.fetch_add(1, Ordering::SeqCst);
                    n += 1;
                }
            });
        }
        // Back up while both workers stage (at least a few before and after).
        while staged.load(Ordering::SeqCst) < 4 {
            std::thread::yield_now();
        }
        let out = gate.admin(&["backup", backup.to_str().unwrap()]);
        assert_exit(&out, 0);
        let listing = stdout(&out);
        for item in [
            "gate key",
            "secrets key",
            "SEPARATELY",
            "oidc-keys",
            "blobs",
        ] {
            assert!(listing.contains(item), "{item}: {listing}");
        }
        let before = staged.load(Ordering::SeqCst);
        while staged.load(Ordering::SeqCst) < before + 4 {
            std::thread::yield_now();
        }
        stop.store(true, Ordering::SeqCst);
    });
    let mode = std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let (integrity, backed_up_releases, backed_up_events) = sqlite_facts(&backup);
    assert_eq!(integrity, "ok");
    let total = staged.load(Ordering::SeqCst) as i64;
    assert!(
        backed_up_releases >= 4 && backed_up_releases < total,
        "{backed_up_releases} of {total}"
    );

    // The same output twice, and --json.
    assert_exit(&gate.admin(&["backup", backup.to_str().unwrap()]), 2);
    let out = gate.admin(&["backup", "backup-2.db", "--json"]);
    assert_exit(&out, 0);
    let listed: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(listed["backup"], "backup-2.db");
    assert_eq!(listed["also_back_up"].as_array().unwrap().len(), 4);

    // After the backup: alice is revoked (a revocation the restore rolls back).
    assert_exit(&gate.admin(&["revoke", "alice"]), 0);

    // Not while the gate runs.
    let out = gate.admin(&["restore", backup.to_str().unwrap()]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("a gate is running"),
        "{}",
        stderr(&out)
    );

    // Nor does a second gate start on the same data directory.
    let out = crate::util::run_in(gate.path(), &["serve", "--config", "gate.toml"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("a gate is running"),
        "{}",
        stderr(&out)
    );
    let lock = gate.path().join("data/serve.lock");
    assert_eq!(
        std::fs::metadata(lock).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let (status, dir) = gate.terminate();
    assert!(status.success());
    let admin = |args: &[&str]| {
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--config", "gate.toml"]);
        crate::util::run_in(dir.path(), &all)
    };

    // Files that are not shipgate backups are refused, the database untouched.
    std::fs::write(dir.path().join("notes.txt"), "hello\n").unwrap();
    let out = admin(&["restore", "notes.txt"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("is not a shipgate database backup"),
        "{}",
        stderr(&out)
    );
    let other = std::process::Command::new(python_with(&["sqlite3"]))
        .current_dir(dir.path())
        .args([
            "-c",
            "import sqlite3; sqlite3.connect('other.db').execute('CREATE TABLE t (x)')",
        ])
        .status()
        .unwrap();
    assert!(other.success());
    let out = admin(&["restore", "other.db"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("no `_sqlx_migrations` table"),
        "{}",
        stderr(&out)
    );

    let out = admin(&["restore", "backup-1.db"]);
    assert_exit(&out, 0);
    let report = stdout(&out);
    assert!(report.contains("revocations of: alice"), "{report}");
    assert!(
        report.contains("revoke again: shipgate admin revoke alice"),
        "{report}"
    );
    assert!(
        report.contains("the replaced database is kept as"),
        "{report}"
    );
    let aside: Vec<String> = std::fs::read_dir(dir.path().join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| {
            name.starts_with("gate.db.before-restore-")
                && !name.ends_with("-wal")
                && !name.ends_with("-shm")
        })
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    let (_, replaced_releases, _) = sqlite_facts(&dir.path().join("data").join(&aside[0]));
    assert_eq!(replaced_releases, total);
    let (integrity, releases, events) = sqlite_facts(&dir.path().join("data/gate.db"));
    assert_eq!(
        (integrity.as_str(), releases, events),
        ("ok", backed_up_releases, backed_up_events)
    );
    let mode = std::fs::metadata(dir.path().join("data/gate.db"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);

    // --json: the comparison for scripts (backup-2 is newer than backup-1).
    let out = admin(&["restore", "backup-2.db", "--json"]);
    assert_exit(&out, 0);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["events_rolled_back"], 0, "{report}");
    assert!(report["restored"]["newest_event_seq"].as_i64().unwrap() >= backed_up_events);
    assert!(
        report["kept_aside"]
            .as_str()
            .unwrap()
            .contains("gate.db.before-restore-")
    );

    // The restored gate serves, and its whole log verifies.
    let gate = Gate::start_in(dir);
    let out = gate.cli(
        &[],
        &[
            "log",
            "verify",
            "--gate",
            &gate.url,
            "--gate-key",
            "gate.pub",
            "--checkpoint",
            "restored.note",
            "--entries",
        ],
    );
    assert_exit(&out, 0);
    let out = gate.cli(&[], &["releases", "--gate", &gate.url, "--json"]);
    assert_exit(&out, 0);
}
