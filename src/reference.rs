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
//!
//! Decisions where Docker leaves room:
//! - Docker Hub aliasing applies only to the bare host names. `docker.io:443` is
//!   a registry of its own (`docker.io:443`), because the port is part of a
//!   registry's identity everywhere else and a user who writes a port means that
//!   exact address.
//! - IPv6 literals are kept in their canonical (compressed) form, so `[0::1]` and
//!   `[::1]` are the same registry. A bare IPv6 address is ambiguous as a
//!   registry (`::1:5000`) and must be written in brackets.
//! - The first segment of a reference is a registry only when it contains `.` or
//!   `:` or is `localhost`. Docker also treats an upper-case first segment as a
//!   registry (`MyOrg/app` would be the registry `myorg`); cnb reports the
//!   upper-case repository instead, which is what the user almost always meant.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use compact_str::{CompactString, ToCompactString};
use ipnet::IpNet;
use thiserror::Error;

use crate::ui::REDACTED;

/// How Docker Hub is stored in config files and passed to the lifecycle.
pub const DOCKER_HUB: &str = "index.docker.io";
/// How Docker Hub is shown to people.
pub const DOCKER_HUB_DISPLAY: &str = "docker.io";

/// The host names that all mean Docker Hub (compared after lower-casing).
const DOCKER_HUB_ALIASES: [&str; 3] = ["docker.io", "index.docker.io", "registry-1.docker.io"];

/// Docker's limit on `registry/repository`.
const NAME_TOTAL_LENGTH_MAX: usize = 255;
/// Docker's limit on a tag.
const TAG_LENGTH_MAX: usize = 128;

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

impl NameError {
    /// The part of the message that says what is wrong, without the value.
    pub fn reason(&self) -> &str {
        match self {
            NameError::Reference { reason, .. }
            | NameError::Registry { reason, .. }
            | NameError::Mirror { reason, .. }
            | NameError::Insecure { reason, .. } => reason,
        }
    }
}

/// A registry: `host[:port]`, normalised.
///
/// IPv6 hosts are kept without brackets in `host`; [`Registry::key`] adds them back.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Registry {
    /// Inline up to 24 bytes (nearly every host name): a config file with thousands
    /// of registries and mirrors holds one per entry and mirror.
    host: CompactString,
    port: Option<u16>,
}

impl Registry {
    /// Parses `host[:port]` (`docker.io`, `Reg.Example:5000`, `127.0.0.1:5000`, `[::1]:5000`).
    /// Rejects schemes, paths, user info, empty or malformed hosts and ports outside 1..=65535.
    pub fn parse(input: &str) -> Result<Registry, NameError> {
        Registry::parse_address(input).map(Registry::aliased)
    }

    /// Like [`Registry::parse`] but without Docker Hub aliasing: the address as written
    /// (lower-cased). Used for mirrors, which are addresses, not aliases.
    fn parse_address(input: &str) -> Result<Registry, NameError> {
        // Happy path: `scan_authority` accepts only `[A-Za-z0-9.:-]` and a bracketed
        // IPv6 literal, so a value it accepts has no scheme, user info or path and
        // every check of `parse_address_precise` passes. Anything else (every
        // rejection) goes through `parse_address_precise`, which words the message.
        if let Some((host, port)) = scan_authority(input, false) {
            let registry = Registry { host, port };
            debug_assert_eq!(
                Registry::parse_address_precise(input).as_ref(),
                Ok(&registry),
                "fast and precise registry parsers disagree on {input:?}"
            );
            return Ok(registry);
        }
        Registry::parse_address_precise(input)
    }

    /// [`Registry::parse_address`] check by check, in the order that picks the message.
    fn parse_address_precise(input: &str) -> Result<Registry, NameError> {
        let err = |reason: String| NameError::Registry {
            input: redact_userinfo(input),
            reason,
        };
        if input.is_empty() {
            return Err(err("the value is empty".into()));
        }
        if let Some((scheme, _)) = split_scheme(input) {
            return Err(err(format!("a registry is not a URL; drop '{scheme}://'")));
        }
        if authority_of(input).contains('@') {
            return Err(err("user info is not allowed".into()));
        }
        if input.contains('/') {
            return Err(err(
                "a registry has no path; drop everything from the first '/'".into(),
            ));
        }
        let (host, port) = parse_authority(input, false).map_err(|e| err(e.to_string()))?;
        Ok(Registry { host, port })
    }

    /// The host after Docker Hub aliasing: [`DOCKER_HUB`] for an alias without a
    /// port, else the host. Compares like [`Registry::aliased`] without building one.
    fn aliased_host(&self) -> &str {
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
            host: CompactString::const_new(DOCKER_HUB),
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
        // `[` `]` and `:65535` at most.
        let mut key = String::with_capacity(self.host.len() + 8);
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
    /// (Docker's rule). Repository path components are lower-case letters and digits
    /// separated by `.`, `_`, `__` or runs of `-` (`[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`);
    /// tags are `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`; digests are `algorithm:hex`
    /// (sha256, sha384 or sha512, lower-case hex of the algorithm's length).
    /// With neither tag nor digest the tag is `latest`.
    pub fn parse(input: &str) -> Result<ImageRef, NameError> {
        let err = |reason: String| NameError::Reference {
            input: shown_reference(input),
            reason,
        };
        if input.is_empty() {
            return Err(err("the value is empty".into()));
        }
        if let Some((scheme, _)) = split_scheme(input) {
            return Err(err(format!(
                "an image reference is not a URL; drop '{scheme}://'"
            )));
        }
        if input.len() == 64
            && input
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(err(
                "a 64-character hexadecimal string is an image ID, not a reference".into(),
            ));
        }
        let (name_tag, digest) = match input.split_once('@') {
            Some((name_tag, digest)) => (name_tag, Some(parse_digest(digest).map_err(err)?)),
            None => (input, None),
        };
        let (name, tag) = match name_tag.rfind(':') {
            Some(i) if !name_tag[i + 1..].contains('/') => {
                let tag = &name_tag[i + 1..];
                check_tag(tag).map_err(err)?;
                (&name_tag[..i], Some(tag.to_string()))
            }
            _ => (name_tag, None),
        };
        if name.is_empty() {
            return Err(err("the repository name is empty".into()));
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, rest))
                if first.bytes().any(|b| b == b'.' || b == b':')
                    || first.eq_ignore_ascii_case("localhost") =>
            {
                let registry = Registry::parse(first)
                    .map_err(|e| err(format!("invalid registry '{first}': {}", e.reason())))?;
                (registry, rest)
            }
            _ => (Registry::docker_hub(), name),
        };
        // One pass over the whole path; the component checks only word a rejection.
        let path_ok = is_repository_path(path.as_bytes());
        debug_assert_eq!(
            path_ok,
            path.split('/').all(|c| check_path_component(c).is_ok()),
            "fast and precise path checks disagree on {path:?}"
        );
        if !path_ok {
            for component in path.split('/') {
                check_path_component(component).map_err(err)?;
            }
        }
        let repository = if registry.is_docker_hub() && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        // Docker counts the fully qualified name as shown (`docker.io/library/x`).
        let shown_len = {
            let mut counter = CharCount(0);
            // Counting cannot fail.
            let _ = fmt::write(&mut counter, format_args!("{registry}"));
            counter.0 + 1 + repository.len()
        };
        if shown_len > NAME_TOTAL_LENGTH_MAX {
            return Err(err(format!(
                "the repository name is {shown_len} characters long with its registry; the limit is {NAME_TOTAL_LENGTH_MAX}"
            )));
        }
        let tag = if tag.is_none() && digest.is_none() {
            Some("latest".to_string())
        } else {
            tag
        };
        Ok(ImageRef {
            registry,
            repository,
            tag,
            digest,
        })
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
    ///
    /// The registry is used as given (a mirror's address is not aliased). Note that a
    /// single-label host without a port (`mirror`) does not survive a trip through
    /// the string form, as in Docker: `mirror/app` reads as a Docker Hub repository.
    pub fn relocate(&self, registry: &Registry, prefix: Option<&str>) -> ImageRef {
        let repository = match prefix.map(|p| p.trim_matches('/')) {
            Some(prefix) if !prefix.is_empty() => format!("{prefix}/{}", self.repository),
            _ => self.repository.clone(),
        };
        ImageRef {
            registry: registry.clone(),
            repository,
            tag: self.tag.clone(),
            digest: self.digest.clone(),
        }
    }

    /// The same repository with another tag (digest dropped).
    pub fn with_tag(&self, tag: &str) -> ImageRef {
        ImageRef {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: Some(tag.to_string()),
            digest: None,
        }
    }

    /// `registry/repository` (registry shown via [`Registry::key`], e.g. `index.docker.io/library/busybox`).
    pub fn repository_key(&self) -> String {
        let mut out = String::with_capacity(self.key_capacity());
        // Writing to a `String` cannot fail.
        let _ = write_host_port(&mut out, &self.registry.host, self.registry.port);
        out.push('/');
        out.push_str(&self.repository);
        out
    }

    /// The fully qualified stored form: `index.docker.io/library/busybox:latest`,
    /// `reg:5000/app@sha256:...`. Used for config values and matching.
    pub fn key(&self) -> String {
        let mut out = self.repository_key();
        // Writing to a `String` cannot fail.
        let _ = self.write_tag_digest(&mut out);
        out
    }

    /// Room for [`ImageRef::key`], so that it is built without growing.
    fn key_capacity(&self) -> usize {
        let optional = |s: &Option<String>| s.as_ref().map_or(0, |s| s.len() + 1);
        self.registry.host.len()
            + 8
            + 1
            + self.repository.len()
            + optional(&self.tag)
            + optional(&self.digest)
    }

    fn write_tag_digest<W: fmt::Write>(&self, out: &mut W) -> fmt::Result {
        if let Some(tag) = &self.tag {
            out.write_char(':')?;
            out.write_str(tag)?;
        }
        if let Some(digest) = &self.digest {
            out.write_char('@')?;
            out.write_str(digest)?;
        }
        Ok(())
    }
}

