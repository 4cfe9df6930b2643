//! Entry point: parse, dispatch, print errors, choose the exit code.

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use clap_complete::CompleteEnv;

use crate::cli::{self, Cli, Command};
use crate::commands;
use crate::error::{ExitStatus, USAGE_EXIT_CODE, exit_code};
use crate::ui::{OutputError, OutputOptions, Ui};

pub fn main() -> ExitCode {
    // When a shell asks for completions (COMPLETE=bash cnb ...), answer and exit.
    CompleteEnv::with_factory(Cli::command)
        .shells(crate::completion::SHELLS)
        .complete();
    // One TLS provider for every client (oci-client/reqwest); ring keeps the build free of cmake.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(&e),
    };
    let ui = Ui::new(OutputOptions {
        verbosity: cli.global.verbose,
        quiet: cli.global.quiet,
        no_color: cli.global.no_color,
    });
    // Data that could not be written fails a command that otherwise worked.
    let result = run(cli, &ui).and_then(|code| ui.finish().map(|()| code).map_err(Into::into));
    match result {
        Ok(code) => code,
        Err(err) => {
            let silent = err
                .downcast_ref::<ExitStatus>()
                .is_some_and(|s| s.message.is_empty());
            if !silent {
                ui.error(&err);
            }
            ExitCode::from(exit_code(&err))
        }
    }
}

/// Prints what clap says about the command line (help and `--version` on stdout,
/// usage errors on stderr) and picks its exit status; help that cannot be written
/// is an error, as data is (a closed pipe is not). A value refused by one of cnb's
/// parsers is printed as cnb's own error, as any other (exit status 2).
fn usage(e: &clap::Error) -> ExitCode {
    if let Some(refused) = cli::refused_value(e) {
        let ui = Ui::new(OutputOptions {
            no_color: cli::no_color_in(std::env::args_os()),
            ..OutputOptions::default()
        });
        ui.error(&anyhow::Error::msg(refused.to_string()));
        return ExitCode::from(USAGE_EXIT_CODE);
    }
    match e.print() {
        Err(io) if !e.use_stderr() && io.kind() != std::io::ErrorKind::BrokenPipe => {
            let err = anyhow::Error::new(OutputError::from(io));
            Ui::plain().error(&err);
            ExitCode::FAILURE
        }
        _ => ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1)),
    }
}

fn run(cli: Cli, ui: &Ui) -> anyhow::Result<ExitCode> {
    let global = cli.global;
    match cli.command {
        Command::Config(cmd) => commands::config::run(&global, cmd, ui),
        Command::Resolve(args) => commands::resolve::run(&global, args, ui),
        Command::Build(args) => commands::build::run(&global, *args, ui),
        Command::LocalRegistry(args) => commands::local_registry::run(&global, args, ui),
        Command::Completion(args) => commands::completion::run(args),
    }
}
