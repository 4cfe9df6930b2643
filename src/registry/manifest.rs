//! What a manifest answer must be for cnb to use it: what the Docker daemon checks when it
//! pulls, so that a candidate the probe accepts is one the daemon can pull.
//!
//! - **Size**: at most [`MAX_MANIFEST_BYTES`] (4 MiB), the most Docker's registry
//!   (docker/distribution) stores and containers/image reads; containerd, which newer
//!   daemons pull with, stops at about the same size. cnb reads one byte more than that
//!   and no further.
//! - **Content-Type**: one of the four manifest types, parameters (`; charset=utf-8`)
//!   dropped and compared case-insensitively, as docker/distribution's client does with Go's
//!   `mime.ParseMediaType`. Anything else is refused, a missing header and
//!   `application/json` included: the daemon's client reads those (and every unknown
//!   type) as a schema 1 manifest, which a v2 or OCI body is not, so its pull fails;
//!   containerd does not know what to fetch under an unknown type either.
//! - **The body's `mediaType`**: Docker's two types must repeat themselves in the body;
//!   OCI's may leave it out, but when present it must be the header's (the rules of
//!   docker/distribution's `manifestlist`, `schema2` and `ocischema` packages).
//! - **Digest**: the body must hash to the `Docker-Content-Digest` header when there is
//!   one (containerd fetches by that digest and checks it), and to the reference's digest
//!   when the image is pinned (Docker checks that).

use sha2::{Digest, Sha256, Sha384, Sha512};

/// The largest manifest or index cnb reads.
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// The reason given for a manifest over [`MAX_MANIFEST_BYTES`].
pub const TOO_LARGE: &str = "the manifest is larger than 4 MiB (Docker's limit)";

/// What the daemon pulls, said in a refusal.
const PULLABLE: &str = "an OCI or Docker image manifest or index";

/// The most of a Content-Type value shown in a reason.
const MAX_SHOWN_TYPE: usize = 100;

/// The manifest media types cnb (and the daemon) pull.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    OciIndex,
    DockerList,
    OciManifest,
    DockerManifest,
}

impl Kind {
    /// Every kind, indexes first (the order of the `Accept` header).
    pub const ALL: [Kind; 4] = [
        Kind::OciIndex,
        Kind::DockerList,
        Kind::OciManifest,
        Kind::DockerManifest,
    ];

    pub fn media_type(self) -> &'static str {
        use oci_client::manifest as m;
        match self {
            Kind::OciIndex => m::OCI_IMAGE_INDEX_MEDIA_TYPE,
            Kind::DockerList => m::IMAGE_MANIFEST_LIST_MEDIA_TYPE,
            Kind::OciManifest => m::OCI_IMAGE_MEDIA_TYPE,
            Kind::DockerManifest => m::IMAGE_MANIFEST_MEDIA_TYPE,
        }
    }

    /// An index (OCI) or manifest list (Docker): entries per platform.
    pub fn is_index(self) -> bool {
        matches!(self, Kind::OciIndex | Kind::DockerList)
    }

    /// Docker's types must name themselves in the body; OCI's may leave `mediaType` out.
    fn body_type_required(self) -> bool {
        matches!(self, Kind::DockerList | Kind::DockerManifest)
    }
}

/// A Content-Type value without its parameters, trimmed and in lower case
/// (`Application/JSON; charset=utf-8` -> `application/json`).
pub fn media_type_of(content_type: &str) -> String {
    let essence = content_type.split(';').next().unwrap_or_default();
    essence.trim().to_ascii_lowercase()
}

/// The kind of manifest a response's Content-Type (`None`: no header) announces, or why
/// the daemon would not pull what came under it.
pub fn kind_of(content_type: Option<&str>) -> Result<Kind, String> {
    let Some(value) = content_type.filter(|v| !v.trim().is_empty()) else {
        return Err(format!(
            "the registry sent the manifest without a Content-Type, and the Docker daemon only pulls {PULLABLE}"
        ));
    };
    let media_type = media_type_of(value);
    Kind::ALL
        .into_iter()
        .find(|kind| kind.media_type() == media_type)
        .ok_or_else(|| {
            format!(
                "the registry sent the manifest as {}, and the Docker daemon only pulls {PULLABLE}",
                crate::text::bounded(&media_type, MAX_SHOWN_TYPE)
            )
        })
}

