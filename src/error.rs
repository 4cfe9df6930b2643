//! Exit codes and the one place errors are printed.
//!
//! Lower modules return typed errors (`thiserror`); commands add context with
//! `anyhow`. [`exit_code`] maps an error to cnb's exit status:
//! - 2: the user typed something invalid ([`UsageError`], [`crate::reference::NameError`]);
//! - the lifecycle's own status ([`ExitStatus`]) for `cnb build`;
//! - 1: anything else.

use thiserror::Error;

use crate::reference::NameError;

/// The exit status for invalid input (clap's, for its own usage errors too).
pub const USAGE_EXIT_CODE: u8 = 2;

/// Invalid input on the command line. Exit status 2; nothing is written.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// A process exit status to pass through (the lifecycle's). Printed only when non-empty.
#[derive(Debug, Error)]
#[error("{message}")]
pub struct ExitStatus {
    pub code: u8,
    pub message: String,
}

/// The exit status for an error that reached `main`.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<UsageError>().is_some() || err.downcast_ref::<NameError>().is_some() {
        return USAGE_EXIT_CODE;
    }
    for cause in err.chain() {
        if let Some(status) = cause.downcast_ref::<ExitStatus>() {
            return status.code;
        }
    }
    1
}
