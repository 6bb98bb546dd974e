//! keygen, issue, publish, serve.

use serde_json::Value;

use super::{AUD, decode, issue, keygen, serve};
use crate::util::{assert_exit, http_get, run_in, stderr, stdout};

#[test]
fn keygen_writes_private_pem_files_named_by_creation_time() {
    let dir = tempfile::tempdir().unwrap();
    let kids: Vec<String> = ["RS256", "es256", "EdDSA"]
        .iter()
        .map(|alg| keygen(dir.path(), alg))
        .collect();
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("keys"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 3);
    for (name, tag) in names.iter().zip(["rs256", "es256", "eddsa"]) {
        assert!(name.ends_with(&format!("-{tag}.pem")), "{name}");
        let text = std::fs::read_to_string(dir.path().join("keys").join(name)).unwrap();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(dir.path().join("keys").join(&names[0])).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let meta = std::fs::metadata(dir.path().join("keys")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o700);
    }
    // kids are RFC 7638 thumbprints: 43 base64url characters, all distinct.
    for kid in &kids {
        assert_eq!(kid.len(), 43, "{kid}");
    }
    assert_ne!(kids[0], kids[1]);
}

#[test]
fn keygen_refuses_unknown_algorithms() {
    let dir = tempfile::tempdir().unwrap();
    for alg in ["HS256", "none", "PS256", ""] {
        let out = run_in(
            dir.path(),
            &["oidc", "keygen", "--dir", "keys", "--alg", alg],
        );
        assert_exit(&out, 2);
    }
    assert!(!dir.path().join("keys").exists());
}

#[test]
fn issue_prints_a_token_signed_by_the_newest_key() {
    let dir = tempfile::tempdir().unwrap();
    keygen(dir.path(), "RS256");
    let newest = keygen(dir.path(), "EdDSA");
    let token = issue(
        dir.path(),
        "https://ci.example.com",
        &[
            "--ttl",
            "90s",
            "--claim",
            "execution_id=9f2c",
            "--claim",
            "commit_sha=4e9b7dbc",
            "--claim",
            "pipeline_file=.semaphore/deploy.yml",
            "--claim",
            "url=https://x/?a=b",
        ],
    );
    let (header, claims) = decode(&token);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], newest.as_str());
    assert_eq!(header["typ"], "JWT");
    assert_eq!(claims["iss"], "https://ci.example.com");
    assert_eq!(claims["sub"], "execution:42");
    assert_eq!(claims["aud"], AUD);
    assert_eq!(claims["execution_id"], "9f2c");
    assert_eq!(claims["pipeline_file"], ".semaphore/deploy.yml");
    assert_eq!(claims["url"], "https://x/?a=b");
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(claims["nbf"].as_i64(), Some(iat));
    assert_eq!(claims["exp"].as_i64(), Some(iat + 90));
    let jti = claims["jti"].as_str().unwrap();
    assert_eq!(jti.len(), 22);
    let (_, again) = decode(&issue(dir.path(), "https://ci.example.com", &[]));
    assert_ne!(again["jti"], claims["jti"], "a random jti per token");
    assert_eq!(
        again["exp"].as_i64().unwrap() - again["iat"].as_i64().unwrap(),
        600
    );
}

#[test]
fn issue_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let base = |extra: &[&str]| {
        let mut args = vec![
            "oidc",
            "issue",
            "--keys",
            "keys",
            "--issuer",
            "https://ci.example.com",
            "--audience",
            AUD,
            "--subject",
            "s",
        ];
        args.extend_from_slice(extra);
        run_in(dir.path(), &args)
    };
    let out = base(&[]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("shipgate oidc keygen --dir keys"),
        "{}",
        stderr(&out)
    );
    keygen(dir.path(), "ES256");
    for (extra, message) in [
        (&["--ttl", "25h"][..], "between 1s and 24h"),
        (&["--ttl", "0s"], "between 1s and 24h"),
        (&["--ttl", "10"], "not a duration"),
        (&["--claim", "exp=1"], "set by the issuer"),
        (&["--claim", "aud=other"], "set by the issuer"),
        (&["--claim", "a=1", "--claim", "a=2"], "given twice"),
        (&["--claim", "novalue"], "KEY=VALUE"),
        (&["--claim", "=v"], "empty name"),
    ] {
        let out = base(extra);
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains(message),
            "{extra:?}: {}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty());
    }
    let out = run_in(
        dir.path(),
        &[
            "oidc",
            "issue",
            "--keys",
            "keys",
            "--issuer",
            "http://ci.example.com",
            "--audience",
            AUD,
            "--subject",
            "s",
        ],
    );
    assert_exit(&out, 2);
}

