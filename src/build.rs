//! `cnb build` orchestration (SPEC §6, §7): settings -> resolution -> images in the
//! daemon -> builder metadata -> the lifecycle container -> exit status.
//!
//! The steps, in order:
//! 1. settings resolved once ([`BuildSettings::from_args`]): flag > env > config > default;
//!    trust is checked right away, so an untrusted builder costs nothing;
//! 2. the Docker daemon (also for `--dry-run`: its architecture picks the platform, and
//!    its copy of the builder may be read);
//! 3. the builder: pulled through mirrors by the pull policy ([`Daemon::fetch`]); with
//!    `--dry-run` nothing is pulled and the builder's config is read from the daemon
//!    when the policy allows using its copy, else from the chosen fetch location with
//!    cnb's registry client ([`remote_image_info`]);
//! 4. metadata and platform API ([`crate::lifecycle`]);
//! 5. the run image (§6): candidates in order, the first readable one chosen
//!    ([`select_run_image`]), then fetched into the daemon in daemon mode;
//! 6. the creator container's spec, network and warnings;
//! 7. `--clear-cache`, the run, and the lifecycle's exit status as cnb's.
//!
//! The pure decisions (metadata, order, trust, the container spec, the plan) live in
//! [`crate::lifecycle`]; this module gathers the facts they need.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;

use crate::cli::{BuildArgs, GlobalArgs, OutputFormat};
use crate::config::{self, Config};
use crate::credentials::{self, Credential};
use crate::docker::{Daemon, ImageInfo};
use crate::error::{ExitStatus, UsageError};
use crate::lifecycle::{
    self, BuilderMetadata, CreatorInputs, LogLevel, Plan, PlanFacts, Readability, RunImageSelection,
};
use crate::reference::{ImageRef, InsecureEntry, Mirror, Registry};
use crate::registry::{Platform, Resolution, Resolver};
use crate::settings::{PullPolicy, RegistrySettings};
use crate::ui::Ui;

/// Everything `cnb build` was asked to do, resolved once (flag > env > config > default).
#[derive(Debug, Clone)]
pub struct BuildSettings {
    /// The image to build.
    pub image: ImageRef,
    pub builder: ImageRef,
    /// `--run-image`: the only candidate when given.
    pub run_image: Option<ImageRef>,
    /// The app directory, absolute.
    pub app_dir: PathBuf,
    pub publish: bool,
    pub pull_policy: PullPolicy,
    /// `--network`; `None` lets the lifecycle rule choose.
    pub network: Option<String>,
    /// The user's `--env` values, written under `/platform/env/`.
    pub platform_env: BTreeMap<String, String>,
    pub registry: RegistrySettings,
    /// `--trust-builder`.
    pub trust_builder: bool,
    pub clear_cache: bool,
    pub docker_host: Option<String>,
    pub dry_run: bool,
    pub output: OutputFormat,
    pub log_level: LogLevel,
    /// The config file as read (run-image mirrors, trusted builders).
    pub config: Config,
    /// `--local-registry`: where `image` points and the names to print (set by
    /// [`crate::local_registry`] before the build; `None` otherwise).
    pub local_registry: Option<crate::local_registry::BuildTarget>,
}

impl BuildSettings {
    /// Reads the config file and merges the command line over it. Bad values are
    /// usage errors (exit status 2).
    pub fn from_args(global: &GlobalArgs, args: &BuildArgs, ui: &Ui) -> anyhow::Result<Self> {
        let location = config::locate(global.config.as_deref())?;
        let config = Config::load(&location.path)?;
        ui.verbose(
            2,
            format!(
                "config file: {} (from {})",
                location.path.display(),
                location.source
            ),
        );
        Self::merge(config, args, ui, |name| std::env::var(name).ok())
    }

