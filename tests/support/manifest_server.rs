//! A hostile (or merely odd) registry on loopback, or in a network namespace: plain HTTP,
//! `GET /v2/` answers 200, and every manifest request gets the answer the test chose: any
//! Content-Type (or none), any `Docker-Content-Digest`, a body of any size, or a body that
//! never ends. Blob requests get the blob body the test chose, if any (else 404). It
//! counts the manifest requests and the bytes of the bodies it sent. A TLS hello gets the
//! 400 a Go HTTP server sends, so the Docker daemon sees plain HTTP as with a real registry.
//!
//! Bounded like every fixture: it stops on drop or after [`LIFETIME`], an endless body
//! stops after [`ENDLESS_LIMIT`] bytes, and at most [`MAX_CONNECTIONS`] connections are
//! served.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::NetnsHost;

/// How long a [`ManifestServer`] serves at most.
pub const LIFETIME: Duration = Duration::from_secs(120);
/// How many bytes an endless body is at most (then the server closes the connection).
pub const ENDLESS_LIMIT: u64 = 8 << 30;
/// How many connections a [`ManifestServer`] serves at most.
pub const MAX_CONNECTIONS: usize = 64;

/// What a [`ManifestServer`] answers to a manifest request.
#[derive(Debug, Clone)]
pub struct ManifestAnswer {
    /// `None`: no Content-Type header at all.
    pub content_type: Option<String>,
    pub digest_header: Option<String>,
    pub body: ManifestBody,
    /// What every blob request gets; `None`: 404.
    pub blob: Option<ManifestBody>,
}

#[derive(Debug, Clone)]
pub enum ManifestBody {
    /// These bytes, with their Content-Length.
    Bytes(Vec<u8>),
    /// `size` bytes of JSON-looking filler, with a Content-Length of `size`.
    Sized(u64),
    /// Filler until the client goes away (or [`ENDLESS_LIMIT`]): no Content-Length, the
    /// body ends when the connection closes.
    Endless,
    /// Filler at one byte every 250 ms until the client goes away (or [`LIFETIME`]), no
    /// Content-Length: a read that never stalls and never ends.
    Drip,
}

impl ManifestAnswer {
    /// `body` as `content_type`, without a digest header.
    pub fn bytes(content_type: Option<&str>, body: &[u8]) -> ManifestAnswer {
        ManifestAnswer {
            content_type: content_type.map(str::to_string),
            digest_header: None,
            body: ManifestBody::Bytes(body.to_vec()),
            blob: None,
        }
    }

    /// Filler of `body`'s kind as `content_type`.
    pub fn filler(content_type: &str, body: ManifestBody) -> ManifestAnswer {
        ManifestAnswer {
            content_type: Some(content_type.to_string()),
            digest_header: None,
            body,
            blob: None,
        }
    }

    pub fn digest_header(mut self, digest: &str) -> ManifestAnswer {
        self.digest_header = Some(digest.to_string());
        self
    }

    /// Every blob request gets `body` (as `application/octet-stream`).
    pub fn blobs(mut self, body: ManifestBody) -> ManifestAnswer {
        self.blob = Some(body);
        self
    }
}

/// See the module documentation.
pub struct ManifestServer {
    host: String,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    requests: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    answer: ManifestAnswer,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    requests: Arc<AtomicUsize>,
}

impl ManifestServer {
    /// On `127.0.0.1` and a free port.
    pub fn start(answer: ManifestAnswer) -> ManifestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("test support: bind");
        ManifestServer::start_on(listener, answer)
    }

    /// On `<ip>:5000` in `netns`, where the Docker daemon refuses plain HTTP.
    pub fn start_in_netns(netns: &NetnsHost, answer: ManifestAnswer) -> ManifestServer {
        ManifestServer::start_on(netns.listen(5000), answer)
    }

    fn start_on(listener: TcpListener, answer: ManifestAnswer) -> ManifestServer {
        listener
            .set_nonblocking(true)
            .expect("test support: nonblocking listener");
        let host = listener.local_addr().expect("local addr").to_string();
        let shared = Arc::new(Shared {
            answer,
            stop: Arc::new(AtomicBool::new(false)),
            sent: Arc::new(AtomicU64::new(0)),
            requests: Arc::new(AtomicUsize::new(0)),
        });
        let (stop, sent, requests) = (
            shared.stop.clone(),
            shared.sent.clone(),
            shared.requests.clone(),
        );
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + LIFETIME;
            let mut served = Vec::new();
            while !shared.stop.load(Ordering::Relaxed)
                && Instant::now() < deadline
                && served.len() < MAX_CONNECTIONS
            {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let shared = shared.clone();
                        served.push(std::thread::spawn(move || serve(stream, &shared)));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
            shared.stop.store(true, Ordering::Relaxed);
            for connection in served {
                let _ = connection.join();
            }
        });
        ManifestServer {
            host,
            stop,
            sent,
            requests,
            thread: Some(thread),
        }
    }

    /// `IP:PORT` (plain HTTP).
    pub fn host(&self) -> String {
        self.host.clone()
    }

    /// Bytes of manifest and blob bodies written so far.
    pub fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Manifest requests received so far.
    pub fn manifest_requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }
}

