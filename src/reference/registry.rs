//! Registries (`host[:port]`, SPEC §3) and the keys of `registry-mirrors` entries
//! (a registry or `*`, SPEC §4).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::{
    DOCKER_HUB, DOCKER_HUB_DISPLAY, NameError, authority_of, check_present, has_byte, is_hub_alias,
    redact_userinfo, split_scheme, write_host_port,
};

/// A registry: `host[:port]`, normalised.
///
/// IPv6 hosts are kept without brackets in `host`; [`Registry::key`] adds them back.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Registry {
    host: String,
    port: Option<u16>,
}

impl Registry {
    /// Parses `host[:port]` (`docker.io`, `Reg.Example:5000`, `127.0.0.1:5000`, `[::1]:5000`).
    /// Rejects schemes, paths, user info, empty or malformed hosts and ports outside 1..=65535.
    pub fn parse(input: &str) -> Result<Registry, NameError> {
        Registry::parse_address(input).map(Registry::aliased)
    }

    /// [`Registry::parse`] without Docker Hub aliasing, check by check in the order
    /// that picks the message.
    fn parse_address(input: &str) -> Result<Registry, NameError> {
        let err = |reason: String| NameError::Registry {
            input: redact_userinfo(input),
            reason,
        };
        check_present(input).map_err(err)?;
        if let Some((scheme, _)) = split_scheme(input) {
            return Err(err(format!("a registry is not a URL; drop '{scheme}://'")));
        }
        if has_byte(authority_of(input), b'@') {
            return Err(err("user info is not allowed".into()));
        }
        if has_byte(input, b'/') {
            return Err(err(
                "a registry has no path; drop everything from the first '/'".into(),
            ));
        }
        let (host, port) = parse_authority(input, false).map_err(|e| err(e.to_string()))?;
        Ok(Registry { host, port })
    }

    /// A registry from parts already normalised by [`parse_authority`].
    pub(super) fn from_parts(host: String, port: Option<u16>) -> Registry {
        Registry { host, port }
    }

    /// The host after Docker Hub aliasing: [`DOCKER_HUB`] for an alias without a
    /// port, else the host.
    pub(super) fn aliased_host(&self) -> &str {
        if self.port.is_none() && is_hub_alias(&self.host) {
            DOCKER_HUB
        } else {
            &self.host
        }
    }

    /// Docker Hub's aliases become [`DOCKER_HUB`] (only without a port).
    fn aliased(self) -> Registry {
        if self.port.is_none() && is_hub_alias(&self.host) {
            Registry::docker_hub()
        } else {
            self
        }
    }

    /// Docker Hub.
    pub fn docker_hub() -> Registry {
        Registry {
            host: DOCKER_HUB.to_string(),
            port: None,
        }
    }

    /// Lower-case host name or IP literal, without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> Option<u16> {
        self.port
    }

    pub fn is_docker_hub(&self) -> bool {
        self.host == DOCKER_HUB && self.port.is_none()
    }

    /// The stored form: `index.docker.io`, `reg.example:5000`, `[::1]:5000`.
    /// This is the config-file key and what the lifecycle is told.
    pub fn key(&self) -> String {
        let mut key = String::new();
        // Writing to a `String` cannot fail.
        let _ = write_host_port(&mut key, &self.host, self.port);
        key
    }

    /// The host as an IP address, when it is an IP literal.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// `localhost`, `127.0.0.0/8` or `::1`.
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost" || self.ip().is_some_and(|ip| ip.to_canonical().is_loopback())
    }
}

/// Shows Docker Hub as `docker.io`, everything else as [`Registry::key`].
impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_docker_hub() {
            f.write_str(DOCKER_HUB_DISPLAY)
        } else {
            write_host_port(f, &self.host, self.port)
        }
    }
}

impl FromStr for Registry {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Registry::parse(s)
    }
}

/// The key of a `registry-mirrors` entry: one registry, or `*` for every
/// registry without an entry of its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MirrorKey {
    Any,
    Registry(Registry),
}

impl MirrorKey {
    /// `*` or a registry (see [`Registry::parse`]).
    pub fn parse(input: &str) -> Result<MirrorKey, NameError> {
        if input == "*" {
            Ok(MirrorKey::Any)
        } else {
            Registry::parse(input).map(MirrorKey::Registry)
        }
    }

    /// The stored form: `*` or [`Registry::key`].
    pub fn key(&self) -> String {
        match self {
            MirrorKey::Any => "*".to_string(),
            MirrorKey::Registry(registry) => registry.key(),
        }
    }
}

