//! The lifecycle side of a build, as pure logic (SPEC §6, §7.3–7.7): builder metadata,
//! platform API negotiation, run-image preference order, builder trust, and the creator
//! container's [`ContainerSpec`] (command, flags, `CNB_*` variables, mounts, network),
//! plus the `--dry-run` [`Plan`].
//!
//! Nothing here talks to Docker, a registry or DNS; [`crate::build`] gathers the facts
//! (labels, probe results, credentials, resolved addresses) and calls these functions.
//!
//! The usual order of calls:
//! 1. [`BuilderMetadata::from_image`] on the builder's labels and env;
//! 2. [`BuilderMetadata::negotiate_platform_api`];
//! 3. [`check_trust`];
//! 4. [`target_registry`], [`run_image_order`], probe each candidate, [`RunImageOrder::select`];
//! 5. [`parse_user_env`], then [`creator_spec`] with a [`CreatorInputs`];
//! 6. for `--dry-run`, [`Plan::new`] then [`Plan::to_json`] or [`Plan::render_text`].

mod creator;
mod metadata;
mod plan;
mod platform_api;
mod run_image;
mod trust;

use std::collections::BTreeMap;
use std::path::PathBuf;

use thiserror::Error;

pub use creator::{
    APP_DIR, CACHE_DIR, CREATOR, Creator, CreatorInputs, DOCKER_SOCKET_TARGET, LAUNCH_CACHE_DIR,
    LogLevel, PLATFORM_ENV_DIR, cache_volume_name, creator_spec, lifecycle_registries,
    parse_user_env,
};
pub use metadata::{BuilderMetadata, BuilderRunImage, METADATA_LABEL, RunImageSource};
pub use plan::{
    Plan, PlanBuilder, PlanCandidate, PlanFacts, PlanLifecycle, PlanRunImage, REDACTED,
};
pub use platform_api::{
    ApiVersion, MAX_PLATFORM_API, MIN_PLATFORM_API, negotiate_platform_api, supported_platform_apis,
};
pub use run_image::{
    CandidateSource, Readability, RunImageCandidate, RunImageOrder, RunImageSelection,
    RunImageStatus, run_image_order, target_registry,
};
pub use trust::{KNOWN_TRUSTED_BUILDERS, Trust, check_trust, is_known_trusted_builder};

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

impl ContainerSpec {
    /// The environment as it may be shown (`--verbose`, `--dry-run`): `CNB_REGISTRY_AUTH`
    /// and secret-looking names as `<redacted>`.
    pub fn redacted_env(&self) -> BTreeMap<String, String> {
        plan::redact(&self.env)
    }
}

/// Why the lifecycle cannot be set up. Each message names the builder or image and,
/// where there is one, the fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LifecycleError {
    #[error(
        "builder '{builder}' has no {label} label; is it a buildpacks builder image? (create one with `pack builder create`)"
    )]
    MissingLabel { builder: String, label: String },

    #[error("builder '{builder}' has an invalid {label} label: {detail}")]
    InvalidLabel {
        builder: String,
        label: String,
        detail: String,
    },

    /// `field` is a path into the label (`lifecycle.apis.platform`) or an env name (`CNB_USER_ID`).
    #[error("builder '{builder}' does not set {field} in {place}")]
    MissingField {
        builder: String,
        field: String,
        place: String,
    },

    #[error("builder '{builder}' has an invalid {field} '{value}' in {place}: {detail}")]
    InvalidField {
        builder: String,
        field: String,
        place: String,
        value: String,
        detail: String,
    },

    #[error(
        "builder '{builder}' supports platform API {builder_apis} but cnb supports {cnb_apis}; use a builder with a lifecycle that supports one of cnb's"
    )]
    NoCommonPlatformApi {
        builder: String,
        /// The builder's versions, comma-separated (`none` when it lists none).
        builder_apis: String,
        /// `0.7 to 0.15`.
        cnb_apis: String,
    },

    #[error(
        "builder '{builder}' is not trusted: cnb runs its lifecycle in a single container that gets your registry credentials and the Docker socket; trust it with `cnb config trusted-builders add {builder}`, or for this build only with --trust-builder"
    )]
    UntrustedBuilder { builder: String },

    /// Every candidate, in preference order, with why it could not be used.
    #[error("no run image could be read: {}; {hint}", list_candidates(.candidates))]
    NoReadableRunImage {
        candidates: Vec<(String, String)>,
        hint: String,
    },
}

fn list_candidates(candidates: &[(String, String)]) -> String {
    candidates
        .iter()
        .map(|(image, reason)| format!("{image} ({reason})"))
        .collect::<Vec<_>>()
        .join(", ")
}
