//! A hostile stand-in for a gate: a real TCP listener on loopback whose
//! answers the test chooses per request path (JSON, an endless body, or
//! nothing at all), and which records every request line it received.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// How the fake answers one request.
pub enum Reply {
    /// A status and a JSON body.
    Json(u16, String),
    /// `200` and a body that never ends.
    Endless,
    /// Nothing: the connection stays open until the client gives up.
    Silent,
}

pub struct FakeGate {
    pub url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl FakeGate {
    /// Starts answering on a free port; `answer` gets `METHOD PATH?QUERY`.
    pub fn start(answer: impl Fn(&str, &str) -> Reply + Send + Sync + 'static) -> FakeGate {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let answer = Arc::new(answer);
        let own_url = url.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (seen, answer, url) = (seen.clone(), answer.clone(), own_url.clone());
                std::thread::spawn(move || serve(stream, &seen, answer.as_ref(), &url));
            }
        });
        FakeGate { url, requests }
    }

    /// The request lines received so far (`GET /v1/info`).
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(
    stream: TcpStream,
    seen: &Mutex<Vec<String>>,
    answer: &(dyn Fn(&str, &str) -> Reply + Send + Sync),
    url: &str,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut first = String::new();
    if reader.read_line(&mut first).is_err() {
        return;
    }
    let (mut length, mut chunked) = (0usize, false);
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => {}
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    // Read the whole body before answering, as a real server does, so the
    // client never finds the connection closed while it is still sending.
    if !drain_body(&mut reader, length, chunked) {
        return;
    }
    let request = first
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    seen.lock().unwrap().push(request.clone());
    let mut stream = stream;
    match answer(&request, url) {
        Reply::Json(status, body) => {
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
        Reply::Endless => {
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
            );
            let chunk = vec![b'['; 64 * 1024];
            while stream.write_all(&chunk).is_ok() {}
        }
        Reply::Silent => {
            // Hold the connection until the client closes it.
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut reader, &mut sink);
        }
    }
}

/// Reads a request body of `length` bytes, or a chunked one; false when
/// the connection broke.
fn drain_body(reader: &mut BufReader<TcpStream>, length: usize, chunked: bool) -> bool {
    use std::io::Read as _;
    if !chunked {
        let mut body = vec![0u8; length];
        return reader.read_exact(&mut body).is_ok();
    }
    loop {
        let mut size = String::new();
        if reader.read_line(&mut size).is_err() {
            return false;
        }
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            return false;
        };
        // The chunk and its CRLF (after the last, empty chunk: the final CRLF).
        let mut chunk = vec![0u8; size + 2];
        if reader.read_exact(&mut chunk).is_err() {
            return false;
        }
        if size == 0 {
            return true;
        }
    }
}

/// `/v1/info` of a gate announcing `audience`.
pub fn info(url: &str, audience: &str) -> Reply {
    Reply::Json(
        200,
        serde_json::json!({
            "service": "shipgate", "version": "0", "public_url": url, "audience": audience,
            "public_key": "x", "key_fingerprint": "x"
        })
        .to_string(),
    )
}

/// A gate error body.
pub fn refusal(status: u16, code: &str, message: &str) -> Reply {
    Reply::Json(
        status,
        serde_json::json!({"error": {"code": code, "message": message}}).to_string(),
    )
}
