//! The config file (SPEC §2): where it lives, a typed view of it, and edits that
//! keep everything the user wrote.
//!
//! The format is pack's `~/.pack/config.toml` plus cnb's `insecure-registries`
//! and ordered lists of mirrors under `[registry-mirrors]`.
//! Reads produce a validated [`Config`]; writes go through [`edit`], which takes
//! a lock, re-reads the file, applies a `toml_edit` change and renames a
//! temporary file over the original (keeping its permissions). The document
//! changes themselves live in [`edits`].

mod durability;
pub mod edits;
mod fast;

use std::ffi::OsString;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

use compact_str::CompactString;
use thiserror::Error;
use toml_edit::{Document, DocumentMut, Item, TableLike, Value};

use crate::env_vars;
use crate::reference::{ImageRef, InsecureEntry, Mirror, MirrorKey, Registry};
use crate::settings::PullPolicy;

/// Top-level keys cnb reads. Every other key is kept as it is.
pub mod keys {
    pub const DEFAULT_BUILDER: &str = "default-builder-image";
    pub const PULL_POLICY: &str = "pull-policy";
    pub const INSECURE_REGISTRIES: &str = "insecure-registries";
    pub const REGISTRY_MIRRORS: &str = "registry-mirrors";
    pub const RUN_IMAGES: &str = "run-images";
    pub const RUN_IMAGE: &str = "image";
    pub const RUN_IMAGE_MIRRORS: &str = "mirrors";
    pub const TRUSTED_BUILDERS: &str = "trusted-builders";
    pub const TRUSTED_BUILDER_NAME: &str = "name";
    /// cnb's own: the dev cluster's registry, `host:port` (wins over discovery, SPEC §10).
    pub const LOCAL_REGISTRY: &str = "local-registry";
}

/// Where the config file is and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLocation {
    pub path: PathBuf,
    /// What chose it: `--config`, `CNB_CONFIG`, `CNB_HOME` or `default`.
    pub source: &'static str,
}

/// Finds the config file: `--config`, `$CNB_CONFIG`, `$CNB_HOME/config.toml`,
/// then `<config dir>/cnb/config.toml`. Empty variables count as unset.
pub fn locate(flag: Option<&Path>) -> Result<ConfigLocation, ConfigError> {
    locate_from(
        flag,
        std::env::var_os(env_vars::CNB_CONFIG),
        std::env::var_os(env_vars::CNB_HOME),
        dirs::config_dir(),
    )
}

/// [`locate`] with its inputs passed in (testable without touching the environment).
fn locate_from(
    flag: Option<&Path>,
    cnb_config: Option<OsString>,
    cnb_home: Option<OsString>,
    config_dir: Option<PathBuf>,
) -> Result<ConfigLocation, ConfigError> {
    if let Some(path) = flag {
        return Ok(ConfigLocation {
            path: path.to_path_buf(),
            source: "--config",
        });
    }
    if let Some(path) = cnb_config.filter(|v| !v.is_empty()) {
        return Ok(ConfigLocation {
            path: PathBuf::from(path),
            source: env_vars::CNB_CONFIG,
        });
    }
    if let Some(home) = cnb_home.filter(|v| !v.is_empty()) {
        return Ok(ConfigLocation {
            path: PathBuf::from(home).join(CONFIG_FILE_NAME),
            source: env_vars::CNB_HOME,
        });
    }
    let dir = config_dir.ok_or(ConfigError::NoConfigDir)?;
    Ok(ConfigLocation {
        path: dir.join("cnb").join(CONFIG_FILE_NAME),
        source: "default",
    })
}

/// From this size on, a whole-document edit checks the file on a second thread
/// while toml_edit parses and changes it.
const PARALLEL_CHECK_BYTES: usize = 32 * 1024;

/// The file name inside `CNB_HOME` and the platform config directory.
pub const CONFIG_FILE_NAME: &str = "config.toml";

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("no config directory could be found for this user; set CNB_CONFIG or pass --config")]
    NoConfigDir,
    #[error("could not read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A syntax error or a value of the wrong type/shape. `message` says what was expected.
    #[error("invalid config file {path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("could not write config file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not lock config file {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
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

/// The validated contents of a config file. Lists keep file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub default_builder: Option<ImageRef>,
    pub pull_policy: Option<PullPolicy>,
    pub registry_mirrors: Vec<RegistryMirrors>,
    pub run_image_mirrors: Vec<RunImageMirrors>,
    pub insecure_registries: Vec<InsecureEntry>,
    pub trusted_builders: Vec<ImageRef>,
    /// `local-registry`: used instead of asking the kube context's cluster.
    pub local_registry: Option<Registry>,
}

