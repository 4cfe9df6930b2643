//! Names and matching (SPEC §3): image references, registries, mirrors and
//! insecure-registry entries, parsed and normalised in one place.
//!
//! Everything that enters cnb from a user, a config file or a builder label goes
//! through these parsers. They are pure (no I/O, no DNS) so that the config
//! commands, the resolution engine and the build all agree on what a name means.
//!
//! Where each part of the SPEC lives:
//! - [`registry`]: §3's registries (`host[:port]`, the port as part of the identity,
//!   Docker Hub's three names as one) and the `registry-mirrors` keys (`*`, §4);
//! - [`image`]: §3's image references (Docker Hub by default, `library/`, `latest`);
//! - [`mirror`]: §4's mirror values and the `--registry-mirror REGISTRY=MIRROR` flag;
//! - [`insecure`]: §5's `insecure-registries` entries and what they cover.
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
//! - Whitespace around a value (`" busybox"`, `"mirror.example "`) is refused by
//!   every parser here, as Docker refuses it in references, whether the value comes
//!   from the command line or the config file; nothing is trimmed.

mod image;
mod insecure;
mod mirror;
mod registry;

use std::fmt;

use thiserror::Error;

use crate::secret::REDACTED;

pub use image::ImageRef;
pub use insecure::InsecureEntry;
pub use mirror::{Mirror, MirrorFlag, Scheme, parse_mirror_flag};
pub use registry::{MirrorKey, Registry};

/// How Docker Hub is stored in config files and passed to the lifecycle.
pub const DOCKER_HUB: &str = "index.docker.io";
/// How Docker Hub is shown to people.
pub const DOCKER_HUB_DISPLAY: &str = "docker.io";

/// The host names that all mean Docker Hub (compared after lower-casing).
const DOCKER_HUB_ALIASES: [&str; 3] = ["docker.io", "index.docker.io", "registry-1.docker.io"];

/// A value as the user typed it and as cnb parsed it. Messages, and the config file
/// where cnb stores what was typed (trusted builders, run-image mirrors), keep the
/// spelling; matching uses the parsed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given<T> {
    pub text: String,
    pub value: T,
}

impl<T> Given<T> {
    /// Parses `text` with `parse`, keeping the text.
    pub fn parse<E>(text: &str, parse: impl FnOnce(&str) -> Result<T, E>) -> Result<Given<T>, E> {
        Ok(Given {
            text: text.to_string(),
            value: parse(text)?,
        })
    }
}

impl<T> fmt::Display for Given<T> {
    /// As typed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

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

/// Why a value with whitespace around it is refused (the same words for every kind).
const WHITESPACE_AROUND: &str = "whitespace around it (remove it)";

/// Whether `input` starts or ends with whitespace.
fn has_whitespace_around(input: &str) -> bool {
    input.trim() != input
}

/// The first checks of the parsers whose messages say "it ...": a value is there,
/// without whitespace around it. The reason when not.
fn check_present(input: &str) -> Result<(), String> {
    if input.is_empty() {
        return Err("the value is empty".into());
    }
    if has_whitespace_around(input) {
        return Err(format!("it has {WHITESPACE_AROUND}"));
    }
    Ok(())
}

fn is_hub_alias(host: &str) -> bool {
    DOCKER_HUB_ALIASES.contains(&host)
}

/// Host names equal after lower-casing, Docker Hub's aliases as one.
fn same_host(a: &str, b: &str) -> bool {
    let alias = |host: &str| {
        DOCKER_HUB_ALIASES
            .iter()
            .any(|alias| alias.eq_ignore_ascii_case(host))
    };
    a.eq_ignore_ascii_case(b) || (alias(a) && alias(b))
}

/// `host[:port]`, with IPv6 hosts in brackets.
fn write_host_port<W: fmt::Write>(out: &mut W, host: &str, port: Option<u16>) -> fmt::Result {
    if host.contains(':') {
        write!(out, "[{host}]")?;
    } else {
        out.write_str(host)?;
    }
    match port {
        Some(port) => write!(out, ":{port}"),
        None => Ok(()),
    }
}

/// `(scheme, rest)` around the first `://`.
fn split_scheme(s: &str) -> Option<(&str, &str)> {
    let colon = s.as_bytes().windows(3).position(|w| w == b"://")?;
    Some((&s[..colon], &s[colon + 3..]))
}

/// Where the authority at the start of `rest` ends: the first `/`, `?` or `#`.
fn authority_end(rest: &str) -> usize {
    rest.bytes()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len())
}

/// Whether `s` contains the ASCII character `c`. The parsers here look for single
/// ASCII characters in short values many times per config file; a byte loop does
/// that without the set-up of a general string search.
fn has_byte(s: &str, c: u8) -> bool {
    s.as_bytes().contains(&c)
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

#[cfg(test)]
mod tests;
