//! Everything that talks to the Docker daemon, through bollard: connection and API
//! negotiation, image inspect/pull/tag/remove/load, volumes, and running the
//! lifecycle container from a [`crate::lifecycle::ContainerSpec`].
//!
//! Layout:
//! - this file: the [`Daemon`] handle, connection, inspect, volumes, error mapping;
//! - [`pull`]: `fetch` (pull policy, resolution, pull through a mirror, tag/untag);
//! - [`load`]: the fallback when the daemon refuses an insecure registry
//!   (cnb fetches the image itself and loads it as a `docker save` archive);
//! - [`run`]: the lifecycle container (create, upload, attach, start, wait, remove);
//! - [`archive`]: tar streams (the app directory, platform env files, docker-save archives);
//! - [`progress`]: pull progress (bars on a terminal, bounded plain lines otherwise).

mod archive;
mod load;
mod progress;
mod pull;
mod run;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::errors::Error as BollardError;
use thiserror::Error;

use crate::config::PullPolicy;
use crate::env_vars;
use crate::lifecycle::ContainerSpec;
use crate::reference::ImageRef;
use crate::registry::{Platform, Resolver};
use crate::ui::Ui;

pub use archive::{app_archive, write_app_archive};
pub(crate) use run::stopped;
pub use run::{RunOptions, RunOutcome};

/// The address used when neither `--docker-host` nor `DOCKER_HOST` is set.
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

/// How long the daemon gets to answer the first request (`/version`) before it counts as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the daemon is given to say what it runs on ([`daemon_platform`]).
pub const DAEMON_PLATFORM_TIMEOUT: Duration = Duration::from_millis(1500);

/// Per-request limit for bollard: the time until the daemon starts answering. Pulls, loads
/// and uploads of large images can take minutes before the first response byte.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3600);

#[derive(Debug, Error)]
pub enum DockerError {
    /// One line naming the address tried.
    #[error(
        "cannot connect to the Docker daemon at {address}: {detail}; is it running? (set --docker-host or DOCKER_HOST)"
    )]
    Unreachable { address: String, detail: String },
    /// `--docker-host` / `DOCKER_HOST` is not an address cnb can use.
    #[error(
        "unsupported Docker host '{address}': {reason}; expected unix:///path/to/docker.sock or tcp://host:port"
    )]
    BadAddress { address: String, reason: String },
    /// The daemon refused a registry's transport (plain HTTP or an untrusted certificate)
    /// and the registry is not in cnb's insecure list.
    #[error(
        "the Docker daemon refused registry {host} ({detail}); if the registry is trusted, allow it with `cnb config insecure-registries add {host}`"
    )]
    RegistryRefused { host: String, detail: String },
    #[error("docker: {0}")]
    Api(String),
}

impl DockerError {
    /// `docker: <what>: <the daemon's message>`.
    pub(crate) fn api(what: impl std::fmt::Display, err: &BollardError) -> DockerError {
        DockerError::Api(format!("{what}: {}", message(err)))
    }
}

/// The daemon's own message for an API error, else the deepest cause, on one line.
pub(crate) fn message(err: &BollardError) -> String {
    let text = match err {
        BollardError::DockerResponseServerError { message, .. } => message.clone(),
        BollardError::DockerStreamError { error } => error.clone(),
        BollardError::RequestTimeoutError => "the daemon did not answer in time".to_string(),
        other => root_cause(other),
    };
    one_line(&text)
}

/// The last error with a message in a `source()` chain (the OS error under hyper's
/// wrappers), on one line.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut best = one_line(&err.to_string());
    let mut next = err.source();
    while let Some(cause) = next {
        let text = one_line(&cause.to_string());
        if !text.is_empty() {
            best = text;
        }
        next = cause.source();
    }
    if best.is_empty() {
        best = format!("{err:?}");
    }
    best
}

/// The daemon's (or a registry's, through it) message on one line, bounded in length.
fn one_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::text::bounded(&joined, crate::text::MAX_EXTERNAL_MESSAGE).into_owned()
}

