//! Changes to a config document, made with `toml_edit` so that everything else in
//! the file (comments, key order, formatting, keys cnb does not know) stays as it is
//! (SPEC §2's third bullet).
//!
//! [`apply`] is a whole edit without the file: check the text, change the document,
//! render it with the file's line breaks. Every other function here is one command's
//! change; each takes already-validated input and reports what it did so the command
//! can say so. Entries are found by their normalised name (`docker.io` finds
//! `"index.docker.io"`); new entries are written in the stored form.
//!
//! Shapes written: a registry's first mirror is pack's string form, without a scheme
//! (`"index.docker.io" = "mirror"`, SPEC §11), and a registry with more mirrors, or
//! whose one has a scheme, has its whole list in `[registry-mirror-lists]` as well
//! (pack does not read that table); run-image mirrors are always an array (pack's
//! shape); removing the last value removes its entry. Every write also rewrites cnb's
//! older form, arrays in `[registry-mirrors]` ([`migrate_registry_mirrors`]).

mod decor;

use std::path::Path;

use toml_edit::{DocumentMut, Item, Table, TableLike, Value};

use self::decor::{
    append_strings, array_of, comments_to_top, drop_empty_table, first_key_indent,
    header_stays_first, insert_indented, insert_like_siblings, item_strings, push_table,
    remove_key_keep_comments, remove_root_key, retain_strings, separate_new_table, tables_of,
    tables_of_mut, top_comments_end_their_line,
};
use super::model::ConfigFile;
use super::{ConfigError, keys, pack, read};
use crate::reference::{Given, ImageRef, InsecureEntry, Mirror, MirrorKey};

/// Applies `change` to the config text `text` (read from `path`, which only names
/// it in errors). The text is checked first: an invalid file is an error, whatever
/// the change. The changes here only insert values that were parsed and checked
/// when they were entered; the tests and the `config` fuzz target check that every
/// edit reads back.
///
/// Returns what `change` returned and the new text, or `None` when the document
/// stays as it was. A file whose first line ends with `\r\n` is written with `\r\n` line
/// breaks (toml_edit renders `\n`).
pub fn apply<T>(
    text: &str,
    path: &Path,
    change: impl FnOnce(&mut DocumentMut) -> T,
) -> Result<(T, Option<String>), ConfigError> {
    apply_checked(text, path, change).map(|a| (a.value, a.after))
}

/// What [`apply_checked`] found and did.
pub(super) struct Applied<T> {
    pub value: T,
    /// The new text; `None` when the document stays as it was.
    pub after: Option<String>,
    /// The file as it read before the change.
    pub before: ConfigFile,
    /// Whether pack would keep everything in the file before the change (nothing it
    /// does not know, no comments), and after it.
    pub pack_kept_all: bool,
    pub pack_keeps_all: bool,
}

/// [`apply`], with what [`edit`](super::edit) needs to keep its copy for pack in step
/// (see [`pack`]). A change that changes something also rewrites what pack cannot read
/// or use in `[registry-mirrors]` ([`migrate_registry_mirrors`]).
pub(super) fn apply_checked<T>(
    text: &str,
    path: &Path,
    change: impl FnOnce(&mut DocumentMut) -> T,
) -> Result<Applied<T>, ConfigError> {
    let doc = read::parse_document(text, path)?;
    let before_file = read::validate(&doc, text, path)?;
    let pack_kept_all = pack::pack_keeps_all(doc.as_table(), text);
    let mut doc = doc.into_mut();
    // Compared as toml_edit renders them: it adds a final line break, for example.
    let before = doc.to_string();
    comments_to_top(&mut doc);
    let had_values = doc.iter().any(|(_, item)| item.is_value());
    let value = change(&mut doc);
    if needs_migration(&doc) && doc.to_string() != before {
        migrate_registry_mirrors(&mut doc);
    }
    header_stays_first(&mut doc, had_values);
    top_comments_end_their_line(&mut doc);
    let mut after = doc.to_string();
    let pack_keeps_all = pack::pack_keeps_all(doc.as_table(), &after);
    let after = if after == before {
        None
    } else {
        if uses_crlf(text) {
            after = after.replace("\r\n", "\n").replace('\n', "\r\n");
        }
        Some(after)
    };
    Ok(Applied {
        value,
        after,
        before: before_file,
        pack_kept_all,
        pack_keeps_all,
    })
}