/// The fully qualified form with Docker Hub shown as `docker.io`
/// (`docker.io/library/busybox:latest`). Docker accepts this as an image name.
impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.registry, f)?;
        f.write_str("/")?;
        f.write_str(&self.repository)?;
        self.write_tag_digest(f)
    }
}

impl FromStr for ImageRef {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ImageRef::parse(s)
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

impl Scheme {
    /// How a URL with this scheme starts.
    fn url_prefix(self) -> &'static str {
        match self {
            Scheme::Http => "http://",
            Scheme::Https => "https://",
        }
    }
}

/// A registry mirror: `[http://|https://]host[:port][/path-prefix]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mirror {
    /// The scheme as written; `None` when the user wrote none (TLS).
    explicit_scheme: Option<Scheme>,
    registry: Registry,
    /// Path prefix without leading or trailing `/`; never empty when `Some`.
    prefix: Option<CompactString>,
}

impl Mirror {
    /// Parses and validates a mirror. Rejects an empty host, a bad port, user info,
    /// query strings, fragments, other schemes and malformed path segments.
    /// One trailing `/` is dropped. The host is kept as written (lower-cased): a
    /// mirror at `docker.io` is that address, not the Docker Hub alias.
    pub fn parse(input: &str) -> Result<Mirror, NameError> {
        // Happy path: one pass that accepts exactly the valid mirrors and builds the
        // value; on any problem `parse_precise` runs the checks in order and words the
        // message. Debug builds (tests; `cargo fuzz -a`) check that the two agree.
        if let Some(mirror) = Mirror::scan(input) {
            debug_assert_eq!(
                Mirror::parse_precise(input).as_ref(),
                Ok(&mirror),
                "fast and precise mirror parsers disagree on {input:?}"
            );
            return Ok(mirror);
        }
        Mirror::parse_precise(input)
    }

    /// The happy path of [`Mirror::parse`]: `None` for anything it would reject.
    ///
    /// Only `http://` and `https://` (any case) are taken as schemes. A value without
    /// one that contains `://` elsewhere is still refused here: a `:` directly before
    /// a `/` ends the authority with an empty port, and a path has no `:`.
    fn scan(input: &str) -> Option<Mirror> {
        let bytes = input.as_bytes();
        let starts_with = |prefix: &[u8]| {
            bytes.len() >= prefix.len() && bytes[..prefix.len()].eq_ignore_ascii_case(prefix)
        };
        let (explicit_scheme, rest) = if starts_with(b"http://") {
            (Some(Scheme::Http), &input[7..])
        } else if starts_with(b"https://") {
            (Some(Scheme::Https), &input[8..])
        } else {
            (None, input)
        };
        let (authority, tail) = rest.split_at(authority_end(rest));
        let (host, port) = scan_authority(authority, false)?;
        let prefix = match tail.as_bytes() {
            [] | [b'/'] => None,
            [b'/', path @ ..] => {
                let path = path.strip_suffix(b"/").unwrap_or(path);
                if !is_repository_path(path) {
                    return None;
                }
                // `path` is ASCII and starts after the `/` at 0.
                Some(CompactString::from(&tail[1..1 + path.len()]))
            }
            _ => return None,
        };
        Some(Mirror {
            explicit_scheme,
            registry: Registry { host, port },
            prefix,
        })
    }

    /// [`Mirror::parse`] check by check, in the order that picks the message.
    fn parse_precise(input: &str) -> Result<Mirror, NameError> {
        let err = |reason: &str| NameError::Mirror {
            input: redact_userinfo(input),
            reason: reason.to_string(),
        };
        if input.is_empty() {
            return Err(err("is empty"));
        }
        // Everything before the first `://` is the scheme, as for redaction.
        let (explicit_scheme, rest) = match split_scheme(input) {
            Some((scheme, rest)) => {
                let scheme = if scheme.eq_ignore_ascii_case("http") {
                    Scheme::Http
                } else if scheme.eq_ignore_ascii_case("https") {
                    Scheme::Https
                } else {
                    return Err(err(&format!(
                        "has the unsupported scheme '{scheme}://'; use http://, https:// or none"
                    )));
                };
                (Some(scheme), rest)
            }
            None => (None, input),
        };
        let (authority, tail) = rest.split_at(authority_end(rest));
        if authority.contains('@') {
            return Err(err(
                "contains user info, which is not allowed; keep credentials in the Docker config",
            ));
        }
        match tail.find(['?', '#']).map(|i| tail.as_bytes()[i]) {
            Some(b'?') => return Err(err("has a query string, which is not allowed")),
            Some(_) => return Err(err("has a fragment, which is not allowed")),
            None => {}
        }
        if authority.is_empty() {
            return Err(err("has no host"));
        }
        let (host, port) = parse_authority(authority, false).map_err(|e| match e {
            AddrError::NoHost => err("has no host"),
            AddrError::Invalid(reason) => err(&format!("is invalid: {reason}")),
        })?;
        let prefix = parse_prefix(tail)
            .map_err(|reason| err(&reason))?
            .map(CompactString::from);
        Ok(Mirror {
            explicit_scheme,
            registry: Registry { host, port },
            prefix,
        })
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
        let prefix_len = self.prefix.as_ref().map_or(0, |p| p.len() + 1);
        // `https://`, `[` `]` and `:65535` at most.
        let mut url = String::with_capacity(8 + self.registry.host.len() + 8 + prefix_len);
        // Writing to a `String` cannot fail.
        let _ = self.write(&mut url, Some(self.scheme()));
        url
    }

    /// `[scheme://]host[:port][/prefix]`.
    fn write<W: fmt::Write>(&self, out: &mut W, scheme: Option<Scheme>) -> fmt::Result {
        if let Some(scheme) = scheme {
            out.write_str(scheme.url_prefix())?;
        }
        write_host_port(out, &self.registry.host, self.registry.port)?;
        if let Some(prefix) = &self.prefix {
            out.write_char('/')?;
            out.write_str(prefix)?;
        }
        Ok(())
    }

    /// True when this mirror is its registry's own address (no prefix, same registry,
    /// Docker Hub aliases counting as one, any scheme).
    pub fn is_same_as(&self, registry: &Registry) -> bool {
        self.prefix.is_none()
            && self.registry.port == registry.port
            && self.registry.aliased_host() == registry.aliased_host()
    }

