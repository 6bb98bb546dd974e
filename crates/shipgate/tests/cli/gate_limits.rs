//! Connection limits of the real `shipgate serve`: clients that stall or sit
//! idle are cut off, and a full house makes newcomers wait rather than fail.
//! The gate under test has `idle_timeout_seconds = 1` and `max_connections = 4`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::gate_util::{CiIssuer, Gate, announce, bound_config, multipart};

fn limited_gate(ci: &CiIssuer) -> Gate {
    let config = bound_config(&ci.url).replace(
        "max_upload_bytes = 1048576\n",
        "max_upload_bytes = 1048576\nidle_timeout_seconds = 1\nmax_connections = 4\n",
    );
    Gate::start(&config)
}

fn connect(gate: &Gate) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", gate.port)).unwrap();
    // Bounds every read below: a gate that never closes fails the test
    // instead of hanging it.
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    stream
}

/// Reads until the gate closes the connection; returns what it sent.
fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return String::from_utf8_lossy(&got).into_owned(),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return String::from_utf8_lossy(&got).into_owned();
            }
            Err(e) => panic!("the gate kept the connection open: {e}; got {got:?}"),
        }
    }
}

#[test]
fn unfinished_headers_and_idle_keep_alive_connections_are_closed() {
    let ci = CiIssuer::start();
    let gate = limited_gate(&ci);

    let mut unfinished = connect(&gate);
    unfinished
        .write_all(b"GET /v1/info HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    read_until_closed(&mut unfinished);

    let mut idle = connect(&gate);
    idle.write_all(b"GET /v1/info HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let answered = read_until_closed(&mut idle);
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
}

#[test]
fn a_full_house_makes_newcomers_wait_until_idle_clients_are_cut_off() {
    let ci = CiIssuer::start();
    let gate = limited_gate(&ci);
    // Four clients take every slot and send nothing.
    let squatters: Vec<TcpStream> = (0..4).map(|_| connect(&gate)).collect();
    std::thread::sleep(Duration::from_millis(200));
    // A fifth is answered once the gate has cut them off.
    let (status, body) = gate.get("/v1/info");
    assert_eq!(status, 200, "{body}");
    drop(squatters);
}

#[test]
fn a_stalled_upload_is_answered_408_and_leaves_nothing_behind() {
    let ci = CiIssuer::start();
    let gate = limited_gate(&ci);
    let token = ci.github_token("shipgate-test", "acme/hello", "42", "1.0.0", &[]);
    let data = vec![5u8; 100_000];
    let announcement = announce(&[("a.bin", &data[..])]);
    let (ct, body) = multipart(&announcement, &[("file.0", &data)]);
    let mut stream = connect(&gate);
    let head = format!(
        "POST /v1/packages/hello/versions/1.0.0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body[..body.len() / 2]).unwrap();
    // ... and then nothing more.
    let answer = read_until_closed(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    let left = crate::gate_blobs_s3::stored_files(gate.path());
    assert!(left.is_empty(), "{left:?}");
    let (_, list) = gate.get("/v1/releases");
    assert_eq!(list.trim(), r#"{"releases":[]}"#);
}

#[test]
fn a_forged_token_cannot_write_lines_into_the_server_log() {
    let ci = CiIssuer::start();
    let gate = limited_gate(&ci);
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let header = b64(
        "{\"alg\":\"RS256\\n INFO shipgate: approved release 1 by alice\\u001b[31m\",\"kid\":\"k\"}",
    );
    let payload = b64("{\"iss\":\"x\\nFORGED\"}");
    let token = format!("{header}.{payload}.c2ln");
    let (status, _) = gate.request(
        "POST",
        "/v1/packages/hello/versions/1.0.0",
        Some(&token),
        Some("multipart/form-data; boundary=x"),
        b"--x--\r\n",
    );
    assert_eq!(status, 401);
    let log = gate.log();
    assert!(log.contains("credentials refused"), "{log}");
    assert!(
        !log.lines()
            .any(|l| l.starts_with(" INFO shipgate: approved") || l.starts_with("FORGED")),
        "a forged line: {log}"
    );
    assert!(!log.contains('\u{1b}'), "a raw escape sequence: {log:?}");
}