/// Whether `[registry-mirrors]` has something pack cannot read or use
/// ([`migrate_registry_mirrors`]).
fn needs_migration(doc: &DocumentMut) -> bool {
    pack_table(doc).is_some_and(|t| t.iter().any(|(_, item)| unusable_by_pack(item)))
}

/// Whether the text's first line ends with `\r\n`.
fn uses_crlf(text: &str) -> bool {
    text.find('\n').is_some_and(|i| text[..i].ends_with('\r'))
}

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
//
// A registry's mirrors are stored so that pack, which reads `[registry-mirrors]` as one
// string per registry, can read the file and use it: that string is the first mirror
// without a scheme (pack cannot use one), and a registry with more mirrors, or whose
// first has a scheme, has its whole list, as given, in `[registry-mirror-lists]` too.

/// The string pack reads for a list that starts with `first` (stored form).
fn pack_string(first: &str) -> String {
    Mirror::parse(first).map_or_else(|_| first.to_string(), |m| m.pack_form())
}

/// Whether a list (stored forms) needs `[registry-mirror-lists]`: pack's one string
/// does not say it all.
fn needs_list(list: &[String]) -> bool {
    match list {
        [] => false,
        [one] => pack_string(one) != *one,
        _ => true,
    }
}

/// Appends `mirrors` (in order) to the list of `key`, creating the entry (and the
/// tables) when needed. A mirror already in the list keeps its place.
pub fn add_registry_mirrors(doc: &mut DocumentMut, key: &MirrorKey, mirrors: &[Mirror]) -> Added {
    let mut report = Added::default();
    let (pack_name, list_name) = mirror_names(doc, key);
    report.new_entry = pack_name.is_none() && list_name.is_none();
    let mut current = current_mirrors(doc, pack_name.as_deref(), list_name.as_deref());
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
    if new_values.is_empty() {
        return report;
    }
    migrate_registry_mirrors(doc);
    let (pack_name, list_name) = mirror_names(doc, key);
    match (list_name, pack_name) {
        (Some(list), _) => {
            if let Some(item) = list_table_mut(doc).and_then(|t| t.get_mut(&list)) {
                append_strings(item, &new_values);
            }
        }
        (None, Some(name)) => {
            let mut all: Vec<String> = pack_table(doc)
                .and_then(|t| t.get(&name))
                .map(item_strings)
                .unwrap_or_default();
            all.extend(new_values);
            insert_list(doc, &name, Item::Value(Value::Array(array_of(&all))));
        }
        (None, None) => {
            let name = key.key();
            insert_pack_entry(doc, &name, &pack_string(&new_values[0]));
            if needs_list(&new_values) {
                insert_list(doc, &name, Item::Value(Value::Array(array_of(&new_values))));
            }
        }
    }
    sync_registry_mirrors(doc, key);
    report
}