    /// [`BuildSettings::from_args`] without the file system: `env` looks up `--env K` values.
    pub fn merge(
        config: Config,
        args: &BuildArgs,
        ui: &Ui,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let image = ImageRef::parse(&args.image)?;
        let builder = match (&args.builder, &config.default_builder) {
            (Some(flag), _) => ImageRef::parse(flag)?,
            (None, Some(configured)) => configured.clone(),
            (None, None) => {
                return Err(UsageError(
                    "no builder given; pass one with -B <image> or set a default with \
                     `cnb config default-builder <image>`"
                        .to_string(),
                )
                .into());
            }
        };
        let run_image = args.run_image.as_deref().map(ImageRef::parse).transpose()?;
        let pull_policy = args
            .pull_policy
            .map(PullPolicy::from)
            .or(config.pull_policy)
            .unwrap_or_default();
        let app_dir = app_dir(args.path.as_deref())?;
        let platform_env = lifecycle::parse_user_env(&args.env, env)?;
        let network = match args.network.as_deref().map(str::trim) {
            Some("") => {
                return Err(UsageError(
                    "--network needs a value such as host, bridge or none".to_string(),
                )
                .into());
            }
            other => other.map(str::to_string),
        };
        let registry = RegistrySettings::resolve(&config, &args.registry)?;
        Ok(BuildSettings {
            image,
            builder,
            run_image,
            app_dir,
            publish: args.publish,
            pull_policy,
            network,
            platform_env,
            registry,
            trust_builder: args.trust_builder,
            clear_cache: args.clear_cache,
            docker_host: args.docker_host.clone(),
            dry_run: args.dry_run,
            output: args.output,
            log_level: LogLevel::from_verbosity(ui.verbosity(), ui.is_quiet()),
            config,
            local_registry: None,
        })
    }
}

/// The app directory: `--path`, else the current directory; it must be a directory.
fn app_dir(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    let dir = match flag {
        Some(path) => path.to_path_buf(),
        None => std::env::current_dir().context("could not read the current directory")?,
    };
    match std::fs::metadata(&dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(UsageError(format!(
                "app path '{}' is not a directory; pass the app's directory with -p",
                dir.display()
            ))
            .into());
        }
        Err(err) => {
            return Err(UsageError(format!(
                "app directory '{}' cannot be read ({err}); pass an existing directory with -p",
                dir.display()
            ))
            .into());
        }
    }
    std::fs::canonicalize(&dir)
        .with_context(|| format!("could not resolve the app directory '{}'", dir.display()))
}

/// What cnb found out about one run-image candidate (SPEC §6.4).
#[derive(Debug, Clone)]
pub enum CandidateCheck {
    /// The daemon has it and the pull policy allows using its copy.
    InDaemon,
    /// Resolvable through registry mirrors (or the original registry).
    Resolvable(Arc<Resolution>),
    /// Not readable; the reason is shown to the user.
    Unreadable(String),
}

impl CandidateCheck {
    pub fn is_readable(&self) -> bool {
        !matches!(self, CandidateCheck::Unreadable(_))
    }

    /// The lifecycle module's view of it.
    pub fn readability(&self) -> Readability {
        match self {
            CandidateCheck::Unreadable(reason) => Readability::Unreadable(reason.clone()),
            _ => Readability::Readable,
        }
    }

    /// Where the content would come from: the resolution's chosen location.
    pub fn fetch(&self) -> Option<&ImageRef> {
        match self {
            CandidateCheck::Resolvable(resolution) => resolution.chosen().map(|c| &c.location),
            _ => None,
        }
    }
}

/// Why a resolution chose nothing: each candidate with its reason.
fn unresolvable(resolution: &Resolution) -> String {
    match resolution.error() {
        Some(err) => err
            .failures
            .iter()
            .map(|(location, reason)| format!("{location}: {reason}"))
            .collect::<Vec<_>>()
            .join("; "),
        None => "resolved".to_string(),
    }
}

/// Readability of one run-image candidate. With `--publish` it must resolve; in daemon
/// mode the daemon's copy also counts when the pull policy allows using it.
async fn check_candidate(
    daemon: &Daemon,
    resolver: &Resolver,
    image: &ImageRef,
    publish: bool,
    policy: PullPolicy,
) -> CandidateCheck {
    if !publish && policy != PullPolicy::Always {
        match daemon.image_info(&image.to_string()).await {
            Ok(Some(_)) => return CandidateCheck::InDaemon,
            Ok(None) if policy == PullPolicy::Never => {
                return CandidateCheck::Unreadable(
                    "not in the daemon and the pull policy is never".to_string(),
                );
            }
            Ok(None) => {}
            Err(err) => return CandidateCheck::Unreadable(err.to_string()),
        }
    }
    let resolution = resolver.resolve(image).await;
    if resolution.chosen().is_some() {
        CandidateCheck::Resolvable(resolution)
    } else {
        CandidateCheck::Unreadable(unresolvable(&resolution))
    }
}

