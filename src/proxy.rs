//! HTTP proxies (SPEC §9): `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY`, read once per
//! command and applied the same way to every registry client cnb builds and to the
//! lifecycle's containers.
//!
//! - Each variable is read upper case first, then lower case (a variable that is set
//!   wins even when it is empty, which turns that proxy off): pack's rule and reqwest's.
//! - cnb's own registry clients get the proxies explicitly (not from reqwest's own look
//!   at the environment), with `NO_PROXY` plus loopback: like Go's net/http, which the
//!   lifecycle uses, a loopback registry is never reached through a proxy.
//! - cnb's plain-HTTP scheme check (a direct TCP connection) is not made to a host
//!   that a proxy stands in front of; the request through the proxy decides instead.
//! - The lifecycle's containers get the values as they were set, in both spellings, as
//!   pack passes them (every container, the builder's phases too: buildpacks download
//!   through the same proxy).
//! - A password in a proxy URL is never shown: [`redacted`] and the dry-run plan show
//!   `http://user:<redacted>@proxy:3128`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::env_vars::{
    HTTP_PROXY, HTTP_PROXY_LOWER, HTTPS_PROXY, HTTPS_PROXY_LOWER, NO_PROXY, NO_PROXY_LOWER,
};
use crate::error::UsageError;
use crate::reference::{Registry, Scheme};
use crate::secret::redact_url_passwords;

/// The proxy settings of one command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxySettings {
    /// `HTTP_PROXY`: for plain-HTTP registries.
    pub http: Option<String>,
    /// `HTTPS_PROXY`: for TLS registries.
    pub https: Option<String>,
    /// `NO_PROXY` as set.
    pub no_proxy: Option<String>,
}

/// What `NO_PROXY` adds for cnb's own clients: loopback, which Go never proxies.
const LOOPBACK_NO_PROXY: &str = "localhost,127.0.0.0/8,::1";

/// A `NO_PROXY` for reqwest that matches every host: its `*` covers host names only, so
/// IP addresses are listed as the whole of both address families.
pub const EVERYTHING: &str = "*,0.0.0.0/0,::/0";

impl ProxySettings {
    /// From the process environment.
    pub fn from_env() -> Result<ProxySettings, UsageError> {
        ProxySettings::from_lookup(|name| std::env::var(name).ok())
    }

