//! Reading a config file: the bytes (at most [`MAX_FILE_BYTES`], UTF-8), the TOML
//! document (toml_edit, which keeps spans), and the checks of every key cnb knows.
//! The first problem is reported with its line and column and what was expected
//! (SPEC §2's last bullet); [`edit`](super::edit) reads through here too, so a file
//! is never changed if it would not read. The two mirror tables, which are read
//! together, are checked in `read/mirror_tables.rs`.

mod mirror_tables;

use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::path::Path;

use toml_edit::{Document, Item, Key, TableLike, Value};

use super::model::{CaFile, ConfigFile, PullPolicy, RunImageMirrors};
use super::{ConfigError, ConfigWarning, keys};
use crate::reference::{ImageRef, InsecureEntry, Registry};

/// The largest config file cnb reads: 4 MiB. A file with 1,000 registries is about
/// 80 KiB; anything near the cap is not a config file (`--config /dev/zero`).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The text of the file at `path`; `None` when there is no file.
pub(super) fn read_file(path: &Path) -> Result<Option<String>, ConfigError> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                error,
            });
        }
    };
    read_text(&file, path).map(Some)
}

/// Reads a config file's text from `file`: at most [`MAX_FILE_BYTES`], and UTF-8
/// (an invalid byte is reported with its line and column). A directory is refused.
pub(super) fn read_text(file: &File, path: &Path) -> Result<String, ConfigError> {
    let read_err = |error| ConfigError::Read {
        path: path.to_path_buf(),
        error,
    };
    let metadata = file.metadata().map_err(read_err)?;
    if metadata.is_dir() {
        return Err(ConfigError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    // Room for what the file holds now, so the buffer is allocated once (std still
    // reads it in a few calls of growing size; a FIFO or a device says 0, and is read
    // up to the cap).
    let size = metadata.len().min(MAX_FILE_BYTES + 1);
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0) + 1);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ConfigError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(&e.as_bytes()[..valid]);
        let (line, column) = line_column(&text, valid);
        ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message: "not valid UTF-8; a config file is UTF-8 text".into(),
        }
    })
}

/// Parses TOML keeping spans (for error positions).
pub(super) fn parse_document<'t>(
    text: &'t str,
    path: &Path,
) -> Result<Document<&'t str>, ConfigError> {
    Document::parse(text).map_err(|e| {
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
    })
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

/// Checks every key cnb knows and builds the typed view and the values as written.
/// Values repeated in one list (after normalisation) are kept once.
pub(super) fn validate(
    doc: &Document<&str>,
    text: &str,
    path: &Path,
) -> Result<ConfigFile, ConfigError> {
    let mut v = Validator {
        text,
        path,
        file: ConfigFile::default(),
    };
    let root = doc.as_table();
    if let Some((key, item)) = root.get_key_value(keys::DEFAULT_BUILDER) {
        v.default_builder(key, item)?;
    }
    if let Some((key, item)) = root.get_key_value(keys::LIFECYCLE_IMAGE) {
        let (image, written) = v.image(item, key, keys::LIFECYCLE_IMAGE)?;
        v.file.config.lifecycle_image = Some(image);
        v.file.written.lifecycle_image = Some(written);
    }
    if let Some((key, item)) = root.get_key_value(keys::LOCAL_REGISTRY) {
        let s = v.string(item, Some(key), keys::LOCAL_REGISTRY)?;
        let registry = Registry::parse(s)
            .map_err(|e| v.err(Validator::span_of(item, Some(key)), e.to_string()))?;
        v.file.config.local_registry = Some(registry);
    }
    if let Some((key, item)) = root.get_key_value(keys::PULL_POLICY) {
        v.pull_policy(key, item)?;
    }
    if let Some((key, item)) = root.get_key_value(keys::INSECURE_REGISTRIES) {
        v.insecure_registries(key, item)?;
    }
    v.registry_mirrors(
        root.get_key_value(keys::REGISTRY_MIRRORS),
        root.get_key_value(keys::REGISTRY_MIRROR_LISTS),
    )?;
    if let Some((key, item)) = root.get_key_value(keys::RUN_IMAGES) {
        for (table, span) in v.tables(item, Some(key), keys::RUN_IMAGES)? {
            v.run_image(table, span)?;
        }
    }
    if let Some((key, item)) = root.get_key_value(keys::TRUSTED_BUILDERS) {
        for (table, span) in v.tables(item, Some(key), keys::TRUSTED_BUILDERS)? {
            v.trusted_builder(table, span)?;
        }
    }
    if let Some((key, item)) = root.get_key_value(keys::REGISTRY_CA) {
        v.registry_cas(key, item)?;
    }
    Ok(v.file)
}

