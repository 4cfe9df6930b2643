//! The creator container (SPEC §7.7): command, flags, `CNB_*` environment, mounts,
//! user and network, from facts the build gathered.
//!
//! "The registries the lifecycle will reach" are the registries of the names it is
//! given (the output image and `-run-image`) plus, for each of those, the registry
//! mirror chosen for it. In daemon mode the lifecycle reads and writes images through
//! the Docker socket, but it is still told these names, so the insecure, mirror and
//! network settings are made consistent for them.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::metadata::BuilderMetadata;
use super::platform_api::ApiVersion;
use super::translate::Translation;
use super::{ContainerSpec, daemon_name};
use crate::credentials::Credential;
use crate::env_vars::lifecycle::CNB_REGISTRY_AUTH;
use crate::error::UsageError;
use crate::reference::{ImageRef, InsecureEntry, Mirror, Registry};

/// The lifecycle binary cnb runs.
pub const CREATOR: &str = "/cnb/lifecycle/creator";
/// Where the app is uploaded.
pub const APP_DIR: &str = "/workspace";
/// Where the build-cache volume is mounted.
pub const CACHE_DIR: &str = "/cache";
/// Where the launch-cache volume is mounted (daemon mode).
pub const LAUNCH_CACHE_DIR: &str = "/launch-cache";
/// Where the user's `--env` values are written, one file per variable.
pub const PLATFORM_ENV_DIR: &str = "/platform/env";
/// Where the Docker socket is bound in daemon mode.
pub const DOCKER_SOCKET_TARGET: &str = "/var/run/docker.sock";
/// Where cnb writes the run-image metadata it gives the lifecycle (`-run` / `-stack`), as a
/// path under [`PLATFORM_DIR`]: the lifecycle records the run image of the file it reads,
/// and the builder's own `/cnb/run.toml` does not name a `--run-image`.
pub const RUN_METADATA_DIR: &str = "cnb";
/// The platform directory (`/platform/env`, cnb's run metadata).
pub const PLATFORM_DIR: &str = "/platform";
/// The container's user: root, by number, so builders without `/etc/passwd` work. The
/// lifecycle chowns its volumes and then drops to `CNB_USER_ID`/`CNB_GROUP_ID` itself.
pub const CONTAINER_USER: &str = "0:0";

/// The lifecycle's `-log-level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLevel {
    /// `-v` (any count).
    Debug,
    /// The default.
    #[default]
    Info,
    /// `-q`: the lifecycle's warnings and errors only.
    Warn,
}