/// Removes the entry for `key` (`mirrors` empty) or only the given mirrors. When the
/// last mirror goes, the entry goes; one mirror left is pack's string form alone.
pub fn remove_registry_mirrors(
    doc: &mut DocumentMut,
    key: &MirrorKey,
    mirrors: &[Mirror],
) -> Removed {
    let (pack_name, list_name) = mirror_names(doc, key);
    if pack_name.is_none() && list_name.is_none() {
        return Removed::NoEntry;
    }
    if mirrors.is_empty() {
        remove_registry_entry(doc, key);
        return Removed::Entry;
    }
    let current = current_mirrors(doc, pack_name.as_deref(), list_name.as_deref());
    let wanted: Vec<(String, String)> = mirrors.iter().map(|m| (m.to_string(), m.url())).collect();
    let is_wanted = |s: &str| {
        let norm = mirror_norm(s);
        wanted
            .iter()
            .any(|(_, w)| norm.as_deref() == Some(w.as_str()))
    };
    let removed_raw: Vec<String> = current.iter().filter(|s| is_wanted(s)).cloned().collect();
    let (removed, missing) = split_found(&wanted, &removed_raw, mirror_norm);
    if removed.is_empty() {
        return Removed::Values {
            removed,
            missing,
            entry_removed: false,
        };
    }
    let left = current.len() - removed_raw.len();
    if left == 0 {
        remove_registry_entry(doc, key);
    } else {
        migrate_registry_mirrors(doc);
        let (_, list_name) = mirror_names(doc, key);
        // With two or more mirrors there is a list (after the migration).
        if let Some(item) = list_name.and_then(|l| list_table_mut(doc)?.get_mut(&l)) {
            retain_strings(item, |s| !is_wanted(s));
        }
        sync_registry_mirrors(doc, key);
    }
    Removed::Values {
        removed,
        missing,
        entry_removed: left == 0,
    }
}

fn pack_table(doc: &DocumentMut) -> Option<&dyn TableLike> {
    doc.get(keys::REGISTRY_MIRRORS)?.as_table_like()
}

fn pack_table_mut(doc: &mut DocumentMut) -> Option<&mut dyn TableLike> {
    doc.get_mut(keys::REGISTRY_MIRRORS)?.as_table_like_mut()
}

fn list_table(doc: &DocumentMut) -> Option<&dyn TableLike> {
    doc.get(keys::REGISTRY_MIRROR_LISTS)?.as_table_like()
}

fn list_table_mut(doc: &mut DocumentMut) -> Option<&mut dyn TableLike> {
    doc.get_mut(keys::REGISTRY_MIRROR_LISTS)?
        .as_table_like_mut()
}

/// The keys (as written) of `key`'s entries in `[registry-mirrors]` (the one that
/// counts, see [`find_registry_key`]) and in `[registry-mirror-lists]`.
fn mirror_names(doc: &DocumentMut, key: &MirrorKey) -> (Option<String>, Option<String>) {
    (
        pack_table(doc).and_then(|t| find_registry_key(t, key)),
        list_table(doc).and_then(|t| find_registry_key(t, key)),
    )
}

/// The mirrors of an entry as written, in order: its list when it has one, else
/// pack's string (or cnb's older array).
fn current_mirrors(doc: &DocumentMut, pack: Option<&str>, list: Option<&str>) -> Vec<String> {
    match list {
        Some(l) => list_table(doc).and_then(|t| t.get(l)).map(item_strings),
        None => pack.and_then(|p| pack_table(doc)?.get(p)).map(item_strings),
    }
    .unwrap_or_default()
}

/// Adds `name = "mirror"` to `[registry-mirrors]`, creating the table when needed.
fn insert_pack_entry(doc: &mut DocumentMut, name: &str, mirror: &str) {
    if !doc.contains_key(keys::REGISTRY_MIRRORS) {
        let mut table = Table::new();
        separate_new_table(doc, &mut table);
        doc.insert(keys::REGISTRY_MIRRORS, Item::Table(table));
    }
    if let Some(table) = pack_table_mut(doc) {
        insert_like_siblings(table, name, Item::Value(Value::from(mirror)));
    }
}

/// Adds `name = item` to `[registry-mirror-lists]`, creating the table right after
/// `[registry-mirrors]` (its keys indented the same way) when needed.
fn insert_list(doc: &mut DocumentMut, name: &str, item: Item) {
    let indent = pack_table(doc).map(first_key_indent).unwrap_or_default();
    if !doc.contains_key(keys::REGISTRY_MIRROR_LISTS) {
        let mut table = Table::new();
        separate_new_table(doc, &mut table);
        if let Some(Item::Table(pack)) = doc.get(keys::REGISTRY_MIRRORS) {
            table.set_position(pack.position());
        }
        doc.insert(keys::REGISTRY_MIRROR_LISTS, Item::Table(table));
    }
    if let Some(table) = list_table_mut(doc) {
        insert_indented(table, name, item, &indent);
    }
}

