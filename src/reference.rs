//! Names and matching (SPEC §3): image references, registries, mirrors and
//! insecure-registry entries, parsed and normalised in one place.
//!
//! Everything that enters cnb from a user, a config file or a builder label goes
//! through these parsers. They are pure (no I/O, no DNS) so that the config
//! commands, the resolution engine and the build all agree on what a name means.
//!
//! Normalisation rules:
//! - host names are lower-cased; the port is part of a registry's identity;
//! - `docker.io`, `index.docker.io` and `registry-1.docker.io` are one registry,
//!   stored as [`DOCKER_HUB`] and shown as `docker.io`;
//! - a reference without a registry is on Docker Hub; one-segment Hub
//!   repositories get `library/`; no tag and no digest means `latest`.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use thiserror::Error;

/// How Docker Hub is stored in config files and passed to the lifecycle.
pub const DOCKER_HUB: &str = "index.docker.io";
/// How Docker Hub is shown to people.
pub const DOCKER_HUB_DISPLAY: &str = "docker.io";

/// Why a name was rejected. The message names the value and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    #[error("invalid image reference '{input}': {reason}")]
    Reference { input: String, reason: String },
    #[error("invalid registry '{input}': {reason}; expected host[:port]")]
    Registry { input: String, reason: String },
    #[error("registry mirror '{input}' {reason}; expected [http[s]://]host[:port][/path]")]
    Mirror { input: String, reason: String },
    #[error(
        "invalid insecure registry '{input}': {reason}; expected host, host:port or a CIDR such as 10.20.0.0/16"
    )]
    Insecure { input: String, reason: String },
}

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
        let _ = input;
        todo!()
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
        todo!()
    }

    /// The host as an IP address, when it is an IP literal.
    pub fn ip(&self) -> Option<IpAddr> {
        todo!()
    }

    /// `localhost`, `127.0.0.0/8` or `::1`.
    pub fn is_loopback(&self) -> bool {
        todo!()
    }
}

/// Shows Docker Hub as `docker.io`, everything else as [`Registry::key`].
impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
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
        let _ = input;
        todo!()
    }

    /// The stored form: `*` or [`Registry::key`].
    pub fn key(&self) -> String {
        todo!()
    }
}

impl fmt::Display for MirrorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
    }
}

/// A normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    registry: Registry,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl ImageRef {
    /// Parses a Docker-style reference: `[registry/]repo[:tag][@digest]`.
    /// The first segment is a registry when it contains `.` or `:` or is `localhost`
    /// (Docker's rule). Repository path components are lower-case
    /// `[a-z0-9]+([._-]+[a-z0-9]+)*`; tags are `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`;
    /// digests are `algorithm:hex`. With neither tag nor digest the tag is `latest`.
    pub fn parse(input: &str) -> Result<ImageRef, NameError> {
        let _ = input;
        todo!()
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Repository path without the registry (`library/busybox`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// The same image at another registry, with `prefix/` put before the repository
    /// (how an image is found on a mirror).
    pub fn relocate(&self, registry: &Registry, prefix: Option<&str>) -> ImageRef {
        let _ = (registry, prefix);
        todo!()
    }

    /// The same repository with another tag (digest dropped).
    pub fn with_tag(&self, tag: &str) -> ImageRef {
        let _ = tag;
        todo!()
    }

    /// `registry/repository` (registry shown via [`Registry::key`], e.g. `index.docker.io/library/busybox`).
    pub fn repository_key(&self) -> String {
        todo!()
    }

    /// The fully qualified stored form: `index.docker.io/library/busybox:latest`,
    /// `reg:5000/app@sha256:...`. Used for config values and matching.
    pub fn key(&self) -> String {
        todo!()
    }
}

/// The fully qualified form with Docker Hub shown as `docker.io`
/// (`docker.io/library/busybox:latest`). Docker accepts this as an image name.
impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
    }
}

/// The transport a mirror asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `http://`: plain HTTP.
    Http,
    /// `https://` or no scheme: TLS (verified unless the host is insecure).
    Https,
}

/// A registry mirror: `[http://|https://]host[:port][/path-prefix]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mirror {
    /// The scheme as written; `None` when the user wrote none (TLS).
    explicit_scheme: Option<Scheme>,
    registry: Registry,
    /// Path prefix without leading or trailing `/`; never empty when `Some`.
    prefix: Option<String>,
}

impl Mirror {
    /// Parses and validates a mirror. Rejects an empty host, a bad port, user info,
    /// query strings, fragments, other schemes and malformed path segments.
    pub fn parse(input: &str) -> Result<Mirror, NameError> {
        let _ = input;
        todo!()
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn scheme(&self) -> Scheme {
        self.explicit_scheme.unwrap_or(Scheme::Https)
    }

    pub fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    /// Where `image` would be fetched from on this mirror.
    pub fn location_for(&self, image: &ImageRef) -> ImageRef {
        image.relocate(&self.registry, self.prefix.as_deref())
    }

    /// `scheme://host[:port][/prefix]` with the scheme always spelled out
    /// (the form `CNB_REGISTRY_MIRRORS` uses).
    pub fn url(&self) -> String {
        todo!()
    }

    /// True when this mirror is its registry's own address (no prefix, same registry).
    pub fn is_same_as(&self, registry: &Registry) -> bool {
        self.prefix.is_none() && &self.registry == registry
    }
}

/// The stored form: the scheme only when the user wrote one, lower-case host,
/// Docker Hub hosts kept as written (a mirror is an address, not an alias).
impl fmt::Display for Mirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
    }
}

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
    /// A bare IP address is a host entry. A CIDR with host bits set is rejected
    /// (`10.20.0.1/16`: did you mean `10.20.0.0/16`).
    pub fn parse(input: &str) -> Result<InsecureEntry, NameError> {
        let _ = input;
        todo!()
    }

    /// Whether this entry covers `registry`. `resolved` holds the addresses the
    /// registry's host name resolves to (empty for IP literals or when not looked up);
    /// only CIDR entries use it.
    pub fn matches(&self, registry: &Registry, resolved: &[IpAddr]) -> bool {
        let _ = (registry, resolved);
        todo!()
    }
}

/// The stored form: `host`, `host:port`, `[v6]:port` or the CIDR.
impl fmt::Display for InsecureEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
    }
}

/// Parses `REGISTRY=MIRROR` from `--registry-mirror`.
pub fn parse_mirror_flag(input: &str) -> Result<(MirrorKey, Mirror), NameError> {
    let _ = input;
    todo!()
}
