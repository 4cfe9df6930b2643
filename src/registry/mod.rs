//! The resolution engine (SPEC §4, §5): where to fetch an image from, and why.
//!
//! Image in, [`Resolution`] out: the candidates (mirrors in order, original last),
//! each with its outcome and latency, and the chosen one. Candidates are probed
//! concurrently with a manifest request (oci-client), each with its own host's
//! credentials and TLS policy; the first candidate in preference order that
//! answered wins, and no earlier candidate is waited on past the timeout.
//! Results are memoised per [`Resolver`] (one per process). Docker is not used here:
//! the platform an image index resolves for is handed in by the command layer.

//!
//! Submodules: [`policy`] (TLS/HTTP per host), [`probe`] (one manifest request and
//! what its failure means), [`platform`] (which manifest of an index).

mod platform;
pub mod policy;
mod probe;
pub mod roots;

use std::collections::HashMap;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest::ImageIndexEntry;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use thiserror::Error;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::credentials::{self, Credential};
use crate::reference::{ImageRef, Mirror, Registry, Scheme};
use crate::settings::RegistrySettings;
use crate::ui::Ui;

use probe::{Attempt, Found, TransportFailure};

/// The platform a multi-platform index is resolved for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
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

fn cut(detail: &str) -> std::borrow::Cow<'_, str> {
    crate::text::bounded(detail, crate::text::MAX_EXTERNAL_MESSAGE)
}

impl fmt::Display for ProbeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeFailure::Refused => write!(f, "connection refused"),
            ProbeFailure::TimedOut { millis } => {
                write!(f, "no answer within {millis} ms (timed out)")
            }
            ProbeFailure::NotFound => write!(f, "image not found (404)"),
            // The details carry what the registry said: bounded (see crate::text).
            ProbeFailure::Unauthorized { detail } => write!(f, "unauthorized: {}", cut(detail)),
            ProbeFailure::Tls { detail, .. } => write!(f, "TLS failure: {}", cut(detail)),
            ProbeFailure::Server { status } => write!(f, "server error (HTTP {status})"),
            ProbeFailure::Other { detail } => write!(f, "{}", cut(detail)),
        }
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

impl Candidate {
    /// The reason this candidate failed, if it did.
    pub fn failure(&self) -> Option<&ProbeFailure> {
        match &self.status {
            CandidateStatus::Failed(reason) => Some(reason),
            _ => None,
        }
    }

    /// `chosen`, `failed` or `unused` (the JSON spelling).
    pub fn status_str(&self) -> &'static str {
        match self.status {
            CandidateStatus::Chosen => "chosen",
            CandidateStatus::Failed(_) => "failed",
            CandidateStatus::Unused => "unused",
        }
    }

    /// The command that would let cnb through a TLS failure on this candidate's host.
    pub fn hint(&self) -> Option<String> {
        match self.failure() {
            Some(ProbeFailure::Tls {
                insecure_hint: true,
                ..
            }) => Some(insecure_hint(self.location.registry())),
            _ => None,
        }
    }
}

/// `if you trust <host>, allow it: cnb config insecure-registries add <host>`.
pub fn insecure_hint(registry: &Registry) -> String {
    let key = registry.key();
    format!(
        "if you trust {key}, allow plain HTTP and unverified TLS for it with `cnb config insecure-registries add {key}` (or --insecure-registry {key} for one run)"
    )
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

    /// The error to show when no candidate had the image (`None` when one did).
    pub fn error(&self) -> Option<ResolveError> {
        if self.chosen().is_some() {
            return None;
        }
        Some(ResolveError {
            image: self.image.to_string(),
            failures: self
                .candidates
                .iter()
                .map(|c| {
                    let mut reason = c
                        .failure()
                        .map(ToString::to_string)
                        .unwrap_or_else(|| "not probed".to_string());
                    if let Some(hint) = c.hint() {
                        reason.push_str(&format!(" ({hint})"));
                    }
                    (c.location.to_string(), reason)
                })
                .collect(),
        })
    }
}

