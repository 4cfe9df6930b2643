//! Loopback network fixtures: a black hole, a refused port, a recording reverse proxy,
//! and a small blocking HTTP client for assertions.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use super::{TestRegistry, runtime};

// ---------------------------------------------------------------------------------------
// HTTP client

/// A response read in full.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("response is not JSON ({e}): {}", self.text()))
    }
}

/// A blocking HTTP(S) client for tests (reqwest on the support runtime). No proxies, no
/// redirects followed, 10 s timeout by default.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    basic: Option<String>,
}

impl Default for HttpClient {
    fn default() -> Self {
        HttpClient::new()
    }
}

impl HttpClient {
    /// Plain HTTP, or HTTPS verified against the system roots.
    pub fn new() -> HttpClient {
        HttpClient::build(None, Duration::from_secs(10))
    }

    /// HTTPS trusting only the PEM certificate at `cert` (e.g. [`TestRegistry::cert_path`]).
    pub fn trusting(cert: &Path) -> HttpClient {
        HttpClient::build(Some(cert), Duration::from_secs(10))
    }

    /// The right client for `registry`: trusts its certificate and sends its credentials.
    pub fn for_registry(registry: &TestRegistry) -> HttpClient {
        let mut c = HttpClient::build(registry.cert_path(), Duration::from_secs(10));
        c.basic = registry.credentials().map(|c| c.basic_header());
        c
    }

    /// HTTPS without certificate verification (what an "insecure registry" client does).
    pub fn insecure() -> HttpClient {
        let _ = runtime();
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .tls_danger_accept_invalid_certs(true)
            .build()
            .expect("test support: cannot build the HTTP client");
        HttpClient {
            client,
            basic: None,
        }
    }

    /// A client with another overall (and connect) timeout, trusting `cert` if given.
    pub fn with_timeout(cert: Option<&Path>, timeout: Duration) -> HttpClient {
        HttpClient::build(cert, timeout)
    }

    /// Sends `Authorization: <value>` on every request (e.g. `Credentials::basic_header()`).
    pub fn with_authorization(mut self, value: Option<String>) -> HttpClient {
        self.basic = value;
        self
    }

