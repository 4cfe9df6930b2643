//! `cnb local-registry`: the registry the dev cluster declares (KEP-1755), or the config's
//! `local-registry`, and where it was found. Exit status 1 when there is none.

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{GlobalArgs, LocalRegistryArgs, OutputFormat};
use crate::config::{self, Config};
use crate::ui::Ui;

pub fn run(global: &GlobalArgs, args: LocalRegistryArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let location = config::locate(global.config.as_deref())?;
    let config = Config::load(&location.path)?;
    let runtime = crate::app::runtime()?;
    let found = runtime.block_on(crate::local_registry::find(
        &config,
        &location.path,
        args.kube_context.as_deref(),
        ui,
    ));
    let found = found.map_err(discovery_error)?;
    match args.output.output {
        OutputFormat::Text => {
            for line in found.render_text() {
                ui.data(line);
            }
        }
        OutputFormat::Json => {
            let text =
                serde_json::to_string_pretty(&found.report()).context("could not write JSON")?;
            ui.data(text);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A discovery error for `main`: exit status 2 when `--kube-context` names no context.
fn discovery_error(err: crate::local_registry::DiscoveryError) -> anyhow::Error {
    if err.is_usage() {
        crate::error::UsageError(err.to_string()).into()
    } else {
        err.into()
    }
}
