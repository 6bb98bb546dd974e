//! `shipgate oidc ...` end to end: the real binary, real files, real HTTP on
//! loopback (`shipgate oidc serve`, and PyJWT's side in `peer.rs`).

mod commands;
mod peer;
mod verify;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::util::{Listening, assert_exit, run_in, shipgate, stdout};

pub const AUD: &str = "deploy";

/// `shipgate oidc keygen --dir DIR --alg ALG`; returns the kid.
pub fn keygen(dir: &Path, alg: &str) -> String {
    let out = run_in(
        dir,
        &["oidc", "keygen", "--dir", "keys", "--alg", alg, "--json"],
    );
    assert_exit(&out, 0);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    v["kid"].as_str().unwrap().to_owned()
}

/// `shipgate oidc serve` on a free port for DIR/keys.
pub fn serve(dir: &Path) -> Listening {
    let mut cmd = shipgate();
    cmd.current_dir(dir).args([
        "oidc",
        "serve",
        "--keys",
        "keys",
        "--issuer",
        "http://127.0.0.1:0",
        "--listen",
        "127.0.0.1:0",
    ]);
    Listening::spawn(cmd)
}

/// `shipgate oidc issue` with DIR/keys; returns the token.
pub fn issue(dir: &Path, issuer: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "oidc",
        "issue",
        "--keys",
        "keys",
        "--issuer",
        issuer,
        "--audience",
        AUD,
        "--subject",
        "execution:42",
    ];
    args.extend_from_slice(extra);
    let out = run_in(dir, &args);
    assert_exit(&out, 0);
    let token = stdout(&out).trim().to_owned();
    assert_eq!(token.matches('.').count(), 2, "{token}");
    token
}

/// `shipgate oidc verify --issuer ISSUER --audience deploy ARGS` with the
/// token in SHIPGATE_OIDC_TOKEN and the JWKS cache in DIR/cache.
pub fn verify(dir: &Path, issuer: &str, token: &str, extra: &[&str]) -> Output {
    verify_cmd(dir, issuer, token, extra).output().unwrap()
}

fn verify_cmd(dir: &Path, issuer: &str, token: &str, extra: &[&str]) -> Command {
    let mut cmd = shipgate();
    cmd.current_dir(dir)
        .env("SHIPGATE_OIDC_TOKEN", token)
        .env("SHIPGATE_CACHE_DIR", dir.join("cache"))
        .args(["oidc", "verify", "--issuer", issuer, "--audience", AUD])
        .args(extra);
    cmd
}

/// Decodes unpadded base64url (test helper; the binary has its own).
pub fn b64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'-' => 62,
            b'_' => 63,
            _ => panic!("not base64url: {c}"),
        }
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes() {
        acc = (acc << 6) | value(c);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

pub fn b64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// The JSON of a token's header and payload.
pub fn decode(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let header = serde_json::from_slice(&b64_decode(parts.next().unwrap())).unwrap();
    let payload = serde_json::from_slice(&b64_decode(parts.next().unwrap())).unwrap();
    (header, payload)
}