/// The values exactly as they are written in the file, in file order, parallel to
/// [`Config`]'s lists (same length, same order). `list` commands show these, so a
/// user sees what they wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    pub default_builder: Option<String>,
    pub pull_policy: Option<String>,
    /// Key as written, mirrors as written (the list that grows to thousands of
    /// entries, hence the compact form).
    pub registry_mirrors: WrittenEntries,
    /// Image as written, mirror images as written.
    pub run_image_mirrors: Vec<(String, Vec<String>)>,
    pub insecure_registries: Vec<String>,
    pub trusted_builders: Vec<String>,
}

/// Entries of a key and its values, as written, in file order. Stored flat (every
/// entry's values in one list) with inline strings of up to 24 bytes, so that a file
/// with thousands of entries takes a few allocations instead of several per entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WrittenEntries {
    keys: Vec<CompactString>,
    /// Where each entry's values end in `values`.
    ends: Vec<usize>,
    values: Vec<CompactString>,
}

impl WrittenEntries {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key and values of entry `i`.
    pub fn get(&self, i: usize) -> Option<(&str, &[CompactString])> {
        let key = self.keys.get(i)?;
        let start = i.checked_sub(1).map_or(0, |before| self.ends[before]);
        Some((key.as_str(), &self.values[start..self.ends[i]]))
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &[CompactString])> + '_ {
        (0..self.len()).map(|i| self.get(i).expect("i < len"))
    }

    fn reserve(&mut self, entries: usize) {
        self.keys.reserve(entries);
        self.ends.reserve(entries);
    }
}

/// A validated config file: the typed view and the values as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigFile {
    pub config: Config,
    pub written: Written,
}

impl ConfigFile {
    /// Reads and validates the file; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        ConfigFile::load_keeping(path, Keep::Everything)
    }

    fn load_keeping(path: &Path, keep: Keep) -> Result<ConfigFile, ConfigError> {
        match read_if_exists(path)? {
            Some(text) => ConfigFile::parse_keeping(&text, path, keep),
            None => Ok(ConfigFile::default()),
        }
    }

    /// Parses file contents (`path` is only used in error messages).
    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
        ConfigFile::parse_keeping(text, path, Keep::Everything)
    }

    fn parse_keeping(text: &str, path: &Path, keep: Keep) -> Result<ConfigFile, ConfigError> {
        let quick = fast::read_keeping(text, keep);
        // Tests and debug builds check that both readers agree on every file read.
        if cfg!(debug_assertions) {
            let full =
                parse_document(text, path).and_then(|doc| validate_keeping(&doc, text, path, keep));
            if let Some(q) = &quick {
                assert_eq!(
                    full.as_ref().ok(),
                    Some(q),
                    "the quick reader disagrees on:\n{text}"
                );
            }
            return full;
        }
        match quick {
            Some(file) => Ok(file),
            None => validate_keeping(&parse_document(text, path)?, text, path, keep),
        }
    }
}

/// What a read keeps of `[registry-mirrors]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Keep {
    /// The typed mirrors and the mirrors as written.
    #[default]
    Everything,
    /// The mirrors as written only (every mirror is still parsed and checked).
    WrittenMirrors,
}

/// `[registry-mirrors]` as `cnb config registry-mirrors list` shows it: each entry's
/// registry (normalised) with its mirrors as written. Reading it checks the whole
/// file exactly as [`ConfigFile::load`] does, but keeps no typed mirrors, which a
/// listing never shows: on a file with thousands of registries they were a third of
/// the memory a listing touched.
#[derive(Debug)]
pub struct RegistryMirrorListing {
    /// Its typed registry mirrors have keys but no mirrors.
    file: ConfigFile,
}

impl RegistryMirrorListing {
    /// Reads and validates the file; a missing file lists nothing.
    pub fn load(path: &Path) -> Result<RegistryMirrorListing, ConfigError> {
        let file = ConfigFile::load_keeping(path, Keep::WrittenMirrors)?;
        Ok(RegistryMirrorListing { file })
    }

    /// Parses file contents (`path` is only used in error messages).
    pub fn parse(text: &str, path: &Path) -> Result<RegistryMirrorListing, ConfigError> {
        let file = ConfigFile::parse_keeping(text, path, Keep::WrittenMirrors)?;
        Ok(RegistryMirrorListing { file })
    }

