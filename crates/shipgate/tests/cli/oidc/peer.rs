//! Interoperability with PyJWT (+ `cryptography`), the reference peer:
//! PyJWT verifies shipgate-issued tokens against the published JWKS, and
//! `shipgate oidc verify` accepts tokens PyJWT signed with a key listed in a
//! JWKS that a Python HTTP server publishes, and refuses bad ones.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use super::{AUD, decode, issue, keygen, serve, verify};
use crate::util::{Listening, assert_exit, python_with, run_in, stderr, stdout};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cli/oidc_peer.py")
}

fn python() -> &'static PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON.get_or_init(|| python_with(&["jwt", "cryptography"]))
}

fn pyjwt(args: &[&str]) -> std::process::Output {
    Command::new(python())
        .arg(script())
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn pyjwt_verifies_shipgate_tokens_from_the_served_and_the_published_jwks() {
    let dir = tempfile::tempdir().unwrap();
    keygen(dir.path(), "RS256");
    let server = serve(dir.path());
    // One token per algorithm: each new key becomes the newest and signs;
    // the server picks up every key (it re-reads KEYDIR).
    let mut tokens = Vec::new();
    for alg in ["RS256", "ES256", "EdDSA"] {
        if alg != "RS256" {
            keygen(dir.path(), alg);
        }
        let token = issue(dir.path(), &server.url, &["--claim", "execution_id=e-1"]);
        assert_eq!(decode(&token).0["alg"], alg);
        tokens.push(token);
    }
    let expected: Vec<Value> = tokens.iter().map(|t| decode(t).1).collect();
    let parse = |out: &std::process::Output| -> Vec<Value> {
        assert!(out.status.success(), "PyJWT refused: {}", stderr(out));
        stdout(out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    // PyJWKClient fetching the JWKS from `shipgate oidc serve`.
    let jwks_url = format!("{}/.well-known/jwks.json", server.url);
    let mut args = vec!["verify-url", &jwks_url, &server.url, AUD];
    args.extend(tokens.iter().map(String::as_str));
    assert_eq!(parse(&pyjwt(&args)), expected);
    // PyJWKSet from the files `shipgate oidc publish` writes.
    let out = run_in(
        dir.path(),
        &[
            "oidc",
            "publish",
            "--keys",
            "keys",
            "--issuer",
            &server.url,
            "--out",
            "site",
        ],
    );
    assert_exit(&out, 0);
    let jwks = dir.path().join("site/.well-known/jwks.json");
    let jwks = jwks.to_str().unwrap();
    let mut args = vec!["verify-file", jwks, &server.url, AUD];
    args.extend(tokens.iter().map(String::as_str));
    assert_eq!(parse(&pyjwt(&args)), expected);
    // And PyJWT refuses them for another audience (the peer really checks).
    let out = pyjwt(&["verify-file", jwks, &server.url, "other", &tokens[0]]);
    assert!(!out.status.success());
}

#[test]
fn shipgate_accepts_pyjwt_tokens_and_refuses_the_bad_ones() {
    for alg in ["RS256", "ES256", "EdDSA"] {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        std::fs::create_dir(&site).unwrap();
        let mut cmd = Command::new(python());
        cmd.arg("-u")
            .arg(script())
            .args(["issuer", alg, site.to_str().unwrap(), AUD]);
        let issuer = Listening::spawn(cmd);
        let tokens: Value =
            serde_json::from_str(&std::fs::read_to_string(site.join("tokens.json")).unwrap())
                .unwrap();
        let token = |name: &str| tokens[name].as_str().unwrap().to_owned();

        let out = verify(
            dir.path(),
            &issuer.url,
            &token("valid"),
            &[
                "--expect",
                "node_id=deploy-prod",
                "--expect",
                "run=42",
                "--json",
            ],
        );
        assert_exit(&out, 0);
        let claims: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(claims["sub"], "execution:7");

        for bad in [
            "tampered_payload",
            "tampered_signature",
            "wrong_audience",
            "expired",
            "not_yet_valid",
            "no_exp",
            "wrong_issuer",
            "unknown_kid",
            "alg_none",
            "hs256_with_public_key",
            "other_key",
            "two_audiences",
            "string_exp",
        ] {
            let out = verify(dir.path(), &issuer.url, &token(bad), &[]);
            assert_exit(&out, 1);
            assert_eq!(
                stderr(&out),
                "error: token verification failed\n",
                "{alg} {bad}"
            );
        }
        let out = verify(
            dir.path(),
            &issuer.url,
            &token("valid"),
            &["--expect", "run=42.0"],
        );
        assert_exit(&out, 1);
        let out = verify(
            dir.path(),
            &issuer.url,
            &token("two_audiences"),
            &["--allow-extra-audiences"],
        );
        assert_exit(&out, 0);
    }
}
