//! Changes to a config document, made with `toml_edit` so that everything else in
//! the file (comments, key order, formatting, keys cnb does not know) stays as it is.
//!
//! Every function here takes already-validated input and a document that
//! [`super::edit`] has validated, and reports what it did so the command can say
//! so. Entries are found by their normalised name (`docker.io` finds
//! `"index.docker.io"`); new entries are written in the stored form.
//!
//! Shapes written: a registry with one mirror is pack's string form
//! (`"index.docker.io" = "mirror"`), with more an array; run-image mirrors are
//! always an array (pack's shape); removing the last value removes its entry.

use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, TableLike, Value};

use super::keys;
use crate::reference::{ImageRef, InsecureEntry, Mirror, MirrorKey};

/// Values added to a list, and values that were already there (they keep their place).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Added {
    pub added: Vec<String>,
    pub present: Vec<String>,
    /// True when the entry did not exist before.
    pub new_entry: bool,
}

/// What a `remove` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    /// There was no entry for that name; nothing changed.
    NoEntry,
    /// The whole entry was removed.
    Entry,
    /// Some values were removed (`removed`), some were not there (`missing`).
    /// `entry_removed` when the last value went and the entry with it.
    Values {
        removed: Vec<String>,
        missing: Vec<String>,
        entry_removed: bool,
    },
}

/// What setting a single value did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Set {
    /// The key was not there before.
    New,
    /// The key had this value before.
    Replaced(String),
    /// The key already had this value; nothing changed.
    Unchanged,
}

fn mirror_norm(s: &str) -> Option<String> {
    Mirror::parse(s).ok().map(|m| m.url())
}

fn image_norm(s: &str) -> Option<String> {
    ImageRef::parse(s).ok().map(|i| i.key())
}

fn repository_norm(s: &str) -> Option<String> {
    ImageRef::parse(s).ok().map(|i| i.repository_key())
}

fn insecure_norm(s: &str) -> Option<InsecureEntry> {
    InsecureEntry::parse(s).ok()
}

// ---------------------------------------------------------------- registry mirrors

/// Appends `mirrors` (in order) to the entry for `key`, creating the entry (and the
/// `[registry-mirrors]` table) when needed. A mirror already in the list keeps its place.
pub fn add_registry_mirrors(doc: &mut DocumentMut, key: &MirrorKey, mirrors: &[Mirror]) -> Added {
    let mut report = Added::default();
    if !doc.contains_key(keys::REGISTRY_MIRRORS) {
        let mut table = Table::new();
        separate_new_table(doc, &mut table);
        doc.insert(keys::REGISTRY_MIRRORS, Item::Table(table));
    }
    let Some(table) = doc
        .get_mut(keys::REGISTRY_MIRRORS)
        .and_then(Item::as_table_like_mut)
    else {
        return report;
    };
    let existing = find_registry_key(table, key);
    let mut current: Vec<String> = existing
        .as_deref()
        .and_then(|k| table.get(k))
        .map(item_strings)
        .unwrap_or_default();
    let mut new_values = Vec::new();
    for mirror in mirrors {
        let stored = mirror.to_string();
        let norm = mirror.url();
        if current
            .iter()
            .any(|c| mirror_norm(c).as_deref() == Some(norm.as_str()))
        {
            report.present.push(stored);
        } else {
            current.push(stored.clone());
            new_values.push(stored.clone());
            report.added.push(stored);
        }
    }
    match existing {
        Some(name) => {
            if let Some(item) = table.get_mut(&name) {
                append_strings(item, &new_values);
            }
        }
        None => {
            report.new_entry = true;
            if !new_values.is_empty() {
                insert_like_siblings(table, &key.key(), string_or_array(&new_values));
            }
        }
    }
    report
}

