//! `ImageRef::parse` and `Registry::parse`: never panic; an accepted value parses
//! again from its `key()` and its `Display` form to an equal value, and `key()` is
//! idempotent.
#![no_main]

use cnb::reference::{ImageRef, Registry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    match ImageRef::parse(input) {
        Ok(image) => {
            check_image(input, &image);
            check_registry(input, image.registry());
        }
        Err(e) => drop(e.to_string()),
    }
    match Registry::parse(input) {
        Ok(registry) => check_registry(input, &registry),
        Err(e) => drop(e.to_string()),
    }
});

fn check_image(input: &str, image: &ImageRef) {
    let key = image.key();
    let again = ImageRef::parse(&key)
        .unwrap_or_else(|e| panic!("key {key:?} of {input:?} does not parse: {e}"));
    assert_eq!(
        &again, image,
        "key {key:?} of {input:?} parses to another value"
    );
    assert_eq!(again.key(), key, "key() of {input:?} is not idempotent");
    let shown = image.to_string();
    let again = ImageRef::parse(&shown)
        .unwrap_or_else(|e| panic!("display {shown:?} of {input:?} does not parse: {e}"));
    assert_eq!(
        &again, image,
        "display {shown:?} of {input:?} parses to another value"
    );
    assert!(
        key.starts_with(&image.repository_key()),
        "key {key:?} does not start with its repository key"
    );
    if image.tag().is_none() {
        assert!(
            image.digest().is_some(),
            "{input:?} has neither tag nor digest"
        );
    }
}

fn check_registry(input: &str, registry: &Registry) {
    let key = registry.key();
    let again = Registry::parse(&key)
        .unwrap_or_else(|e| panic!("registry key {key:?} of {input:?} does not parse: {e}"));
    assert_eq!(
        &again, registry,
        "registry key {key:?} of {input:?} parses to another value"
    );
    assert_eq!(
        again.key(),
        key,
        "registry key() of {input:?} is not idempotent"
    );
    let shown = registry.to_string();
    let again = Registry::parse(&shown)
        .unwrap_or_else(|e| panic!("registry display {shown:?} of {input:?} does not parse: {e}"));
    assert_eq!(&again, registry);
    assert_eq!(
        key,
        key.to_ascii_lowercase(),
        "registry key {key:?} is not lower-case"
    );
    let _ = (registry.ip(), registry.is_loopback());
}