    /// From `lookup` (a variable's value, `None` when unset). A proxy URL that cannot be
    /// used is a usage error that names the variable (its password redacted).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<ProxySettings, UsageError> {
        let first = |upper: &str, lower: &str| {
            lookup(upper)
                .or_else(|| lookup(lower))
                .filter(|v| !v.trim().is_empty())
        };
        let check = |name: &str, value: Option<String>| match value {
            Some(v) => check_proxy_url(name, v.trim()).map(Some),
            None => Ok(None),
        };
        Ok(ProxySettings {
            http: check(HTTP_PROXY, first(HTTP_PROXY, HTTP_PROXY_LOWER))?,
            https: check(HTTPS_PROXY, first(HTTPS_PROXY, HTTPS_PROXY_LOWER))?,
            no_proxy: first(NO_PROXY, NO_PROXY_LOWER),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.http.is_none() && self.https.is_none()
    }

    /// The proxy a request to `registry` over `scheme` goes through, if any.
    pub fn proxy_for(&self, registry: &Registry, scheme: Scheme) -> Option<&str> {
        let proxy = match scheme {
            Scheme::Http => self.http.as_deref(),
            Scheme::Https => self.https.as_deref(),
        }?;
        (!self.bypasses(registry)).then_some(proxy)
    }

    /// Whether any proxy stands in front of `registry` (for either scheme).
    pub fn proxies(&self, registry: &Registry) -> bool {
        self.proxy_for(registry, Scheme::Http).is_some()
            || self.proxy_for(registry, Scheme::Https).is_some()
    }

    /// Whether `registry` is reached directly: loopback, or matched by `NO_PROXY`
    /// (comma-separated; `*`; IP addresses and CIDRs; a domain covers its subdomains,
    /// with or without a leading dot), the rules reqwest applies.
    pub fn bypasses(&self, registry: &Registry) -> bool {
        if registry.is_loopback() {
            return true;
        }
        let Some(list) = &self.no_proxy else {
            return false;
        };
        let host = registry.host();
        let ip: Option<IpAddr> = host.parse().ok();
        list.split(',').map(str::trim).any(|entry| {
            if entry.is_empty() {
                return false;
            }
            if entry == "*" {
                return true;
            }
            if let Ok(net) = entry.parse::<ipnet::IpNet>() {
                return ip.is_some_and(|ip| net.contains(&ip));
            }
            if let Ok(addr) = entry.trim_matches(['[', ']']).parse::<IpAddr>() {
                return ip == Some(addr);
            }
            // `host:port` entries are matched on the host, as Go does.
            let domain = entry.split(':').next().unwrap_or(entry);
            let domain = domain.trim_start_matches('.');
            !domain.is_empty()
                && (host.eq_ignore_ascii_case(domain)
                    || host
                        .to_ascii_lowercase()
                        .ends_with(&format!(".{}", domain.to_ascii_lowercase())))
        })
    }

    /// `NO_PROXY` for cnb's own clients: the user's list plus loopback.
    pub fn client_no_proxy(&self) -> String {
        match &self.no_proxy {
            // `*` means every host, IP addresses too, as for Go.
            Some(list) if list.split(',').any(|e| e.trim() == "*") => EVERYTHING.to_string(),
            Some(list) => format!("{list},{LOOPBACK_NO_PROXY}"),
            None => LOOPBACK_NO_PROXY.to_string(),
        }
    }

    /// The variables the lifecycle's containers get: each one set, in both spellings.
    pub fn lifecycle_env(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        for (upper, lower, value) in [
            (HTTP_PROXY, HTTP_PROXY_LOWER, &self.http),
            (HTTPS_PROXY, HTTPS_PROXY_LOWER, &self.https),
            (NO_PROXY, NO_PROXY_LOWER, &self.no_proxy),
        ] {
            if let Some(value) = value {
                env.insert(upper.to_string(), value.clone());
                env.insert(lower.to_string(), value.clone());
            }
        }
        env
    }

    /// A proxy on loopback, as `host:port`: the lifecycle must then share the host's
    /// network to reach it.
    pub fn loopback_proxy(&self) -> Option<String> {
        [&self.https, &self.http]
            .into_iter()
            .flatten()
            .find_map(|url| {
                let registry = proxy_address(url)?;
                registry.is_loopback().then(|| registry.key())
            })
    }

    /// One line for `-v`: the proxies with passwords redacted.
    pub fn describe(&self) -> String {
        let show = |v: &Option<String>| v.as_deref().map(redacted).unwrap_or_else(|| "-".into());
        format!(
            "HTTP_PROXY={} HTTPS_PROXY={} NO_PROXY={}",
            show(&self.http),
            show(&self.https),
            self.no_proxy.as_deref().unwrap_or("-")
        )
    }
}

/// A proxy URL as it may be shown: its password replaced by `<redacted>`.
pub fn redacted(url: &str) -> String {
    redact_url_passwords(url)
}

/// The `host:port` of a proxy URL.
fn proxy_address(url: &str) -> Option<Registry> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Registry::parse(host).ok()
}

