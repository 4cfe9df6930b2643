//! `InsecureEntry::parse` (hosts, host:port, IPv6, CIDRs) and `matches`: never
//! panic; an accepted entry parses again from its stored form to an equal value;
//! an entry made from a registry covers that registry, and a CIDR covers its own
//! network address. Input: `ENTRY` or `ENTRY\nREGISTRY`.
#![no_main]

use std::net::IpAddr;

use cnb::reference::{InsecureEntry, Registry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let (entry_text, registry_text) = input.split_once('\n').unwrap_or((input, ""));
    let entry = match InsecureEntry::parse(entry_text) {
        Ok(entry) => entry,
        Err(e) => {
            drop(e.to_string());
            return;
        }
    };
    let stored = entry.to_string();
    let again = InsecureEntry::parse(&stored)
        .unwrap_or_else(|e| panic!("stored form {stored:?} of {entry_text:?} does not parse: {e}"));
    assert_eq!(
        again, entry,
        "stored form {stored:?} of {entry_text:?} parses to another value"
    );
    assert_eq!(
        again.to_string(),
        stored,
        "Display of {entry_text:?} is not idempotent"
    );

    match &entry {
        InsecureEntry::Cidr(net) => {
            let network = net.network();
            let literal = match network {
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(v6) => format!("[{v6}]"),
            };
            let registry = Registry::parse(&literal).unwrap_or_else(|e| {
                panic!("network {literal:?} of {stored:?} is no registry: {e}")
            });
            assert!(
                entry.matches(&registry, &[]),
                "{stored:?} does not cover {literal:?}"
            );
            let named = Registry::parse("registry.example").expect("a constant registry parses");
            assert!(
                entry.matches(&named, &[network]),
                "{stored:?} ignores resolved {network}"
            );
        }
        InsecureEntry::Host(_) | InsecureEntry::HostPort(..) => {
            let registry = Registry::parse(&stored)
                .or_else(|_| Registry::parse(&format!("[{stored}]")))
                .unwrap_or_else(|e| panic!("host entry {stored:?} is no registry: {e}"));
            assert!(
                entry.matches(&registry, &[]),
                "{stored:?} does not cover itself"
            );
        }
    }

    if let Ok(registry) = Registry::parse(registry_text) {
        let _ = entry.matches(&registry, &[]);
        // An entry made from a registry's key covers that registry.
        let own = InsecureEntry::parse(&registry.key())
            .unwrap_or_else(|e| panic!("registry key {:?} is no entry: {e}", registry.key()));
        assert!(
            own.matches(&registry, &[]),
            "{:?} does not cover itself",
            registry.key()
        );
        if let Some(ip) = registry.ip() {
            let _ = entry.matches(
                &Registry::parse("registry.example").expect("constant"),
                &[ip],
            );
        }
    }
});
