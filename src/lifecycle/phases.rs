//! The lifecycle in separate containers, as pack runs an untrusted builder (SPEC §7.6):
//! analyze, detect, restore, build, export. Only the builder's own code (detect and build)
//! runs in the builder image, as the builder's user, without the Docker socket or registry
//! credentials; the phases that need those run from the **lifecycle image**, as root.
//!
//! | phase    | image     | user       | socket (daemon mode) | `CNB_REGISTRY_AUTH` (`--publish`) |
//! |----------|-----------|------------|----------------------|-----------------------------------|
//! | analyze  | lifecycle | 0:0        | yes                  | yes                               |
//! | detect   | builder   | uid:gid    | no                   | no                                |
//! | restore  | lifecycle | 0:0        | from API 0.12        | no                                |
//! | build    | builder   | uid:gid    | no                   | no                                |
//! | export   | lifecycle | 0:0        | yes                  | yes                               |
//!
//! Every phase mounts two temporary volumes, the layers at `/layers` and the app at
//! `/workspace` (the detector receives the app; later phases find it there); the build and
//! launch caches are the creator path's volumes. The run metadata the analyzer and the
//! exporter read (`run.toml`, or `stack.toml` below platform API 0.12) is written by cnb
//! into the layers volume: the lifecycle image has no `/cnb/run.toml` of its own. Read
//! pack's `internal/build/lifecycle_execution.go` for the same order and inputs.

use std::collections::BTreeMap;
use std::fmt;

use super::creator::{
    APP_DIR, CACHE_DIR, CONTAINER_USER, CreatorInputs, LAUNCH_CACHE_DIR, cache_volume_name,
    no_new_privileges, run_image_flag, socket_bind, socket_security_opt,
};
use super::platform_api::ApiVersion;
use super::translate::Translation;
use super::{ContainerSpec, daemon_name};
use crate::env_vars::lifecycle::{CNB_GROUP_ID, CNB_REGISTRY_AUTH, CNB_USER_ID};
use crate::reference::ImageRef;

/// Where the layers volume is mounted.
pub const LAYERS_DIR: &str = "/layers";
/// The run metadata cnb writes for the analyzer and the exporter (platform API 0.12+).
pub const RUN_TOML: &str = "/layers/run.toml";
/// The same for older platform APIs.
pub const STACK_TOML: &str = "/layers/stack.toml";
/// Where the detector leaves what image extensions generated (Dockerfiles).
pub const GENERATED_DIR: &str = "/layers/generated";

/// One phase of the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Analyze,
    Detect,
    Restore,
    Build,
    Export,
}

impl Phase {
    /// The lifecycle binary, `/cnb/lifecycle/<name>`.
    pub fn binary(self) -> &'static str {
        match self {
            Phase::Analyze => "analyzer",
            Phase::Detect => "detector",
            Phase::Restore => "restorer",
            Phase::Build => "builder",
            Phase::Export => "exporter",
        }
    }

    /// Whether it runs from the lifecycle image (else from the builder).
    pub fn in_lifecycle_image(self) -> bool {
        matches!(self, Phase::Analyze | Phase::Restore | Phase::Export)
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Analyze => "analyze",
            Phase::Detect => "detect",
            Phase::Restore => "restore",
            Phase::Build => "build",
            Phase::Export => "export",
        })
    }
}

/// One phase's container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseContainer {
    pub phase: Phase,
    pub spec: ContainerSpec,
}

/// What the phases need besides what the creator needs.
#[derive(Debug, Clone)]
pub struct PhasesInputs<'a> {
    pub common: CreatorInputs<'a>,
    /// The lifecycle image, by its original name (it was fetched through mirrors).
    pub lifecycle_image: &'a ImageRef,
    /// The temporary volumes the phases share (created before, removed after the run).
    pub layers_volume: &'a str,
    pub app_volume: &'a str,
}

