//! `insecure-registries` entries (SPEC §5): `host`, `host:port` or a CIDR, and which
//! registries each covers.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

use super::registry::parse_authority;
use super::{
    DOCKER_HUB, NameError, Registry, check_present, is_hub_alias, redact_userinfo, same_host,
    split_scheme, write_host_port,
};

/// An `insecure-registries` entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InsecureEntry {
    /// Every port of this host.
    Host(String),
    /// One port of one host.
    HostPort(String, u16),
    /// IP-literal registries in the range, and host names that resolve into it.
    Cidr(IpNet),
}

impl InsecureEntry {
    /// Parses `host`, `host:port`, `[v6]:port` or a CIDR (`10.20.0.0/16`, `fd00::/8`).
    /// A bare IP address (`10.0.0.1`, `::1`, `[::1]`) is a host entry. A CIDR with host
    /// bits set is rejected (`10.20.0.1/16`: did you mean `10.20.0.0/16`).
    /// Hosts are normalised like registries: lower-case, canonical IPv6, and the
    /// Docker Hub aliases stored as [`DOCKER_HUB`] when no port is given.
    pub fn parse(input: &str) -> Result<InsecureEntry, NameError> {
        let err = |reason: String| NameError::Insecure {
            input: redact_userinfo(input),
            reason,
        };
        check_present(input).map_err(err)?;
        if let Some((scheme, _)) = split_scheme(input) {
            return Err(err(format!(
                "a scheme is not allowed; drop '{scheme}://' and give the host only"
            )));
        }
        if input.contains('@') {
            return Err(err("user info is not allowed".into()));
        }
        if let Some((addr, len)) = input.split_once('/') {
            return parse_cidr(addr, len).map(InsecureEntry::Cidr).map_err(err);
        }
        let (host, port) = parse_authority(input, true).map_err(|e| err(e.to_string()))?;
        Ok(match port {
            None if is_hub_alias(&host) => InsecureEntry::Host(DOCKER_HUB.to_string()),
            None => InsecureEntry::Host(host),
            Some(port) => InsecureEntry::HostPort(host, port),
        })
    }

    /// Whether this entry covers `registry`. `resolved` holds the addresses the
    /// registry's host name resolves to (empty for IP literals or when not looked up);
    /// only CIDR entries use it.
    ///
    /// Host names compare with Docker Hub's aliases as one name, so `docker.io`
    /// covers `index.docker.io:443` too. A `host:port` entry covers only a registry
    /// written with that port (`reg:443` does not cover `reg`).
    pub fn matches(&self, registry: &Registry, resolved: &[IpAddr]) -> bool {
        match self {
            InsecureEntry::Host(host) => same_host(host, registry.host()),
            InsecureEntry::HostPort(host, port) => {
                registry.port() == Some(*port) && same_host(host, registry.host())
            }
            InsecureEntry::Cidr(net) => registry
                .ip()
                .iter()
                .chain(resolved)
                .any(|ip| net.contains(ip) || net.contains(&ip.to_canonical())),
        }
    }
}

/// The stored form: `host`, `host:port`, `[v6]:port` or the CIDR.
impl fmt::Display for InsecureEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InsecureEntry::Host(host) => f.write_str(host),
            InsecureEntry::HostPort(host, port) => write_host_port(f, host, Some(*port)),
            InsecureEntry::Cidr(net) => net.fmt(f),
        }
    }
}

impl FromStr for InsecureEntry {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        InsecureEntry::parse(s)
    }
}

/// `addr/len` with no host bits set.
fn parse_cidr(addr: &str, len: &str) -> Result<IpNet, String> {
    let ip: IpAddr = addr.parse().map_err(|_| {
        format!("'{addr}' is not an IP address; a CIDR is an address and a prefix length")
    })?;
    let max: u8 = if ip.is_ipv4() { 32 } else { 128 };
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("prefix length '{len}' is not a number"));
    }
    let significant = len.trim_start_matches('0');
    let prefix = match significant.parse::<u8>() {
        Ok(n) if n <= max => n,
        _ if significant.is_empty() => 0,
        _ => {
            return Err(format!(
                "prefix length {significant} is out of range 0-{max}"
            ));
        }
    };
    let net = IpNet::new(ip, prefix).map_err(|e| e.to_string())?;
    if net.network() != ip {
        return Err(format!("host bits are set (did you mean {}?)", net.trunc()));
    }
    Ok(net)
}