/// Removes the entry for `key` (`mirrors` empty) or only the given mirrors. When the
/// last mirror goes, the entry goes; one mirror left is written in pack's string form.
pub fn remove_registry_mirrors(
    doc: &mut DocumentMut,
    key: &MirrorKey,
    mirrors: &[Mirror],
) -> Removed {
    let Some(table) = doc
        .get_mut(keys::REGISTRY_MIRRORS)
        .and_then(Item::as_table_like_mut)
    else {
        return Removed::NoEntry;
    };
    let Some(name) = find_registry_key(table, key) else {
        return Removed::NoEntry;
    };
    let result = if mirrors.is_empty() {
        let _ = remove_key_keep_comments(table, &name);
        Removed::Entry
    } else {
        let wanted: Vec<(String, String)> =
            mirrors.iter().map(|m| (m.to_string(), m.url())).collect();
        let Some(item) = table.get_mut(&name) else {
            return Removed::NoEntry;
        };
        let (removed_norms, left) = retain_strings(item, true, |s| {
            let norm = mirror_norm(s);
            !wanted
                .iter()
                .any(|(_, w)| norm.as_deref() == Some(w.as_str()))
        });
        let (removed, missing) = split_found(&wanted, &removed_norms, mirror_norm);
        if left == 0 {
            let _ = remove_key_keep_comments(table, &name);
        }
        Removed::Values {
            removed,
            missing,
            entry_removed: left == 0,
        }
    };
    drop_empty_table(doc, keys::REGISTRY_MIRRORS);
    result
}

/// The key (as written) of the entry whose normalised registry is `key`.
fn find_registry_key(table: &dyn TableLike, key: &MirrorKey) -> Option<String> {
    table
        .iter()
        .find(|(k, _)| MirrorKey::parse(k).ok().as_ref() == Some(key))
        .map(|(k, _)| k.to_string())
}

/// Which of the `wanted` values (stored form, normalised form) were among the removed
/// raw strings, and which were not there.
fn split_found(
    wanted: &[(String, String)],
    removed_raw: &[String],
    norm: fn(&str) -> Option<String>,
) -> (Vec<String>, Vec<String>) {
    let removed_norms: Vec<Option<String>> = removed_raw.iter().map(|s| norm(s)).collect();
    let mut removed = Vec::new();
    let mut missing = Vec::new();
    for (stored, n) in wanted {
        if removed_norms
            .iter()
            .any(|r| r.as_deref() == Some(n.as_str()))
        {
            removed.push(stored.clone());
        } else {
            missing.push(stored.clone());
        }
    }
    (removed, missing)
}

// ---------------------------------------------------------------- run-image mirrors

/// Appends mirror images to the `[[run-images]]` entry for `image` (matched on the
/// repository, any tag), creating it with `image_as_given` when there is none.
/// `mirrors` are (as given, parsed) pairs; they are written as given.
pub fn add_run_image_mirrors(
    doc: &mut DocumentMut,
    image_as_given: &str,
    image: &ImageRef,
    mirrors: &[(String, ImageRef)],
) -> Added {
    let mut report = Added::default();
    let wanted = image.repository_key();
    let tables = tables_of(doc, keys::RUN_IMAGES);
    let index = tables
        .as_ref()
        .and_then(|t| t.find(keys::RUN_IMAGE, repository_norm, &wanted));
    let mut current: Vec<String> = index
        .and_then(|i| tables.as_ref()?.get(i)?.get(keys::RUN_IMAGE_MIRRORS))
        .map(item_strings)
        .unwrap_or_default();
    let mut new_values = Vec::new();
    for (given, parsed) in mirrors {
        let norm = parsed.key();
        if current
            .iter()
            .any(|c| image_norm(c).as_deref() == Some(norm.as_str()))
        {
            report.present.push(given.clone());
        } else {
            current.push(given.clone());
            new_values.push(given.clone());
            report.added.push(given.clone());
        }
    }
    match index {
        Some(i) => {
            if new_values.is_empty() {
                return report;
            }
            let Some(mut tables) = tables_of_mut(doc, keys::RUN_IMAGES) else {
                return report;
            };
            if let Some(table) = tables.get_mut(i) {
                match table.get_mut(keys::RUN_IMAGE_MIRRORS) {
                    Some(item) => append_strings(item, &new_values),
                    None => insert_like_siblings(
                        table,
                        keys::RUN_IMAGE_MIRRORS,
                        Item::Value(Value::Array(array_of(&new_values))),
                    ),
                }
            }
        }
        None => {
            report.new_entry = true;
            push_table(
                doc,
                keys::RUN_IMAGES,
                vec![
                    (keys::RUN_IMAGE, Value::from(image_as_given)),
                    (keys::RUN_IMAGE_MIRRORS, Value::Array(array_of(&new_values))),
                ],
            );
        }
    }
    report
}