/// The phase containers plus what the build should tell the user about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phases {
    pub containers: Vec<PhaseContainer>,
    pub lifecycle_image: ImageRef,
    /// Created before the first phase and removed after the last (whatever happens).
    pub temporary_volumes: Vec<String>,
    pub platform_api: ApiVersion,
    pub registries: Vec<crate::reference::Registry>,
    pub insecure_registries: Vec<String>,
    pub network: Option<String>,
    pub network_reason: Option<String>,
    pub warnings: Vec<String>,
}

impl Phases {
    /// Every persistent volume (the caches) and mount target the phases use.
    pub fn cache_volumes(&self) -> Vec<(String, String)> {
        let mut volumes: Vec<(String, String)> = Vec::new();
        for container in &self.containers {
            for volume in &container.spec.volumes {
                if !self.temporary_volumes.contains(&volume.0) && !volumes.contains(volume) {
                    volumes.push(volume.clone());
                }
            }
        }
        volumes
    }
}

/// The run metadata the analyzer and the exporter read: the given run image alone, or the
/// builder's run image and its mirrors (as pack writes it), at [`RUN_TOML`] or [`STACK_TOML`].
fn run_metadata_file(inputs: &CreatorInputs<'_>, run_image_arg: &ImageRef) -> (String, String) {
    let (image, mirrors): (String, Vec<String>) = if inputs.run_image_given {
        (run_image_arg.to_string(), Vec::new())
    } else {
        let run = &inputs.builder.run_image;
        (
            run.image.to_string(),
            run.mirrors.iter().map(ToString::to_string).collect(),
        )
    };
    let mut table = toml_edit::Table::new();
    table["image"] = toml_edit::value(image);
    if !mirrors.is_empty() {
        table["mirrors"] = toml_edit::value(mirrors.into_iter().collect::<toml_edit::Array>());
    }
    let mut doc = toml_edit::DocumentMut::new();
    if inputs.platform_api >= ApiVersion::new(0, 12) {
        let mut images = toml_edit::ArrayOfTables::new();
        images.push(table);
        doc["images"] = toml_edit::Item::ArrayOfTables(images);
        (RUN_TOML.to_string(), doc.to_string())
    } else {
        doc["run-image"] = toml_edit::Item::Table(table);
        (STACK_TOML.to_string(), doc.to_string())
    }
}