    /// Each entry's registry (or `*`) and its mirrors as written, in file order.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = (&MirrorKey, &[CompactString])> {
        let typed = &self.file.config.registry_mirrors;
        let written = &self.file.written.registry_mirrors;
        (0..typed.len()).map(|i| (&typed[i].key, written.get(i).expect("parallel lists").1))
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

fn read_if_exists(path: &Path) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Parses TOML keeping spans (for error positions).
fn parse_document(text: &str, path: &Path) -> Result<Document<String>, ConfigError> {
    Document::parse(text.to_string()).map_err(|e| toml_error(text, path, &e))
}

fn toml_error(text: &str, path: &Path, e: &toml_edit::TomlError) -> ConfigError {
    let message = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    invalid_at(
        path,
        text,
        e.span(),
        format!("not valid TOML: {}", message.trim_end_matches('.')),
    )
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn invalid_at(path: &Path, text: &str, span: Option<Range<usize>>, message: String) -> ConfigError {
    let (line, column) = span.map_or((1, 1), |s| line_column(text, s.start));
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

/// "a string", "an integer", ... for messages.
fn describe(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
        Item::Value(v) => describe_value(v),
    }
}

fn describe_value(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::InlineTable(_) => "an inline table",
    }
}

/// A value and where it is in the file.
type Spanned<T> = (T, Option<Range<usize>>);

/// Walks the document, checking every key cnb knows, and builds the typed view.
struct Validator<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Validator<'_> {
    fn err(&self, span: Option<Range<usize>>, message: impl Into<String>) -> ConfigError {
        invalid_at(self.path, self.text, span, message.into())
    }

    /// Span of an item, falling back to its key's.
    fn span_of(item: &Item, key: Option<&toml_edit::Key>) -> Option<Range<usize>> {
        item.span().or_else(|| key.and_then(|k| k.span()))
    }

    fn string<'i>(
        &self,
        item: &'i Item,
        key: Option<&toml_edit::Key>,
        what: &str,
    ) -> Result<&'i str, ConfigError> {
        item.as_str().ok_or_else(|| {
            self.err(
                Self::span_of(item, key),
                format!("expected a string for {what}, found {}", describe(item)),
            )
        })
    }

    /// An array of strings, each with its span.
    fn strings<'i>(
        &self,
        item: &'i Item,
        key: Option<&toml_edit::Key>,
        what: &str,
    ) -> Result<Vec<Spanned<&'i str>>, ConfigError> {
        let array = item.as_array().ok_or_else(|| {
            self.err(
                Self::span_of(item, key),
                format!(
                    "expected an array of strings for {what}, found {}",
                    describe(item)
                ),
            )
        })?;
        array
            .iter()
            .map(|v| match v.as_str() {
                Some(s) => Ok((s, v.span())),
                None => Err(self.err(
                    v.span(),
                    format!("expected a string in {what}, found {}", describe_value(v)),
                )),
            })
            .collect()
    }

    /// Each element of an array of tables (`[[name]]`) or of an array of inline tables.
    fn tables<'i>(
        &self,
        item: &'i Item,
        key: Option<&toml_edit::Key>,
        what: &str,
    ) -> Result<Vec<Spanned<&'i dyn TableLike>>, ConfigError> {
        match item {
            Item::ArrayOfTables(aot) => Ok(aot
                .iter()
                .map(|t| (t as &dyn TableLike, t.span()))
                .collect()),
            Item::Value(Value::Array(array)) => array
                .iter()
                .map(|v| match v.as_inline_table() {
                    Some(t) => Ok((t as &dyn TableLike, v.span())),
                    None => Err(self.err(
                        v.span(),
                        format!("expected a table in {what}, found {}", describe_value(v)),
                    )),
                })
                .collect(),
            other => Err(self.err(
                Self::span_of(other, key),
                format!(
                    "expected an array of tables ([[{what}]]) for {what}, found {}",
                    describe(other)
                ),
            )),
        }
    }
}

/// Builds a [`ConfigFile`] from values already known to have the right types, in
/// file order. Both readers (the full one in [`validate_keeping`] and
/// [`fast::read_keeping`]) go through it, so they accept and produce exactly the
/// same things. Errors are the message and, for lists, the index of the bad value
/// (`None`: the entry's name).
#[derive(Default)]
struct Builder {
    file: ConfigFile,
    keep: Keep,
    /// The mirrors of the entry being read (kept between entries to be allocated once).
    mirrors: Vec<Mirror>,
}

type BuildResult = Result<(), (Option<usize>, String)>;

impl Builder {
    fn new(keep: Keep) -> Builder {
        Builder {
            keep,
            ..Builder::default()
        }
    }

    /// Makes room for `n` `[registry-mirrors]` entries.
    fn reserve_registries(&mut self, n: usize) {
        self.file.config.registry_mirrors.reserve(n);
        self.file.written.registry_mirrors.reserve(n);
    }

    fn default_builder(&mut self, s: &str) -> Result<(), String> {
        let image = ImageRef::parse(s.trim()).map_err(|e| e.to_string())?;
        self.file.config.default_builder = Some(image);
        self.file.written.default_builder = Some(s.to_string());
        Ok(())
    }