/// Walks the document and fills [`ConfigFile`], reporting the first problem with
/// its position.
struct Validator<'a> {
    text: &'a str,
    path: &'a Path,
    file: ConfigFile,
}

impl Validator<'_> {
    fn err(&self, span: Option<Range<usize>>, message: impl Into<String>) -> ConfigError {
        invalid_at(self.path, self.text, span, message.into())
    }

    /// Span of an item, falling back to its key's.
    fn span_of(item: &Item, key: Option<&Key>) -> Option<Range<usize>> {
        item.span().or_else(|| key.and_then(|k| k.span()))
    }

    fn string<'i>(
        &self,
        item: &'i Item,
        key: Option<&Key>,
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
        key: Option<&Key>,
        what: impl std::fmt::Display + Copy,
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
        key: Option<&Key>,
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

    /// The `key` of an entry of `[[section]]` (at `span`); when it is missing, the
    /// error shows `key = "<placeholder>"` as what was expected.
    fn required<'t>(
        &self,
        table: &'t dyn TableLike,
        span: Option<Range<usize>>,
        section: &str,
        key: &str,
        placeholder: &str,
    ) -> Result<(&'t Key, &'t Item), ConfigError> {
        table.get_key_value(key).ok_or_else(|| {
            self.err(
                span,
                format!(
                    "an entry of [[{section}]] has no '{key}' key; expected {key} = \"{placeholder}\""
                ),
            )
        })
    }

    /// The string at `item` as an image reference; errors point at the value.
    fn image(&self, item: &Item, key: &Key, what: &str) -> Result<(ImageRef, String), ConfigError> {
        let s = self.string(item, Some(key), what)?;
        let image = ImageRef::parse(s)
            .map_err(|e| self.err(Self::span_of(item, Some(key)), e.to_string()))?;
        Ok((image, s.to_string()))
    }

    fn default_builder(&mut self, key: &Key, item: &Item) -> Result<(), ConfigError> {
        let (image, written) = self.image(item, key, keys::DEFAULT_BUILDER)?;
        self.file.config.default_builder = Some(image);
        self.file.written.default_builder = Some(written);
        Ok(())
    }

    fn pull_policy(&mut self, key: &Key, item: &Item) -> Result<(), ConfigError> {
        let s = self.string(item, Some(key), keys::PULL_POLICY)?;
        let policy = PullPolicy::parse(s).ok_or_else(|| {
            self.err(
                Self::span_of(item, Some(key)),
                format!("invalid pull-policy '{s}'; expected always, if-not-present or never"),
            )
        })?;
        self.file.config.pull_policy = Some(policy);
        self.file.written.pull_policy = Some(s.to_string());
        Ok(())
    }

    fn insecure_registries(&mut self, key: &Key, item: &Item) -> Result<(), ConfigError> {
        for (s, span) in self.strings(item, Some(key), keys::INSECURE_REGISTRIES)? {
            let entry = InsecureEntry::parse(s).map_err(|e| self.err(span, e.to_string()))?;
            if !self.file.config.insecure_registries.contains(&entry) {
                self.file.config.insecure_registries.push(entry);
                self.file.written.insecure_registries.push(s.to_string());
            }
        }
        Ok(())
    }

    /// `[registry-ca]`: registry -> PEM file path. The file itself is read by the
    /// commands that use it, not here: a config with a moved CA file still lists.
    fn registry_cas(&mut self, key: &Key, item: &Item) -> Result<(), ConfigError> {
        let table = item.as_table_like().ok_or_else(|| {
            self.err(
                Self::span_of(item, Some(key)),
                format!(
                    "expected a table for {}, found {}",
                    keys::REGISTRY_CA,
                    describe(item)
                ),
            )
        })?;
        let base = self.path.parent().unwrap_or(Path::new(""));
        for (name, value) in table.iter() {
            let name_key = table.key(name);
            let name_span = name_key.and_then(|k| k.span());
            let registry =
                Registry::parse(name).map_err(|e| self.err(name_span.clone(), e.to_string()))?;
            if self
                .file
                .config
                .registry_cas
                .iter()
                .any(|c| c.registry == registry)
            {
                return Err(self.err(
                    name_span,
                    format!(
                        "registry '{registry}' has two entries in [{}]; keep one",
                        keys::REGISTRY_CA
                    ),
                ));
            }
            let what = format!("the CA file of '{name}'");
            let written = self.string(value, name_key, &what)?;
            if written.trim().is_empty() {
                return Err(self.err(
                    Self::span_of(value, name_key),
                    format!("{what} is empty; expected the path of a PEM file"),
                ));
            }
            self.file.config.registry_cas.push(CaFile {
                registry,
                path: base.join(written),
            });
            self.file
                .written
                .registry_cas
                .push((name.to_string(), written.to_string()));
        }
        Ok(())
    }

    fn run_image(
        &mut self,
        table: &dyn TableLike,
        span: Option<Range<usize>>,
    ) -> Result<(), ConfigError> {
        let (image_key, image_item) = self.required(
            table,
            span,
            keys::RUN_IMAGES,
            keys::RUN_IMAGE,
            "<run image>",
        )?;
        let what = format!("{}.{}", keys::RUN_IMAGES, keys::RUN_IMAGE);
        let s = self.string(image_item, Some(image_key), &what)?;
        let values = match table.get_key_value(keys::RUN_IMAGE_MIRRORS) {
            Some((mk, mi)) => {
                self.strings(mi, Some(mk), &format!("the mirrors of run image '{s}'"))?
            }
            None => Vec::new(),
        };
        let (image, image_written) = self.image(image_item, image_key, &what)?;
        let wanted = image.repository_key();
        if self
            .file
            .config
            .run_image_mirrors
            .iter()
            .any(|e| e.image.repository_key() == wanted)
        {
            return Err(self.err(
                Self::span_of(image_item, Some(image_key)),
                format!(
                    "run image '{s}' has two entries in [[{}]]; merge them into one",
                    keys::RUN_IMAGES
                ),
            ));
        }
        let mut mirrors: Vec<ImageRef> = Vec::with_capacity(values.len());
        let mut written = Vec::with_capacity(values.len());
        for (m, span) in values {
            let mirror = ImageRef::parse(m).map_err(|e| self.err(span, e.to_string()))?;
            if !mirrors.iter().any(|x| x.key() == mirror.key()) {
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
            .push((image_written, written));
        Ok(())
    }

    fn trusted_builder(
        &mut self,
        table: &dyn TableLike,
        span: Option<Range<usize>>,
    ) -> Result<(), ConfigError> {
        let (name_key, name_item) = self.required(
            table,
            span,
            keys::TRUSTED_BUILDERS,
            keys::TRUSTED_BUILDER_NAME,
            "<builder image>",
        )?;
        let what = format!("{}.{}", keys::TRUSTED_BUILDERS, keys::TRUSTED_BUILDER_NAME);
        let (image, written) = self.image(name_item, name_key, &what)?;
        let key = image.key();
        if !self
            .file
            .config
            .trusted_builders
            .iter()
            .any(|b| b.key() == key)
        {
            self.file.config.trusted_builders.push(image);
            self.file.written.trusted_builders.push(written);
        }
        Ok(())
    }
}
