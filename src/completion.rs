//! Shell completion and generated documentation.
//!
//! - [`script`]: the registration script `cnb completion <shell>` prints. It is
//!   clap_complete's dynamic ("env") script: the shell calls back into
//!   `COMPLETE=<shell> cnb -- <words>` on every TAB, so values come from the
//!   config file at completion time, not from a snapshot.
//! - The `configured_*` functions: the values offered for `remove` commands,
//!   read from the config file that `--config` (on the command line being
//!   completed), `CNB_CONFIG` or `CNB_HOME` select. Any problem (no file, a
//!   corrupt file, an unreadable one) means no candidates: completion never
//!   prints an error and never fails.
//! - [`man_pages`] and [`generated_files`]: what is kept in the repository
//!   under `completions/` and `docs/man/` (tests/generated.rs keeps them fresh).

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, ValueEnum};
use clap_complete::engine::CompletionCandidate;
use clap_complete::env::{EnvCompleter, Shells};

use crate::cli::{Cli, Shell};
use crate::config::{self, Config};
use crate::env_vars;
use crate::reference::{ImageRef, MirrorKey};

/// The name the scripts register completions for, and the program they call
/// back into (found on `PATH`).
pub const BIN: &str = "cnb";
/// Where the generated completion scripts are kept, relative to the repository root.
pub const COMPLETIONS_DIR: &str = "completions";
/// Where the generated man pages are kept, relative to the repository root.
pub const MAN_DIR: &str = "docs/man";

/// The shells `COMPLETE=<shell> cnb` answers for (see `app::main`): clap_complete's,
/// with bash taught about `:` and `*` ([`BashWholeWords`]) and zsh's script made to
/// work when autoloaded from `fpath` ([`ZshAutoload`]).
pub const SHELLS: Shells<'static> = Shells(&[
    &BashWholeWords,
    &clap_complete::env::Elvish,
    &clap_complete::env::Fish,
    &clap_complete::env::Powershell,
    &ZshAutoload,
]);

/// The completion script for `shell`: exactly what `COMPLETE=<shell> cnb` prints
/// when `cnb` is on `PATH`.
pub fn script(shell: Shell) -> String {
    let completer: &dyn EnvCompleter = match shell {
        Shell::Bash => &BashWholeWords,
        Shell::Zsh => &ZshAutoload,
        Shell::Fish => &clap_complete::env::Fish,
        Shell::Powershell => &clap_complete::env::Powershell,
        Shell::Elvish => &clap_complete::env::Elvish,
    };
    let name = Cli::command().get_name().to_string();
    let mut buf = Vec::new();
    completer
        .write_registration(env_vars::COMPLETE, &name, BIN, BIN, &mut buf)
        .expect("writing to a Vec cannot fail");
    String::from_utf8_lossy(&buf).into_owned()
}

/// clap_complete's bash support, with two fixes for values like `reg:5000`,
/// `http://mirror` and `*`:
///
/// - bash splits words at `:` and `=` (`COMP_WORDBREAKS`) and replaces only
///   the text after the last break. The script also passes the command line
///   up to the cursor (`_CNB_COMPLETE_LINE`); cnb completes whole shell words
///   from it and gives bash back only the part it replaces.
/// - The script reads candidates with an unquoted `$(...)`, so `*` (the
///   catch-all registry) would be expanded to the files in the current
///   directory; and bash inserts candidates as they are, where a bare `*`
///   would be expanded again when the command runs. `\*` survives both and
///   reaches cnb as `*`.
#[derive(Debug, Clone, Copy)]
pub struct BashWholeWords;

/// The line the bash script adds to clap's, after the one it follows.
const BASH_LINE_AFTER: &str = "        _CLAP_IFS=\"$IFS\" \\\n";
const BASH_LINE: &str = "        _CNB_COMPLETE_LINE=\"${COMP_LINE:0:COMP_POINT}\" \\\n";

