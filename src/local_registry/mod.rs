//! Local cluster registries (SPEC §10, KEP-1755): the registry a dev cluster (kind, k3d,
//! minikube, MicroK8s) declares in ConfigMap `kube-public/local-registry-hosting`, found
//! through the current kube context, or cnb's own config key `local-registry`, which wins.
//!
//! - [`hosting`]: the KEP's rules on the ConfigMap's data (pure);
//! - [`cluster`]: kubeconfig, context and the API request (the `kube` crate);
//! - here: [`find`] (config key, else the cluster), what `cnb build --local-registry`
//!   publishes to ([`BuildTarget`]) and the reports `cnb local-registry` prints.

pub mod cluster;
pub mod hosting;

use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

use crate::config::{Config, keys};
use crate::reference::{ImageRef, NameError, Registry};
use crate::registry::{Platform, ProbeFailure, Resolver};
use crate::settings::RegistrySettings;
use crate::ui::Ui;
use cluster::KubeContext;
use hosting::{CONFIG_MAP, HostingError, NAMESPACE};

/// The other way to name the registry, offered by every "not found" error.
const CONFIG_KEY_FIX: &str =
    "or set `local-registry = \"host:port\"` in cnb's config file (see `cnb config path`)";

/// `kube-public/local-registry-hosting`.
fn config_map_name() -> String {
    format!("{NAMESPACE}/{CONFIG_MAP}")
}

/// `; help: <url>` when the cluster gave one.
fn help_suffix(help: Option<&str>) -> String {
    help.map(|h| format!("; help: {h}")).unwrap_or_default()
}

fn contexts_text(contexts: &[String]) -> String {
    if contexts.is_empty() {
        "it has no contexts".to_string()
    } else {
        format!("its contexts: {}", contexts.join(", "))
    }
}

/// Why no local registry was found. One line each, naming what was tried and the fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DiscoveryError {
    #[error(
        "no local registry: no kubeconfig at {tried} to find a cluster in; point KUBECONFIG at \
         your cluster's kubeconfig, {CONFIG_KEY_FIX}"
    )]
    NoKubeconfig { tried: String },
    #[error("no local registry: cannot use the kubeconfig: {detail}")]
    Kubeconfig { detail: String },
    #[error(
        "no local registry: {kubeconfig} sets no current-context; pass --kube-context NAME ({})",
        contexts_text(contexts)
    )]
    NoCurrentContext {
        kubeconfig: String,
        contexts: Vec<String>,
    },
    #[error(
        "no local registry: kube context '{name}' ({}) is not in {kubeconfig}; {}",
        if *given { "from --kube-context" } else { "its current-context" },
        if contexts.is_empty() { "it has no contexts".to_string() }
        else { format!("pass one of its contexts with --kube-context: {}", contexts.join(", ")) }
    )]
    UnknownContext {
        name: String,
        /// Named by `--kube-context` (a usage error) rather than by `current-context`.
        given: bool,
        kubeconfig: String,
        contexts: Vec<String>,
    },
    #[error(
        "no local registry: cannot reach the API server of {context}: {reason}; start the \
         cluster, {CONFIG_KEY_FIX}"
    )]
    Unreachable { context: String, reason: String },
    #[error(
        "no local registry: the API server of {context} refused to show ConfigMap \
         {ns}/{cm} (HTTP {status}: {message}); check that context's credentials",
        ns = NAMESPACE, cm = CONFIG_MAP
    )]
    Refused {
        context: String,
        status: u16,
        message: String,
    },
    #[error(
        "no local registry: {context} has no ConfigMap {ns}/{cm}, so its cluster declares no \
         local registry (KEP-1755); set one up as your cluster's documentation says, \
         {CONFIG_KEY_FIX}",
        ns = NAMESPACE, cm = CONFIG_MAP
    )]
    NoConfigMap { context: String },
    #[error(
        "no local registry: ConfigMap {ns}/{cm} of {context} has {problem}{}",
        help_suffix(problem.help()),
        ns = NAMESPACE, cm = CONFIG_MAP
    )]
    Hosting {
        context: String,
        problem: Box<HostingError>,
    },
    #[error(
        "no local registry: ConfigMap {ns}/{cm} of {context} declares no host for tools outside \
         the cluster{declared}, so cnb has nowhere to push{}",
        help_suffix(help.as_deref()),
        ns = NAMESPACE, cm = CONFIG_MAP
    )]
    NoHost {
        context: String,
        /// ` (only hostFromClusterNetwork 'x')`, or empty.
        declared: String,
        help: Option<String>,
    },
    #[error(
        "invalid {key} '{value}' in {path}: {reason}; expected host:port",
        key = keys::LOCAL_REGISTRY, path = path.display()
    )]
    ConfigKey {
        path: PathBuf,
        value: String,
        reason: String,
    },
}

