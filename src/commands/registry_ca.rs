//! `cnb config registry-ca add|remove|list` (SPEC §9): a PEM file of extra CA
//! certificates per registry, stored in the config as the file's absolute path.

use std::path::Path;

use anyhow::Result;
use serde_json::json;

use crate::ca::RegistryCa;
use crate::cli::{OutputFormat, RegistryCaCommand};
use crate::commands::{EditedExt, load_config};
use crate::config;
use crate::config::edits::{self, Set};
use crate::error::UsageError;
use crate::ui::Ui;

pub fn run(path: &Path, cmd: RegistryCaCommand, ui: &Ui) -> Result<()> {
    match cmd {
        RegistryCaCommand::Add { registry, file } => {
            // Read now, so a file that is not a CA is refused before anything is written.
            let ca =
                RegistryCa::load(registry.clone(), &file).map_err(|e| UsageError(e.to_string()))?;
            let Some(stored) = ca.path.to_str().map(str::to_string) else {
                return Err(UsageError(format!(
                    "the path {} is not UTF-8, which the config file cannot hold; move the CA to another path",
                    ca.path.display()
                ))
                .into());
            };
            let set = config::edit(path, |doc| edits::set_registry_ca(doc, &registry, &stored))?
                .shown(ui);
            let count = match ca.certificates.len() {
                1 => "1 certificate".to_string(),
                n => format!("{n} certificates"),
            };
            match set {
                Set::New => ui.status(format!("Added CA file {stored} ({count}) for {registry}")),
                Set::Replaced(old) => ui.status(format!(
                    "Replaced the CA file of {registry}: {stored} ({count}), was {old}"
                )),
                Set::Unchanged => ui.status(format!(
                    "{registry} already uses the CA file {stored}; nothing changed"
                )),
            }
        }
        RegistryCaCommand::Remove { registry } => {
            let removed =
                config::edit(path, |doc| edits::remove_registry_ca(doc, &registry))?.shown(ui);
            match removed {
                Some(file) => ui.status(format!("Removed the CA file {file} of {registry}")),
                None => ui.status(format!(
                    "No CA file is configured for {registry}; nothing to remove"
                )),
            }
        }
        RegistryCaCommand::List(out) => {
            let file = load_config(path, ui)?;
            let rows = file
                .config
                .registry_cas
                .iter()
                .zip(&file.written.registry_cas);
            match out.output {
                OutputFormat::Json => ui.data(
                    serde_json::Value::Array(
                        rows.map(|(ca, _)| {
                            json!({"registry": ca.registry.to_string(), "file": ca.path.display().to_string()})
                        })
                        .collect(),
                    )
                    .to_string(),
                ),
                OutputFormat::Text => {
                    if file.config.registry_cas.is_empty() {
                        ui.status(
                            "No registry CAs are configured (add one with: cnb config registry-ca add <REGISTRY> <PEM-FILE>)",
                        );
                    }
                    for (ca, _) in rows {
                        ui.data(format!("{} {}", ca.registry, ca.path.display()));
                    }
                }
            }
        }
    }
    Ok(())
}
