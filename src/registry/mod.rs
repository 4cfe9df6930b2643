//! The resolution engine (SPEC §4, §5): where to fetch an image from, and why.
//!
//! Image in, [`Resolution`] out: the candidates (mirrors in order, original last),
//! each with its outcome and latency, and the chosen one. Candidates are probed
//! concurrently with a manifest request (authenticated by oci-client, read with a size
//! cap and checked as the Docker daemon checks it), each with its own host's
//! credentials and TLS policy; the first candidate in preference order that
//! answered wins, and no earlier candidate is waited on past the timeout.
//! Results are memoised per [`Resolver`] (one per process). Docker is not used here:
//! the platform an image index resolves for is handed in by the command layer.
//!
//! Where things live:
//! - this file: the [`Resolver`] and what it offers (resolve, transport, clients);
//! - [`resolution`]: the outcome types ([`Resolution`], [`Candidate`], [`ProbeFailure`]);
//! - [`resolve`](mod@resolve): one image, all candidates probed at once, first in order wins;
//! - [`candidate`]: probing one candidate (scheme, credentials, HTTPS then plain HTTP);
//! - [`probe`]: one manifest request and what its failure means;
//! - [`manifest`]: what a manifest answer must be (size, Content-Type, digest);
//! - [`client`]: cnb's own reads of an image outside probing (fetch-and-load);
//! - [`text`]: every sentence the resolver prints (status lines, warnings, `-v`/`-vv`);
//! - [`hosts`]: what is known per host in this process, and the shared clients;
//! - [`policy`]: TLS/HTTP per host (SPEC §5); [`platform`]: which manifest of an index;
//!   [`roots`]: the system's root certificates.

mod candidate;
mod client;
mod hosts;
mod manifest;
mod platform;
pub mod policy;
mod probe;
mod resolution;
mod resolve;
pub mod roots;
mod text;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use oci_client::Reference;
use oci_client::secrets::RegistryAuth;
use tokio::sync::OnceCell;

use crate::reference::{ImageRef, Registry, Scheme};
use crate::settings::RegistrySettings;
use crate::ui::Ui;

pub use client::RegistryClient;
use hosts::{ClientCell, ClientKey, Host};
pub use platform::Platform;
use platform::{Detection, PlatformState};
pub use resolution::{
    Candidate, CandidateStatus, ProbeFailure, Resolution, ResolveError, certificate_hint,
    insecure_hint, tls_hint,
};
pub use resolve::candidate_specs;
pub use text::mirror_name;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these maps leaves it usable: its entries stay valid.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Resolves images against one invocation's registry settings. Cheap to share (`Arc`).
pub struct Resolver {
    settings: RegistrySettings,
    platform: Arc<PlatformState>,
    ui: Ui,
    memo: Mutex<HashMap<ImageRef, Arc<OnceCell<Arc<Resolution>>>>>,
    hosts: Mutex<HashMap<Registry, Arc<Host>>>,
    clients: Mutex<HashMap<ClientKey, ClientCell>>,
}

impl Resolver {
    /// A resolver that reports (status lines, warnings) through [`Ui::plain`];
    /// see [`Resolver::with_ui`].
    pub fn new(settings: RegistrySettings, platform: Platform) -> Resolver {
        let state = PlatformState {
            fallback: platform.clone(),
            value: OnceLock::new(),
            detection: Mutex::new(Detection::Done),
            done: OnceCell::new(),
        };
        let _ = state.value.set(platform);
        Resolver::with_platform_state(settings, state)
    }

    /// A resolver whose platform comes from `detect` (the command layer asks the Docker
    /// daemon), awaited only when an image index needs it (or a client is handed out),
    /// so that images that are not indexes never wait for it. Until it answers, the
    /// platform is `fallback`.
    pub fn detecting_platform(
        settings: RegistrySettings,
        fallback: Platform,
        detect: impl Future<Output = Platform> + Send + 'static,
    ) -> Resolver {
        let state = PlatformState {
            fallback,
            value: OnceLock::new(),
            detection: Mutex::new(Detection::Pending(Box::pin(detect))),
            done: OnceCell::new(),
        };
        Resolver::with_platform_state(settings, state)
    }

