//! `cnb completion <shell>`.

use std::process::ExitCode;

use crate::cli::CompletionArgs;

pub fn run(args: CompletionArgs) -> anyhow::Result<ExitCode> {
    let _ = args;
    anyhow::bail!("cnb completion is not built yet")
}
