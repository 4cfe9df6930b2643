//! One manifest request against one candidate, and what its failure means.
//!
//! oci-client authenticates (it knows the token dance); the request itself is cnb's, on
//! the HTTP client built beside the oci-client ([`super::hosts::Clients`]), so that the
//! body is read with a size cap and the answer is checked as the Docker daemon will check
//! it ([`super::manifest`]) before the candidate is chosen.

use std::error::Error as StdError;
use std::fmt;

use oci_client::errors::{OciEnvelope, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Reference, RegistryOperation};
use serde::Deserialize;

use super::hosts::Clients;
use super::manifest::{self, CappedBody, Kind, MAX_MANIFEST_BYTES, TooLarge};
use super::platform::{IndexEntry, select};
use super::{Platform, ProbeFailure};
use crate::reference::Scheme;

/// The most of an error answer's body that is read: enough for the registry's error
/// codes and a message (shown cut to [`crate::text::MAX_EXTERNAL_MESSAGE`]).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// What a successful probe found.
#[derive(Debug, Clone)]
pub struct Found {
    /// The digest of the image manifest for the platform (the manifest's own digest
    /// when it is not an index).
    pub digest: String,
    /// The index digest, when the reference named an index.
    pub index_digest: Option<String>,
}

/// A manifest as fetched: its digest, and the entries when it is an index.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub digest: String,
    pub index: Option<Vec<IndexEntry>>,
}

impl Manifest {
    /// An image manifest is found as is; an index is found when it has an entry for
    /// `platform`.
    pub fn choose(self, platform: &Platform) -> Result<Found, ProbeFailure> {
        match self.index {
            None => Ok(Found {
                digest: self.digest,
                index_digest: None,
            }),
            Some(entries) => match select(&entries, platform) {
                Some(entry) => Ok(Found {
                    digest: entry.digest.clone(),
                    index_digest: Some(self.digest),
                }),
                None => Err(ProbeFailure::Other {
                    detail: format!("the image index has no manifest for {platform}"),
                }),
            },
        }
    }
}

/// How one attempt (one scheme) went.
#[derive(Debug)]
pub enum Attempt {
    /// The registry has the manifest.
    Manifest(Manifest),
    /// The registry answered over this scheme but did not give the manifest.
    Failed(ProbeFailure),
    /// Nothing usable came back over this scheme (the other scheme may work).
    Transport(TransportFailure),
}

/// How a failure that is not about a certificate starts: the host answered without TLS.
pub const NOT_TLS: &str = "the server did not answer with TLS";
const NOT_TLS_DETAIL: &str = "the server did not answer with TLS (it may serve plain HTTP)";

/// A failure below HTTP: no status code came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportFailure {
    Refused,
    /// The server's certificate was not accepted (it does speak TLS).
    Certificate(String),
    /// The peer did not speak TLS (likely plain HTTP).
    NotTls(String),
    /// Another TLS failure (alert, protocol version, ...).
    Tls(String),
    /// DNS, reset, anything else.
    Other(String),
}

impl fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportFailure::Refused => write!(f, "connection refused"),
            TransportFailure::Certificate(detail)
            | TransportFailure::NotTls(detail)
            | TransportFailure::Tls(detail)
            | TransportFailure::Other(detail) => {
                write!(
                    f,
                    "{}",
                    crate::text::bounded(detail, crate::text::MAX_EXTERNAL_MESSAGE)
                )
            }
        }
    }
}

/// A manifest request that did not give a manifest: the registry's answer said why, or
/// no answer came.
#[derive(Debug)]
pub enum Failure {
    Answered(ProbeFailure),
    Transport(TransportFailure),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Answered(failure) => failure.fmt(f),
            Failure::Transport(failure) => failure.fmt(f),
        }
    }
}

impl From<Failure> for Attempt {
    fn from(failure: Failure) -> Attempt {
        match failure {
            Failure::Answered(failure) => Attempt::Failed(failure),
            Failure::Transport(failure) => Attempt::Transport(failure),
        }
    }
}

fn refused(detail: impl Into<String>) -> Failure {
    Failure::Answered(ProbeFailure::Other {
        detail: detail.into(),
    })
}

/// A manifest as the registry sent it, checked: its kind, digest and (for an index)
/// entries.
#[derive(Debug)]
pub struct Fetched {
    pub body: Vec<u8>,
    pub kind: Kind,
    pub digest: String,
    pub index: Option<Vec<IndexEntry>>,
}