    fn pull_policy(&mut self, s: &str) -> Result<(), String> {
        let policy = PullPolicy::parse(s).ok_or_else(|| {
            format!("invalid pull-policy '{s}'; expected always, if-not-present or never")
        })?;
        self.file.config.pull_policy = Some(policy);
        self.file.written.pull_policy = Some(s.to_string());
        Ok(())
    }

    fn local_registry(&mut self, s: &str) -> Result<(), String> {
        let registry = Registry::parse(s.trim()).map_err(|e| e.to_string())?;
        self.file.config.local_registry = Some(registry);
        Ok(())
    }

    fn insecure_registry(&mut self, s: &str) -> Result<(), String> {
        let entry = InsecureEntry::parse(s).map_err(|e| e.to_string())?;
        if !self.file.config.insecure_registries.contains(&entry) {
            self.file.config.insecure_registries.push(entry);
            self.file.written.insecure_registries.push(s.to_string());
        }
        Ok(())
    }

    /// One `[registry-mirrors]` entry. Two entries for one registry are not checked
    /// here (see [`Builder::duplicate_registry`]).
    fn registry_mirrors(&mut self, name: &str, values: &[impl AsRef<str>]) -> BuildResult {
        let key = MirrorKey::parse(name).map_err(|e| (None, e.to_string()))?;
        let written = &mut self.file.written.registry_mirrors;
        let start = written.values.len();
        self.mirrors.clear();
        if let Err(e) = Self::mirrors(&key, values, &mut self.mirrors, &mut written.values) {
            written.values.truncate(start);
            return Err(e);
        }
        written.keys.push(CompactString::from(name));
        written.ends.push(written.values.len());
        let mirrors = match self.keep {
            Keep::Everything => self.mirrors.drain(..).collect(),
            Keep::WrittenMirrors => Vec::new(),
        };
        self.file
            .config
            .registry_mirrors
            .push(RegistryMirrors { key, mirrors });
        Ok(())
    }

    /// Appends the mirrors of one `[registry-mirrors]` entry to `mirrors`, without
    /// repeats, and the values kept to `written` as written.
    fn mirrors(
        key: &MirrorKey,
        values: &[impl AsRef<str>],
        mirrors: &mut Vec<Mirror>,
        written: &mut Vec<CompactString>,
    ) -> BuildResult {
        for (i, s) in values.iter().enumerate() {
            let s = s.as_ref();
            let mirror = Mirror::parse(s).map_err(|e| (Some(i), e.to_string()))?;
            if let MirrorKey::Registry(registry) = &key
                && mirror.is_same_as(registry)
            {
                return Err((
                    Some(i),
                    format!(
                        "registry mirror '{s}' is the registry '{key}' itself; a mirror must be another address"
                    ),
                ));
            }
            // Same address (what `Mirror::url` spells out), compared without allocating.
            let duplicate = mirrors.iter().any(|m| {
                m.scheme() == mirror.scheme()
                    && m.registry() == mirror.registry()
                    && m.prefix() == mirror.prefix()
            });
            if !duplicate {
                mirrors.push(mirror);
                written.push(CompactString::from(s));
            }
        }
        Ok(())
    }

    /// Whether two `[registry-mirrors]` entries name the same registry (sorting, not
    /// hashing: this runs on every read of a file that may hold thousands of entries).
    fn duplicate_registry(&self) -> bool {
        let mut registries: Vec<Option<&Registry>> = self
            .file
            .config
            .registry_mirrors
            .iter()
            .map(|e| match &e.key {
                MirrorKey::Any => None,
                MirrorKey::Registry(r) => Some(r),
            })
            .collect();
        registries.sort_unstable();
        registries.windows(2).any(|w| w[0] == w[1])
    }

    fn run_image_mirrors(&mut self, image_s: &str, values: &[impl AsRef<str>]) -> BuildResult {
        let image = ImageRef::parse(image_s.trim()).map_err(|e| (None, e.to_string()))?;
        let wanted = image.repository_key();
        if self
            .file
            .config
            .run_image_mirrors
            .iter()
            .any(|e| e.image.repository_key() == wanted)
        {
            return Err((
                None,
                format!(
                    "run image '{image_s}' has two entries in [[{}]]; merge them into one",
                    keys::RUN_IMAGES
                ),
            ));
        }
        let mut mirrors: Vec<ImageRef> = Vec::new();
        let mut written = Vec::new();
        for (i, m) in values.iter().enumerate() {
            let m = m.as_ref();
            let mirror = ImageRef::parse(m.trim()).map_err(|e| (Some(i), e.to_string()))?;
            let key = mirror.key();
            if !mirrors.iter().any(|x| x.key() == key) {
                mirrors.push(mirror);
                written.push(m.to_string());
            }
        }
        self.file
            .config
            .run_image_mirrors
            .push(RunImageMirrors { image, mirrors });
        self.file
            .written
            .run_image_mirrors
            .push((image_s.to_string(), written));
        Ok(())
    }

