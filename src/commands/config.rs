//! `cnb config ...`.

use std::process::ExitCode;

use crate::cli::{ConfigCommand, GlobalArgs};
use crate::ui::Ui;

pub fn run(global: &GlobalArgs, cmd: ConfigCommand, ui: &Ui) -> anyhow::Result<ExitCode> {
    let _ = (global, cmd, ui);
    anyhow::bail!("cnb config is not built yet")
}
