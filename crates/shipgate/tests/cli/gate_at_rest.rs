//! Secrets at rest: the data directory and database files are private, TOTP
//! secrets are sealed (a copy of the database files alone reveals none), a
//! plain secret left by an older gate is sealed on start, and a gate whose
//! secrets are readable by other users refuses to start.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;

use crate::gate_util::{Gate, default_config, enroll};
use crate::util::{assert_exit, run_in, stderr};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Every file below `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// RFC 4648 base32 (no padding) decoding of a TOTP secret.
fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|&c| c != b'=') {
        let value = ALPHABET.iter().position(|&a| a == c).unwrap() as u64;
        bits = (bits << 5) | value;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

/// Asserts that no file below `data` holds `secret` in base32 (either case)
/// or its raw bytes.
fn assert_secret_absent(data: &Path, secret: &str) {
    let raw = base32_decode(secret);
    assert!(raw.len() >= 10, "{secret}");
    let needles = [
        secret.as_bytes().to_vec(),
        secret.to_ascii_lowercase().into_bytes(),
        raw.clone(),
        base64::engine::general_purpose::STANDARD
            .encode(&raw)
            .into_bytes(),
    ];
    for file in files(data) {
        let bytes = std::fs::read(&file).unwrap();
        for needle in &needles {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
                "{} holds the TOTP secret {secret}",
                file.display()
            );
        }
    }
}

#[test]
fn totp_secrets_are_sealed_and_the_data_files_private() {
    let gate = Gate::start(&default_config(""));
    let (_, alice) = enroll(&gate, "alice", "hello");
    let (_, bob) = enroll(&gate, "bob", "hello");
    let data = gate.path().join("data");
    assert_eq!(mode(&data), 0o700);
    for name in ["gate.db", "gate.db-wal", "gate.db-shm"] {
        let path = data.join(name);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{name}");
        }
    }
    assert_eq!(mode(&gate.path().join("secrets.key")), 0o600);
    assert_secret_absent(&data, &alice);
    assert_secret_absent(&data, &bob);
    let (status, dir) = gate.terminate();
    assert!(status.success());
    // After a clean shutdown too (the WAL checkpointed into gate.db).
    assert_secret_absent(&dir.path().join("data"), &alice);
}

#[test]
fn a_plain_secret_left_by_an_older_gate_is_sealed_on_start() {
    let gate = Gate::start(&default_config(""));
    let (_, alice) = enroll(&gate, "alice", "hello");
    let (_, dir) = gate.terminate();
    let data = dir.path().join("data");
    // An older gate: plain secret in the row, database file mode 0644.
    let db = data.join("gate.db");
    shipgate_gate::block_on(async {
        use sqlx::Connection;
        let url = format!("sqlite://{}", db.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("UPDATE maintainers SET totp_secret = ? WHERE name = 'alice'")
            .bind(&alice)
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    })
    .unwrap();
    chmod(&db, 0o644);

    let gate = Gate::start_in(dir);
    assert!(gate.log().contains("sealed TOTP secrets"), "{}", gate.log());
    assert_eq!(mode(&data_of(&gate).join("gate.db")), 0o600);
    assert_secret_absent(&data_of(&gate), &alice);
    // The sealed row opens to the same secret with the key file.
    let stored: String = shipgate_gate::block_on(async {
        use sqlx::Connection;
        let url = format!(
            "sqlite://{}?mode=ro",
            data_of(&gate).join("gate.db").display()
        );
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_scalar("SELECT totp_secret FROM maintainers WHERE name = 'alice'")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    })
    .unwrap();
    let key = shipgate_gate::secrets::SecretsKey::load_or_create(&gate.path().join("secrets.key"))
        .unwrap();
    assert_eq!(key.open("alice", &stored).unwrap(), alice);
}

fn data_of(gate: &Gate) -> PathBuf {
    gate.path().join("data")
}

/// `shipgate serve` in `dir`: exit 2 and the one line naming `file` and
/// the chmod that fixes it.
fn assert_refuses_to_start(dir: &Path, file: &Path, fix: &str) {
    let out = run_in(dir, &["serve", "--config", "gate.toml"]);
    assert_exit(&out, 2);
    let text = stderr(&out);
    let name = file.file_name().unwrap().to_str().unwrap();
    let fix_line = text
        .lines()
        .find(|l| l.contains(&format!("chmod {fix} ")))
        .unwrap_or_else(|| panic!("no `chmod {fix}` in:\n{text}"));
    assert!(fix_line.contains(name), "{text}");
}

#[test]
fn secrets_readable_by_other_users_stop_the_gate_from_starting() {
    let gate = Gate::start(&default_config(""));
    enroll(&gate, "alice", "hello");
    let (_, dir) = gate.terminate();
    let root = dir.path().canonicalize().unwrap();

    let key = root.join("gate.key");
    chmod(&key, 0o644);
    assert_refuses_to_start(&root, &key, "600");
    chmod(&key, 0o600);

    let secrets = root.join("secrets.key");
    chmod(&secrets, 0o640);
    assert_refuses_to_start(&root, &secrets, "600");
    chmod(&secrets, 0o600);

    let data = root.join("data");
    chmod(&data, 0o755);
    assert_refuses_to_start(&root, &data, "700");
    chmod(&data, 0o700);

    let keys = data.join("oidc-keys");
    if keys.exists() {
        chmod(&keys, 0o755);
        assert_refuses_to_start(&root, &keys, "700");
        chmod(&keys, 0o700);
    }

    // Fixed as the messages said: it starts again.
    let gate = Gate::start_in(dir);
    assert!(gate.log().contains("listening") || !gate.url.is_empty());
}