#[derive(Deserialize)]
struct ManifestShape {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<IndexEntry>>,
}

/// Asks for `reference`'s manifest with `clients` (whose scheme and TLS policy are set).
pub async fn attempt(clients: &Clients, reference: &Reference, auth: &RegistryAuth) -> Attempt {
    match fetch(clients, reference, auth).await {
        Ok(fetched) => Attempt::Manifest(Manifest {
            digest: fetched.digest,
            index: fetched.index,
        }),
        Err(failure) => failure.into(),
    }
}

/// `GET /v2/<repository>/manifests/<tag or digest>` with `auth`, the body read up to
/// [`MAX_MANIFEST_BYTES`] and checked ([`super::manifest`]).
pub async fn fetch(
    clients: &Clients,
    reference: &Reference,
    auth: &RegistryAuth,
) -> Result<Fetched, Failure> {
    // oci-client asks the registry how to authenticate (`GET /v2/`) and fetches a bearer
    // token when it says so. A failure there is left to the manifest request, which is
    // then anonymous (as oci-client's own requests are): its answer says what is wrong.
    let token = clients
        .oci
        .auth(reference, auth, RegistryOperation::Pull)
        .await
        .ok()
        .flatten();
    let accept = Kind::ALL.map(Kind::media_type).join(", ");
    let mut request = clients
        .http
        .get(manifest_url(clients.scheme, reference))
        .header(reqwest::header::ACCEPT, accept);
    request = match (token, auth) {
        (Some(token), _) => request.bearer_auth(token),
        (None, RegistryAuth::Basic(username, password)) => {
            request.basic_auth(username, Some(password))
        }
        (None, _) => request,
    };
    let transport = |e: reqwest::Error| Failure::Transport(transport_failure(&e));
    let mut response = request.send().await.map_err(transport)?;
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        let body = read_error_body(response).await;
        return Err(Failure::Answered(answer_failure(status.as_u16(), &body)));
    }
    let headers = response.headers();
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let kind = manifest::kind_of(content_type.as_deref()).map_err(refused)?;
    let header_digest = headers
        .get("docker-content-digest")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());

    let too_large = |_: TooLarge| refused(manifest::TOO_LARGE);
    let mut body =
        CappedBody::new(MAX_MANIFEST_BYTES, response.content_length()).map_err(too_large)?;
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        body.push(&chunk).map_err(too_large)?;
    }
    checked(
        kind,
        body.into_bytes(),
        header_digest.as_deref(),
        reference.digest(),
    )
}

/// A manifest body that came as `kind`, checked: JSON, its own `mediaType` agreeing,
/// its digest matching the `Docker-Content-Digest` header and the pinned digest.
fn checked(
    kind: Kind,
    body: Vec<u8>,
    header_digest: Option<&str>,
    pinned: Option<&str>,
) -> Result<Fetched, Failure> {
    let shape: ManifestShape = serde_json::from_slice(&body).map_err(|e| {
        refused(format!(
            "the registry sent a manifest that is not valid JSON: {e}"
        ))
    })?;
    manifest::check_body_type(kind, shape.media_type.as_deref()).map_err(refused)?;
    let digest = manifest::verify_digest(&body, header_digest, pinned).map_err(refused)?;
    Ok(Fetched {
        index: kind.is_index().then(|| shape.manifests.unwrap_or_default()),
        body,
        kind,
        digest,
    })
}

/// The URL oci-client would ask: the registry as it resolves it, the digest when the
/// reference has one, else the tag.
fn manifest_url(scheme: Scheme, reference: &Reference) -> String {
    let scheme = match scheme {
        Scheme::Http => "http",
        Scheme::Https => "https",
    };
    format!(
        "{scheme}://{}/v2/{}/manifests/{}",
        reference.resolve_registry(),
        reference.repository(),
        reference
            .digest()
            .unwrap_or_else(|| reference.tag().unwrap_or("latest"))
    )
}

/// At most [`MAX_ERROR_BODY`] of an error answer's body (what could be read of it).
async fn read_error_body(mut response: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_ERROR_BODY - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == MAX_ERROR_BODY {
            break;
        }
    }
    body
}

/// What an answer other than 200 means (oci-client's reading of the distribution spec:
/// 401, the error envelope of a 4xx, the status otherwise).
fn answer_failure(status: u16, body: &[u8]) -> ProbeFailure {
    match status {
        401 => ProbeFailure::Unauthorized {
            detail: "401 Unauthorized".to_string(),
        },
        400..=499 => match serde_json::from_slice::<OciEnvelope>(body) {
            Ok(envelope) => envelope_failure(&envelope),
            Err(_) => status_failure(status, &String::from_utf8_lossy(body)),
        },
        _ => status_failure(status, &String::from_utf8_lossy(body)),
    }
}