    fn trusted_builder(&mut self, s: &str) -> Result<(), String> {
        let image = ImageRef::parse(s.trim()).map_err(|e| e.to_string())?;
        let key = image.key();
        if !self
            .file
            .config
            .trusted_builders
            .iter()
            .any(|b| b.key() == key)
        {
            self.file.config.trusted_builders.push(image);
            self.file.written.trusted_builders.push(s.to_string());
        }
        Ok(())
    }
}

/// [`validate_keeping`] keeping everything.
#[cfg(test)]
fn validate(doc: &Document<String>, text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
    validate_keeping(doc, text, path, Keep::Everything)
}

/// The full reader: checks types with toml_edit's spans and reports the first problem
/// with its position. `keep` says what it keeps of `[registry-mirrors]`.
fn validate_keeping(
    doc: &Document<String>,
    text: &str,
    path: &Path,
    keep: Keep,
) -> Result<ConfigFile, ConfigError> {
    let v = Validator { text, path };
    let root = doc.as_table();
    let mut b = Builder::new(keep);

    if let Some((key, item)) = root.get_key_value(keys::DEFAULT_BUILDER) {
        let s = v.string(item, Some(key), keys::DEFAULT_BUILDER)?;
        b.default_builder(s)
            .map_err(|m| v.err(Validator::span_of(item, Some(key)), m))?;
    }

    if let Some((key, item)) = root.get_key_value(keys::PULL_POLICY) {
        let s = v.string(item, Some(key), keys::PULL_POLICY)?;
        b.pull_policy(s)
            .map_err(|m| v.err(Validator::span_of(item, Some(key)), m))?;
    }

    if let Some((key, item)) = root.get_key_value(keys::LOCAL_REGISTRY) {
        let s = v.string(item, Some(key), keys::LOCAL_REGISTRY)?;
        b.local_registry(s)
            .map_err(|m| v.err(Validator::span_of(item, Some(key)), m))?;
    }

    if let Some((key, item)) = root.get_key_value(keys::INSECURE_REGISTRIES) {
        for (s, span) in v.strings(item, Some(key), keys::INSECURE_REGISTRIES)? {
            b.insecure_registry(s).map_err(|m| v.err(span, m))?;
        }
    }

    if let Some((key, item)) = root.get_key_value(keys::REGISTRY_MIRRORS) {
        let table = item.as_table_like().ok_or_else(|| {
            v.err(
                Validator::span_of(item, Some(key)),
                format!(
                    "expected a table for {}, found {}",
                    keys::REGISTRY_MIRRORS,
                    describe(item)
                ),
            )
        })?;
        let mut seen = std::collections::HashSet::with_capacity(table.len());
        for (name, value) in table.iter() {
            let name_key = table.key(name);
            if let Ok(key) = MirrorKey::parse(name)
                && !seen.insert(key.clone())
            {
                return Err(v.err(
                    name_key.and_then(|k| k.span()),
                    format!(
                        "registry '{key}' has two entries in [{}]; merge them into one",
                        keys::REGISTRY_MIRRORS
                    ),
                ));
            }
            let what = format!("the mirrors of '{name}'");
            let raw: Vec<Spanned<&str>> = match value.as_str() {
                Some(s) => vec![(s, Validator::span_of(value, name_key))],
                None if value.is_array() => v.strings(value, name_key, &what)?,
                None => {
                    return Err(v.err(
                        Validator::span_of(value, name_key),
                        format!(
                            "expected a string or an array of strings for {what}, found {}",
                            describe(value)
                        ),
                    ));
                }
            };
            let values: Vec<&str> = raw.iter().map(|(s, _)| *s).collect();
            b.registry_mirrors(name, &values).map_err(|(i, m)| {
                let span = match i {
                    Some(i) => raw.get(i).and_then(|(_, span)| span.clone()),
                    None => name_key.and_then(|k| k.span()),
                };
                v.err(span, m)
            })?;
        }
    }

    if let Some((key, item)) = root.get_key_value(keys::RUN_IMAGES) {
        for (table, span) in v.tables(item, Some(key), keys::RUN_IMAGES)? {
            let Some((image_key, image_item)) = table.get_key_value(keys::RUN_IMAGE) else {
                return Err(v.err(
                    span,
                    format!(
                        "an entry of [[{}]] has no '{}' key; expected image = \"<run image>\"",
                        keys::RUN_IMAGES,
                        keys::RUN_IMAGE
                    ),
                ));
            };
            let what = format!("{}.{}", keys::RUN_IMAGES, keys::RUN_IMAGE);
            let s = v.string(image_item, Some(image_key), &what)?;
            let raw: Vec<Spanned<&str>> = match table.get_key_value(keys::RUN_IMAGE_MIRRORS) {
                Some((mk, mi)) => {
                    v.strings(mi, Some(mk), &format!("the mirrors of run image '{s}'"))?
                }
                None => Vec::new(),
            };
            let values: Vec<&str> = raw.iter().map(|(s, _)| *s).collect();
            b.run_image_mirrors(s, &values).map_err(|(i, m)| {
                let span = match i {
                    Some(i) => raw.get(i).and_then(|(_, span)| span.clone()),
                    None => Validator::span_of(image_item, Some(image_key)),
                };
                v.err(span, m)
            })?;
        }
    }

    if let Some((key, item)) = root.get_key_value(keys::TRUSTED_BUILDERS) {
        for (table, span) in v.tables(item, Some(key), keys::TRUSTED_BUILDERS)? {
            let Some((name_key, name_item)) = table.get_key_value(keys::TRUSTED_BUILDER_NAME)
            else {
                return Err(v.err(
                    span,
                    format!(
                        "an entry of [[{}]] has no '{}' key; expected name = \"<builder image>\"",
                        keys::TRUSTED_BUILDERS,
                        keys::TRUSTED_BUILDER_NAME
                    ),
                ));
            };
            let what = format!("{}.{}", keys::TRUSTED_BUILDERS, keys::TRUSTED_BUILDER_NAME);
            let s = v.string(name_item, Some(name_key), &what)?;
            b.trusted_builder(s)
                .map_err(|m| v.err(Validator::span_of(name_item, Some(name_key)), m))?;
        }
    }

    Ok(b.file)
}

