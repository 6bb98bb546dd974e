//! `shipgate release download`: the maintainers of a package download a
//! release's files as staged, checked against the announced digests; the
//! staged bytes stay private to them (no token, a CI token or another
//! package's maintainer is refused), and a file whose stored bytes changed
//! ends the download with exit 1 naming it.

use crate::gate_util::{CiIssuer, Gate, bound_config, enroll, sha256_hex};
use crate::util::{assert_exit, stderr, stdout};

#[test]
fn maintainers_download_staged_files_and_nobody_else_does() {
    let ci = CiIssuer::start();
    let gate = Gate::start(&bound_config(&ci.url));
    let (alice, _) = enroll(&gate, "alice", "hello");
    let (carol, _) = enroll(&gate, "carol", "other");
    let bytes = b"the staged bytes\n".repeat(1000);
    std::fs::write(gate.path().join("hello-1.0.0.tar.gz"), &bytes).unwrap();
    std::fs::write(gate.path().join("NOTES.txt"), b"notes\n").unwrap();
    let token = ci.github_token("shipgate-test", "acme/hello", "42", "1.0.0", &[]);
    assert_exit(
        &gate.stage(
            &token,
            "hello",
            "1.0.0",
            &["hello-1.0.0.tar.gz", "NOTES.txt"],
        ),
        0,
    );

    let out = gate.cli(
        &[("SHIPGATE_MAINTAINER_TOKEN", &alice)],
        &[
            "release", "download", "1", "--gate", &gate.url, "--out", "review",
        ],
    );
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains(&sha256_hex(&bytes)),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        std::fs::read(gate.path().join("review/hello-1.0.0.tar.gz")).unwrap(),
        bytes
    );
    assert_eq!(
        std::fs::read(gate.path().join("review/NOTES.txt")).unwrap(),
        b"notes\n"
    );

    // Private: no token, a CI token, another package's maintainer.
    let path = "/v1/releases/1/files/hello-1.0.0.tar.gz";
    let (status, _) = gate.get(path);
    assert_eq!(status, 401);
    let ci_token = ci.github_token("shipgate-test", "acme/hello", "42", "1.0.0", &[]);
    for bearer in [ci_token.as_str(), carol.as_str(), "sgm_alice_wrong"] {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {bearer}\r\nConnection: close\r\n\r\n"
        );
        let (status, body) = gate.raw(request.as_bytes());
        assert_eq!(status, 401, "{bearer}: {body}");
        assert!(!body.contains("staged bytes"));
    }
    let out = gate.cli(
        &[("SHIPGATE_MAINTAINER_TOKEN", &carol)],
        &[
            "release", "download", "1", "--gate", &gate.url, "--out", "carol",
        ],
    );
    assert_exit(&out, 1);
    assert!(!gate.path().join("carol/hello-1.0.0.tar.gz").exists());

    // Bytes changed on the gate's disk since staging: exit 1 naming the file.
    let blob = gate.path().join("data/blobs").join(sha256_hex(&bytes));
    let mut tampered = bytes.clone();
    tampered[0] ^= 1;
    std::fs::write(&blob, &tampered).unwrap();
    let out = gate.cli(
        &[("SHIPGATE_MAINTAINER_TOKEN", &alice)],
        &[
            "release", "download", "1", "--gate", &gate.url, "--out", "again",
        ],
    );
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("hello-1.0.0.tar.gz"),
        "{}",
        stderr(&out)
    );
    assert!(!gate.path().join("again/hello-1.0.0.tar.gz").exists());
}
