//! The quick reader for the usual file: TOML events straight from `toml_parser`
//! (the parser under toml_edit) into the [`Builder`], without building an editable
//! document, in small chunks of tokens, which keeps `cnb config ... list` and every
//! `cnb build` start-up cheap even on a file with thousands of registries. It also
//! records where each `[registry-mirrors]` entry is ([`Layout`]), so that adding a
//! mirror can edit that entry alone (see `config::edit_registry_mirror`).
//!
//! It handles the shapes pack and cnb write: top-level keys, `[table]` and
//! `[[array-of-tables]]` headers with one name, string, boolean and array values.
//! On anything else (dotted keys, inline tables, numbers and dates, any error) it
//! gives up and the full reader in [`super::validate_keeping`] decides, with its precise
//! messages. Both go through the same [`Builder`], so a file either reader accepts
//! means the same thing.

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::Range;

use toml_parser::decoder::{Encoding, ScalarKind};
use toml_parser::lexer::{Lexer, Token, TokenKind};
use toml_parser::parser::{
    Event, EventKind, EventReceiver, RecursionGuard, ValidateWhitespace, parse_document,
};
use toml_parser::{ErrorSink, ParseError, Raw, Source, Span};

use super::{Builder, ConfigFile, Keep, keys};

/// Nesting allowed before giving up (the full reader applies toml_edit's limit).
const MAX_DEPTH: u32 = 64;

/// A value as far as the config cares.
enum V<'i> {
    Str(Cow<'i, str>),
    Bool,
    Array(Vec<V<'i>>),
}

impl<'i> V<'i> {
    fn into_str(self) -> Option<Cow<'i, str>> {
        match self {
            V::Str(s) => Some(s),
            _ => None,
        }
    }

    /// An array of strings.
    fn into_strings(self) -> Option<Vec<Cow<'i, str>>> {
        match self {
            V::Array(values) => values.into_iter().map(V::into_str).collect(),
            _ => None,
        }
    }
}

/// A `[[run-images]]` entry as read: its image (if given) and mirrors.
type RunImageEntry<'i> = (Option<Cow<'i, str>>, Vec<Cow<'i, str>>);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Root,
    RegistryMirrors,
    RunImage,
    TrustedBuilder,
    Other,
}

/// Where the walker is inside a line.
enum Pos<'i> {
    /// Between key/value pairs.
    Line,
    /// Inside `[` ... `]` or `[[` ... `]]`, with the name read so far.
    Header {
        array: bool,
        name: Option<Cow<'i, str>>,
    },
    /// After a key, before `=`.
    Key(Cow<'i, str>),
    /// After `=`: reading the value (the walker's `arrays` holds the arrays being read).
    Value(Cow<'i, str>),
}

/// Receives parser events as they come (no event list is kept) and collects the
/// values cnb reads. Sets `gave_up` on anything the full reader must decide.
struct Walker<'i> {
    source: Source<'i>,
    /// The arrays of the value being read, innermost last (kept between values so
    /// it is allocated once).
    arrays: Vec<Vec<V<'i>>>,
    /// Emptied arrays, reused for the next array read: with `mirrors`, a file of
    /// thousands of registries needs no allocation per entry beyond what it keeps.
    spare_arrays: Vec<Vec<V<'i>>>,
    /// The mirrors of the registry entry being handed to the builder.
    mirrors: Vec<Cow<'i, str>>,
    errors: Vec<ParseError>,
    gave_up: bool,
    pos: Pos<'i>,
    ctx: Ctx,
    root_keys: HashSet<Cow<'i, str>>,
    std_headers: HashSet<Cow<'i, str>>,
    array_headers: HashSet<Cow<'i, str>>,
    table_keys: HashSet<Cow<'i, str>>,
    default_builder: Option<Cow<'i, str>>,
    pull_policy: Option<Cow<'i, str>>,
    insecure: Option<Vec<Cow<'i, str>>>,
    /// Takes each `[registry-mirrors]` entry as soon as it is read (the section that
    /// grows large), so entries are never held twice.
    builder: Builder,
    /// Where the current line's expression starts: just after the line break that
    /// ended the previous key/value or header line, so comment and blank lines
    /// above a key count as its own (as toml_edit keeps them).
    expression_start: usize,
    /// Whether a key/value or header was completed on the current line.
    line_has_expression: bool,
    /// Where the `[registry-mirrors]` entry on the current line started.
    open_entry: Option<usize>,
    /// The lines of each `[registry-mirrors]` entry, in file order; `None` when the
    /// caller does not want the layout (a listing leaves these pages untouched).
    entry_lines: Option<Vec<Range<usize>>>,
    run_images: Vec<RunImageEntry<'i>>,
    trusted: Vec<Option<Cow<'i, str>>>,
}