/// What [`edit`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited<T> {
    /// What the edit closure returned (a report of what changed).
    pub value: T,
    /// Whether the file was written. An edit that leaves the text as it was writes nothing.
    pub written: bool,
}

/// The lock file next to `path` (`config.toml.lock`). It is created on the first
/// write and kept: deleting a lock file that another process may be waiting on
/// would let two writers in at once.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| OsString::from(CONFIG_FILE_NAME));
    name.push(".lock");
    path.with_file_name(name)
}

/// Changes the config file at `path`, keeping everything else in it.
///
/// 1. creates the parent directory if needed;
/// 2. takes an exclusive lock on [`lock_path`] (blocks while another cnb writes);
/// 3. reads and validates the current file under the lock (an invalid file is an
///    error and is left untouched; a missing file is an empty document);
/// 4. runs `change` on the document (toml_edit keeps comments, order, formatting
///    and keys cnb does not know);
/// 5. when the text changed: writes a temporary file in the same directory, copies
///    the original's permissions (a new file gets 0666 minus the umask), fsyncs it
///    when the file system needs that for the rename to be crash-safe, and renames
///    it over the original.
///
/// When `path` is a symbolic link, the file it points to is the one changed, so
/// config files kept in a dotfiles repository stay links.
pub fn edit<T>(
    path: &Path,
    change: impl FnOnce(&mut DocumentMut) -> T,
) -> Result<Edited<T>, ConfigError> {
    edit_text(path, |text, path| edit_document(text, path, change))
}

/// [`edit`] for a change that touches only the `[registry-mirrors]` entry of `key`,
/// or adds that entry after the last one (what
/// [`edits::add_registry_mirrors`] does).
///
/// On a file the quick reader takes, only the lines of that entry (or of the last
/// entry, which a new one copies its indentation from) go through toml_edit, as a
/// small document of their own, and the result is spliced into the text: on a file
/// with 1,000 registries that is a fraction of the cost of the whole document.
/// The result is the same text; debug builds (and so the tests) check that against
/// [`edit`]'s.
pub fn edit_registry_mirror<T: PartialEq + std::fmt::Debug>(
    path: &Path,
    key: &MirrorKey,
    change: impl Fn(&mut DocumentMut) -> T,
) -> Result<Edited<T>, ConfigError> {
    edit_text(path, |text, path| {
        let Some((value, after)) = edit_registry_entry(text, key, &change) else {
            return edit_document(text, path, change);
        };
        if cfg!(debug_assertions) {
            let (full_value, full_after) = edit_document(text, path, &change)?;
            assert_eq!(
                (&value, after.apply(text)),
                (&full_value, full_after.apply(text)),
                "the entry edit disagrees with the document edit on:\n{text}"
            );
        }
        Ok((value, after))
    })
}

/// The header of the small document [`edit_registry_entry`] edits.
const REGISTRY_MIRRORS_HEADER: &str = "[registry-mirrors]\n";