impl DiscoveryError {
    /// Whether the user typed the wrong thing (`--kube-context` naming no context): exit
    /// status 2.
    pub fn is_usage(&self) -> bool {
        matches!(self, DiscoveryError::UnknownContext { given: true, .. })
    }
}

/// Where the registry came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// cnb's config key `local-registry`.
    Config { path: PathBuf },
    /// The ConfigMap of a kube context's cluster.
    Cluster {
        context: KubeContext,
        /// The `localRegistryHosting.vN` read.
        version: u32,
        /// Newer entries the ConfigMap has, not understood by this cnb.
        newer_versions: Vec<u32>,
    },
}

impl Source {
    /// `ConfigMap kube-public/local-registry-hosting (localRegistryHosting.v1) of kube
    /// context 'x' (https://...)`, or `local-registry in <path>`.
    pub fn describe(&self) -> String {
        match self {
            Source::Config { path } => format!("{} in {}", keys::LOCAL_REGISTRY, path.display()),
            Source::Cluster {
                context, version, ..
            } => format!(
                "ConfigMap {} ({}) of {}",
                config_map_name(),
                hosting::key_of(*version),
                context.describe()
            ),
        }
    }
}

/// A local registry that was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Where cnb pushes (`host`).
    pub host: Registry,
    /// `hostFromContainerRuntime` as declared.
    pub runtime_host: Option<Registry>,
    /// `hostFromClusterNetwork`: where tools inside the cluster push; `None`: they cannot.
    pub cluster_host: Option<Registry>,
    pub help: Option<String>,
    pub source: Source,
}

impl Found {
    /// What pod specs name: `hostFromContainerRuntime`, else `host`.
    pub fn pod_host(&self) -> &Registry {
        self.runtime_host.as_ref().unwrap_or(&self.host)
    }

    /// The JSON of `cnb local-registry --output json` (and of the build plan).
    pub fn report(&self) -> Report {
        let source = match &self.source {
            Source::Config { path } => SourceReport::Config {
                path: path.display().to_string(),
                key: keys::LOCAL_REGISTRY.to_string(),
            },
            Source::Cluster {
                context,
                version,
                newer_versions,
            } => SourceReport::Cluster {
                kube_context: context.name.clone(),
                server: context.server.clone(),
                kubeconfig: context
                    .kubeconfig
                    .files
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect(),
                kubeconfig_from: context.kubeconfig.from.to_string(),
                config_map: config_map_name(),
                key: hosting::key_of(*version),
                ignored_keys: newer_versions.iter().map(|v| hosting::key_of(*v)).collect(),
            },
        };
        Report {
            host: self.host.key(),
            host_from_container_runtime: self.runtime_host.as_ref().map(Registry::key),
            host_from_cluster_network: self.cluster_host.as_ref().map(Registry::key),
            help: self.help.clone(),
            pod_host: self.pod_host().key(),
            source,
        }
    }