impl EnvCompleter for BashWholeWords {
    fn name(&self) -> &'static str {
        clap_complete::env::Bash.name()
    }

    fn is(&self, name: &str) -> bool {
        clap_complete::env::Bash.is(name)
    }

    fn write_registration(
        &self,
        var: &str,
        name: &str,
        bin: &str,
        completer: &str,
        buf: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let mut script = Vec::new();
        clap_complete::env::Bash.write_registration(var, name, bin, completer, &mut script)?;
        let script = String::from_utf8_lossy(&script).replacen(
            BASH_LINE_AFTER,
            &format!("{BASH_LINE_AFTER}{BASH_LINE}"),
            1,
        );
        buf.write_all(script.as_bytes())
    }

    fn write_complete(
        &self,
        cmd: &mut clap::Command,
        args: Vec<OsString>,
        current_dir: Option<&Path>,
        buf: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let index = std::env::var(env_vars::CLAP_COMPLETE_INDEX)
            .ok()
            .and_then(|i| i.parse().ok())
            .unwrap_or_default();
        let line = std::env::var(env_vars::CNB_COMPLETE_LINE).ok();
        let ifs = std::env::var(env_vars::CLAP_IFS).unwrap_or_else(|_| "\n".to_string());
        let (args, index, replaced) = bash_words(args, index, line.as_deref());
        let candidates = clap_complete::engine::complete(cmd, args, index, current_dir)?;
        let values: Vec<String> = candidates
            .iter()
            .map(|c| {
                let value = c.get_value().to_string_lossy();
                escape_globs(value.strip_prefix(replaced.as_str()).unwrap_or(&value))
            })
            .collect();
        buf.write_all(values.join(&ifs).as_bytes())
    }
}

/// The words to complete, the index of the one under the cursor, and the
/// start of that word which bash keeps (the text before its last word break).
/// Without a usable line, bash's own words.
fn bash_words(
    args: Vec<OsString>,
    index: usize,
    line: Option<&str>,
) -> (Vec<OsString>, usize, String) {
    let Some(words) = line.and_then(shell_words) else {
        return (args, index, String::new());
    };
    let bash_current = args
        .get(index)
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let current = words.last().cloned().unwrap_or_default();
    let kept = current
        .strip_suffix(bash_current.as_str())
        .unwrap_or_default()
        .to_string();
    let index = words.len() - 1;
    (words.into_iter().map(OsString::from).collect(), index, kept)
}

/// A command line up to the cursor split into shell words; the last word is
/// the one under the cursor (empty after a space). `None` when it does not
/// split (an open quote).
fn shell_words(line: &str) -> Option<Vec<String>> {
    let mut words = shlex::split(line)?;
    let after_space = line.ends_with(char::is_whitespace) && !line.ends_with("\\ ");
    if words.is_empty() || after_space {
        words.push(String::new());
    }
    Some(words)
}

/// `*`, `?` and `[` preceded by a backslash.
fn escape_globs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// clap_complete's zsh support plus one line: when zsh autoloads the script
/// from `fpath` (as `_cnb`), the script only registers its completer with
/// `compdef`, so the first TAB of every shell would offer nothing. The added
/// line runs the completer on that first call; it does nothing when the script
/// is sourced.
#[derive(Debug, Clone, Copy)]
pub struct ZshAutoload;

impl EnvCompleter for ZshAutoload {
    fn name(&self) -> &'static str {
        clap_complete::env::Zsh.name()
    }

    fn is(&self, name: &str) -> bool {
        clap_complete::env::Zsh.is(name)
    }

    fn write_registration(
        &self,
        var: &str,
        name: &str,
        bin: &str,
        completer: &str,
        buf: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        clap_complete::env::Zsh.write_registration(var, name, bin, completer, buf)?;
        let function = name.replace('-', "_");
        writeln!(
            buf,
            "if [[ ${{funcstack[1]}} == _{bin} ]]; then _clap_dynamic_completer_{function} \"$@\"; fi"
        )
    }

    fn write_complete(
        &self,
        cmd: &mut clap::Command,
        args: Vec<OsString>,
        current_dir: Option<&Path>,
        buf: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        clap_complete::env::Zsh.write_complete(cmd, args, current_dir, buf)
    }
}