    /// Rejects a mirror that is the address of the registry it mirrors
    /// (`docker.io=registry-1.docker.io`). `*` accepts every mirror.
    pub fn check_for(&self, key: &MirrorKey) -> Result<(), NameError> {
        match key {
            MirrorKey::Registry(registry) if self.is_same_as(registry) => Err(NameError::Mirror {
                input: self.to_string(),
                reason: format!(
                    "is the registry {registry} itself; a mirror must be another address"
                ),
            }),
            _ => Ok(()),
        }
    }
}

/// The stored form: the scheme only when the user wrote one, lower-case host,
/// Docker Hub hosts kept as written (a mirror is an address, not an alias).
impl fmt::Display for Mirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, self.explicit_scheme)
    }
}

impl FromStr for Mirror {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mirror::parse(s)
    }
}

/// An `insecure-registries` entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InsecureEntry {
    /// Every port of this host.
    Host(CompactString),
    /// One port of one host.
    HostPort(CompactString, u16),
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
        if input.is_empty() {
            return Err(err("the value is empty".into()));
        }
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
            None if is_hub_alias(&host) => {
                InsecureEntry::Host(CompactString::const_new(DOCKER_HUB))
            }
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

/// Parses `REGISTRY=MIRROR` from `--registry-mirror`, splitting on the first `=`.
/// `REGISTRY` may be `*`. A mirror that is its registry's own address is rejected.
pub fn parse_mirror_flag(input: &str) -> Result<(MirrorKey, Mirror), NameError> {
    let Some((key, mirror)) = input.split_once('=') else {
        return Err(NameError::Mirror {
            input: redact_userinfo(input),
            reason: "is not of the form REGISTRY=MIRROR (e.g. docker.io=mirror.example)".into(),
        });
    };
    let key = MirrorKey::parse(key)?;
    let mirror = Mirror::parse(mirror)?;
    mirror.check_for(&key)?;
    Ok((key, mirror))
}

// ---------------------------------------------------------------------------
// Helpers

fn is_hub_alias(host: &str) -> bool {
    DOCKER_HUB_ALIASES.contains(&host)
}

/// Like [`is_hub_alias`], ignoring ASCII case.
fn is_hub_alias_ignoring_case(host: &str) -> bool {
    DOCKER_HUB_ALIASES
        .iter()
        .any(|alias| alias.eq_ignore_ascii_case(host))
}

/// Host names equal after lower-casing, Docker Hub's aliases as one.
fn same_host(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || (is_hub_alias_ignoring_case(a) && is_hub_alias_ignoring_case(b))
}

/// `host[:port]`, with IPv6 hosts in brackets.
///
/// The pieces are joined on the stack and written at once, so that a `to_string()`
/// allocates once, at the right size (a parsed host has at most 253 bytes).
fn write_host_port<W: fmt::Write>(out: &mut W, host: &str, port: Option<u16>) -> fmt::Result {
    let (open, close): (&[u8], &[u8]) = if host.as_bytes().contains(&b':') {
        (b"[", b"]")
    } else {
        (b"", b"")
    };
    let mut port_buf = [0; 6];
    let port = port.map_or(&[][..], |port| colon_port(port, &mut port_buf));
    let pieces = [open, host.as_bytes(), close, port];
    let mut joined = [0; 264];
    if pieces.iter().map(|p| p.len()).sum::<usize>() <= joined.len() {
        let mut len = 0;
        for piece in pieces {
            joined[len..len + piece.len()].copy_from_slice(piece);
            len += piece.len();
        }
        if let Ok(joined) = std::str::from_utf8(&joined[..len]) {
            return out.write_str(joined);
        }
    }
    // Longer than any parsed host (a hand-built `InsecureEntry`): piece by piece.
    for piece in pieces {
        out.write_str(std::str::from_utf8(piece).map_err(|_| fmt::Error)?)?;
    }
    Ok(())
}

/// `:port` in decimal ASCII, in `buf`, without the formatting machinery.
fn colon_port(port: u16, buf: &mut [u8; 6]) -> &[u8] {
    let mut n = port;
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    start -= 1;
    buf[start] = b':';
    &buf[start..]
}

/// Counts what is written (the length of a `Display` without building the string).
struct CharCount(usize);

impl fmt::Write for CharCount {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// Why a `host[:port]` was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AddrError {
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
/// without brackets) and port. No Docker Hub aliasing here.
/// `bare_v6` allows an unbracketed IPv6 address (without a port).
fn parse_authority(s: &str, bare_v6: bool) -> Result<(CompactString, Option<u16>), AddrError> {
    // `scan_authority` is the happy path (one pass, one allocation);
    // `parse_authority_precise` checks in the order that picks the message and runs
    // only for values the scan refuses. Debug builds check that both accept the same
    // values with the same result.
    let fast = scan_authority(s, bare_v6);
    debug_assert!(
        agrees(&fast, &parse_authority_precise(s, bare_v6)),
        "fast and precise authority parsers disagree on {s:?} (bare_v6: {bare_v6})"
    );
    match fast {
        Some(parsed) => Ok(parsed),
        None => parse_authority_precise(s, bare_v6),
    }
}

/// Whether a fast parser's `Option` says what the precise parser's `Result` says.
fn agrees<T: PartialEq, E>(fast: &Option<T>, precise: &Result<T, E>) -> bool {
    match (fast, precise) {
        (Some(fast), Ok(precise)) => fast == precise,
        (None, Err(_)) => true,
        _ => false,
    }
}

/// [`parse_authority`] in one pass over the bytes: `Some` exactly when
/// [`parse_authority_precise`] returns `Ok`, with the same value. The only allocation
/// is the returned host.
fn scan_authority(s: &str, bare_v6: bool) -> Option<(CompactString, Option<u16>)> {
    let bytes = s.as_bytes();
    if bytes.first() == Some(&b'[') {
        let close = bytes.iter().position(|&b| b == b']')?;
        let addr: Ipv6Addr = s[1..close].parse().ok()?;
        let port = match &bytes[close + 1..] {
            [] => None,
            [b':', digits @ ..] => Some(scan_port(digits)?),
            _ => return None,
        };
        return Some((addr.to_compact_string(), port));
    }
    // The host: labels of letters, digits and inner '-', checked as the bytes go by.
    let mut label_len = 0usize;
    let mut last = b'.';
    let mut digits_and_dots = true;
    let mut has_upper = false;
    let mut host_end = bytes.len();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'a'..=b'z' => digits_and_dots = false,
            b'A'..=b'Z' => {
                digits_and_dots = false;
                has_upper = true;
            }
            b'0'..=b'9' => {}
            b'-' if label_len > 0 => digits_and_dots = false,
            b'.' if label_len > 0 && label_len <= 63 && last != b'-' => {
                label_len = 0;
                last = b;
                continue;
            }
            b':' => {
                host_end = i;
                break;
            }
            _ => return None,
        }
        label_len += 1;
        last = b;
    }
    let port = match bytes.get(host_end + 1..) {
        // More than one ':': only a bare IPv6 address, when allowed.
        Some(after) if after.contains(&b':') => {
            return match bare_v6 {
                true => s
                    .parse::<Ipv6Addr>()
                    .ok()
                    .map(|addr| (addr.to_compact_string(), None)),
                false => None,
            };
        }
        Some(digits) => Some(scan_port(digits)?),
        None => None,
    };
    // The last label (an empty host has an empty one), and the whole name.
    if label_len == 0 || label_len > 63 || last == b'-' || host_end > 253 {
        return None;
    }
    let host = &s[..host_end];
    if digits_and_dots {
        // Rust's parser takes only the canonical form (no leading zeros), so the
        // address is shown as written.
        host.parse::<Ipv4Addr>().ok()?;
        return Some((CompactString::from(host), port));
    }
    let mut host = CompactString::from(host);
    if has_upper {
        host.make_ascii_lowercase();
    }
    Some((host, port))
}