/// No candidate had the image. Lists every candidate with its reason (one line).
#[derive(Debug, Clone, Error)]
pub struct ResolveError {
    pub image: String,
    /// `(location, reason)` in preference order.
    pub failures: Vec<(String, String)>,
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not fetch {} from any location: ", self.image)?;
        for (i, (location, reason)) in self.failures.iter().enumerate() {
            if i > 0 {
                write!(f, "; ")?;
            }
            write!(f, "{location}: {reason}")?;
        }
        Ok(())
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

/// What cnb knows about one registry host during a process.
#[derive(Default)]
struct Host {
    insecure: OnceCell<bool>,
    transport: OnceCell<Transport>,
    /// `Err` holds a message without secrets.
    credential: OnceCell<Result<Option<Credential>, String>>,
    /// The scheme the host answered HTTP on.
    scheme: Mutex<Option<Scheme>>,
    /// Set when the host refused connections or did not answer within the probe timeout:
    /// later probes to it in this process fail at once with this reason, so a dead or
    /// black-holed host costs the timeout once per command, not once per image.
    dead: Mutex<Option<ProbeFailure>>,
}

/// One oci-client per scheme and certificate policy, shared by every host.
///
/// Building a client loads the system's root certificates, so it is done once per kind,
/// off the async threads. Sharing is safe for credentials: oci-client keys both its
/// credential store and its token cache by registry host (and repository), attaches
/// credentials only to requests for that host, and cnb stores each host's own.
type ClientKey = (Scheme, bool);
type ClientCell = Arc<OnceCell<Client>>;

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
            self.report(&resolution);
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

    /// An oci-client configured for `registry`'s transport, with its credentials,
    /// for fetching an image cnb loads into the daemon itself.
    ///
    /// The client speaks the scheme the registry answered on when it was probed; for
    /// a host not probed yet whose transport allows plain HTTP, one manifest request
    /// decides (HTTPS first). Index manifests resolve to [`Resolver::platform`].
    pub async fn client_for(&self, registry: &Registry) -> anyhow::Result<(Client, RegistryAuth)> {
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
        let client = self.client(scheme, transport).await?;
        Ok((client, auth))
    }

    /// The credential helper of `registry` when its credentials are still being looked up.
    fn pending_helper(&self, registry: &Registry) -> Option<String> {
        if self.host(registry).credential.initialized() {
            return None;
        }
        credentials::helper_for(registry)
    }

    /// Remembers that `registry` is unreachable for the rest of this process.
    fn mark_dead(&self, registry: &Registry, failure: ProbeFailure) {
        lock(&self.host(registry).dead).get_or_insert(failure);
    }

    fn host(&self, registry: &Registry) -> Arc<Host> {
        lock(&self.hosts)
            .entry(registry.clone())
            .or_default()
            .clone()
    }

    async fn credential(
        &self,
        registry: &Registry,
        host: &Host,
    ) -> Result<Option<Credential>, String> {
        host.credential
            .get_or_init(|| async {
                let registry = registry.clone();
                // Credential helpers are processes and the config is a file: keep them
                // off the async threads.
                match tokio::task::spawn_blocking(move || credentials::lookup(&registry)).await {
                    Ok(Ok(found)) => Ok(found),
                    Ok(Err(e)) => Err(format!("{e:#}")),
                    Err(e) => Err(format!("the credential lookup failed: {e}")),
                }
            })
            .await
            .clone()
    }

    fn client_cell(&self, scheme: Scheme, transport: Transport) -> (ClientCell, ClientConfigSeed) {
        let key = (scheme, transport.skip_tls_verify);
        let cell = lock(&self.clients).entry(key).or_default().clone();
        let seed = ClientConfigSeed {
            scheme,
            skip_tls_verify: transport.skip_tls_verify,
            platform: self.platform.clone(),
            connect_timeout: self.settings.timeout,
        };
        (cell, seed)
    }

