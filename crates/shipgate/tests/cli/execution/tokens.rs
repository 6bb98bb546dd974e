//! `POST /v1/releases/{id}/execution-token` and the gate's OIDC documents.

use super::{CI_AUD, REFUSED, RUN, SHA, Setup, body_json};
use crate::gate_util::error_code;
use crate::util::{assert_exit, http_get, python_with, stderr, stdout};

/// Verifies `token` with PyJWT against the JWKS the gate's discovery
/// document names (an independent JWT implementation); prints the claims.
const PYJWT_VERIFY: &str = r#"
import json, sys, urllib.request
import jwt
issuer, audience, token = sys.argv[1:4]
discovery = json.load(urllib.request.urlopen(issuer + "/.well-known/openid-configuration"))
assert discovery["issuer"] == issuer, discovery
key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(token)
claims = jwt.decode(token, key.key, algorithms=discovery["id_token_signing_alg_values_supported"],
                    audience=audience, issuer=issuer,
                    options={"require": ["exp", "iat", "nbf", "jti", "sub"]})
print(json.dumps(claims))
"#;

/// The kinds and details of the gate's events, read with Python's sqlite3
/// (not through the gate).
fn events(setup: &Setup) -> Vec<(String, serde_json::Value)> {
    const SCRIPT: &str = "import json,sqlite3,sys\n\
db=sqlite3.connect(sys.argv[1])\n\
print(json.dumps([[k,json.loads(d)] for k,d in db.execute('SELECT kind, detail FROM events ORDER BY seq')]))";
    let out = std::process::Command::new(crate::util::peer("python3"))
        .args(["-c", SCRIPT])
        .arg(setup.gate.path().join("data/gate.db"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice::<Vec<(String, serde_json::Value)>>(&out.stdout).unwrap()
}

#[test]
fn a_released_release_gets_a_token_that_shipgate_and_pyjwt_verify() {
    let setup = Setup::start("");
    let id = setup.stage("hello", "1.0.0", &setup.hello_token("1.0.0", &[]));
    setup.decide(&setup.alice, id, 0, None);

    // The gate is an OIDC issuer at its public URL.
    let (status, headers, body) = http_get(&format!(
        "{}/.well-known/openid-configuration",
        setup.gate.url
    ));
    assert_eq!(status, 200, "{body}");
    let discovery = body_json(&body);
    assert_eq!(discovery["issuer"], setup.gate.url.as_str());
    assert_eq!(
        discovery["jwks_uri"],
        format!("{}/.well-known/jwks.json", setup.gate.url)
    );
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"][0],
        "RS256"
    );
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "cache-control" && v.contains("max-age=300")),
        "{headers:?}"
    );
    let (status, headers, body) = http_get(&format!("{}/.well-known/jwks.json", setup.gate.url));
    assert_eq!(status, 200);
    assert!(headers.iter().any(|(k, _)| k == "cache-control"));
    assert_eq!(body_json(&body)["keys"].as_array().unwrap().len(), 1);

    // The run that staged it asks again, with a fresh CI token.
    let (status, body) = setup.request_token(id, Some(&setup.hello_token("1.0.0", &[])));
    assert_eq!(status, 200, "{body}");
    let answer = body_json(&body);
    let token = answer["token"].as_str().unwrap().to_owned();
    assert_eq!(answer["audience"], "deploy:hello");
    assert_eq!(answer["issuer"], setup.gate.url.as_str());

    // A deploy step: the digest of the manifest it fetched, and its commit.
    let digest = setup.fetch_manifest_digest("hello", "1.0.0", "fetched");
    assert_eq!(answer["digest"], digest.as_str());
    let expect_digest = format!("digest={digest}");
    let expect_commit = format!("commit_sha={SHA}");
    let out = setup.verify(
        &token,
        "deploy:hello",
        &[
            "--expect",
            &expect_digest,
            "--expect",
            &expect_commit,
            "--expect",
            "package=hello",
            "--expect",
            "version=1.0.0",
            "--expect",
            "repository=acme/hello",
            "--json",
        ],
    );
    assert_exit(&out, 0);
    let claims: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(claims["sub"], "release:hello@1.0.0");
    assert_eq!(claims["release_id"], id);
    assert_eq!(claims["run_id"], RUN);
    assert_eq!(claims["ref"], "refs/tags/v1.0.0");
    assert_eq!(claims["approved_by"], serde_json::json!(["alice"]));
    // The token names the released files: what a deploy step receives is
    // checked against these, not only the manifest's digest.
    let staged = std::fs::read(setup.gate.path().join("hello-1.0.0.tar.gz")).unwrap();
    assert_eq!(
        claims["files"],
        serde_json::json!([{
            "name": "hello-1.0.0.tar.gz",
            "sha256": crate::gate_util::sha256_hex(&staged),
        }])
    );
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert_eq!(lifetime, 600, "the documented default of 10 minutes");

    // Another digest, another commit, another audience: refused, one line.
    let other_digest = format!("digest={}", "0".repeat(64));
    let other_commit = format!("commit_sha={}", "1".repeat(40));
    for (audience, expect) in [
        ("deploy:hello", other_digest.as_str()),
        ("deploy:hello", other_commit.as_str()),
        ("deploy:other", expect_digest.as_str()),
        ("deploy:hello", "package=other"),
    ] {
        let out = setup.verify(&token, audience, &["--expect", expect]);
        assert_exit(&out, 1);
        assert_eq!(stderr(&out).trim(), "error: token verification failed");
    }

    // PyJWT, from the discovery document and JWKS alone.
    let python = python_with(&["jwt", "cryptography"]);
    let out = std::process::Command::new(python)
        .args(["-c", PYJWT_VERIFY, &setup.gate.url, "deploy:hello", &token])
        .output()
        .unwrap();
    assert!(out.status.success(), "PyJWT: {}", stderr(&out));
    let py: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(py, claims);
    // PyJWT refuses it for another audience.
    let out = std::process::Command::new(crate::util::peer("python3"))
        .args(["-c", PYJWT_VERIFY, &setup.gate.url, "deploy:other", &token])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("InvalidAudienceError"),
        "{}",
        stderr(&out)
    );

    // Recorded as an event with the token id, next to the others.
    let events: Vec<_> = events(&setup)
        .into_iter()
        .filter(|(kind, _)| kind != "maintainer_enrolled" && kind != "package_policy")
        .collect();
    let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        ["staged", "approved", "released", "execution_token_issued"],
        "{events:?}"
    );
    assert_eq!(events[3].1["jti"], claims["jti"]);
    assert_eq!(events[3].1["audience"], "deploy:hello");
    assert_eq!(events[3].1["digest"], digest.as_str());

    // The package's configured audience is used.
    let id = setup.stage(
        "other",
        "2.0.0",
        &setup
            .ci
            .github_token(CI_AUD, "acme/other", "43", "2.0.0", &[]),
    );
    setup.decide(&setup.carol, id, 0, None);
    let (status, body) = setup.request_token(
        id,
        Some(
            &setup
                .ci
                .github_token(CI_AUD, "acme/other", "43", "2.0.0", &[]),
        ),
    );
    assert_eq!(status, 200, "{body}");
    let token = body_json(&body)["token"].as_str().unwrap().to_owned();
    let out = setup.verify(
        &token,
        "https://deploy.example/other",
        &["--expect", "package=other"],
    );
    assert_exit(&out, 0);
}