/// A port: one or more ASCII digits (leading zeros allowed) worth 1 to 65535.
fn scan_port(digits: &[u8]) -> Option<u16> {
    if digits.is_empty() {
        return None;
    }
    let mut n: u32 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(b - b'0');
        if n > u32::from(u16::MAX) {
            return None;
        }
    }
    u16::try_from(n).ok().filter(|&n| n >= 1)
}

/// [`parse_authority`] check by check, in the order that picks the message.
fn parse_authority_precise(
    s: &str,
    bare_v6: bool,
) -> Result<(CompactString, Option<u16>), AddrError> {
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
        return Ok((addr.to_compact_string(), port));
    }
    if s.matches(':').count() > 1 {
        if bare_v6 {
            return match s.parse::<Ipv6Addr>() {
                Ok(addr) => Ok((addr.to_compact_string(), None)),
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
    let (host, port) = match s.split_once(':') {
        Some((host, port)) => (host, Some(parse_port(port)?)),
        None => (s, None),
    };
    if host.is_empty() {
        return Err(AddrError::NoHost);
    }
    Ok((parse_host_name(host)?.into(), port))
}

/// A port: digits only, 1 to 65535.
fn parse_port(port: &str) -> Result<u16, String> {
    if port.is_empty() {
        return Err("the port is empty".into());
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("port '{port}' is not a number"));
    }
    let significant = port.trim_start_matches('0');
    match significant.parse::<u16>() {
        Ok(n) if n >= 1 => Ok(n),
        _ if significant.is_empty() => Err("port 0 is out of range 1-65535".into()),
        _ => Err(format!("port {significant} is out of range 1-65535")),
    }
}

/// A DNS name (`[a-z0-9]([a-z0-9-]*[a-z0-9])?` labels, dot-separated) or an IPv4 literal,
/// lower-cased. Names made only of digits and dots must be valid IPv4 addresses.
fn parse_host_name(host: &str) -> Result<String, String> {
    let lower = host.to_ascii_lowercase();
    if let Some(c) = lower
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
    {
        return Err(if c == '_' {
            format!("host name '{host}' contains '_', which host names cannot contain")
        } else {
            format!("host name '{host}' contains {c:?}; expected letters, digits, '-' and '.'")
        });
    }
    if lower.len() > 253 {
        return Err("the host name is longer than 253 characters".into());
    }
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

/// A digest `algorithm:hex` with a known algorithm and lower-case hex of its length.
fn parse_digest(digest: &str) -> Result<String, String> {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err(format!(
            "digest '{digest}' is not of the form algorithm:hex (e.g. sha256:...)"
        ));
    };
    let len = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => {
            return Err(format!(
                "digest algorithm '{algorithm}' is not supported; expected sha256, sha384 or sha512"
            ));
        }
    };
    if hex.len() != len || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(format!(
            "a {algorithm} digest has {len} lower-case hex digits"
        ));
    }
    Ok(digest.to_string())
}

/// Whether `path` is repository path components joined by single `/`: each
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, in one pass. [`check_path_component`]
/// explains a rejection.
fn is_repository_path(path: &[u8]) -> bool {
    /// What the last byte was.
    #[derive(Clone, Copy)]
    enum After {
        Slash,
        Alnum,
        Dot,
        Underscore,
        TwoUnderscores,
        Dash,
    }
    let mut state = After::Slash;
    for &b in path {
        state = match (state, b) {
            (_, b'a'..=b'z' | b'0'..=b'9') => After::Alnum,
            (After::Alnum, b'.') => After::Dot,
            (After::Alnum, b'_') => After::Underscore,
            (After::Underscore, b'_') => After::TwoUnderscores,
            (After::Alnum | After::Dash, b'-') => After::Dash,
            (After::Alnum, b'/') => After::Slash,
            _ => return false,
        };
    }
    matches!(state, After::Alnum)
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn check_tag(tag: &str) -> Result<(), String> {
    if tag.is_empty() {
        return Err("the tag after ':' is empty".into());
    }
    if tag.len() > TAG_LENGTH_MAX {
        return Err(format!(
            "the tag is longer than {TAG_LENGTH_MAX} characters"
        ));
    }
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    if !word(bytes[0]) || !bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-') {
        return Err(format!(
            "tag '{tag}' is invalid; tags are letters, digits, '_', '.' and '-', not starting with '.' or '-'"
        ));
    }
    Ok(())
}

/// One repository path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn check_path_component(component: &str) -> Result<(), String> {
    if component.is_empty() {
        return Err("the repository path has an empty component".into());
    }
    if component.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "repository names must be lower-case ('{component}')"
        ));
    }
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let invalid = || {
        format!(
            "repository path component '{component}' is invalid; expected lower-case letters and digits separated by '.', '_', '__' or '-'"
        )
    };
    let bytes = component.as_bytes();
    if !alnum(&bytes[0]) || !alnum(&bytes[bytes.len() - 1]) {
        return Err(invalid());
    }
    for separator in component.split(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        let ok = separator.is_empty()
            || separator == "."
            || separator == "_"
            || separator == "__"
            || separator.bytes().all(|b| b == b'-');
        if !ok {
            return Err(invalid());
        }
    }
    Ok(())
}

/// A mirror's path after the host: empty, `/`, or `/seg[/seg...]` with one optional
/// trailing `/`. Segments are repository path components.
fn parse_prefix(tail: &str) -> Result<Option<String>, String> {
    if tail.is_empty() || tail == "/" {
        return Ok(None);
    }
    let path = tail.strip_prefix('/').unwrap_or(tail);
    let path = path.strip_suffix('/').unwrap_or(path);
    for segment in path.split('/') {
        if segment.is_empty() {
            return Err("has an empty path segment".into());
        }
        if segment.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "has an upper-case path segment '{segment}'; repository paths must be lower-case"
            ));
        }
        if check_path_component(segment).is_err() {
            return Err(format!(
                "has an invalid path segment '{segment}'; expected lower-case letters and digits separated by '.', '_', '__' or '-'"
            ));
        }
    }
    Ok(Some(path.to_string()))
}

/// `(scheme, rest)` around the first `://`: `split_once("://")` as a byte scan.
fn split_scheme(s: &str) -> Option<(&str, &str)> {
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(i) = bytes[from..].iter().position(|&b| b == b':') {
        let colon = from + i;
        if bytes[colon + 1..].starts_with(b"//") {
            // ASCII positions, so both are char boundaries.
            return Some((&s[..colon], &s[colon + 3..]));
        }
        from = colon + 1;
    }
    None
}

/// Where the authority at the start of `rest` ends: the first `/`, `?` or `#`.
fn authority_end(rest: &str) -> usize {
    rest.bytes()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len())
}

/// The authority of a URL-ish value: after any `scheme://`, up to the first `/`, `?` or `#`.
fn authority_of(input: &str) -> &str {
    let rest = split_scheme(input).map_or(input, |(_, rest)| rest);
    &rest[..authority_end(rest)]
}

/// `input` with the password of any user info replaced by `<redacted>`, so errors
/// never echo a secret (`https://user:<redacted>@host`).
fn redact_userinfo(input: &str) -> String {
    let authority = authority_of(input);
    let Some(at) = authority.rfind('@') else {
        return input.to_string();
    };
    let userinfo = &authority[..at];
    let start = authority.as_ptr() as usize - input.as_ptr() as usize;
    let kept = match userinfo.split_once(':') {
        Some((user, _)) if !user.contains('@') => format!("{user}:{REDACTED}"),
        None if !userinfo.contains('@') => userinfo.to_string(),
        _ => REDACTED.to_string(),
    };
    format!("{}{kept}{}", &input[..start], &input[start + at..])
}