/// Whether the body's own `mediaType` (`None`: the field is absent) agrees with the
/// Content-Type's `kind`.
pub fn check_body_type(kind: Kind, body_type: Option<&str>) -> Result<(), String> {
    match body_type {
        Some(t) if t == kind.media_type() => Ok(()),
        None if !kind.body_type_required() => Ok(()),
        None => Err(format!(
            "the registry sent the manifest as {} but without the mediaType field that type requires",
            kind.media_type()
        )),
        Some(t) => Err(format!(
            "the registry sent the manifest as {} but the manifest says it is {}",
            kind.media_type(),
            crate::text::bounded(t, MAX_SHOWN_TYPE)
        )),
    }
}

/// The body of a manifest answer, collected up to a limit.
#[derive(Debug)]
pub struct CappedBody {
    bytes: Vec<u8>,
    max: usize,
}

/// More than the limit came (or was announced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge;

impl CappedBody {
    /// A body of at most `max` bytes, `announced` (Content-Length) when the server said.
    pub fn new(max: usize, announced: Option<u64>) -> Result<CappedBody, TooLarge> {
        match announced {
            Some(n) if n > max as u64 => Err(TooLarge),
            // Never trust an announced size for more than the limit (plus the one byte
            // that shows it was crossed).
            Some(n) => Ok(CappedBody::with_capacity(max, n as usize)),
            None => Ok(CappedBody::with_capacity(max, 16 * 1024)),
        }
    }

    fn with_capacity(max: usize, capacity: usize) -> CappedBody {
        CappedBody {
            bytes: Vec::with_capacity(capacity.min(max + 1)),
            max,
        }
    }

    /// Adds `chunk`; `Err` as soon as the body would be longer than the limit, having kept
    /// at most the limit and one byte.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), TooLarge> {
        let room = self.max + 1 - self.bytes.len();
        self.bytes
            .extend_from_slice(&chunk[..chunk.len().min(room)]);
        if self.bytes.len() > self.max {
            Err(TooLarge)
        } else {
            Ok(())
        }
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// The digest of `body`: checked against the `Docker-Content-Digest` header (`header`)
/// and the reference's digest (`pinned`) when there are any. The header's digest is the
/// answer when there is one (the registry's canonical digest), else the pinned one, else
/// the body's sha256.
pub fn verify_digest(
    body: &[u8],
    header: Option<&str>,
    pinned: Option<&str>,
) -> Result<String, String> {
    let header = header.map(str::trim).filter(|h| !h.is_empty());
    if let Some(pinned) = pinned {
        let actual = digest_as(body, pinned).map_err(|e| format!("the reference's digest {e}"))?;
        if actual != pinned {
            return Err(format!(
                "the manifest does not match its digest: the image is pinned to {pinned} but the registry sent {actual}"
            ));
        }
    }
    if let Some(header) = header {
        let actual = digest_as(body, header)
            .map_err(|e| format!("the registry's Docker-Content-Digest {e}"))?;
        if actual != header {
            return Err(format!(
                "the manifest does not match its digest: the Docker-Content-Digest header says {} but the manifest is {actual}",
                crate::text::bounded(header, MAX_SHOWN_TYPE)
            ));
        }
        return Ok(header.to_string());
    }
    Ok(pinned.map_or_else(|| digest_with("sha256", body), str::to_string))
}

/// `body`'s digest in the algorithm of `digest`, or why `digest` is not one cnb (and
/// Docker) can check: `algorithm:hex`, sha256, sha384 or sha512, lower-case hex of the
/// algorithm's length (the rules of Go's go-digest).
fn digest_as(body: &[u8], digest: &str) -> Result<String, String> {
    let shown = crate::text::bounded(digest, MAX_SHOWN_TYPE);
    let invalid = || format!("'{shown}' is not a valid digest");
    let (algorithm, hex) = digest.split_once(':').ok_or_else(invalid)?;
    let length = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(format!("'{shown}' uses an algorithm cnb cannot check")),
    };
    let lower_hex = hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if hex.len() != length || !lower_hex {
        return Err(invalid());
    }
    Ok(digest_with(algorithm, body))
}

