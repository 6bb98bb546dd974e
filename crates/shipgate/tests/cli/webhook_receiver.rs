//! A real HTTP/1.1 webhook receiver on loopback for the webhook drills:
//! plain threads and sockets, so each test scripts exactly how it answers
//! (a status, a redirect, an endless body, or a connection that hangs).

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// This status with a short body.
    Status(u16),
    /// `302 Found` to this location.
    Redirect(String),
    /// This status, announcing a terabyte body and writing until the peer
    /// goes away.
    Endless(u16),
    /// Never answer; keep the connection open until the peer closes it.
    Hang,
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When the whole request had been read.
    pub arrived: Instant,
}

impl Request {
    pub fn header(&self, name: &str) -> &str {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} header in {self:?}"))
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<Request>>,
    script: Mutex<VecDeque<Answer>>,
    /// Bytes written into endless bodies before the peer went away.
    endless_written: AtomicU64,
    hangs_started: AtomicUsize,
    hangs_ended: AtomicUsize,
    stop: AtomicBool,
}

/// A receiver; stops accepting when dropped.
pub struct Receiver {
    pub port: u16,
    shared: Arc<Shared>,
}

impl Receiver {
    /// On a free port; answers `script` in order, then `200`.
    pub fn start(script: Vec<Answer>) -> Receiver {
        Self::bind(
            TcpListener::bind("127.0.0.1:0").unwrap(),
            script,
            Answer::Status(200),
        )
    }

    /// On `port` (a receiver coming back where it was).
    pub fn start_on(port: u16, script: Vec<Answer>) -> Receiver {
        Self::bind(
            TcpListener::bind(("127.0.0.1", port)).unwrap(),
            script,
            Answer::Status(200),
        )
    }

    fn bind(listener: TcpListener, script: Vec<Answer>, default: Answer) -> Receiver {
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        shared.script.lock().unwrap().extend(script);
        let accepting = Arc::clone(&shared);
        let fallback = default;
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accepting.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let shared = Arc::clone(&accepting);
                let fallback = fallback.clone();
                std::thread::spawn(move || serve(stream, &shared, fallback));
            }
        });
        Receiver { port, shared }
    }

    /// `http://127.0.0.1:PORT/hook`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Waits (at most two minutes) until `done` holds for the requests so far.
    pub fn wait_until(&self, what: &str, done: impl Fn(&[Request]) -> bool) -> Vec<Request> {
        let start = Instant::now();
        loop {
            let requests = self.requests();
            if done(&requests) {
                return requests;
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "receiver: still waiting for {what}; got {requests:#?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn endless_written(&self) -> u64 {
        self.shared.endless_written.load(Ordering::SeqCst)
    }

    pub fn hangs_started(&self) -> usize {
        self.shared.hangs_started.load(Ordering::SeqCst)
    }

    pub fn hangs_ended(&self) -> usize {
        self.shared.hangs_ended.load(Ordering::SeqCst)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(mut stream: TcpStream, shared: &Shared, fallback: Answer) {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let Some(request) = read_request(&mut stream) else {
        return;
    };
    shared.requests.lock().unwrap().push(request);
    let answer = shared
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(fallback);
    match answer {
        Answer::Status(code) => {
            let _ = write!(
                stream,
                "HTTP/1.1 {code} Whatever\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno"
            );
        }
        Answer::Redirect(location) => {
            let _ = write!(
                stream,
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
        Answer::Endless(code) => {
            let _ = write!(
                stream,
                "HTTP/1.1 {code} Whatever\r\nContent-Length: 1099511627776\r\nConnection: close\r\n\r\n"
            );
            let chunk = vec![b'x'; 64 * 1024];
            while stream.write_all(&chunk).is_ok() {
                shared
                    .endless_written
                    .fetch_add(chunk.len() as u64, Ordering::SeqCst);
            }
        }
        Answer::Hang => {
            shared.hangs_started.fetch_add(1, Ordering::SeqCst);
            stream.set_read_timeout(None).unwrap();
            let mut byte = [0u8; 1];
            // Returns when the peer closes (or resets) the connection.
            while matches!(stream.read(&mut byte), Ok(n) if n > 0) {}
            shared.hangs_ended.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Reads one request (head, then a Content-Length body of at most 1 MiB).
fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut buf).ok()?;
        if n == 0 || data.len() > 64 * 1024 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let path = lines.next()?.split_whitespace().nth(1)?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
        .min(1 << 20);
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&buf[..n]);
    }
    body.truncate(length);
    Some(Request {
        path,
        headers,
        body,
        arrived: Instant::now(),
    })
}

/// HMAC-SHA256 (RFC 2104) written out over SHA-256, independent of the
/// gate's `hmac` crate.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    hex::encode(outer)
}

#[test]
fn hmac_matches_rfc_4231() {
    assert_eq!(
        hmac_sha256(b"Jefe", b"what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}
