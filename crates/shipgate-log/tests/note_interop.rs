//! Signed checkpoints interoperate with an independent implementation:
//! `tests/signed_note_reference.py` (Python, Ed25519 from `cryptography`)
//! verifies what Rust signs, and Rust verifies what Python signs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use shipgate_log::note;
use shipgate_log::{Checkpoint, Hash, NoteSigner, NoteVerifier, leaf_hash};

const ORIGIN: &str = "gate.example.com/log";

fn run_reference(batch: &Value) -> Value {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/signed_note_reference.py"
    );
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): the signed-note interop check needs Python 3 with `cryptography` (.ci/requirements.txt)"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&serde_json::to_vec(batch).unwrap())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python signed-note reference failed:\n{stderr}"
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn python_verifies_rust_checkpoints_and_rejects_tampered_ones() {
    let signer = NoteSigner::from_ed25519_seed(ORIGIN, &[3; 32]).unwrap();
    let vkey = signer.verifier().to_string();
    let plain = Checkpoint::new(ORIGIN, 5, leaf_hash(b"five"))
        .sign(&signer)
        .unwrap();
    let mut with_extension = Checkpoint::new(ORIGIN, 0, Hash::EMPTY_ROOT);
    with_extension.extensions = vec!["extension line".into()];
    let with_extension = with_extension.sign(&signer).unwrap();
    // Cosigned by a witness Python does not know: it must skip that line.
    let witness = NoteSigner::from_ed25519_seed("witness.example", &[4; 32]).unwrap();
    let text = Checkpoint::new(ORIGIN, 77, leaf_hash(b"77"))
        .to_text()
        .unwrap();
    let cosigned = note::sign(&text, &[&witness, &signer]).unwrap();
    let tampered = plain.replacen("\n5\n", "\n6\n", 1);
    let other_key = NoteSigner::from_ed25519_seed(ORIGIN, &[5; 32]).unwrap();
    let foreign = Checkpoint::new(ORIGIN, 5, leaf_hash(b"five"))
        .sign(&other_key)
        .unwrap();

    let cases = [&plain, &with_extension, &cosigned, &tampered, &foreign];
    let batch = json!({
        "verify": cases.iter().map(|n| json!({"vkey": vkey, "note": n, "origin": ORIGIN})).collect::<Vec<_>>(),
    });
    let result = run_reference(&batch);
    let verified = result["verified"].as_array().unwrap();
    assert_eq!(
        verified[0],
        json!({"ok": true, "size": 5, "root": leaf_hash(b"five").to_base64(), "extensions": []})
    );
    assert_eq!(
        verified[1],
        json!({"ok": true, "size": 0, "root": Hash::EMPTY_ROOT.to_base64(), "extensions": ["extension line"]})
    );
    assert_eq!(verified[2]["ok"], json!(true));
    assert_eq!(verified[2]["size"], json!(77));
    assert_eq!(
        verified[3],
        json!({"ok": false, "error": "bad signature by the trusted key"})
    );
    assert_eq!(
        verified[4],
        json!({"ok": false, "error": "not signed by the trusted key"})
    );
}

#[test]
fn rust_verifies_python_checkpoints() {
    let seed = [9u8; 32];
    let root = leaf_hash(b"python");
    let text = format!("{ORIGIN}\n123456789\n{}\n", root.to_base64());
    let result = run_reference(&json!({
        "sign": [{"name": ORIGIN, "seed": hex::encode(seed), "text": text}],
    }));
    let signed = &result["signed"][0];
    let vkey: NoteVerifier = signed["vkey"].as_str().unwrap().parse().unwrap();
    let python_note = signed["note"].as_str().unwrap();
    let checkpoint = Checkpoint::open(python_note.as_bytes(), ORIGIN, &vkey).unwrap();
    assert_eq!(checkpoint, Checkpoint::new(ORIGIN, 123456789, root));

    // Same seed in Rust: same verifier key string and, Ed25519 being
    // deterministic, the same note byte for byte.
    let rust_signer = NoteSigner::from_ed25519_seed(ORIGIN, &seed).unwrap();
    assert_eq!(rust_signer.verifier(), vkey);
    assert_eq!(checkpoint.sign(&rust_signer).unwrap(), python_note);
}
