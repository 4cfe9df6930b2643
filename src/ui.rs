//! Output policy, decided in one place: where text goes, colour, verbosity, progress.
//!
//! Data goes to stdout through [`Ui::data`]; everything else goes to stderr.
//! Colour is off when `--no-color` or `NO_COLOR` is given or stderr is not a
//! terminal. Progress bars are drawn only on a terminal and never with `--quiet`.

use std::io::{BufWriter, Write};

use console::{Style, Term};

use crate::cli::GlobalArgs;
use crate::env_vars;

/// What every secret (passwords, tokens, `CNB_REGISTRY_AUTH`) is shown as, in any output.
pub const REDACTED: &str = "<redacted>";

#[derive(Debug, Clone)]
pub struct Ui {
    verbosity: u8,
    quiet: bool,
    color: bool,
    stderr_is_term: bool,
}

impl Ui {
    pub fn new(global: &GlobalArgs) -> Ui {
        let stderr_is_term = Term::stderr().is_term();
        let no_color_env = std::env::var_os(env_vars::NO_COLOR).is_some_and(|v| !v.is_empty());
        let color = stderr_is_term && !global.no_color && !no_color_env;
        console::set_colors_enabled_stderr(color);
        console::set_colors_enabled(color && Term::stdout().is_term());
        Ui {
            verbosity: global.verbose,
            quiet: global.quiet,
            color,
            stderr_is_term,
        }
    }

    /// A Ui for tests and library callers: no colour, no progress, normal verbosity.
    pub fn plain() -> Ui {
        Ui {
            verbosity: 0,
            quiet: false,
            color: false,
            stderr_is_term: false,
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

    /// A line of data on stdout (what scripts read).
    pub fn data(&self, line: impl AsRef<str>) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", line.as_ref());
    }

    /// Stdout for data written piece by piece (long listings), buffered. Write
    /// errors (a closed pipe) are the caller's to ignore, as [`Ui::data`] does.
    pub fn data_out(&self) -> impl Write {
        BufWriter::new(std::io::stdout().lock())
    }

    /// A status line on stderr ("Using mirror ..."), hidden by `--quiet`.
    pub fn status(&self, line: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", line.as_ref());
        }
    }

    /// Detail shown with `-v` (level 1) or `-vv` (level 2).
    pub fn verbose(&self, level: u8, line: impl AsRef<str>) {
        if !self.quiet && self.verbosity >= level {
            eprintln!("{}", Style::new().dim().apply_to(line.as_ref()));
        }
    }

    /// A warning on stderr, hidden by `--quiet`.
    pub fn warn(&self, line: impl AsRef<str>) {
        if !self.quiet {
            eprintln!(
                "{} {}",
                Style::new().yellow().bold().apply_to("warning:"),
                line.as_ref()
            );
        }
    }

    /// An error on stderr, always shown: the message and its causes, one line.
    pub fn error(&self, err: &anyhow::Error) {
        eprintln!("{} {err:#}", Style::new().red().bold().apply_to("error:"));
    }

    /// A follow-up line under an error or warning ("  hint: ...").
    pub fn hint(&self, line: impl AsRef<str>) {
        eprintln!(
            "  {} {}",
            Style::new().cyan().apply_to("hint:"),
            line.as_ref()
        );
    }
}