/// Checks the candidates concurrently and takes the first readable one in order; later
/// candidates are not waited for once an earlier one is known to be readable. Returns
/// the checks in order, up to and including the first readable one.
pub async fn select_run_image(
    daemon: &Daemon,
    resolver: &Resolver,
    candidates: &[ImageRef],
    publish: bool,
    policy: PullPolicy,
) -> Vec<CandidateCheck> {
    let mut checks: FuturesOrdered<_> = candidates
        .iter()
        .map(|image| check_candidate(daemon, resolver, image, publish, policy))
        .collect();
    let mut results = Vec::new();
    while let Some(check) = checks.next().await {
        let readable = check.is_readable();
        results.push(check);
        if readable {
            break;
        }
    }
    results
}

/// Reads an image's config from its fetch location with cnb's registry client, without
/// pulling layers (what `--dry-run` uses when the daemon's copy may not be used).
pub async fn remote_image_info(
    resolver: &Resolver,
    location: &ImageRef,
) -> anyhow::Result<ImageInfo> {
    let (client, auth) = resolver.client_for(location.registry()).await?;
    let reference = crate::registry::oci_reference(location);
    let (_manifest, digest, config) = client
        .pull_manifest_and_config(&reference, &auth)
        .await
        .with_context(|| format!("could not read the image config of {location}"))?;
    image_info_from_config(&config, digest)
        .with_context(|| format!("the image config of {location} is not valid JSON"))
}

/// The parts of an OCI/Docker image config cnb reads (labels, env, user).
fn image_info_from_config(config: &str, id: String) -> Result<ImageInfo, serde_json::Error> {
    #[derive(serde::Deserialize, Default)]
    struct ImageConfig {
        #[serde(default)]
        config: Option<Inner>,
    }
    #[derive(serde::Deserialize, Default)]
    struct Inner {
        #[serde(rename = "Labels", default)]
        labels: Option<HashMap<String, String>>,
        #[serde(rename = "Env", default)]
        env: Option<Vec<String>>,
        #[serde(rename = "User", default)]
        user: Option<String>,
    }
    let parsed: ImageConfig = serde_json::from_str(config)?;
    let inner = parsed.config.unwrap_or_default();
    Ok(ImageInfo {
        id,
        labels: inner.labels.unwrap_or_default(),
        env: inner.env.unwrap_or_default(),
        user: inner.user.filter(|u| !u.is_empty()),
        repo_tags: Vec::new(),
    })
}

/// Maps the lifecycle container's exit status to cnb's.
pub fn exit_status(code: i64) -> anyhow::Result<ExitCode> {
    if code == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    let passed = u8::try_from(code).ok().filter(|c| *c != 0).unwrap_or(1);
    Err(ExitStatus {
        code: passed,
        message: format!("the lifecycle failed with exit status {code}"),
    }
    .into())
}

/// How the builder image is (or, with `--dry-run`, would be) obtained.
#[derive(Debug, Clone)]
pub struct BuilderImage {
    pub name: ImageRef,
    /// Where its content comes from; `None` when the daemon's copy is used.
    pub fetch: Option<ImageRef>,
    pub info: ImageInfo,
    pub resolution: Option<Arc<Resolution>>,
}

