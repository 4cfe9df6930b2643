//! `cnb build`'s settings, resolved once (flag > env > config > default).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::corporate;
use crate::cli::{BuildArgs, GlobalArgs, OutputFormat};
use crate::config::{self, Config, PullPolicy};
use crate::error::UsageError;
use crate::lifecycle::LogLevel;
use crate::lifecycle::Volume;
use crate::project::Descriptor;
use crate::reference::ImageRef;
use crate::settings::RegistrySettings;
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
    /// `--lifecycle-image`: the image the lifecycle's own phases run from for an
    /// untrusted builder (else the default for the builder's lifecycle version).
    pub lifecycle_image: Option<ImageRef>,
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
    /// `--volume`s (SPEC §9).
    pub volumes: Vec<Volume>,
    /// The app's `project.toml` (or `--descriptor`), when there is one.
    pub descriptor: Option<Descriptor>,
}

impl BuildSettings {
    /// Reads the config file and merges the command line over it. Bad values are
    /// usage errors (exit status 2).
    pub fn from_args(global: &GlobalArgs, args: &BuildArgs, ui: &Ui) -> anyhow::Result<Self> {
        let location = config::locate(global.config.as_deref())?;
        let config = crate::commands::load_config(&location.path, ui)?.config;
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
        let image = args.image.value.clone();
        let app_dir = app_dir(args.path.as_deref())?;
        let descriptor = corporate::descriptor(&app_dir, args.descriptor.as_deref())?;
        let from_descriptor = descriptor.as_ref().and_then(|d| d.builder.as_deref());
        // pack's order: the flag, then the descriptor's builder, then the configured default.
        let builder = match (&args.builder, from_descriptor, &config.default_builder) {
            (Some(flag), _, _) => flag.clone(),
            (None, Some(named), _) => corporate::descriptor_builder(named, descriptor.as_ref())?,
            (None, None, Some(configured)) => configured.clone(),
            (None, None, None) => {
                return Err(UsageError(
                    "no builder given; pass one with -B <image> or set a default with \
                     `cnb config default-builder <image>`"
                        .to_string(),
                )
                .into());
            }
        };
        let pull_policy = args.pull_policy.or(config.pull_policy).unwrap_or_default();
        let platform_env =
            corporate::platform_env(descriptor.as_ref(), &args.env_files, &args.env, &env)?;
        let network = match args.network.as_deref().map(str::trim) {
            Some("") => {
                return Err(UsageError(
                    "--network needs a value such as host, bridge or none".to_string(),
                )
                .into());
            }
            other => other.map(str::to_string),
        };
        let registry = crate::commands::registry_settings(&args.registry, &config)?;
        Ok(BuildSettings {
            image,
            builder,
            run_image: args.run_image.clone(),
            app_dir,
            publish: args.publish,
            pull_policy,
            network,
            platform_env,
            registry,
            lifecycle_image: args.lifecycle_image.clone(),
            trust_builder: args.trust_builder,
            clear_cache: args.clear_cache,
            docker_host: args.docker_host.clone(),
            dry_run: args.dry_run,
            output: args.output,
            log_level: LogLevel::from_verbosity(ui.verbosity(), ui.is_quiet()),
            config,
            local_registry: None,
            volumes: args.volumes.clone(),
            descriptor,
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    /// `cnb build <args>` as parsed by the real CLI definition.
    fn build_args(args: &[&str]) -> BuildArgs {
        let cli = Cli::try_parse_from(["cnb", "build"].iter().chain(args)).unwrap();
        match cli.command {
            Command::Build(args) => *args,
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
    fn the_descriptors_builder_is_below_the_flag_and_above_the_default() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("project.toml"),
            "[_]\nschema-version = \"0.2\"\n[io.buildpacks]\nbuilder = \"reg.example/project\"\n",
        )
        .unwrap();
        let app = dir.path().to_str().unwrap();
        let cfg = config("default-builder-image = \"reg.example/default\"\n");
        let with = |args: &[&str]| {
            let mut all = vec!["app", "-p", app];
            all.extend_from_slice(args);
            BuildSettings::merge(cfg.clone(), &build_args(&all), &Ui::plain(), |_| None)
        };
        assert_eq!(
            with(&[]).unwrap().builder.key(),
            "reg.example/project:latest"
        );
        assert_eq!(
            with(&["-B", "reg.example/flag"]).unwrap().builder.key(),
            "reg.example/flag:latest"
        );
        // Another descriptor without a builder: the configured default.
        let other = dir.path().join("other.toml");
        std::fs::write(&other, "[build]\n").unwrap();
        let s = with(&["-d", other.to_str().unwrap()]).unwrap();
        assert_eq!(s.builder.key(), "reg.example/default:latest");
        assert_eq!(s.descriptor.unwrap().schema, "0.1");
        let err = with(&["-d", "/nonexistent/project.toml"]).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 2, "{err}");
    }

    #[test]
    fn env_values_and_log_level() {
        let args = build_args(&["app", "-B", "b", "-e", "A=1", "-e", "FROM_ENV", "-v"]);
        let ui = Ui::new(crate::ui::OutputOptions {
            verbosity: 1,
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
}
