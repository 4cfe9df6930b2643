//! `Config::parse` on arbitrary text: never panics (bad files are errors with a
//! line and column), and the lookups work on whatever it accepted.
#![no_main]

use std::path::Path;

use cnb::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, Path::new("fuzz.toml")) {
        Ok(config) => {
            for entry in &config.registry_mirrors {
                if let cnb::reference::MirrorKey::Registry(registry) = &entry.key {
                    let _ = config.mirrors_for(registry);
                }
            }
            for entry in &config.run_image_mirrors {
                let _ = config.run_image_mirrors_for(&entry.image);
            }
        }
        Err(e) => drop(e.to_string()),
    }
});
