//! The command-line definition: clap derive types only, no logic.
//!
//! Doc comments here are the `--help` text. Values that need validation beyond
//! an enum (references, registries, mirrors, CIDRs, the probe timeout) are parsed
//! by the value parsers in [`values`], so commands receive cnb's types; a bad value
//! is refused with cnb's own message and exit status 2 (see [`crate::app`]).

// The doc comments below are written for the terminal (`[:port]`, `<name>`), not as
// rustdoc markup.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCandidates;

use crate::completion;
use crate::config::{CaFile, PullPolicy};
use crate::lifecycle::Volume;
use crate::reference::{Given, ImageRef, InsecureEntry, Mirror, MirrorFlag, MirrorKey, Registry};

pub mod values;

pub use values::{lenient_command, no_color_in, refused_value};

/// Build app images with Cloud Native Buildpacks, through registry mirrors you control.
#[derive(Debug, Parser)]
#[command(name = "cnb", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted by every command.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Use this config file instead of the default location
    #[arg(long, global = true, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub config: Option<PathBuf>,

    /// Print more detail (repeat for even more: -vv)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Print only data and errors
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Never use colour (also when NO_COLOR is set)
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Build an app image from source with a builder's lifecycle
    Build(Box<BuildArgs>),
    /// Show and change cnb's configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Show where cnb would fetch images from, and why
    Resolve(ResolveArgs),
    /// Show the registry your dev cluster declares (KEP-1755), and where it was found
    LocalRegistry(LocalRegistryArgs),
    /// Print a shell completion script to stdout
    Completion(CompletionArgs),
}

/// How `list` and `resolve` print their results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text
    #[default]
    Text,
    /// JSON, with the shapes documented in docs/configuration.md
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct OutputArg {
    /// Output format
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

// Per-invocation registry settings shared by `build` and `resolve`. A plain comment:
// with deferred subcommands a doc comment here would become their `about` text.
#[derive(Debug, Clone, Default, Args)]
pub struct RegistryArgs {
    /// Use MIRROR for REGISTRY in this run, ahead of configured mirrors (repeatable)
    #[arg(long = "registry-mirror", value_name = "REGISTRY=MIRROR", value_parser = values::registry_mirror)]
    pub registry_mirrors: Vec<MirrorFlag>,

    /// Allow plain HTTP and unverified TLS for this host, host:port or CIDR in this run (repeatable)
    #[arg(long = "insecure-registry", value_name = "HOST", value_parser = values::insecure_entry)]
    pub insecure_registries: Vec<InsecureEntry>,

    /// Seconds to wait for a registry candidate before moving on [default: 3]
    #[arg(long, value_name = "SECS", value_parser = values::registry_timeout)]
    pub registry_timeout: Option<Duration>,

    /// Verify REGISTRY against the system roots plus the CA certificates in PEM-FILE in this
    /// run (repeatable)
    #[arg(long = "registry-ca", value_name = "REGISTRY=PEM-FILE", value_parser = values::registry_ca)]
    pub registry_cas: Vec<CaFile>,
}

#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    /// Name of the image to build
    #[arg(value_name = "IMAGE", value_parser = values::given_image)]
    pub image: Given<ImageRef>,

    /// Builder image (default: the configured default-builder)
    #[arg(short = 'B', long, value_name = "IMAGE", value_parser = values::image, add = ArgValueCandidates::new(completion::configured_builders))]
    pub builder: Option<ImageRef>,

    /// App directory [default: current directory]
    #[arg(short, long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub path: Option<PathBuf>,

    /// Use this run image instead of the builder's
    #[arg(long, value_name = "IMAGE", value_parser = values::image)]
    pub run_image: Option<ImageRef>,

    /// Publish the image to its registry instead of the Docker daemon
    #[arg(long)]
    pub publish: bool,

    /// Publish to the registry the kube context's cluster declares (KEP-1755; see `cnb local-registry`)
    #[arg(long)]
    pub local_registry: bool,

    /// Kube context whose cluster's registry --local-registry uses [default: the current context]
    #[arg(long, value_name = "NAME", requires = "local_registry", add = ArgValueCandidates::new(crate::local_registry::kube_context_candidates))]
    pub kube_context: Option<String>,

    /// When to pull the builder and run images [default: configured, else always]
    #[arg(long, value_enum)]
    pub pull_policy: Option<PullPolicy>,

    /// Network for the lifecycle container [default: host when a registry is on loopback]
    #[arg(long, value_name = "MODE")]
    pub network: Option<String>,

    /// Build-time environment variable K=V, or K to take its value from the environment (repeatable)
    #[arg(short, long = "env", value_name = "K=V")]
    pub env: Vec<String>,

    /// File of build-time environment variables, one K=V or K per line; --env values win
    /// (repeatable)
    #[arg(long = "env-file", value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub env_files: Vec<PathBuf>,

    /// Mount a host path (or volume) into the containers that run buildpacks, read-only
    /// unless :rw; bindings go to /platform/bindings/<name> (repeatable)
    #[arg(long = "volume", value_name = "HOST-PATH:TARGET[:ro|rw]", value_parser = values::volume)]
    pub volumes: Vec<Volume>,

    /// Project descriptor [default: project.toml in the app directory, when there is one]
    #[arg(short = 'd', long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub descriptor: Option<PathBuf>,

    #[command(flatten)]
    pub registry: RegistryArgs,

    /// Lifecycle image for the phases of an untrusted builder [default: the configured
    /// lifecycle-image, else buildpacksio/lifecycle:<the builder's lifecycle version>]
    #[arg(long, value_name = "IMAGE", value_parser = values::image)]
    pub lifecycle_image: Option<ImageRef>,

    /// Trust this builder for this run (use the single-container creator)
    #[arg(long)]
    pub trust_builder: bool,

    /// Empty the build cache before building
    #[arg(long)]
    pub clear_cache: bool,

    /// Docker daemon address [default: DOCKER_HOST, else the platform's socket]
    #[arg(long, value_name = "URL")]
    pub docker_host: Option<String>,

    /// Show the plan (images, lifecycle command, environment, mounts) without building
    #[arg(long)]
    pub dry_run: bool,

    /// Output format of --dry-run
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text, requires = "dry_run")]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Args)]
pub struct ResolveArgs {
    /// Images to resolve
    #[arg(value_name = "IMAGE", required = true, value_parser = values::given_image)]
    pub images: Vec<Given<ImageRef>>,