#[test]
fn only_the_run_that_staged_a_released_release_gets_a_token() {
    let setup = Setup::start("");
    let staged_token = setup.hello_token("1.0.0", &[]);
    let id = setup.stage("hello", "1.0.0", &staged_token);
    let refused = |status: u16, body: &str| {
        assert_eq!(status, 401, "{body}");
        assert_eq!(error_code(body), "unauthorized");
        assert_eq!(body_json(body)["error"]["message"], REFUSED);
    };

    // Not released yet: a clear 409, and the CI token is not used up by it.
    let early = setup.hello_token("1.0.0", &[]);
    let (status, body) = setup.request_token(id, Some(&early));
    assert_eq!(status, 409, "{body}");
    assert_eq!(error_code(&body), "conflict");
    assert!(body.contains("is staged"), "{body}");

    // Unknown and malformed ids.
    let (status, _) = setup.request_token(99, Some(&early));
    assert_eq!(status, 404);
    let (status, body) = setup.gate.request(
        "POST",
        "/v1/releases/x/execution-token",
        Some(&early),
        None,
        b"",
    );
    assert_eq!(status, 400, "{body}");

    setup.decide(&setup.alice, id, 0, None);
    // Refused credentials, each with the generic answer.
    let (status, body) = setup.request_token(id, None);
    refused(status, &body);
    let (status, body) = setup.request_token(id, Some(&setup.alice.0));
    refused(status, &body);
    let cases: [(&str, String); 6] = [
        // Another package's trusted publisher.
        (
            "no trusted-publisher binding of hello matches",
            setup
                .ci
                .github_token(CI_AUD, "acme/other", "43", "1.0.0", &[]),
        ),
        // Another repository allowed to stage hello, but not this release.
        (
            "`repository` is \"acme/hello-mirror\"",
            setup
                .ci
                .github_token(CI_AUD, "acme/hello-mirror", "42", "1.0.0", &[]),
        ),
        // Another run of the same workflow.
        (
            "`run_id` is \"1\"",
            setup.hello_token("1.0.0", &["run_id=1"]),
        ),
        // Another commit.
        (
            "`commit_sha`",
            setup.hello_token("1.0.0", &[&format!("sha={}", "c".repeat(40))]),
        ),
        // A token minted for another audience than the gate's.
        (
            "audience is not",
            setup
                .ci
                .github_token("deploy:hello", "acme/hello", "42", "1.0.0", &[]),
        ),
        // The token that staged it (its jti is burned).
        ("already used", staged_token.clone()),
    ];
    for (why, token) in &cases {
        let (status, body) = setup.request_token(id, Some(token));
        refused(status, &body);
        assert!(
            setup.gate.log().contains(why),
            "{why:?} not in the log:\n{}",
            setup.gate.log()
        );
    }
    let expired = setup.ci.expired_token(CI_AUD, "acme/hello", "42");
    let (status, body) = setup.request_token(id, Some(&expired));
    refused(status, &body);
    // Hostile bearers: garbage, a forged signature, a huge token, alg none.
    let good = setup.hello_token("1.0.0", &[]);
    let (head, rest) = good.split_once('.').unwrap();
    let (payload, _) = rest.split_once('.').unwrap();
    let none_header = crate::oidc::b64_encode(br#"{"alg":"none","typ":"JWT"}"#);
    for hostile in [
        "not-a-token".to_owned(),
        format!("{head}.{payload}.AAAA"),
        format!("{none_header}.{payload}."),
        format!("{head}.{}.x", "A".repeat(20_000)),
        "eyJ.eyJ.eyJ".to_owned(),
    ] {
        let (status, body) = setup.request_token(id, Some(&hostile));
        refused(status, &body);
    }

    // The token refused while staged still works now, once.
    let (status, body) = setup.request_token(id, Some(&early));
    assert_eq!(status, 200, "{body}");
    let (status, body) = setup.request_token(id, Some(&early));
    refused(status, &body);

    // A rejected release gets no token.
    let id = setup.stage("hello", "1.1.0", &setup.hello_token("1.1.0", &[]));
    setup.decide(&setup.bob, id, 0, Some("wrong changelog"));
    let (status, body) = setup.request_token(id, Some(&setup.hello_token("1.1.0", &[])));
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("is rejected"), "{body}");
}

