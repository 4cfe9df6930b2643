//! `Mirror::parse`, `MirrorKey::parse` and `parse_mirror_flag`: never panic; an
//! accepted value parses again from its stored form (and a mirror from its `url()`)
//! to an equal value; a mirror is never its own registry; user info is rejected
//! everywhere without its password showing up in the error.
#![no_main]

use cnb::reference::{ImageRef, Mirror, MirrorKey, parse_mirror_flag};
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    common::check_redaction(input);
    match Mirror::parse(input) {
        Ok(mirror) => check_mirror(input, &mirror),
        Err(e) => check_error(input, &e.to_string()),
    }
    match MirrorKey::parse(input) {
        Ok(key) => {
            let stored = key.key();
            assert_eq!(MirrorKey::parse(&stored).as_ref(), Ok(&key), "{input:?}");
            assert_eq!(
                MirrorKey::parse(&key.to_string()).as_ref(),
                Ok(&key),
                "{input:?}"
            );
        }
        Err(e) => check_error(input, &e.to_string()),
    }
    match parse_mirror_flag(input) {
        Ok((key, mirror)) => {
            check_mirror(input, &mirror);
            let flag = format!("{}={mirror}", key.key());
            let again = parse_mirror_flag(&flag)
                .unwrap_or_else(|e| panic!("flag {flag:?} of {input:?} does not parse: {e}"));
            assert_eq!(
                again,
                (key.clone(), mirror.clone()),
                "flag {flag:?} of {input:?}"
            );
            if let MirrorKey::Registry(registry) = &key {
                assert!(!mirror.is_same_as(registry), "{input:?} mirrors itself");
            }
        }
        Err(e) => check_error(input, &e.to_string()),
    }
});

fn check_mirror(input: &str, mirror: &Mirror) {
    let stored = mirror.to_string();
    let again = Mirror::parse(&stored)
        .unwrap_or_else(|e| panic!("stored form {stored:?} of {input:?} does not parse: {e}"));
    assert_eq!(
        &again, mirror,
        "stored form {stored:?} of {input:?} parses to another value"
    );
    assert_eq!(
        again.to_string(),
        stored,
        "Display of {input:?} is not idempotent"
    );
    let url = mirror.url();
    let again = Mirror::parse(&url)
        .unwrap_or_else(|e| panic!("url {url:?} of {input:?} does not parse: {e}"));
    assert_eq!(again.url(), url, "url() of {input:?} is not idempotent");
    assert_eq!(again.registry(), mirror.registry());
    assert_eq!(again.prefix(), mirror.prefix());
    assert_eq!(again.scheme(), mirror.scheme());
    if let Some(prefix) = mirror.prefix() {
        assert!(!prefix.is_empty() && !prefix.starts_with('/') && !prefix.ends_with('/'));
    }
    let image = ImageRef::parse("busybox").expect("a constant reference parses");
    let location = mirror.location_for(&image);
    assert_eq!(location.registry(), mirror.registry());
}

fn check_error(_input: &str, message: &str) {
    assert!(!message.is_empty());
}
