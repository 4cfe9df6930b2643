//! Output policy, decided in one place: where text goes, colour, verbosity, progress,
//! and what happens when output cannot be written.
//!
//! Data goes to stdout through [`Ui::data`] and [`Ui::data_out`]; everything else
//! goes to stderr. Colour is off when `--no-color` or `NO_COLOR` is given or stderr is
//! not a terminal. Progress bars are drawn only on a terminal and never with `--quiet`.
//!
//! Write errors: the first error writing data is kept (later data is dropped) and
//! [`Ui::finish`] turns it into the command's error when the command returns, so
//! `cnb config registry-mirrors list > /dev/full` fails; a closed pipe (`| head`) is
//! not an error. A failed write to stderr is ignored: there is nowhere left to say so,
//! and the exit status still says whether the command worked.

use std::fmt;
use std::io::{BufWriter, ErrorKind, StdoutLock, Write};
use std::sync::{Arc, Mutex, PoisonError};

use console::{Style, Term};
use thiserror::Error;

use crate::env_vars;
use crate::text::escape_controls;

/// What the user asked of the output (`-v`, `--quiet`, `--no-color`), as plain values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputOptions {
    /// How many `-v` were given.
    pub verbosity: u8,
    pub quiet: bool,
    pub no_color: bool,
}

#[derive(Debug, Clone)]
pub struct Ui {
    verbosity: u8,
    quiet: bool,
    color: bool,
    stderr_is_term: bool,
    /// The first error writing data to stdout (shared by clones).
    data_error: Arc<Mutex<Option<std::io::Error>>>,
}

/// Data could not be written to stdout. The OS reason is part of the message (not a
/// source, so it is printed once).
#[derive(Debug, Error)]
#[error("could not write to standard output: {0}")]
pub struct OutputError(std::io::Error);

impl From<std::io::Error> for OutputError {
    fn from(error: std::io::Error) -> Self {
        OutputError(error)
    }
}

impl Ui {
    /// The Ui for a command: `options` from the command line, colour also off with
    /// `NO_COLOR` or when stderr is not a terminal.
    pub fn new(options: OutputOptions) -> Ui {
        let stderr_is_term = Term::stderr().is_term();
        let no_color_env = std::env::var_os(env_vars::NO_COLOR).is_some_and(|v| !v.is_empty());
        let color = stderr_is_term && !options.no_color && !no_color_env;
        console::set_colors_enabled_stderr(color);
        console::set_colors_enabled(color && Term::stdout().is_term());
        Ui {
            verbosity: options.verbosity,
            quiet: options.quiet,
            color,
            stderr_is_term,
            data_error: Arc::default(),
        }
    }

    /// A Ui for tests and library callers: no colour, no progress, normal verbosity.
    pub fn plain() -> Ui {
        Ui {
            verbosity: 0,
            quiet: false,
            color: false,
            stderr_is_term: false,
            data_error: Arc::default(),
        }
    }

    pub fn verbosity(&self) -> u8 {
        self.verbosity
    }

    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    pub fn color(&self) -> bool {
        self.color
    }

    /// Whether progress bars may be drawn (stderr is a terminal, not quiet).
    pub fn progress_bars(&self) -> bool {
        self.stderr_is_term && !self.quiet
    }

    /// A line of data on stdout (what scripts read). A write error is kept for
    /// [`Ui::finish`].
    pub fn data(&self, line: impl AsRef<str>) {
        let mut out = self.data_out();
        let line = escape_controls(line.as_ref());
        let _ = out
            .write_all(line.as_bytes())
            .and_then(|()| out.write_all(b"\n"));
    }

    /// Stdout for data written piece by piece (long listings), buffered. Its writes
    /// return errors, so a caller can stop early; the first error is also kept for
    /// [`Ui::finish`], so a caller may ignore them.
    pub fn data_out(&self) -> DataOut<'_> {
        DataOut {
            ui: self,
            out: BufWriter::new(std::io::stdout().lock()),
        }
    }

    /// The end of the command's output: flushes stdout and returns the first error
    /// writing data, if any. A closed pipe (the reader is gone) is not an error.
    pub fn finish(&self) -> Result<(), OutputError> {
        let _ = self.data_out().flush();
        match self.take_data_error() {
            Some(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
            Some(e) => Err(OutputError(e)),
            None => Ok(()),
        }
    }

    fn data_failed(&self) -> bool {
        self.data_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    fn keep_data_error(&self, error: &std::io::Error) {
        let mut kept = self
            .data_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if kept.is_none() {
            // `io::Error` is not `Clone`; an OS error is rebuilt from its number.
            *kept = Some(match error.raw_os_error() {
                Some(code) => std::io::Error::from_raw_os_error(code),
                None => std::io::Error::new(error.kind(), error.to_string()),
            });
        }
    }

    fn take_data_error(&self) -> Option<std::io::Error> {
        self.data_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// A status line on stderr ("Using mirror ..."), hidden by `--quiet`.
    pub fn status(&self, line: impl AsRef<str>) {
        if !self.quiet {
            to_stderr(format_args!("{}", safe(line.as_ref())));
        }
    }

    /// Detail shown with `-v` (level 1) or `-vv` (level 2).
    pub fn verbose(&self, level: u8, line: impl AsRef<str>) {
        if !self.quiet && self.verbosity >= level {
            to_stderr(format_args!(
                "{}",
                Style::new().dim().apply_to(safe(line.as_ref()))
            ));
        }
    }

    /// A warning on stderr, hidden by `--quiet`.
    pub fn warn(&self, line: impl AsRef<str>) {
        if !self.quiet {
            to_stderr(format_args!(
                "{} {}",
                Style::new().yellow().bold().apply_to("warning:"),
                safe(line.as_ref())
            ));
        }
    }

    /// An error on stderr, always shown: the message and its causes, one line.
    pub fn error(&self, err: &anyhow::Error) {
        to_stderr(format_args!(
            "{} {}",
            Style::new().red().bold().apply_to("error:"),
            safe(&format!("{err:#}"))
        ));
    }

    /// A follow-up line under an error or warning ("  hint: ...").
    pub fn hint(&self, line: impl AsRef<str>) {
        to_stderr(format_args!(
            "  {} {}",
            Style::new().cyan().apply_to("hint:"),
            safe(line.as_ref())
        ));
    }
}

/// One line on stderr; a failed write is ignored (see the module documentation).
/// Control characters in it are escaped: messages carry text from registries, the
/// daemon and the command line ([`crate::text`]). cnb's own colours are added after.
fn to_stderr(line: fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// `text` as it may reach the terminal.
fn safe(text: &str) -> std::borrow::Cow<'_, str> {
    escape_controls(text)
}

/// Buffered stdout for data ([`Ui::data_out`]). After the first error (kept by the
/// [`Ui`]) it writes nothing more.
pub struct DataOut<'a> {
    ui: &'a Ui,
    out: BufWriter<StdoutLock<'static>>,
}

impl DataOut<'_> {
    fn check<T>(&self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result {
            self.ui.keep_data_error(e);
        }
        result
    }
}

impl Write for DataOut<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.ui.data_failed() {
            // The error itself is the Ui's to report; this only stops the caller.
            return Err(ErrorKind::BrokenPipe.into());
        }
        let result = self.out.write(buf);
        self.check(result)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.ui.data_failed() {
            return Ok(());
        }
        let result = self.out.flush();
        self.check(result)
    }
}

impl Drop for DataOut<'_> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}