impl<'i> Walker<'i> {
    fn new(source: Source<'i>, keep: Keep) -> Self {
        Walker {
            source,
            arrays: Vec::new(),
            spare_arrays: Vec::new(),
            mirrors: Vec::new(),
            errors: Vec::new(),
            gave_up: false,
            pos: Pos::Line,
            ctx: Ctx::Root,
            root_keys: HashSet::new(),
            std_headers: HashSet::new(),
            array_headers: HashSet::new(),
            table_keys: HashSet::new(),
            default_builder: None,
            pull_policy: None,
            insecure: None,
            builder: Builder::new(keep),
            expression_start: 0,
            line_has_expression: false,
            open_entry: None,
            entry_lines: None,
            run_images: Vec::new(),
            trusted: Vec::new(),
        }
    }

    fn give_up(&mut self) {
        self.gave_up = true;
    }

    /// The text of a key or scalar; quoted ones need their encoding to be decoded.
    fn raw(&self, kind: EventKind, span: Span, encoding: Option<Encoding>) -> Option<Raw<'i>> {
        self.source.get(Event::new_unchecked(kind, encoding, span))
    }

    fn decode_key(&mut self, span: Span, encoding: Option<Encoding>) -> Option<Cow<'i, str>> {
        let raw = self.raw(EventKind::SimpleKey, span, encoding)?;
        if let Some(plain) = plain_string(raw.as_str(), encoding) {
            return Some(Cow::Borrowed(plain));
        }
        let mut key = Cow::Borrowed("");
        raw.decode_key(&mut key, &mut self.errors);
        self.errors.is_empty().then_some(key)
    }

    fn decode_scalar(&mut self, span: Span, encoding: Option<Encoding>) -> Option<V<'i>> {
        let raw = self.raw(EventKind::Scalar, span, encoding)?;
        if let Some(plain) = plain_string(raw.as_str(), encoding) {
            return Some(V::Str(Cow::Borrowed(plain)));
        }
        let mut decoded = Cow::Borrowed("");
        let kind = raw.decode_scalar(&mut decoded, &mut self.errors);
        if !self.errors.is_empty() {
            return None;
        }
        match kind {
            ScalarKind::String => Some(V::Str(decoded)),
            ScalarKind::Boolean(_) => Some(V::Bool),
            // Numbers and dates need more checks (range, calendar): the full reader does them.
            _ => None,
        }
    }

    fn open_header(&mut self, array: bool) {
        match self.pos {
            Pos::Line => self.pos = Pos::Header { array, name: None },
            _ => self.give_up(),
        }
    }

    fn close_header(&mut self) -> Option<()> {
        let Pos::Header {
            array,
            name: Some(name),
        } = std::mem::replace(&mut self.pos, Pos::Line)
        else {
            return None;
        };
        self.line_has_expression = true;
        if self.root_keys.contains(&name) || name == keys::LOCAL_REGISTRY {
            return None;
        }
        self.table_keys.clear();
        if array {
            if self.std_headers.contains(&name) {
                return None;
            }
            self.ctx = match name.as_ref() {
                keys::RUN_IMAGES => {
                    self.run_images.push((None, Vec::new()));
                    Ctx::RunImage
                }
                keys::TRUSTED_BUILDERS => {
                    self.trusted.push(None);
                    Ctx::TrustedBuilder
                }
                keys::REGISTRY_MIRRORS => return None,
                _ => Ctx::Other,
            };
            self.array_headers.insert(name);
        } else {
            if self.array_headers.contains(&name) {
                return None;
            }
            self.ctx = match name.as_ref() {
                keys::REGISTRY_MIRRORS => Ctx::RegistryMirrors,
                keys::RUN_IMAGES | keys::TRUSTED_BUILDERS => return None,
                _ => Ctx::Other,
            };
            if !self.std_headers.insert(name) {
                return None;
            }
        }
        Some(())
    }

    /// A value (scalar or array) is complete.
    fn push_value(&mut self, value: V<'i>) -> Option<()> {
        if !matches!(self.pos, Pos::Value(_)) {
            return None;
        }
        if let Some(array) = self.arrays.last_mut() {
            array.push(value);
            return Some(());
        }
        let Pos::Value(key) = std::mem::replace(&mut self.pos, Pos::Line) else {
            return None;
        };
        self.key_value(key, value)
    }

    fn key_value(&mut self, key: Cow<'i, str>, value: V<'i>) -> Option<()> {
        self.line_has_expression = true;
        match self.ctx {
            Ctx::Root => {
                if !self.root_keys.insert(key.clone()) {
                    return None;
                }
                match key.as_ref() {
                    keys::DEFAULT_BUILDER => self.default_builder = Some(value.into_str()?),
                    keys::PULL_POLICY => self.pull_policy = Some(value.into_str()?),
                    keys::INSECURE_REGISTRIES => self.insecure = Some(value.into_strings()?),
                    // `local-registry` is rare: the full reader takes files that have it.
                    keys::REGISTRY_MIRRORS
                    | keys::RUN_IMAGES
                    | keys::TRUSTED_BUILDERS
                    | keys::LOCAL_REGISTRY => {
                        return None;
                    }
                    _ => {}
                }
            }
            // Duplicate names here are caught by the builder (same registry twice).
            Ctx::RegistryMirrors => {
                self.open_entry = Some(self.expression_start);
                self.mirrors.clear();
                match value {
                    V::Str(s) => self.mirrors.push(s),
                    V::Array(mut values) => {
                        for v in values.drain(..) {
                            self.mirrors.push(v.into_str()?);
                        }
                        self.spare_arrays.push(values);
                    }
                    V::Bool => return None,
                }
                self.builder.registry_mirrors(&key, &self.mirrors).ok()?;
            }
            Ctx::RunImage => {
                if !self.table_keys.insert(key.clone()) {
                    return None;
                }
                let entry = self.run_images.last_mut()?;
                match key.as_ref() {
                    keys::RUN_IMAGE => entry.0 = Some(value.into_str()?),
                    keys::RUN_IMAGE_MIRRORS => entry.1 = value.into_strings()?,
                    _ => {}
                }
            }
            Ctx::TrustedBuilder => {
                if !self.table_keys.insert(key.clone()) {
                    return None;
                }
                if key == keys::TRUSTED_BUILDER_NAME {
                    *self.trusted.last_mut()? = Some(value.into_str()?);
                }
            }
            Ctx::Other => {
                if !self.table_keys.insert(key) {
                    return None;
                }
            }
        }
        Some(())
    }

    fn check(&mut self, step: Option<()>) {
        if step.is_none() {
            self.give_up();
        }
    }
}

