//! The quick reader for the usual file: TOML events straight from `toml_parser`
//! (the parser under toml_edit) into the [`Builder`], without building an editable
//! document. It is about five times quicker than the full reader on a file with
//! a thousand registries, which keeps `cnb config ... list` and every `cnb build`
//! start-up cheap.
//!
//! It handles the shapes pack and cnb write: top-level keys, `[table]` and
//! `[[array-of-tables]]` headers with one name, string, boolean and array values.
//! On anything else (dotted keys, inline tables, numbers and dates, any error) it
//! gives up and the full reader in [`super::validate`] decides, with its precise
//! messages. Both go through the same [`Builder`], so a file either reader accepts
//! means the same thing.

use std::borrow::Cow;
use std::collections::HashSet;

use toml_parser::decoder::ScalarKind;
use toml_parser::parser::{Event, EventKind, RecursionGuard, ValidateWhitespace, parse_document};
use toml_parser::{ParseError, Source};

use super::{Builder, ConfigFile, keys};

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

    /// A string, or an array of strings.
    fn into_strings(self, allow_single: bool) -> Option<Vec<Cow<'i, str>>> {
        match self {
            V::Str(s) if allow_single => Some(vec![s]),
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

struct Reader<'i, 'e> {
    source: Source<'i>,
    events: &'e [Event],
    pos: usize,
    errors: Vec<ParseError>,
}

impl<'i> Reader<'i, '_> {
    /// The next event that is not whitespace, a comment or a newline.
    fn next(&mut self) -> Option<Event> {
        while let Some(event) = self.events.get(self.pos) {
            self.pos += 1;
            match event.kind() {
                EventKind::Whitespace | EventKind::Comment | EventKind::Newline => continue,
                _ => return Some(*event),
            }
        }
        None
    }

    fn key(&mut self, event: Event) -> Option<Cow<'i, str>> {
        let raw = self.source.get(event)?;
        let mut key = Cow::Borrowed("");
        raw.decode_key(&mut key, &mut self.errors);
        self.errors.is_empty().then_some(key)
    }

    /// `name]` or `name]]` after an opening bracket: exactly one simple key.
    fn header(&mut self, close: EventKind) -> Option<Cow<'i, str>> {
        let event = self.next()?;
        if event.kind() != EventKind::SimpleKey {
            return None;
        }
        let name = self.key(event)?;
        (self.next()?.kind() == close).then_some(name)
    }

    fn value(&mut self) -> Option<V<'i>> {
        let event = self.next()?;
        self.value_from(event)
    }

    fn value_from(&mut self, event: Event) -> Option<V<'i>> {
        match event.kind() {
            EventKind::Scalar => {
                let raw = self.source.get(event)?;
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
            EventKind::ArrayOpen => {
                let mut values = Vec::new();
                loop {
                    let event = self.next()?;
                    match event.kind() {
                        EventKind::ArrayClose => return Some(V::Array(values)),
                        EventKind::ValueSep => {}
                        _ => values.push(self.value_from(event)?),
                    }
                }
            }
            _ => None,
        }
    }
}