    /// The shared client for `scheme` and `transport`'s certificate policy.
    async fn client(&self, scheme: Scheme, transport: Transport) -> anyhow::Result<Client> {
        let (cell, seed) = self.client_cell(scheme, transport);
        let client = cell.get_or_try_init(|| seed.build()).await?;
        Ok(client.clone())
    }

    /// Starts building a client that will probably be needed soon (in the background).
    fn warm(&self, scheme: Scheme, transport: Transport) {
        let (cell, seed) = self.client_cell(scheme, transport);
        if cell.initialized() {
            return;
        }
        tokio::spawn(async move {
            let _ = cell.get_or_try_init(|| seed.build()).await;
        });
    }

    /// Probes every candidate at once and picks the first in preference order that has
    /// the image, never waiting for any past `start + timeout`.
    async fn compute(&self, image: &ImageRef) -> Resolution {
        let specs = candidate_specs(&self.settings, image);
        let n = specs.len();

        let start = Instant::now();
        let deadline = start + self.settings.timeout;
        let timeout_ms = millis(self.settings.timeout);
        let mut pending: FuturesUnordered<_> = specs
            .iter()
            .enumerate()
            .map(|(i, (location, mirror))| async move {
                let result = self.probe_candidate(location, mirror.as_ref()).await;
                (i, result, millis(start.elapsed()))
            })
            .collect();

        let mut outcomes: Vec<Option<(Result<Found, ProbeFailure>, u64)>> = vec![None; n];
        let chosen = loop {
            let found: Vec<Option<bool>> = outcomes
                .iter()
                .map(|o| o.as_ref().map(|(r, _)| r.is_ok()))
                .collect();
            match next_step(&found) {
                Step::Chosen(i) => break Some(i),
                Step::Exhausted => break None,
                Step::Wait => {}
            }
            match tokio::time::timeout_at(deadline, pending.next()).await {
                Ok(Some((i, result, ms))) => {
                    self.ui.verbose(
                        1,
                        format!(
                            "probe {}: {} in {ms} ms",
                            specs[i].0,
                            match &result {
                                Ok(found) => match &found.index_digest {
                                    Some(index) => {
                                        format!("has it ({}, from index {index})", found.digest)
                                    }
                                    None => format!("has it ({})", found.digest),
                                },
                                Err(reason) => reason.to_string(),
                            }
                        ),
                    );
                    if let Err(failure @ ProbeFailure::Refused) = &result {
                        self.mark_dead(specs[i].0.registry(), failure.clone());
                    }
                    outcomes[i] = Some((result, ms));
                }
                Ok(None) => break None,
                Err(_) => {
                    for (i, outcome) in outcomes.iter_mut().enumerate() {
                        if outcome.is_none() {
                            let registry = specs[i].0.registry();
                            // Still asking a credential helper: that is what did not answer,
                            // not the registry (which stays usable for later probes).
                            let failure = match self.pending_helper(registry) {
                                Some(helper) => ProbeFailure::Other {
                                    detail: format!(
                                        "the credential helper {helper} did not answer within \
                                         {timeout_ms} ms for {}",
                                        registry.key()
                                    ),
                                },
                                None => {
                                    let failure = ProbeFailure::TimedOut { millis: timeout_ms };
                                    self.mark_dead(registry, failure.clone());
                                    failure
                                }
                            };
                            self.ui
                                .verbose(1, format!("probe {}: {failure}", specs[i].0));
                            *outcome = Some((Err(failure), timeout_ms));
                        }
                    }
                }
            }
        };
        // Later candidates' probes are not needed any more: dropping them cancels them.
        drop(pending);

        let mut digest = None;
        let candidates = specs
            .into_iter()
            .zip(outcomes)
            .enumerate()
            .map(|(i, ((location, mirror), outcome))| {
                let ms = outcome.as_ref().map(|(_, ms)| *ms);
                let status = match (chosen, outcome) {
                    (Some(c), Some((Ok(found), _))) if c == i => {
                        digest = Some(found.digest);
                        CandidateStatus::Chosen
                    }
                    (Some(c), _) if i > c => CandidateStatus::Unused,
                    (_, Some((Err(reason), _))) => CandidateStatus::Failed(reason),
                    (_, Some((Ok(_), _))) => CandidateStatus::Unused,
                    (_, None) => CandidateStatus::Failed(ProbeFailure::Other {
                        detail: "the probe did not finish".to_string(),
                    }),
                };
                Candidate {
                    location,
                    mirror,
                    status,
                    millis: ms,
                }
            })
            .collect();
        Resolution {
            image: image.clone(),
            candidates,
            digest,
        }
    }

