//! Everything that talks to the Docker daemon, through bollard: connection and API
//! negotiation, image inspect/pull/tag/remove/load, volumes, and running the
//! lifecycle container from a [`crate::lifecycle::ContainerSpec`].

use std::collections::HashMap;

use thiserror::Error;

use crate::lifecycle::ContainerSpec;
use crate::reference::ImageRef;
use crate::registry::Resolver;
use crate::settings::PullPolicy;
use crate::ui::Ui;

#[derive(Debug, Error)]
pub enum DockerError {
    /// One line naming the address tried.
    #[error(
        "cannot connect to the Docker daemon at {address}: {detail}; is it running? (set --docker-host or DOCKER_HOST)"
    )]
    Unreachable { address: String, detail: String },
    #[error("docker: {0}")]
    Api(String),
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
}

impl Daemon {
    /// Connects to `--docker-host`, else `DOCKER_HOST`, else the platform default socket,
    /// and negotiates the API version (Docker 20.10 speaks 1.41).
    pub async fn connect(flag: Option<&str>) -> Result<Daemon, DockerError> {
        let _ = flag;
        todo!()
    }

    /// The address connected to (`unix:///var/run/docker.sock`, `tcp://...`).
    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn client(&self) -> &bollard::Docker {
        &self.client
    }

    /// The daemon's architecture in OCI spelling (`amd64`, `arm64`).
    pub async fn architecture(&self) -> Result<String, DockerError> {
        todo!()
    }

    /// Inspects an image by name; `Ok(None)` when the daemon does not have it.
    pub async fn image_info(&self, name: &str) -> Result<Option<ImageInfo>, DockerError> {
        let _ = name;
        todo!()
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
        let _ = (resolver, image, policy, ui);
        todo!()
    }

    /// Creates the named volume if missing.
    pub async fn ensure_volume(&self, name: &str) -> Result<(), DockerError> {
        let _ = name;
        todo!()
    }

    /// Removes the named volume if present.
    pub async fn remove_volume(&self, name: &str) -> Result<(), DockerError> {
        let _ = name;
        todo!()
    }

    /// Runs the lifecycle container: create (entrypoint cleared), upload the app as a tar
    /// owned by `spec.app_owner` into `/workspace` and the `/platform/env` files, start,
    /// stream stdout/stderr live, wait, and remove it — on success, failure, SIGINT and
    /// SIGTERM. Returns the container's exit status.
    pub async fn run(&self, spec: &ContainerSpec, ui: &Ui) -> anyhow::Result<i64> {
        let _ = (spec, ui);
        todo!()
    }
}
