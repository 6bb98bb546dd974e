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
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => {}
        }
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