/// Gets the builder into the daemon (or, for `--dry-run`, reads its config without pulling).
async fn builder_image(
    daemon: &Daemon,
    resolver: &Resolver,
    settings: &BuildSettings,
    ui: &Ui,
) -> anyhow::Result<BuilderImage> {
    let name = settings.builder.clone();
    if !settings.dry_run {
        // Probing mirrors can take up to the registry timeout: say so first.
        let present = settings.pull_policy != PullPolicy::Always
            && daemon.image_info(&name.to_string()).await?.is_some();
        if !present && settings.pull_policy != PullPolicy::Never {
            ui.status(format!("Resolving builder {name}"));
        }
        let fetched = daemon
            .fetch(resolver, &name, settings.pull_policy, ui)
            .await
            .with_context(|| format!("could not get the builder {name}"))?;
        let info = daemon
            .image_info(&name.to_string())
            .await?
            .with_context(|| {
                format!("the builder {name} is not in the daemon after fetching it")
            })?;
        let resolution = match fetched.location {
            Some(_) => Some(resolver.resolve(&name).await),
            None => None,
        };
        return Ok(BuilderImage {
            name,
            fetch: fetched.location,
            info,
            resolution,
        });
    }
    // Dry run: the daemon's copy when the policy would use it, else the registry's config.
    if settings.pull_policy != PullPolicy::Always {
        if let Some(info) = daemon.image_info(&name.to_string()).await? {
            return Ok(BuilderImage {
                name,
                fetch: None,
                info,
                resolution: None,
            });
        }
        if settings.pull_policy == PullPolicy::Never {
            anyhow::bail!(
                "the builder {name} is not in the daemon and the pull policy is never; \
                 pull it first or pass --pull-policy if-not-present"
            );
        }
    }
    ui.status(format!("Resolving builder {name}"));
    let resolution = resolver.resolve(&name).await;
    if let Some(err) = resolution.error() {
        return Err(anyhow::Error::new(err).context(format!("could not get the builder {name}")));
    }
    let location = resolution
        .chosen()
        .map(|c| c.location.clone())
        .unwrap_or_else(|| name.clone());
    let info = remote_image_info(resolver, &location).await?;
    Ok(BuilderImage {
        name,
        fetch: Some(location),
        info,
        resolution: Some(resolution),
    })
}

/// The run image chosen by §6, with every candidate's outcome.
#[derive(Debug, Clone)]
pub struct RunImageChoice {
    pub selection: RunImageSelection,
    pub chosen: ImageRef,
    /// Where its content comes from: the resolution's location, or the name itself when
    /// the daemon's copy is used.
    pub fetch: ImageRef,
    /// The chosen image's resolution, when it was resolved.
    pub resolution: Option<Arc<Resolution>>,
}