    /// `cnb local-registry`'s text: one `field: value` line each.
    pub fn render_text(&self) -> Vec<String> {
        let mut lines = vec![format!("host:                     {}", self.host.key())];
        lines.push(match &self.runtime_host {
            Some(h) => format!("hostFromContainerRuntime: {}", h.key()),
            None => "hostFromContainerRuntime: (not set: pod specs use host)".to_string(),
        });
        lines.push(match &self.cluster_host {
            Some(h) => format!("hostFromClusterNetwork:   {}", h.key()),
            None => "hostFromClusterNetwork:   (not set: tools in the cluster cannot push to it)"
                .to_string(),
        });
        lines.push(format!(
            "help:                     {}",
            self.help.as_deref().unwrap_or("(not set)")
        ));
        lines.push(format!(
            "source:                   {}",
            self.source.describe()
        ));
        if let Source::Cluster {
            context,
            newer_versions,
            ..
        } = &self.source
        {
            lines.push(format!(
                "kubeconfig:               {} (from {})",
                cluster::files_text(&context.kubeconfig),
                context.kubeconfig.from
            ));
            if !newer_versions.is_empty() {
                lines.push(format!(
                    "ignored:                  {} (this cnb reads {})",
                    newer_versions
                        .iter()
                        .map(|v| hosting::key_of(*v))
                        .collect::<Vec<_>>()
                        .join(", "),
                    hosting::SUPPORTED_VERSIONS
                        .iter()
                        .map(|v| hosting::key_of(*v))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        lines
    }
}

/// What `cnb local-registry --output json` prints. Field names are a contract: add, never
/// rename (docs/local-registry.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub host: String,
    pub host_from_container_runtime: Option<String>,
    pub host_from_cluster_network: Option<String>,
    pub help: Option<String>,
    /// What pod specs name (`hostFromContainerRuntime`, else `host`).
    pub pod_host: String,
    pub source: SourceReport,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SourceReport {
    Config {
        path: String,
        key: String,
    },
    Cluster {
        kube_context: String,
        server: String,
        kubeconfig: Vec<String>,
        /// `KUBECONFIG` or `~/.kube/config`.
        kubeconfig_from: String,
        config_map: String,
        key: String,
        ignored_keys: Vec<String>,
    },
}

/// Finds the local registry: the config key `local-registry` when set (the cluster is
/// not asked), else the ConfigMap of `kube_context` (or the current context).
pub async fn find(
    config: &Config,
    config_path: &Path,
    kube_context: Option<&str>,
    ui: &Ui,
) -> Result<Found, DiscoveryError> {
    if let Some(host) = &config.local_registry {
        if kube_context.is_some() {
            ui.warn(format!(
                "--kube-context is not used: {} in {} names the local registry",
                keys::LOCAL_REGISTRY,
                config_path.display()
            ));
        }
        check_pushable(host).map_err(|reason| DiscoveryError::ConfigKey {
            path: config_path.to_path_buf(),
            value: host.key(),
            reason,
        })?;
        return Ok(Found {
            host: host.clone(),
            runtime_host: None,
            cluster_host: None,
            help: None,
            source: Source::Config {
                path: config_path.to_path_buf(),
            },
        });
    }
    let (kubeconfig, context) = cluster::context(
        std::env::var_os(crate::env_vars::KUBECONFIG),
        dirs::home_dir(),
        kube_context,
    )?;
    ui.verbose(
        1,
        format!(
            "Asking {} for ConfigMap {} (kubeconfig {})",
            context.describe(),
            config_map_name(),
            cluster::files_text(&context.kubeconfig)
        ),
    );
    let data = cluster::read_config_map(kubeconfig, &context)
        .await?
        .ok_or_else(|| DiscoveryError::NoConfigMap {
            context: context.describe(),
        })?;
    let declared = hosting::parse(&data).map_err(|problem| DiscoveryError::Hosting {
        context: context.describe(),
        problem: Box::new(problem),
    })?;
    let Some(host) = declared.host.clone() else {
        let mut only: Vec<String> = Vec::new();
        if let Some(h) = &declared.host_from_container_runtime {
            only.push(format!("hostFromContainerRuntime '{}'", h.key()));
        }
        if let Some(h) = &declared.host_from_cluster_network {
            only.push(format!("hostFromClusterNetwork '{}'", h.key()));
        }
        return Err(DiscoveryError::NoHost {
            context: context.describe(),
            declared: if only.is_empty() {
                String::new()
            } else {
                format!(" (only {})", only.join(" and "))
            },
            help: declared.help,
        });
    };
    Ok(Found {
        host,
        runtime_host: declared.host_from_container_runtime,
        cluster_host: declared.host_from_cluster_network,
        help: declared.help,
        source: Source::Cluster {
            context,
            version: declared.version,
            newer_versions: declared.newer_versions,
        },
    })
}

/// A host image references can name: a single-label host without a port (`registry`)
/// would be read as a Docker Hub repository in `registry/app`.
fn check_pushable(host: &Registry) -> Result<(), String> {
    let key = host.key();
    if key.contains(['.', ':']) || host.host() == "localhost" {
        Ok(())
    } else {
        Err("a host without a port or a dot would name Docker Hub in image references".to_string())
    }
}

/// What `cnb build --local-registry` publishes, and the names to use from each side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildTarget {
    /// `<host>/<repository>:<tag>`: what the lifecycle publishes.
    pub image: ImageRef,
    /// The same image as pod specs name it.
    pub pod_image: String,
    /// The same image as tools inside the cluster push or pull it, when they can.
    pub cluster_image: Option<String>,
    /// The registry the given IMAGE named, which the local registry replaced.
    pub replaced: Option<Registry>,
    pub found: Found,
}

/// Whether `typed` names a registry (Docker's rule: a first component with `.` or `:`,
/// or `localhost`).
fn names_registry(typed: &str) -> bool {
    typed.split_once('/').is_some_and(|(first, _)| {
        first.contains(['.', ':']) || first.eq_ignore_ascii_case("localhost")
    })
}

impl BuildTarget {
    /// The IMAGE the user gave (`typed`, parsed as `image`) on the local registry: its
    /// repository as written (`app`, not Docker Hub's `library/app`), tag and digest kept.
    pub fn new(typed: &str, image: &ImageRef, found: Found) -> Result<BuildTarget, NameError> {
        let given_registry = names_registry(typed);
        let repository = match image.repository().strip_prefix("library/") {
            // `app` became `library/app` on Docker Hub; `docker.io/library/app` was typed so.
            Some(short) if !given_registry && !typed.contains('/') => short,
            _ => image.repository(),
        };
        let mut suffix = String::new();
        if let Some(tag) = image.tag() {
            suffix.push(':');
            suffix.push_str(tag);
        }
        if let Some(digest) = image.digest() {
            suffix.push('@');
            suffix.push_str(digest);
        }
        let on = |host: &Registry| format!("{}/{repository}{suffix}", host.key());
        let target = ImageRef::parse(&on(&found.host))?;
        let replaced =
            (given_registry && image.registry() != &found.host).then(|| image.registry().clone());
        Ok(BuildTarget {
            image: target,
            pod_image: on(found.pod_host()),
            cluster_image: found.cluster_host.as_ref().map(on),
            replaced,
            found,
        })
    }

    /// The `local_registry` object of the `--dry-run` plan.
    pub fn plan(&self) -> LocalRegistryPlan {
        LocalRegistryPlan {
            image: self.image.to_string(),
            pod_image: self.pod_image.clone(),
            cluster_image: self.cluster_image.clone(),
            replaced_registry: self.replaced.as_ref().map(ToString::to_string),
            registry: self.found.report(),
        }
    }

    /// The lines printed after a successful build: data for scripts (stdout).
    pub fn references(&self) -> Vec<String> {
        let mut lines = vec![format!("image for pod specs: {}", self.pod_image)];
        if let Some(cluster) = &self.cluster_image {
            lines.push(format!("image for in-cluster tools: {cluster}"));
        }
        lines
    }
}

/// The plan's `local_registry` (SPEC §7.11 shape, §10 fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalRegistryPlan {
    /// What is published (`<host>/<repository>:<tag>`).
    pub image: String,
    /// The reference for pod specs.
    pub pod_image: String,
    /// The reference for tools inside the cluster; `null` when they cannot reach it.
    pub cluster_image: Option<String>,
    /// The registry IMAGE named, replaced by the local registry.
    pub replaced_registry: Option<String>,
    /// What was found and from where (as `cnb local-registry --output json`).
    pub registry: Report,
}

impl LocalRegistryPlan {
    /// The plan's text lines.
    pub fn write_text(&self, out: &mut String) -> std::fmt::Result {
        use std::fmt::Write as _;
        writeln!(out, "Local registry: {}", self.registry.host)?;
        let source = match &self.registry.source {
            SourceReport::Config { path, key } => format!("{key} in {path}"),
            SourceReport::Cluster {
                kube_context,
                server,
                config_map,
                key,
                ..
            } => format!("{config_map} ({key}) of kube context '{kube_context}' ({server})"),
        };
        writeln!(out, "  from:         {source}")?;
        if let Some(replaced) = &self.replaced_registry {
            writeln!(out, "  replaces:     {replaced}")?;
        }
        writeln!(out, "  publish:      {}", self.image)?;
        writeln!(out, "  pod specs:    {}", self.pod_image)?;
        match &self.cluster_image {
            Some(image) => writeln!(out, "  in-cluster:   {image}")?,
            None => writeln!(
                out,
                "  in-cluster:   (not reachable from the cluster network)"
            )?,
        }
        Ok(())
    }
}

/// The local registry could not be used for publishing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cannot publish to the local registry {host} ({source_text}): {reason}{}{}",
    hint.as_ref().map(|h| format!("; {h}")).unwrap_or_default(),
    help_suffix(help.as_deref()))]