    fn with_platform_state(settings: RegistrySettings, platform: PlatformState) -> Resolver {
        Resolver {
            settings,
            platform: Arc::new(platform),
            ui: Ui::plain(),
            memo: Mutex::new(HashMap::new()),
            hosts: Mutex::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Reports through `ui`: `Using mirror ...` status lines and a warning per failed
    /// mirror when an image is resolved, probe detail with `-v`/`-vv`.
    pub fn with_ui(mut self, ui: Ui) -> Resolver {
        self.ui = ui;
        self
    }

    pub fn settings(&self) -> &RegistrySettings {
        &self.settings
    }

    /// The platform indexes resolve for. With [`Resolver::detecting_platform`], this is
    /// the host's until an index made cnb ask the daemon (see [`Resolver::resolved_platform`]).
    pub fn platform(&self) -> &Platform {
        self.platform.current()
    }

    /// The platform indexes resolve for, asking the daemon first when this resolver
    /// detects it and has not asked yet.
    pub async fn resolved_platform(&self) -> Platform {
        self.platform.get().await
    }

    /// Resolves one image; the answer is computed once per process and shared.
    pub async fn resolve(&self, image: &ImageRef) -> Arc<Resolution> {
        let cell = lock(&self.memo).entry(image.clone()).or_default().clone();
        cell.get_or_init(|| async {
            let resolution = Arc::new(self.compute(image).await);
            self.say().resolved(&resolution);
            resolution
        })
        .await
        .clone()
    }

    /// Resolves several images concurrently, in the order given.
    pub async fn resolve_all(&self, images: &[ImageRef]) -> Vec<Arc<Resolution>> {
        futures_util::future::join_all(images.iter().map(|image| self.resolve(image))).await
    }

    /// Whether `registry` is covered by an insecure entry (host, host:port, or CIDR,
    /// with host names resolved).
    pub async fn is_insecure(&self, registry: &Registry) -> bool {
        let host = self.host(registry);
        *host
            .insecure
            .get_or_init(|| policy::is_insecure(&self.settings.insecure, registry))
            .await
    }

    /// The transport policy for `registry` (SPEC §5).
    pub async fn transport(&self, registry: &Registry) -> Transport {
        let host = self.host(registry);
        *host
            .transport
            .get_or_init(|| async {
                let insecure = self.is_insecure(registry).await;
                let http_mirror = self.settings.mirrors.iter().any(|(_, list)| {
                    list.iter()
                        .any(|m| m.scheme() == Scheme::Http && m.registry() == registry)
                });
                policy::transport(registry.is_loopback(), insecure, http_mirror)
            })
            .await
    }

    /// A client configured for `registry`'s transport, with its credentials, for
    /// fetching an image cnb loads into the daemon itself.
    ///
    /// The client speaks the scheme the registry answered on when it was probed; for
    /// a host not probed yet whose transport allows plain HTTP, one manifest request
    /// decides (HTTPS first). Index manifests resolve to [`Resolver::platform`].
    pub async fn client_for(&self, registry: &Registry) -> anyhow::Result<RegistryClient> {
        self.platform.start();
        let host = self.host(registry);
        let transport = self.transport(registry).await;
        let auth = self
            .credential(registry, &host)
            .await
            .map_err(anyhow::Error::msg)?
            .map(|c| c.registry_auth())
            .unwrap_or(RegistryAuth::Anonymous);
        let known = *lock(&host.scheme);
        let scheme = match known {
            Some(scheme) => scheme,
            None if !transport.allow_http => Scheme::Https,
            None => {
                let probe =
                    ImageRef::parse(&format!("{}/cnb/scheme-check:latest", registry.key()))?;
                let _ =
                    tokio::time::timeout(self.settings.timeout, self.probe_candidate(&probe, None))
                        .await;
                let learned = *lock(&host.scheme);
                learned.unwrap_or(Scheme::Https)
            }
        };
        let clients = self.client(registry, scheme, transport).await?;
        Ok(RegistryClient::new(clients, auth, self.settings.timeout))
    }

    /// One probe of `image` at its own registry (no mirrors) that fails only when the
    /// registry's TLS does not pass cnb's policy: a missing image, an answer that wants
    /// credentials or no answer within the probe timeout are left to whoever uses it.
    /// With `--publish` the lifecycle writes to a registry cnb does not otherwise ask, and
    /// this lets a certificate it would refuse fail before the build, with the hint.
    pub async fn check_tls(&self, image: &ImageRef) -> Result<(), ProbeFailure> {
        match tokio::time::timeout(self.settings.timeout, self.probe_candidate(image, None)).await {
            Ok(Err(failure @ ProbeFailure::Tls { .. })) => Err(failure),
            _ => Ok(()),
        }
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

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The oci-client reference for a cnb reference (registry spelled as [`Registry::key`]).
/// With both a tag and a digest, oci-client fetches by digest.
pub fn oci_reference(image: &ImageRef) -> Reference {
    let registry = image.registry().key();
    let repository = image.repository().to_string();
    match (image.tag(), image.digest()) {
        (Some(tag), Some(digest)) => Reference::with_tag_and_digest(
            registry,
            repository,
            tag.to_string(),
            digest.to_string(),
        ),
        (None, Some(digest)) => Reference::with_digest(registry, repository, digest.to_string()),
        (tag, None) => {
            Reference::with_tag(registry, repository, tag.unwrap_or("latest").to_string())
        }
    }
}

#[cfg(test)]
mod tests;
