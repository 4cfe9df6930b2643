//! The values completion offers (SPEC §8): the configured registries, mirrors, run images,
//! insecure entries and builders, read from the config file that the command line being
//! completed would use (`--config` on that line, `CNB_CONFIG`, `CNB_HOME`). Any problem
//! (no file, a corrupt file, an unreadable one) means no candidates: completion never
//! prints an error and never fails.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;

use clap_complete::engine::CompletionCandidate;

use super::shell_words;
use crate::cli;
use crate::config::{self, Config};
use crate::env_vars;
use crate::reference::{ImageRef, MirrorKey};

/// Registries with a `registry-mirrors` entry.
pub fn configured_registries() -> Vec<CompletionCandidate> {
    let Some(config) = load_config(&Context::current()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in &config.registry_mirrors {
        let mirrors = join(entry.mirrors.iter().map(ToString::to_string));
        let help = match &entry.key {
            MirrorKey::Any => format!("every other registry; mirrors: {mirrors}"),
            MirrorKey::Registry(_) => format!("mirrors: {mirrors}"),
        };
        out.push(CompletionCandidate::new(entry.key.to_string()).help(Some(help.clone().into())));
        if matches!(&entry.key, MirrorKey::Registry(r) if r.is_docker_hub()) {
            // Offered only when someone types the long name.
            for alias in [crate::reference::DOCKER_HUB, "registry-1.docker.io"] {
                out.push(
                    CompletionCandidate::new(alias)
                        .help(Some(help.clone().into()))
                        .hide(true),
                );
            }
        }
    }
    out
}

/// Mirrors of every configured registry, or only of the registry already on
/// the command line (`cnb config registry-mirrors remove docker.io -m <TAB>`).
pub fn configured_mirrors() -> Vec<CompletionCandidate> {
    let ctx = Context::current();
    let Some(config) = load_config(&ctx) else {
        return Vec::new();
    };
    let chosen = ctx
        .registry
        .as_deref()
        .and_then(|r| MirrorKey::parse(r).ok())
        .filter(|key| config.registry_mirrors.iter().any(|e| &e.key == key));
    let mut owners = Owners::default();
    for entry in &config.registry_mirrors {
        if chosen.as_ref().is_some_and(|key| key != &entry.key) {
            continue;
        }
        for mirror in &entry.mirrors {
            let owner = match &entry.key {
                MirrorKey::Any => "every other registry (*)".to_string(),
                MirrorKey::Registry(registry) => registry.to_string(),
            };
            owners.add(mirror.to_string(), owner);
        }
    }
    owners.candidates(&ctx.given)
}

/// Run images with a `run-images` entry.
pub fn configured_run_images() -> Vec<CompletionCandidate> {
    let Some(config) = load_config(&Context::current()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in &config.run_image_mirrors {
        let help = format!(
            "mirrors: {}",
            join(entry.mirrors.iter().map(familiar_image))
        );
        out.extend(image_candidates(&entry.image, Some(help)));
    }
    out
}

/// Mirror images of every configured run image, or only of the run image
/// already on the command line.
pub fn configured_run_image_mirrors() -> Vec<CompletionCandidate> {
    let ctx = Context::current();
    let Some(config) = load_config(&ctx) else {
        return Vec::new();
    };
    let chosen = ctx
        .run_image
        .as_deref()
        .and_then(|i| ImageRef::parse(i).ok())
        .map(|image| image.repository_key())
        .filter(|repo| {
            config
                .run_image_mirrors
                .iter()
                .any(|e| &e.image.repository_key() == repo)
        });
    let mut owners = Owners::default();
    for entry in &config.run_image_mirrors {
        // Run images match on repository, whatever the tag (as `cnb build` matches them).
        if chosen
            .as_ref()
            .is_some_and(|repo| repo != &entry.image.repository_key())
        {
            continue;
        }
        for mirror in &entry.mirrors {
            owners.add(familiar_image(mirror), familiar_image(&entry.image));
        }
    }
    owners.candidates(&ctx.given)
}

/// `insecure-registries` entries.
pub fn configured_insecure_registries() -> Vec<CompletionCandidate> {
    let ctx = Context::current();
    let Some(config) = load_config(&ctx) else {
        return Vec::new();
    };
    config
        .insecure_registries
        .iter()
        .map(ToString::to_string)
        .filter(|entry| !ctx.given.contains(entry))
        .map(CompletionCandidate::new)
        .collect()
}

/// Configured trusted builders.
pub fn configured_trusted_builders() -> Vec<CompletionCandidate> {
    let Some(config) = load_config(&Context::current()) else {
        return Vec::new();
    };
    config
        .trusted_builders
        .iter()
        .flat_map(|image| image_candidates(image, None))
        .collect()
}

/// Builders worth offering wherever a builder is named (`build --builder`,
/// `config default-builder`): the default builder, then the trusted ones.
pub fn configured_builders() -> Vec<CompletionCandidate> {
    let Some(config) = load_config(&Context::current()) else {
        return Vec::new();
    };
    let mut out: Vec<CompletionCandidate> = Vec::new();
    let mut seen = Vec::new();
    let default = config
        .default_builder
        .iter()
        .map(|b| (b, "default builder"));
    let trusted = config
        .trusted_builders
        .iter()
        .map(|b| (b, "trusted builder"));
    for (image, help) in default.chain(trusted) {
        if seen.contains(&image) {
            continue;
        }
        seen.push(image);
        out.extend(image_candidates(image, Some(help.to_string())));
    }
    out
}

/// What the command line being completed already says.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Context {
    /// `--config FILE`.
    pub(super) config: Option<PathBuf>,
    /// The REGISTRY of `config registry-mirrors remove`.
    pub(super) registry: Option<String>,
    /// The IMAGE of `config run-image-mirrors remove`.
    pub(super) run_image: Option<String>,
    /// Values already given to the repeatable argument of the `remove`
    /// command being completed (not offered again).
    pub(super) given: Vec<String>,
}

impl Context {
    /// From this process's arguments: while completing they are
    /// `cnb -- cnb <words...>`, and the word being completed is at
    /// `_CLAP_COMPLETE_INDEX` (bash, zsh, elvish) or last (fish, PowerShell).
    ///
    /// bash's script also passes the line itself, which keeps `reg:5000` one word.
    fn current() -> Context {
        if let Some(mut words) = std::env::var(env_vars::CNB_COMPLETE_LINE)
            .ok()
            .and_then(|line| shell_words(&line))
        {
            words.pop();
            let words: Vec<OsString> = words.into_iter().map(OsString::from).collect();
            return Context::from_words(&words);
        }
        let index = std::env::var(env_vars::CLAP_COMPLETE_INDEX)
            .ok()
            .and_then(|i| i.parse().ok());
        completed_words(std::env::args_os().collect(), index)
            .map(|words| Context::from_words(&words))
            .unwrap_or_default()
    }

    /// Parses the words before the one being completed, leniently.
    pub(super) fn from_words(words: &[OsString]) -> Context {
        // Values as typed: a bad one earlier on the line must not hide what follows.
        let Ok(matches) = cli::lenient_command().try_get_matches_from(words) else {
            return Context::default();
        };
        let mut ctx = Context::default();
        let mut path: Vec<&str> = Vec::new();
        let mut current = Some(&matches);
        while let Some(m) = current {
            if let Ok(Some(config)) = m.try_get_one::<PathBuf>("config") {
                ctx.config = Some(config.clone());
            }
            match path.as_slice() {
                ["config", "registry-mirrors", "remove"] => {
                    ctx.registry = m.try_get_one::<String>("registry").ok().flatten().cloned();
                    ctx.given = strings(m, "mirrors");
                }
                ["config", "run-image-mirrors", "remove"] => {
                    ctx.run_image = m.try_get_one::<String>("image").ok().flatten().cloned();
                    ctx.given = strings(m, "mirrors");
                }
                ["config", "insecure-registries", "remove"] => {
                    ctx.given = strings(m, "entries");
                }
                _ => {}
            }
            current = m.subcommand().map(|(name, sub)| {
                path.push(name);
                sub
            });
        }
        ctx
    }
}

fn strings(matches: &clap::ArgMatches, id: &str) -> Vec<String> {
    match matches.try_get_many::<String>(id) {
        Ok(Some(values)) => values.cloned().collect(),
        _ => Vec::new(),
    }
}

/// The words before the one being completed, starting with the program name;
/// `None` when these arguments are not a completion request.
pub(super) fn completed_words(args: Vec<OsString>, index: Option<usize>) -> Option<Vec<OsString>> {
    let escape = args.iter().position(|a| a == "--")?;
    let mut words = args.into_iter().skip(escape + 1).collect::<Vec<_>>();
    if words.is_empty() {
        return None;
    }
    let index = index.unwrap_or(words.len() - 1).min(words.len());
    words.truncate(index);
    Some(words)
}

/// The config the completed command would use; `None` on any problem.
fn load_config(ctx: &Context) -> Option<Config> {
    let load = || {
        let location = config::locate(ctx.config.as_deref()).ok()?;
        Config::load(&location.path).ok()
    };
    // Whatever the file holds, a TAB must not print a panic over the user's
    // command line: this process only answers the shell, so a failure here
    // just means no values.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let config = std::panic::catch_unwind(std::panic::AssertUnwindSafe(load));
    std::panic::set_hook(hook);
    config.ok().flatten()
}

/// An image as people usually type it: Docker Hub without `docker.io/`,
/// official images without `library/`, no `:latest`. It parses back to the
/// same reference.
pub(super) fn familiar_image(image: &ImageRef) -> String {
    let mut out = if image.registry().is_docker_hub() {
        match image.repository().strip_prefix("library/") {
            Some(name) if !name.contains('/') => name.to_string(),
            _ => image.repository().to_string(),
        }
    } else {
        format!("{}/{}", image.registry().key(), image.repository())
    };
    if let Some(tag) = image
        .tag()
        .filter(|tag| *tag != "latest" || image.digest().is_some())
    {
        out.push(':');
        out.push_str(tag);
    }
    if let Some(digest) = image.digest() {
        out.push('@');
        out.push_str(digest);
    }
    out
}

/// An image as a candidate; Docker Hub images also answer to `docker.io/...`.
pub(super) fn image_candidates(image: &ImageRef, help: Option<String>) -> Vec<CompletionCandidate> {
    let short = familiar_image(image);
    let mut out = vec![CompletionCandidate::new(&short).help(help.clone().map(Into::into))];
    if image.registry().is_docker_hub() {
        let long = match short.strip_prefix(image.repository()) {
            Some(rest) => format!(
                "{}/{}{rest}",
                crate::reference::DOCKER_HUB_DISPLAY,
                image.repository()
            ),
            None => format!("{}/library/{short}", crate::reference::DOCKER_HUB_DISPLAY),
        };
        out.push(
            CompletionCandidate::new(long)
                .help(help.map(Into::into))
                .hide(true),
        );
    }
    out
}

/// Values listed once each, with the entries they belong to as help.
#[derive(Default)]
struct Owners {
    order: Vec<String>,
    owners: HashMap<String, Vec<String>>,
}

impl Owners {
    fn add(&mut self, value: String, owner: String) {
        let owners = self.owners.entry(value.clone()).or_default();
        if owners.is_empty() {
            self.order.push(value);
        }
        if !owners.contains(&owner) {
            owners.push(owner);
        }
    }

    /// Candidates in first-seen order, without those in `skip`.
    fn candidates(mut self, skip: &[String]) -> Vec<CompletionCandidate> {
        self.order
            .into_iter()
            .filter(|value| !skip.contains(value))
            .map(|value| {
                let owners = self.owners.remove(&value).unwrap_or_default();
                let help = format!("mirror of {}", join(owners.into_iter()));
                CompletionCandidate::new(value).help(Some(help.into()))
            })
            .collect()
    }
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}
