//! Execution tokens from the gate (issue 6, section 2), end to end: a real
//! `shipgate serve`, a real stand-in CI provider (`shipgate oidc serve`),
//! CI tokens from `shipgate oidc issue`, the gate's tokens checked with
//! `shipgate oidc verify` and with PyJWT; `shipgate stage --wait`; and the
//! README's GitHub Actions example run through `shipgate audit`.

mod readme_workflow;
mod stage_wait;
mod tokens;

use std::process::Output;

use serde_json::Value;

use crate::gate_util::{
    ANY_ENVIRONMENT_AND_REF, CiIssuer, Gate, enroll, github_publisher, hello_publisher, json,
    sha256_hex, totp,
};
use crate::util::assert_exit;

/// The gate's announced audience for CI tokens.
pub const CI_AUD: &str = "shipgate-test";
/// The commit the stand-in CI tokens name by default (`CiIssuer::github_token`).
pub const SHA: &str = "4e9b7dbc0c1d2e3f40516273849506a7b8c9d0e1";
/// The run id the stand-in CI tokens name by default.
pub const RUN: &str = "987654321";
/// The one message every refused credential gets.
pub const REFUSED: &str = "the credentials were refused (the gate does not say why; its operator finds the reason in the server log)";

/// A gate whose `public_url` names its real port (the issuer verifiers
/// reach): `hello` (maintainers alice, bob, erin; quorum 1) may be staged
/// from acme/hello (environment `release`, tags `v*`) or from
/// acme/hello-mirror; `other` (carol) from acme/other. `extra` is appended
/// (root tables such as `[execution_tokens]`).
pub fn config(issuer: &str, extra: &str) -> String {
    format!(
        r#"listen = "127.0.0.1:0"
public_url = "http://127.0.0.1:0"
data_dir = "data"
gate_key = "gate.key"
audience = "{CI_AUD}"
max_upload_bytes = 1048576

[[package]]
name = "hello"
maintainers = ["alice", "bob", "erin"]
quorum = 1

{hello}
{mirror}
[[package]]
name = "other"
maintainers = ["carol"]
execution_audience = "https://deploy.example/other"

{other}
{extra}
"#,
        hello = hello_publisher(issuer),
        mirror = github_publisher(issuer, "acme/hello-mirror", "42", ANY_ENVIRONMENT_AND_REF),
        other = github_publisher(issuer, "acme/other", "43", ANY_ENVIRONMENT_AND_REF),
    )
}

/// A running gate with its CI provider and enrolled maintainers.
pub struct Setup {
    pub ci: CiIssuer,
    pub gate: Gate,
    /// (maintainer token, TOTP secret) of alice, bob (hello) and carol (other).
    pub alice: (String, String),
    pub bob: (String, String),
    pub carol: (String, String),
}

impl Setup {
    pub fn start(extra: &str) -> Setup {
        let ci = CiIssuer::start();
        let gate = Gate::start(&config(&ci.url, extra));
        let alice = enroll(&gate, "alice", "hello");
        let bob = enroll(&gate, "bob", "hello");
        let carol = enroll(&gate, "carol", "other");
        Setup {
            ci,
            gate,
            alice,
            bob,
            carol,
        }
    }

    /// A CI token of acme/hello's release run for tag v`version` (see
    /// `CiIssuer::github_token`; `extra` overrides claims).
    pub fn hello_token(&self, version: &str, extra: &[&str]) -> String {
        self.ci
            .github_token(CI_AUD, "acme/hello", "42", version, extra)
    }

    /// Runs the CLI in the gate's directory with a clean credential environment.
    pub fn cli(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        self.gate.cli(env, args)
    }

    /// Stages `package version` (one file) with `token`; returns the release id.
    pub fn stage(&self, package: &str, version: &str, token: &str) -> i64 {
        let file = format!("{package}-{version}.tar.gz");
        std::fs::write(
            self.gate.path().join(&file),
            format!("{package} {version}\n").repeat(100),
        )
        .unwrap();
        let out = self.gate.stage(token, package, version, &["--json", &file]);
        assert_exit(&out, 0);
        json(&out)["id"].as_i64().unwrap()
    }

    /// Approves (or, with a reason, rejects) release `id` as `who` with the
    /// TOTP code `step` steps from now (a code is usable once per maintainer).
    pub fn decide(&self, who: &(String, String), id: i64, step: i64, reason: Option<&str>) {
        let id = id.to_string();
        let code = totp(&who.1, step);
        let mut args = vec![
            if reason.is_some() {
                "reject"
            } else {
                "approve"
            },
            &id,
            "--gate",
            &self.gate.url,
            "--code",
            &code,
        ];
        if let Some(reason) = reason {
            args.extend_from_slice(&["--reason", reason]);
        }
        let out = self.cli(&[("SHIPGATE_MAINTAINER_TOKEN", &who.0)], &args);
        assert_exit(&out, 0);
    }

    /// `POST /v1/releases/{id}/execution-token` with `bearer`: (status, body).
    pub fn request_token(&self, id: i64, bearer: Option<&str>) -> (u16, String) {
        self.gate.request(
            "POST",
            &format!("/v1/releases/{id}/execution-token"),
            bearer,
            None,
            b"",
        )
    }

    /// Fetches `package version` pinned to the gate key; returns the SHA-256
    /// of the fetched signed manifest (what a deploy step expects as `digest`).
    pub fn fetch_manifest_digest(&self, package: &str, version: &str, out_dir: &str) -> String {
        let out = self.cli(
            &[],
            &[
                "fetch",
                "--gate",
                &self.gate.url,
                package,
                version,
                "--out",
                out_dir,
                "--gate-key",
                "gate.pub",
            ],
        );
        assert_exit(&out, 0);
        sha256_hex(
            &std::fs::read(self.gate.path().join(out_dir).join("shipgate.manifest")).unwrap(),
        )
    }

    /// `shipgate oidc verify --issuer GATE --audience AUD --token-file FILE ARGS`.
    pub fn verify(&self, token: &str, audience: &str, extra: &[&str]) -> Output {
        let file = self.gate.path().join("execution.jwt");
        std::fs::write(&file, token).unwrap();
        let mut args = vec![
            "oidc",
            "verify",
            "--issuer",
            &self.gate.url,
            "--audience",
            audience,
            "--token-file",
            "execution.jwt",
        ];
        args.extend_from_slice(extra);
        self.cli(&[], &args)
    }

    /// The shell command that mints a fresh acme/hello CI token for tag
    /// v`version` with the real `shipgate oidc issue` (for `--token-command`).
    pub fn mint_command(&self, version: &str, extra: &[&str]) -> String {
        let keys = self.ci.dir.path().join("keys").display().to_string();
        let args = self
            .ci
            .issue_args(&keys, CI_AUD, "acme/hello", "42", version, extra);
        std::iter::once(env!("CARGO_BIN_EXE_shipgate").to_owned())
            .chain(args)
            .map(|w| format!("'{}'", w.replace('\'', r"'\''")))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Parses a response body as JSON.
pub fn body_json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}
