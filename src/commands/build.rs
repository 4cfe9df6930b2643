//! `cnb build`: thin glue over [`crate::build`] (and [`crate::local_registry`] for
//! `--local-registry`, which only changes where the image is published).

use std::process::ExitCode;

use crate::cli::{BuildArgs, GlobalArgs};
use crate::ui::Ui;

pub fn run(global: &GlobalArgs, args: BuildArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let mut settings = crate::build::BuildSettings::from_args(global, &args, ui)?;
    let runtime = crate::app::runtime()?;
    runtime.block_on(async {
        if args.local_registry {
            super::local_registry::publish_there(global, &args, &mut settings, ui).await?;
        }
        let target = settings.local_registry.clone();
        let dry_run = settings.dry_run;
        let result = crate::build::build(settings, ui).await;
        match (target, result) {
            (Some(target), Ok(code)) if !dry_run => {
                ui.status(format!(
                    "Published {} to the local registry ({})",
                    target.image,
                    target.found.source.describe()
                ));
                for line in target.references() {
                    ui.data(line);
                }
                Ok(code)
            }
            // The KEP asks tools to show the cluster's help when a push to its registry fails.
            (Some(target), Err(err)) => match &target.found.help {
                Some(help) => Err(err.context(format!(
                    "building for the local registry {} failed (if the push failed, see the \
                     cluster's help: {help})",
                    target.found.host.key()
                ))),
                None => Err(err),
            },
            (_, result) => result,
        }
    })
}