pub struct UnusableError {
    pub host: String,
    pub source_text: String,
    pub reason: String,
    /// How to allow the host (an insecure-registries entry).
    pub hint: Option<String>,
    pub help: Option<String>,
}

/// Asks the local registry for the target image's manifest with cnb's registry client
/// and the host's transport policy (SPEC §5), before anything is built: a registry that
/// answers (with the image or "not found") can take the push; one that refuses the
/// connection, does not answer, or speaks plain HTTP where TLS is required cannot, and
/// the error says so, with the command that allows plain HTTP for the host.
pub async fn check_reachable(
    settings: &RegistrySettings,
    target: &BuildTarget,
    ui: &Ui,
) -> Result<(), UnusableError> {
    // The image is pushed to the registry itself, never to a mirror of it.
    let direct = RegistrySettings {
        mirrors: Vec::new(),
        ..settings.clone()
    };
    let resolver = Resolver::new(direct, Platform::host_linux()).with_ui(ui.clone());
    let resolution = resolver.resolve(&target.image).await;
    let Some(original) = resolution.candidates.last() else {
        return Ok(());
    };
    match original.failure() {
        Some(
            failure @ (ProbeFailure::Refused
            | ProbeFailure::TimedOut { .. }
            | ProbeFailure::Tls { .. }),
        ) => Err(UnusableError {
            host: target.found.host.key(),
            source_text: target.found.source.describe(),
            reason: failure.to_string(),
            hint: original.hint(),
            help: target.found.help.clone(),
        }),
        _ => Ok(()),
    }
}