/// Builds the five phase containers.
pub fn phases_spec(inputs: &PhasesInputs<'_>) -> Phases {
    let common = &inputs.common;
    let tr = Translation::new(common);
    let api = common.platform_api;
    let daemon = !common.publish;
    let log_level = common.log_level.to_string();
    let (run_file, run_content) = run_metadata_file(common, &tr.run_image_arg);
    let run_flag = if api >= ApiVersion::new(0, 12) {
        "-run"
    } else {
        "-stack"
    };
    let build_cache = (
        cache_volume_name(common.output, "build"),
        CACHE_DIR.to_string(),
    );
    let launch_cache = (
        cache_volume_name(common.output, "launch"),
        LAUNCH_CACHE_DIR.to_string(),
    );
    let shared = vec![
        (inputs.layers_volume.to_string(), LAYERS_DIR.to_string()),
        (inputs.app_volume.to_string(), APP_DIR.to_string()),
    ];
    let builder_user = format!("{}:{}", common.builder.uid, common.builder.gid);

    // A phase of the lifecycle image: root, the translated settings, the builder's user
    // to drop to; the socket in daemon mode when `socket`; credentials when `auth`.
    let lifecycle_phase = |command: Vec<String>, socket: bool, auth: bool| {
        let mut env = tr.env.clone();
        env.insert(CNB_USER_ID.to_string(), common.builder.uid.to_string());
        env.insert(CNB_GROUP_ID.to_string(), common.builder.gid.to_string());
        if let (true, Some(value)) = (auth, &tr.auth) {
            env.insert(CNB_REGISTRY_AUTH.to_string(), value.clone());
        }
        let mut binds = Vec::new();
        let security_opt = if socket && daemon {
            binds.push(socket_bind(common));
            env.extend(tr.daemon_env.clone());
            socket_security_opt()
        } else {
            no_new_privileges()
        };
        ContainerSpec {
            image: daemon_name(inputs.lifecycle_image),
            command,
            env,
            binds,
            volumes: shared.clone(),
            network: tr.network.clone(),
            user: CONTAINER_USER.to_string(),
            security_opt,
            platform_env: BTreeMap::new(),
            files: BTreeMap::new(),
            app_dir: None,
            app_filter: None,
            app_owner: (common.builder.uid, common.builder.gid),
        }
    };
    // A phase of the untrusted builder: its user, no socket, no credentials, only
    // `CNB_PLATFORM_API` (and the user's `--env` files, which buildpacks read).
    let builder_phase = |command: Vec<String>| ContainerSpec {
        image: daemon_name(&common.builder.builder),
        command,
        env: BTreeMap::from([(
            crate::env_vars::lifecycle::CNB_PLATFORM_API.to_string(),
            api.to_string(),
        )]),
        binds: Vec::new(),
        volumes: shared.clone(),
        network: tr.network.clone(),
        user: builder_user.clone(),
        security_opt: no_new_privileges(),
        platform_env: common.platform_env.clone(),
        files: BTreeMap::new(),
        app_dir: None,
        app_filter: None,
        app_owner: (common.builder.uid, common.builder.gid),
    };
    let cmd = |phase: Phase, args: &[&str]| -> Vec<String> {
        std::iter::once(format!("/cnb/lifecycle/{}", phase.binary()))
            .chain(args.iter().map(ToString::to_string))
            .collect()
    };

    // analyze
    let mut args = cmd(Phase::Analyze, &["-log-level", &log_level]);
    args.extend([run_flag.to_string(), run_file.clone()]);
    args.extend(["-run-image".to_string(), run_image_flag(common, &tr)]);
    if daemon {
        args.push("-daemon".to_string());
        if api >= ApiVersion::new(0, 9) {
            args.extend(["-launch-cache".to_string(), LAUNCH_CACHE_DIR.to_string()]);
        }
    }
    args.extend(tr.insecure_flags());
    args.push(common.output.to_string());
    let mut analyze = lifecycle_phase(args, true, true);
    analyze.files.insert(run_file.clone(), run_content.clone());
    if daemon && api >= ApiVersion::new(0, 9) {
        analyze.volumes.push(launch_cache.clone());
    }

    // detect: the app goes into the app volume here.
    let mut detect = builder_phase(cmd(
        Phase::Detect,
        &["-app", APP_DIR, "-log-level", &log_level],
    ));
    detect.app_dir = Some(common.app_dir.to_path_buf());

    // restore
    let mut args = cmd(
        Phase::Restore,
        &["-cache-dir", CACHE_DIR, "-log-level", &log_level],
    );
    let restore_socket = daemon && api >= ApiVersion::new(0, 12);
    if restore_socket {
        args.push("-daemon".to_string());
    }
    args.extend(tr.insecure_flags());
    let mut restore = lifecycle_phase(args, restore_socket, false);
    restore.volumes.push(build_cache.clone());

    // build
    let build = builder_phase(cmd(
        Phase::Build,
        &["-app", APP_DIR, "-log-level", &log_level],
    ));

    // export
    let mut args = cmd(
        Phase::Export,
        &[
            "-app",
            APP_DIR,
            "-cache-dir",
            CACHE_DIR,
            "-log-level",
            &log_level,
        ],
    );
    args.extend([run_flag.to_string(), run_file]);
    if daemon {
        args.extend([
            "-daemon".to_string(),
            "-launch-cache".to_string(),
            LAUNCH_CACHE_DIR.to_string(),
        ]);
    }
    args.extend(tr.insecure_flags());
    args.push(common.output.to_string());
    let mut export = lifecycle_phase(args, true, true);
    export.volumes.push(build_cache);
    if daemon {
        export.volumes.push(launch_cache);
    }

    let containers = [
        (Phase::Analyze, analyze),
        (Phase::Detect, detect),
        (Phase::Restore, restore),
        (Phase::Build, build),
        (Phase::Export, export),
    ]
    .into_iter()
    .map(|(phase, spec)| PhaseContainer { phase, spec })
    .collect();
    Phases {
        containers,
        lifecycle_image: inputs.lifecycle_image.clone(),
        temporary_volumes: vec![
            inputs.layers_volume.to_string(),
            inputs.app_volume.to_string(),
        ],
        platform_api: api,
        registries: tr.registries,
        insecure_registries: tr.insecure.into_iter().collect(),
        network: tr.network,
        network_reason: tr.network_reason,
        warnings: tr.warnings,
    }
}

