//! The resolution engine (SPEC §4, §5): where to fetch an image from, and why.
//!
//! Image in, [`Resolution`] out: the candidates (mirrors in order, original last),
//! each with its outcome and latency, and the chosen one. Candidates are probed
//! concurrently with a manifest request (oci-client), each with its own host's
//! credentials and TLS policy; the first candidate in preference order that
//! answered wins, and no earlier candidate is waited on past the timeout.
//! Results are memoised per [`Resolver`] (one per process). Docker is not used here.

use std::fmt;
use std::sync::Arc;

use crate::reference::{ImageRef, Mirror, Registry};
use crate::settings::RegistrySettings;

/// The platform a multi-platform index is resolved for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    /// `linux` and the host's architecture in OCI spelling (`amd64`, `arm64`, ...).
    pub fn host_linux() -> Platform {
        todo!()
    }
}

/// Why a candidate was not used. `Display` is the reason shown to users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeFailure {
    /// Connection refused.
    Refused,
    /// No answer within the probe timeout.
    TimedOut { millis: u64 },
    /// The registry does not have this image (404 / MANIFEST_UNKNOWN).
    NotFound,
    /// 401/403 after trying the credentials we have.
    Unauthorized { detail: String },
    /// TLS handshake or certificate failure; `insecure_hint` when allowing the host would help.
    Tls { detail: String, insecure_hint: bool },
    /// The registry answered 5xx.
    Server { status: u16 },
    /// DNS, protocol or anything else.
    Other { detail: String },
}

impl fmt::Display for ProbeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CandidateStatus {
    Chosen,
    Failed(ProbeFailure),
    /// An earlier candidate was chosen; this one's answer (if any) was not needed.
    Unused,
}

/// One place an image could be fetched from.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The image at this candidate (mirror host + prefix + repository, or the original).
    pub location: ImageRef,
    /// The mirror this candidate came from; `None` for the original registry.
    pub mirror: Option<Mirror>,
    pub status: CandidateStatus,
    /// Probe latency; `None` when the probe was cancelled before it finished.
    pub millis: Option<u64>,
}

/// The outcome of resolving one image.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// The image as normalised from what was asked.
    pub image: ImageRef,
    /// Preference order: mirrors, then the original.
    pub candidates: Vec<Candidate>,
    /// Manifest digest at the chosen candidate (for the platform, when an index).
    pub digest: Option<String>,
}

impl Resolution {
    pub fn chosen(&self) -> Option<&Candidate> {
        self.candidates
            .iter()
            .find(|c| c.status == CandidateStatus::Chosen)
    }
}

/// How cnb (and the daemon, and the lifecycle) may talk to one registry host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transport {
    /// Plain HTTP may be used (an `http://` mirror, loopback, or insecure entry).
    pub allow_http: bool,
    /// TLS certificates are not verified (insecure entry).
    pub skip_tls_verify: bool,
}

/// Resolves images against one invocation's registry settings. Cheap to share (`Arc`).
pub struct Resolver {
    settings: RegistrySettings,
    platform: Platform,
}

impl Resolver {
    pub fn new(settings: RegistrySettings, platform: Platform) -> Resolver {
        Resolver { settings, platform }
    }

    pub fn settings(&self) -> &RegistrySettings {
        &self.settings
    }

    pub fn platform(&self) -> &Platform {
        &self.platform
    }

    /// Resolves one image; the answer is computed once per process and shared.
    pub async fn resolve(&self, image: &ImageRef) -> Arc<Resolution> {
        let _ = image;
        todo!()
    }

    /// Resolves several images concurrently, in the order given.
    pub async fn resolve_all(&self, images: &[ImageRef]) -> Vec<Arc<Resolution>> {
        let _ = images;
        todo!()
    }

    /// Whether `registry` is covered by an insecure entry (host, host:port, or CIDR,
    /// with host names resolved).
    pub async fn is_insecure(&self, registry: &Registry) -> bool {
        let _ = registry;
        todo!()
    }

    /// The transport policy for `registry` (SPEC §5).
    pub async fn transport(&self, registry: &Registry) -> Transport {
        let _ = registry;
        todo!()
    }

    /// An oci-client configured for `registry`'s transport, with its credentials,
    /// for fetching an image cnb loads into the daemon itself.
    pub async fn client_for(
        &self,
        registry: &Registry,
    ) -> anyhow::Result<(oci_client::Client, oci_client::secrets::RegistryAuth)> {
        let _ = registry;
        todo!()
    }
}