/// The file name a shell's script is kept under in `completions/`.
pub fn script_file_name(shell: Shell) -> &'static str {
    match shell {
        Shell::Bash => "cnb.bash",
        Shell::Zsh => "cnb.zsh",
        Shell::Fish => "cnb.fish",
        Shell::Powershell => "cnb.ps1",
        Shell::Elvish => "cnb.elv",
    }
}

/// One man page per command and subcommand (`cnb.1`, `cnb-config.1`,
/// `cnb-config-registry-mirrors-add.1`, ...), rendered from the CLI definition.
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    // Every page names the program, not the subcommand, as its source.
    let source = format!("cnb {}", cmd.get_version().unwrap_or_default());
    let mut pages = Vec::new();
    collect_man_pages(&cmd, &source, &mut pages);
    pages
}

fn collect_man_pages(cmd: &clap::Command, source: &str, pages: &mut Vec<(String, Vec<u8>)>) {
    let man = clap_mangen::Man::new(cmd.clone())
        .source(source)
        .manual("cnb manual");
    let mut page = Vec::new();
    man.render(&mut page).expect("writing to a Vec cannot fail");
    if pages.is_empty() {
        page = with_top_level_sections(page);
    }
    pages.push((man.get_filename(), page));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect_man_pages(sub, source, pages);
    }
}

/// ENVIRONMENT and FILES sections for `cnb.1`, before its VERSION section.
fn with_top_level_sections(page: Vec<u8>) -> Vec<u8> {
    use clap_mangen::roff::{Roff, bold, roman};

    let mut roff = Roff::new();
    roff.control("SH", ["ENVIRONMENT"]);
    for (name, text) in [
        (env_vars::CNB_CONFIG, "Config file to use (--config wins)."),
        (
            env_vars::CNB_HOME,
            "Directory holding config.toml (CNB_CONFIG and --config win).",
        ),
        (env_vars::NO_COLOR, "Any value turns colour off."),
        (
            env_vars::DOCKER_HOST,
            "Docker daemon address (--docker-host wins).",
        ),
        (
            env_vars::DOCKER_CONFIG,
            "Directory holding the Docker client config.json, read for registry credentials.",
        ),
        (
            env_vars::COMPLETE,
            "Set by the completion scripts (see cnb-completion(1)): cnb prints completions instead of running.",
        ),
    ] {
        roff.control("TP", []);
        roff.text([bold(name)]);
        roff.text([roman(text)]);
    }
    roff.control("SH", ["FILES"]);
    roff.control("TP", []);
    roff.text([bold("~/.config/cnb/config.toml")]);
    roff.text([roman(
        "The config file on Linux when neither --config, CNB_CONFIG nor CNB_HOME says otherwise; \
         cnb config path prints the one in use.",
    )]);
    let extra = roff.to_roff();

    let text = String::from_utf8_lossy(&page).into_owned();
    match text.find("\n.SH VERSION") {
        Some(at) => format!("{}\n{}{}", &text[..at], extra.trim_end(), &text[at..]).into_bytes(),
        None => format!("{text}{extra}").into_bytes(),
    }
}

/// Every generated file kept in the repository: path relative to the
/// repository root, and contents.
pub fn generated_files() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = Shell::value_variants()
        .iter()
        .map(|shell| {
            (
                Path::new(COMPLETIONS_DIR).join(script_file_name(*shell)),
                script(*shell).into_bytes(),
            )
        })
        .collect();
    files.extend(
        man_pages()
            .into_iter()
            .map(|(name, page)| (Path::new(MAN_DIR).join(name), page)),
    );
    files
}

// ---------------------------------------------------------------------------
// Dynamic values
// ---------------------------------------------------------------------------

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

