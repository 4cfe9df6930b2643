//! `cnb resolve`.

use std::process::ExitCode;

use crate::cli::{GlobalArgs, ResolveArgs};
use crate::ui::Ui;

pub fn run(global: &GlobalArgs, args: ResolveArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let _ = (global, args, ui);
    anyhow::bail!("cnb resolve is not built yet")
}
