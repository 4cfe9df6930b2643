//! Image references (SPEC §3): `[registry/]repository[:tag][@digest]` with Docker's
//! defaults (Docker Hub, `library/`, `latest`).

use std::fmt;
use std::str::FromStr;

use super::{NameError, Registry, check_present, redact_userinfo, split_scheme};

/// Docker's limit on `registry/repository`.
const NAME_TOTAL_LENGTH_MAX: usize = 255;
/// Docker's limit on a tag.
const TAG_LENGTH_MAX: usize = 128;

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
        check_present(input).map_err(err)?;
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
                if first.contains(['.', ':']) || first.eq_ignore_ascii_case("localhost") =>
            {
                let registry = Registry::parse(first)
                    .map_err(|e| err(format!("invalid registry '{first}': {}", e.reason())))?;
                (registry, rest)
            }
            _ => (Registry::docker_hub(), name),
        };
        for component in path.split('/') {
            check_path_component(component).map_err(err)?;
        }
        let repository = if registry.is_docker_hub() && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        // Docker counts the fully qualified name as shown (`docker.io/library/x`).
        let shown_len = registry.to_string().len() + 1 + repository.len();
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
        format!("{}/{}", self.registry.key(), self.repository)
    }

    /// The fully qualified stored form: `index.docker.io/library/busybox:latest`,
    /// `reg:5000/app@sha256:...`. Used for config values and matching.
    pub fn key(&self) -> String {
        let mut out = self.repository_key();
        // Writing to a `String` cannot fail.
        let _ = self.write_tag_digest(&mut out);
        out
    }

    fn write_tag_digest<W: fmt::Write>(&self, out: &mut W) -> fmt::Result {
        if let Some(tag) = &self.tag {
            write!(out, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(out, "@{digest}")?;
        }
        Ok(())
    }
}

/// The fully qualified form with Docker Hub shown as `docker.io`
/// (`docker.io/library/busybox:latest`). Docker accepts this as an image name.
impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.registry, f)?;
        write!(f, "/{}", self.repository)?;
        self.write_tag_digest(f)
    }
}

impl FromStr for ImageRef {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ImageRef::parse(s)
    }
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
/// Mirror path prefixes are made of the same components.
pub(super) fn check_path_component(component: &str) -> Result<(), String> {
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