/// Picks the run image (§6.1–6.4) and, in daemon mode without `--dry-run`, gets it into
/// the daemon (§6.5).
async fn run_image(
    daemon: &Daemon,
    resolver: &Resolver,
    settings: &BuildSettings,
    metadata: &BuilderMetadata,
    ui: &Ui,
) -> anyhow::Result<RunImageChoice> {
    let target = lifecycle::target_registry(&settings.image, &settings.builder, settings.publish);
    let user_mirrors = settings
        .config
        .run_image_mirrors_for(&metadata.run_image.image);
    let order = lifecycle::run_image_order(
        settings.run_image.as_ref(),
        &metadata.run_image,
        user_mirrors,
        &target,
    );
    let images: Vec<ImageRef> = order.candidates.iter().map(|c| c.image.clone()).collect();
    match images.as_slice() {
        [only] => ui.status(format!("Checking run image {only}")),
        many => ui.status(format!(
            "Checking {} run image candidates in order: {}",
            many.len(),
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
    let checks = select_run_image(
        daemon,
        resolver,
        &images,
        settings.publish,
        settings.pull_policy,
    )
    .await;
    let readability: Vec<Readability> = checks.iter().map(CandidateCheck::readability).collect();
    let selection = order.select(&readability)?;
    let chosen = selection.chosen().image.clone();
    let check = checks.last().cloned().unwrap_or(CandidateCheck::InDaemon);
    let resolution = match &check {
        CandidateCheck::Resolvable(resolution) => Some(resolution.clone()),
        _ => None,
    };
    let mut fetch = check.fetch().cloned().unwrap_or_else(|| chosen.clone());
    for (candidate, reason) in selection.passed_over() {
        ui.warn(format!(
            "run image candidate {} passed over: {reason}",
            candidate.image
        ));
    }
    ui.status(selection.summary());
    if !settings.publish && !settings.dry_run {
        let fetched = daemon
            .fetch(resolver, &chosen, settings.pull_policy, ui)
            .await
            .with_context(|| format!("could not get the run image {chosen}"))?;
        if let Some(location) = fetched.location {
            fetch = location;
        }
    }
    Ok(RunImageChoice {
        selection,
        chosen,
        fetch,
        resolution,
    })
}

/// The mirror each resolution chose, keyed by the resolved image's registry.
fn chosen_mirrors<'a>(
    resolutions: impl IntoIterator<Item = &'a Arc<Resolution>>,
) -> Vec<(Registry, Mirror)> {
    let mut out: Vec<(Registry, Mirror)> = Vec::new();
    for resolution in resolutions {
        let Some(mirror) = resolution.chosen().and_then(|c| c.mirror.clone()) else {
            continue;
        };
        let registry = resolution.image.registry().clone();
        if !out.iter().any(|(r, _)| *r == registry) {
            out.push((registry, mirror));
        }
    }
    out
}

/// What cnb needs to know about the registries the lifecycle will reach: their addresses
/// (looked up only when a CIDR entry needs them, so a build whose insecure entries are all
/// hosts sends no DNS query of its own) and, with `--publish`, their credentials.
async fn reach(
    settings: &BuildSettings,
    registries: &[Registry],
) -> anyhow::Result<(HashMap<String, Vec<IpAddr>>, BTreeMap<Registry, Credential>)> {
    let mut resolved: HashMap<String, Vec<IpAddr>> = HashMap::new();
    let mut credentials: BTreeMap<Registry, Credential> = BTreeMap::new();
    let has_cidr = settings
        .registry
        .insecure
        .iter()
        .any(|entry| matches!(entry, InsecureEntry::Cidr(_)));
    for registry in registries {
        if has_cidr && registry.ip().is_none() && !resolved.contains_key(registry.host()) {
            let ips = crate::registry::policy::resolve_host(registry).await;
            resolved.insert(registry.host().to_string(), ips);
        }
        if settings.publish {
            let found = credentials::lookup(registry)
                .with_context(|| format!("could not read the credentials for {registry}"))?;
            if let Some(credential) = found {
                credentials.insert(registry.clone(), credential);
            }
        }
    }
    Ok((resolved, credentials))
}

/// Runs `cnb build` with resolved settings.
pub async fn build(settings: BuildSettings, ui: &Ui) -> anyhow::Result<ExitCode> {
    let trust = lifecycle::check_trust(
        &settings.builder,
        &settings.config.trusted_builders,
        settings.trust_builder,
    )?;
    ui.verbose(
        1,
        format!("Builder {}: {}", settings.builder, trust.describe()),
    );

    let daemon = Daemon::connect(settings.docker_host.as_deref()).await?;
    ui.verbose(1, format!("Docker daemon: {}", daemon.address()));
    let docker_socket = match daemon.socket_path() {
        Some(path) => path.to_string(),
        None if settings.publish => String::new(),
        None => anyhow::bail!(
            "the Docker daemon at {} is not a Unix socket, so the lifecycle cannot be given \
             access to it; use a unix:// --docker-host or build with --publish",
            daemon.address()
        ),
    };
    let docker_api_version = daemon.older_api_version();
    let platform = Platform {
        os: "linux".to_string(),
        architecture: daemon.architecture().await?,
        variant: None,
    };
    // The resolver reports each choice once ("Using mirror ..."), also for images the
    // Docker module then pulls.
    let resolver = Resolver::new(settings.registry.clone(), platform).with_ui(ui.clone());

    // Builder and its metadata.
    let builder = builder_image(&daemon, &resolver, &settings, ui).await?;
    let metadata =
        BuilderMetadata::from_image(&builder.name, &builder.info.labels, &builder.info.env)?;
    let platform_api = metadata.negotiate_platform_api()?;
    ui.verbose(1, format!("Platform API {platform_api}"));

    // Run image.
    let run = run_image(&daemon, &resolver, &settings, &metadata, ui).await?;

    // What the lifecycle will reach: names resolved, credentials looked up.
    let mirrors = chosen_mirrors(run.resolution.iter().chain(builder.resolution.iter()));
    let registries = lifecycle::lifecycle_registries(
        &settings.image,
        &run.chosen,
        &run.fetch,
        settings.publish,
        &mirrors,
    );
    let (resolved, credentials) = reach(&settings, &registries).await?;
    let creator = lifecycle::creator_spec(&CreatorInputs {
        output: &settings.image,
        builder: &metadata,
        platform_api,
        run_image: &run.chosen,
        run_image_fetch: &run.fetch,
        publish: settings.publish,
        log_level: settings.log_level,
        insecure: &settings.registry.insecure,
        resolved: &resolved,
        chosen_mirrors: &mirrors,
        credentials: &credentials,
        platform_env: settings.platform_env.clone(),
        network: settings.network.as_deref(),
        docker_socket: &docker_socket,
        docker_api_version: docker_api_version.as_deref(),
        run_image_given: settings.run_image.is_some(),
        app_dir: &settings.app_dir,
    });

    let text_plan = settings.dry_run && settings.output == OutputFormat::Text;
    if !text_plan {
        for warning in metadata.warnings.iter().chain(&creator.warnings) {
            ui.warn(warning);
        }
    }
    if let (Some(network), Some(reason)) = (&creator.spec.network, &creator.network_reason) {
        ui.status(format!("Using --network {network} because {reason}"));
    }
    ui.verbose(
        2,
        format!(
            "lifecycle container: {} as {}; env: {:?}",
            creator.spec.command.join(" "),
            creator.spec.user,
            creator.spec.redacted_env()
        ),
    );

    if settings.dry_run {
        let builder_fetch = builder
            .fetch
            .clone()
            .unwrap_or_else(|| builder.name.clone());
        let mut plan = Plan::new(&PlanFacts {
            output: &settings.image,
            builder: &metadata,
            builder_fetch: &builder_fetch,
            trust: Some(&trust),
            selection: &run.selection,
            run_image_fetch: &run.fetch,
            creator: &creator,
        });
        plan.local_registry = settings.local_registry.as_ref().map(|t| t.plan());
        match settings.output {
            OutputFormat::Json => ui.data(plan.to_json()),
            OutputFormat::Text => ui.data(plan.render_text().trim_end()),
        }
        return Ok(ExitCode::SUCCESS);
    }

    for (volume, _) in &creator.spec.volumes {
        if settings.clear_cache {
            ui.verbose(1, format!("Clearing cache volume {volume}"));
            daemon.clear_volume(volume).await?;
        } else {
            daemon.ensure_volume(volume).await?;
        }
    }
    ui.status(format!(
        "Running the lifecycle of {} (platform API {platform_api})",
        builder.name
    ));
    let code = daemon.run(&creator.spec, ui).await?;
    exit_status(code)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    /// `cnb build <args>` as parsed by the real CLI definition.
    fn build_args(args: &[&str]) -> BuildArgs {
        let cli = Cli::try_parse_from(["cnb", "build"].iter().chain(args)).unwrap();
        match cli.command {
            Command::Build(args) => args,
            _ => unreachable!(),
        }
    }

    fn config(text: &str) -> Config {
        Config::parse(text, Path::new("config.toml")).unwrap()
    }

    fn merge(config: Config, args: &[&str]) -> anyhow::Result<BuildSettings> {
        let dir = std::env::temp_dir();
        let mut all = vec!["-p", dir.to_str().unwrap()];
        all.extend_from_slice(args);
        BuildSettings::merge(config, &build_args(&all), &Ui::plain(), |_| None)
    }

    #[test]
    fn builder_flag_beats_the_default_builder() {
        let cfg = config("default-builder-image = \"reg.example/default\"\n");
        let s = merge(cfg.clone(), &["app", "-B", "reg.example/flag"]).unwrap();
        assert_eq!(s.builder.key(), "reg.example/flag:latest");
        let s = merge(cfg, &["app"]).unwrap();
        assert_eq!(s.builder.key(), "reg.example/default:latest");
    }

    #[test]
    fn no_builder_is_a_usage_error_naming_both_fixes() {
        let err = merge(Config::default(), &["app"]).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 2);
        let text = err.to_string();
        assert!(text.contains("-B <image>"), "{text}");
        assert!(
            text.contains("cnb config default-builder <image>"),
            "{text}"
        );
    }

    #[test]
    fn pull_policy_flag_then_config_then_always() {
        let cfg = config("pull-policy = \"never\"\n");
        let s = merge(
            cfg.clone(),
            &["app", "-B", "b", "--pull-policy", "if-not-present"],
        );
        assert_eq!(s.unwrap().pull_policy, PullPolicy::IfNotPresent);
        assert_eq!(
            merge(cfg, &["app", "-B", "b"]).unwrap().pull_policy,
            PullPolicy::Never
        );
        assert_eq!(
            merge(Config::default(), &["app", "-B", "b"])
                .unwrap()
                .pull_policy,
            PullPolicy::Always
        );
    }

    #[test]
    fn bad_input_is_a_usage_error() {
        for args in [
            &["app", "-B", "b", "--network", " "][..],
            &["app", "-B", "b", "-e", "1BAD=x"][..],
            &["UPPER/case", "-B", "b"][..],
            &[
                "app",
                "-B",
                "b",
                "--registry-mirror",
                "reg.example=https://",
            ][..],
        ] {
            let err = merge(Config::default(), args).unwrap_err();
            assert_eq!(crate::error::exit_code(&err), 2, "{args:?}: {err}");
        }
        let file = tempfile::NamedTempFile::new().unwrap();
        let args = build_args(&["app", "-B", "b", "-p", file.path().to_str().unwrap()]);
        let err =
            BuildSettings::merge(Config::default(), &args, &Ui::plain(), |_| None).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 2);
        assert!(err.to_string().contains("is not a directory"), "{err}");
    }

    #[test]
    fn env_values_and_log_level() {
        let args = build_args(&["app", "-B", "b", "-e", "A=1", "-e", "FROM_ENV", "-v"]);
        let ui = Ui::new(&GlobalArgs {
            config: None,
            verbose: 1,
            quiet: false,
            no_color: true,
        });
        let s = BuildSettings::merge(Config::default(), &args, &ui, |name| {
            (name == "FROM_ENV").then(|| "yes".to_string())
        })
        .unwrap();
        assert_eq!(s.platform_env["A"], "1");
        assert_eq!(s.platform_env["FROM_ENV"], "yes");
        assert_eq!(s.log_level, LogLevel::Debug);
    }

    #[test]
    fn exit_status_passes_the_lifecycle_code_through() {
        assert!(exit_status(0).is_ok());
        let err = exit_status(7).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 7);
        let err = exit_status(-1).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 1);
        let err = exit_status(256).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 1);
    }

    #[test]
    fn image_config_labels_env_and_user() {
        let config = r#"{"architecture":"amd64","config":{"Labels":{"a":"b"},
            "Env":["CNB_USER_ID=1000"],"User":"1000:1001"}}"#;
        let info = image_info_from_config(config, "sha256:x".into()).unwrap();
        assert_eq!(info.labels["a"], "b");
        assert_eq!(info.env, vec!["CNB_USER_ID=1000".to_string()]);
        assert_eq!(info.user.as_deref(), Some("1000:1001"));
        let empty = image_info_from_config(r#"{"config":{}}"#, String::new()).unwrap();
        assert!(empty.labels.is_empty());
        assert!(image_info_from_config("not json", String::new()).is_err());
    }

    #[test]
    fn one_chosen_mirror_per_registry() {
        use crate::registry::{Candidate, CandidateStatus};
        let image = ImageRef::parse("127.0.0.1:5000/run:1").unwrap();
        let mirror = Mirror::parse("http://127.0.0.1:6000").unwrap();
        let candidate = |mirror: Option<Mirror>, status| Candidate {
            location: image.clone(),
            mirror,
            status,
            millis: Some(1),
        };
        let through_mirror = Arc::new(Resolution {
            image: image.clone(),
            candidates: vec![
                candidate(Some(mirror.clone()), CandidateStatus::Chosen),
                candidate(None, CandidateStatus::Unused),
            ],
            digest: None,
        });
        let original = Arc::new(Resolution {
            image: ImageRef::parse("docker.io/library/busybox").unwrap(),
            candidates: vec![candidate(None, CandidateStatus::Chosen)],
            digest: None,
        });
        let mirrors = chosen_mirrors([&through_mirror, &original, &through_mirror]);
        assert_eq!(mirrors, vec![(image.registry().clone(), mirror)]);
    }
}
