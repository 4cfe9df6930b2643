//! Shell completion and generated documentation (SPEC §8).
//!
//! - this file: [`script`], the registration script `cnb completion <shell>` prints.
//!   It is clap_complete's dynamic ("env") script: the shell calls back into
//!   `COMPLETE=<shell> cnb -- <words>` on every TAB, so values come from the
//!   config file at completion time, not from a snapshot; and the shells cnb
//!   answers for ([`SHELLS`]), with bash's and zsh's fixes.
//! - [`candidates`]: the `configured_*` functions, the values offered for
//!   `remove` commands and builders.
//! - [`generated`]: [`man_pages`] and [`generated_files`], what is kept in the
//!   repository under `completions/` and `docs/man/`.

mod candidates;
mod generated;

pub use candidates::{
    configured_builders, configured_insecure_registries, configured_mirrors, configured_registries,
    configured_run_image_mirrors, configured_run_images, configured_trusted_builders,
};
pub use generated::{generated_files, man_pages};

use std::ffi::OsString;
use std::path::Path;

use clap::CommandFactory;
use clap_complete::env::{EnvCompleter, Shells};

use crate::cli::{Cli, Shell};
use crate::env_vars;

/// The name the scripts register completions for, and the program they call
/// back into (found on `PATH`).
pub const BIN: &str = "cnb";
/// Where the generated completion scripts are kept, relative to the repository root.
pub const COMPLETIONS_DIR: &str = "completions";
/// Where the generated man pages are kept, relative to the repository root.
pub const MAN_DIR: &str = "docs/man";

/// The shells `COMPLETE=<shell> cnb` answers for (see `app::main`): clap_complete's,
/// with bash taught about `:` and `*` ([`BashWholeWords`]) and zsh's script made to
/// work when autoloaded from `fpath` ([`ZshAutoload`]).
pub const SHELLS: Shells<'static> = Shells(&[
    &BashWholeWords,
    &clap_complete::env::Elvish,
    &clap_complete::env::Fish,
    &clap_complete::env::Powershell,
    &ZshAutoload,
]);

/// The completion script for `shell`: exactly what `COMPLETE=<shell> cnb` prints
/// when `cnb` is on `PATH`.
pub fn script(shell: Shell) -> String {
    let completer: &dyn EnvCompleter = match shell {
        Shell::Bash => &BashWholeWords,
        Shell::Zsh => &ZshAutoload,
        Shell::Fish => &clap_complete::env::Fish,
        Shell::Powershell => &clap_complete::env::Powershell,
        Shell::Elvish => &clap_complete::env::Elvish,
    };
    let name = Cli::command().get_name().to_string();
    let mut buf = Vec::new();
    completer
        .write_registration(env_vars::COMPLETE, &name, BIN, BIN, &mut buf)
        .expect("writing to a Vec cannot fail");
    String::from_utf8_lossy(&buf).into_owned()
}

/// clap_complete's bash support, with two fixes for values like `reg:5000`,
/// `http://mirror` and `*`:
///
/// - bash splits words at `:` and `=` (`COMP_WORDBREAKS`) and replaces only
///   the text after the last break. The script also passes the command line
///   up to the cursor (`_CNB_COMPLETE_LINE`); cnb completes whole shell words
///   from it and gives bash back only the part it replaces.
/// - The script reads candidates with an unquoted `$(...)`, so `*` (the
///   catch-all registry) would be expanded to the files in the current
///   directory; and bash inserts candidates as they are, where a bare `*`
///   would be expanded again when the command runs. `\*` survives both and
///   reaches cnb as `*`.
#[derive(Debug, Clone, Copy)]
pub struct BashWholeWords;

/// The line the bash script adds to clap's, after the one it follows.
const BASH_LINE_AFTER: &str = "        _CLAP_IFS=\"$IFS\" \\\n";
const BASH_LINE: &str = "        _CNB_COMPLETE_LINE=\"${COMP_LINE:0:COMP_POINT}\" \\\n";