/// The contexts of the kubeconfig, for completing `--kube-context` (the current one
/// first). Nothing when there is no readable kubeconfig.
pub fn kube_context_candidates() -> Vec<clap_complete::CompletionCandidate> {
    let Ok((kubeconfig, _)) = cluster::load_kubeconfig(
        std::env::var_os(crate::env_vars::KUBECONFIG),
        dirs::home_dir(),
    ) else {
        return Vec::new();
    };
    let current = kubeconfig.current_context.clone();
    let mut names: Vec<String> = kubeconfig.contexts.iter().map(|c| c.name.clone()).collect();
    names.sort_by_key(|n| Some(n) != current.as_ref());
    names
        .into_iter()
        .map(|name| {
            let help = if Some(&name) == current.as_ref() {
                "current context"
            } else {
                "kube context"
            };
            clap_complete::CompletionCandidate::new(name).help(Some(help.into()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(host: &str, runtime: Option<&str>, cluster: Option<&str>) -> Found {
        Found {
            host: Registry::parse(host).unwrap(),
            runtime_host: runtime.map(|h| Registry::parse(h).unwrap()),
            cluster_host: cluster.map(|h| Registry::parse(h).unwrap()),
            help: None,
            source: Source::Config {
                path: PathBuf::from("/home/u/.config/cnb/config.toml"),
            },
        }
    }

    fn target(typed: &str, found: Found) -> BuildTarget {
        BuildTarget::new(typed, &ImageRef::parse(typed).unwrap(), found).unwrap()
    }

    #[test]
    fn a_short_name_keeps_its_repository_as_written() {
        let t = target(
            "app",
            found(
                "localhost:5001",
                Some("kind-registry:5000"),
                Some("registry.svc:5000"),
            ),
        );
        assert_eq!(t.image.to_string(), "localhost:5001/app:latest");
        assert_eq!(t.pod_image, "kind-registry:5000/app:latest");
        assert_eq!(
            t.cluster_image.as_deref(),
            Some("registry.svc:5000/app:latest")
        );
        assert_eq!(t.replaced, None);
        let t = target("team/app:v2", found("127.0.0.1:5000", None, None));
        assert_eq!(t.image.to_string(), "127.0.0.1:5000/team/app:v2");
        // hostFromContainerRuntime defaults to host; no cluster network, no reference.
        assert_eq!(t.pod_image, "127.0.0.1:5000/team/app:v2");
        assert_eq!(t.cluster_image, None);
        assert_eq!(
            t.references(),
            vec!["image for pod specs: 127.0.0.1:5000/team/app:v2"]
        );
    }

    #[test]
    fn a_given_registry_is_replaced_and_reported() {
        let t = target("quay.io/org/app:1", found("127.0.0.1:5000", None, None));
        assert_eq!(t.image.to_string(), "127.0.0.1:5000/org/app:1");
        assert_eq!(t.replaced, Some(Registry::parse("quay.io").unwrap()));
        let t = target("docker.io/library/app", found("127.0.0.1:5000", None, None));
        assert_eq!(t.image.to_string(), "127.0.0.1:5000/library/app:latest");
        assert_eq!(t.replaced, Some(Registry::docker_hub()));
        // Naming the local registry itself replaces nothing.
        let t = target("127.0.0.1:5000/app", found("127.0.0.1:5000", None, None));
        assert_eq!(t.replaced, None);
        let t = target("localhost/app", found("[::1]:5000", None, None));
        assert_eq!(t.image.to_string(), "[::1]:5000/app:latest");
        assert_eq!(t.replaced, Some(Registry::parse("localhost").unwrap()));
    }

    #[test]
    fn the_report_names_the_source_and_applies_the_defaults() {
        let mut f = found("127.0.0.1:5000", None, Some("r.svc:5000"));
        f.help = Some("https://example.test/help".into());
        let json = serde_json::to_value(f.report()).unwrap();
        assert_eq!(json["host"], "127.0.0.1:5000");
        assert_eq!(json["pod_host"], "127.0.0.1:5000");
        assert_eq!(json["host_from_container_runtime"], serde_json::Value::Null);
        assert_eq!(json["host_from_cluster_network"], "r.svc:5000");
        assert_eq!(json["source"]["type"], "config");
        assert_eq!(json["source"]["key"], "local-registry");
        let lines = f.render_text();
        assert!(
            lines[1].contains("not set: pod specs use host"),
            "{lines:?}"
        );
        assert!(lines[3].ends_with("https://example.test/help"), "{lines:?}");
        let pods = found("localhost:5001", Some("kind-registry:5000"), None);
        assert_eq!(pods.pod_host().key(), "kind-registry:5000");
    }

    #[test]
    fn the_plan_carries_the_references_and_the_report() {
        let plan = target("app", found("127.0.0.1:5000", None, Some("r.svc:5000"))).plan();
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["image"], "127.0.0.1:5000/app:latest");
        assert_eq!(json["pod_image"], "127.0.0.1:5000/app:latest");
        assert_eq!(json["cluster_image"], "r.svc:5000/app:latest");
        assert_eq!(json["replaced_registry"], serde_json::Value::Null);
        assert_eq!(json["registry"]["source"]["type"], "config");
        let mut text = String::new();
        plan.write_text(&mut text).unwrap();
        assert!(
            text.contains("  pod specs:    127.0.0.1:5000/app:latest"),
            "{text}"
        );
        assert!(
            text.contains("  in-cluster:   r.svc:5000/app:latest"),
            "{text}"
        );
    }

    #[test]
    fn single_label_hosts_cannot_be_pushed_to() {
        assert!(check_pushable(&Registry::parse("registry").unwrap()).is_err());
        for ok in ["registry:5000", "localhost", "reg.example", "127.0.0.1"] {
            assert!(
                check_pushable(&Registry::parse(ok).unwrap()).is_ok(),
                "{ok}"
            );
        }
    }

    #[test]
    fn errors_are_one_line_with_the_help_url() {
        let err = DiscoveryError::Hosting {
            context: "kube context 'k' (https://127.0.0.1:6443)".into(),
            problem: Box::new(HostingError::UnknownVersions {
                versions: vec![2],
                help: Some("https://example.test/v2".into()),
            }),
        };
        assert_eq!(
            err.to_string(),
            "no local registry: ConfigMap kube-public/local-registry-hosting of kube context 'k' \
             (https://127.0.0.1:6443) has only localRegistryHosting.v2, which this cnb does not \
             understand (it reads localRegistryHosting.v1); help: https://example.test/v2"
        );
        let err = DiscoveryError::NoHost {
            context: "kube context 'k' (https://127.0.0.1:6443)".into(),
            declared: " (only hostFromClusterNetwork 'r:5000')".into(),
            help: Some("https://example.test/h".into()),
        };
        let text = err.to_string();
        assert!(text.contains("declares no host for tools outside the cluster (only hostFromClusterNetwork 'r:5000')"), "{text}");
        assert!(text.ends_with("; help: https://example.test/h"), "{text}");
        assert!(!text.contains('\n'));
    }
}