/// An image reference as it may be shown in an error: user info redacted when the
/// value looks like it carries some (`user:pw@host/app`, `https://...`): a URL, or
/// an `@` that is not followed by a valid digest.
fn shown_reference(input: &str) -> String {
    let url_like = split_scheme(input).is_some()
        || input
            .split_once('@')
            .is_some_and(|(_, after)| parse_digest(after).is_err());
    if url_like {
        redact_userinfo(input)
    } else {
        input.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn reference_err(input: &str) -> String {
        ImageRef::parse(input).unwrap_err().to_string()
    }
    fn registry_err(input: &str) -> String {
        Registry::parse(input).unwrap_err().to_string()
    }
    fn mirror_err(input: &str) -> String {
        Mirror::parse(input).unwrap_err().to_string()
    }
    fn insecure_err(input: &str) -> String {
        InsecureEntry::parse(input).unwrap_err().to_string()
    }

    #[test]
    fn reference_normalisation_table() {
        let d = D;
        // input, key(), Display
        #[rustfmt::skip]
        let table: Vec<(String, String, String)> = [
            ("busybox", "index.docker.io/library/busybox:latest", "docker.io/library/busybox:latest"),
            ("busybox:1.36", "index.docker.io/library/busybox:1.36", "docker.io/library/busybox:1.36"),
            ("paketobuildpacks/builder-jammy-base", "index.docker.io/paketobuildpacks/builder-jammy-base:latest", "docker.io/paketobuildpacks/builder-jammy-base:latest"),
            ("docker.io/busybox", "index.docker.io/library/busybox:latest", "docker.io/library/busybox:latest"),
            ("Index.Docker.IO/library/busybox", "index.docker.io/library/busybox:latest", "docker.io/library/busybox:latest"),
            ("registry-1.docker.io/org/app:v1", "index.docker.io/org/app:v1", "docker.io/org/app:v1"),
            ("docker.io:443/busybox", "docker.io:443/busybox:latest", "docker.io:443/busybox:latest"),
            ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
            ("LocalHost/app", "localhost/app:latest", "localhost/app:latest"),
            ("localhost:5000/a/b/c:Tag_1.0-x", "localhost:5000/a/b/c:Tag_1.0-x", "localhost:5000/a/b/c:Tag_1.0-x"),
            ("Reg.Example:5000/app", "reg.example:5000/app:latest", "reg.example:5000/app:latest"),
            ("127.0.0.1:5000/app:1", "127.0.0.1:5000/app:1", "127.0.0.1:5000/app:1"),
            ("[::1]:5000/app", "[::1]:5000/app:latest", "[::1]:5000/app:latest"),
            ("[0:0::1]/app", "[::1]/app:latest", "[::1]/app:latest"),
            ("app@{d}", "index.docker.io/library/app@{d}", "docker.io/library/app@{d}"),
            ("quay.io/org/app:1@{d}", "quay.io/org/app:1@{d}", "quay.io/org/app:1@{d}"),
            ("org/a.b_c__d--e/f-g", "index.docker.io/org/a.b_c__d--e/f-g:latest", "docker.io/org/a.b_c__d--e/f-g:latest"),
            ("reg.example:5000", "index.docker.io/library/reg.example:5000", "docker.io/library/reg.example:5000"),
        ]
        .iter()
        .map(|(a, b, c)| (a.replace("{d}", d), b.replace("{d}", d), c.replace("{d}", d)))
        .collect();
        for (input, key, shown) in table {
            let r = ImageRef::parse(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.key(), key, "key of {input}");
            assert_eq!(r.to_string(), shown, "display of {input}");
            assert_eq!(
                ImageRef::parse(&r.key()).unwrap(),
                r,
                "key round trip of {input}"
            );
            assert_eq!(
                ImageRef::parse(&r.to_string()).unwrap(),
                r,
                "display round trip of {input}"
            );
        }
    }

    #[test]
    fn reference_parts() {
        let r = ImageRef::parse("busybox").unwrap();
        assert!(r.registry().is_docker_hub());
        assert_eq!(r.repository(), "library/busybox");
        assert_eq!(r.tag(), Some("latest"));
        assert_eq!(r.digest(), None);
        assert_eq!(r.repository_key(), "index.docker.io/library/busybox");

        let r = ImageRef::parse(&format!("reg:5000/app@{D}")).unwrap();
        assert_eq!(r.registry().key(), "reg:5000");
        assert_eq!(r.tag(), None);
        assert_eq!(r.digest(), Some(D));
        assert_eq!(r.with_tag("v2").key(), "reg:5000/app:v2");
    }

    #[test]
    fn reference_relocate_to_mirror() {
        let r = ImageRef::parse("busybox:1").unwrap();
        let m = Mirror::parse("http://Mirror.Example:5000/hub/").unwrap();
        assert_eq!(
            m.location_for(&r).key(),
            "mirror.example:5000/hub/library/busybox:1"
        );
        let m = Mirror::parse("mirror.example").unwrap();
        assert_eq!(m.location_for(&r).key(), "mirror.example/library/busybox:1");
    }

    #[test]
    fn reference_rejects_upper_case_repository() {
        let e = reference_err("MyOrg/app");
        assert!(e.contains("repository names must be lower-case"), "{e}");
        let e = reference_err("reg.example/App");
        assert!(e.contains("repository names must be lower-case"), "{e}");
    }

    #[test]
    fn reference_rejects_bad_tags_and_digests() {
        assert!(reference_err("app:").contains("tag after ':' is empty"));
        assert!(reference_err("app:.x").contains("tag '.x' is invalid"));
        assert!(reference_err(&format!("app:{}", "a".repeat(129))).contains("longer than 128"));
        assert!(reference_err("app@sha256:abc").contains("64 lower-case hex digits"));
        assert!(
            reference_err(&format!("app@{}", D.to_uppercase().replace("SHA", "sha")))
                .contains("lower-case hex")
        );
        assert!(
            reference_err("app@md5:0123456789abcdef0123456789abcdef")
                .contains("'md5' is not supported")
        );
        assert!(reference_err("app@nocolon").contains("algorithm:hex"));
    }

    #[test]
    fn reference_rejects_bad_paths() {
        assert!(reference_err("").contains("empty"));
        assert!(reference_err("a//b").contains("empty component"));
        assert!(reference_err("reg.example/").contains("empty component"));
        assert!(reference_err("a..b").contains("component 'a..b' is invalid"));
        assert!(reference_err("a___b").contains("is invalid"));
        assert!(reference_err("-a").contains("is invalid"));
        assert!(reference_err("a-_b").contains("is invalid"));
        assert!(reference_err(":tag").contains("repository name is empty"));
        assert!(reference_err(&"a".repeat(64).replace('a', "f")).contains("image ID"));
        let long = format!("{}/{}", "a".repeat(200), "b".repeat(60));
        assert!(reference_err(&long).contains("the limit is 255"));
    }

    #[test]
    fn reference_rejects_bad_registry_and_urls() {
        let e = reference_err("reg_x.example/app");
        assert!(
            e.contains("invalid registry 'reg_x.example'") && e.contains("'_'"),
            "{e}"
        );
        assert!(
            reference_err("reg.example:70000/app").contains("port 70000 is out of range 1-65535")
        );
        let e = reference_err("https://user:secret@reg.example/app");
        assert!(e.contains("not a URL") && !e.contains("secret"), "{e}");
        let e = reference_err("user:secret@reg.example/app");
        assert!(!e.contains("secret"), "{e}");
        let e = reference_err("user:secret@reg.example");
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn registry_normalisation_table() {
        let table = [
            ("docker.io", "index.docker.io", "docker.io"),
            ("Docker.IO", "index.docker.io", "docker.io"),
            ("index.docker.io", "index.docker.io", "docker.io"),
            ("REGISTRY-1.docker.io", "index.docker.io", "docker.io"),
            ("docker.io:443", "docker.io:443", "docker.io:443"),
            ("Reg.Example:5000", "reg.example:5000", "reg.example:5000"),
            ("reg:005000", "reg:5000", "reg:5000"),
            ("localhost", "localhost", "localhost"),
            ("127.0.0.1:5000", "127.0.0.1:5000", "127.0.0.1:5000"),
            ("[::1]:5000", "[::1]:5000", "[::1]:5000"),
            ("[FD00:0::1]", "[fd00::1]", "[fd00::1]"),
            ("a-b.c9", "a-b.c9", "a-b.c9"),
        ];
        for (input, key, shown) in table {
            let r = Registry::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.key(), key, "key of {input}");
            assert_eq!(r.to_string(), shown, "display of {input}");
            assert_eq!(Registry::parse(&r.key()).unwrap(), r);
            assert_eq!(Registry::parse(&r.to_string()).unwrap(), r);
        }
        assert!(Registry::parse("docker.io").unwrap().is_docker_hub());
        assert!(!Registry::parse("docker.io:443").unwrap().is_docker_hub());
        assert_ne!(Registry::parse("reg:5000"), Registry::parse("reg:5001"));
        assert_ne!(Registry::parse("reg"), Registry::parse("reg:443"));
    }

    #[test]
    fn registry_ip_and_loopback() {
        let r = Registry::parse("[::1]:5000").unwrap();
        assert_eq!(r.host(), "::1");
        assert_eq!(r.port(), Some(5000));
        assert_eq!(r.ip(), Some("::1".parse().unwrap()));
        assert!(r.is_loopback());
        assert!(Registry::parse("127.3.4.5").unwrap().is_loopback());
        assert!(Registry::parse("LocalHost:5000").unwrap().is_loopback());
        assert!(!Registry::parse("10.0.0.1").unwrap().is_loopback());
        assert!(!Registry::parse("reg.example").unwrap().is_loopback());
        assert_eq!(Registry::parse("reg.example").unwrap().ip(), None);
    }

    #[test]
    fn registry_rejects_bad_ports() {
        assert!(registry_err("reg:70000").contains("port 70000 is out of range 1-65535"));
        assert!(registry_err("reg:0").contains("port 0 is out of range 1-65535"));
        assert!(registry_err("reg:99999999999999999999999").contains("out of range"));
        assert!(registry_err("reg:").contains("port is empty"));
        assert!(registry_err("reg:+80").contains("port '+80' is not a number"));
        assert!(registry_err("reg:8a").contains("not a number"));
    }

    #[test]
    fn registry_rejects_bad_hosts() {
        assert_eq!(
            registry_err("reg_x.example"),
            "invalid registry 'reg_x.example': host name 'reg_x.example' contains '_', which host names cannot contain; expected host[:port]"
        );
        assert!(registry_err("").contains("empty"));
        assert!(registry_err(":5000").contains("has no host"));
        assert!(registry_err("a..b").contains("empty label"));
        assert!(registry_err("-a.b").contains("starts or ends with '-'"));
        assert!(registry_err("a b").contains("' '"));
        assert!(registry_err(&format!("{}.io", "a".repeat(64))).contains("longer than 63"));
        assert!(registry_err("256.1.1.1").contains("not a valid IPv4 address"));
        assert!(registry_err("[::g]").contains("not a valid IPv6 address"));
        assert!(registry_err("[::1").contains("no matching ']'"));
        assert!(registry_err("[::1]x").contains("after ']'"));
    }

    #[test]
    fn registry_rejects_bare_ipv6() {
        let e = registry_err("::1");
        assert!(e.contains("must be written in brackets, e.g. [::1]"), "{e}");
        let e = registry_err("reg:5000:1");
        assert!(e.contains("more than one ':'"), "{e}");
    }

    #[test]
    fn registry_rejects_urls_paths_and_user_info() {
        assert!(registry_err("https://reg.example").contains("not a URL; drop 'https://'"));
        assert!(registry_err("reg.example/path").contains("has no path"));
        let e = registry_err("user:hunter2@reg.example");
        assert!(
            e.contains("user info is not allowed") && !e.contains("hunter2"),
            "{e}"
        );
        assert!(e.contains("user:<redacted>@reg.example"), "{e}");
    }

    #[test]
    fn mirror_key_parse() {
        assert_eq!(MirrorKey::parse("*").unwrap(), MirrorKey::Any);
        assert_eq!(MirrorKey::Any.key(), "*");
        let k = MirrorKey::parse("docker.io").unwrap();
        assert_eq!(k.key(), "index.docker.io");
        assert_eq!(k.to_string(), "docker.io");
        assert!(MirrorKey::parse("**").is_err());
    }

    #[test]
    fn mirror_normalisation_table() {
        // input, Display, url()
        let table = [
            ("mirror.example", "mirror.example", "https://mirror.example"),
            (
                "Mirror.Example:5000",
                "mirror.example:5000",
                "https://mirror.example:5000",
            ),
            (
                "HTTP://m2:5000/quay",
                "http://m2:5000/quay",
                "http://m2:5000/quay",
            ),
            (
                "https://q1.example/a/b/",
                "https://q1.example/a/b",
                "https://q1.example/a/b",
            ),
            ("q1.example/", "q1.example", "https://q1.example"),
            (
                "http://[::1]:5000",
                "http://[::1]:5000",
                "http://[::1]:5000",
            ),
            ("docker.io", "docker.io", "https://docker.io"),
            (
                "registry-1.docker.io/x",
                "registry-1.docker.io/x",
                "https://registry-1.docker.io/x",
            ),
        ];
        for (input, shown, url) in table {
            let m = Mirror::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(m.to_string(), shown, "display of {input}");
            assert_eq!(m.url(), url, "url of {input}");
            assert_eq!(Mirror::parse(&m.to_string()).unwrap(), m);
        }
        let m = Mirror::parse("http://m:5000/p").unwrap();
        assert_eq!(m.scheme(), Scheme::Http);
        assert_eq!(m.prefix(), Some("p"));
        assert_eq!(m.registry().key(), "m:5000");
        assert_eq!(Mirror::parse("m").unwrap().scheme(), Scheme::Https);
    }

    #[test]
    fn mirror_rejects_no_host() {
        assert_eq!(
            mirror_err("https://"),
            "registry mirror 'https://' has no host; expected [http[s]://]host[:port][/path]"
        );
        assert!(mirror_err("http://:5000").contains("has no host"));
        assert!(mirror_err("/path").contains("has no host"));
        assert!(mirror_err("").contains("is empty"));
    }

    #[test]
    fn mirror_rejects_other_schemes() {
        assert!(mirror_err("ftp://m.example").contains("unsupported scheme 'ftp://'"));
        assert!(mirror_err("ht!tp://m.example").contains("unsupported scheme 'ht!tp://'"));
    }

    /// Found by fuzzing (mirror target): a value that is not a valid URL scheme before
    /// `://` was parsed as a host while redaction treated it as a scheme, so the two
    /// disagreed about where the user info was.
    #[test]
    fn fuzz_mirror_scheme_and_redaction_agree() {
        let e = mirror_err("q:1]uoq.extp://[::1]uo@ttps<");
        assert!(e.contains("unsupported scheme"), "{e}");
        assert!(e.contains("'q:1]uoq.extp://[:<redacted>@ttps<'"), "{e}");
        let e = mirror_err("ht!tp://user:s3cret@m.example");
        assert!(!e.contains("s3cret"), "{e}");
    }

    #[test]
    fn mirror_rejects_user_info_without_echoing_the_password() {
        let e = mirror_err("https://user:s3cret@m.example/x");
        assert!(e.contains("user info, which is not allowed"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
        assert!(e.contains("'https://user:<redacted>@m.example/x'"), "{e}");
        let e = mirror_err("user:p@ss@m.example");
        assert!(!e.contains("p@ss") && !e.contains("ss@"), "{e}");
    }

    #[test]
    fn mirror_rejects_query_and_fragment() {
        assert!(mirror_err("m.example/x?a=b").contains("query string"));
        assert!(mirror_err("m.example?a").contains("query string"));
        assert!(mirror_err("m.example#top").contains("fragment"));
    }

    #[test]
    fn mirror_rejects_bad_paths() {
        assert!(mirror_err("m.example//x").contains("empty path segment"));
        assert!(mirror_err("m.example/x//").contains("empty path segment"));
        assert!(mirror_err("m.example//").contains("empty path segment"));
        assert!(mirror_err("m.example/Quay").contains("upper-case path segment 'Quay'"));
        assert!(mirror_err("m.example/a..b").contains("invalid path segment 'a..b'"));
    }

    #[test]
    fn mirror_rejects_bad_hosts_and_ports() {
        assert!(
            mirror_err("m.example:70000")
                .contains("is invalid: port 70000 is out of range 1-65535")
        );
        assert!(mirror_err("http://::1").contains("brackets"));
        assert!(mirror_err("m_x.example").contains("'_'"));
    }

    #[test]
    fn mirror_same_as_registry() {
        let hub = Registry::docker_hub();
        assert!(Mirror::parse("docker.io").unwrap().is_same_as(&hub));
        assert!(
            Mirror::parse("https://registry-1.docker.io/")
                .unwrap()
                .is_same_as(&hub)
        );
        assert!(!Mirror::parse("docker.io/mirror").unwrap().is_same_as(&hub));
        assert!(!Mirror::parse("docker.io:443").unwrap().is_same_as(&hub));
        let reg = Registry::parse("reg:5000").unwrap();
        assert!(Mirror::parse("http://reg:5000").unwrap().is_same_as(&reg));
    }

    #[test]
    fn mirror_flag() {
        let (k, m) = parse_mirror_flag("docker.io=mirror.example").unwrap();
        assert_eq!(k.key(), "index.docker.io");
        assert_eq!(m.to_string(), "mirror.example");
        let (k, m) = parse_mirror_flag("*=http://m:5000").unwrap();
        assert_eq!(k, MirrorKey::Any);
        assert_eq!(m.url(), "http://m:5000");
    }

    #[test]
    fn mirror_flag_rejections() {
        let e = parse_mirror_flag("mirror.example").unwrap_err().to_string();
        assert!(e.contains("REGISTRY=MIRROR"), "{e}");
        let e = parse_mirror_flag("docker.io=registry-1.docker.io")
            .unwrap_err()
            .to_string();
        assert!(e.contains("is the registry docker.io itself"), "{e}");
        let e = parse_mirror_flag("=m.example").unwrap_err().to_string();
        assert!(e.starts_with("invalid registry ''"), "{e}");
        let e = parse_mirror_flag("docker.io=").unwrap_err().to_string();
        assert!(e.contains("is empty"), "{e}");
        // Split on the first '=': the rest is the mirror, which cannot contain '='.
        let e = parse_mirror_flag("a.example=m.example/x=y")
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid path segment 'x=y'"), "{e}");
    }

    #[test]
    fn insecure_normalisation_table() {
        let table = [
            ("registry.local:5000", "registry.local:5000"),
            ("Registry.Local", "registry.local"),
            ("10.20.0.0/16", "10.20.0.0/16"),
            ("fd00::/8", "fd00::/8"),
            ("FD00:0::/16", "fd00::/16"),
            ("10.0.0.1", "10.0.0.1"),
            ("::1", "::1"),
            ("[::1]", "::1"),
            ("[::1]:5000", "[::1]:5000"),
            ("docker.io", "index.docker.io"),
            ("docker.io:443", "docker.io:443"),
            ("10.0.0.0/08", "10.0.0.0/8"),
        ];
        for (input, shown) in table {
            let e = InsecureEntry::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(e.to_string(), shown, "display of {input}");
            assert_eq!(InsecureEntry::parse(&e.to_string()).unwrap(), e);
        }
        assert_eq!(
            InsecureEntry::parse("reg:5000").unwrap(),
            InsecureEntry::HostPort("reg".into(), 5000)
        );
        assert_eq!(
            InsecureEntry::parse("reg").unwrap(),
            InsecureEntry::Host("reg".into())
        );
    }

    #[test]
    fn insecure_rejects_host_bits() {
        assert_eq!(
            insecure_err("10.20.0.1/16"),
            "invalid insecure registry '10.20.0.1/16': host bits are set (did you mean 10.20.0.0/16?); expected host, host:port or a CIDR such as 10.20.0.0/16"
        );
        assert!(insecure_err("fd00::1/8").contains("did you mean fd00::/8?"));
    }

    #[test]
    fn insecure_rejects_bad_cidrs() {
        assert!(insecure_err("10.0.0.0/33").contains("prefix length 33 is out of range 0-32"));
        assert!(insecure_err("fd00::/129").contains("out of range 0-128"));
        assert!(insecure_err("10.0.0.0/").contains("prefix length '' is not a number"));
        assert!(insecure_err("10.0.0.0/x").contains("not a number"));
        assert!(insecure_err("host.example/16").contains("is not an IP address"));
    }

    #[test]
    fn insecure_rejects_bad_hosts() {
        assert!(insecure_err("").contains("empty"));
        assert!(insecure_err("http://reg").contains("scheme is not allowed"));
        let e = insecure_err("u:pw123@reg");
        assert!(e.contains("user info") && !e.contains("pw123"), "{e}");
        assert!(insecure_err("reg:70000").contains("port 70000 is out of range 1-65535"));
        assert!(insecure_err("reg_x").contains("'_'"));
        assert!(insecure_err("::g").contains("not a valid IPv6 address"));
        assert!(insecure_err(":5000").contains("has no host"));
    }

    #[test]
    fn insecure_matching() {
        let reg = |s: &str| Registry::parse(s).unwrap();
        let entry = |s: &str| InsecureEntry::parse(s).unwrap();
        let none: &[IpAddr] = &[];

        assert!(entry("reg.local").matches(&reg("REG.local:5000"), none));
        assert!(entry("Reg.Local").matches(&reg("reg.local"), none));
        assert!(entry("reg.local:5000").matches(&reg("reg.local:5000"), none));
        assert!(!entry("reg.local:5000").matches(&reg("reg.local:5001"), none));
        assert!(!entry("reg.local:443").matches(&reg("reg.local"), none));
        assert!(!entry("reg.local").matches(&reg("other.local"), none));
        // Docker Hub's aliases are one host.
        assert!(entry("docker.io").matches(&reg("index.docker.io"), none));
        assert!(entry("registry-1.docker.io").matches(&reg("docker.io:443"), none));
        assert!(entry("docker.io:443").matches(&reg("index.docker.io:443"), none));
        // IP literals.
        assert!(entry("::1").matches(&reg("[::1]:5000"), none));
        assert!(entry("[::1]:5000").matches(&reg("[0::1]:5000"), none));
        // CIDRs: IP literals in range, and resolved addresses.
        assert!(entry("10.20.0.0/16").matches(&reg("10.20.3.4:5000"), none));
        assert!(!entry("10.20.0.0/16").matches(&reg("10.21.0.1"), none));
        assert!(entry("fd00::/8").matches(&reg("[fd12::1]"), none));
        assert!(!entry("10.20.0.0/16").matches(&reg("reg.local"), none));
        let resolved = ["10.20.1.1".parse().unwrap()];
        assert!(entry("10.20.0.0/16").matches(&reg("reg.local"), &resolved));
        let mapped = ["::ffff:10.20.1.1".parse().unwrap()];
        assert!(entry("10.20.0.0/16").matches(&reg("reg.local"), &mapped));
        // A host entry does not use resolved addresses.
        assert!(!entry("10.20.1.1").matches(&reg("reg.local"), &resolved));
    }

    // Edge cases of the one-pass parsers (`scan_authority`, `Mirror::scan`,
    // `is_repository_path`): same values and same messages as the precise checks.

    #[test]
    fn registry_one_pass_edge_cases() {
        let key = |s: &str| {
            Registry::parse(s)
                .map(|r| r.key())
                .map_err(|e| e.to_string())
        };
        assert_eq!(key("REG.Example:5000").unwrap(), "reg.example:5000");
        assert_eq!(key("1.2.3.4:00080").unwrap(), "1.2.3.4:80");
        assert_eq!(key("reg:65535").unwrap(), "reg:65535");
        assert_eq!(key("reg:1").unwrap(), "reg:1");
        assert_eq!(key("[::1]:10").unwrap(), "[::1]:10");
        // IPv4-looking names must be IPv4 addresses, in canonical form.
        for ip in ["1.2.3", "1.2.3.4.5", "01.2.3.4"] {
            assert_eq!(
                registry_err(ip),
                format!(
                    "invalid registry '{ip}': '{ip}' is not a valid IPv4 address; expected host[:port]"
                )
            );
        }
        assert!(registry_err("a-.b").contains("label 'a-' starts or ends with '-'"));
        assert!(registry_err("a.-b").contains("label '-b' starts or ends with '-'"));
        assert!(registry_err("a.").contains("host name 'a.' has an empty label"));
        assert!(registry_err(".a").contains("host name '.a' has an empty label"));
        assert!(registry_err("héllo").contains("contains 'é'; expected letters"));
        // ':' counts: one is a port, more is IPv6 (in brackets only).
        assert!(registry_err("reg:5000:").contains("'reg:5000:' has more than one ':'"));
        assert!(registry_err("reg::5000").contains("'reg::5000' has more than one ':'"));
        assert!(registry_err("::ffff:1.2.3.4").contains("must be written in brackets"));
        assert!(registry_err("reg:٣").contains("port '٣' is not a number"));
        assert!(registry_err("[::1]:").contains("the port is empty"));
        assert!(registry_err("[::1]:0").contains("port 0 is out of range 1-65535"));
        assert!(registry_err("[::1]]").contains("unexpected ']' after ']'"));
        // User info and paths, wherever the '@' is.
        assert!(registry_err("reg@x").contains("user info is not allowed"));
        assert!(registry_err("reg/x@y").contains("a registry has no path"));
        assert!(registry_err("Reg.Example:5000/").contains("a registry has no path"));
        assert!(registry_err("http://reg").contains("not a URL; drop 'http://'"));
        // Length limits: 63 per label, 253 for the name.
        let l63 = "a".repeat(63);
        assert_eq!(key(&format!("{l63}.io")).unwrap().len(), 66);
        let name = |last: usize| format!("{l63}.{l63}.{l63}.{}", "d".repeat(last));
        assert_eq!(key(&name(61)).unwrap(), name(61));
        assert!(registry_err(&name(62)).contains("the host name is longer than 253 characters"));
        assert_eq!(key(&format!("{}:5000", name(61))).unwrap().len(), 258);
    }

    #[test]
    fn mirror_one_pass_edge_cases() {
        let shown = |s: &str| {
            let m = Mirror::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            (m.to_string(), m.url())
        };
        let both = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            shown("HTTP://Mirror.Example:5000/cache/"),
            both(
                "http://mirror.example:5000/cache",
                "http://mirror.example:5000/cache"
            )
        );
        assert_eq!(shown("HTTPS://m"), both("https://m", "https://m"));
        assert_eq!(shown("[::1]/p/"), both("[::1]/p", "https://[::1]/p"));
        assert_eq!(
            shown("m.example/a__b_c"),
            both("m.example/a__b_c", "https://m.example/a__b_c")
        );
        // Almost a scheme.
        assert!(mirror_err("Http:/m").contains("is invalid: the port is empty"));
        assert!(mirror_err("http:m").contains("is invalid: port 'm' is not a number"));
        assert!(mirror_err("http:///m").contains("has no host"));
        assert!(mirror_err("//m").contains("has no host"));
        // `://` after the start is still where the scheme ends.
        assert!(
            mirror_err("m.example:5000://x").contains("unsupported scheme 'm.example:5000://'")
        );
        assert!(mirror_err("m.example/x://y").contains("unsupported scheme 'm.example/x://'"));
        assert!(mirror_err("http://m/x://y").contains("invalid path segment 'x:'"));
        // '@' in the path is a bad segment, in the authority user info.
        assert!(mirror_err("m.example/a@b").contains("invalid path segment 'a@b'"));
        assert!(mirror_err("user@m.example/a@b").contains("contains user info"));
        // Trailing '/', separators and case in the path.
        assert!(mirror_err("m.example/a/b//").contains("empty path segment"));
        assert!(mirror_err("m.example/-a").contains("invalid path segment '-a'"));
        assert!(mirror_err("m.example/a-").contains("invalid path segment 'a-'"));
        assert!(mirror_err("m.example/a___b").contains("invalid path segment 'a___b'"));
        assert!(mirror_err("m.example/a:b").contains("invalid path segment 'a:b'"));
        assert!(mirror_err("M.EXAMPLE/A").contains("upper-case path segment 'A'"));
        assert!(mirror_err("m.example/?").contains("query string"));
        assert!(mirror_err("m.example/#").contains("fragment"));
        // Host and port as for registries.
        assert!(mirror_err("1.2.3/p").contains("is invalid: '1.2.3' is not a valid IPv4 address"));
        assert!(mirror_err("m.example:").contains("is invalid: the port is empty"));
        assert!(mirror_err("m.example:0").contains("is invalid: port 0 is out of range 1-65535"));
    }

    #[test]
    fn host_port_forms_without_format() {
        assert_eq!(Registry::parse("reg:1").unwrap().to_string(), "reg:1");
        assert_eq!(Registry::parse("reg:10").unwrap().key(), "reg:10");
        assert_eq!(Registry::parse("[::1]:65535").unwrap().key(), "[::1]:65535");
        assert_eq!(
            Registry::parse("docker.io:443").unwrap().key(),
            "docker.io:443"
        );
        // Display ignores width, as it always did.
        assert_eq!(format!("{:>8}", Registry::parse("r:5").unwrap()), "r:5");
        let long = "a".repeat(300);
        assert_eq!(
            InsecureEntry::HostPort(long.as_str().into(), 5000).to_string(),
            format!("{long}:5000")
        );
        assert_eq!(
            InsecureEntry::HostPort("::1".into(), 5).to_string(),
            "[::1]:5"
        );
        let m = Mirror::parse("http://[FD00::1]:5000/a/b").unwrap();
        assert_eq!(m.to_string(), "http://[fd00::1]:5000/a/b");
        assert_eq!(
            Mirror::parse("[fd00::1]").unwrap().url(),
            "https://[fd00::1]"
        );
        let r = ImageRef::parse("[::1]:5000/app:v1").unwrap();
        assert_eq!(r.key(), "[::1]:5000/app:v1");
        assert_eq!(r.repository_key(), "[::1]:5000/app");
    }

    #[test]
    fn mirror_same_as_applies_aliases_on_both_sides() {
        let reg = |s: &str| Registry::parse(s).unwrap();
        let mirror = |s: &str| Mirror::parse(s).unwrap();
        assert!(mirror("Index.Docker.IO").is_same_as(&reg("registry-1.docker.io")));
        assert!(mirror("docker.io:443").is_same_as(&reg("docker.io:443")));
        assert!(!mirror("docker.io:443").is_same_as(&reg("index.docker.io:443")));
        assert!(!mirror("docker.io:443").is_same_as(&Registry::docker_hub()));
        assert!(!mirror("reg:5000").is_same_as(&reg("reg")));
        assert!(mirror("http://[0::1]:5000/").is_same_as(&reg("[::1]:5000")));
    }

    #[test]
    fn insecure_and_reference_one_pass_edge_cases() {
        let insecure = |s: &str| InsecureEntry::parse(s).unwrap().to_string();
        assert_eq!(insecure("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
        assert_eq!(insecure("REG.local:5000"), "reg.local:5000");
        assert_eq!(insecure("Docker.IO"), "index.docker.io");
        assert!(insecure_err("1.2.3").contains("'1.2.3' is not a valid IPv4 address"));
        assert!(insecure_err("reg:5000:1").contains("'reg:5000:1' is not a valid IPv6 address"));
        assert!(insecure_err("a@b/16").contains("user info is not allowed"));
        assert!(
            InsecureEntry::parse("Docker.IO")
                .unwrap()
                .matches(&Registry::parse("registry-1.docker.io:443").unwrap(), &[])
        );

        let shown = |s: &str| ImageRef::parse(s).unwrap().to_string();
        assert_eq!(shown("Reg.Example:5000/a/b:v"), "reg.example:5000/a/b:v");
        assert_eq!(shown("[::1]:5000/a__b"), "[::1]:5000/a__b:latest");
        assert!(reference_err("reg.example/a/B").contains("must be lower-case ('B')"));
        assert!(reference_err("reg.example/a//b").contains("empty component"));
        assert!(reference_err("reg.example/a/b/").contains("empty component"));
        // The length limit counts the registry as shown (`docker.io`, not the key).
        let at_limit = format!("{}/{}", "a".repeat(200), "b".repeat(44));
        assert_eq!(shown(&at_limit).len(), 255 + ":latest".len());
        assert!(reference_err(&format!("{at_limit}b")).contains("256 characters long"));
    }
}