impl EventReceiver for Walker<'_> {
    fn std_table_open(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        if !self.gave_up {
            self.open_header(false);
        }
    }
    fn std_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        if !self.gave_up {
            let step = self.close_header();
            self.check(step);
        }
    }
    fn array_table_open(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        if !self.gave_up {
            self.open_header(true);
        }
    }
    fn array_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        if !self.gave_up {
            let step = self.close_header();
            self.check(step);
        }
    }
    fn inline_table_open(&mut self, _span: Span, _error: &mut dyn ErrorSink) -> bool {
        self.give_up();
        true
    }
    fn array_open(&mut self, _span: Span, _error: &mut dyn ErrorSink) -> bool {
        match self.pos {
            Pos::Value(_) => {
                let array = self.spare_arrays.pop().unwrap_or_default();
                self.arrays.push(array);
            }
            _ => self.give_up(),
        }
        true
    }
    fn array_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        if self.gave_up {
            return;
        }
        let step = match self.pos {
            Pos::Value(_) => self.arrays.pop().map(V::Array),
            _ => None,
        }
        .and_then(|array| self.push_value(array));
        self.check(step);
    }
    fn simple_key(&mut self, span: Span, kind: Option<Encoding>, _error: &mut dyn ErrorSink) {
        if self.gave_up {
            return;
        }
        let Some(key) = self.decode_key(span, kind) else {
            return self.give_up();
        };
        match &mut self.pos {
            Pos::Header {
                name: name @ None, ..
            } => *name = Some(key),
            Pos::Line => self.pos = Pos::Key(key),
            // A second name in a header or key: dotted.
            _ => self.give_up(),
        }
    }
    fn newline(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        // Line breaks inside a multi-line array belong to the value.
        if self.gave_up || !matches!(self.pos, Pos::Line) || !self.line_has_expression {
            return;
        }
        if let Some(start) = self.open_entry.take()
            && let Some(lines) = &mut self.entry_lines
        {
            lines.push(start..span.end());
        }
        self.expression_start = span.end();
        self.line_has_expression = false;
    }
    fn key_sep(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.give_up();
    }
    fn key_val_sep(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        if self.gave_up {
            return;
        }
        match std::mem::replace(&mut self.pos, Pos::Line) {
            Pos::Key(key) => self.pos = Pos::Value(key),
            _ => self.give_up(),
        }
    }
    fn scalar(&mut self, span: Span, kind: Option<Encoding>, _error: &mut dyn ErrorSink) {
        if self.gave_up {
            return;
        }
        let step = self
            .decode_scalar(span, kind)
            .and_then(|v| self.push_value(v));
        self.check(step);
    }
    fn error(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.give_up();
    }
}