    #[command(flatten)]
    pub registry: RegistryArgs,

    /// Docker daemon address, asked for its architecture [default: DOCKER_HOST, else the platform's socket]
    #[arg(long, value_name = "URL")]
    pub docker_host: Option<String>,

    #[command(flatten)]
    pub output: OutputArg,
}

#[derive(Debug, Clone, Args)]
pub struct LocalRegistryArgs {
    /// Kube context to ask instead of the current one
    #[arg(long, value_name = "NAME", add = ArgValueCandidates::new(crate::local_registry::kube_context_candidates))]
    pub kube_context: Option<String>,

    #[command(flatten)]
    pub output: OutputArg,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionArgs {
    /// Shell to print the script for
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ConfigCommand {
    /// Registry mirrors: registry -> ordered list of mirrors
    #[command(subcommand)]
    RegistryMirrors(RegistryMirrorsCommand),
    /// Run-image mirrors: run image -> ordered list of mirror images
    #[command(subcommand)]
    RunImageMirrors(RunImageMirrorsCommand),
    /// Registries allowed plain HTTP or unverified TLS (host, host:port or CIDR)
    #[command(subcommand)]
    InsecureRegistries(InsecureRegistriesCommand),
    /// Show or set the builder used when --builder is not given
    DefaultBuilder(DefaultBuilderArgs),
    /// Builders trusted to run the single-container creator
    #[command(subcommand)]
    TrustedBuilders(TrustedBuildersCommand),
    /// Show or set the lifecycle image for untrusted builders (pack's lifecycle-image)
    LifecycleImage(LifecycleImageArgs),
    /// Show or set when images are pulled
    PullPolicy(PullPolicyArgs),
    /// Extra CA certificates per registry: registry -> PEM file (instead of insecure)
    #[command(subcommand)]
    RegistryCa(RegistryCaCommand),
    /// Print the config file's path
    Path,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum RegistryMirrorsCommand {
    /// Append mirrors to a registry's list (`*` for every registry without its own entry)
    Add {
        /// Registry (host[:port], `docker.io`, or `*`)
        #[arg(value_name = "REGISTRY", value_parser = values::mirror_key)]
        registry: MirrorKey,
        /// Mirror, [http[s]://]host[:port][/path] (repeatable, in preference order)
        #[arg(short, long = "mirror", value_name = "MIRROR", required = true, value_parser = values::given_mirror)]
        mirrors: Vec<Given<Mirror>>,
    },
    /// Remove a registry's entry, or only the given mirrors
    Remove {
        /// Registry whose entry changes
        #[arg(value_name = "REGISTRY", value_parser = values::mirror_key, add = ArgValueCandidates::new(completion::configured_registries))]
        registry: MirrorKey,
        /// Remove only this mirror (repeatable)
        #[arg(short, long = "mirror", value_name = "MIRROR", value_parser = values::given_mirror, add = ArgValueCandidates::new(completion::configured_mirrors))]
        mirrors: Vec<Given<Mirror>>,
    },
    /// List registries and their mirrors in preference order
    List(OutputArg),
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum RunImageMirrorsCommand {
    /// Append mirror images for a run image, in the order given
    Add {
        /// Run image
        #[arg(value_name = "IMAGE", value_parser = values::given_image)]
        image: Given<ImageRef>,
        /// Mirror image (repeatable, in preference order)
        #[arg(short, long = "mirror", value_name = "MIRROR", required = true, value_parser = values::given_image)]
        mirrors: Vec<Given<ImageRef>>,
    },
    /// Remove a run image's entry, or only the given mirrors
    Remove {
        /// Run image whose entry changes
        #[arg(value_name = "IMAGE", value_parser = values::given_image, add = ArgValueCandidates::new(completion::configured_run_images))]
        image: Given<ImageRef>,
        /// Remove only this mirror image (repeatable)
        #[arg(short, long = "mirror", value_name = "MIRROR", value_parser = values::given_image, add = ArgValueCandidates::new(completion::configured_run_image_mirrors))]
        mirrors: Vec<Given<ImageRef>>,
    },
    /// List run images and their mirrors in preference order
    List(OutputArg),
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum InsecureRegistriesCommand {
    /// Allow plain HTTP and unverified TLS for these entries
    Add {
        /// host, host:port or CIDR (10.20.0.0/16, fd00::/8)
        #[arg(value_name = "ENTRY", required = true, value_parser = values::insecure_entry)]
        entries: Vec<InsecureEntry>,
    },
    /// Stop allowing these entries
    Remove {
        /// Entries to remove
        #[arg(value_name = "ENTRY", required = true, value_parser = values::insecure_entry, add = ArgValueCandidates::new(completion::configured_insecure_registries))]
        entries: Vec<InsecureEntry>,
    },
    /// List insecure entries
    List(OutputArg),
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum RegistryCaCommand {
    /// Verify REGISTRY against the system roots plus the CA certificates in PEM-FILE
    Add {
        /// Registry (host for every port, or host:port)
        #[arg(value_name = "REGISTRY", value_parser = values::registry)]
        registry: Registry,
        /// PEM file with the CA certificate(s); its absolute path is stored
        #[arg(value_name = "PEM-FILE", value_hint = clap::ValueHint::FilePath)]
        file: PathBuf,
    },
    /// Stop using an extra CA for REGISTRY
    Remove {
        /// Registry whose CA entry goes
        #[arg(value_name = "REGISTRY", value_parser = values::registry, add = ArgValueCandidates::new(completion::configured_registry_cas))]
        registry: Registry,
    },
    /// List registries and their CA files
    List(OutputArg),
}

#[derive(Debug, Clone, Args)]
pub struct DefaultBuilderArgs {
    /// Builder image to use by default; without it, print the current one
    #[arg(value_name = "IMAGE", conflicts_with = "unset", value_parser = values::given_image, add = ArgValueCandidates::new(completion::configured_builders))]
    pub image: Option<Given<ImageRef>>,
    /// Remove the default builder setting
    #[arg(long)]
    pub unset: bool,
}

#[derive(Debug, Args)]
pub struct LifecycleImageArgs {
    /// Image the lifecycle's phases run from for an untrusted builder; without it, print the
    /// current one
    #[arg(value_name = "IMAGE", conflicts_with = "unset", value_parser = values::given_image)]
    pub image: Option<Given<ImageRef>>,
    /// Remove the lifecycle image setting (use buildpacksio/lifecycle:<the builder's version>)
    #[arg(long)]
    pub unset: bool,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum TrustedBuildersCommand {
    /// Trust a builder
    Add {
        /// Builder image
        #[arg(value_name = "IMAGE", value_parser = values::given_image)]
        image: Given<ImageRef>,
    },
    /// Stop trusting a builder
    Remove {
        /// Builder image
        #[arg(value_name = "IMAGE", value_parser = values::given_image, add = ArgValueCandidates::new(completion::configured_trusted_builders))]
        image: Given<ImageRef>,
    },
    /// List trusted builders (configured ones; the well-known builders are always trusted)
    List(OutputArg),
}

#[derive(Debug, Clone, Args)]
pub struct PullPolicyArgs {
    /// New pull policy; without it, print the current one
    #[arg(value_enum, conflicts_with = "unset")]
    pub policy: Option<PullPolicy>,
    /// Remove the pull-policy setting (back to the default, always)
    #[arg(long)]
    pub unset: bool,
}