/// Whether a bollard error is the daemon's 404.
pub(crate) fn is_not_found(err: &BollardError) -> bool {
    matches!(
        err,
        BollardError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// What cnb needs to know about an image in the daemon.
#[derive(Debug, Clone, Default)]
pub struct ImageInfo {
    pub id: String,
    pub labels: HashMap<String, String>,
    /// `KEY=VALUE` entries of the image config's `Env`.
    pub env: Vec<String>,
    pub user: Option<String>,
    pub repo_tags: Vec<String>,
}

impl ImageInfo {
    /// The value of `KEY` in the image's `Env`.
    pub fn env_var(&self, key: &str) -> Option<&str> {
        self.env.iter().find_map(|entry| {
            let (k, v) = entry.split_once('=')?;
            (k == key).then_some(v)
        })
    }
}

/// How an image got into the daemon.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The original name, as tagged in the daemon.
    pub image: ImageRef,
    /// Where the content came from (a mirror location or the original); `None` when nothing was pulled.
    pub location: Option<ImageRef>,
    /// Whether cnb fetched it with its own registry client and loaded it (daemon refused an insecure registry).
    pub loaded_by_cnb: bool,
}

/// A connected, version-negotiated Docker daemon.
pub struct Daemon {
    client: bollard::Docker,
    address: String,
    leftovers: Arc<Mutex<Leftovers>>,
}

/// What cnb has made in the daemon and not yet removed: containers, temporary volumes
/// and images under a mirror's name (between a pull from a mirror and the rename). A
/// command stopped by a signal removes them with [`Daemon::clean_up`].
#[derive(Debug, Default)]
struct Leftovers {
    containers: Vec<String>,
    volumes: Vec<String>,
    images: Vec<String>,
}

/// What [`Daemon::clean_up`] removed and what it could not.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CleanupReport {
    pub removed: Vec<String>,
    /// `what: why`, with the command that removes it.
    pub failed: Vec<String>,
}

impl CleanupReport {
    /// One clause for an error message: `removed the container X and the volume Y`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.removed.is_empty() {
            parts.push("nothing of the build was left in the Docker daemon".to_string());
        } else {
            parts.push(format!("removed {}", self.removed.join(", ")));
        }
        if !self.failed.is_empty() {
            parts.push(format!("could not remove {}", self.failed.join("; ")));
        }
        parts.join("; ")
    }
}

/// The kinds of things [`Daemon`] tracks until they are removed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Made {
    Container,
    Volume,
    /// An image name to remove (not the content: `--no-prune`).
    ImageName,
}

/// `linux` and the Docker daemon's architecture when a daemon answers within
/// [`DAEMON_PLATFORM_TIMEOUT`], else [`Platform::host_linux`]: the platform image indexes
/// resolve for. The daemon is found as every command finds it (`docker_host`, else
/// `DOCKER_HOST`, else the platform's default socket).
pub async fn daemon_platform(docker_host: Option<String>) -> Platform {
    let ask = async {
        let daemon = Daemon::connect(docker_host.as_deref()).await.ok()?;
        daemon.architecture().await.ok()
    };
    match tokio::time::timeout(DAEMON_PLATFORM_TIMEOUT, ask).await {
        Ok(Some(arch)) => Platform::linux(&arch),
        _ => Platform::host_linux(),
    }
}

/// Which address to use: the flag, else `DOCKER_HOST`, else the default socket.
/// Empty values count as unset (as the docker CLI does).
pub fn docker_host(flag: Option<&str>) -> String {
    let from_env = std::env::var(env_vars::DOCKER_HOST).ok();
    [flag.map(str::to_string), from_env]
        .into_iter()
        .flatten()
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_DOCKER_HOST.to_string())
}

/// The transport an address asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    /// Path of a Unix socket.
    Unix(String),
    /// `host:port` of a plain TCP daemon.
    Tcp(String),
}