/// Applies `change` to the lines of `key`'s entry (or of the last entry, when `key`
/// has none) and splices the result into `text`. `None` when the quick reader does
/// not take the file, the table has no entries, the file does not end with a line
/// break or has `\r\n` line breaks: the whole document is edited then.
fn edit_registry_entry<T>(
    text: &str,
    key: &MirrorKey,
    change: impl Fn(&mut DocumentMut) -> T,
) -> Option<(T, NewText)> {
    // toml_edit writes an edited document with `\n` line breaks throughout and a
    // line break at the end; a splice would keep other `\r\n`s and a missing one.
    if text.contains('\r') || !text.ends_with('\n') {
        return None;
    }
    // Checks the whole file; only the entries' keys and lines are needed here.
    let (file, layout) = fast::read_with_layout(text, Keep::WrittenMirrors)?;
    let lines = layout.registry_mirror_lines;
    let range = match file
        .config
        .registry_mirrors
        .iter()
        .position(|entry| &entry.key == key)
    {
        Some(i) => lines.get(i)?.clone(),
        None => lines.last()?.clone(),
    };
    let entry = &text[range.clone()];
    let mut small = String::with_capacity(REGISTRY_MIRRORS_HEADER.len() + entry.len());
    small.push_str(REGISTRY_MIRRORS_HEADER);
    small.push_str(entry);
    let mut doc: DocumentMut = small.parse().ok()?;
    let value = change(&mut doc);
    let edited = doc.to_string();
    let edited = edited.strip_prefix(REGISTRY_MIRRORS_HEADER)?;
    Some((
        value,
        NewText {
            range,
            with: edited.to_string(),
        },
    ))
}

/// The text an edit produced: the old text with `range` replaced by `with`. An
/// entry edit replaces a few lines of a file that may be large, and the file is
/// written from the old text and those lines, without copying it whole first.
#[derive(Debug)]
struct NewText {
    range: Range<usize>,
    with: String,
}

impl NewText {
    /// All of `text` replaced by `with`.
    fn whole(text: &str, with: String) -> NewText {
        NewText {
            range: 0..text.len(),
            with,
        }
    }

    fn is_unchanged(&self, text: &str) -> bool {
        text[self.range.clone()] == self.with
    }

    /// The new text in pieces, in order.
    fn parts<'a>(&'a self, text: &'a str) -> [&'a str; 3] {
        [
            &text[..self.range.start],
            &self.with,
            &text[self.range.end..],
        ]
    }

    fn apply(&self, text: &str) -> String {
        self.parts(text).concat()
    }
}

/// Checks `text` and applies `change` to the whole document: the new text.
fn edit_document<T>(
    text: &str,
    path: &Path,
    change: impl FnOnce(&mut DocumentMut) -> T,
) -> Result<(T, NewText), ConfigError> {
    // Checking the file and editing it are independent: on a large file they run
    // side by side (each is a couple of milliseconds for 1,000 registries).
    let apply = move || -> Result<(T, NewText), ConfigError> {
        let mut doc: DocumentMut = text.parse().map_err(|e| toml_error(text, path, &e))?;
        comments_to_top(&mut doc);
        let had_values = doc.iter().any(|(_, item)| item.is_value());
        let value = change(&mut doc);
        header_stays_first(&mut doc, had_values);
        Ok((value, NewText::whole(text, doc.to_string())))
    };
    let (checked, applied) = if text.len() >= PARALLEL_CHECK_BYTES {
        std::thread::scope(|scope| {
            let check = scope.spawn(|| ConfigFile::parse(text, path));
            let applied = apply();
            let checked = check
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (checked, applied)
        })
    } else {
        (ConfigFile::parse(text, path), apply())
    };
    // An invalid file is reported as such, whatever the edit made of it.
    checked?;
    applied
}

