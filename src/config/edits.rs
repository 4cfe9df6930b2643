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
//! older form, arrays in `[registry-mirrors]` ([`migrate_registry_mirrors`], before the
//! change, so the changes see the current form only). The two mirror tables' changes
//! are in `edits/registry_mirrors.rs`.

mod decor;
mod registry_ca;
mod registry_mirrors;

use std::path::Path;

use toml_edit::{DocumentMut, Item, Value};

use self::decor::{
    append_strings, array_of, comments_to_top, header_stays_first, insert_like_siblings,
    item_strings, push_table, remove_root_key, retain_strings, tables_of, tables_of_mut,
    top_comments_end_their_line,
};
use super::model::ConfigFile;
use super::{ConfigError, keys, pack, read};
use crate::reference::{Given, ImageRef, InsecureEntry};

use self::registry_mirrors::migrate_registry_mirrors;
pub use self::registry_mirrors::{add_registry_mirrors, remove_registry_mirrors};
pub use registry_ca::{remove_registry_ca, set_registry_ca};

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
    // The changes see the file in the current form: what pack cannot use is rewritten
    // first, and is written only with a change that changes something. The text to
    // compare with is rendered once, as toml_edit renders it (it adds a final line
    // break, for example): after the migration when there is one, else as read.
    let migrate = before_file.written.pack_cannot_use;
    let before = (!migrate).then(|| doc.to_string());
    comments_to_top(&mut doc);
    let had_values = doc.iter().any(|(_, item)| item.is_value());
    let unchanged = match before {
        Some(before) => before,
        None => {
            migrate_registry_mirrors(&mut doc);
            doc.to_string()
        }
    };
    let value = change(&mut doc);
    header_stays_first(&mut doc, had_values);
    top_comments_end_their_line(&mut doc);
    let mut after = doc.to_string();
    let pack_keeps_all = pack::pack_keeps_all(doc.as_table(), &after);
    let after = if after == unchanged {
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

impl Added {
    /// Sorts `given` (each value's stored form and its normalised key, in order) against
    /// the normalised keys of what is there: a value already there (or given twice) is
    /// `present`; the others are `added` and returned, in order, to be appended.
    fn sort_new<K: PartialEq>(
        &mut self,
        mut there: Vec<Option<K>>,
        given: impl IntoIterator<Item = (String, K)>,
    ) -> Vec<String> {
        let mut new_values = Vec::new();
        for (stored, key) in given {
            if there.iter().any(|t| t.as_ref() == Some(&key)) {
                self.present.push(stored);
            } else {
                there.push(Some(key));
                new_values.push(stored.clone());
                self.added.push(stored);
            }
        }
        new_values
    }
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

fn image_norm(s: &str) -> Option<String> {
    ImageRef::parse(s).ok().map(|i| i.key())
}

fn repository_norm(s: &str) -> Option<String> {
    ImageRef::parse(s).ok().map(|i| i.repository_key())
}

fn insecure_norm(s: &str) -> Option<InsecureEntry> {
    InsecureEntry::parse(s).ok()
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
    let current: Vec<String> = index
        .and_then(|i| tables.as_ref()?.get(i)?.get(keys::RUN_IMAGE_MIRRORS))
        .map(item_strings)
        .unwrap_or_default();
    let new_values = report.sort_new(
        current.iter().map(|c| image_norm(c)).collect(),
        mirrors.iter().map(|m| (m.text.clone(), m.value.key())),
    );
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
    let current: Vec<String> = doc
        .get(keys::INSECURE_REGISTRIES)
        .map(item_strings)
        .unwrap_or_default();
    let new_values = report.sort_new(
        current.iter().map(|c| insecure_norm(c)).collect(),
        entries.iter().map(|e| (e.to_string(), e.clone())),
    );
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