/// The number of lines in `text` (line breaks plus one). Counted in blocks of 255
/// bytes with a byte-sized count, which the compiler turns into vector code.
fn line_count(text: &str) -> usize {
    let breaks: usize = text
        .as_bytes()
        .chunks(255)
        .map(|block| {
            let in_block: u8 = block.iter().map(|&b| u8::from(b == b'\n')).sum();
            usize::from(in_block)
        })
        .sum();
    breaks + 1
}

/// The content of a one-line quoted string that needs no decoding: no escapes and
/// none of the control characters TOML forbids in strings. That is nearly every key
/// and value in a config file, and checking the bytes is much cheaper than
/// toml_parser's decoder, which handles everything else (and reports its errors).
pub(super) fn plain_string(raw: &str, encoding: Option<Encoding>) -> Option<&str> {
    let quote = match encoding? {
        Encoding::BasicString => b'"',
        Encoding::LiteralString => b'\'',
        Encoding::MlBasicString | Encoding::MlLiteralString => return None,
    };
    let content = raw
        .as_bytes()
        .strip_prefix(&[quote])?
        .strip_suffix(&[quote])?;
    // A backslash starts an escape in a basic string only.
    let escape = if quote == b'"' { b'\\' } else { 0 };
    // Every byte is looked at (no early exit), which lets the compiler check many
    // at a time.
    let plain = content.iter().fold(true, |plain, &b| {
        plain & (((b >= 0x20) & (b != 0x7f) & (b != escape)) | (b == b'\t'))
    });
    // Both quotes are ASCII, so the content is a `str` slice.
    let content = plain.then(|| &raw[1..raw.len() - 1])?;
    if cfg!(debug_assertions) {
        let mut decoded = Cow::Borrowed("");
        let mut errors: Vec<ParseError> = Vec::new();
        let event = Raw::new_unchecked(raw, Some(encoding?), Span::new_unchecked(0, raw.len()));
        let kind = event.decode_scalar(&mut decoded, &mut errors);
        assert!(
            matches!(kind, ScalarKind::String) && errors.is_empty() && decoded == content,
            "plain_string disagrees with toml_parser on {raw:?}"
        );
    }
    Some(content)
}

/// Tokens handed to the parser at a time. The file is lexed and parsed in chunks
/// that end at a line break outside any brackets (a boundary between top-level
/// expressions), so memory stays small however long the file is: a token list
/// for a whole 1,000-registry file is about 300 KiB, and on a small VM every page
/// touched costs microseconds. Debug builds (the tests and the fuzzer) use tiny
/// chunks so that every file they read crosses many chunk boundaries.
const CHUNK_TOKENS: usize = if cfg!(debug_assertions) { 4 } else { 512 };