/// Removes the `[[run-images]]` entry for `image` (`mirrors` empty) or only the given
/// mirror images; the entry goes with its last mirror.
pub fn remove_run_image_mirrors(
    doc: &mut DocumentMut,
    image: &ImageRef,
    mirrors: &[(String, ImageRef)],
) -> Removed {
    let wanted_repo = image.repository_key();
    let Some(mut tables) = tables_of_mut(doc, keys::RUN_IMAGES) else {
        return Removed::NoEntry;
    };
    let Some(index) = tables
        .shared()
        .find(keys::RUN_IMAGE, repository_norm, &wanted_repo)
    else {
        return Removed::NoEntry;
    };
    let result = if mirrors.is_empty() {
        tables.remove(index);
        Removed::Entry
    } else {
        let wanted: Vec<(String, String)> =
            mirrors.iter().map(|(g, p)| (g.clone(), p.key())).collect();
        let (removed_raw, left) = match tables
            .get_mut(index)
            .and_then(|t| t.get_mut(keys::RUN_IMAGE_MIRRORS))
        {
            Some(item) => retain_strings(item, false, |s| {
                let norm = image_norm(s);
                !wanted
                    .iter()
                    .any(|(_, w)| norm.as_deref() == Some(w.as_str()))
            }),
            None => (Vec::new(), 0),
        };
        let (removed, missing) = split_found(&wanted, &removed_raw, image_norm);
        let entry_removed = left == 0 && !removed.is_empty();
        if entry_removed {
            tables.remove(index);
        }
        Removed::Values {
            removed,
            missing,
            entry_removed,
        }
    };
    if tables.len() == 0 {
        remove_root_key(doc, keys::RUN_IMAGES);
    }
    result
}

// ---------------------------------------------------------------- insecure registries

/// Appends entries to the top-level `insecure-registries` array (stored form).
pub fn add_insecure_registries(doc: &mut DocumentMut, entries: &[InsecureEntry]) -> Added {
    let mut report = Added::default();
    let mut current: Vec<String> = doc
        .get(keys::INSECURE_REGISTRIES)
        .map(item_strings)
        .unwrap_or_default();
    let mut new_values = Vec::new();
    for entry in entries {
        let stored = entry.to_string();
        if current
            .iter()
            .any(|c| insecure_norm(c).as_ref() == Some(entry))
        {
            report.present.push(stored);
        } else {
            current.push(stored.clone());
            new_values.push(stored.clone());
            report.added.push(stored);
        }
    }
    if new_values.is_empty() {
        return report;
    }
    match doc.get_mut(keys::INSECURE_REGISTRIES) {
        Some(item) => append_strings(item, &new_values),
        None => {
            report.new_entry = true;
            doc.insert(
                keys::INSECURE_REGISTRIES,
                Item::Value(Value::Array(array_of(&new_values))),
            );
        }
    }
    report
}

/// Removes entries from `insecure-registries`; the key goes with its last entry.
/// `removed`/`missing` hold the stored forms of the entries asked for.
pub fn remove_insecure_registries(doc: &mut DocumentMut, entries: &[InsecureEntry]) -> Removed {
    let Some(item) = doc.get_mut(keys::INSECURE_REGISTRIES) else {
        return Removed::NoEntry;
    };
    let (removed_raw, left) = retain_strings(item, false, |s| {
        let norm = insecure_norm(s);
        !entries.iter().any(|e| norm.as_ref() == Some(e))
    });
    let removed_entries: Vec<Option<InsecureEntry>> =
        removed_raw.iter().map(|s| insecure_norm(s)).collect();
    let mut removed = Vec::new();
    let mut missing = Vec::new();
    for entry in entries {
        if removed_entries.iter().any(|r| r.as_ref() == Some(entry)) {
            removed.push(entry.to_string());
        } else {
            missing.push(entry.to_string());
        }
    }
    if left == 0 {
        remove_root_key(doc, keys::INSECURE_REGISTRIES);
    }
    Removed::Values {
        removed,
        missing,
        entry_removed: left == 0,
    }
}