#[test]
fn a_broken_key_file_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    keygen(dir.path(), "EdDSA");
    std::fs::write(
        dir.path().join("keys/20990101T000000.000000000Z-rs256.pem"),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let out = run_in(
        dir.path(),
        &[
            "oidc",
            "publish",
            "--keys",
            "keys",
            "--issuer",
            "https://ci.example.com",
            "--out",
            "site",
        ],
    );
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("20990101T000000.000000000Z-rs256.pem"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn publish_writes_discovery_and_public_jwks() {
    let dir = tempfile::tempdir().unwrap();
    let kids = [
        keygen(dir.path(), "RS256"),
        keygen(dir.path(), "ES256"),
        keygen(dir.path(), "EdDSA"),
    ];
    let out = run_in(
        dir.path(),
        &[
            "oidc",
            "publish",
            "--keys",
            "keys",
            "--issuer",
            "https://ci.example.com/tenant",
            "--out",
            "site",
        ],
    );
    assert_exit(&out, 0);
    let read = |p: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(p)).unwrap()).unwrap()
    };
    let discovery = read("site/.well-known/openid-configuration");
    assert_eq!(discovery["issuer"], "https://ci.example.com/tenant");
    assert_eq!(
        discovery["jwks_uri"],
        "https://ci.example.com/tenant/.well-known/jwks.json"
    );
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256", "ES256", "EdDSA"])
    );
    let jwks = read("site/.well-known/jwks.json");
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    // Newest first; public members only.
    assert_eq!(keys[0]["kid"], kids[2].as_str());
    for key in keys {
        assert_eq!(key["use"], "sig");
        assert!(key["alg"].is_string() && key["kid"].is_string());
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(key.get(private).is_none());
        }
    }
}

#[test]
fn serve_answers_with_cache_headers_and_rereads_the_key_directory() {
    let dir = tempfile::tempdir().unwrap();
    let first = keygen(dir.path(), "ES256");
    let server = serve(dir.path());
    let (status, headers, body) =
        http_get(&format!("{}/.well-known/openid-configuration", server.url));
    assert_eq!(status, 200);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(header("cache-control"), "public, max-age=300");
    assert_eq!(header("content-type"), "application/json");
    let discovery: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        discovery["issuer"],
        server.url.as_str(),
        "port 0 took the bound port"
    );
    assert_eq!(
        discovery["jwks_uri"],
        format!("{}/.well-known/jwks.json", server.url)
    );

    let jwks = |url: &str| -> Vec<String> {
        let (status, _, body) = http_get(&format!("{url}/.well-known/jwks.json"));
        assert_eq!(status, 200);
        let v: Value = serde_json::from_str(&body).unwrap();
        v["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(jwks(&server.url), std::slice::from_ref(&first));
    // Rotation step 1: add a key; it is published without a restart.
    let second = keygen(dir.path(), "EdDSA");
    assert_eq!(jwks(&server.url), [second.clone(), first.clone()]);
    // Step 3: delete the old key file; it disappears.
    for entry in std::fs::read_dir(dir.path().join("keys")).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with("-es256.pem") {
            std::fs::remove_file(path).unwrap();
        }
    }
    assert_eq!(jwks(&server.url), std::slice::from_ref(&second));
    // A broken file: the last good keys keep being served.
    std::fs::write(
        dir.path().join("keys/20990101T000000.000000000Z-rs256.pem"),
        "junk",
    )
    .unwrap();
    assert_eq!(jwks(&server.url), [second]);
    let (status, _, _) = http_get(&format!("{}/.well-known/other", server.url));
    assert_eq!(status, 404);
}

#[test]
fn serve_refuses_to_start_without_keys() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    let out = run_in(
        dir.path(),
        &[
            "oidc",
            "serve",
            "--keys",
            "keys",
            "--issuer",
            "http://127.0.0.1:0",
            "--listen",
            "127.0.0.1:0",
        ],
    );
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("no key files"), "{}", stderr(&out));
}