/// What image extensions generated, from the paths under [`GENERATED_DIR`] the detector
/// left (`<extension>/build.Dockerfile`, `<extension>/run.Dockerfile`, or the older
/// `build/<extension>/Dockerfile`, `run/<extension>/Dockerfile`): the Dockerfiles cnb
/// would have to apply with the extender, which it does not run.
pub fn generated_dockerfiles(paths: &[String]) -> Vec<String> {
    paths
        .iter()
        .filter(|p| {
            let parts: Vec<&str> = p.trim_matches('/').split('/').collect();
            matches!(
                parts.as_slice(),
                [.., _, "build.Dockerfile"] | [.., _, "run.Dockerfile"]
            ) || matches!(parts.as_slice(), [.., "build" | "run", _, "Dockerfile"])
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::creator::tests::{Facts, img};

    fn phases(f: &Facts) -> Phases {
        let lifecycle_image = img("buildpacksio/lifecycle:0.21.17");
        let creator = f.creator_inputs();
        phases_spec(&PhasesInputs {
            common: creator,
            lifecycle_image: &lifecycle_image,
            layers_volume: "cnb-layers-1",
            app_volume: "cnb-app-1",
        })
    }

    fn container(p: &Phases, phase: Phase) -> &ContainerSpec {
        &p.containers.iter().find(|c| c.phase == phase).unwrap().spec
    }

    #[test]
    fn five_phases_in_pack_order_with_the_untrusted_ones_in_the_builder() {
        let f = Facts::daemon();
        let p = phases(&f);
        let order: Vec<Phase> = p.containers.iter().map(|c| c.phase).collect();
        assert_eq!(
            order,
            [
                Phase::Analyze,
                Phase::Detect,
                Phase::Restore,
                Phase::Build,
                Phase::Export
            ]
        );
        for c in &p.containers {
            let lifecycle = c.phase.in_lifecycle_image();
            let expected_image = if lifecycle {
                "docker.io/buildpacksio/lifecycle:0.21.17"
            } else {
                "docker.io/paketobuildpacks/builder-jammy-base:latest"
            };
            assert_eq!(c.spec.image, expected_image, "{}", c.phase);
            assert_eq!(
                c.spec.command[0],
                format!("/cnb/lifecycle/{}", c.phase.binary())
            );
            assert!(
                c.spec
                    .volumes
                    .contains(&("cnb-layers-1".into(), "/layers".into()))
            );
            assert!(
                c.spec
                    .volumes
                    .contains(&("cnb-app-1".into(), "/workspace".into()))
            );
            if lifecycle {
                assert_eq!(c.spec.user, "0:0");
                assert_eq!(c.spec.env["CNB_USER_ID"], "1001");
            } else {
                // The builder's own code: its user, no socket, no credentials.
                assert_eq!(c.spec.user, "1001:1000");
                assert!(c.spec.binds.is_empty(), "{}: {:?}", c.phase, c.spec.binds);
                assert_eq!(c.spec.security_opt, ["no-new-privileges=true"]);
                assert_eq!(c.spec.env.keys().collect::<Vec<_>>(), ["CNB_PLATFORM_API"]);
            }
        }
        // The socket where pack gives it in daemon mode: analyze, restore (0.12+), export.
        for phase in [Phase::Analyze, Phase::Restore, Phase::Export] {
            let c = container(&p, phase);
            assert_eq!(c.binds, ["/var/run/docker.sock:/var/run/docker.sock"]);
            assert_eq!(c.security_opt, ["label=disable"]);
        }
        // Only the detector gets the app; the run metadata goes into the layers volume.
        assert!(container(&p, Phase::Detect).app_dir.is_some());
        assert_eq!(
            p.containers
                .iter()
                .filter(|c| c.spec.app_dir.is_some())
                .count(),
            1
        );
        let analyze = container(&p, Phase::Analyze);
        assert_eq!(
            analyze.files["/layers/run.toml"],
            "[[images]]\nimage = \"docker.io/paketobuildpacks/run-jammy-base:latest\"\n"
        );
        assert_eq!(
            analyze.command.join(" "),
            "/cnb/lifecycle/analyzer -log-level info -run /layers/run.toml -run-image \
             docker.io/paketobuildpacks/run-jammy-base:latest -daemon -launch-cache /launch-cache \
             docker.io/library/myapp:latest"
        );
        assert_eq!(
            container(&p, Phase::Export).command.join(" "),
            "/cnb/lifecycle/exporter -app /workspace -cache-dir /cache -log-level info -run \
             /layers/run.toml -daemon -launch-cache /launch-cache docker.io/library/myapp:latest"
        );
        assert_eq!(p.temporary_volumes, ["cnb-layers-1", "cnb-app-1"]);
        let caches: Vec<String> = p.cache_volumes().into_iter().map(|(_, t)| t).collect();
        assert_eq!(caches, ["/launch-cache", "/cache"]);
    }

    #[test]
    fn credentials_only_where_the_lifecycle_image_reads_or_writes_registries() {
        let mut f = Facts::daemon();
        f.publish = true;
        f.output = img("127.0.0.1:5000/team/app:1");
        f.credentials.insert(
            f.output.registry().clone(),
            crate::credentials::Credential::Token("tok".into()),
        );
        let p = phases(&f);
        for c in &p.containers {
            let has_auth = c.spec.env.contains_key("CNB_REGISTRY_AUTH");
            let expected = matches!(c.phase, Phase::Analyze | Phase::Export);
            assert_eq!(has_auth, expected, "{}", c.phase);
            assert!(c.spec.binds.is_empty(), "no socket with --publish");
            assert!(!c.spec.command.contains(&"-daemon".to_string()));
        }
        assert_eq!(p.network.as_deref(), Some("host"));
    }

    #[test]
    fn older_platform_apis_read_stack_toml_and_restore_without_the_daemon() {
        let mut f = Facts::daemon();
        f.platform_api = ApiVersion::new(0, 11);
        f.run_image_given = true;
        f.run_image = img("registry.example/run:2");
        f.run_image_fetch = f.run_image.clone();
        let p = phases(&f);
        let analyze = container(&p, Phase::Analyze);
        assert!(analyze.command.contains(&"-stack".to_string()));
        assert_eq!(
            analyze.files["/layers/stack.toml"],
            "[run-image]\nimage = \"registry.example/run:2\"\n"
        );
        let restore = container(&p, Phase::Restore);
        assert!(restore.binds.is_empty());
        assert!(!restore.command.contains(&"-daemon".to_string()));
    }

    #[test]
    fn extension_dockerfiles_are_found_in_both_layouts() {
        let paths: Vec<String> = [
            "generated/",
            "generated/ext-a/",
            "generated/ext-a/build.Dockerfile",
            "generated/ext-b/run.Dockerfile",
            "generated/build/ext-c/Dockerfile",
            "generated/ext-d/extend-config.toml",
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            generated_dockerfiles(&paths),
            [
                "generated/ext-a/build.Dockerfile",
                "generated/ext-b/run.Dockerfile",
                "generated/build/ext-c/Dockerfile"
            ]
        );
        assert!(generated_dockerfiles(&["generated/".to_string()]).is_empty());
    }
}
