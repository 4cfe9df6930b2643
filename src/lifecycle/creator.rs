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
    let hash: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
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
pub(crate) mod tests {
    use super::*;
    use crate::lifecycle::lifecycle_registries;
    use crate::lifecycle::{BuilderRunImage, RunImageSource};

    pub(crate) fn img(s: &str) -> ImageRef {
        ImageRef::parse(s).unwrap()
    }

    pub(crate) fn reg(s: &str) -> Registry {
        Registry::parse(s).unwrap()
    }

    pub(crate) fn builder() -> BuilderMetadata {
        BuilderMetadata {
            builder: img("paketobuildpacks/builder-jammy-base"),
            run_image: BuilderRunImage {
                image: img("paketobuildpacks/run-jammy-base"),
                mirrors: vec![],
                source: RunImageSource::Images,
            },
            lifecycle_version: Some("0.20.1".into()),
            supported_platform_apis: vec![ApiVersion::new(0, 13)],
            deprecated_platform_apis: vec![],
            uid: 1001,
            gid: 1000,
            warnings: vec![],
            has_extensions: false,
        }
    }

    /// Owned facts, so each test states only what it changes.
    pub(crate) struct Facts {
        pub output: ImageRef,
        pub builder: BuilderMetadata,
        pub platform_api: ApiVersion,
        pub run_image: ImageRef,
        pub run_image_fetch: ImageRef,
        pub publish: bool,
        pub log_level: LogLevel,
        pub insecure: Vec<InsecureEntry>,
        pub resolved: HashMap<String, Vec<IpAddr>>,
        pub chosen_mirrors: Vec<(Registry, Mirror)>,
        pub credentials: BTreeMap<Registry, Credential>,
        pub platform_env: BTreeMap<String, String>,
        pub network: Option<String>,
        pub docker_api_version: Option<String>,
        pub run_image_given: bool,
    }

    impl Facts {
        pub(crate) fn daemon() -> Facts {
            Facts {
                output: img("myapp"),
                builder: builder(),
                platform_api: ApiVersion::new(0, 13),
                run_image: img("paketobuildpacks/run-jammy-base"),
                run_image_fetch: img("paketobuildpacks/run-jammy-base"),
                publish: false,
                log_level: LogLevel::Info,
                insecure: vec![],
                resolved: HashMap::new(),
                chosen_mirrors: vec![],
                credentials: BTreeMap::new(),
                platform_env: BTreeMap::new(),
                network: None,
                docker_api_version: None,
                run_image_given: false,
            }
        }

        pub(crate) fn creator(&self) -> Creator {
            creator_spec(&self.creator_inputs())
        }

