//! One module per top-level command: glue between the CLI and the library modules.

pub mod build;
pub mod completion;
pub mod config;
pub mod local_registry;
pub mod registry_ca;
pub mod resolve;

use std::path::Path;

use crate::cli::RegistryArgs;
use crate::config::{Config, ConfigError, ConfigFile, ConfigWarning, Edited};
use crate::settings::RegistrySettings;
use crate::ui::Ui;

/// The registry flags of one invocation over the config's registry settings, with the
/// environment's proxies. The CA files (the flags', then the config's) are read here.
pub fn registry_settings(args: &RegistryArgs, config: &Config) -> anyhow::Result<RegistrySettings> {
    let cas = args
        .registry_cas
        .iter()
        .chain(&config.registry_cas)
        .map(|entry| crate::ca::RegistryCa::load(entry.registry.clone(), &entry.path))
        .collect::<Result<Vec<_>, _>>()?;
    let proxy = crate::proxy::ProxySettings::from_env()?;
    Ok(RegistrySettings::resolve(
        config,
        &args.registry_mirrors,
        &args.insecure_registries,
        args.registry_timeout,
        cas,
        proxy,
    ))
}

/// Reads the config file and prints what it warns about (see [`show_config_warnings`]).
pub fn load_config(path: &Path, ui: &Ui) -> Result<ConfigFile, ConfigError> {
    let file = ConfigFile::load(path)?;
    show_config_warnings(ui, &file.warnings);
    Ok(file)
}

/// What an edit of the config file returned, once its warnings are printed.
pub trait EditedExt<T> {
    fn shown(self, ui: &Ui) -> T;
}

impl<T> EditedExt<T> for Edited<T> {
    fn shown(self, ui: &Ui) -> T {
        show_config_warnings(ui, &self.warnings);
        self.value
    }
}

/// Prints config warnings on stderr: the warning, then for a file pack rewrote, each
/// thing it lost, the commands that put them back and where cnb's copy is.
pub fn show_config_warnings(ui: &Ui, warnings: &[ConfigWarning]) {
    for warning in warnings {
        ui.warn(warning.to_string());
        let ConfigWarning::Lost(lost) = warning else {
            continue;
        };
        for item in &lost.items {
            ui.status(format!("  lost: {}", item.what));
        }
        match lost.comment_lines {
            0 => {}
            1 => ui.status("  lost: 1 line with a comment"),
            n => ui.status(format!("  lost: {n} lines with comments")),
        }
        if let Some(command) = lost.restore_command() {
            ui.status(format!("  restore with: {command}"));
        }
        ui.status(format!(
            "  cnb's copy of the file as cnb last wrote it: {} (delete it if you meant to remove these)",
            lost.copy.display()
        ));
    }
}

/// The async runtime for commands that do network or Docker work.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("could not start the async runtime: {e}"))
}
