//! `Config::parse` on arbitrary text: never panics (bad files are errors with a
//! line and column), and the lookups work on whatever it accepted. The listing
//! `registry-mirrors list` reads accepts and rejects the same files, with the same
//! messages, and lists the same registries.
#![no_main]

use std::path::Path;

use cnb::config::{ConfigFile, RegistryMirrorListing};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.toml");
    let listing = RegistryMirrorListing::parse(text, path);
    match ConfigFile::parse(text, path) {
        Ok(file) => {
            let config = &file.config;
            for entry in &config.registry_mirrors {
                if let cnb::reference::MirrorKey::Registry(registry) = &entry.key {
                    let _ = config.mirrors_for(registry);
                }
            }
            for entry in &config.run_image_mirrors {
                let _ = config.run_image_mirrors_for(&entry.image);
            }
            let listing = listing.expect("the listing rejects a file the full read accepts");
            let listed: Vec<_> = listing.entries().collect();
            let expected: Vec<_> = config
                .registry_mirrors
                .iter()
                .zip(file.written.registry_mirrors.iter())
                .map(|(entry, (_, written))| (&entry.key, written))
                .collect();
            assert_eq!(listed, expected);
        }
        Err(e) => {
            let listing = listing.expect_err("the listing accepts a file the full read rejects");
            assert_eq!(listing.to_string(), e.to_string());
        }
    }
});