/// Makes `key`'s entries agree after a change of its list: `[registry-mirrors]` holds
/// the list's first mirror in pack's form, and a list that string says all of goes.
/// An empty list (no mirrors) is left as it is.
fn sync_registry_mirrors(doc: &mut DocumentMut, key: &MirrorKey) {
    let (pack_name, list_name) = mirror_names(doc, key);
    let Some(list_name) = list_name else {
        return;
    };
    let list: Vec<String> = list_table(doc)
        .and_then(|t| t.get(&list_name))
        .map(item_strings)
        .unwrap_or_default();
    let Some(first) = list.first().map(|f| pack_string(f)) else {
        return;
    };
    match pack_name {
        Some(name) => {
            if let Some(item) = pack_table_mut(doc).and_then(|t| t.get_mut(&name))
                && item.as_str() != Some(first.as_str())
            {
                let mut new = Value::from(first.as_str());
                if let Some(old) = item.as_value().filter(|v| v.is_str()) {
                    *new.decor_mut() = old.decor().clone();
                }
                *item = Item::Value(new);
            }
        }
        None => insert_pack_entry(doc, &list_name, &first),
    }
    if !needs_list(&list) {
        if let Some(table) = list_table_mut(doc) {
            let _ = remove_key_keep_comments(table, &list_name);
        }
        drop_empty_table(doc, keys::REGISTRY_MIRROR_LISTS);
        if !doc.contains_key(keys::REGISTRY_MIRROR_LISTS) {
            first_table_starts_the_file(doc);
        }
    }
}

/// A `[registry-mirrors]` created below the list table starts after a blank line; when
/// the list table goes and nothing is left above it, neither is the blank line.
fn first_table_starts_the_file(doc: &mut DocumentMut) {
    let empty_top = doc.iter().all(|(_, item)| !item.is_value())
        && doc
            .decor()
            .prefix()
            .and_then(|p| p.as_str())
            .is_none_or(str::is_empty);
    let only_table = doc.len() == 1;
    if let (true, true, Some(Item::Table(table))) =
        (empty_top, only_table, doc.get_mut(keys::REGISTRY_MIRRORS))
        && table.decor().prefix().and_then(|p| p.as_str()) == Some("\n")
    {
        table.decor_mut().set_prefix("");
    }
}

/// Removes every entry naming `key` from both tables (a key pack keeps beside the
/// one that counts would count once that one is gone).
fn remove_registry_entry(doc: &mut DocumentMut, key: &MirrorKey) {
    for section in [keys::REGISTRY_MIRRORS, keys::REGISTRY_MIRROR_LISTS] {
        if let Some(table) = doc.get_mut(section).and_then(Item::as_table_like_mut) {
            let names: Vec<String> = table
                .iter()
                .filter(|(k, _)| MirrorKey::parse(k).ok().as_ref() == Some(key))
                .map(|(k, _)| k.to_string())
                .collect();
            for name in names {
                let _ = remove_key_keep_comments(table, &name);
            }
        }
        drop_empty_table(doc, section);
    }
}

