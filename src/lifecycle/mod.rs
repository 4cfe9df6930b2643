//! The lifecycle side of a build, as pure logic (SPEC §6, §7.3–7.7): builder metadata,
//! platform API negotiation, run-image preference order, builder trust, and the creator
//! container's [`ContainerSpec`] (command, flags, `CNB_*` variables, mounts, network),
//! plus the `--dry-run` [`Plan`].
//!
//! Nothing here talks to Docker, a registry or DNS; [`crate::commands::build`] gathers the facts
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
mod phases;
mod plan;
mod platform_api;
mod run_image;
mod translate;
mod trust;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::reference::ImageRef;

use thiserror::Error;

pub use creator::{
    APP_DIR, CACHE_DIR, CREATOR, Creator, CreatorInputs, DOCKER_SOCKET_TARGET, LAUNCH_CACHE_DIR,
    LogLevel, PLATFORM_ENV_DIR, cache_volume_name, creator_spec, parse_user_env,
};
pub use metadata::{
    BuilderMetadata, BuilderRunImage, LIFECYCLE_APIS_LABEL, METADATA_LABEL, ORDER_EXTENSIONS_LABEL,
    RunImageSource, lifecycle_image_platform_apis,
};
pub use phases::{
    GENERATED_DIR, LAYERS_DIR, Phase, PhaseContainer, Phases, PhasesInputs, generated_dockerfiles,
    phases_spec,
};
pub use plan::{
    Plan, PlanBuilder, PlanCandidate, PlanContainer, PlanFacts, PlanLifecycle, PlanPhase,
    PlanRunImage,
};
pub use platform_api::{
    ApiVersion, MAX_PLATFORM_API, MIN_PLATFORM_API, negotiate_platform_api, supported_platform_apis,
};
pub use run_image::{
    CandidateSource, Readability, RunImageCandidate, RunImageOrder, RunImageSelection,
    RunImageStatus, run_image_order, target_registry,
};
pub use translate::lifecycle_registries;
pub use trust::{KNOWN_TRUSTED_BUILDERS, Trust, check_trust, is_known_trusted_builder};

/// The name an image has in the Docker daemon once cnb has fetched it: its own name
/// when it has a tag and no digest; for a reference pinned by digest, the original
/// repository with a tag spelling the digest (`reg/run:sha256-<hex>`), because the
/// daemon cannot tag a digest and only records the digest under the name it was pulled
/// by, which for a mirror is the mirror's. Containers and the lifecycle's `-run-image`
/// (daemon mode) use this name, so no mirror's name is needed anywhere.
pub fn daemon_name(image: &ImageRef) -> String {
    match image.digest() {
        None => image.to_string(),
        Some(digest) => format!(
            "{}/{}:{}",
            image.registry(),
            image.repository(),
            digest.replace(':', "-")
        ),
    }
}

/// How the lifecycle runs for a build: the one-container creator (a trusted builder) or
/// its phases in containers of their own (SPEC §7.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Execution {
    Creator(Creator),
    Phases(Phases),
}

impl Execution {
    pub fn platform_api(&self) -> ApiVersion {
        match self {
            Execution::Creator(c) => c.platform_api,
            Execution::Phases(p) => p.platform_api,
        }
    }

    pub fn warnings(&self) -> &[String] {
        match self {
            Execution::Creator(c) => &c.warnings,
            Execution::Phases(p) => &p.warnings,
        }
    }

    pub fn network(&self) -> Option<&str> {
        match self {
            Execution::Creator(c) => c.spec.network.as_deref(),
            Execution::Phases(p) => p.network.as_deref(),
        }
    }

    pub fn network_reason(&self) -> Option<&str> {
        match self {
            Execution::Creator(c) => c.network_reason.as_deref(),
            Execution::Phases(p) => p.network_reason.as_deref(),
        }
    }
}

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
    /// `0:0` in both modes: the lifecycle chowns its volumes as root, then drops to the
    /// builder's user.
    pub user: String,
    /// Docker security options (`label=disable` with the socket, else `no-new-privileges`).
    pub security_opt: Vec<String>,
    /// Files written under `/platform/env/<NAME>` (the user's `--env`).
    pub platform_env: BTreeMap<String, String>,
    /// cnb's own inputs for the lifecycle, by absolute path (`/platform/cnb/run.toml`,
    /// `/layers/run.toml`), uploaded before the start.
    pub files: BTreeMap<String, String>,
    /// The app directory, uploaded to `/workspace` as a tar owned by `app_owner`; `None`
    /// for a container that does not get the app (a later phase finds it in a volume).
    pub app_dir: Option<PathBuf>,
    pub app_owner: (u32, u32),
}

impl ContainerSpec {
    /// The environment as it may be shown (`--verbose`, `--dry-run`): `CNB_REGISTRY_AUTH`
    /// and secret-looking names as `<redacted>`.
    pub fn redacted_env(&self) -> BTreeMap<String, String> {
        plan::redact(&self.env)
    }