#[test]
fn keys_rotate_while_the_gate_runs_and_old_tokens_keep_verifying() {
    // The configured algorithm is the one generated on first start.
    let setup = Setup::start("[execution_tokens]\nalgorithm = \"EdDSA\"\nttl = \"2m\"\n");
    let first_id = setup.stage("hello", "1.0.0", &setup.hello_token("1.0.0", &[]));
    setup.decide(&setup.alice, first_id, 0, None);
    let (status, body) = setup.request_token(first_id, Some(&setup.hello_token("1.0.0", &[])));
    assert_eq!(status, 200, "{body}");
    let old = body_json(&body)["token"].as_str().unwrap().to_owned();
    let (old_header, old_claims) = crate::oidc::decode(&old);
    assert_eq!(old_header["alg"], "EdDSA");
    assert_eq!(
        old_claims["exp"].as_u64().unwrap() - old_claims["iat"].as_u64().unwrap(),
        120
    );
    // A verifier caches the JWKS that has only this key.
    let out = setup.verify(&old, "deploy:hello", &[]);
    assert_exit(&out, 0);

    // The operator adds a key, as the README says; no restart.
    let out = crate::util::run_in(
        setup.gate.path(),
        &[
            "oidc",
            "keygen",
            "--dir",
            "data/oidc-keys",
            "--alg",
            "ES256",
        ],
    );
    assert_exit(&out, 0);
    let id = setup.stage("hello", "1.1.0", &setup.hello_token("1.1.0", &[]));
    setup.decide(&setup.bob, id, 0, None);
    let (status, body) = setup.request_token(id, Some(&setup.hello_token("1.1.0", &[])));
    assert_eq!(status, 200, "{body}");
    let new = body_json(&body)["token"].as_str().unwrap().to_owned();
    let (new_header, _) = crate::oidc::decode(&new);
    assert_eq!(new_header["alg"], "ES256");
    assert_ne!(new_header["kid"], old_header["kid"]);

    let (_, _, jwks) = http_get(&format!("{}/.well-known/jwks.json", setup.gate.url));
    let jwks = body_json(&jwks);
    assert_eq!(jwks["keys"][0]["kid"], new_header["kid"], "newest first");
    assert_eq!(jwks["keys"][1]["kid"], old_header["kid"]);
    // That verifier fetches the new key on its unknown kid; a fresh one
    // verifies both.
    let out = setup.verify(&new, "deploy:hello", &[]);
    assert_exit(&out, 0);
    for token in [&old, &new] {
        let out = setup.verify(
            token,
            "deploy:hello",
            &["--no-cache", "--expect", "package=hello"],
        );
        assert_exit(&out, 0);
    }
}