    /// One candidate: its host's transport and credentials, then a manifest request
    /// (HTTPS, then plain HTTP where the host allows it and HTTPS got no HTTP answer).
    async fn probe_candidate(
        &self,
        location: &ImageRef,
        mirror: Option<&Mirror>,
    ) -> Result<Found, ProbeFailure> {
        let registry = location.registry();
        let host = self.host(registry);
        if let Some(failure) = lock(&host.dead).clone() {
            self.ui.verbose(
                2,
                format!(
                    "probe {location}: skipped, {} failed earlier in this run ({failure})",
                    registry.key()
                ),
            );
            return Err(failure);
        }
        let transport = self.transport(registry).await;
        let credential = self
            .credential(registry, &host)
            .await
            .map_err(|detail| ProbeFailure::Other { detail })?;
        let auth = credential
            .as_ref()
            .map(Credential::registry_auth)
            .unwrap_or(RegistryAuth::Anonymous);
        let reference = oci_reference(location);

        let forced_http = mirror.is_some_and(|m| m.scheme() == Scheme::Http);
        let unknown = !forced_http && transport.allow_http && lock(&host.scheme).is_none();
        if let (true, Some(port)) = (unknown, registry.port()) {
            match probe::sniff_scheme(registry.host(), port, &registry.key()).await {
                Ok(Some(scheme)) => {
                    self.ui.verbose(
                        2,
                        format!(
                            "probe {location}: {} speaks {}",
                            registry.key(),
                            scheme_str(scheme)
                        ),
                    );
                    lock(&host.scheme).get_or_insert(scheme);
                }
                Ok(None) => {}
                Err(failure) => return Err(to_failure(failure, Scheme::Http, transport)),
            }
        }
        let known = *lock(&host.scheme);
        let schemes: &[Scheme] = if forced_http {
            &[Scheme::Http]
        } else if let Some(Scheme::Http) = known {
            &[Scheme::Http]
        } else if known == Some(Scheme::Https) || !transport.allow_http {
            &[Scheme::Https]
        } else {
            &[Scheme::Https, Scheme::Http]
        };

        let who = match &credential {
            Some(c) => format!(
                "with credentials for {} ({})",
                credentials::auth_key(registry),
                c.describe()
            ),
            None => "anonymously".to_string(),
        };
        let mut last = None;
        for (k, scheme) in schemes.iter().enumerate() {
            let scheme_str = scheme_str(*scheme);
            self.ui.verbose(
                2,
                format!(
                    "probe {location}: GET {scheme_str}://{}/v2/{}/manifests/{} {who}{}",
                    registry.key(),
                    reference.repository(),
                    reference.digest().or(reference.tag()).unwrap_or("latest"),
                    if transport.skip_tls_verify && *scheme == Scheme::Https {
                        " (TLS not verified: insecure registry)"
                    } else {
                        ""
                    }
                ),
            );
            if k == 0 && schemes.len() > 1 {
                self.warm(schemes[1], transport);
            }
            let client =
                self.client(*scheme, transport)
                    .await
                    .map_err(|e| ProbeFailure::Other {
                        detail: format!("{e:#}"),
                    })?;
            match probe::attempt(&client, &reference, &auth).await {
                Attempt::Manifest(manifest) => {
                    *lock(&host.scheme) = Some(*scheme);
                    if manifest.index.is_none() {
                        return manifest.choose(self.platform.current());
                    }
                    let platform = self.platform.get().await;
                    self.ui.verbose(
                        1,
                        format!(
                            "probe {location}: an image index; choosing the manifest for {platform}"
                        ),
                    );
                    return manifest.choose(&platform);
                }
                Attempt::Failed(failure) => {
                    *lock(&host.scheme) = Some(*scheme);
                    return Err(explain(failure, registry, credential.as_ref()));
                }
                Attempt::Transport(failure) => {
                    let more = k + 1 < schemes.len();
                    let fallback = matches!(
                        failure,
                        TransportFailure::Refused
                            | TransportFailure::NotTls(_)
                            | TransportFailure::Other(_)
                    );
                    if more && fallback {
                        self.ui.verbose(
                            2,
                            format!(
                                "probe {location}: HTTPS got no HTTP answer ({}); trying plain HTTP",
                                transport_text(&failure)
                            ),
                        );
                        last = Some(failure);
                        continue;
                    }
                    return Err(to_failure(failure, *scheme, transport));
                }
            }
        }
        Err(last
            .map(|f| to_failure(f, Scheme::Https, transport))
            .unwrap_or(ProbeFailure::Other {
                detail: "no scheme to try".to_string(),
            }))
    }