impl fmt::Display for MirrorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MirrorKey::Any => f.write_str("*"),
            MirrorKey::Registry(registry) => registry.fmt(f),
        }
    }
}

impl FromStr for MirrorKey {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MirrorKey::parse(s)
    }
}

/// Why a `host[:port]` was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum AddrError {
    NoHost,
    Invalid(String),
}

impl fmt::Display for AddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddrError::NoHost => f.write_str("has no host"),
            AddrError::Invalid(reason) => f.write_str(reason),
        }
    }
}

impl From<String> for AddrError {
    fn from(reason: String) -> Self {
        AddrError::Invalid(reason)
    }
}

/// Parses `host[:port]` into a normalised host (lower-case name, canonical IP
/// without brackets) and port, checking in the order that picks the message.
/// No Docker Hub aliasing here. `bare_v6` allows an unbracketed IPv6 address
/// (without a port).
pub(super) fn parse_authority(s: &str, bare_v6: bool) -> Result<(String, Option<u16>), AddrError> {
    if let Some(rest) = s.strip_prefix('[') {
        let Some((inner, after)) = rest.split_once(']') else {
            return Err(format!("'[' has no matching ']' in '{s}'").into());
        };
        let addr: Ipv6Addr = inner
            .parse()
            .map_err(|_| format!("'{inner}' is not a valid IPv6 address"))?;
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(port) => Some(parse_port(port)?),
                None => {
                    return Err(format!("unexpected '{after}' after ']'; expected ':port'").into());
                }
            },
        };
        return Ok((addr.to_string(), port));
    }
    if s.bytes().filter(|&b| b == b':').count() > 1 {
        if bare_v6 {
            return match s.parse::<Ipv6Addr>() {
                Ok(addr) => Ok((addr.to_string(), None)),
                Err(_) => Err(format!(
                    "'{s}' is not a valid IPv6 address; write an IPv6 address with a port as [addr]:port"
                )
                .into()),
            };
        }
        return Err(if s.parse::<Ipv6Addr>().is_ok() {
            "an IPv6 address must be written in brackets, e.g. [::1] or [::1]:5000".to_string()
        } else {
            format!(
                "'{s}' has more than one ':'; an IPv6 address goes in brackets, e.g. [::1]:5000"
            )
        }
        .into());
    }
    let (host, port) = match s.bytes().position(|b| b == b':') {
        Some(colon) => (&s[..colon], Some(parse_port(&s[colon + 1..])?)),
        None => (s, None),
    };
    if host.is_empty() {
        return Err(AddrError::NoHost);
    }
    Ok((parse_host_name(host)?, port))
}

/// A port: digits only, 1 to 65535.
fn parse_port(port: &str) -> Result<u16, String> {
    if port.is_empty() {
        return Err("the port is empty".into());
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("port '{port}' is not a number"));
    }
    let zeros = port.bytes().take_while(|&b| b == b'0').count();
    let significant = &port[zeros..];
    match significant.parse::<u16>() {
        Ok(n) if n >= 1 => Ok(n),
        _ if significant.is_empty() => Err("port 0 is out of range 1-65535".into()),
        _ => Err(format!("port {significant} is out of range 1-65535")),
    }
}

/// A DNS name (`[a-z0-9]([a-z0-9-]*[a-z0-9])?` labels, dot-separated) or an IPv4 literal,
/// lower-cased. Names made only of digits and dots must be valid IPv4 addresses.
fn parse_host_name(host: &str) -> Result<String, String> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'.';
    if let Some(at) = host.bytes().position(|b| !allowed(b)) {
        // The first byte that is not allowed starts a character (the ones before are ASCII).
        let c = host[at..].chars().next().unwrap_or_default();
        return Err(if c == '_' {
            format!("host name '{host}' contains '_', which host names cannot contain")
        } else {
            format!("host name '{host}' contains {c:?}; expected letters, digits, '-' and '.'")
        });
    }
    if host.len() > 253 {
        return Err("the host name is longer than 253 characters".into());
    }
    let lower = host.to_ascii_lowercase();
    for label in lower.split('.') {
        if label.is_empty() {
            return Err(format!("host name '{host}' has an empty label"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("host name label '{label}' starts or ends with '-'"));
        }
        if label.len() > 63 {
            return Err(format!(
                "host name label '{label}' is longer than 63 characters"
            ));
        }
    }
    if lower.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return match lower.parse::<Ipv4Addr>() {
            Ok(addr) => Ok(addr.to_string()),
            Err(_) => Err(format!("'{host}' is not a valid IPv4 address")),
        };
    }
    Ok(lower)
}