#[test]
fn a_gate_whose_public_url_cannot_be_an_issuer_refuses_tokens_with_501() {
    let ci = crate::gate_util::CiIssuer::start();
    let text = super::config(&ci.url, "").replace(
        "public_url = \"http://127.0.0.1:0\"",
        "public_url = \"http://gate.internal:8080\"",
    );
    let gate = crate::gate_util::Gate::start(&text);
    let (alice, secret) = crate::gate_util::enroll(&gate, "alice", "hello");
    let token = ci.github_token(CI_AUD, "acme/hello", "42", "1.0.0", &[]);
    std::fs::write(gate.path().join("a.txt"), b"a").unwrap();
    let out = crate::util::shipgate()
        .current_dir(gate.path())
        .env("SHIPGATE_OIDC_TOKEN", &token)
        .args([
            "stage",
            "--gate",
            &gate.url,
            "--package",
            "hello",
            "--version",
            "1.0.0",
            "a.txt",
        ])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let out = crate::util::shipgate()
        .current_dir(gate.path())
        .env("SHIPGATE_MAINTAINER_TOKEN", &alice)
        .args([
            "approve",
            "1",
            "--gate",
            &gate.url,
            "--code",
            &crate::gate_util::totp(&secret, 0),
        ])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let fresh = ci.github_token(CI_AUD, "acme/hello", "42", "1.0.0", &[]);
    let (status, body) = gate.request(
        "POST",
        "/v1/releases/1/execution-token",
        Some(&fresh),
        None,
        b"",
    );
    assert_eq!(status, 501, "{body}");
    assert_eq!(error_code(&body), "not_implemented");
    assert!(body.contains("public_url"), "{body}");
    let (status, _) = gate.get("/.well-known/openid-configuration");
    assert_eq!(status, 404);
    assert!(
        gate.log().contains("does not issue execution tokens"),
        "{}",
        gate.log()
    );
    assert!(!gate.path().join("data/oidc-keys").exists());
}