    /// Status lines and warnings for a fresh resolution.
    fn report(&self, resolution: &Resolution) {
        for candidate in &resolution.candidates {
            if let (Some(mirror), Some(reason)) = (&candidate.mirror, candidate.failure()) {
                self.ui.warn(format!(
                    "mirror {} failed for {}: {reason}",
                    mirror_name(mirror),
                    resolution.image
                ));
                if let Some(hint) = candidate.hint() {
                    self.ui.hint(hint);
                }
            }
        }
        if let Some(chosen) = resolution.chosen() {
            match &chosen.mirror {
                Some(mirror) => self.ui.status(format!(
                    "Using mirror {} for {}",
                    mirror_name(mirror),
                    resolution.image
                )),
                None if resolution.candidates.len() > 1 => self.ui.status(format!(
                    "Using {} for {} (no mirror could serve it)",
                    resolution.image.registry(),
                    resolution.image
                )),
                None => {}
            }
        }
    }
}

/// The candidates for `image` in preference order: its mirrors, then the original.
pub fn candidate_specs(
    settings: &RegistrySettings,
    image: &ImageRef,
) -> Vec<(ImageRef, Option<Mirror>)> {
    let mut specs: Vec<(ImageRef, Option<Mirror>)> = settings
        .mirrors_for(image.registry())
        .into_iter()
        .map(|m| (m.location_for(image), Some(m)))
        .collect();
    specs.push((image.clone(), None));
    specs
}

/// Where the walk in preference order stands.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// This candidate has the image and every earlier one failed.
    Chosen(usize),
    /// An earlier candidate has not answered yet.
    Wait,
    /// Every candidate failed.
    Exhausted,
}

/// `found[i]`: `None` while candidate `i` is pending, else whether it had the image.
fn next_step(found: &[Option<bool>]) -> Step {
    for (i, outcome) in found.iter().enumerate() {
        match outcome {
            Some(true) => return Step::Chosen(i),
            Some(false) => continue,
            None => return Step::Wait,
        }
    }
    Step::Exhausted
}

/// The platform indexes resolve for: given, or asked of the Docker daemon once, in the
/// background, and awaited only by a probe that found an index.
struct PlatformState {
    /// Used until (and unless) the detection answers.
    fallback: Platform,
    value: OnceLock<Platform>,
    detection: Mutex<Detection>,
    done: OnceCell<()>,
}

/// The command layer's way to find the platform (it asks the Docker daemon).
type DetectPlatform = Pin<Box<dyn Future<Output = Platform> + Send>>;