    fn build(cert: Option<&Path>, timeout: Duration) -> HttpClient {
        let _ = runtime(); // installs the crypto provider
        let mut b = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout);
        if let Some(cert) = cert {
            let pem = std::fs::read(cert)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", cert.display()));
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .unwrap_or_else(|e| panic!("bad PEM in {}: {e}", cert.display()));
            b = b.tls_certs_only(certs);
        }
        HttpClient {
            client: b
                .build()
                .expect("test support: cannot build the HTTP client"),
            basic: None,
        }
    }

    pub fn get(&self, url: &str) -> Result<HttpResponse, String> {
        self.request("GET", url, &[], None)
    }

    pub fn head(&self, url: &str) -> Result<HttpResponse, String> {
        self.request("HEAD", url, &[], None)
    }

    /// Sends one request; `Err` carries the transport error (refused, timeout, TLS, ...).
    pub fn request(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<HttpResponse, String> {
        runtime().block_on(self.request_async(method, url, headers, body))
    }

    pub(crate) async fn request_async(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<HttpResponse, String> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let mut req = self.client.request(method, url);
        if let Some(auth) = &self.basic {
            req = req.header("authorization", auth);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let resp = req.send().await.map_err(error_chain)?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = resp.bytes().await.map_err(error_chain)?.to_vec();
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

/// An error with its sources, `a: b: c`.
fn error_chain(e: impl std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

// ---------------------------------------------------------------------------------------
// Black hole and refused port

/// A loopback TCP listener that accepts connections and never answers; the connections are
/// kept open until drop. Use its address as a mirror that hangs.
pub struct Blackhole {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Blackhole {
    pub fn start() -> Blackhole {
        let listener = TcpListener::bind("127.0.0.1:0").expect("test support: bind the black hole");
        listener
            .set_nonblocking(true)
            .expect("test support: nonblocking listener");
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (stop2, accepted2) = (stop.clone(), accepted.clone());
        let thread = std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        accepted2.fetch_add(1, Ordering::Relaxed);
                        held.push(stream);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            drop(held);
        });
        Blackhole {
            addr,
            stop,
            accepted,
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for Blackhole {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A loopback address with nothing listening (bound, read, closed): connections are refused.
pub fn refused_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("test support: bind");
    let addr = l.local_addr().expect("local addr");
    drop(l);
    addr
}

/// A free loopback port at the time of the call (bind `127.0.0.1:0`, read, release).
/// Whoever uses it must retry if another process takes it first.
pub fn free_port() -> u16 {
    refused_addr().port()
}

// ---------------------------------------------------------------------------------------
// Recording reverse proxy

/// One request seen by a [`RecordingProxy`].
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query, e.g. `/v2/app/manifests/1`.
    pub path: String,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn has_authorization(&self) -> bool {
        self.header("authorization").is_some()
    }
}

/// A plain-HTTP reverse proxy on loopback that forwards every request to a backend registry
/// and records method, path and headers. Use it as a mirror to check what cnb (or the daemon,
/// or the lifecycle) sends there, e.g. that no `Authorization` header reaches a mirror.
/// `Location` headers pointing at the backend are rewritten to the proxy.
pub struct RecordingProxy {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<RecordedRequest>>>,
    behaviour: Arc<Behaviour>,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Changeable while the proxy runs.
#[derive(Default)]
struct Behaviour {
    delay_millis: std::sync::atomic::AtomicU64,
    fixed_status: std::sync::atomic::AtomicU16,
}

struct ProxyState {
    behaviour: Arc<Behaviour>,
    backend_url: String,
    proxy_url: String,
    client: reqwest::Client,
    log: Arc<Mutex<Vec<RecordedRequest>>>,
}

impl RecordingProxy {
    /// Forwards to `backend` (trusting its certificate when it is TLS). Credentials are not
    /// added: the proxy forwards exactly what it received.
    pub fn start(backend: &TestRegistry) -> RecordingProxy {
        let rt = runtime();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("test support: bind the recording proxy");
        let addr = listener.local_addr().expect("local addr");
        let mut b = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30));
        if let Some(cert) = backend.cert_path() {
            let pem = std::fs::read(cert).expect("read backend certificate");
            b = b.tls_certs_only(reqwest::Certificate::from_pem_bundle(&pem).expect("PEM"));
        }
        let log = Arc::new(Mutex::new(Vec::new()));
        let behaviour = Arc::new(Behaviour::default());
        let state = Arc::new(ProxyState {
            behaviour: behaviour.clone(),
            backend_url: backend.url(),
            proxy_url: format!("http://{addr}"),
            client: b.build().expect("proxy client"),
            log: log.clone(),
        });
        let (shutdown, mut rx) = tokio::sync::watch::channel(false);
        let task = rt.spawn(async move {
            loop {
                tokio::select! {
                    _ = rx.changed() => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let state = state.clone();
                        let mut rx = rx.clone();
                        tokio::spawn(async move {
                            let svc = service_fn(move |req| forward(state.clone(), req));
                            let conn = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), svc);
                            tokio::select! {
                                _ = conn => {}
                                _ = rx.changed() => {}
                            }
                        });
                    }
                }
            }
        });
        RecordingProxy {
            addr,
            log,
            behaviour,
            shutdown,
            task,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:PORT` (use as a mirror host; plain HTTP).
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub fn clear(&self) {
        if let Ok(mut l) = self.log.lock() {
            l.clear();
        }
    }

    /// Delays every answer from now on by `delay` (a slow mirror). Requests are still
    /// recorded on arrival.
    pub fn set_delay(&self, delay: Duration) {
        self.behaviour
            .delay_millis
            .store(delay.as_millis() as u64, Ordering::Relaxed);
    }

    /// From now on answer every request with `status` (e.g. 500, 404) and a short text body
    /// instead of forwarding; `None` forwards again.
    pub fn set_fixed_status(&self, status: Option<u16>) {
        self.behaviour
            .fixed_status
            .store(status.unwrap_or(0), Ordering::Relaxed);
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.task.abort();
    }
}

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
];

async fn forward(
    state: Arc<ProxyState>,
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, std::convert::Infallible> {
    let method = req.method().clone();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".to_string());
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    if let Ok(mut l) = state.log.lock() {
        l.push(RecordedRequest {
            method: method.to_string(),
            path: path.clone(),
            headers: headers.clone(),
        });
    }
    let delay = state.behaviour.delay_millis.load(Ordering::Relaxed);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let fixed = state.behaviour.fixed_status.load(Ordering::Relaxed);
    if fixed != 0 {
        return Ok(plain(
            fixed,
            format!("recording proxy: fixed status {fixed}\n"),
        ));
    }
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return Ok(plain(502, format!("proxy: reading the request: {e}"))),
    };
    let mut out = state
        .client
        .request(method, format!("{}{}", state.backend_url, path));
    for (k, v) in &headers {
        if !HOP_BY_HOP.contains(&k.as_str()) && k != "host" && k != "content-length" {
            out = out.header(k, v);
        }
    }
    if !body.is_empty() {
        out = out.body(body);
    }
    let resp = match out.send().await {
        Ok(r) => r,
        Err(e) => return Ok(plain(502, format!("proxy: backend: {}", error_chain(e)))),
    };
    let mut builder = hyper::Response::builder().status(resp.status().as_u16());
    // Content-Length is kept: HEAD answers carry the size of what GET would return.
    for (k, v) in resp.headers() {
        if HOP_BY_HOP.contains(&k.as_str()) {
            continue;
        }
        if k.as_str() == "location" {
            let loc =
                String::from_utf8_lossy(v.as_bytes()).replace(&state.backend_url, &state.proxy_url);
            builder = builder.header(k, loc);
        } else {
            builder = builder.header(k, v);
        }
    }
    let body = resp.bytes().await.unwrap_or_default();
    Ok(builder
        .body(Full::new(body))
        .unwrap_or_else(|e| plain(502, format!("proxy: {e}"))))
}

fn plain(status: u16, text: String) -> hyper::Response<Full<Bytes>> {
    let mut r = hyper::Response::new(Full::new(Bytes::from(text)));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_GATEWAY);
    r
}