fn digest_with(algorithm: &str, body: &[u8]) -> String {
    let bytes: Vec<u8> = match algorithm {
        "sha384" => Sha384::digest(body).to_vec(),
        "sha512" => Sha512::digest(body).to_vec(),
        _ => Sha256::digest(body).to_vec(),
    };
    format!("{algorithm}:{}", crate::hex::encode(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

    #[test]
    fn parameters_case_and_spaces_do_not_change_the_type() {
        assert_eq!(media_type_of(OCI_INDEX), OCI_INDEX);
        assert_eq!(
            media_type_of("Application/VND.oci.image.index.v1+JSON ; charset=utf-8"),
            OCI_INDEX
        );
        assert_eq!(media_type_of(" text/plain;charset=UTF-8"), "text/plain");
        assert_eq!(media_type_of(""), "");
    }

    #[test]
    fn the_four_manifest_types_are_accepted() {
        for (value, kind) in [
            (OCI_INDEX, Kind::OciIndex),
            (DOCKER_LIST, Kind::DockerList),
            (OCI_MANIFEST, Kind::OciManifest),
            (DOCKER_MANIFEST, Kind::DockerManifest),
        ] {
            assert_eq!(kind_of(Some(value)), Ok(kind));
            assert_eq!(kind.media_type(), value);
        }
        assert_eq!(
            kind_of(Some(&format!("{DOCKER_MANIFEST}; charset=utf-8"))),
            Ok(Kind::DockerManifest)
        );
        assert!(Kind::OciIndex.is_index() && Kind::DockerList.is_index());
        assert!(!Kind::OciManifest.is_index() && !Kind::DockerManifest.is_index());
    }

    #[test]
    fn other_types_are_refused_with_the_type_named() {
        for value in [
            "text/plain",
            "text/plain; charset=utf-8",
            "application/octet-stream",
            // What Docker reads as a schema 1 manifest, and cnb does not ask for.
            "application/json",
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            // A blob type, not a manifest.
            "application/vnd.oci.image.layer.v1.tar+gzip",
        ] {
            let reason = kind_of(Some(value)).unwrap_err();
            let named = value.split(';').next().unwrap();
            assert!(
                reason.contains(&format!("as {named},")),
                "{value}: {reason}"
            );
            assert!(reason.contains("Docker daemon only pulls"), "{reason}");
        }
        for missing in [None, Some(""), Some("  ")] {
            let reason = kind_of(missing).unwrap_err();
            assert!(reason.contains("without a Content-Type"), "{reason}");
        }
        let long = format!("text/{}", "x".repeat(10_000));
        assert!(kind_of(Some(&long)).unwrap_err().len() < 300);
    }

    /// docker/distribution: `manifestlist` and `schema2` require their own type in the
    /// body; `ocischema` and the OCI index accept it absent.
    #[test]
    fn the_body_type_must_agree_with_the_header() {
        use Kind::*;
        let table: &[(Kind, Option<&str>, bool)] = &[
            (OciIndex, None, true),
            (OciIndex, Some(OCI_INDEX), true),
            (OciIndex, Some(DOCKER_LIST), false),
            (OciIndex, Some(OCI_MANIFEST), false),
            (OciManifest, None, true),
            (OciManifest, Some(OCI_MANIFEST), true),
            (OciManifest, Some(DOCKER_MANIFEST), false),
            (OciManifest, Some(OCI_INDEX), false),
            (DockerList, None, false),
            (DockerList, Some(DOCKER_LIST), true),
            (DockerList, Some(OCI_INDEX), false),
            (DockerManifest, None, false),
            (DockerManifest, Some(DOCKER_MANIFEST), true),
            (DockerManifest, Some(OCI_MANIFEST), false),
            // Exact, as Go compares them.
            (
                DockerManifest,
                Some("APPLICATION/vnd.docker.distribution.manifest.v2+json"),
                false,
            ),
        ];
        for (kind, body, ok) in table {
            let result = check_body_type(*kind, *body);
            assert_eq!(result.is_ok(), *ok, "{kind:?} {body:?}: {result:?}");
        }
        let reason = check_body_type(OciManifest, Some(DOCKER_MANIFEST)).unwrap_err();
        assert!(
            reason.contains(OCI_MANIFEST) && reason.contains(DOCKER_MANIFEST),
            "{reason}"
        );
        let reason = check_body_type(DockerManifest, None).unwrap_err();
        assert!(reason.contains("without the mediaType field"), "{reason}");
    }

    #[test]
    fn a_body_keeps_at_most_the_limit_and_one_byte() {
        let mut body = CappedBody::new(10, None).unwrap();
        body.push(b"0123").unwrap();
        body.push(b"456789").unwrap();
        assert_eq!(body.push(b"abcdefghijklmnop"), Err(TooLarge));
        assert_eq!(body.into_bytes(), b"0123456789a");

        let mut exact = CappedBody::new(4, Some(4)).unwrap();
        exact.push(b"abcd").unwrap();
        exact.push(b"").unwrap();
        assert_eq!(exact.into_bytes(), b"abcd");

        let mut one_more = CappedBody::new(4, None).unwrap();
        assert_eq!(one_more.push(b"abcde"), Err(TooLarge));
    }

    #[test]
    fn an_announced_size_over_the_limit_is_refused_before_reading() {
        assert_eq!(
            CappedBody::new(MAX_MANIFEST_BYTES, Some(1_610_612_736)).unwrap_err(),
            TooLarge
        );
        assert!(CappedBody::new(MAX_MANIFEST_BYTES, Some(MAX_MANIFEST_BYTES as u64)).is_ok());
        // A huge announced size that passes is never allocated past the limit.
        let body = CappedBody::new(10, Some(10)).unwrap();
        assert!(body.bytes.capacity() >= 10);
        assert_eq!(MAX_MANIFEST_BYTES, 4_194_304);
    }

    #[test]
    fn digests_are_checked_against_the_header_and_the_reference() {
        let body = b"{}";
        let sha256 = digest_with("sha256", body);
        assert_eq!(
            sha256,
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        // Neither: the body's sha256.
        assert_eq!(verify_digest(body, None, None), Ok(sha256.clone()));
        // Header and reference that match.
        assert_eq!(verify_digest(body, Some(&sha256), None), Ok(sha256.clone()));
        assert_eq!(verify_digest(body, None, Some(&sha256)), Ok(sha256.clone()));
        assert_eq!(
            verify_digest(body, Some(&sha256), Some(&sha256)),
            Ok(sha256.clone())
        );
        // An empty header is no header.
        assert_eq!(verify_digest(body, Some(""), None), Ok(sha256.clone()));
        // Other algorithms.
        let sha512 = digest_with("sha512", body);
        assert_eq!(
            verify_digest(body, Some(&sha512), Some(&sha256)),
            Ok(sha512)
        );

        let other = digest_with("sha256", b"[]");
        let reason = verify_digest(body, Some(&other), None).unwrap_err();
        assert!(
            reason.contains("Docker-Content-Digest header says") && reason.contains(&other),
            "{reason}"
        );
        let reason = verify_digest(body, None, Some(&other)).unwrap_err();
        assert!(reason.contains("pinned to"), "{reason}");
        assert!(reason.contains(&sha256), "{reason}");
        // Both must hold.
        assert!(verify_digest(body, Some(&sha256), Some(&other)).is_err());
        assert!(verify_digest(body, Some(&other), Some(&sha256)).is_err());

        for bad in [
            "garbage",
            "sha256:xyz",
            "sha256:44136FA355B3678A1146AD16F7E8649E94FB4FC21FE77E8310C060F61CAAFF8A",
            "sha256:44136fa3",
        ] {
            let reason = verify_digest(body, Some(bad), None).unwrap_err();
            assert!(reason.contains("is not a valid digest"), "{bad}: {reason}");
        }
        let reason =
            verify_digest(body, Some("md5:99914b932bd37a50b983c5e7c90ae93b"), None).unwrap_err();
        assert!(reason.contains("cannot check"), "{reason}");
    }
}