/// Where the detection of the platform stands.
enum Detection {
    /// Not started.
    Pending(DetectPlatform),
    /// Started in the background by [`PlatformState::start`].
    Running(tokio::task::JoinHandle<Platform>),
    /// Nothing to detect (the platform was given), or taken by [`PlatformState::get`].
    Done,
}

impl PlatformState {
    fn current(&self) -> &Platform {
        self.value.get().unwrap_or(&self.fallback)
    }

    /// Starts detecting in the background (once; needs a tokio runtime).
    fn start(&self) {
        let mut detection = lock(&self.detection);
        if let Detection::Pending(_) = &*detection
            && let Detection::Pending(detect) = std::mem::replace(&mut *detection, Detection::Done)
        {
            *detection = Detection::Running(tokio::spawn(detect));
        }
    }

    async fn get(&self) -> Platform {
        if let Some(platform) = self.value.get() {
            return platform.clone();
        }
        self.done
            .get_or_init(|| async {
                let detection = std::mem::replace(&mut *lock(&self.detection), Detection::Done);
                let platform = match detection {
                    Detection::Running(task) => {
                        task.await.unwrap_or_else(|_| self.fallback.clone())
                    }
                    Detection::Pending(detect) => detect.await,
                    Detection::Done => self.fallback.clone(),
                };
                let _ = self.value.set(platform);
            })
            .await;
        self.current().clone()
    }
}

/// What a shared client is built from.
struct ClientConfigSeed {
    scheme: Scheme,
    skip_tls_verify: bool,
    platform: Arc<PlatformState>,
    connect_timeout: Duration,
}

impl ClientConfigSeed {
    async fn build(self) -> anyhow::Result<Client> {
        tokio::task::spawn_blocking(move || {
            let platform = self.platform;
            let config = ClientConfig {
                protocol: match self.scheme {
                    Scheme::Http => ClientProtocol::Http,
                    Scheme::Https => ClientProtocol::Https,
                },
                accept_invalid_certificates: self.skip_tls_verify,
                platform_resolver: Some(Box::new(move |entries: &[ImageIndexEntry]| {
                    select_entry(entries, platform.current())
                })),
                connect_timeout: Some(self.connect_timeout),
                tls_certs_only: roots::system_roots().to_vec(),
                user_agent: concat!("cnb/", env!("CARGO_PKG_VERSION")),
                ..ClientConfig::default()
            };
            Client::try_from(config)
                .map_err(|e| anyhow::anyhow!("could not set up a registry client: {e}"))
        })
        .await
        .map_err(|e| anyhow::anyhow!("could not set up a registry client: {e}"))?
    }
}

/// A mirror as shown in status lines: host, port and prefix, with `http://` kept.
pub fn mirror_name(mirror: &Mirror) -> String {
    let mut name = match mirror.scheme() {
        Scheme::Http => format!("http://{}", mirror.registry().key()),
        Scheme::Https => mirror.registry().key(),
    };
    if let Some(prefix) = mirror.prefix() {
        name.push('/');
        name.push_str(prefix);
    }
    name
}

