//! A minimal HTTP/1.1 client for the drill that never panics: a request cut
//! by the kill is an expected outcome, not a test failure.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// How a request ended.
#[derive(Debug)]
pub enum Reply {
    /// A complete answer.
    Answer(u16, Vec<u8>),
    /// The connection failed or was cut before a complete answer (the gate
    /// was killed); `sent` body bytes had been written.
    Dropped { sent: usize },
    /// No answer within the timeout: the gate hangs (a failure).
    Hung,
}

impl Reply {
    pub fn text(body: &[u8]) -> String {
        String::from_utf8_lossy(body).into_owned()
    }
}

/// Sends one request (`Connection: close`). With `pace`, the body goes out
/// in 16 KiB chunks with that pause between them, so that a large upload is
/// mid-stream for a while.
pub fn call(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    pace: Option<Duration>,
) -> Reply {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return Reply::Dropped { sent: 0 };
    };
    let timeout = Some(Duration::from_secs(30));
    if stream.set_read_timeout(timeout).is_err() || stream.set_write_timeout(timeout).is_err() {
        return Reply::Dropped { sent: 0 };
    }
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    if stream.write_all(head.as_bytes()).is_err() {
        return Reply::Dropped { sent: 0 };
    }
    let mut sent = 0;
    match pace {
        None => {
            if stream.write_all(body).is_err() {
                return Reply::Dropped { sent };
            }
            sent = body.len();
        }
        Some(pause) => {
            for chunk in body.chunks(16 * 1024) {
                if stream.write_all(chunk).is_err() {
                    return Reply::Dropped { sent };
                }
                sent += chunk.len();
                std::thread::sleep(pause);
            }
        }
    }
    let mut raw = Vec::new();
    if let Err(err) = stream.read_to_end(&mut raw) {
        if matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ) {
            return Reply::Hung;
        }
        return Reply::Dropped { sent };
    }
    parse(&raw).unwrap_or(Reply::Dropped { sent })
}

/// A complete response: status line, headers with a Content-Length that
/// matches the body.
fn parse(raw: &[u8]) -> Option<Reply> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let body = &raw[split + 4..];
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())?;
    (body.len() == length).then(|| Reply::Answer(status, body.to_vec()))
}
