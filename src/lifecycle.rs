//! The lifecycle side of a build, as pure logic (SPEC §6, §7.3–7.7): builder metadata,
//! platform API negotiation, run-image preference order, and the creator
//! container's [`ContainerSpec`] (command, flags, `CNB_*` variables, mounts, network).
//! Nothing here talks to Docker or a registry; [`crate::build`] feeds it facts.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// What the Docker module needs to create and run the lifecycle container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    /// Builder image, by its original name.
    pub image: String,
    /// `/cnb/lifecycle/creator` and its arguments, image name last. Entrypoint is cleared.
    pub command: Vec<String>,
    /// Environment variables (may hold secrets: redact `CNB_REGISTRY_AUTH` when shown).
    pub env: BTreeMap<String, String>,
    /// Bind mounts, `source:target[:options]` (the Docker socket in daemon mode).
    pub binds: Vec<String>,
    /// Named volumes: (volume name, mount target): build cache and launch cache.
    pub volumes: Vec<(String, String)>,
    /// `--network` value; `None` for Docker's default.
    pub network: Option<String>,
    /// `root` in daemon mode, else `uid:gid` of the builder.
    pub user: String,
    /// Files written under `/platform/env/<NAME>` (the user's `--env`).
    pub platform_env: BTreeMap<String, String>,
    /// The app directory, uploaded to `/workspace` as a tar owned by (uid, gid).
    pub app_dir: PathBuf,
    pub app_owner: (u32, u32),
}
