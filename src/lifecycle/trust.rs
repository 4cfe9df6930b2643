//! Builder trust (SPEC §7.6).
//!
//! A trusted builder runs the single-container `creator`, which gets the registry
//! credentials and (in daemon mode) the Docker socket. An untrusted one runs the phases
//! separately ([`super::phases`]), so that its own code never sees either. A builder is
//! trusted when `--trust-builder` is given, when it is in the configured
//! `trusted-builders`, or when it is one of the builders pack trusts by default.
//!
//! Matching: an entry without a tag or digest trusts every tag of that repository, as
//! pack does. pack's default entries that carry a tag (`heroku/builder:24`) trust only that
//! tag. Configured entries are stored normalised, so a tag written there cannot be told
//! from the default `latest`: they trust the repository (any tag), unless they pin a
//! digest, which must then match exactly. Unlike pack, the registry is part of the match
//! (pack compares the repository path only, so `evil.example/heroku/builder` would pass).

use crate::reference::ImageRef;

/// The builders pack trusts by default (pack's `internal/builder/trusted_builder.go`).
pub const KNOWN_TRUSTED_BUILDERS: &[&str] = &[
    "gcr.io/buildpacks/builder:google-22",
    "heroku/builder:24",
    "heroku/builder:22",
    "heroku/builder:20",
    "paketobuildpacks/builder-jammy-base",
    "paketobuildpacks/builder-jammy-full",
    "paketobuildpacks/builder-jammy-tiny",
    "paketobuildpacks/builder-jammy-buildpackless-static",
    "paketobuildpacks/ubuntu-noble-builder",
    "paketobuildpacks/builder-ubi8-base",
    "paketobuildpacks/ubi-9-builder",
    "paketobuildpacks/ubi-10-builder",
];

/// Why a builder is trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// `--trust-builder`.
    Flag,
    /// A `trusted-builders` entry.
    Configured(ImageRef),
    /// One of [`KNOWN_TRUSTED_BUILDERS`].
    KnownBuilder(&'static str),
    /// None of the above: the phases run separately.
    Untrusted,
}

impl Trust {
    /// `trusted with --trust-builder`, `trusted by config entry X`, `trusted by default (X)`.
    pub fn describe(&self) -> String {
        match self {
            Trust::Flag => "trusted with --trust-builder".to_string(),
            Trust::Configured(entry) if entry.digest().is_some() => {
                format!("trusted by trusted-builders entry {entry}")
            }
            // Such an entry trusts every tag: show the repository, not a tag it does not require.
            Trust::Configured(entry) => format!(
                "trusted by trusted-builders entry {}/{}",
                entry.registry(),
                entry.repository()
            ),
            Trust::KnownBuilder(name) => format!("trusted by default ({name})"),
            Trust::Untrusted => "not trusted".to_string(),
        }
    }

    pub fn is_trusted(&self) -> bool {
        !matches!(self, Trust::Untrusted)
    }
}

/// Whether a name written in a list has a tag or digest of its own.
fn has_identifier(name: &str) -> bool {
    let last = name.rsplit('/').next().unwrap_or(name);
    last.contains(':') || last.contains('@')
}

/// Whether `builder` is one of pack's default trusted builders; returns the entry.
pub fn is_known_trusted_builder(builder: &ImageRef) -> Option<&'static str> {
    KNOWN_TRUSTED_BUILDERS.iter().copied().find(|known| {
        let Ok(known_ref) = ImageRef::parse(known) else {
            return false;
        };
        if has_identifier(known) {
            known_ref.key() == builder.key()
        } else {
            known_ref.repository_key() == builder.repository_key()
        }
    })
}

