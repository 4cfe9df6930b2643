//! `cnb build`: thin glue over [`crate::build`].

use std::process::ExitCode;

use crate::cli::{BuildArgs, GlobalArgs};
use crate::ui::Ui;

pub fn run(global: &GlobalArgs, args: BuildArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let settings = crate::build::BuildSettings::from_args(global, &args, ui)?;
    let runtime = crate::app::runtime()?;
    runtime.block_on(crate::build::build(settings, ui))
}
