//! `[registry-ca]` edits: one PEM file path per registry, found by its normalised name.

use toml_edit::{DocumentMut, Item, Table, TableLike, Value};

use super::Set;
use super::decor::{
    drop_empty_table, insert_like_siblings, remove_key_keep_comments, separate_new_table,
};
use crate::config::keys;
use crate::reference::Registry;

/// The key (as written) of the entry for `registry`.
fn find(table: &dyn TableLike, registry: &Registry) -> Option<String> {
    table
        .iter()
        .find(|(k, _)| Registry::parse(k).ok().as_ref() == Some(registry))
        .map(|(k, _)| k.to_string())
}

/// Sets the CA file of `registry` to `path` (creating `[registry-ca]` when needed).
pub fn set_registry_ca(doc: &mut DocumentMut, registry: &Registry, path: &str) -> Set {
    if !doc.contains_key(keys::REGISTRY_CA) {
        let mut table = Table::new();
        separate_new_table(doc, &mut table);
        doc.insert(keys::REGISTRY_CA, Item::Table(table));
    }
    let Some(table) = doc
        .get_mut(keys::REGISTRY_CA)
        .and_then(Item::as_table_like_mut)
    else {
        return Set::Unchanged;
    };
    match find(table, registry) {
        Some(name) => {
            let Some(item) = table.get_mut(&name) else {
                return Set::Unchanged;
            };
            let before = item.as_str().unwrap_or_default().to_string();
            if before == path {
                return Set::Unchanged;
            }
            let mut new = Value::from(path);
            if let Some(old) = item.as_value() {
                *new.decor_mut() = old.decor().clone();
            }
            *item = Item::Value(new);
            Set::Replaced(before)
        }
        None => {
            insert_like_siblings(table, &registry.key(), Item::Value(Value::from(path)));
            Set::New
        }
    }
}

/// Removes the entry of `registry`. Returns the path it had.
pub fn remove_registry_ca(doc: &mut DocumentMut, registry: &Registry) -> Option<String> {
    let table = doc
        .get_mut(keys::REGISTRY_CA)
        .and_then(Item::as_table_like_mut)?;
    let name = find(table, registry)?;
    let path = table
        .get(&name)
        .and_then(Item::as_str)
        .unwrap_or_default()
        .to_string();
    let _ = remove_key_keep_comments(table, &name);
    drop_empty_table(doc, keys::REGISTRY_CA);
    Some(path)
}