/// How long [`sniff_scheme`] waits for an answer once connected.
const SNIFF_ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Which scheme a host that may use either speaks, found with one plain-HTTP
/// `GET /v2/` (no credentials) on its port: a plain-HTTP answer means HTTP; an answer
/// that is not HTTP, an empty one, or Go's "HTTP request to an HTTPS server" means TLS.
/// `Ok(None)` when that tells nothing (the probe then tries HTTPS, then HTTP);
/// `Err(Refused)` when the port refuses connections (it would for either scheme).
///
/// This spares building a TLS client (which reads every system root certificate) for
/// plain-HTTP registries and closed ports, and the failed TLS handshake.
pub async fn sniff_scheme(
    host: &str,
    port: u16,
    host_header: &str,
) -> Result<Option<Scheme>, TransportFailure> {
    match tokio::net::TcpStream::connect((host, port)).await {
        // A TLS server that neither answers nor closes on a plain request is left to
        // the HTTPS attempt (bounded by the probe timeout like everything else).
        Ok(stream) => Ok(
            tokio::time::timeout(SNIFF_ANSWER_TIMEOUT, sniff_on(stream, host_header))
                .await
                .ok()
                .flatten(),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Err(TransportFailure::Refused)
        }
        Err(_) => Ok(None),
    }
}