// ---------------------------------------------------------------- trusted builders

/// Adds a `[[trusted-builders]]` entry (`name` as given) unless one with the same
/// normalised reference is there. Returns whether it was added.
pub fn add_trusted_builder(doc: &mut DocumentMut, as_given: &str, image: &ImageRef) -> bool {
    if find_trusted(doc, image).is_some() {
        return false;
    }
    push_table(
        doc,
        keys::TRUSTED_BUILDERS,
        vec![(keys::TRUSTED_BUILDER_NAME, Value::from(as_given))],
    );
    true
}

/// Removes the `[[trusted-builders]]` entries for `image`. Returns whether one was there.
pub fn remove_trusted_builder(doc: &mut DocumentMut, image: &ImageRef) -> bool {
    let mut found = false;
    while let Some(index) = find_trusted(doc, image) {
        found = true;
        if let Some(mut tables) = tables_of_mut(doc, keys::TRUSTED_BUILDERS) {
            tables.remove(index);
        }
    }
    if tables_of(doc, keys::TRUSTED_BUILDERS).is_some_and(|t| t.len() == 0) {
        remove_root_key(doc, keys::TRUSTED_BUILDERS);
    }
    found
}

fn find_trusted(doc: &DocumentMut, image: &ImageRef) -> Option<usize> {
    let wanted = image.key();
    tables_of(doc, keys::TRUSTED_BUILDERS)?.find(keys::TRUSTED_BUILDER_NAME, image_norm, &wanted)
}

// ---------------------------------------------------------------- single values

/// Sets a top-level string (`default-builder-image`, `pull-policy`), keeping the
/// old value's decoration (a trailing comment stays).
pub fn set_top_level_string(doc: &mut DocumentMut, key: &str, value: &str) -> Set {
    match doc.get_mut(key) {
        Some(item) => {
            let before = item.as_str().map(str::to_string);
            if before.as_deref() == Some(value) {
                return Set::Unchanged;
            }
            let mut new = Value::from(value);
            if let Some(old) = item.as_value() {
                *new.decor_mut() = old.decor().clone();
            }
            *item = Item::Value(new);
            Set::Replaced(before.unwrap_or_default())
        }
        None => {
            doc.insert(key, Item::Value(Value::from(value)));
            Set::New
        }
    }
}

/// Removes a top-level key. Returns its string value when it was there.
pub fn unset_top_level(doc: &mut DocumentMut, key: &str) -> Option<String> {
    let value = doc.get(key)?.as_str().unwrap_or_default().to_string();
    remove_root_key(doc, key);
    Some(value)
}

// ---------------------------------------------------------------- helpers