fn parse_address(address: &str) -> Result<Endpoint, DockerError> {
    let bad = |reason: &str| DockerError::BadAddress {
        address: address.to_string(),
        reason: reason.to_string(),
    };
    if let Some(path) = address.strip_prefix("unix://") {
        if path.is_empty() {
            return Err(bad("the socket path is empty"));
        }
        return Ok(Endpoint::Unix(path.to_string()));
    }
    let rest = address
        .strip_prefix("tcp://")
        .or_else(|| address.strip_prefix("http://"));
    if let Some(rest) = rest {
        let host_port = rest.trim_end_matches('/');
        if host_port.is_empty() || host_port.contains('/') || host_port.contains('@') {
            return Err(bad("expected host:port after the scheme"));
        }
        // The docker CLI's default port for tcp:// is 2375.
        let has_port = match host_port.rsplit_once(':') {
            Some((host, port)) => !host.ends_with(':') && port.parse::<u16>().is_ok(),
            None => false,
        } || (host_port.starts_with('[') && host_port.contains("]:"));
        let with_port = if has_port {
            host_port.to_string()
        } else {
            format!("{host_port}:2375")
        };
        return Ok(Endpoint::Tcp(with_port));
    }
    if address.starts_with("https://") || address.starts_with("ssh://") {
        return Err(bad(
            "TLS and SSH connections to the daemon are not supported",
        ));
    }
    if address.starts_with('/') {
        return Err(bad("a socket path needs the unix:// scheme"));
    }
    Err(bad("unknown scheme"))
}

