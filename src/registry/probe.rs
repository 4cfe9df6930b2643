//! One manifest request against one candidate, and what its failure means.

use std::error::Error as StdError;

use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde::Deserialize;

use super::platform::{IndexEntry, select};
use super::{Platform, ProbeFailure};
use crate::reference::Scheme;

/// The manifest types a probe accepts (images and indexes, OCI and Docker).
pub const ACCEPTED_MEDIA_TYPES: &[&str] = &[
    OCI_IMAGE_INDEX_MEDIA_TYPE,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
    IMAGE_MANIFEST_MEDIA_TYPE,
];

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

#[derive(Deserialize)]
struct ManifestShape {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<IndexEntry>>,
}

/// Asks for `reference`'s manifest with `client` (whose scheme and TLS policy are set).
pub async fn attempt(client: &Client, reference: &Reference, auth: &RegistryAuth) -> Attempt {
    match client
        .pull_manifest_raw(reference, auth, ACCEPTED_MEDIA_TYPES)
        .await
    {
        Ok((body, digest)) => interpret(&body, digest),
        Err(err) => classify(&err),
    }
}

/// A manifest body: an image manifest, or an index with its entries.
fn interpret(body: &[u8], digest: String) -> Attempt {
    let shape: ManifestShape = match serde_json::from_slice(body) {
        Ok(shape) => shape,
        Err(e) => {
            return Attempt::Failed(ProbeFailure::Other {
                detail: format!("the registry sent a manifest that is not valid JSON: {e}"),
            });
        }
    };
    let is_index = shape.manifests.is_some()
        || matches!(shape.media_type.as_deref(), Some(t) if t == OCI_IMAGE_INDEX_MEDIA_TYPE || t == IMAGE_MANIFEST_LIST_MEDIA_TYPE);
    Attempt::Manifest(Manifest {
        digest,
        index: is_index.then(|| shape.manifests.unwrap_or_default()),
    })
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

/// Sorts an oci-client error into a [`ProbeFailure`] (the registry answered) or a
/// [`TransportFailure`] (it did not).
pub fn classify(err: &OciDistributionError) -> Attempt {
    use OciDistributionError as E;
    match err {
        E::UnauthorizedError { .. } => Attempt::Failed(ProbeFailure::Unauthorized {
            detail: "401 Unauthorized".to_string(),
        }),
        E::AuthenticationFailure(_) => Attempt::Failed(ProbeFailure::Unauthorized {
            detail: "the token service refused the credentials".to_string(),
        }),
        E::RegistryError { envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
            if codes.iter().any(|c| {
                matches!(
                    c,
                    OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::NotFound
                )
            }) {
                Attempt::Failed(ProbeFailure::NotFound)
            } else if codes
                .iter()
                .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
            {
                let message = envelope
                    .errors
                    .first()
                    .map(|e| e.message.clone())
                    .unwrap_or_default();
                Attempt::Failed(ProbeFailure::Unauthorized {
                    detail: if message.is_empty() {
                        "access denied".to_string()
                    } else {
                        format!("access denied: {message}")
                    },
                })
            } else {
                let text = envelope
                    .errors
                    .iter()
                    .map(|e| format!("{:?}: {}", e.code, e.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                Attempt::Failed(ProbeFailure::Other {
                    detail: format!("the registry answered with an error: {text}"),
                })
            }
        }
        E::ServerError { code, message, .. } => Attempt::Failed(status_failure(*code, message)),
        E::RequestError(e) => Attempt::Transport(transport_failure(e)),
        E::ImageManifestNotFoundError(_) => Attempt::Failed(ProbeFailure::NotFound),
        E::DigestError(e) => Attempt::Failed(ProbeFailure::Other {
            detail: format!("the manifest does not match its digest: {e}"),
        }),
        other => Attempt::Failed(ProbeFailure::Other {
            detail: other.to_string(),
        }),
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

    #[test]
    fn image_manifest_is_found() {
        let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}"#;
        match interpret(body, "sha256:aaa".into()) {
            Attempt::Manifest(m) => {
                let f = m.choose(&platform()).unwrap();
                assert_eq!(f.digest, "sha256:aaa");
                assert_eq!(f.index_digest, None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn index_resolves_to_platform_entry() {
        let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:arm","size":1,"platform":{"os":"linux","architecture":"arm64"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:amd","size":1,"platform":{"os":"linux","architecture":"amd64"}}]}"#;
        let Attempt::Manifest(m) = interpret(body, "sha256:idx".into()) else {
            panic!("not a manifest")
        };
        let f = m.clone().choose(&platform()).unwrap();
        assert_eq!(f.digest, "sha256:amd");
        assert_eq!(f.index_digest.as_deref(), Some("sha256:idx"));
        match m.choose(&Platform::linux("s390x")) {
            Err(ProbeFailure::Other { detail }) => {
                assert!(detail.contains("linux/s390x"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
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