impl LogLevel {
    /// `-v`/`-vv` → debug, `-q` → warn, else info.
    pub fn from_verbosity(verbosity: u8, quiet: bool) -> LogLevel {
        if quiet {
            LogLevel::Warn
        } else if verbosity > 0 {
            LogLevel::Debug
        } else {
            LogLevel::Info
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything [`creator_spec`] needs. All of it was found out by the build.
#[derive(Debug, Clone)]
pub struct CreatorInputs<'a> {
    /// The image being built (the creator's last argument).
    pub output: &'a ImageRef,
    /// The builder (its original name is the container image; its uid/gid own the app).
    pub builder: &'a BuilderMetadata,
    /// From [`BuilderMetadata::negotiate_platform_api`].
    pub platform_api: ApiVersion,
    /// The chosen run-image candidate, by its own name.
    pub run_image: &'a ImageRef,
    /// Where that run image is fetched from (a registry-mirror location, or `run_image` itself).
    pub run_image_fetch: &'a ImageRef,
    /// `--publish`.
    pub publish: bool,
    pub log_level: LogLevel,
    /// Insecure entries in effect (flags and config).
    pub insecure: &'a [InsecureEntry],
    /// Addresses registry host names resolved to (for CIDR entries and loopback detection),
    /// keyed by [`Registry::host`]. Hosts not in the map are treated as unresolved.
    pub resolved: &'a HashMap<String, Vec<IpAddr>>,
    /// The mirror chosen (probed and reachable) for each registry, from the resolutions.
    pub chosen_mirrors: &'a [(Registry, Mirror)],
    /// Credentials per registry host (only used with `--publish`).
    pub credentials: &'a BTreeMap<Registry, Credential>,
    /// From [`parse_user_env`].
    pub platform_env: BTreeMap<String, String>,
    /// `--network`.
    pub network: Option<&'a str>,
    /// Host path of the Docker socket to bind in daemon mode: a file path such as
    /// `/var/run/docker.sock`, not a `unix://` URL.
    pub docker_socket: &'a str,
    /// `DOCKER_API_VERSION` for the lifecycle's Docker client in daemon mode: the version cnb
    /// negotiated, when the daemon is older than the API cnb's own client speaks (so is the
    /// lifecycle's, which would otherwise ask for a version the daemon does not know).
    pub docker_api_version: Option<&'a str>,
    /// The run image came from `--run-image`, so the builder's run metadata does not name
    /// it: cnb writes a `run.toml` (or `stack.toml`) that does.
    pub run_image_given: bool,
    /// The app directory (`--path`).
    pub app_dir: &'a Path,
}

/// The creator container plus what the build should tell the user about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creator {
    pub spec: ContainerSpec,
    pub platform_api: ApiVersion,
    /// The registries the lifecycle will reach, sorted by [`Registry::key`].
    pub registries: Vec<Registry>,
    /// Hosts passed as insecure (`CNB_INSECURE_REGISTRIES` and `-insecure-registry`).
    pub insecure_registries: Vec<String>,
    /// Why `--network host` was picked, when cnb picked it (`registry localhost:5000 is on loopback`).
    pub network_reason: Option<String>,
    /// Warnings the build prints (e.g. a mirror host recorded in `runImage.reference`).
    pub warnings: Vec<String>,
}

/// Parses the user's `--env` values: `K=V`, or `K` alone to take the value from cnb's
/// own environment (`lookup`), like pack. Later values win. Names must be
/// `[A-Za-z_][A-Za-z0-9_]*` (each becomes a file under `/platform/env`).
pub fn parse_user_env(
    values: &[String],
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, UsageError> {
    let mut env = BTreeMap::new();
    for item in values {
        let (name, value) = match item.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (item.as_str(), None),
        };
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(UsageError(format!(
                "invalid --env name '{name}'; expected K=V or K, with K made of letters, digits and '_', not starting with a digit"
            )));
        }
        let value = match value {
            Some(v) => v,
            None => lookup(name).ok_or_else(|| {
                UsageError(format!(
                    "--env {name} takes its value from the environment, but {name} is not set; pass --env {name}=VALUE"
                ))
            })?,
        };
        env.insert(name.to_string(), value);
    }
    Ok(env)
}

/// The name of a cache volume for `output` (`kind` is `build` or `launch`):
/// `cnb-cache-<repository with / as _>-<12 hex digits of sha256(normalised name)>.<kind>`,
/// as pack does with its `pack-cache-` prefix. Different tags get different caches.
pub fn cache_volume_name(output: &ImageRef, kind: &str) -> String {
    let digest = Sha256::digest(output.key().as_bytes());
    let hash = crate::hex::encode(&digest[..6]);
    let mut readable = name_safe(output.repository());
    readable.truncate(64);
    format!("cnb-cache-{readable}-{hash}.{kind}")
}

/// `s` with every character other than ASCII letters, digits, `.` and `-` as `_`: usable in
/// Docker volume names and file names.
pub(crate) fn name_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The run-image metadata file naming `run_image` for the lifecycle: the flag that points
/// at it, its file name and content. Platform API 0.12 and later read `run.toml`
/// (`-run`); older ones read the run image from `stack.toml` (`-stack`). Without it the
/// lifecycle records the first image of the builder's run metadata in the app image.
fn run_metadata(api: ApiVersion, run_image: &ImageRef) -> (&'static str, &'static str, String) {
    let mut image = toml_edit::Table::new();
    image["image"] = toml_edit::value(run_image.to_string());
    let mut doc = toml_edit::DocumentMut::new();
    if api >= ApiVersion::new(0, 12) {
        let mut images = toml_edit::ArrayOfTables::new();
        images.push(image);
        doc["images"] = toml_edit::Item::ArrayOfTables(images);
        ("-run", "run.toml", doc.to_string())
    } else {
        doc["run-image"] = toml_edit::Item::Table(image);
        ("-stack", "stack.toml", doc.to_string())
    }
}