impl Daemon {
    /// Connects to `--docker-host`, else `DOCKER_HOST`, else the platform default socket,
    /// and negotiates the API version (Docker 20.10 speaks 1.41).
    pub async fn connect(flag: Option<&str>) -> Result<Daemon, DockerError> {
        let address = docker_host(flag);
        let unreachable = |detail: String| DockerError::Unreachable {
            address: address.clone(),
            detail,
        };
        let version = bollard::API_DEFAULT_VERSION;
        let timeout = REQUEST_TIMEOUT.as_secs();
        let client = match parse_address(&address)? {
            Endpoint::Unix(path) => {
                if !std::path::Path::new(&path).exists() {
                    return Err(unreachable("no such socket".to_string()));
                }
                bollard::Docker::connect_with_unix(&path, timeout, version)
            }
            Endpoint::Tcp(host_port) => {
                bollard::Docker::connect_with_http(&format!("tcp://{host_port}"), timeout, version)
            }
        }
        .map_err(|e| unreachable(message(&e)))?;
        let client = match tokio::time::timeout(CONNECT_TIMEOUT, client.negotiate_version()).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => return Err(unreachable(message(&e))),
            Err(_) => {
                return Err(unreachable(format!(
                    "no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
        };
        Ok(Daemon {
            client,
            address,
            leftovers: Arc::default(),
        })
    }

    /// The address connected to (`unix:///var/run/docker.sock`, `tcp://...`).
    pub fn address(&self) -> &str {
        &self.address
    }

    fn leftovers(&self) -> std::sync::MutexGuard<'_, Leftovers> {
        // The lists stay consistent whatever a panicking holder did.
        self.leftovers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Remembers something cnb made, until [`Daemon::forget`].
    pub(crate) fn track(&self, kind: Made, name: &str) {
        let mut leftovers = self.leftovers();
        let list = match kind {
            Made::Container => &mut leftovers.containers,
            Made::Volume => &mut leftovers.volumes,
            Made::ImageName => &mut leftovers.images,
        };
        list.push(name.to_string());
    }

    /// It was removed (or handed over, as a renamed image) in the normal way.
    pub(crate) fn forget(&self, kind: Made, name: &str) {
        let mut leftovers = self.leftovers();
        let list = match kind {
            Made::Container => &mut leftovers.containers,
            Made::Volume => &mut leftovers.volumes,
            Made::ImageName => &mut leftovers.images,
        };
        list.retain(|n| n != name);
    }

    /// Removes whatever cnb made and still tracks: containers first (they hold the
    /// volumes), then the volumes, then mirror-named images. For a command stopped by a
    /// signal.
    pub async fn clean_up(&self) -> CleanupReport {
        let leftovers = std::mem::take(&mut *self.leftovers());
        let mut report = CleanupReport::default();
        for name in &leftovers.containers {
            match run::remove(self, name).await {
                Ok(()) => report.removed.push(format!("the container {name}")),
                Err(e) => report
                    .failed
                    .push(format!("the container {name}: {e} (`docker rm -f {name}`)")),
            }
        }
        for name in &leftovers.volumes {
            match self.remove_volume(name).await {
                Ok(()) => report.removed.push(format!("the volume {name}")),
                Err(e) => report.failed.push(format!(
                    "the volume {name}: {e} (`docker volume rm {name}`)"
                )),
            }
        }
        for name in &leftovers.images {
            match pull::remove_name(self, name).await {
                Ok(()) => report.removed.push(format!("the image name {name}")),
                Err(e) => report.failed.push(format!(
                    "the image name {name}: {e} (`docker rmi --no-prune {name}`)"
                )),
            }
        }
        report
    }

    /// Creates a volume that lives for this command only (removed by
    /// [`Daemon::remove_temporary_volume`], or by [`Daemon::clean_up`]).
    pub async fn create_temporary_volume(&self, name: &str) -> Result<(), DockerError> {
        self.track(Made::Volume, name);
        self.ensure_volume(name).await
    }

    pub async fn remove_temporary_volume(&self, name: &str) -> Result<(), DockerError> {
        self.remove_volume(name).await?;
        self.forget(Made::Volume, name);
        Ok(())
    }

    pub fn client(&self) -> &bollard::Docker {
        &self.client
    }

    /// The daemon's Unix socket path when connected through one (`/var/run/docker.sock`),
    /// i.e. what to bind into the lifecycle container in daemon mode; `None` for TCP.
    pub fn socket_path(&self) -> Option<&str> {
        self.address
            .strip_prefix("unix://")
            .filter(|path| !path.is_empty())
    }

    /// The negotiated API version when it is older than the one bollard speaks by default:
    /// what a Docker client as current as cnb's (the lifecycle's) must be pinned to.
    pub fn older_api_version(&self) -> Option<String> {
        let v = self.client.client_version();
        let default = bollard::API_DEFAULT_VERSION;
        ((v.major_version, v.minor_version) < (default.major_version, default.minor_version))
            .then(|| self.api_version())
    }

    /// The negotiated API version (`1.41` for Docker 20.10).
    pub fn api_version(&self) -> String {
        let v = self.client.client_version();
        format!("{}.{}", v.major_version, v.minor_version)
    }

    /// The daemon's architecture in OCI spelling (`amd64`, `arm64`).
    pub async fn architecture(&self) -> Result<String, DockerError> {
        let version = self
            .client
            .version()
            .await
            .map_err(|e| DockerError::api("cannot read the daemon's version", &e))?;
        version
            .arch
            .filter(|a| !a.is_empty())
            .ok_or_else(|| DockerError::Api("the daemon did not report its architecture".into()))
    }

    /// Inspects an image by name; `Ok(None)` when the daemon does not have it.
    pub async fn image_info(&self, name: &str) -> Result<Option<ImageInfo>, DockerError> {
        let inspect = match self.client.inspect_image(name).await {
            Ok(inspect) => inspect,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(DockerError::api(format!("cannot inspect image {name}"), &e)),
        };
        let config = inspect.config.unwrap_or_default();
        Ok(Some(ImageInfo {
            id: inspect.id.unwrap_or_default(),
            labels: config.labels.unwrap_or_default(),
            env: config.env.unwrap_or_default(),
            user: config.user.filter(|u| !u.is_empty()),
            repo_tags: inspect.repo_tags.unwrap_or_default(),
        }))
    }

    /// Gets `image` into the daemon by `policy`, through registry mirrors: resolve with
    /// `resolver`, pull from the chosen location, tag with the original name, remove the
    /// mirror's tag. When the daemon refuses a registry cnb's insecure list allows, fetch
    /// with cnb's own client and load it. Progress on stderr (bars on a terminal).
    pub async fn fetch(
        &self,
        resolver: &Resolver,
        image: &ImageRef,
        policy: PullPolicy,
        ui: &Ui,
    ) -> anyhow::Result<Fetched> {
        pull::fetch(self, resolver, image, policy, ui).await
    }

    /// Creates the named volume if missing.
    pub async fn ensure_volume(&self, name: &str) -> Result<(), DockerError> {
        let request = bollard::models::VolumeCreateRequest {
            name: Some(name.to_string()),
            ..Default::default()
        };
        // Creating a local volume that exists is a no-op in the daemon.
        self.client
            .create_volume(request)
            .await
            .map(|_| ())
            .map_err(|e| DockerError::api(format!("cannot create volume {name}"), &e))
    }

    /// Removes the named volume if present.
    pub async fn remove_volume(&self, name: &str) -> Result<(), DockerError> {
        match self
            .client
            .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(DockerError::api(format!("cannot remove volume {name}"), &e)),
        }
    }

    /// Empties a cache volume (`--clear-cache`): removes it and creates it again.
    pub async fn clear_volume(&self, name: &str) -> Result<(), DockerError> {
        self.remove_volume(name).await?;
        self.ensure_volume(name).await
    }

    /// Whether the named volume exists.
    pub async fn volume_exists(&self, name: &str) -> Result<bool, DockerError> {
        match self.client.inspect_volume(name).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(DockerError::api(
                format!("cannot inspect volume {name}"),
                &e,
            )),
        }
    }

    /// Runs the lifecycle container: create (entrypoint cleared), upload the app as a tar
    /// owned by `spec.app_owner` into `/workspace` and the `/platform/env` files, start,
    /// stream stdout/stderr live, wait, and remove it — on success, failure, SIGINT and
    /// SIGTERM. Returns the container's exit status.
    ///
    /// On SIGINT/SIGTERM the error is a [`crate::error::ExitStatus`] with 130/143.
    pub async fn run(&self, spec: &ContainerSpec, ui: &Ui) -> anyhow::Result<i64> {
        Ok(run::run(self, spec, &RunOptions::default(), ui)
            .await?
            .status)
    }

    /// [`Daemon::run`] with a chosen container name and labels (tests find their containers by label).
    pub async fn run_with(
        &self,
        spec: &ContainerSpec,
        options: &RunOptions,
        ui: &Ui,
    ) -> anyhow::Result<i64> {
        Ok(run::run(self, spec, options, ui).await?.status)
    }

    /// [`Daemon::run_with`], with the [`RunOutcome`] (the listing asked for).
    pub async fn run_outcome(
        &self,
        spec: &ContainerSpec,
        options: &RunOptions,
        ui: &Ui,
    ) -> anyhow::Result<RunOutcome> {
        run::run(self, spec, options, ui).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            parse_address("unix:///var/run/docker.sock").unwrap(),
            Endpoint::Unix("/var/run/docker.sock".into())
        );
        assert_eq!(
            parse_address("tcp://127.0.0.1:2376").unwrap(),
            Endpoint::Tcp("127.0.0.1:2376".into())
        );
        assert_eq!(
            parse_address("http://localhost:1234/").unwrap(),
            Endpoint::Tcp("localhost:1234".into())
        );
        assert_eq!(
            parse_address("tcp://docker.example").unwrap(),
            Endpoint::Tcp("docker.example:2375".into())
        );
        assert_eq!(
            parse_address("tcp://[::1]:2375").unwrap(),
            Endpoint::Tcp("[::1]:2375".into())
        );
        for bad in [
            "/var/run/docker.sock",
            "unix://",
            "tcp://",
            "ssh://me@host",
            "npipe:////./pipe/x",
        ] {
            let err = parse_address(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{err}");
        }
    }

    #[test]
    fn refused_registry_names_the_host_and_the_fix() {
        let err = DockerError::RegistryRefused {
            host: "198.18.0.2:5000".into(),
            detail: "http: server gave HTTP response to HTTPS client".into(),
        }
        .to_string();
        assert!(err.contains("198.18.0.2:5000 ("), "{err}");
        assert!(
            err.contains("`cnb config insecure-registries add 198.18.0.2:5000`"),
            "{err}"
        );
        assert!(!err.contains('\n'));
    }

    #[test]
    fn env_var_lookup() {
        let info = ImageInfo {
            env: vec!["CNB_USER_ID=1000".into(), "PATH=/bin:/usr/bin".into()],
            ..Default::default()
        };
        assert_eq!(info.env_var("CNB_USER_ID"), Some("1000"));
        assert_eq!(info.env_var("PATH"), Some("/bin:/usr/bin"));
        assert_eq!(info.env_var("CNB_GROUP_ID"), None);
    }
}
