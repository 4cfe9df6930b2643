//! Running the lifecycle's containers (SPEC §7.7, §7.8): the creator, or the phases one
//! after another with their temporary volumes, stopping at the first phase that fails;
//! cache volumes cleared or kept; every container and temporary volume removed after an
//! exit status or an error. On a stop signal the command drops this work and the daemon's
//! tracked leftovers are removed instead ([`crate::docker::Daemon::clean_up`]).

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use super::BuildSettings;
use crate::docker::{Daemon, RunOptions};
use crate::error::ExitStatus;
use crate::interrupt::Interrupt;
use crate::lifecycle::{
    BuilderMetadata, Creator, GENERATED_DIR, Phase, Phases, generated_dockerfiles,
};
use crate::reference::ImageRef;
use crate::ui::Ui;

/// Maps the lifecycle container's exit status to cnb's.
pub fn exit_status(code: i64) -> anyhow::Result<ExitCode> {
    phase_status(code, "the lifecycle")
}

/// `code` as cnb's exit status (1 to 255; anything else becomes 1), `who` naming what
/// failed in the message.
fn phase_status(code: i64, who: &str) -> anyhow::Result<ExitCode> {
    if code == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    let passed = u8::try_from(code).ok().filter(|c| *c != 0).unwrap_or(1);
    Err(ExitStatus {
        code: passed,
        message: format!("{who} failed with exit status {code}"),
    }
    .into())
}

/// Names for the layers and app volumes of one phases run: `cnb-layers-<pid>-<time>`,
/// `cnb-app-<pid>-<time>`.
pub(super) fn temporary_volume_names() -> (String, String) {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let id = format!("{}-{nanos:x}", std::process::id());
    (format!("cnb-layers-{id}"), format!("cnb-app-{id}"))
}

/// Empties (`--clear-cache`) or makes sure of the cache volumes.
async fn prepare_caches(
    daemon: &Daemon,
    volumes: &[(String, String)],
    settings: &BuildSettings,
    ui: &Ui,
) -> anyhow::Result<()> {
    for (volume, _) in volumes {
        if settings.clear_cache {
            ui.verbose(1, format!("Clearing cache volume {volume}"));
            daemon.clear_volume(volume).await?;
        } else {
            daemon.ensure_volume(volume).await?;
        }
    }
    Ok(())
}

/// The creator, in one container.
pub(super) async fn creator(
    daemon: &Daemon,
    creator: &Creator,
    settings: &BuildSettings,
    interrupt: &Interrupt,
    builder: &ImageRef,
    ui: &Ui,
) -> anyhow::Result<i64> {
    prepare_caches(daemon, &creator.spec.volumes, settings, ui).await?;
    ui.status(format!(
        "Running the lifecycle of {builder} (platform API {})",
        creator.platform_api
    ));
    let options = RunOptions {
        interrupt: Some(interrupt.clone()),
        ..RunOptions::default()
    };
    daemon.run_with(&creator.spec, &options, ui).await
}

/// The phases, in order, sharing their temporary volumes, which are removed afterwards
/// whatever happened. Returns 0, or the status of the phase that failed (as an error
/// that names the phase).
pub(super) async fn phases(
    daemon: &Daemon,
    phases: &Phases,
    settings: &BuildSettings,
    metadata: &BuilderMetadata,
    interrupt: &Interrupt,
    ui: &Ui,
) -> anyhow::Result<i64> {
    prepare_caches(daemon, &phases.cache_volumes(), settings, ui).await?;
    let mut made = Vec::new();
    let mut result = Ok(0);
    for volume in &phases.temporary_volumes {
        made.push(volume.clone());
        if let Err(e) = daemon.create_temporary_volume(volume).await {
            result = Err(e.into());
            break;
        }
    }
    ui.verbose(
        1,
        format!("Temporary volumes for the phases: {}", made.join(", ")),
    );
    if result.is_ok() {
        result = run_phases(daemon, phases, metadata, interrupt, ui).await;
    }
    for volume in &made {
        if let Err(e) = daemon.remove_temporary_volume(volume).await {
            ui.warn(format!(
                "could not remove the temporary volume {volume}: {e}; remove it with `docker volume rm {volume}`"
            ));
        }
    }
    result
}

async fn run_phases(
    daemon: &Daemon,
    phases: &Phases,
    metadata: &BuilderMetadata,
    interrupt: &Interrupt,
    ui: &Ui,
) -> anyhow::Result<i64> {
    let count = phases.containers.len();
    for (i, container) in phases.containers.iter().enumerate() {
        let from = if container.phase.in_lifecycle_image() {
            "the lifecycle image"
        } else {
            "the builder"
        };
        ui.status(format!(
            "Phase {}/{count}: {} (from {from}, platform API {})",
            i + 1,
            container.phase,
            phases.platform_api
        ));
        // What the extensions generated is left by the detector in the layers volume.
        let list_after = (container.phase == Phase::Detect && metadata.has_extensions)
            .then(|| GENERATED_DIR.to_string());
        let options = RunOptions {
            interrupt: Some(interrupt.clone()),
            list_after,
            ..RunOptions::default()
        };
        let outcome = daemon.run_outcome(&container.spec, &options, ui).await?;
        if outcome.status != 0 {
            phase_status(
                outcome.status,
                &format!("the lifecycle's {} phase", container.phase),
            )?;
        }
        let dockerfiles = generated_dockerfiles(&outcome.listed);
        if !dockerfiles.is_empty() {
            anyhow::bail!(
                "the builder's image extensions generated {} for this app; cnb does not run \
                 the lifecycle's extender, which applies them, so it cannot build this app \
                 (pack can: `pack build`)",
                dockerfiles.join(", ")
            );
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_passes_the_lifecycle_code_through() {
        assert!(exit_status(0).is_ok());
        let err = exit_status(7).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 7);
        let err = exit_status(-1).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 1);
        let err = exit_status(256).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 1);
        let err = phase_status(20, "the lifecycle's detect phase").unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 20);
        assert_eq!(
            err.to_string(),
            "the lifecycle's detect phase failed with exit status 20"
        );
    }

    #[test]
    fn temporary_volumes_are_named_for_this_process() {
        let (layers, app) = temporary_volume_names();
        let pid = std::process::id().to_string();
        assert!(
            layers.starts_with(&format!("cnb-layers-{pid}-")),
            "{layers}"
        );
        assert!(app.starts_with(&format!("cnb-app-{pid}-")), "{app}");
    }
}