/// Rewrites what pack cannot read or use in `[registry-mirrors]`: cnb's older form, an
/// array, and a mirror with a scheme. The entry becomes pack's string (the first
/// mirror without a scheme) and, when that does not say it all, the array (with its
/// comments) or the string moves to `[registry-mirror-lists]`; an empty array (no
/// mirrors) moves there alone. Returns whether anything changed.
pub(super) fn migrate_registry_mirrors(doc: &mut DocumentMut) -> bool {
    let names: Vec<String> = match pack_table(doc) {
        Some(table) => table
            .iter()
            .filter(|(_, item)| unusable_by_pack(item))
            .map(|(k, _)| k.to_string())
            .collect(),
        None => return false,
    };
    if names.is_empty() {
        return false;
    }
    for name in names {
        let has_list = MirrorKey::parse(&name)
            .ok()
            .and_then(|key| list_table(doc).and_then(|t| find_registry_key(t, &key)))
            .is_some();
        let Some(item) = pack_table_mut(doc).and_then(|t| t.get_mut(&name)) else {
            continue;
        };
        let values = item_strings(item);
        let Some(first) = values.first() else {
            let moved = item.clone();
            if let Some(table) = pack_table_mut(doc) {
                let _ = remove_key_keep_comments(table, &name);
            }
            insert_list(doc, &name, moved);
            continue;
        };
        let mut string = Value::from(pack_string(first).as_str());
        let moved = if has_list || !needs_list(&values) {
            if let Some(old) = item.as_value() {
                *string.decor_mut() = old.decor().clone();
            }
            *item = Item::Value(string);
            None
        } else if item.is_array() {
            Some(std::mem::replace(item, Item::Value(string)))
        } else {
            // A string with a scheme: pack gets it without, the list keeps it.
            if let Some(old) = item.as_value() {
                *string.decor_mut() = old.decor().clone();
            }
            *item = Item::Value(string);
            Some(Item::Value(Value::Array(array_of(&values))))
        };
        if let Some(moved) = moved {
            insert_list(doc, &name, moved);
        }
    }
    drop_empty_table(doc, keys::REGISTRY_MIRRORS);
    true
}

/// An array, or a string pack cannot use (a mirror with a scheme).
fn unusable_by_pack(item: &Item) -> bool {
    match item.as_str() {
        Some(s) => pack_string(s) != s,
        None => item.is_array(),
    }
}

/// The key (as written) of the entry whose normalised registry is `key`: the one
/// spelled in the stored form when several are (pack keeps `docker.io` and
/// `index.docker.io` side by side), else the first.
fn find_registry_key(table: &dyn TableLike, key: &MirrorKey) -> Option<String> {
    let stored = key.key();
    let mut first = None;
    for (k, _) in table.iter() {
        if k == stored {
            return Some(stored);
        }
        if first.is_none() && MirrorKey::parse(k).ok().as_ref() == Some(key) {
            first = Some(k.to_string());
        }
    }
    first
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
/// repository, any tag), creating it with the image as given when there is none.
/// Mirrors are written as given.
pub fn add_run_image_mirrors(
    doc: &mut DocumentMut,
    image: &Given<ImageRef>,
    mirrors: &[Given<ImageRef>],
) -> Added {
    let mut report = Added::default();
    let wanted = image.value.repository_key();
    let tables = tables_of(doc, keys::RUN_IMAGES);
    let index = tables
        .as_ref()
        .and_then(|t| t.find(keys::RUN_IMAGE, repository_norm, &wanted));
    let mut current: Vec<String> = index
        .and_then(|i| tables.as_ref()?.get(i)?.get(keys::RUN_IMAGE_MIRRORS))
        .map(item_strings)
        .unwrap_or_default();
    let mut new_values = Vec::new();
    for Given {
        text: given,
        value: parsed,
    } in mirrors
    {
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
                    (keys::RUN_IMAGE, Value::from(image.text.as_str())),
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
    mirrors: &[Given<ImageRef>],
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
        let wanted: Vec<(String, String)> = mirrors
            .iter()
            .map(|m| (m.text.clone(), m.value.key()))
            .collect();
        let (removed_raw, left) = match tables
            .get_mut(index)
            .and_then(|t| t.get_mut(keys::RUN_IMAGE_MIRRORS))
        {
            Some(item) => retain_strings(item, |s| {
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
    let (removed_raw, left) = retain_strings(item, |s| {
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