/// The strings of a string or array item, in order.
fn item_strings(item: &Item) -> Vec<String> {
    match item {
        Item::Value(Value::String(s)) => vec![s.value().clone()],
        Item::Value(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn array_of(values: &[String]) -> Array {
    let mut array = Array::new();
    for v in values {
        array.push(v.as_str());
    }
    array
}

/// One value as a string (pack's form), more as an array.
fn string_or_array(values: &[String]) -> Item {
    match values {
        [one] => Item::Value(Value::from(one.as_str())),
        _ => Item::Value(Value::Array(array_of(values))),
    }
}

/// The whitespace a new element or key should start with, copied from a sibling's
/// prefix: a line break and the indentation when the sibling is on its own line,
/// else a space. Comments are never copied.
fn spacing_like(prefix: &str) -> String {
    match prefix.rfind('\n') {
        Some(i) => {
            let indent: String = prefix[i + 1..]
                .chars()
                .take_while(|c| *c == ' ' || *c == '\t')
                .collect();
            format!("\n{indent}")
        }
        None => " ".to_string(),
    }
}

/// The indentation of a key line, copied from a sibling key's prefix.
fn indent_like(prefix: &str) -> String {
    let last_line = prefix.rsplit('\n').next().unwrap_or("");
    last_line
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

/// Appends strings to a string or array item. A string becomes an array (keeping
/// the value's trailing comment) when it gets company; a multi-line array gets its
/// new elements on new lines with the same indentation.
fn append_strings(item: &mut Item, values: &[String]) {
    if values.is_empty() {
        return;
    }
    match item {
        Item::Value(Value::String(_)) => {
            let Some(old) = item.as_value().cloned() else {
                return;
            };
            let decor = old.decor().clone();
            let mut first = old;
            first.decor_mut().clear();
            let mut array = Array::new();
            array.push_formatted(first);
            for v in values {
                array.push(v.as_str());
            }
            let mut new = Value::Array(array);
            *new.decor_mut() = decor;
            *item = Item::Value(new);
        }
        Item::Value(Value::Array(array)) => {
            let spacing = if array.len() >= 2 {
                array
                    .get(array.len() - 1)
                    .and_then(|v| v.decor().prefix())
                    .and_then(|p| p.as_str())
                    .map(spacing_like)
            } else {
                None
            };
            for v in values {
                let mut value = Value::from(v.as_str());
                if let Some(s) = &spacing {
                    value.decor_mut().set_prefix(s.as_str());
                }
                array.push_formatted(value);
            }
        }
        _ => {}
    }
}

/// Keeps the strings for which `keep` is true; returns the removed strings and how
/// many are left. With `single_as_string`, an array left with one value becomes a
/// string (pack's form). An emptied string item is left for the caller to remove.
fn retain_strings(
    item: &mut Item,
    single_as_string: bool,
    keep: impl Fn(&str) -> bool,
) -> (Vec<String>, usize) {
    match item {
        Item::Value(Value::String(s)) => {
            let value = s.value().clone();
            if keep(&value) {
                (Vec::new(), 1)
            } else {
                (vec![value], 0)
            }
        }
        Item::Value(Value::Array(array)) => {
            let mut removed = Vec::new();
            let first_prefix = array
                .get(0)
                .and_then(|v| v.decor().prefix())
                .and_then(|p| p.as_str())
                .map(str::to_string);
            let mut i = 0;
            let mut removed_first = false;
            while i < array.len() {
                let s = array.get(i).and_then(Value::as_str).map(str::to_string);
                match s {
                    Some(s) if !keep(&s) => {
                        if i == 0 {
                            removed_first = true;
                        }
                        array.remove(i);
                        removed.push(s);
                    }
                    _ => i += 1,
                }
            }
            if removed_first && let Some(first) = array.get_mut(0) {
                first
                    .decor_mut()
                    .set_prefix(first_prefix.unwrap_or_default());
            }
            let left = array.len();
            if left == 0 {
                array.set_trailing_comma(false);
            }
            if single_as_string
                && left == 1
                && !removed.is_empty()
                && let Some(only) = array.get(0).and_then(Value::as_str).map(str::to_string)
            {
                let decor = array.decor().clone();
                let mut new = Value::from(only);
                *new.decor_mut() = decor;
                *item = Item::Value(new);
            }
            (removed, left)
        }
        _ => (Vec::new(), 0),
    }
}

/// Inserts a key at the end of a table with the indentation its last key has
/// (pack indents the keys of its tables by two spaces).
fn insert_like_siblings(table: &mut dyn TableLike, key: &str, item: Item) {
    let indent = table
        .iter()
        .last()
        .and_then(|(k, _)| table.key(k))
        .and_then(|k| k.leaf_decor().prefix())
        .and_then(|p| p.as_str())
        .map(indent_like);
    table.insert(key, item);
    if let Some(indent) = indent
        && !indent.is_empty()
        && let Some(mut k) = table.key_mut(key)
    {
        k.leaf_decor_mut().set_prefix(indent);
    }
}

/// Removes `key` from `table`. Comment lines above it that are separated from it by
/// a blank line belong to what comes before (a file header, a section comment) and
/// are kept: moved to the next key, or to the top of the table when it is the last.
/// Comments directly above the key are about the key and go with it.
fn remove_key_keep_comments(table: &mut dyn TableLike, key: &str) -> Option<String> {
    let prefix = table
        .key(key)
        .and_then(|k| k.leaf_decor().prefix())
        .and_then(|p| p.as_str())
        .map(str::to_string)
        .unwrap_or_default();
    // Only key/value lines carry a prefix that is printed above them; sub-tables have
    // their own header decoration.
    let keys: Vec<String> = table
        .iter()
        .filter(|(_, item)| item.is_value())
        .map(|(k, _)| k.to_string())
        .collect();
    let position = keys.iter().position(|k| k == key);
    let first = position == Some(0);
    // For the first key, everything above it is kept (a file starts with its header).
    let kept = if first {
        prefix.clone()
    } else {
        match prefix.trim_end_matches([' ', '\t']).rfind("\n\n") {
            Some(i) => prefix[..i + 2].to_string(),
            None => String::new(),
        }
    };
    let next = position.and_then(|p| keys.get(p + 1)).cloned();
    table.remove(key);
    if !kept.contains('#') {
        return None;
    }
    if let Some(n) = next
        && let Some(mut k) = table.key_mut(&n)
    {
        let old = k
            .leaf_decor()
            .prefix()
            .and_then(|p| p.as_str())
            .unwrap_or("")
            .to_string();
        k.leaf_decor_mut().set_prefix(format!("{kept}{old}"));
        return None;
    }
    Some(kept)
}

/// Removes a top-level key or array of tables; a header comment above it that has
/// nowhere else to go moves to the top of the document (the first line of a file
/// is never lost).
fn remove_root_key(doc: &mut DocumentMut, key: &str) {
    let is_value = doc.get(key).is_some_and(Item::is_value);
    if !is_value {
        // Tables carry their comments in their own decor; nothing above them to keep
        // except through the table header, which goes with them.
        let header = match doc.get(key) {
            Some(Item::ArrayOfTables(a)) => a
                .get(0)
                .and_then(|t| t.decor().prefix())
                .and_then(|p| p.as_str())
                .map(str::to_string),
            Some(Item::Table(t)) => t
                .decor()
                .prefix()
                .and_then(|p| p.as_str())
                .map(str::to_string),
            _ => None,
        };
        doc.remove(key);
        if let Some(h) = header.filter(|h| h.contains('#')) {
            keep_at_top(doc, &h);
        }
        return;
    }
    if let Some(kept) = remove_key_keep_comments(doc.as_table_mut(), key) {
        keep_at_top(doc, &kept);
    }
}

/// Appends comment text to the document's leading decoration.
fn keep_at_top(doc: &mut DocumentMut, text: &str) {
    let old = doc
        .decor()
        .prefix()
        .and_then(|p| p.as_str())
        .unwrap_or("")
        .to_string();
    let mut text = text.trim_start_matches('\n').to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    doc.decor_mut().set_prefix(format!("{old}{text}"));
}

fn drop_empty_table(doc: &mut DocumentMut, key: &str) {
    let removable = match doc.get(key) {
        Some(Item::Table(t)) => {
            t.is_empty()
                && !t
                    .decor()
                    .prefix()
                    .and_then(|p| p.as_str())
                    .is_some_and(|p| p.contains('#'))
                && !t
                    .decor()
                    .suffix()
                    .and_then(|p| p.as_str())
                    .is_some_and(|p| p.contains('#'))
        }
        _ => false,
    };
    if removable {
        doc.remove(key);
    }
}

/// An array of tables (`[[key]]`) or an array of inline tables (`key = [{..}]`).
enum Tables<'a> {
    Aot(&'a ArrayOfTables),
    Inline(&'a Array),
}

enum TablesMut<'a> {
    Aot(&'a mut ArrayOfTables),
    Inline(&'a mut Array),
}

fn tables_of<'a>(doc: &'a DocumentMut, key: &str) -> Option<Tables<'a>> {
    match doc.get(key)? {
        Item::ArrayOfTables(a) => Some(Tables::Aot(a)),
        Item::Value(Value::Array(a)) => Some(Tables::Inline(a)),
        _ => None,
    }
}

fn tables_of_mut<'a>(doc: &'a mut DocumentMut, key: &str) -> Option<TablesMut<'a>> {
    match doc.get_mut(key)? {
        Item::ArrayOfTables(a) => Some(TablesMut::Aot(a)),
        Item::Value(Value::Array(a)) => Some(TablesMut::Inline(a)),
        _ => None,
    }
}

impl<'a> Tables<'a> {
    fn len(&self) -> usize {
        match self {
            Tables::Aot(a) => a.len(),
            Tables::Inline(a) => a.len(),
        }
    }

    fn get(&self, i: usize) -> Option<&'a dyn TableLike> {
        match *self {
            Tables::Aot(a) => a.get(i).map(|t| t as &dyn TableLike),
            Tables::Inline(a) => a
                .get(i)
                .and_then(Value::as_inline_table)
                .map(|t| t as &dyn TableLike),
        }
    }

    /// The index of the first table whose string `field`, normalised by `norm`,
    /// is `wanted`.
    fn find(&self, field: &str, norm: fn(&str) -> Option<String>, wanted: &str) -> Option<usize> {
        (0..self.len()).find(|&i| {
            self.get(i)
                .and_then(|t| t.get(field))
                .and_then(Item::as_str)
                .and_then(norm)
                .as_deref()
                == Some(wanted)
        })
    }
}

impl TablesMut<'_> {
    /// The same tables, read-only.
    fn shared(&self) -> Tables<'_> {
        match self {
            TablesMut::Aot(a) => Tables::Aot(a),
            TablesMut::Inline(a) => Tables::Inline(a),
        }
    }

    fn len(&self) -> usize {
        self.shared().len()
    }

    fn get_mut(&mut self, i: usize) -> Option<&mut dyn TableLike> {
        match self {
            TablesMut::Aot(a) => a.get_mut(i).map(|t| t as &mut dyn TableLike),
            TablesMut::Inline(a) => a
                .get_mut(i)
                .and_then(Value::as_inline_table_mut)
                .map(|t| t as &mut dyn TableLike),
        }
    }

    fn remove(&mut self, i: usize) {
        match self {
            TablesMut::Aot(a) => {
                a.remove(i);
            }
            TablesMut::Inline(a) => {
                a.remove(i);
            }
        }
    }
}