    /// The `--env` files as they may be shown, redacted the same way.
    pub fn redacted_platform_env(&self) -> BTreeMap<String, String> {
        plan::redact(&self.platform_env)
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    use super::*;
    use crate::reference::{ImageRef, InsecureEntry, Mirror, Registry};

    /// The whole flow as the build uses it, from labels to the dry-run plan.
    #[test]
    fn end_to_end_daemon_build_through_a_local_mirror() {
        let builder = ImageRef::parse("localhost:5000/cnbtest/builder").unwrap();
        let label = r#"{"images": [{"image": "localhost:5000/cnbtest/run", "mirrors": ["gcr.io/x/run"]}],
                        "lifecycle": {"version": "0.20.1",
                                      "apis": {"platform": {"supported": ["0.12", "0.13"], "deprecated": ["0.7"]}}}}"#;
        let labels = HashMap::from([(METADATA_LABEL.to_string(), label.to_string())]);
        let env = vec![
            "CNB_USER_ID=1000".to_string(),
            "CNB_GROUP_ID=1001".to_string(),
        ];
        let md = BuilderMetadata::from_image(&builder, &labels, &env).unwrap();
        let api = md.negotiate_platform_api().unwrap();
        assert_eq!(api, ApiVersion::new(0, 13));
        assert_eq!(check_trust(&builder, &[], false), Trust::Untrusted);
        let trust = check_trust(&builder, std::slice::from_ref(&builder), false);

        let output = ImageRef::parse("cnbtest/app").unwrap();
        let user_mirror = ImageRef::parse("127.0.0.1:5001/cnbtest/run").unwrap();
        let target = target_registry(&output, &builder, false);
        let order = run_image_order(
            None,
            &md.run_image,
            std::slice::from_ref(&user_mirror),
            &target,
        );
        let chosen_names: Vec<String> = order.candidates.iter().map(|c| c.image.key()).collect();
        assert_eq!(
            chosen_names,
            vec![
                "localhost:5000/cnbtest/run:latest",
                "127.0.0.1:5001/cnbtest/run:latest",
                "gcr.io/x/run:latest"
            ]
        );
        let selection = order
            .select(&[
                Readability::Unreadable("not found".into()),
                Readability::Readable,
            ])
            .unwrap();
        let run_image = selection.chosen().image.clone();

        let platform_env = parse_user_env(&["BP_LOG_LEVEL=debug".to_string()], |_| None).unwrap();
        let insecure = vec![InsecureEntry::parse("127.0.0.1").unwrap()];
        let chosen_mirrors = vec![(
            Registry::parse("127.0.0.1:5001").unwrap(),
            Mirror::parse("http://127.0.0.1:5002").unwrap(),
        )];
        let reached = lifecycle_registries(&output, &run_image, &run_image, false, &chosen_mirrors);
        assert_eq!(
            reached.iter().map(Registry::key).collect::<Vec<_>>(),
            vec!["127.0.0.1:5001", "127.0.0.1:5002", "index.docker.io"]
        );
        let creator = creator_spec(&CreatorInputs {
            output: &output,
            builder: &md,
            platform_api: api,
            run_image: &run_image,
            run_image_fetch: &run_image,
            publish: false,
            log_level: LogLevel::from_verbosity(1, false),
            insecure: &insecure,
            resolved: &HashMap::new(),
            chosen_mirrors: &chosen_mirrors,
            credentials: &BTreeMap::new(),
            platform_env,
            network: None,
            docker_socket: "/var/run/docker.sock",
            docker_api_version: Some("1.41"),
            run_image_given: false,
            app_dir: Path::new("/tmp/app"),
        });
        assert_eq!(
            creator.spec.command.join(" "),
            "/cnb/lifecycle/creator -app /workspace -cache-dir /cache -run-image 127.0.0.1:5001/cnbtest/run:latest \
             -log-level debug -daemon -launch-cache /launch-cache -insecure-registry 127.0.0.1:5001 \
             -insecure-registry 127.0.0.1:5002 docker.io/cnbtest/app:latest"
        );
        assert_eq!(
            creator.spec.env["CNB_INSECURE_REGISTRIES"],
            "127.0.0.1:5001,127.0.0.1:5002"
        );
        assert_eq!(
            creator.spec.env["CNB_REGISTRY_MIRRORS"],
            "127.0.0.1:5001=http://127.0.0.1:5002"
        );
        assert_eq!(creator.spec.network.as_deref(), Some("host"));

        let plan = Plan::new(&PlanFacts {
            output: &output,
            builder: &md,
            builder_fetch: &builder,
            trust: Some(&trust),
            selection: &selection,
            run_image_fetch: &run_image,
            execution: &Execution::Creator(creator.clone()),
        });
        let json: serde_json::Value = serde_json::from_str(&plan.to_json()).unwrap();
        assert_eq!(
            json["run_image"]["chosen"],
            "127.0.0.1:5001/cnbtest/run:latest"
        );
        assert_eq!(json["run_image"]["candidates"][0]["status"], "unreadable");
        assert_eq!(json["run_image"]["candidates"][2]["status"], "unused");
        assert_eq!(json["lifecycle"]["user"], "0:0");
        assert_eq!(json["lifecycle"]["network"], "host");
        assert!(plan.render_text().contains("Platform API:  0.13"));
    }

    #[test]
    fn digest_pinned_images_get_a_tag_of_their_own_repository_in_the_daemon() {
        let tagged = ImageRef::parse("127.0.0.1:5000/team/run:1").unwrap();
        assert_eq!(daemon_name(&tagged), "127.0.0.1:5000/team/run:1");
        let hex = "a".repeat(64);
        let pinned = ImageRef::parse(&format!("127.0.0.1:5000/team/run@sha256:{hex}")).unwrap();
        assert_eq!(
            daemon_name(&pinned),
            format!("127.0.0.1:5000/team/run:sha256-{hex}")
        );
        let both = ImageRef::parse(&format!("team/run:1@sha256:{hex}")).unwrap();
        assert_eq!(
            daemon_name(&both),
            format!("docker.io/team/run:sha256-{hex}")
        );
    }
}