/// Registries with a `registry-ca` entry.
pub fn configured_registry_cas() -> Vec<CompletionCandidate> {
    let ctx = Context::current();
    let Some(config) = load_config(&ctx) else {
        return Vec::new();
    };
    config
        .registry_cas
        .iter()
        .map(|ca| ca.registry.to_string())
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
struct Context {
    /// `--config FILE`.
    config: Option<PathBuf>,
    /// The REGISTRY of `config registry-mirrors remove`.
    registry: Option<String>,
    /// The IMAGE of `config run-image-mirrors remove`.
    run_image: Option<String>,
    /// Values already given to the repeatable argument of the `remove`
    /// command being completed (not offered again).
    given: Vec<String>,
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
    fn from_words(words: &[OsString]) -> Context {
        let Ok(matches) = Cli::command()
            .ignore_errors(true)
            .try_get_matches_from(words)
        else {
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
fn completed_words(args: Vec<OsString>, index: Option<usize>) -> Option<Vec<OsString>> {
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
fn familiar_image(image: &ImageRef) -> String {
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
fn image_candidates(image: &ImageRef, help: Option<String>) -> Vec<CompletionCandidate> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn os(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn words_before_the_cursor_come_after_the_escape() {
        let args = os(&["cnb", "--", "cnb", "config", "path", "x"]);
        assert_eq!(
            completed_words(args.clone(), Some(3)),
            Some(os(&["cnb", "config", "path"]))
        );
        // fish and PowerShell: the last word is the one being completed.
        assert_eq!(
            completed_words(args, None),
            Some(os(&["cnb", "config", "path"]))
        );
        assert_eq!(completed_words(os(&["cnb", "config", "path"]), None), None);
        assert_eq!(completed_words(os(&["cnb", "--"]), None), None);
    }

    #[test]
    fn context_reads_config_flag_anywhere_and_the_entry_being_edited() {
        let ctx = Context::from_words(&os(&[
            "cnb",
            "config",
            "--config",
            "/tmp/x.toml",
            "registry-mirrors",
            "remove",
            "docker.io",
            "-m",
        ]));
        assert_eq!(ctx.config, Some(PathBuf::from("/tmp/x.toml")));
        assert_eq!(ctx.registry.as_deref(), Some("docker.io"));

        let ctx = Context::from_words(&os(&[
            "cnb",
            "--config=c.toml",
            "config",
            "run-image-mirrors",
            "remove",
            "-m",
            "a/b",
            "paketo/run",
            "--mirror",
        ]));
        assert_eq!(ctx.config, Some(PathBuf::from("c.toml")));
        assert_eq!(ctx.run_image.as_deref(), Some("paketo/run"));
        assert_eq!(ctx.given, ["a/b"]);

        let ctx = Context::from_words(&os(&[
            "cnb",
            "config",
            "insecure-registries",
            "remove",
            "a:5000",
            "10.0.0.0/8",
        ]));
        assert_eq!(ctx.given, ["a:5000", "10.0.0.0/8"]);
    }

    #[test]
    fn context_survives_nonsense() {
        for words in [
            os(&["cnb"]),
            os(&["cnb", "--help"]),
            os(&["cnb", "--version", "config"]),
            os(&["cnb", "nope", "--bogus", "--config"]),
            os(&["cnb", "config", "registry-mirrors", "remove", "--config"]),
        ] {
            let ctx = Context::from_words(&words);
            assert_eq!(ctx.registry, None, "{words:?}");
        }
    }

    #[test]
    fn images_are_shown_as_people_type_them_and_parse_back() {
        let digest = format!("sha256:{}", "a".repeat(64));
        for (input, shown) in [
            (
                "paketobuildpacks/run-jammy-base",
                "paketobuildpacks/run-jammy-base",
            ),
            ("docker.io/library/busybox:1.36", "busybox:1.36"),
            ("index.docker.io/busybox:latest", "busybox"),
            ("library/a/b", "library/a/b"),
            ("localhost:5000/a/b:latest", "localhost:5000/a/b"),
            ("Reg.Example:5000/app:v1", "reg.example:5000/app:v1"),
            (
                &format!("reg.example/app@{digest}"),
                &format!("reg.example/app@{digest}"),
            ),
            (
                &format!("busybox:latest@{digest}"),
                &format!("busybox:latest@{digest}"),
            ),
        ] {
            let image = ImageRef::parse(input).unwrap();
            assert_eq!(familiar_image(&image), shown, "{input}");
            assert_eq!(ImageRef::parse(shown).unwrap(), image, "{input}");
        }
    }

    #[test]
    fn hub_images_also_answer_to_their_docker_io_name() {
        let values = |input: &str| -> Vec<(String, bool)> {
            image_candidates(&ImageRef::parse(input).unwrap(), None)
                .into_iter()
                .map(|c| {
                    (
                        c.get_value().to_string_lossy().into_owned(),
                        c.is_hide_set(),
                    )
                })
                .collect()
        };
        assert_eq!(
            values("paketobuildpacks/run:1"),
            [
                ("paketobuildpacks/run:1".to_string(), false),
                ("docker.io/paketobuildpacks/run:1".to_string(), true)
            ]
        );
        assert_eq!(
            values("busybox"),
            [
                ("busybox".to_string(), false),
                ("docker.io/library/busybox".to_string(), true)
            ]
        );
        assert_eq!(values("quay.io/a/b"), [("quay.io/a/b".to_string(), false)]);
    }

    #[test]
    fn bash_gets_back_only_what_it_replaces() {
        // `cnb config insecure-registries remove reg.local:50`, as bash splits it.
        let args = os(&[
            "cnb",
            "config",
            "insecure-registries",
            "remove",
            "reg.local",
            ":",
            "50",
        ]);
        let (words, index, kept) = bash_words(
            args.clone(),
            6,
            Some("cnb config insecure-registries remove reg.local:50"),
        );
        assert_eq!(
            words,
            os(&[
                "cnb",
                "config",
                "insecure-registries",
                "remove",
                "reg.local:50"
            ])
        );
        assert_eq!(index, 4);
        assert_eq!(kept, "reg.local:");

        // Right after the colon bash's current word is empty.
        let args = os(&["cnb", "x", "reg.local", ""]);
        let (words, index, kept) = bash_words(args, 3, Some("cnb x reg.local:"));
        assert_eq!((words, index), (os(&["cnb", "x", "reg.local:"]), 2));
        assert_eq!(kept, "reg.local:");

        // After a space, a new empty word.
        let (words, index, kept) = bash_words(os(&["cnb", "x", ""]), 2, Some("cnb x "));
        assert_eq!(
            (words, index, kept.as_str()),
            (os(&["cnb", "x", ""]), 2, "")
        );

        // An open quote: bash's words as they are.
        let args = os(&["cnb", "x", "\"re"]);
        let (words, index, kept) = bash_words(args.clone(), 2, Some("cnb x \"re"));
        assert_eq!((words, index, kept.as_str()), (args, 2, ""));
    }

    #[test]
    fn the_bash_script_passes_the_line() {
        let text = script(Shell::Bash);
        assert!(text.contains(BASH_LINE), "{text}");
    }

    #[test]
    fn globs_are_escaped_for_bash() {
        assert_eq!(
            escape_globs("*\u{b}docker.io\u{b}a?[b]"),
            "\\*\u{b}docker.io\u{b}a\\?\\[b]"
        );
    }

    #[test]
    fn every_shell_has_a_script_calling_back_into_cnb() {
        for shell in Shell::value_variants() {
            let text = script(*shell);
            assert!(text.contains("COMPLETE"), "{shell:?}: {text}");
            assert!(text.contains("cnb"), "{shell:?}: {text}");
        }
    }

    #[test]
    fn man_pages_cover_nested_subcommands() {
        let names: Vec<String> = man_pages().into_iter().map(|(n, _)| n).collect();
        for expected in [
            "cnb.1",
            "cnb-build.1",
            "cnb-config.1",
            "cnb-config-registry-mirrors-add.1",
            "cnb-config-path.1",
            "cnb-completion.1",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} in {names:?}"
            );
        }
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
    }
}
