//! The config file (SPEC §2): where it lives, a typed view of it, and edits that
//! keep everything the user wrote.
//!
//! The format is pack's `~/.pack/config.toml` plus cnb's `insecure-registries`
//! and ordered lists of mirrors under `[registry-mirrors]`. There is one way in and
//! one way out: every read parses the file into a `toml_edit` document and checks
//! it ([`ConfigFile::load`]); every change goes through [`edit`], which applies a
//! `toml_edit` change to that document and writes the result atomically.
//!
//! Where each part of SPEC §2 lives:
//! - [`locate`](mod@locate): which file (`--config`, `$CNB_CONFIG`, `$CNB_HOME`, the platform
//!   directory);
//! - [`model`]: the typed view ([`Config`]), the values as written ([`Written`]), and
//!   the lookups the rest of cnb uses (an entry wins over `*`, SPEC §4);
//! - [`read`]: reading the file (size cap, UTF-8), parsing, and checking every key
//!   cnb knows, with the line and column of the first problem;
//! - [`edits`]: the change each command makes to the document, keeping comments,
//!   order, formatting and unknown keys, and pack's one-mirror string form (SPEC §11);
//! - [`write`](mod@write): [`edit`]: the no-op check, the lock, the refusals (special and
//!   read-only files) and the atomic write. docs/configuration.md says what each
//!   promises.

pub mod edits;
mod locate;
mod model;
mod pack;
mod read;
mod write;

use std::path::PathBuf;

use thiserror::Error;

pub use locate::{CONFIG_FILE_NAME, ConfigLocation, locate};
pub use model::{
    CaFile, Config, ConfigFile, PullPolicy, RegistryMirrors, RunImageMirrors, Written,
};
pub use pack::{Lost, LostItem, copy_path};
pub use read::{MAX_FILE_BYTES, line_column};
pub use write::{Edited, edit};

/// Top-level keys cnb reads. Every other key is kept as it is.
pub mod keys {
    pub const DEFAULT_BUILDER: &str = "default-builder-image";
    /// pack's key for the lifecycle image of untrusted builders.
    pub const LIFECYCLE_IMAGE: &str = "lifecycle-image";
    pub const PULL_POLICY: &str = "pull-policy";
    pub const INSECURE_REGISTRIES: &str = "insecure-registries";
    pub const REGISTRY_MIRRORS: &str = "registry-mirrors";
    /// cnb's own: a registry's mirrors in order, when it has more than one (pack's
    /// `registry-mirrors` holds the first; docs/configuration.md).
    pub const REGISTRY_MIRROR_LISTS: &str = "registry-mirror-lists";
    pub const RUN_IMAGES: &str = "run-images";
    pub const RUN_IMAGE: &str = "image";
    pub const RUN_IMAGE_MIRRORS: &str = "mirrors";
    pub const TRUSTED_BUILDERS: &str = "trusted-builders";
    pub const TRUSTED_BUILDER_NAME: &str = "name";
    /// cnb's own: the dev cluster's registry, `host:port` (wins over discovery, SPEC §10).
    pub const LOCAL_REGISTRY: &str = "local-registry";
    /// cnb's own: registry -> path of a PEM file with extra CA certificates (pack ignores it).
    pub const REGISTRY_CA: &str = "registry-ca";
}

/// Something about a config file that works, but not as its author may think. The
/// commands print these as warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigWarning {
    /// Two keys of `[registry-mirrors]` name one registry (pack keeps both); `name` is
    /// not used because `winner`, the stored form, is there.
    ShadowedEntry {
        path: PathBuf,
        line: usize,
        name: String,
        winner: String,
        registry: String,
    },
    /// The file lost what cnb wrote and pack does not know (pack rewrote it).
    Lost(Box<Lost>),
}

impl std::fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigWarning::ShadowedEntry {
                path,
                line,
                name,
                winner,
                registry,
            } => write!(
                f,
                "config file {}:{line}: the [{}] entry '{name}' is not used: '{winner}' names the same registry ({registry}) and wins, for pack too, which looks registries up by that spelling; remove '{name}'",
                path.display(),
                keys::REGISTRY_MIRRORS
            ),
            ConfigWarning::Lost(lost) => lost.fmt(f),
        }
    }
}

/// Why the config file could not be found, read or written. Each message names the
/// file; the operating system's reason is part of the message (and not repeated as
/// a source, so a printed chain says it once).
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("no config directory could be found for this user; set CNB_CONFIG or pass --config")]
    NoConfigDir,
    #[error("could not read config file {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "config file {} is a directory; pass --config with the path of a file (such as {})",
        path.display(),
        path.join(CONFIG_FILE_NAME).display()
    )]
    IsDirectory { path: PathBuf },
    #[error(
        "config file {path} is larger than {} MiB, the most cnb reads; is it the right file?",
        MAX_FILE_BYTES / (1024 * 1024)
    )]
    TooLarge { path: PathBuf },
    /// A syntax error or a value of the wrong type/shape. `message` says what was expected.
    #[error("invalid config file {path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "config file {path} is {kind}, not a regular file; cnb only writes regular files (pass --config with another path)"
    )]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error(
        "config file {path} is read-only; cnb does not change read-only files (make it writable with: chmod u+w {path})"
    )]
    ReadOnly { path: PathBuf },
    #[error("could not write config file {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("could not lock config file {path}: {error}")]
    Lock {
        path: PathBuf,
        error: std::io::Error,
    },
}

#[cfg(test)]
mod pack_tests;
#[cfg(test)]
mod tests;