/// A proxy URL cnb and the lifecycle can both use: `http://` or `https://` (or no
/// scheme, which both read as `http://`), a host, an optional port and user info.
fn check_proxy_url(name: &str, value: &str) -> Result<String, UsageError> {
    let bad = |why: &str| {
        UsageError(format!(
            "{name} '{}' is not a proxy URL cnb can use: {why}; expected http://[user:password@]host:port",
            redacted(value)
        ))
    };
    let rest = match value.split_once("://") {
        Some(("http" | "https", rest)) => rest,
        Some((scheme, _)) => {
            return Err(bad(&format!(
                "the scheme '{scheme}' is not supported (only http and https)"
            )));
        }
        None => value,
    };
    if proxy_address(value).is_none() || rest.is_empty() {
        return Err(bad("it has no valid host[:port]"));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<ProxySettings, UsageError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProxySettings::from_lookup(|name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn reg(s: &str) -> Registry {
        Registry::parse(s).unwrap()
    }

    #[test]
    fn upper_case_wins_and_an_empty_value_turns_a_proxy_off() {
        let s = settings(&[
            ("HTTPS_PROXY", "http://upper:3128"),
            ("https_proxy", "http://lower:3128"),
            ("http_proxy", "http://lower:3128"),
        ])
        .unwrap();
        assert_eq!(s.https.as_deref(), Some("http://upper:3128"));
        assert_eq!(s.http.as_deref(), Some("http://lower:3128"));
        let s = settings(&[("HTTPS_PROXY", ""), ("https_proxy", "http://lower:3128")]).unwrap();
        assert_eq!(s.https, None);
        assert!(settings(&[]).unwrap().is_empty());
    }

    #[test]
    fn no_proxy_rules() {
        let s = settings(&[
            ("HTTPS_PROXY", "http://proxy.corp:3128"),
            (
                "NO_PROXY",
                "corp.example, .internal,10.0.0.0/8,192.0.2.7,reg.direct:5000",
            ),
        ])
        .unwrap();
        let through = |r: &str| s.proxy_for(&reg(r), Scheme::Https).is_some();
        assert!(through("quay.io"));
        assert!(!through("corp.example"));
        assert!(!through("registry.corp.example:5000"));
        assert!(through("notcorp.example"));
        assert!(!through("a.internal"));
        assert!(!through("10.1.2.3:5000"));
        assert!(!through("192.0.2.7"));
        assert!(through("192.0.2.8"));
        assert!(!through("reg.direct:443"));
        // Loopback never goes through a proxy, as with Go.
        assert!(!through("localhost:5000"));
        assert!(!through("127.0.0.1:5000"));
        assert!(!through("[::1]:5000"));
        // No HTTP proxy: plain HTTP goes direct.
        assert!(s.proxy_for(&reg("quay.io"), Scheme::Http).is_none());
        assert!(s.proxies(&reg("quay.io")));
        let all = settings(&[("HTTP_PROXY", "http://p:1"), ("NO_PROXY", "*")]).unwrap();
        assert!(!all.proxies(&reg("quay.io")));
        assert_eq!(all.client_no_proxy(), EVERYTHING);
        assert!(!all.proxies(&reg("192.0.2.1:5000")));
    }

    #[test]
    fn the_lifecycle_gets_both_spellings_and_shown_values_hide_passwords() {
        let s = settings(&[
            ("https_proxy", "http://me:pa55word@127.0.0.1:3128"),
            ("NO_PROXY", "corp.example"),
        ])
        .unwrap();
        let env = s.lifecycle_env();
        assert_eq!(env["HTTPS_PROXY"], "http://me:pa55word@127.0.0.1:3128");
        assert_eq!(env["https_proxy"], env["HTTPS_PROXY"]);
        assert_eq!(env["no_proxy"], "corp.example");
        assert!(!env.contains_key("HTTP_PROXY"));
        assert!(!s.describe().contains("pa55word"), "{}", s.describe());
        assert_eq!(s.loopback_proxy().as_deref(), Some("127.0.0.1:3128"));
        let far = settings(&[("HTTPS_PROXY", "proxy.corp:3128")]).unwrap();
        assert_eq!(far.loopback_proxy(), None);
    }

    #[test]
    fn unusable_proxy_urls_are_refused_without_their_password() {
        for bad in [
            "socks5://me:pa55word@p:1080",
            "http://me:pa55word@",
            "http://",
        ] {
            let err = settings(&[("HTTPS_PROXY", bad)]).unwrap_err().to_string();
            assert!(err.starts_with("HTTPS_PROXY '"), "{err}");
            assert!(!err.contains("pa55word"), "{err}");
        }
    }
}