async fn sniff_on(mut stream: tokio::net::TcpStream, host_header: &str) -> Option<Scheme> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!(
        "GET /v2/ HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: cnb\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = Vec::with_capacity(512);
    let mut buf = [0u8; 512];
    while answer.len() < 512 {
        match stream.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                // The status line and a little of the body are enough.
                if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.len() >= 64 {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    Some(scheme_from_answer(&answer))
}

fn scheme_from_answer(answer: &[u8]) -> Scheme {
    if !answer.starts_with(b"HTTP/") {
        return Scheme::Https;
    }
    let text = String::from_utf8_lossy(answer).to_ascii_lowercase();
    let status = text.split_whitespace().nth(1).unwrap_or("");
    if status == "400" && (text.contains("https server") || text.contains("https port")) {
        Scheme::Https
    } else {
        Scheme::Http
    }
}

/// What a 4xx answer's error envelope says: not found, denied, or the registry's words.
fn envelope_failure(envelope: &OciEnvelope) -> ProbeFailure {
    let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
    if codes.iter().any(|c| {
        matches!(
            c,
            OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown | OciErrorCode::NotFound
        )
    }) {
        ProbeFailure::NotFound
    } else if codes
        .iter()
        .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
    {
        let message = envelope
            .errors
            .first()
            .map(|e| e.message.clone())
            .unwrap_or_default();
        ProbeFailure::Unauthorized {
            detail: if message.is_empty() {
                "access denied".to_string()
            } else {
                format!("access denied: {message}")
            },
        }
    } else {
        let text = envelope
            .errors
            .iter()
            .map(|e| format!("{:?}: {}", e.code, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        ProbeFailure::Other {
            detail: format!("the registry answered with an error: {text}"),
        }
    }
}

fn status_failure(code: u16, message: &str) -> ProbeFailure {
    match code {
        404 => ProbeFailure::NotFound,
        401 | 403 => ProbeFailure::Unauthorized {
            detail: format!("HTTP {code}"),
        },
        500..=599 => ProbeFailure::Server { status: code },
        400 if message.contains("HTTPS server") => ProbeFailure::Other {
            detail: "the registry expects TLS but was asked over plain HTTP (drop `http://` from the mirror)"
                .to_string(),
        },
        _ => ProbeFailure::Other {
            detail: format!("unexpected HTTP status {code}"),
        },
    }
}

/// Walks an error's causes for the TLS or socket error underneath.
pub fn transport_failure(err: &(dyn StdError + 'static)) -> TransportFailure {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    let mut last = err.to_string();
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return tls_failure(tls);
        }
        last = e.to_string();
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return TransportFailure::Refused,
                std::io::ErrorKind::InvalidData if io.to_string().contains("corrupt message") => {
                    return TransportFailure::NotTls(io.to_string());
                }
                _ => {}
            }
            // `io::Error::source()` skips the error it wraps (it returns the wrapped error's
            // source), so a rustls error inside an io::Error inside another io::Error would
            // never be seen: step into the wrapped error itself.
            if let Some(inner) = io.get_ref() {
                current = Some(inner as &(dyn StdError + 'static));
                continue;
            }
        }
        current = e.source();
    }
    let text = last.to_lowercase();
    if text.contains("connection refused") {
        TransportFailure::Refused
    } else if text.contains("certificate") {
        TransportFailure::Certificate(last)
    } else if text.contains("dns error") || text.contains("failed to lookup address") {
        TransportFailure::Other(format!("the host name does not resolve ({last})"))
    } else {
        TransportFailure::Other(last)
    }
}

fn tls_failure(err: &rustls::Error) -> TransportFailure {
    use rustls::Error as T;
    match err {
        T::InvalidCertificate(cert) => TransportFailure::Certificate(format!(
            "the server's certificate is not trusted ({})",
            certificate_reason(cert)
        )),
        T::NoCertificatesPresented => {
            TransportFailure::Certificate("the server presented no certificate".to_string())
        }
        T::InvalidMessage(_) => TransportFailure::NotTls(NOT_TLS_DETAIL.to_string()),
        other => TransportFailure::Tls(format!("TLS handshake failed: {other}")),
    }
}

fn certificate_reason(err: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    match err {
        C::UnknownIssuer => "unknown issuer, e.g. self-signed".to_string(),
        C::Expired | C::ExpiredContext { .. } => "expired".to_string(),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "not valid for this host name".to_string()
        }
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform() -> Platform {
        Platform::linux("amd64")
    }

    fn sha256(body: &[u8]) -> String {
        manifest::verify_digest(body, None, None).unwrap()
    }

    fn found(kind: Kind, body: &[u8]) -> Manifest {
        let fetched = checked(kind, body.to_vec(), None, None).unwrap();
        assert_eq!(fetched.kind, kind);
        Manifest {
            digest: fetched.digest,
            index: fetched.index,
        }
    }

    #[test]
    fn image_manifest_is_found() {
        let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}"#;
        let f = found(Kind::OciManifest, body).choose(&platform()).unwrap();
        assert_eq!(f.digest, sha256(body));
        assert_eq!(f.index_digest, None);
        // The header decides the kind: a body that only looks like an index is not one.
        let m = found(Kind::OciManifest, br#"{"schemaVersion":2,"manifests":[]}"#);
        assert!(m.index.is_none());
    }

    #[test]
    fn index_resolves_to_platform_entry() {
        let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:arm","size":1,"platform":{"os":"linux","architecture":"arm64"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:amd","size":1,"platform":{"os":"linux","architecture":"amd64"}}]}"#;
        let m = found(Kind::OciIndex, body);
        let f = m.clone().choose(&platform()).unwrap();
        assert_eq!(f.digest, "sha256:amd");
        assert_eq!(f.index_digest, Some(sha256(body)));
        match m.choose(&Platform::linux("s390x")) {
            Err(ProbeFailure::Other { detail }) => {
                assert!(detail.contains("linux/s390x"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn answers_are_refused_with_the_reason() {
        let reason = |result: Result<Fetched, Failure>| match result {
            Err(Failure::Answered(ProbeFailure::Other { detail })) => detail,
            other => panic!("{other:?}"),
        };
        let docker = br#"{"schemaVersion":2,"config":{},"layers":[]}"#;
        let text = reason(checked(Kind::DockerManifest, docker.to_vec(), None, None));
        assert!(text.contains("without the mediaType field"), "{text}");
        let text = reason(checked(Kind::OciIndex, b"<html>".to_vec(), None, None));
        assert!(text.contains("not valid JSON"), "{text}");
        let body = br#"{"schemaVersion":2,"manifests":[]}"#;
        let wrong = sha256(b"something else");
        let text = reason(checked(Kind::OciIndex, body.to_vec(), Some(&wrong), None));
        assert!(text.contains("Docker-Content-Digest"), "{text}");
        let text = reason(checked(Kind::OciIndex, body.to_vec(), None, Some(&wrong)));
        assert!(text.contains("pinned to"), "{text}");
        let right = sha256(body);
        let fetched = checked(Kind::OciIndex, body.to_vec(), Some(&right), Some(&right)).unwrap();
        assert_eq!(fetched.digest, right);
        assert_eq!(fetched.index.map(|e| e.len()), Some(0));
    }

    #[test]
    fn error_answers_mean_what_oci_client_made_of_them() {
        let unknown = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#;
        assert_eq!(answer_failure(404, unknown), ProbeFailure::NotFound);
        assert_eq!(answer_failure(404, b""), ProbeFailure::NotFound);
        let denied = br#"{"errors":[{"code":"DENIED","message":"no pulls for you"}]}"#;
        assert_eq!(
            answer_failure(403, denied),
            ProbeFailure::Unauthorized {
                detail: "access denied: no pulls for you".into()
            }
        );
        assert_eq!(
            answer_failure(401, b"{}"),
            ProbeFailure::Unauthorized {
                detail: "401 Unauthorized".into()
            }
        );
        assert_eq!(
            answer_failure(502, b"bad gateway"),
            ProbeFailure::Server { status: 502 }
        );
        let toomany = br#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"#;
        assert!(matches!(
            answer_failure(429, toomany),
            ProbeFailure::Other { detail } if detail.contains("slow down")
        ));
        assert!(matches!(
            answer_failure(204, b""),
            ProbeFailure::Other { detail } if detail == "unexpected HTTP status 204"
        ));
    }

    #[test]
    fn the_url_is_the_one_oci_client_asks() {
        let by_tag = Reference::with_tag("127.0.0.1:5000".into(), "org/app".into(), "1".into());
        assert_eq!(
            manifest_url(Scheme::Http, &by_tag),
            "http://127.0.0.1:5000/v2/org/app/manifests/1"
        );
        let pinned = Reference::with_tag_and_digest(
            "docker.io".into(),
            "library/busybox".into(),
            "1".into(),
            "sha256:abc".into(),
        );
        assert_eq!(
            manifest_url(Scheme::Https, &pinned),
            "https://index.docker.io/v2/library/busybox/manifests/sha256:abc"
        );
    }

    #[test]
    fn status_codes_have_their_own_reasons() {
        assert_eq!(status_failure(404, ""), ProbeFailure::NotFound);
        assert!(matches!(
            status_failure(401, ""),
            ProbeFailure::Unauthorized { .. }
        ));
        assert!(matches!(
            status_failure(403, ""),
            ProbeFailure::Unauthorized { .. }
        ));
        assert_eq!(
            status_failure(503, ""),
            ProbeFailure::Server { status: 503 }
        );
        assert!(matches!(
            status_failure(418, ""),
            ProbeFailure::Other { .. }
        ));
    }

    #[test]
    fn sniffed_answers() {
        assert_eq!(
            scheme_from_answer(
                b"HTTP/1.1 200 OK\r\nDocker-Distribution-Api-Version: registry/2.0\r\n\r\n{}"
            ),
            Scheme::Http
        );
        assert_eq!(
            scheme_from_answer(b"HTTP/1.1 401 Unauthorized\r\n\r\n"),
            Scheme::Http
        );
        assert_eq!(
            scheme_from_answer(
                b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
            ),
            Scheme::Https
        );
        assert_eq!(
            scheme_from_answer(b"\x15\x03\x01\x00\x02\x02\x46"),
            Scheme::Https
        );
        assert_eq!(scheme_from_answer(b""), Scheme::Https);
    }

    #[tokio::test]
    async fn sniffs_a_plain_http_server() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            if let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                    .await;
            }
        });
        let host = format!("127.0.0.1:{port}");
        assert_eq!(
            sniff_scheme("127.0.0.1", port, &host).await,
            Ok(Some(Scheme::Http))
        );
        // Nothing listening: refused, whatever the scheme.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        assert_eq!(
            sniff_scheme("127.0.0.1", port, "x").await,
            Err(TransportFailure::Refused)
        );
    }

    #[test]
    fn socket_and_tls_errors() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(transport_failure(&refused), TransportFailure::Refused);
        let cert = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert!(matches!(
            transport_failure(&cert),
            TransportFailure::Certificate(_)
        ));
        let not_tls = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
        );
        assert!(matches!(
            transport_failure(&not_tls),
            TransportFailure::NotTls(_)
        ));
        // What hyper/reqwest hand back for a plain-HTTP answer to a TLS hello: the rustls
        // error inside an io::Error inside another io::Error of kind Other.
        let nested = std::io::Error::other(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
        ));
        assert!(matches!(
            transport_failure(&nested),
            TransportFailure::NotTls(_)
        ));
        let nested_cert = std::io::Error::other(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        ));
        assert!(matches!(
            transport_failure(&nested_cert),
            TransportFailure::Certificate(_)
        ));
    }
}
