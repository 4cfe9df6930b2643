//! Registry mirrors (SPEC §4): `[http://|https://]host[:port][/path-prefix]`, and the
//! `--registry-mirror REGISTRY=MIRROR` flag.

use std::fmt;
use std::str::FromStr;

use super::image::check_path_component;
use super::registry::{AddrError, parse_authority};
use super::{
    ImageRef, MirrorKey, NameError, Registry, WHITESPACE_AROUND, authority_end, has_byte,
    has_whitespace_around, redact_userinfo, split_scheme, write_host_port,
};

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
    prefix: Option<String>,
}

impl Mirror {
    /// Parses and validates a mirror. Rejects an empty host, a bad port, user info,
    /// query strings, fragments, other schemes and malformed path segments.
    /// One trailing `/` is dropped. The host is kept as written (lower-cased): a
    /// mirror at `docker.io` is that address, not the Docker Hub alias.
    /// The checks run in the order that picks the message.
    pub fn parse(input: &str) -> Result<Mirror, NameError> {
        let err = |reason: &str| NameError::Mirror {
            input: redact_userinfo(input),
            reason: reason.to_string(),
        };
        if input.is_empty() {
            return Err(err("is empty"));
        }
        if has_whitespace_around(input) {
            return Err(err(&format!("has {WHITESPACE_AROUND}")));
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
        if has_byte(authority, b'@') {
            return Err(err(
                "contains user info, which is not allowed; keep credentials in the Docker config",
            ));
        }
        match tail.bytes().find(|&b| b == b'?' || b == b'#') {
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
        let prefix = parse_prefix(tail).map_err(|reason| err(&reason))?;
        Ok(Mirror {
            explicit_scheme,
            registry: Registry::from_parts(host, port),
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
        let mut url = String::new();
        // Writing to a `String` cannot fail.
        let _ = self.write(&mut url, Some(self.scheme()));
        url
    }

    /// `[scheme://]host[:port][/prefix]`.
    fn write<W: fmt::Write>(&self, out: &mut W, scheme: Option<Scheme>) -> fmt::Result {
        if let Some(scheme) = scheme {
            out.write_str(scheme.url_prefix())?;
        }
        write_host_port(out, self.registry.host(), self.registry.port())?;
        if let Some(prefix) = &self.prefix {
            write!(out, "/{prefix}")?;
        }
        Ok(())
    }

    /// `host[:port][/prefix]`: the form pack can use. pack puts a mirror in front of the
    /// repository as it is, so a scheme would make the reference invalid.
    pub fn pack_form(&self) -> String {
        let mut out = String::new();
        // Writing to a `String` cannot fail.
        let _ = self.write(&mut out, None);
        out
    }

    /// Whether two mirrors are one host, port and prefix, whatever their schemes.
    pub fn same_address(&self, other: &Mirror) -> bool {
        self.registry == other.registry && self.prefix == other.prefix
    }

    /// Whether two mirrors are one address: the same [`Mirror::url`] (a mirror
    /// written without a scheme is the `https://` one).
    pub fn same_url(&self, other: &Mirror) -> bool {
        self.scheme() == other.scheme()
            && self.registry == other.registry
            && self.prefix == other.prefix
    }

    /// True when this mirror is its registry's own address (no prefix, same registry,
    /// Docker Hub aliases counting as one, any scheme).
    pub fn is_same_as(&self, registry: &Registry) -> bool {
        self.prefix.is_none()
            && self.registry.port() == registry.port()
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

/// `--registry-mirror REGISTRY=MIRROR`, parsed ([`MirrorFlag::parse`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorFlag {
    /// The registry, or `*`.
    pub registry: MirrorKey,
    pub mirror: Mirror,
}

impl MirrorFlag {
    /// [`parse_mirror_flag`], named.
    pub fn parse(input: &str) -> Result<MirrorFlag, NameError> {
        let (registry, mirror) = parse_mirror_flag(input)?;
        Ok(MirrorFlag { registry, mirror })
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