/// The locking, reading and writing around an edit: `produce` gets the current text
/// (empty for a missing file) and the path, and returns its report and the new text.
fn edit_text<T>(
    path: &Path,
    produce: impl FnOnce(&str, &Path) -> Result<(T, NewText), ConfigError>,
) -> Result<Edited<T>, ConfigError> {
    let target = resolve_symlink(path);
    let path = target.as_path();
    let write_err = |source| ConfigError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(write_err)?;

    let lock_file = lock_path(path);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_file)
        .map_err(|source| ConfigError::Lock {
            path: lock_file.clone(),
            source,
        })?;
    lock.lock().map_err(|source| ConfigError::Lock {
        path: lock_file.clone(),
        source,
    })?;

    let before = read_if_exists(path)?;
    let text = before.as_deref().unwrap_or("");
    let (value, after) = produce(text, path)?;
    if after.is_unchanged(text) {
        return Ok(Edited {
            value,
            written: false,
        });
    }
    // The edits only insert validated values; debug builds (and so the tests) check
    // that the result reads back.
    if cfg!(debug_assertions)
        && let Err(e) = ConfigFile::parse(&after.apply(text), path)
    {
        return Err(ConfigError::Write {
            path: path.to_path_buf(),
            source: std::io::Error::other(format!("the edit would make the file invalid ({e})")),
        });
    }

    let original_permissions = match std::fs::metadata(path) {
        Ok(m) => Some(m.permissions()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let temp_prefix = format!(
        ".{}.",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    );
    let mut builder = tempfile::Builder::new();
    builder.prefix(&temp_prefix).suffix(".tmp");
    #[cfg(unix)]
    let default_permissions = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::Permissions::from_mode(0o666)
    };
    #[cfg(unix)]
    if original_permissions.is_none() {
        builder.permissions(default_permissions);
    }
    let replacing = original_permissions.is_some();
    let mut tmp = builder.tempfile_in(&dir).map_err(write_err)?;
    for part in after.parts(text) {
        tmp.write_all(part.as_bytes()).map_err(write_err)?;
    }
    if let Some(perms) = original_permissions {
        tmp.as_file().set_permissions(perms).map_err(write_err)?;
    }
    // The file is fsynced unless the file system writes its data before it commits
    // the rename (see `durability`). The directory is not fsynced: after a power cut
    // the file is the old one or the new one, never a mix; at worst the last change
    // is lost (git does not fsync its config at all).
    if durability::needs_fsync(tmp.as_file(), replacing) {
        tmp.as_file().sync_all().map_err(write_err)?;
    }
    tmp.persist(path).map_err(|e| write_err(e.error))?;
    drop(lock);
    Ok(Edited {
        value,
        written: true,
    })
}

/// In a file with nothing but comments, toml_edit keeps them after the last item,
/// where a new key would land above them; move them to the top so they stay first.
pub(crate) fn comments_to_top(doc: &mut DocumentMut) {
    if doc.is_empty()
        && let Some(trailing) = doc.trailing().as_str().map(str::to_string)
        && !trailing.is_empty()
    {
        let mut prefix = doc
            .decor()
            .prefix()
            .and_then(|p| p.as_str())
            .unwrap_or("")
            .to_string();
        prefix.push_str(&trailing);
        doc.decor_mut().set_prefix(prefix);
        doc.set_trailing("");
    }
}

/// When a file starts with a table, its first comment lines are stored with that
/// table; a key added at the top level would be written above them. If that just
/// happened, the header (the comment lines up to the last blank line, or all of
/// them when there is no blank line) moves back to the top of the file.
pub(crate) fn header_stays_first(doc: &mut DocumentMut, had_values: bool) {
    let has_values = doc.iter().any(|(_, item)| item.is_value());
    if had_values && has_values {
        return;
    }
    let top = doc
        .decor()
        .prefix()
        .and_then(|p| p.as_str())
        .unwrap_or("")
        .to_string();
    let first_table = doc
        .as_table_mut()
        .iter_mut()
        .filter_map(|(_, item)| match item {
            Item::Table(t) => Some(t),
            Item::ArrayOfTables(a) => a.get_mut(0),
            _ => None,
        })
        .filter(|t| t.position().is_some())
        .min_by_key(|t| t.position());
    let Some(table) = first_table else {
        return;
    };
    if !has_values {
        // The last top-level key went: the header moved up earlier is followed by its
        // blank line already; the table need not add another.
        if top.ends_with("\n\n")
            && let Some(prefix) = table.decor().prefix().and_then(|p| p.as_str())
            && let Some(rest) = prefix.strip_prefix('\n')
        {
            let rest = rest.to_string();
            table.decor_mut().set_prefix(rest);
        }
        return;
    }
    let Some(prefix) = table
        .decor()
        .prefix()
        .and_then(|p| p.as_str())
        .map(str::to_string)
        .filter(|p| p.contains('#'))
    else {
        return;
    };
    let (header, rest) = match prefix.trim_end_matches([' ', '\t']).rfind("\n\n") {
        Some(i) => (prefix[..i + 2].to_string(), prefix[i + 2..].to_string()),
        None => (prefix.clone(), String::new()),
    };
    table.decor_mut().set_prefix(format!("\n{rest}"));
    let mut top = top;
    top.push_str(&header);
    doc.decor_mut().set_prefix(top);
}

/// Follows a chain of symbolic links to the file they end at (a dangling link's
/// target is where the file will be created).
fn resolve_symlink(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    for _ in 0..32 {
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => match std::fs::read_link(&current) {
                Ok(target) => {
                    current = match current.parent() {
                        Some(parent) if target.is_relative() => parent.join(target),
                        _ => target,
                    };
                }
                Err(_) => break,
            },
            _ => break,
        }
    }
    current
}

#[cfg(test)]
mod tests;