impl EnvCompleter for BashWholeWords {
    fn name(&self) -> &'static str {
        clap_complete::env::Bash.name()
    }

    fn is(&self, name: &str) -> bool {
        clap_complete::env::Bash.is(name)
    }

    fn write_registration(
        &self,
        var: &str,
        name: &str,
        bin: &str,
        completer: &str,
        buf: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let mut script = Vec::new();
        clap_complete::env::Bash.write_registration(var, name, bin, completer, &mut script)?;
        let script = String::from_utf8_lossy(&script).replacen(
            BASH_LINE_AFTER,
            &format!("{BASH_LINE_AFTER}{BASH_LINE}"),
            1,
        );
        buf.write_all(script.as_bytes())
    }

    fn write_complete(
        &self,
        cmd: &mut clap::Command,
        args: Vec<OsString>,
        current_dir: Option<&Path>,
        buf: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let index = std::env::var(env_vars::CLAP_COMPLETE_INDEX)
            .ok()
            .and_then(|i| i.parse().ok())
            .unwrap_or_default();
        let line = std::env::var(env_vars::CNB_COMPLETE_LINE).ok();
        let ifs = std::env::var(env_vars::CLAP_IFS).unwrap_or_else(|_| "\n".to_string());
        let (args, index, replaced) = bash_words(args, index, line.as_deref());
        let candidates = clap_complete::engine::complete(cmd, args, index, current_dir)?;
        let values: Vec<String> = candidates
            .iter()
            .map(|c| {
                let value = c.get_value().to_string_lossy();
                escape_globs(value.strip_prefix(replaced.as_str()).unwrap_or(&value))
            })
            .collect();
        buf.write_all(values.join(&ifs).as_bytes())
    }
}

/// The words to complete, the index of the one under the cursor, and the
/// start of that word which bash keeps (the text before its last word break).
/// Without a usable line, bash's own words.
fn bash_words(
    args: Vec<OsString>,
    index: usize,
    line: Option<&str>,
) -> (Vec<OsString>, usize, String) {
    let Some(words) = line.and_then(shell_words) else {
        return (args, index, String::new());
    };
    let bash_current = args
        .get(index)
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let current = words.last().cloned().unwrap_or_default();
    let kept = current
        .strip_suffix(bash_current.as_str())
        .unwrap_or_default()
        .to_string();
    let index = words.len() - 1;
    (words.into_iter().map(OsString::from).collect(), index, kept)
}

/// A command line up to the cursor split into shell words; the last word is
/// the one under the cursor (empty after a space). `None` when it does not
/// split (an open quote).
fn shell_words(line: &str) -> Option<Vec<String>> {
    let mut words = shlex::split(line)?;
    let after_space = line.ends_with(char::is_whitespace) && !line.ends_with("\\ ");
    if words.is_empty() || after_space {
        words.push(String::new());
    }
    Some(words)
}

/// `*`, `?` and `[` preceded by a backslash.
fn escape_globs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// clap_complete's zsh support plus one line: when zsh autoloads the script
/// from `fpath` (as `_cnb`), the script only registers its completer with
/// `compdef`, so the first TAB of every shell would offer nothing. The added
/// line runs the completer on that first call; it does nothing when the script
/// is sourced.
#[derive(Debug, Clone, Copy)]
pub struct ZshAutoload;

impl EnvCompleter for ZshAutoload {
    fn name(&self) -> &'static str {
        clap_complete::env::Zsh.name()
    }

    fn is(&self, name: &str) -> bool {
        clap_complete::env::Zsh.is(name)
    }

    fn write_registration(
        &self,
        var: &str,
        name: &str,
        bin: &str,
        completer: &str,
        buf: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        clap_complete::env::Zsh.write_registration(var, name, bin, completer, buf)?;
        let function = name.replace('-', "_");
        writeln!(
            buf,
            "if [[ ${{funcstack[1]}} == _{bin} ]]; then _clap_dynamic_completer_{function} \"$@\"; fi"
        )
    }

    fn write_complete(
        &self,
        cmd: &mut clap::Command,
        args: Vec<OsString>,
        current_dir: Option<&Path>,
        buf: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        clap_complete::env::Zsh.write_complete(cmd, args, current_dir, buf)
    }
}

/// The file name a shell's script is kept under in `completions/`.
pub fn script_file_name(shell: Shell) -> &'static str {
    match shell {
        Shell::Bash => "cnb.bash",
        Shell::Zsh => "cnb.zsh",
        Shell::Fish => "cnb.fish",
        Shell::Powershell => "cnb.ps1",
        Shell::Elvish => "cnb.elv",
    }
}

#[cfg(test)]
mod tests;