        pub(crate) fn creator_inputs(&self) -> CreatorInputs<'_> {
            CreatorInputs {
                output: &self.output,
                builder: &self.builder,
                platform_api: self.platform_api,
                run_image: &self.run_image,
                run_image_fetch: &self.run_image_fetch,
                publish: self.publish,
                log_level: self.log_level,
                insecure: &self.insecure,
                resolved: &self.resolved,
                chosen_mirrors: &self.chosen_mirrors,
                credentials: &self.credentials,
                platform_env: self.platform_env.clone(),
                network: self.network.as_deref(),
                docker_socket: "/var/run/docker.sock",
                docker_api_version: self.docker_api_version.as_deref(),
                run_image_given: self.run_image_given,
                app_dir: Path::new("/src/app"),
            }
        }
    }

    fn mirror(s: &str) -> Mirror {
        Mirror::parse(s).unwrap()
    }

    fn insecure(s: &str) -> InsecureEntry {
        InsecureEntry::parse(s).unwrap()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn daemon_mode_spec() {
        let mut f = Facts::daemon();
        f.chosen_mirrors = vec![(reg("docker.io"), mirror("mirror.corp.example/hub"))];
        f.credentials.insert(
            reg("docker.io"),
            Credential::Basic {
                username: "u".into(),
                password: "p".into(),
            },
        );
        let c = f.creator();
        assert_eq!(
            c.spec.command,
            strings(&[
                "/cnb/lifecycle/creator",
                "-app",
                "/workspace",
                "-cache-dir",
                "/cache",
                "-run-image",
                "docker.io/paketobuildpacks/run-jammy-base:latest",
                "-log-level",
                "info",
                "-daemon",
                "-launch-cache",
                "/launch-cache",
                "docker.io/library/myapp:latest",
            ])
        );
        assert_eq!(
            c.spec.image,
            "docker.io/paketobuildpacks/builder-jammy-base:latest"
        );
        let env: Vec<_> = c.spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            env,
            strings(&[
                "CNB_PLATFORM_API=0.13",
                "CNB_REGISTRY_MIRRORS=index.docker.io=https://mirror.corp.example/hub",
            ]),
            "no CNB_REGISTRY_AUTH and no CNB_INSECURE_REGISTRIES in daemon mode without insecure hosts"
        );
        assert_eq!(
            c.spec.binds,
            strings(&["/var/run/docker.sock:/var/run/docker.sock"])
        );
        assert_eq!(c.spec.volumes.len(), 2);
        assert_eq!(c.spec.volumes[0].1, "/cache");
        assert!(c.spec.volumes[0].0.starts_with("cnb-cache-library_myapp-"));
        assert!(c.spec.volumes[0].0.ends_with(".build"));
        assert_eq!(c.spec.volumes[1].1, "/launch-cache");
        assert!(c.spec.volumes[1].0.ends_with(".launch"));
        assert_eq!(c.spec.user, "0:0", "root by number, in both modes");
        assert_eq!(c.spec.security_opt, strings(&["label=disable"]));
        assert!(c.spec.files.is_empty());
        assert_eq!(c.spec.network, None);
        assert_eq!(c.network_reason, None);
        assert_eq!(c.spec.app_owner, (1001, 1000));
        assert_eq!(c.spec.app_dir.as_deref(), Some(Path::new("/src/app")));
        assert!(c.warnings.is_empty());
        let keys: Vec<_> = c.registries.iter().map(Registry::key).collect();
        assert_eq!(keys, strings(&["index.docker.io", "mirror.corp.example"]));
        assert_eq!(
            lifecycle_registries(
                &f.output,
                &f.run_image,
                &f.run_image_fetch,
                false,
                &f.chosen_mirrors
            ),
            c.registries
        );
    }

    fn publish_facts() -> Facts {
        let mut f = Facts::daemon();
        f.publish = true;
        f.output = img("registry.corp.example:5000/team/app:1");
        f.run_image_fetch = img("mirror.corp.example/hub/paketobuildpacks/run-jammy-base");
        f.chosen_mirrors = vec![
            (reg("docker.io"), mirror("mirror.corp.example/hub")),
            (
                reg("registry.corp.example:5000"),
                mirror("http://cache.corp.example:5001"),
            ),
            (reg("mirror.corp.example"), mirror("mirror2.corp.example")),
        ];
        f.insecure = vec![
            insecure("mirror.corp.example"),
            insecure("198.18.0.0/15"),
            insecure("unrelated.example:5000"),
        ];
        f.resolved.insert(
            "registry.corp.example".into(),
            vec!["198.18.4.2".parse().unwrap()],
        );
        f.credentials.insert(
            reg("registry.corp.example:5000"),
            Credential::Basic {
                username: "ci".into(),
                password: "hunter2".into(),
            },
        );
        f.credentials.insert(
            reg("mirror.corp.example"),
            Credential::Token("tok123".into()),
        );
        f.credentials.insert(
            reg("mirror2.corp.example"),
            Credential::Token("tok456".into()),
        );
        f.credentials.insert(
            reg("not-reached.example"),
            Credential::Token("never".into()),
        );
        f
    }

    #[test]
    fn an_http_mirror_the_lifecycle_reaches_is_insecure_for_it() {
        // --publish with the run image read from a plain-HTTP mirror off loopback that no
        // insecure entry names: cnb reached it over HTTP, so must the lifecycle.
        let mut f = Facts::daemon();
        f.publish = true;
        f.output = img("127.0.0.1:5000/team/app:1");
        f.run_image = img("registry.corp.example/run:1");
        f.run_image_fetch = img("198.18.3.2:5000/run:1");
        f.chosen_mirrors = vec![(
            reg("registry.corp.example"),
            mirror("http://198.18.3.2:5000"),
        )];
        let c = f.creator();
        assert_eq!(c.insecure_registries, strings(&["198.18.3.2:5000"]));
        assert_eq!(c.spec.env["CNB_INSECURE_REGISTRIES"], "198.18.3.2:5000");
        assert_eq!(
            c.spec
                .command
                .iter()
                .filter(|a| *a == "-insecure-registry")
                .count(),
            1
        );
        // A TLS mirror is not made insecure by being a mirror.
        f.chosen_mirrors = vec![(reg("registry.corp.example"), mirror("198.18.3.2:5000"))];
        let c = f.creator();
        assert!(
            c.insecure_registries.is_empty(),
            "{:?}",
            c.insecure_registries
        );
        assert!(!c.spec.env.contains_key("CNB_INSECURE_REGISTRIES"));
    }

    #[test]
    fn docker_api_version_only_with_the_socket() {
        let mut f = Facts::daemon();
        f.docker_api_version = Some("1.41".into());
        assert_eq!(f.creator().spec.env["DOCKER_API_VERSION"], "1.41");
        f.publish = true;
        assert!(!f.creator().spec.env.contains_key("DOCKER_API_VERSION"));
        f.publish = false;
        f.docker_api_version = None;
        assert!(!f.creator().spec.env.contains_key("DOCKER_API_VERSION"));
    }

    #[test]
    fn a_given_run_image_is_named_in_run_metadata_the_lifecycle_reads() {
        let mut f = Facts::daemon();
        f.run_image = img("registry.example/other/run:2");
        f.run_image_fetch = f.run_image.clone();
        f.run_image_given = true;
        f.platform_api = ApiVersion::new(0, 12);
        let c = f.creator();
        let at = c
            .spec
            .command
            .iter()
            .position(|a| a == "-run")
            .expect("-run");
        assert_eq!(c.spec.command[at + 1], "/platform/cnb/run.toml");
        assert_eq!(
            c.spec.files["/platform/cnb/run.toml"],
            "[[images]]\nimage = \"registry.example/other/run:2\"\n"
        );
        // Older platform APIs read the run image from stack.toml.
        f.platform_api = ApiVersion::new(0, 11);
        let c = f.creator();
        let at = c
            .spec
            .command
            .iter()
            .position(|a| a == "-stack")
            .expect("-stack");
        assert_eq!(c.spec.command[at + 1], "/platform/cnb/stack.toml");
        assert_eq!(
            c.spec.files["/platform/cnb/stack.toml"],
            "[run-image]\nimage = \"registry.example/other/run:2\"\n"
        );
        assert!(!c.spec.command.iter().any(|a| a == "-run"));
        // The builder's own run metadata names its run image: nothing to write.
        f.run_image_given = false;
        let c = f.creator();
        assert!(c.spec.files.is_empty());
        assert!(!c.spec.command.iter().any(|a| a == "-run" || a == "-stack"));
    }

    #[test]
    fn publish_mode_spec() {
        let f = publish_facts();
        let c = f.creator();
        let keys: Vec<_> = lifecycle_registries(
            &f.output,
            &f.run_image,
            &f.run_image_fetch,
            true,
            &f.chosen_mirrors,
        )
        .iter()
        .map(Registry::key)
        .collect();
        assert_eq!(
            keys,
            strings(&[
                "mirror.corp.example",
                "mirror2.corp.example",
                "registry.corp.example:5000"
            ])
        );
        assert_eq!(
            c.registries.iter().map(Registry::key).collect::<Vec<_>>(),
            keys
        );
        assert_eq!(
            c.spec.command,
            strings(&[
                "/cnb/lifecycle/creator",
                "-app",
                "/workspace",
                "-cache-dir",
                "/cache",
                "-run-image",
                "mirror.corp.example/hub/paketobuildpacks/run-jammy-base:latest",
                "-log-level",
                "info",
                "-insecure-registry",
                "mirror.corp.example",
                "-insecure-registry",
                "registry.corp.example:5000",
                "registry.corp.example:5000/team/app:1",
            ])
        );
        assert_eq!(
            c.spec
                .env
                .get("CNB_INSECURE_REGISTRIES")
                .map(String::as_str),
            Some("mirror.corp.example,registry.corp.example:5000")
        );
        // The run image's name is the mirror itself, so only the mirror's own mirror applies;
        // the output registry never gets one.
        assert_eq!(
            c.spec.env.get("CNB_REGISTRY_MIRRORS").map(String::as_str),
            Some("mirror.corp.example=https://mirror2.corp.example")
        );
        let auth: BTreeMap<String, String> =
            serde_json::from_str(&c.spec.env["CNB_REGISTRY_AUTH"]).unwrap();
        let expected: BTreeMap<String, String> = [
            ("mirror.corp.example", "Bearer tok123"),
            ("mirror2.corp.example", "Bearer tok456"),
            ("registry.corp.example:5000", "Basic Y2k6aHVudGVyMg=="),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(auth, expected);
        assert!(c.spec.binds.is_empty());
        assert_eq!(c.spec.volumes.len(), 1);
        assert_eq!(
            c.spec.user, "0:0",
            "the creator must start as root to chown its volumes"
        );
        assert_eq!(c.spec.security_opt, strings(&["no-new-privileges=true"]));
        assert_eq!(c.spec.network, None);
        assert_eq!(c.warnings.len(), 1);
        assert!(
            c.warnings[0]
                .contains("mirror.corp.example will be recorded in the image's runImage.reference"),
            "{:?}",
            c.warnings
        );
    }

    #[test]
    fn hub_auth_is_keyed_index_docker_io() {
        let mut f = Facts::daemon();
        f.publish = true;
        f.output = img("docker.io/me/app");
        f.credentials
            .insert(reg("registry-1.docker.io"), Credential::Token("t".into()));
        let c = f.creator();
        assert_eq!(
            c.spec.env["CNB_REGISTRY_AUTH"],
            r#"{"index.docker.io":"Bearer t"}"#
        );
        assert!(!c.spec.env.contains_key("CNB_REGISTRY_MIRRORS"));
        assert!(!c.spec.env.contains_key("CNB_INSECURE_REGISTRIES"));
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn insecure_flags_only_from_platform_api_0_13() {
        let mut f = publish_facts();
        f.platform_api = ApiVersion::new(0, 12);
        let c = f.creator();
        assert!(!c.spec.command.iter().any(|a| a == "-insecure-registry"));
        assert_eq!(
            c.spec.env["CNB_INSECURE_REGISTRIES"],
            "mirror.corp.example,registry.corp.example:5000"
        );
        f.platform_api = ApiVersion::new(0, 15);
        let c = f.creator();
        assert_eq!(
            c.spec
                .command
                .iter()
                .filter(|a| *a == "-insecure-registry")
                .count(),
            2
        );
        assert_eq!(
            c.spec.command.last().unwrap(),
            "registry.corp.example:5000/team/app:1"
        );
    }

    #[test]
    fn insecure_hosts_use_the_exact_registry_spelling_with_port() {
        let mut f = Facts::daemon();
        f.output = img("LocalHost:5000/app");
        f.run_image = img("[::1]:5001/run");
        f.run_image_fetch = f.run_image.clone();
        f.insecure = vec![insecure("localhost"), insecure("::1/128")];
        let c = f.creator();
        assert_eq!(
            c.spec.env["CNB_INSECURE_REGISTRIES"],
            "[::1]:5001,localhost:5000"
        );
        assert!(!c.spec.env["CNB_INSECURE_REGISTRIES"].contains(' '));
        assert_eq!(
            c.insecure_registries,
            strings(&["[::1]:5001", "localhost:5000"])
        );
    }

    #[test]
    fn insecure_hosts_are_spelled_as_in_the_references_the_lifecycle_gets() {
        // The lifecycle matches insecure registries as prefixes of the references it is given:
        // image names use the display form (docker.io), mirror URLs the stored form.
        let mut f = Facts::daemon();
        f.insecure = vec![insecure("registry-1.docker.io")];
        let c = f.creator();
        let i = c
            .spec
            .command
            .iter()
            .position(|a| a == "-run-image")
            .unwrap();
        assert!(c.spec.command[i + 1].starts_with("docker.io/"));
        assert_eq!(c.spec.env["CNB_INSECURE_REGISTRIES"], "docker.io");
    }

    #[test]
    fn insecure_variable_is_absent_rather_than_empty() {
        let mut f = Facts::daemon();
        f.insecure = vec![insecure("10.20.0.0/16"), insecure("elsewhere.example")];
        let c = f.creator();
        assert!(!c.spec.env.contains_key("CNB_INSECURE_REGISTRIES"));
        assert!(c.insecure_registries.is_empty());
    }

    #[test]
    fn daemon_mode_names_the_run_image_by_its_original_name() {
        let mut f = Facts::daemon();
        f.run_image_fetch = img("mirror.corp.example/hub/paketobuildpacks/run-jammy-base");
        let c = f.creator();
        let i = c
            .spec
            .command
            .iter()
            .position(|a| a == "-run-image")
            .unwrap();
        assert_eq!(
            c.spec.command[i + 1],
            "docker.io/paketobuildpacks/run-jammy-base:latest"
        );
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn daemon_mode_keeps_a_mirror_for_the_output_registry_but_publish_drops_it() {
        let mut f = Facts::daemon();
        f.output = img("quay.io/me/app");
        f.run_image = img("quay.io/org/run");
        f.run_image_fetch = f.run_image.clone();
        f.chosen_mirrors = vec![(reg("quay.io"), mirror("http://q.corp.example:5000/quay"))];
        let c = f.creator();
        assert_eq!(
            c.spec.env["CNB_REGISTRY_MIRRORS"],
            "quay.io=http://q.corp.example:5000/quay"
        );
        f.publish = true;
        let c = f.creator();
        assert!(!c.spec.env.contains_key("CNB_REGISTRY_MIRRORS"));
    }

    #[test]
    fn mirrors_are_one_per_registry_sorted_and_separated_by_semicolons() {
        let mut f = Facts::daemon();
        f.output = img("quay.io/me/app");
        f.chosen_mirrors = vec![
            (reg("quay.io"), mirror("q1.corp.example")),
            (reg("quay.io"), mirror("q2.corp.example")),
            (
                reg("index.docker.io"),
                mirror("http://hub.corp.example:5000"),
            ),
            (reg("gcr.io"), mirror("g.corp.example")),
        ];
        let c = f.creator();
        assert_eq!(
            c.spec.env["CNB_REGISTRY_MIRRORS"],
            "index.docker.io=http://hub.corp.example:5000;quay.io=https://q1.corp.example"
        );
    }

    #[test]
    fn network_flag_wins_else_host_for_loopback() {
        let mut f = Facts::daemon();
        f.run_image = img("localhost:5000/run");
        f.run_image_fetch = f.run_image.clone();
        let c = f.creator();
        assert_eq!(c.spec.network.as_deref(), Some("host"));
        assert_eq!(
            c.network_reason.as_deref(),
            Some("the lifecycle must reach localhost:5000, which is on loopback")
        );
        f.network = Some("bridge".into());
        let c = f.creator();
        assert_eq!(c.spec.network.as_deref(), Some("bridge"));
        assert_eq!(c.network_reason, None);

        // A host name that resolves to loopback counts too.
        let mut f = Facts::daemon();
        f.output = img("registry.test:5000/app");
        f.resolved
            .insert("registry.test".into(), vec!["127.0.0.1".parse().unwrap()]);
        assert_eq!(f.creator().spec.network.as_deref(), Some("host"));
        // ... and so does a mirror the lifecycle will use.
        let mut f = Facts::daemon();
        f.chosen_mirrors = vec![(reg("docker.io"), mirror("http://127.0.0.1:5000"))];
        let c = f.creator();
        assert_eq!(c.spec.network.as_deref(), Some("host"));
        assert!(c.network_reason.unwrap().contains("127.0.0.1:5000"));
    }

    #[test]
    fn log_level_follows_verbosity() {
        assert_eq!(LogLevel::from_verbosity(0, false), LogLevel::Info);
        assert_eq!(LogLevel::from_verbosity(1, false), LogLevel::Debug);
        assert_eq!(LogLevel::from_verbosity(3, false), LogLevel::Debug);
        assert_eq!(LogLevel::from_verbosity(0, true), LogLevel::Warn);
        let mut f = Facts::daemon();
        f.log_level = LogLevel::Warn;
        let cmd = f.creator().spec.command;
        let i = cmd.iter().position(|a| a == "-log-level").unwrap();
        assert_eq!(cmd[i + 1], "warn");
    }

    #[test]
    fn user_env_parsing() {
        let lookup = |k: &str| (k == "FROM_ENV").then(|| "inherited".to_string());
        let env = parse_user_env(
            &strings(&["A=1", "B=x=y", "EMPTY=", "FROM_ENV", "A=2", "_x9=ok"]),
            lookup,
        )
        .unwrap();
        let got: Vec<_> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            got,
            strings(&["A=2", "B=x=y", "EMPTY=", "FROM_ENV=inherited", "_x9=ok"])
        );

        for bad in ["=v", "1A=v", "A-B=v", "A B=v", "../x=v", "", "A/B"] {
            let err = parse_user_env(&strings(&[bad]), lookup)
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("invalid --env name"), "{bad}: {err}");
        }
        let err = parse_user_env(&strings(&["MISSING"]), lookup)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "--env MISSING takes its value from the environment, but MISSING is not set; pass --env MISSING=VALUE"
        );
    }

    #[test]
    fn user_env_goes_to_platform_env_not_container_env() {
        let mut f = Facts::daemon();
        f.platform_env = parse_user_env(&strings(&["BP_JVM_VERSION=17"]), |_| None).unwrap();
        let c = f.creator();
        assert_eq!(c.spec.platform_env["BP_JVM_VERSION"], "17");
        assert!(!c.spec.env.contains_key("BP_JVM_VERSION"));
    }

    #[test]
    fn cache_volume_names_are_stable_per_normalised_name() {
        let a = cache_volume_name(&img("myapp"), "build");
        assert_eq!(
            a,
            cache_volume_name(&img("docker.io/library/myapp:latest"), "build")
        );
        assert_ne!(a, cache_volume_name(&img("myapp:2"), "build"));
        assert_ne!(
            a,
            cache_volume_name(&img("other.example/library/myapp"), "build")
        );
        assert_ne!(a, cache_volume_name(&img("myapp"), "launch"));
        assert!(a.starts_with("cnb-cache-library_myapp-"), "{a}");
        let hash = a
            .trim_start_matches("cnb-cache-library_myapp-")
            .trim_end_matches(".build");
        assert_eq!(hash.len(), 12);
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
        // Docker's volume-name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]*
        let long = cache_volume_name(&img("reg:5000/a/b_c/d.e/f-g"), "launch");
        assert!(
            long.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)),
            "{long}"
        );
        assert!(long.starts_with("cnb-cache-a_b_c_d.e_f-g-"), "{long}");
    }
}
