//! TLS and plain-HTTP policy per registry host (SPEC §5).
//!
//! | host                                   | plain HTTP | TLS verified |
//! |----------------------------------------|------------|--------------|
//! | any other host                         | no         | yes          |
//! | named by an `http://` mirror           | yes        | yes          |
//! | loopback (`localhost`, 127/8, `::1`)   | yes        | yes          |
//! | covered by an insecure entry           | yes        | no           |

use std::net::IpAddr;
use std::time::Duration;

use super::Transport;
use crate::reference::{InsecureEntry, Registry};

/// The transport for a host from the facts about it.
pub fn transport(loopback: bool, insecure: bool, http_mirror: bool) -> Transport {
    Transport {
        allow_http: insecure || loopback || http_mirror,
        skip_tls_verify: insecure,
    }
}

/// How long a host name lookup for CIDR matching may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether `entries` cover `registry`. Host names are looked up only when a CIDR
/// entry could match them.
pub async fn is_insecure(entries: &[InsecureEntry], registry: &Registry) -> bool {
    if entries.iter().any(|e| e.matches(registry, &[])) {
        return true;
    }
    let has_cidr = entries.iter().any(|e| matches!(e, InsecureEntry::Cidr(_)));
    if !has_cidr || registry.ip().is_some() {
        return false;
    }
    let resolved = resolve_host(registry).await;
    entries.iter().any(|e| e.matches(registry, &resolved))
}

/// The addresses `registry`'s host name resolves to (empty when it does not resolve in time).
pub async fn resolve_host(registry: &Registry) -> Vec<IpAddr> {
    let port = registry.port().unwrap_or(443);
    let lookup = tokio::net::lookup_host((registry.host().to_string(), port));
    match tokio::time::timeout(LOOKUP_TIMEOUT, lookup).await {
        Ok(Ok(addrs)) => {
            let mut ips: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
            ips.dedup();
            ips
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_table() {
        // (loopback, insecure, http mirror) -> (allow_http, skip_tls_verify)
        let cases = [
            ((false, false, false), (false, false)),
            ((true, false, false), (true, false)),
            ((false, false, true), (true, false)),
            ((false, true, false), (true, true)),
            ((true, true, false), (true, true)),
        ];
        for ((loopback, insecure, http), (allow_http, skip)) in cases {
            let t = transport(loopback, insecure, http);
            assert_eq!(
                (t.allow_http, t.skip_tls_verify),
                (allow_http, skip),
                "loopback={loopback} insecure={insecure} http_mirror={http}"
            );
        }
    }

    fn entries(list: &[&str]) -> Vec<InsecureEntry> {
        list.iter()
            .map(|e| InsecureEntry::parse(e).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn insecure_matching() {
        let reg = |s: &str| Registry::parse(s).unwrap();
        let e = entries(&["reg.example", "other.example:5000", "10.20.0.0/16"]);
        assert!(is_insecure(&e, &reg("reg.example:1234")).await);
        assert!(is_insecure(&e, &reg("other.example:5000")).await);
        assert!(!is_insecure(&e, &reg("other.example:5001")).await);
        assert!(is_insecure(&e, &reg("10.20.3.4:5000")).await);
        assert!(!is_insecure(&e, &reg("10.21.0.1")).await);
        assert!(!is_insecure(&[], &reg("127.0.0.1:5000")).await);
    }

    #[tokio::test]
    async fn host_names_resolving_into_a_cidr() {
        let e = entries(&["127.0.0.0/8"]);
        assert!(is_insecure(&e, &Registry::parse("localhost:5000").unwrap()).await);
        assert!(is_insecure(&e, &Registry::parse("127.0.0.1:5000").unwrap()).await);
    }
}
