//! `cnb build`.

use std::process::ExitCode;

use crate::cli::{BuildArgs, GlobalArgs};
use crate::ui::Ui;

pub fn run(global: &GlobalArgs, args: BuildArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let _ = (global, args, ui);
    anyhow::bail!("cnb build is not built yet")
}