/// Builds the creator container (SPEC §7.7).
pub fn creator_spec(inputs: &CreatorInputs<'_>) -> Creator {
    let tr = Translation::new(inputs);
    let mut command: Vec<String> = [
        CREATOR,
        "-app",
        APP_DIR,
        "-cache-dir",
        CACHE_DIR,
        "-run-image",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    command.push(run_image_flag(inputs, &tr));
    command.push("-log-level".to_string());
    command.push(inputs.log_level.to_string());
    let mut files = BTreeMap::new();
    if inputs.run_image_given {
        let (flag, name, content) = run_metadata(inputs.platform_api, &tr.run_image_arg);
        let path = format!("{PLATFORM_DIR}/{RUN_METADATA_DIR}/{name}");
        command.push(flag.to_string());
        command.push(path.clone());
        files.insert(path, content);
    }
    if !inputs.publish {
        for arg in ["-daemon", "-launch-cache", LAUNCH_CACHE_DIR] {
            command.push(arg.to_string());
        }
    }
    command.extend(tr.insecure_flags());
    command.push(inputs.output.to_string());

    let mut env = tr.env.clone();
    if let Some(auth) = &tr.auth {
        env.insert(CNB_REGISTRY_AUTH.to_string(), auth.clone());
    }
    let mut binds = Vec::new();
    let mut volumes = vec![(
        cache_volume_name(inputs.output, "build"),
        CACHE_DIR.to_string(),
    )];
    let security_opt = if inputs.publish {
        no_new_privileges()
    } else {
        binds.push(socket_bind(inputs));
        env.extend(tr.daemon_env.clone());
        volumes.push((
            cache_volume_name(inputs.output, "launch"),
            LAUNCH_CACHE_DIR.to_string(),
        ));
        socket_security_opt()
    };

    Creator {
        spec: ContainerSpec {
            image: daemon_name(&inputs.builder.builder),
            command,
            env,
            binds,
            volumes,
            network: tr.network.clone(),
            user: CONTAINER_USER.to_string(),
            security_opt,
            platform_env: inputs.platform_env.clone(),
            files,
            app_dir: Some(inputs.app_dir.to_path_buf()),
            app_filter: None,
            app_owner: (inputs.builder.uid, inputs.builder.gid),
        },
        platform_api: inputs.platform_api,
        registries: tr.registries,
        insecure_registries: tr.insecure.into_iter().collect(),
        network_reason: tr.network_reason,
        warnings: tr.warnings,
    }
}

/// `-run-image`: the fetch location with `--publish`; in daemon mode the run image's name
/// in the daemon (its own, or the digest tag of [`daemon_name`]).
pub(crate) fn run_image_flag(inputs: &CreatorInputs<'_>, tr: &Translation) -> String {
    if inputs.publish {
        tr.run_image_arg.to_string()
    } else {
        daemon_name(inputs.run_image)
    }
}

/// As pack: a container without the Docker socket may not gain privileges (the lifecycle
/// only ever drops them).
pub(crate) fn no_new_privileges() -> Vec<String> {
    vec!["no-new-privileges=true".to_string()]
}

/// As pack: with the socket bound in, SELinux labelling is off so the container may use it.
pub(crate) fn socket_security_opt() -> Vec<String> {
    vec!["label=disable".to_string()]
}

/// The Docker socket bind of daemon mode.
pub(crate) fn socket_bind(inputs: &CreatorInputs<'_>) -> String {
    format!("{}:{DOCKER_SOCKET_TARGET}", inputs.docker_socket)
}

#[cfg(test)]
pub(crate) mod tests;
