//! `[registry-mirrors]` and `[registry-mirror-lists]`: a registry's mirrors are stored
//! so that pack, which reads `[registry-mirrors]` as one string per registry, can read
//! the file and use it. That string is the first mirror without a scheme (pack cannot
//! use one), and a registry with more mirrors, or whose first has a scheme, has its
//! whole list, as given, in `[registry-mirror-lists]` too.

use std::collections::HashSet;

use toml_edit::{DocumentMut, Item, Table, TableLike, Value};

use super::decor::{
    append_strings, array_of, drop_empty_table, first_key_indent, insert_indented,
    insert_like_siblings, item_strings, remove_key_keep_comments, retain_strings,
    separate_new_table,
};
use super::{Added, Removed, split_found};
use crate::config::keys;
use crate::reference::{Mirror, MirrorKey};

fn mirror_norm(s: &str) -> Option<String> {
    Mirror::parse(s).ok().map(|m| m.url())
}

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
    let current = current_mirrors(doc, pack_name.as_deref(), list_name.as_deref());
    let new_values = report.sort_new(
        current.iter().map(|c| mirror_norm(c)).collect(),
        mirrors.iter().map(|m| (m.to_string(), m.url())),
    );
    if new_values.is_empty() {
        return report;
    }
    let names = match (pack_name, list_name) {
        (pack, Some(list)) => {
            if let Some(item) = list_table_mut(doc).and_then(|t| t.get_mut(&list)) {
                append_strings(item, &new_values);
            }
            (pack, Some(list))
        }
        (Some(name), None) => {
            let mut all: Vec<String> = pack_table(doc)
                .and_then(|t| t.get(&name))
                .map(item_strings)
                .unwrap_or_default();
            all.extend(new_values);
            insert_list(doc, &name, Item::Value(Value::Array(array_of(&all))));
            (Some(name.clone()), Some(name))
        }
        (None, None) => {
            let name = key.key();
            insert_pack_entry(doc, &name, &pack_string(&new_values[0]));
            let list = needs_list(&new_values).then(|| {
                insert_list(doc, &name, Item::Value(Value::Array(array_of(&new_values))));
                name.clone()
            });
            (Some(name), list)
        }
    };
    sync_registry_mirrors(doc, names);
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
        // With two or more mirrors there is a list.
        if let Some(item) = list_name
            .as_ref()
            .and_then(|l| list_table_mut(doc)?.get_mut(l))
        {
            retain_strings(item, |s| !is_wanted(s));
        }
        sync_registry_mirrors(doc, (pack_name, list_name));
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
fn mirror_names(doc: &DocumentMut, key: &MirrorKey) -> Names {
    (
        pack_table(doc).and_then(|t| find_registry_key(t, key)),
        list_table(doc).and_then(|t| find_registry_key(t, key)),
    )
}

/// A registry's keys as written: in `[registry-mirrors]`, in `[registry-mirror-lists]`.
type Names = (Option<String>, Option<String>);

/// The mirrors of an entry as written, in order: its list when it has one, else
/// pack's string (the edit runs after cnb's older form was migrated).
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
fn sync_registry_mirrors(doc: &mut DocumentMut, (pack_name, list_name): Names) {
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
/// mirrors) moves there alone.
pub(super) fn migrate_registry_mirrors(doc: &mut DocumentMut) {
    let names: Vec<String> = match pack_table(doc) {
        Some(table) => table
            .iter()
            .filter(|(_, item)| unusable_by_pack(item))
            .map(|(k, _)| k.to_string())
            .collect(),
        None => return,
    };
    if names.is_empty() {
        return;
    }
    // The registries with a list, parsed once: a file in the older form can have
    // hundreds of entries to move, each checked against the lists.
    let mut listed: HashSet<MirrorKey> = list_table(doc)
        .map(|t| {
            t.iter()
                .filter_map(|(k, _)| MirrorKey::parse(k).ok())
                .collect()
        })
        .unwrap_or_default();
    for name in names {
        let key = MirrorKey::parse(&name).ok();
        let has_list = key.as_ref().is_some_and(|k| listed.contains(k));
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
            listed.extend(key);
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
            listed.extend(key);
        }
    }
    drop_empty_table(doc, keys::REGISTRY_MIRRORS);
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
    if table.contains_key(&stored) {
        return Some(stored);
    }
    table
        .iter()
        .find(|(k, _)| MirrorKey::parse(k).ok().as_ref() == Some(key))
        .map(|(k, _)| k.to_string())
}