fn scheme_str(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Http => "http",
        Scheme::Https => "https",
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The oci-client reference for a location (digest wins over tag).
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

fn select_entry(entries: &[ImageIndexEntry], platform: &Platform) -> Option<String> {
    let converted: Vec<platform::IndexEntry> = entries
        .iter()
        .map(|e| platform::IndexEntry {
            digest: e.digest.clone(),
            platform: e.platform.as_ref().map(|p| platform::EntryPlatform {
                os: p.os.to_string(),
                architecture: p.architecture.to_string(),
                variant: p.variant.clone(),
            }),
        })
        .collect();
    platform::select(&converted, platform).map(|e| e.digest.clone())
}

/// Adds what cnb knows about the credentials to an authorization failure.
fn explain(
    failure: ProbeFailure,
    registry: &Registry,
    credential: Option<&Credential>,
) -> ProbeFailure {
    match failure {
        ProbeFailure::Unauthorized { detail } => ProbeFailure::Unauthorized {
            detail: match credential {
                None => format!(
                    "{detail}; no credentials for {} in the Docker config (docker login {})",
                    credentials::auth_key(registry),
                    registry.key()
                ),
                Some(_) => format!(
                    "{detail}; the credentials for {} were refused",
                    credentials::auth_key(registry)
                ),
            },
        },
        other => other,
    }
}

fn transport_text(failure: &TransportFailure) -> String {
    match failure {
        TransportFailure::Refused => "connection refused".to_string(),
        TransportFailure::Certificate(d)
        | TransportFailure::NotTls(d)
        | TransportFailure::Tls(d)
        | TransportFailure::Other(d) => d.clone(),
    }
}

/// A transport failure as the reason shown for the candidate.
fn to_failure(failure: TransportFailure, scheme: Scheme, transport: Transport) -> ProbeFailure {
    match failure {
        TransportFailure::Refused => ProbeFailure::Refused,
        TransportFailure::Certificate(detail) | TransportFailure::Tls(detail) => {
            ProbeFailure::Tls {
                detail,
                insecure_hint: !transport.skip_tls_verify,
            }
        }
        TransportFailure::NotTls(detail) if scheme == Scheme::Https => ProbeFailure::Tls {
            detail,
            insecure_hint: !transport.allow_http,
        },
        TransportFailure::NotTls(detail) | TransportFailure::Other(detail) => {
            ProbeFailure::Other { detail }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::MirrorKey;

    #[test]
    fn candidates_are_mirrors_in_order_then_the_original() {
        let settings = RegistrySettings {
            mirrors: vec![(
                MirrorKey::parse("quay.io").unwrap(),
                vec![
                    Mirror::parse("q1.corp.example").unwrap(),
                    Mirror::parse("http://q2.corp.example:5000/quay").unwrap(),
                ],
            )],
            insecure: Vec::new(),
            timeout: Duration::from_secs(3),
        };
        let image = ImageRef::parse("quay.io/org/app:1").unwrap();
        let specs = candidate_specs(&settings, &image);
        let locations: Vec<String> = specs.iter().map(|(l, _)| l.to_string()).collect();
        assert_eq!(
            locations,
            [
                "q1.corp.example/org/app:1",
                "q2.corp.example:5000/quay/org/app:1",
                "quay.io/org/app:1"
            ]
        );
        assert!(specs[2].1.is_none());
        let hub = ImageRef::parse("busybox").unwrap();
        assert_eq!(candidate_specs(&settings, &hub).len(), 1);
    }

    #[test]
    fn the_first_candidate_in_order_wins() {
        // A later success waits for an earlier pending candidate.
        assert_eq!(next_step(&[None, Some(true)]), Step::Wait);
        assert_eq!(next_step(&[Some(false), Some(true), None]), Step::Chosen(1));
        assert_eq!(next_step(&[Some(true), None, None]), Step::Chosen(0));
        assert_eq!(next_step(&[Some(false), Some(false)]), Step::Exhausted);
        assert_eq!(next_step(&[Some(false), None]), Step::Wait);
    }

    #[test]
    fn failures_read_as_reasons() {
        let reasons = [
            ProbeFailure::Refused.to_string(),
            ProbeFailure::TimedOut { millis: 3000 }.to_string(),
            ProbeFailure::NotFound.to_string(),
            ProbeFailure::Unauthorized {
                detail: "401 Unauthorized".into(),
            }
            .to_string(),
            ProbeFailure::Tls {
                detail: "x".into(),
                insecure_hint: true,
            }
            .to_string(),
            ProbeFailure::Server { status: 503 }.to_string(),
        ];
        for (reason, word) in
            reasons
                .iter()
                .zip(["refused", "timed out", "404", "unauthorized", "TLS", "503"])
        {
            assert!(reason.contains(word), "{reason}");
        }
        let mut unique = reasons.to_vec();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), reasons.len());
    }

    #[test]
    fn tls_failures_name_the_command_that_allows_the_host() {
        let candidate = Candidate {
            location: ImageRef::parse("127.0.0.1:5443/app:1").unwrap(),
            mirror: None,
            status: CandidateStatus::Failed(ProbeFailure::Tls {
                detail: "unknown issuer".into(),
                insecure_hint: true,
            }),
            millis: Some(3),
        };
        let hint = candidate.hint().unwrap();
        assert!(
            hint.contains("cnb config insecure-registries add 127.0.0.1:5443"),
            "{hint}"
        );
        let resolution = Resolution {
            image: candidate.location.clone(),
            candidates: vec![candidate],
            digest: None,
        };
        let err = resolution.error().unwrap().to_string();
        assert!(
            err.contains("127.0.0.1:5443/app:1: TLS failure: unknown issuer"),
            "{err}"
        );
        assert!(
            err.contains("insecure-registries add 127.0.0.1:5443"),
            "{err}"
        );
    }

    /// A loopback HTTP server answering 404 to everything; counts requests.
    async fn not_found_server() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let n = s.read(&mut buf).await.unwrap_or(0);
                    if buf[..n].starts_with(b"GET /v2/app/") {
                        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    let _ = s
                        .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .await;
                });
            }
        });
        (port, count)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_probe() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (port, manifest_requests) = not_found_server().await;
        let settings = RegistrySettings {
            mirrors: Vec::new(),
            insecure: Vec::new(),
            timeout: Duration::from_secs(5),
        };
        let resolver = Resolver::new(settings, Platform::linux("amd64")).with_ui(Ui::plain());
        let image = ImageRef::parse(&format!("127.0.0.1:{port}/app:1")).unwrap();
        let (a, b) = tokio::join!(resolver.resolve(&image), resolver.resolve(&image));
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.candidates[0].failure(), Some(&ProbeFailure::NotFound));
        let after_first = manifest_requests.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(after_first, 1, "one manifest request for both callers");
        let c = resolver.resolve(&image).await;
        assert!(Arc::ptr_eq(&a, &c));
        assert_eq!(
            manifest_requests.load(std::sync::atomic::Ordering::SeqCst),
            1
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_black_holed_mirror_costs_the_timeout_once_per_process() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        // A listener that accepts connections and never answers.
        let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hole_port = hole.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = hole.accept().await {
                held.push(s);
            }
        });
        let (port, _) = not_found_server().await;
        let timeout = Duration::from_millis(400);
        let settings = RegistrySettings {
            mirrors: vec![(
                MirrorKey::Any,
                vec![Mirror::parse(&format!("127.0.0.1:{hole_port}")).unwrap()],
            )],
            insecure: Vec::new(),
            timeout,
        };
        let resolver = Resolver::new(settings, Platform::linux("amd64")).with_ui(Ui::plain());
        let first = ImageRef::parse(&format!("127.0.0.1:{port}/app:1")).unwrap();
        let second = ImageRef::parse(&format!("127.0.0.1:{port}/app:2")).unwrap();

        let started = Instant::now();
        let a = resolver.resolve(&first).await;
        assert!(
            started.elapsed() >= timeout,
            "the first image waits for the mirror"
        );
        assert_eq!(
            a.candidates[0].failure(),
            Some(&ProbeFailure::TimedOut { millis: 400 })
        );

        let started = Instant::now();
        let b = resolver.resolve(&second).await;
        assert!(
            started.elapsed() < timeout,
            "the second image must not wait for the black-holed mirror again"
        );
        assert_eq!(
            b.candidates[0].failure(),
            Some(&ProbeFailure::TimedOut { millis: 400 })
        );
        assert_eq!(b.candidates[1].failure(), Some(&ProbeFailure::NotFound));
    }
}
