//! `cnb completion <shell>`: prints the registration script. Needs no config file.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::CompletionArgs;
use crate::completion;

pub fn run(args: CompletionArgs) -> anyhow::Result<ExitCode> {
    let script = completion::script(args.shell);
    let mut out = std::io::stdout().lock();
    match out.write_all(script.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // `cnb completion bash | head` is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e).context("could not write the completion script to stdout"),
    }
}
