//! `cnb config ...`: show and change the config file (SPEC §1, §2, §4, §5).
//!
//! Every value from the command line is validated before the file is locked, so
//! bad input exits with status 2 and writes nothing. Data (lists, current values)
//! goes to stdout; confirmations go to stderr.

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use crate::cli::{
    ConfigCommand, DefaultBuilderArgs, GlobalArgs, InsecureRegistriesCommand, LifecycleImageArgs,
    OutputFormat, PullPolicyArgs, RegistryMirrorsCommand, RunImageMirrorsCommand,
    TrustedBuildersCommand,
};
use crate::commands::{EditedExt, load_config};
use crate::config::edits::{self, Added, Removed, Set};
use crate::config::{self, PullPolicy, Written, keys};
use crate::error::UsageError;
use crate::reference::{Given, ImageRef, Mirror, MirrorKey};
use crate::ui::Ui;

pub fn run(global: &GlobalArgs, cmd: ConfigCommand, ui: &Ui) -> Result<ExitCode> {
    let location = config::locate(global.config.as_deref())?;
    let path = location.path.as_path();
    match cmd {
        ConfigCommand::Path => {
            ui.data(path.display().to_string());
            ui.verbose(1, format!("(chosen by {})", location.source));
        }
        ConfigCommand::RegistryMirrors(c) => registry_mirrors(path, c, ui)?,
        ConfigCommand::RunImageMirrors(c) => run_image_mirrors(path, c, ui)?,
        ConfigCommand::InsecureRegistries(c) => insecure_registries(path, c, ui)?,
        ConfigCommand::DefaultBuilder(args) => default_builder(path, args, ui)?,
        ConfigCommand::LifecycleImage(args) => lifecycle_image(path, args, ui)?,
        ConfigCommand::TrustedBuilders(c) => trusted_builders(path, c, ui)?,
        ConfigCommand::PullPolicy(args) => pull_policy(path, args, ui)?,
        ConfigCommand::RegistryCa(c) => super::registry_ca::run(path, c, ui)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn print_json(ui: &Ui, value: &serde_json::Value) {
    ui.data(value.to_string());
}

/// The mirrors for `key`, refusing a mirror that is the registry itself.
fn mirrors_for(key: &MirrorKey, given: Vec<Given<Mirror>>) -> Result<Vec<Mirror>> {
    if let MirrorKey::Registry(registry) = key
        && let Some(itself) = given.iter().find(|m| m.value.is_same_as(registry))
    {
        return Err(UsageError(format!(
            "registry mirror '{itself}' is the registry '{key}' itself; give another address as its mirror"
        ))
        .into());
    }
    Ok(given.into_iter().map(|m| m.value).collect())
}

fn registry_mirrors(path: &Path, cmd: RegistryMirrorsCommand, ui: &Ui) -> Result<()> {
    match cmd {
        RegistryMirrorsCommand::Add { registry, mirrors } => {
            let key = registry;
            let mirrors = mirrors_for(&key, mirrors)?;
            let report =
                config::edit(path, |doc| edits::add_registry_mirrors(doc, &key, &mirrors))?
                    .shown(ui);
            for m in &report.added {
                ui.status(format!("Added mirror {m} for {key}"));
            }
            for m in &report.present {
                ui.status(format!(
                    "Mirror {m} is already configured for {key}; it keeps its place"
                ));
            }
        }
        RegistryMirrorsCommand::Remove { registry, mirrors } => {
            let key = registry;
            let mirrors = mirrors_for(&key, mirrors)?;
            let report = config::edit(path, |doc| {
                edits::remove_registry_mirrors(doc, &key, &mirrors)
            })?
            .shown(ui);
            report_removal(ui, &report, &format!("{key}"), "mirror", "registry mirrors");
        }
        RegistryMirrorsCommand::List(out) => {
            // Registries shown normalised (`docker.io`), mirrors as written.
            let file = load_config(path, ui)?;
            let rows = file
                .config
                .registry_mirrors
                .iter()
                .zip(&file.written.registry_mirrors)
                .map(|(entry, (_, mirrors))| (&entry.key, mirrors.as_slice()));
            list_mirrors(
                ui,
                out.output,
                "registry",
                rows,
                "No registry mirrors are configured (add one with: cnb config registry-mirrors add <REGISTRY> -m <MIRROR>)",
            );
        }
    }
    Ok(())
}

/// Says what a `remove` did. `owner` names the entry, `item` one value, `list` the whole list.
fn report_removal(ui: &Ui, report: &Removed, owner: &str, item: &str, list: &str) {
    match report {
        Removed::NoEntry => ui.status(format!(
            "No {list} are configured for {owner}; nothing to remove"
        )),
        Removed::Entry => ui.status(format!("Removed the {list} of {owner}")),
        Removed::Values {
            removed,
            missing,
            entry_removed,
        } => {
            for m in removed {
                ui.status(format!("Removed {item} {m} for {owner}"));
            }
            for m in missing {
                ui.status(format!(
                    "{} {m} is not configured for {owner}; nothing to remove",
                    capitalise(item)
                ));
            }
            if *entry_removed {
                ui.status(format!("{owner} has no {list} left; removed its entry"));
            }
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn run_image_mirrors(path: &Path, cmd: RunImageMirrorsCommand, ui: &Ui) -> Result<()> {
    match cmd {
        RunImageMirrorsCommand::Add { image, mirrors } => {
            if let Some(m) = mirrors
                .iter()
                .find(|m| m.value.repository_key() == image.value.repository_key())
            {
                return Err(UsageError(format!(
                    "run-image mirror '{m}' is the run image '{image}' itself; give another image as its mirror"
                ))
                .into());
            }
            let report: Added = config::edit(path, |doc| {
                edits::add_run_image_mirrors(doc, &image, &mirrors)
            })?
            .shown(ui);
            for m in &report.added {
                ui.status(format!("Added run-image mirror {m} for {image}"));
            }
            for m in &report.present {
                ui.status(format!(
                    "Run-image mirror {m} is already configured for {image}; it keeps its place"
                ));
            }
        }
        RunImageMirrorsCommand::Remove { image, mirrors } => {
            let report = config::edit(path, |doc| {
                edits::remove_run_image_mirrors(doc, &image.value, &mirrors)
            })?
            .shown(ui);
            let owner = image.to_string();
            report_removal(ui, &report, &owner, "run-image mirror", "run-image mirrors");
        }
        RunImageMirrorsCommand::List(out) => {
            let file = load_config(path, ui)?;
            let rows = file
                .written
                .run_image_mirrors
                .iter()
                .map(|(image, mirrors)| (image.as_str(), mirrors.as_slice()));
            list_mirrors(
                ui,
                out.output,
                "image",
                rows,
                "No run-image mirrors are configured (add one with: cnb config run-image-mirrors add <IMAGE> -m <MIRROR>)",
            );
        }
    }
    Ok(())
}

fn insecure_registries(path: &Path, cmd: InsecureRegistriesCommand, ui: &Ui) -> Result<()> {
    match cmd {
        InsecureRegistriesCommand::Add { entries } => {
            let report =
                config::edit(path, |doc| edits::add_insecure_registries(doc, &entries))?.shown(ui);
            for e in &report.added {
                ui.status(format!("Added insecure registry {e}"));
            }
            for e in &report.present {
                ui.status(format!("{e} is already an insecure registry"));
            }
        }
        InsecureRegistriesCommand::Remove { entries } => {
            let report =
                config::edit(path, |doc| edits::remove_insecure_registries(doc, &entries))?
                    .shown(ui);
            // Without the list in the file, every entry given is missing.
            let (removed, missing) = match report {
                Removed::Values {
                    removed, missing, ..
                } => (removed, missing),
                Removed::NoEntry | Removed::Entry => (
                    Vec::new(),
                    entries.iter().map(ToString::to_string).collect(),
                ),
            };
            for e in removed {
                ui.status(format!("Removed insecure registry {e}"));
            }
            for e in missing {
                ui.status(format!(
                    "{e} is not an insecure registry; nothing to remove"
                ));
            }
        }
        InsecureRegistriesCommand::List(out) => {
            let file = load_config(path, ui)?;
            list_strings(
                ui,
                out.output,
                &file.written.insecure_registries,
                || "No insecure registries are configured (add one with: cnb config insecure-registries add <HOST>)",
            );
        }
    }
    Ok(())
}

/// `registry-mirrors list` and `run-image-mirrors list`: in JSON an array of
/// `{"<key_field>": key, "mirrors": [...]}` objects (field order as in the docs);
/// in text each key on a line of its own with its mirrors indented under it.
/// `rows` are streamed, not collected.
fn list_mirrors<'a, K: fmt::Display, S: AsRef<str> + serde::Serialize + 'a>(
    ui: &Ui,
    format: OutputFormat,
    key_field: &str,
    rows: impl IntoIterator<Item = (K, &'a [S])>,
    empty: &str,
) {
    match format {
        OutputFormat::Json => print_json(
            ui,
            &serde_json::Value::Array(
                rows.into_iter()
                    .map(|(key, mirrors)| {
                        let mut row = serde_json::Map::new();
                        row.insert(key_field.to_string(), json!(key.to_string()));
                        row.insert("mirrors".to_string(), json!(mirrors));
                        serde_json::Value::Object(row)
                    })
                    .collect(),
            ),
        ),
        OutputFormat::Text => {
            // Written as it goes: a listing of thousands of lines is never held whole.
            // The first write error stops it (the Ui reports the error).
            let mut out = ui.data_out();
            let mut listed = false;
            let _ = rows.into_iter().try_for_each(|(key, mirrors)| {
                listed = true;
                writeln!(out, "{key}")?;
                mirrors
                    .iter()
                    .try_for_each(|m| writeln!(out, "  {}", m.as_ref()))
            });
            drop(out);
            if !listed {
                ui.status(empty);
            }
        }
    }
}

fn list_strings(
    ui: &Ui,
    format: OutputFormat,
    values: &[String],
    empty: impl FnOnce() -> &'static str,
) {
    match format {
        OutputFormat::Json => print_json(ui, &json!(values)),
        OutputFormat::Text => {
            if values.is_empty() {
                ui.status(empty());
            } else {
                ui.data(values.join("\n"));
            }
        }
    }
}

/// A top-level setting that holds one image (`default-builder-image`, `lifecycle-image`):
/// what it is called in messages, and the command that sets it.
struct ImageSetting {
    key: &'static str,
    what: &'static str,
    command: &'static str,
}

const DEFAULT_BUILDER: ImageSetting = ImageSetting {
    key: keys::DEFAULT_BUILDER,
    what: "default builder",
    command: "cnb config default-builder <IMAGE>",
};

const LIFECYCLE_IMAGE: ImageSetting = ImageSetting {
    key: keys::LIFECYCLE_IMAGE,
    what: "lifecycle image",
    command: "cnb config lifecycle-image <IMAGE>",
};

fn default_builder(path: &Path, args: DefaultBuilderArgs, ui: &Ui) -> Result<()> {
    image_setting(path, &DEFAULT_BUILDER, args.image, args.unset, ui, |w| {
        w.default_builder
    })
}

fn lifecycle_image(path: &Path, args: LifecycleImageArgs, ui: &Ui) -> Result<()> {
    image_setting(path, &LIFECYCLE_IMAGE, args.image, args.unset, ui, |w| {
        w.lifecycle_image
    })
}

/// Shows, sets or unsets one image setting; `current` picks it from the file as written.
fn image_setting(
    path: &Path,
    setting: &ImageSetting,
    image: Option<Given<ImageRef>>,
    unset: bool,
    ui: &Ui,
    current: impl FnOnce(Written) -> Option<String>,
) -> Result<()> {
    let ImageSetting { key, what, command } = setting;
    if unset {
        let removed = config::edit(path, |doc| edits::unset_top_level(doc, key))?.shown(ui);
        match removed {
            Some(old) => ui.status(format!("Removed the {what} ({old})")),
            None => ui.status(format!("No {what} is set; nothing to remove")),
        }
        return Ok(());
    }
    match image {
        Some(given) => {
            let set = config::edit(path, |doc| {
                edits::set_top_level_string(doc, key, &given.text)
            })?
            .shown(ui);
            match set {
                Set::Unchanged => ui.status(format!("The {what} is already {given}")),
                Set::New | Set::Replaced(_) => {
                    let mut first = what.to_string();
                    first[..1].make_ascii_uppercase();
                    ui.status(format!("{first} set to {given}"))
                }
            }
        }
        None => {
            let file = load_config(path, ui)?;
            match current(file.written) {
                Some(value) => ui.data(value),
                None => ui.status(format!("No {what} is set (set one with: {command})")),
            }
        }
    }
    Ok(())
}

fn trusted_builders(path: &Path, cmd: TrustedBuildersCommand, ui: &Ui) -> Result<()> {
    match cmd {
        TrustedBuildersCommand::Add { image: given } => {
            let added = config::edit(path, |doc| {
                edits::add_trusted_builder(doc, &given.text, &given.value)
            })?
            .shown(ui);
            if added {
                ui.status(format!("Trusted builder {given}"));
            } else {
                ui.status(format!("{given} is already a trusted builder"));
            }
        }
        TrustedBuildersCommand::Remove { image: given } => {
            let removed =
                config::edit(path, |doc| edits::remove_trusted_builder(doc, &given.value))?
                    .shown(ui);
            if removed {
                ui.status(format!("{given} is no longer a trusted builder"));
            } else {
                ui.status(format!(
                    "{given} is not a trusted builder; nothing to remove"
                ));
            }
        }
        TrustedBuildersCommand::List(out) => {
            let file = load_config(path, ui)?;
            list_strings(
                ui,
                out.output,
                &file.written.trusted_builders,
                || "No trusted builders are configured (the well-known builders are always trusted; add one with: cnb config trusted-builders add <IMAGE>)",
            );
        }
    }
    Ok(())
}

fn pull_policy(path: &Path, args: PullPolicyArgs, ui: &Ui) -> Result<()> {
    if args.unset {
        let removed =
            config::edit(path, |doc| edits::unset_top_level(doc, keys::PULL_POLICY))?.shown(ui);
        match removed {
            Some(_) => ui.status(format!(
                "Removed the pull-policy setting; the default, {}, applies",
                PullPolicy::default().as_str()
            )),
            None => ui.status("No pull-policy is set; nothing to remove"),
        }
        return Ok(());
    }
    match args.policy {
        Some(policy) => {
            let set = config::edit(path, |doc| {
                edits::set_top_level_string(doc, keys::PULL_POLICY, policy.as_str())
            })?
            .shown(ui);
            match set {
                Set::Unchanged => {
                    ui.status(format!("The pull policy is already {}", policy.as_str()))
                }
                Set::New | Set::Replaced(_) => {
                    ui.status(format!("Pull policy set to {}", policy.as_str()))
                }
            }
        }
        None => {
            let file = load_config(path, ui)?;
            match file.config.pull_policy {
                Some(p) => ui.data(p.as_str()),
                None => {
                    ui.data(PullPolicy::default().as_str());
                    ui.verbose(1, "(not set; this is the default)");
                }
            }
        }
    }
    Ok(())
}