impl Drop for ManifestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One connection: one request, one answer, then close.
fn serve(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let Some(request_line) = read_head(&mut stream) else {
        return;
    };
    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    if path == "/v2/" || path == "/v2" {
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDocker-Distribution-Api-Version: registry/2.0\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        );
        return;
    }
    let answer = &shared.answer;
    let blob = path.starts_with("/v2/") && path.contains("/blobs/");
    let (content_type, digest, body) = match &answer.blob {
        Some(body) if blob => (Some("application/octet-stream"), None, body),
        _ if path.starts_with("/v2/") && path.contains("/manifests/") => {
            shared.requests.fetch_add(1, Ordering::Relaxed);
            (
                answer.content_type.as_deref(),
                answer.digest_header.as_deref(),
                &answer.body,
            )
        }
        _ => {
            let _ = stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            return;
        }
    };
    let mut head = String::from("HTTP/1.1 200 OK\r\nConnection: close\r\n");
    if let Some(t) = content_type {
        head.push_str(&format!("Content-Type: {t}\r\n"));
    }
    if let Some(d) = digest {
        head.push_str(&format!("Docker-Content-Digest: {d}\r\n"));
    }
    let length = match body {
        ManifestBody::Bytes(b) => Some(b.len() as u64),
        ManifestBody::Sized(n) => Some(*n),
        ManifestBody::Endless | ManifestBody::Drip => None,
    };
    if let Some(n) = length {
        head.push_str(&format!("Content-Length: {n}\r\n"));
    }
    head.push_str("\r\n");
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    match body {
        ManifestBody::Bytes(b) => {
            if stream.write_all(b).is_ok() {
                shared.sent.fetch_add(b.len() as u64, Ordering::Relaxed);
            }
        }
        ManifestBody::Sized(n) => write_filler(&mut stream, *n, shared),
        ManifestBody::Endless => write_filler(&mut stream, ENDLESS_LIMIT, shared),
        ManifestBody::Drip => drip(&mut stream, shared),
    }
}

/// `{"pad":"xxx...` a byte at a time, until the client stops reading or the server stops.
fn drip(stream: &mut TcpStream, shared: &Shared) {
    if stream.write_all(b"{\"pad\":\"").is_err() {
        return;
    }
    while !shared.stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(250));
        if stream.write_all(b"x").is_err() {
            break;
        }
        shared.sent.fetch_add(1, Ordering::Relaxed);
    }
}

/// `{"pad":"xxxx...` up to `total` bytes, or until the client stops reading.
fn write_filler(stream: &mut TcpStream, total: u64, shared: &Shared) {
    let chunk = vec![b'x'; 64 * 1024];
    let mut written = 0u64;
    if stream.write_all(b"{\"pad\":\"").is_err() {
        return;
    }
    written += 8;
    while written < total && !shared.stop.load(Ordering::Relaxed) {
        let n = chunk.len().min((total - written) as usize);
        if stream.write_all(&chunk[..n]).is_err() {
            break;
        }
        written += n as u64;
        shared.sent.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// The request line, once the whole head has been read (at most 16 KiB). A TLS hello
/// (first byte 0x16) gets the 400 a Go HTTP server sends for it, and `None`: the daemon's
/// Go client then reports "server gave HTTP response to HTTPS client", as it does for a
/// real plain-HTTP registry.
fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return None;
        }
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
        if head[0] == 0x16 {
            let _ = stream.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request",
            );
            return None;
        }
    }
    let text = String::from_utf8_lossy(&head);
    text.lines().next().map(str::to_string)
}