/// Appends an entry to an array of tables (creating `[[key]]` when absent), with the
/// key indentation of the existing entries.
fn push_table(doc: &mut DocumentMut, key: &str, values: Vec<(&str, Value)>) {
    match doc.get_mut(key) {
        Some(Item::Value(Value::Array(array))) => {
            let mut table = InlineTable::new();
            for (k, v) in values {
                table.insert(k, v);
            }
            array.push(table);
        }
        Some(Item::ArrayOfTables(aot)) => {
            let indent = aot
                .get(0)
                .and_then(|t| t.iter().next().and_then(|(k, _)| t.key(k)))
                .and_then(|k| k.leaf_decor().prefix())
                .and_then(|p| p.as_str())
                .map(indent_like)
                .unwrap_or_default();
            aot.push(table_of(values, &indent));
        }
        _ => {
            // Pack indents the keys of [[...]] entries by two spaces; follow the file
            // when it has other entries, else pack.
            let indent = pack_style_indent(doc);
            let mut table = table_of(values, &indent);
            separate_new_table(doc, &mut table);
            let mut aot = ArrayOfTables::new();
            aot.push(table);
            doc.insert(key, Item::ArrayOfTables(aot));
        }
    }
}

/// A table added to a file that has other content starts after a blank line.
fn separate_new_table(doc: &DocumentMut, table: &mut Table) {
    if !doc.is_empty() {
        table.decor_mut().set_prefix("\n");
    }
}

fn table_of(values: Vec<(&str, Value)>, indent: &str) -> Table {
    let mut table = Table::new();
    for (k, v) in values {
        table.insert(k, Item::Value(v));
        if !indent.is_empty()
            && let Some(mut key) = table.key_mut(k)
        {
            key.leaf_decor_mut().set_prefix(indent);
        }
    }
    table
}

/// The indentation of keys inside tables elsewhere in the file (pack writes two
/// spaces); none when the file has no tables with keys.
fn pack_style_indent(doc: &DocumentMut) -> String {
    for (_, item) in doc.iter() {
        let table: Option<&Table> = match item {
            Item::Table(t) => Some(t),
            Item::ArrayOfTables(a) => a.get(0),
            _ => None,
        };
        if let Some(t) = table
            && let Some((k, _)) = t.iter().next()
            && let Some(prefix) = t
                .key(k)
                .and_then(|k| k.leaf_decor().prefix())
                .and_then(|p| p.as_str())
        {
            return indent_like(prefix);
        }
    }
    String::new()
}