/// Whether `builder` is trusted, and why. `configured` is the config's
/// `trusted-builders`; `trust_flag` is `--trust-builder`.
pub fn check_trust(builder: &ImageRef, configured: &[ImageRef], trust_flag: bool) -> Trust {
    if trust_flag {
        return Trust::Flag;
    }
    if let Some(entry) = configured.iter().find(|entry| match entry.digest() {
        Some(_) => entry.key() == builder.key(),
        None => entry.repository_key() == builder.repository_key(),
    }) {
        return Trust::Configured(entry.clone());
    }
    if let Some(known) = is_known_trusted_builder(builder) {
        return Trust::KnownBuilder(known);
    }
    Trust::Untrusted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(s: &str) -> ImageRef {
        ImageRef::parse(s).unwrap()
    }

    #[test]
    fn every_known_builder_parses() {
        for known in KNOWN_TRUSTED_BUILDERS {
            assert!(ImageRef::parse(known).is_ok(), "{known}");
        }
    }

    #[test]
    fn known_builders_without_a_tag_match_any_tag_and_hub_spelling() {
        for name in [
            "paketobuildpacks/builder-jammy-base",
            "paketobuildpacks/builder-jammy-base:0.4.2",
            "docker.io/paketobuildpacks/builder-jammy-base:latest",
            "index.docker.io/paketobuildpacks/builder-jammy-base@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(
                check_trust(&img(name), &[], false),
                Trust::KnownBuilder("paketobuildpacks/builder-jammy-base"),
                "{name}"
            );
        }
    }

    #[test]
    fn known_builders_with_a_tag_match_that_tag_only() {
        assert_eq!(
            check_trust(&img("heroku/builder:24"), &[], false),
            Trust::KnownBuilder("heroku/builder:24")
        );
        assert!(!check_trust(&img("heroku/builder:18"), &[], false).is_trusted());
        assert!(!check_trust(&img("heroku/builder"), &[], false).is_trusted());
        assert!(check_trust(&img("gcr.io/buildpacks/builder:google-22"), &[], false).is_trusted());
        assert!(!check_trust(&img("gcr.io/buildpacks/builder:v1"), &[], false).is_trusted());
    }

    #[test]
    fn the_registry_is_part_of_the_match() {
        assert!(
            !check_trust(
                &img("evil.example/paketobuildpacks/builder-jammy-base"),
                &[],
                false
            )
            .is_trusted()
        );
        assert!(!check_trust(&img("localhost:5000/heroku/builder:24"), &[], false).is_trusted());
    }

    #[test]
    fn configured_entries_match_the_repository() {
        let configured = vec![
            img("registry.corp.example/builder"),
            img(
                "reg:5000/pinned@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            ),
        ];
        assert_eq!(
            check_trust(&img("registry.corp.example/builder:2"), &configured, false),
            Trust::Configured(img("registry.corp.example/builder"))
        );
        assert!(!check_trust(&img("registry.corp.example/other"), &configured, false).is_trusted());
        assert!(
            !check_trust(
                &img("registry.corp.example:443/builder"),
                &configured,
                false
            )
            .is_trusted()
        );
        assert!(!check_trust(&img("reg:5000/pinned:latest"), &configured, false).is_trusted());
        assert!(
            check_trust(
                &img("reg:5000/pinned@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
                &configured,
                false
            )
            .is_trusted()
        );
    }

    #[test]
    fn trust_reasons_read_well() {
        assert_eq!(
            Trust::Configured(img("registry.corp.example/builder")).describe(),
            "trusted by trusted-builders entry registry.corp.example/builder"
        );
        assert_eq!(
            Trust::KnownBuilder("heroku/builder:24").describe(),
            "trusted by default (heroku/builder:24)"
        );
        assert_eq!(Trust::Flag.describe(), "trusted with --trust-builder");
    }

    #[test]
    fn the_flag_trusts_anything() {
        assert_eq!(check_trust(&img("some/builder"), &[], true), Trust::Flag);
    }

    #[test]
    fn anything_else_is_untrusted() {
        let trust = check_trust(&img("reg.example:5000/team/builder:1"), &[], false);
        assert_eq!(trust, Trust::Untrusted);
        assert!(!trust.is_trusted());
        assert_eq!(trust.describe(), "not trusted");
    }
}