/// Fills `chunk` with the next tokens, up to a top-level line break once it holds
/// [`CHUNK_TOKENS`]. Returns `false` when the lexer is exhausted (the chunk then
/// ends with the `Eof` token).
///
/// Splitting there cannot change the result: in valid TOML a line break outside
/// `[...]` and `{...}` only ever ends an expression (strings, even multi-line
/// ones, are single tokens), so each chunk is a run of whole expressions; in
/// invalid TOML some chunk reports an error, and any error makes this reader
/// give up.
fn next_chunk(lexer: &mut Lexer<'_>, chunk: &mut Vec<Token>) -> bool {
    chunk.clear();
    let mut depth: i64 = 0;
    for token in lexer.by_ref() {
        let kind = token.kind();
        match kind {
            TokenKind::LeftSquareBracket | TokenKind::LeftCurlyBracket => depth += 1,
            TokenKind::RightSquareBracket | TokenKind::RightCurlyBracket => depth -= 1,
            _ => {}
        }
        chunk.push(token);
        if kind == TokenKind::Newline && depth == 0 && chunk.len() >= CHUNK_TOKENS {
            return true;
        }
    }
    false
}

/// [`read_keeping`] keeping everything.
#[cfg(test)]
pub(super) fn read(text: &str) -> Option<ConfigFile> {
    read_keeping(text, Keep::Everything)
}

/// Reads the file quickly, or returns `None` when the full reader must decide
/// (an unusual shape or any error). `keep` says what it keeps of `[registry-mirrors]`.
pub(super) fn read_keeping(text: &str, keep: Keep) -> Option<ConfigFile> {
    read_inner(text, false, keep).map(|(file, _)| file)
}

/// Where things are in a file the quick reader took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Layout {
    /// The lines of each `[registry-mirrors]` entry, parallel to
    /// `Config::registry_mirrors`: from just after the previous key/value or header
    /// line (comment lines above an entry are its own) to the end of its line break
    /// (or of the file, for a last line without one).
    pub registry_mirror_lines: Vec<Range<usize>>,
}

/// [`read_keeping`], and where each registry entry is.
pub(super) fn read_with_layout(text: &str, keep: Keep) -> Option<(ConfigFile, Layout)> {
    read_inner(text, true, keep)
}

/// [`read_keeping`] or [`read_with_layout`]; without `record_layout` the layout is
/// empty.
fn read_inner(text: &str, record_layout: bool, keep: Keep) -> Option<(ConfigFile, Layout)> {
    let source = Source::new(text);
    let mut lexer = source.lex();
    let mut chunk = Vec::with_capacity(CHUNK_TOKENS * 2);
    let mut walker = Walker::new(source, keep);
    if record_layout {
        walker.entry_lines = Some(Vec::new());
    }
    // Room for as many entries as the file has lines, so the lists never move (a
    // move copies them into fresh pages; capacity never touched costs nothing).
    walker.builder.reserve_registries(line_count(text));
    let mut errors: Vec<ParseError> = Vec::new();
    loop {
        let more = next_chunk(&mut lexer, &mut chunk);
        {
            let mut whitespace = ValidateWhitespace::new(&mut walker, source);
            let mut guard = RecursionGuard::new(&mut whitespace, MAX_DEPTH);
            parse_document(&chunk, &mut guard, &mut errors);
        }
        if walker.gave_up || !errors.is_empty() || !walker.errors.is_empty() {
            return None;
        }
        if !more {
            break;
        }
    }
    if !matches!(walker.pos, Pos::Line) {
        return None;
    }
    if let Some(start) = walker.open_entry.take()
        && let Some(lines) = &mut walker.entry_lines
    {
        lines.push(start..text.len());
    }
    let layout = Layout {
        registry_mirror_lines: walker.entry_lines.unwrap_or_default(),
    };

    // Registries went into the builder as they were read; the rest is small.
    let mut b = walker.builder;
    if b.duplicate_registry() {
        return None;
    }
    if let Some(s) = &walker.default_builder {
        b.default_builder(s).ok()?;
    }
    if let Some(s) = &walker.pull_policy {
        b.pull_policy(s).ok()?;
    }
    for s in walker.insecure.iter().flatten() {
        b.insecure_registry(s).ok()?;
    }
    for (image, mirrors) in &walker.run_images {
        b.run_image_mirrors(image.as_deref()?, mirrors).ok()?;
    }
    for name in &walker.trusted {
        b.trusted_builder(name.as_deref()?).ok()?;
    }
    Some((b.file, layout))
}
