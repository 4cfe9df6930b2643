//! `cnb local-registry`: the registry the dev cluster declares (KEP-1755), or the config's
//! `local-registry`, and where it was found. Exit status 1 when there is none.

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{GlobalArgs, LocalRegistryArgs, OutputFormat};
use crate::config;
use crate::ui::Ui;

pub fn run(global: &GlobalArgs, args: LocalRegistryArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let location = config::locate(global.config.as_deref())?;
    let config = crate::commands::load_config(&location.path, ui)?.config;
    let runtime = super::runtime()?;
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

/// `cnb build --local-registry`: finds the registry, points the build at
/// `<host>/<repository>:<tag>` with `--publish`, and checks that the registry can take
/// the push, before the normal build flow runs.
pub async fn publish_there(
    global: &GlobalArgs,
    args: &crate::cli::BuildArgs,
    settings: &mut crate::commands::build::BuildSettings,
    ui: &Ui,
) -> anyhow::Result<()> {
    use crate::local_registry::{BuildTarget, check_reachable, find};
    let location = config::locate(global.config.as_deref())?;
    let found = find(
        &settings.config,
        &location.path,
        args.kube_context.as_deref(),
        ui,
    )
    .await
    .map_err(discovery_error)?;
    let target = BuildTarget::new(&args.image.text, &settings.image, found)?;
    if let Some(replaced) = &target.replaced {
        ui.status(format!(
            "{} names the registry {replaced}; --local-registry publishes it to {} instead",
            args.image,
            target.found.host.key()
        ));
    }
    ui.status(format!(
        "Publishing {} to the local registry from {}",
        target.image,
        target.found.source.describe()
    ));
    check_reachable(&settings.registry, &target, ui).await?;
    settings.image = target.image.clone();
    settings.publish = true;
    settings.local_registry = Some(target);
    Ok(())
}