/// Reads the file quickly, or returns `None` when the full reader must decide
/// (an unusual shape or any error).
pub(super) fn read(text: &str) -> Option<ConfigFile> {
    let source = Source::new(text);
    let tokens = source.lex().into_vec();
    let mut events: Vec<Event> = Vec::with_capacity(tokens.len());
    let mut errors: Vec<ParseError> = Vec::new();
    {
        let mut whitespace = ValidateWhitespace::new(&mut events, source);
        let mut guard = RecursionGuard::new(&mut whitespace, MAX_DEPTH);
        parse_document(&tokens, &mut guard, &mut errors);
    }
    if !errors.is_empty() || events.iter().any(|e| e.kind() == EventKind::Error) {
        return None;
    }
    let mut r = Reader {
        source,
        events: &events,
        pos: 0,
        errors,
    };

    let mut ctx = Ctx::Root;
    let mut root_keys: HashSet<Cow<'_, str>> = HashSet::new();
    let mut std_headers: HashSet<Cow<'_, str>> = HashSet::new();
    let mut array_headers: HashSet<Cow<'_, str>> = HashSet::new();
    let mut table_keys: HashSet<Cow<'_, str>> = HashSet::new();

    let mut default_builder = None;
    let mut pull_policy = None;
    let mut insecure = None;
    let mut registries: Vec<(Cow<'_, str>, Vec<Cow<'_, str>>)> = Vec::new();
    // Per [[run-images]] entry: image, mirrors.
    let mut run_images: Vec<RunImageEntry<'_>> = Vec::new();
    let mut trusted: Vec<Option<Cow<'_, str>>> = Vec::new();

    while let Some(event) = r.next() {
        match event.kind() {
            EventKind::StdTableOpen => {
                let name = r.header(EventKind::StdTableClose)?;
                if root_keys.contains(&name)
                    || array_headers.contains(&name)
                    || !std_headers.insert(name.clone())
                {
                    return None;
                }
                ctx = match name.as_ref() {
                    keys::REGISTRY_MIRRORS => Ctx::RegistryMirrors,
                    keys::RUN_IMAGES | keys::TRUSTED_BUILDERS => return None,
                    _ => Ctx::Other,
                };
                table_keys.clear();
            }
            EventKind::ArrayTableOpen => {
                let name = r.header(EventKind::ArrayTableClose)?;
                if root_keys.contains(&name) || std_headers.contains(&name) {
                    return None;
                }
                array_headers.insert(name.clone());
                ctx = match name.as_ref() {
                    keys::RUN_IMAGES => {
                        run_images.push((None, Vec::new()));
                        Ctx::RunImage
                    }
                    keys::TRUSTED_BUILDERS => {
                        trusted.push(None);
                        Ctx::TrustedBuilder
                    }
                    keys::REGISTRY_MIRRORS => return None,
                    _ => Ctx::Other,
                };
                table_keys.clear();
            }
            EventKind::SimpleKey => {
                let key = r.key(event)?;
                if r.next()?.kind() != EventKind::KeyValSep {
                    return None; // a dotted key
                }
                let value = r.value()?;
                match ctx {
                    Ctx::Root => {
                        if !root_keys.insert(key.clone()) {
                            return None;
                        }
                        match key.as_ref() {
                            keys::DEFAULT_BUILDER => default_builder = Some(value.into_str()?),
                            keys::PULL_POLICY => pull_policy = Some(value.into_str()?),
                            keys::INSECURE_REGISTRIES => {
                                insecure = Some(value.into_strings(false)?)
                            }
                            keys::REGISTRY_MIRRORS | keys::RUN_IMAGES | keys::TRUSTED_BUILDERS => {
                                return None;
                            }
                            _ => {}
                        }
                    }
                    // Duplicate names here are caught by the builder (same registry twice).
                    Ctx::RegistryMirrors => registries.push((key, value.into_strings(true)?)),
                    Ctx::RunImage => {
                        if !table_keys.insert(key.clone()) {
                            return None;
                        }
                        let entry = run_images.last_mut()?;
                        match key.as_ref() {
                            keys::RUN_IMAGE => entry.0 = Some(value.into_str()?),
                            keys::RUN_IMAGE_MIRRORS => entry.1 = value.into_strings(false)?,
                            _ => {}
                        }
                    }
                    Ctx::TrustedBuilder => {
                        if !table_keys.insert(key.clone()) {
                            return None;
                        }
                        if key == keys::TRUSTED_BUILDER_NAME {
                            *trusted.last_mut()? = Some(value.into_str()?);
                        }
                    }
                    Ctx::Other => {
                        if !table_keys.insert(key) {
                            return None;
                        }
                    }
                }
            }
            _ => return None,
        }
    }

    // The same order as the full reader.
    let mut b = Builder::default();
    if let Some(s) = default_builder {
        b.default_builder(&s).ok()?;
    }
    if let Some(s) = pull_policy {
        b.pull_policy(&s).ok()?;
    }
    for s in insecure.unwrap_or_default() {
        b.insecure_registry(&s).ok()?;
    }
    build_registries(&mut b, &registries)?;
    if b.duplicate_registry() {
        return None;
    }
    for (image, mirrors) in &run_images {
        b.run_image_mirrors(image.as_deref()?, mirrors).ok()?;
    }
    for name in &trusted {
        b.trusted_builder(name.as_deref()?).ok()?;
    }
    Some(b.file)
}

/// From this many `[registry-mirrors]` entries on, half of them are checked on a
/// second thread (checking a mirror means parsing it; 1,000 entries take about a
/// millisecond).
const PARALLEL_REGISTRIES: usize = 256;

/// Adds the registry entries to `b` in file order; `None` on the first bad one.
fn build_registries(
    b: &mut Builder,
    registries: &[(Cow<'_, str>, Vec<Cow<'_, str>>)],
) -> Option<()> {
    let build = |b: &mut Builder, entries: &[(Cow<'_, str>, Vec<Cow<'_, str>>)]| {
        entries
            .iter()
            .try_for_each(|(name, values)| b.registry_mirrors(name, values).ok())
    };
    if registries.len() < PARALLEL_REGISTRIES {
        return build(b, registries);
    }
    let (first, second) = registries.split_at(registries.len() / 2);
    let other = std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            let mut other = Builder::default();
            build(&mut other, second).map(|()| other.file)
        });
        let mine = build(b, first);
        let other = worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        mine.and(other)
    })?;
    b.file
        .config
        .registry_mirrors
        .extend(other.config.registry_mirrors);
    b.file
        .written
        .registry_mirrors
        .extend(other.written.registry_mirrors);
    Some(())
}
