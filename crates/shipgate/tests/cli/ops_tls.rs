//! HTTPS in the gate: certificates made in the test, a real client
//! (reqwest trusting only the test CA, and curl), SIGHUP reloads.

use std::path::Path;

use crate::gate_util::write_gate_key;
use crate::ops_util::{Served, TestCa, client_trusting, write_with_mode};
use crate::util::{assert_exit, peer, run_in, stderr};

fn tls_config() -> String {
    r#"listen = "127.0.0.1:0"
public_url = "https://127.0.0.1"
data_dir = "data"
gate_key = "gate.key"
audience = "shipgate-test"
tls_cert = "tls/cert.pem"
tls_key = "tls/key.pem"

[[package]]
name = "hello"
maintainers = ["alice"]
"#
    .to_owned()
}

fn install_cert(dir: &Path, (cert, key): &(String, String)) {
    std::fs::create_dir_all(dir.join("tls")).unwrap();
    write_with_mode(&dir.join("tls/cert.pem"), cert, 0o644);
    write_with_mode(&dir.join("tls/key.pem"), key, 0o600);
}

/// Sends SIGHUP and waits until the gate's log shows `line` `count` times.
fn hangup_and_wait(gate: &Served, line: &str, count: usize) {
    gate.signal("HUP");
    for _ in 0..200 {
        if gate.log().matches(line).count() >= count {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("no {line:?} in the log after SIGHUP:\n{}", gate.log());
}

#[test]
fn serves_https_and_reloads_the_certificate_on_sighup_keeping_open_connections() {
    let dir = tempfile::tempdir().unwrap();
    let first_ca = TestCa::new("first test CA");
    let second_ca = TestCa::new("second test CA");
    std::fs::write(dir.path().join("gate.toml"), tls_config()).unwrap();
    write_gate_key(dir.path());
    install_cert(dir.path(), &first_ca.server_cert("gate one"));
    let gate = Served::start(dir.path());
    assert!(gate.url.starts_with("https://127.0.0.1:"), "{}", gate.url);
    let info = format!("{}/v1/info", gate.url);

    // A client that trusts the first CA opens a keep-alive connection.
    let old_client = client_trusting(&first_ca.pem);
    let answer = old_client.get(&info).send().unwrap();
    assert_eq!(answer.status(), 200);
    answer.text().unwrap();
    // A client that trusts only the second CA is refused for now.
    let new_client = client_trusting(&second_ca.pem);
    assert!(new_client.get(&info).send().is_err());
    // Plain HTTP on the TLS port gets no answer.
    assert!(reqwest::blocking::get(format!("http://127.0.0.1:{}/v1/info", gate.port)).is_err());

    // Renew: a certificate from the second CA, then SIGHUP.
    install_cert(dir.path(), &second_ca.server_cert("gate two"));
    hangup_and_wait(&gate, "reloaded the TLS certificate", 1);

    // New connections see the new certificate...
    let fresh = client_trusting(&second_ca.pem);
    assert_eq!(fresh.get(&info).send().unwrap().status(), 200);
    assert!(client_trusting(&first_ca.pem).get(&info).send().is_err());
    // ...and the connection opened before the reload still works: had it
    // been dropped, this client (which trusts only the first CA) could not
    // have opened a new one.
    let answer = old_client.get(&info).send().unwrap();
    assert_eq!(answer.status(), 200);

    // The independent client, curl, agrees.
    std::fs::write(dir.path().join("ca2.pem"), &second_ca.pem).unwrap();
    let out = std::process::Command::new(peer("curl"))
        .current_dir(dir.path())
        .args(["-sS", "--fail", "--cacert", "ca2.pem", &info])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("shipgate-test"));

    // A broken renewal (a key that is not PEM, then a key for another
    // certificate) is refused and the pair in service stays.
    write_with_mode(&dir.path().join("tls/key.pem"), "not a key\n", 0o600);
    hangup_and_wait(&gate, "kept the TLS certificate in service", 1);
    assert_eq!(fresh.get(&info).send().unwrap().status(), 200);
    let (cert, _) = first_ca.server_cert("gate three");
    let (_, other_key) = first_ca.server_cert("someone else");
    install_cert(dir.path(), &(cert, other_key));
    hangup_and_wait(&gate, "kept the TLS certificate in service", 2);
    assert!(
        gate.log().contains("does not belong to the certificate"),
        "{}",
        gate.log()
    );
    assert_eq!(
        client_trusting(&second_ca.pem)
            .get(&info)
            .send()
            .unwrap()
            .status(),
        200
    );
}

#[test]
fn a_tls_key_readable_by_others_or_a_missing_half_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("test CA");
    std::fs::write(dir.path().join("gate.toml"), tls_config()).unwrap();
    write_gate_key(dir.path());
    install_cert(dir.path(), &ca.server_cert("gate"));
    write_with_mode(
        &dir.path().join("tls/key.pem"),
        &ca.server_cert("gate").1,
        0o644,
    );
    let out = run_in(dir.path(), &["serve", "--config", "gate.toml"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));

    std::fs::write(
        dir.path().join("gate.toml"),
        tls_config().replace("tls_key = \"tls/key.pem\"\n", ""),
    )
    .unwrap();
    let out = run_in(dir.path(), &["serve", "--config", "gate.toml"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("tls_cert and tls_key must be given together"),
        "{}",
        stderr(&out)
    );
}

/// A TLS client that connects and never finishes its handshake is cut off
/// by the idle timeout and does not keep others out.
#[test]
fn a_stalled_tls_handshake_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("test CA");
    let config = tls_config().replace(
        "tls_cert =",
        "idle_timeout_seconds = 1\nmax_connections = 1\ntls_cert =",
    );
    std::fs::write(dir.path().join("gate.toml"), config).unwrap();
    write_gate_key(dir.path());
    install_cert(dir.path(), &ca.server_cert("gate"));
    let gate = Served::start(dir.path());
    // Holds the only connection slot without sending a ClientHello.
    let mut stalled = std::net::TcpStream::connect(("127.0.0.1", gate.port)).unwrap();
    // The gate closes it (read returns 0) once the handshake times out...
    stalled
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut buf = [0u8; 16];
    let read = std::io::Read::read(&mut stalled, &mut buf).unwrap_or(0);
    assert_eq!(read, 0);
    // ...and the slot serves the next client.
    let client = client_trusting(&ca.pem);
    assert_eq!(
        client
            .get(format!("{}/v1/info", gate.url))
            .send()
            .unwrap()
            .status(),
        200
    );
}
