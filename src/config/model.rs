//! What a config file says: the typed view the rest of cnb uses, and the values as
//! the user wrote them (what `list` commands show).

use std::path::Path;

use super::{ConfigError, ConfigWarning, pack, read};
use crate::reference::{ImageRef, InsecureEntry, Mirror, MirrorKey, Registry};

/// When images are pulled (`pull-policy`, `--pull-policy`). The strings are pack's; the
/// doc comments are the help text of the command-line values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PullPolicy {
    /// Pull every time
    #[default]
    Always,
    /// Pull only when the image is not in the daemon
    IfNotPresent,
    /// Never pull; use what the daemon has
    Never,
}

impl PullPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "always",
            PullPolicy::IfNotPresent => "if-not-present",
            PullPolicy::Never => "never",
        }
    }

    pub fn parse(value: &str) -> Option<PullPolicy> {
        match value {
            "always" => Some(PullPolicy::Always),
            "if-not-present" => Some(PullPolicy::IfNotPresent),
            "never" => Some(PullPolicy::Never),
            _ => None,
        }
    }
}

/// A registry's mirrors in preference order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryMirrors {
    pub key: MirrorKey,
    pub mirrors: Vec<Mirror>,
}

/// A run image's mirror images in preference order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunImageMirrors {
    pub image: ImageRef,
    pub mirrors: Vec<ImageRef>,
}

/// A registry's extra CA file (`[registry-ca]` or `--registry-ca`, SPEC §9): the PEM file's path, absolute
/// (a relative path in the file is relative to the config file's directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaFile {
    pub registry: Registry,
    pub path: std::path::PathBuf,
}

/// The validated contents of a config file. Lists keep file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub default_builder: Option<ImageRef>,
    /// The image the lifecycle's own phases run from for an untrusted builder.
    pub lifecycle_image: Option<ImageRef>,
    pub pull_policy: Option<PullPolicy>,
    pub registry_mirrors: Vec<RegistryMirrors>,
    pub run_image_mirrors: Vec<RunImageMirrors>,
    pub insecure_registries: Vec<InsecureEntry>,
    pub trusted_builders: Vec<ImageRef>,
    /// `local-registry`: used instead of asking the kube context's cluster.
    pub local_registry: Option<Registry>,
    pub registry_cas: Vec<CaFile>,
}

/// The values exactly as they are written in the file, in file order, parallel to
/// [`Config`]'s lists (same length, same order). `list` commands show these, so a
/// user sees what they wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    pub default_builder: Option<String>,
    pub lifecycle_image: Option<String>,
    pub pull_policy: Option<String>,
    /// Registry (or `*`) as written, mirrors as written.
    pub registry_mirrors: Vec<(String, Vec<String>)>,
    /// Image as written, mirror images as written.
    pub run_image_mirrors: Vec<(String, Vec<String>)>,
    pub insecure_registries: Vec<String>,
    pub trusted_builders: Vec<String>,
    /// Registry as written, path as written.
    pub registry_cas: Vec<(String, String)>,
    /// Whether `[registry-mirrors]` has something pack cannot read or use: cnb's older
    /// form (an array) or a mirror not in pack's form. The next change rewrites it
    /// (docs/configuration.md, "What pack sees").
    pub pack_cannot_use: bool,
}

/// A validated config file: the typed view and the values as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigFile {
    pub config: Config,
    pub written: Written,
    /// What works but deserves a word (a `[registry-mirrors]` key that another one
    /// shadows; what the file lost when pack rewrote it), in file order.
    pub warnings: Vec<ConfigWarning>,
}

impl ConfigFile {
    /// Reads and validates the file; a missing file is an empty config. A file with
    /// nothing pack would drop is compared with cnb's copy of it (see
    /// [`copy_path`](super::copy_path)), and what it lost is a warning.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let Some(text) = read::read_file(path)? else {
            return Ok(ConfigFile::default());
        };
        let doc = read::parse_document(&text, path)?;
        let mut file = read::validate(&doc, &text, path)?;
        if pack::pack_keeps_all(doc.as_table(), &text)
            && let Some(lost) = pack::lost_since_copy(path, &text, &file)
        {
            file.warnings.push(ConfigWarning::Lost(Box::new(lost)));
        }
        Ok(file)
    }

    /// Parses file contents (`path` is only used in error messages).
    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
        read::validate(&read::parse_document(text, path)?, text, path)
    }
}

impl Config {
    /// Reads and validates the file; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        ConfigFile::load(path).map(|f| f.config)
    }

    /// Parses file contents (`path` is only used in error messages).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        ConfigFile::parse(text, path).map(|f| f.config)
    }

    /// The `registry-mirrors` entry for `key` (matched on the normalised registry).
    pub fn registry_mirrors_entry(&self, key: &MirrorKey) -> Option<&RegistryMirrors> {
        self.registry_mirrors.iter().find(|e| &e.key == key)
    }

    /// The mirrors configured for `registry`: its own entry, else the `*` entry, else none.
    /// An entry with an empty list (`"quay.io" = []`) means "no mirrors", and the `*` entry
    /// does not apply to that registry.
    pub fn mirrors_for(&self, registry: &Registry) -> &[Mirror] {
        let own = MirrorKey::Registry(registry.clone());
        self.registry_mirrors_entry(&own)
            .or_else(|| self.registry_mirrors_entry(&MirrorKey::Any))
            .map(|e| e.mirrors.as_slice())
            .unwrap_or(&[])
    }

    /// The user's run-image mirrors for `image` (matched on repository, any tag).
    pub fn run_image_mirrors_for(&self, image: &ImageRef) -> &[ImageRef] {
        let wanted = image.repository_key();
        self.run_image_mirrors
            .iter()
            .find(|e| e.image.repository_key() == wanted)
            .map(|e| e.mirrors.as_slice())
            .unwrap_or(&[])
    }
}
