//! The config reader and editor on arbitrary text: `ConfigFile::parse` never panics
//! (bad files are errors with a line and column) and the lookups work on whatever
//! it accepted; adding and removing a registry's mirrors in an accepted file never
//! fails and gives a file that reads back with the change made, and whose
//! `[registry-mirrors]` pack can read and use (one string without a scheme per key).
#![no_main]

use std::path::Path;

use cnb::config::{Config, ConfigError, ConfigFile, edits};
use cnb::reference::{Mirror, MirrorKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.toml");
    let file = match ConfigFile::parse(text, path) {
        Ok(file) => file,
        Err(ConfigError::Invalid { line, column, .. }) => {
            assert!(line >= 1 && column >= 1);
            return;
        }
        Err(e) => panic!("not a position: {e}"),
    };
    let config = &file.config;
    assert_eq!(config.registry_mirrors.len(), file.written.registry_mirrors.len());
    for entry in &config.registry_mirrors {
        if let MirrorKey::Registry(registry) = &entry.key {
            let _ = config.mirrors_for(registry);
        }
    }
    for entry in &config.run_image_mirrors {
        let _ = config.run_image_mirrors_for(&entry.image);
    }

    let key = MirrorKey::parse("quay.io").expect("a registry");
    let mirror = Mirror::parse("fuzz.example").expect("a mirror");
    let (_, added) = edits::apply(text, path, |doc| {
        edits::add_registry_mirrors(doc, &key, std::slice::from_ref(&mirror))
    })
    .unwrap_or_else(|e| panic!("adding a mirror failed ({e}) on:\n{text}"));
    if let Some(added) = &added {
        pack_can_use(added);
    }
    let added = added.unwrap_or_else(|| text.to_string());
    let after = Config::parse(&added, path).expect("apply checks what it wrote");
    let entry = after.registry_mirrors_entry(&key).expect("the entry is there");
    assert!(entry.mirrors.contains(&mirror), "{added}");

    let (_, removed) = edits::apply(&added, path, |doc| {
        edits::remove_registry_mirrors(doc, &key, &[])
    })
    .unwrap_or_else(|e| panic!("removing the entry failed ({e}) on:\n{added}"));
    if let Some(removed) = &removed {
        pack_can_use(removed);
    }
    let removed = removed.unwrap_or(added);
    let after = Config::parse(&removed, path).expect("apply checks what it wrote");
    assert!(after.registry_mirrors_entry(&key).is_none(), "{removed}");
});

/// Every value of `[registry-mirrors]` is a string without a scheme: what pack decodes
/// into its map of strings and can put in front of a repository.
fn pack_can_use(text: &str) {
    let doc: toml_edit::DocumentMut = text.parse().expect("an edit is TOML");
    let Some(table) = doc.get("registry-mirrors").and_then(|i| i.as_table_like()) else {
        return;
    };
    for (key, value) in table.iter() {
        assert!(
            value.as_str().is_some_and(|s| !s.contains("://")),
            "pack cannot use {key} = {value} in:\n{text}"
        );
    }
}
