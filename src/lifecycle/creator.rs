//! The creator container (SPEC §7.7): command, flags, `CNB_*` environment, mounts,
//! user and network, from facts the build gathered.
//!
//! "The registries the lifecycle will reach" are the registries of the names it is
//! given (the output image and `-run-image`) plus, for each of those, the registry
//! mirror chosen for it. In daemon mode the lifecycle reads and writes images through
//! the Docker socket, but it is still told these names, so the insecure, mirror and
//! network settings are made consistent for them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::ContainerSpec;
use super::metadata::BuilderMetadata;
use super::platform_api::ApiVersion;
use crate::credentials::Credential;
use crate::env_vars::lifecycle::{
    CNB_INSECURE_REGISTRIES, CNB_PLATFORM_API, CNB_REGISTRY_AUTH, CNB_REGISTRY_MIRRORS,
};
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
    /// Host path of the Docker socket to bind in daemon mode (`/var/run/docker.sock`).
    pub docker_socket: &'a str,
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
    let hash: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    let mut readable: String = output
        .repository()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
        .collect();
    readable.truncate(64);
    format!("cnb-cache-{readable}-{hash}.{kind}")
}

fn authorization(credential: &Credential) -> String {
    match credential {
        Credential::Basic { username, password } => format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
        ),
        Credential::Token(token) => format!("Bearer {token}"),
    }
}

fn is_loopback(registry: &Registry, resolved: &HashMap<String, Vec<IpAddr>>) -> bool {
    registry.is_loopback()
        || resolved
            .get(registry.host())
            .is_some_and(|ips| !ips.is_empty() && ips.iter().all(IpAddr::is_loopback))
}

/// Builds the creator container (SPEC §7.7).
pub fn creator_spec(inputs: &CreatorInputs<'_>) -> Creator {
    let output_registry = inputs.output.registry();
    // In daemon mode the run image is named as chosen (its content came through any mirror);
    // with --publish the lifecycle must fetch it itself, so it gets the fetch location.
    let run_image_arg = if inputs.publish {
        inputs.run_image_fetch
    } else {
        inputs.run_image
    };
    let mut warnings = Vec::new();
    if inputs.publish && inputs.run_image_fetch != inputs.run_image {
        warnings.push(format!(
            "the run image is read from {}: its registry {} will be recorded in the image's runImage.reference, \
             because the lifecycle cannot fetch through a mirror by itself",
            inputs.run_image_fetch,
            inputs.run_image_fetch.registry()
        ));
    }

    // Registries named to the lifecycle, then the chosen mirror for each.
    let named: Vec<&Registry> = vec![output_registry, run_image_arg.registry()];
    let mut mirrors: BTreeMap<String, &Mirror> = BTreeMap::new();
    for (registry, mirror) in inputs.chosen_mirrors {
        let is_target = inputs.publish && registry == output_registry;
        if named.contains(&registry) && !is_target && !mirror.is_same_as(registry) {
            mirrors.entry(registry.key()).or_insert(mirror);
        }
    }
    let mut reached: BTreeMap<String, Registry> = BTreeMap::new();
    for registry in named
        .iter()
        .copied()
        .chain(mirrors.values().map(|m| m.registry()))
    {
        reached
            .entry(registry.key())
            .or_insert_with(|| registry.clone());
    }

    let no_ips: Vec<IpAddr> = Vec::new();
    let insecure: BTreeSet<String> = reached
        .values()
        .filter(|registry| {
            let ips = inputs.resolved.get(registry.host()).unwrap_or(&no_ips);
            inputs.insecure.iter().any(|e| e.matches(registry, ips))
        })
        .map(Registry::key)
        .filter(|key| !key.is_empty())
        .collect();

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
    command.push(run_image_arg.to_string());
    command.push("-log-level".to_string());
    command.push(inputs.log_level.to_string());
    if !inputs.publish {
        for arg in ["-daemon", "-launch-cache", LAUNCH_CACHE_DIR] {
            command.push(arg.to_string());
        }
    }
    if inputs.platform_api >= ApiVersion::new(0, 13) {
        for host in &insecure {
            command.push("-insecure-registry".to_string());
            command.push(host.clone());
        }
    }
    command.push(inputs.output.to_string());

    let mut env = BTreeMap::new();
    env.insert(CNB_PLATFORM_API.to_string(), inputs.platform_api.to_string());
    if !insecure.is_empty() {
        env.insert(
            CNB_INSECURE_REGISTRIES.to_string(),
            insecure.iter().cloned().collect::<Vec<_>>().join(","),
        );
    }
    if !mirrors.is_empty() {
        let value = mirrors
            .iter()
            .map(|(registry, mirror)| format!("{registry}={}", mirror.url()))
            .collect::<Vec<_>>()
            .join(";");
        env.insert(CNB_REGISTRY_MIRRORS.to_string(), value);
    }
    if inputs.publish {
        let auth: BTreeMap<String, String> = reached
            .iter()
            .filter_map(|(key, registry)| {
                inputs
                    .credentials
                    .get(registry)
                    .map(|c| (key.clone(), authorization(c)))
            })
            .collect();
        if !auth.is_empty() {
            // A map of strings always serialises.
            let json = serde_json::to_string(&auth).unwrap_or_default();
            env.insert(CNB_REGISTRY_AUTH.to_string(), json);
        }
    }

    let (network, network_reason) = match inputs.network {
        Some(mode) => (Some(mode.to_string()), None),
        None => match reached.values().find(|r| is_loopback(r, inputs.resolved)) {
            Some(registry) => (
                Some("host".to_string()),
                Some(format!(
                    "the lifecycle must reach {registry}, which is on loopback"
                )),
            ),
            None => (None, None),
        },
    };

    let mut binds = Vec::new();
    let mut volumes = vec![(cache_volume_name(inputs.output, "build"), CACHE_DIR.to_string())];
    let user = if inputs.publish {
        format!("{}:{}", inputs.builder.uid, inputs.builder.gid)
    } else {
        binds.push(format!("{}:{DOCKER_SOCKET_TARGET}", inputs.docker_socket));
        volumes.push((
            cache_volume_name(inputs.output, "launch"),
            LAUNCH_CACHE_DIR.to_string(),
        ));
        "root".to_string()
    };

    Creator {
        spec: ContainerSpec {
            image: inputs.builder.builder.to_string(),
            command,
            env,
            binds,
            volumes,
            network,
            user,
            platform_env: inputs.platform_env.clone(),
            app_dir: inputs.app_dir.to_path_buf(),
            app_owner: (inputs.builder.uid, inputs.builder.gid),
        },
        platform_api: inputs.platform_api,
        registries: reached.into_values().collect(),
        insecure_registries: insecure.into_iter().collect(),
        network_reason,
        warnings,
    }
}
