//! The KEP-1755 rules, without any I/O: which `localRegistryHosting.vN` entry of the
//! `kube-public/local-registry-hosting` ConfigMap counts, what its fields mean, and
//! which host serves which side.
//!
//! - Keys are `localRegistryHosting.v<N>` (`N` a positive integer); anything else in the
//!   ConfigMap is not ours and is ignored.
//! - Readers take the newest version they understand ([`SUPPORTED_VERSIONS`]: `v1`); newer
//!   versions are reported but not read, since a new major version may rename fields.
//! - `v1` fields are YAML strings, each optional (an empty string counts as absent):
//!   `host` (where tools outside the cluster push), `hostFromContainerRuntime` (what
//!   pod specs name; defaults to `host`), `hostFromClusterNetwork` (where tools inside
//!   the cluster push; absent means the registry is not reachable from pods), `help`
//!   (a URL to show when the registry is missing or a push to it fails).

use std::collections::BTreeMap;

use serde::Deserialize;
use thiserror::Error;

use crate::reference::Registry;

/// The ConfigMap's namespace and name (fixed by the KEP).
pub const NAMESPACE: &str = "kube-public";
pub const CONFIG_MAP: &str = "local-registry-hosting";

/// The data key prefix: `localRegistryHosting.v1`, `localRegistryHosting.v2`, ...
pub const KEY_PREFIX: &str = "localRegistryHosting.v";

/// The versions cnb reads, oldest first.
pub const SUPPORTED_VERSIONS: &[u32] = &[1];

/// The data key of version `n`.
pub fn key_of(version: u32) -> String {
    format!("{KEY_PREFIX}{version}")
}

/// A `v1` entry as declared: every field optional, values as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HostingV1 {
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    host_from_container_runtime: Option<String>,
    #[serde(default)]
    host_from_cluster_network: Option<String>,
    #[serde(default)]
    help: Option<String>,
}

/// An unknown (newer) version, read only for its `help` URL, which every version so far
/// has: shown when cnb cannot use the entry, so the user still gets the cluster's advice.
#[derive(Debug, Default, Deserialize)]
struct HelpOnly {
    #[serde(default)]
    help: Option<String>,
}

/// What a cluster declares, validated: the entry cnb read and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hosting {
    /// The version read (`1`).
    pub version: u32,
    /// `host`: where cnb (outside the cluster) pushes. `None` when not declared.
    pub host: Option<Registry>,
    /// `hostFromContainerRuntime` as declared (not defaulted).
    pub host_from_container_runtime: Option<Registry>,
    /// `hostFromClusterNetwork`: `None` means pods cannot reach the registry.
    pub host_from_cluster_network: Option<Registry>,
    pub help: Option<String>,
    /// Versions newer than the one read, which cnb does not understand.
    pub newer_versions: Vec<u32>,
}

impl Hosting {
    /// The host pod specs should name: `hostFromContainerRuntime`, else `host` (the
    /// KEP's default).
    pub fn host_for_pods(&self) -> Option<&Registry> {
        self.host_from_container_runtime
            .as_ref()
            .or(self.host.as_ref())
    }
}

/// Why a ConfigMap's data gives no usable registry. The messages are the part after
/// `cluster <context> ... declares`; the caller adds what was asked and the help URL.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HostingError {
    #[error("no {KEY_PREFIX}N entry")]
    NoEntry,
    #[error(
        "only {}, which this cnb does not understand (it reads {})",
        list(versions),
        list(SUPPORTED_VERSIONS)
    )]
    UnknownVersions {
        versions: Vec<u32>,
        /// The newest entry's `help`, when it has one.
        help: Option<String>,
    },
    #[error("{key} that is not valid YAML: {detail}")]
    Yaml {
        key: String,
        detail: String,
        help: Option<String>,
    },
    #[error("{key} with an invalid {field} '{value}': {reason}")]
    InvalidHost {
        key: String,
        field: &'static str,
        value: String,
        reason: String,
        help: Option<String>,
    },
}

impl HostingError {
    /// The `help` URL the ConfigMap gave, when it gave one.
    pub fn help(&self) -> Option<&str> {
        match self {
            HostingError::NoEntry => None,
            HostingError::UnknownVersions { help, .. }
            | HostingError::Yaml { help, .. }
            | HostingError::InvalidHost { help, .. } => help.as_deref(),
        }
    }
}

/// `localRegistryHosting.v1, localRegistryHosting.v2`.
fn list(versions: &[u32]) -> String {
    versions
        .iter()
        .map(|v| key_of(*v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The version of a data key, when it is a `localRegistryHosting.vN` key.
fn version_of(key: &str) -> Option<u32> {
    let digits = key.strip_prefix(KEY_PREFIX)?;
    // `v01` and `v+1` are not the KEP's spelling; `u32::from_str` would take them.
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The first line of a YAML error (the parser adds a snippet of the input below it).
fn one_line(err: &serde_saphyr::Error) -> String {
    let text = err.to_string();
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("unreadable");
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

/// An optional host field: absent or empty is `None`; otherwise it must be
/// `host[:port]`, and a name that image references can carry: a single-label host
/// without a port (`registry`) would read as a Docker Hub repository in `registry/app`.
fn host_field(
    key: &str,
    field: &'static str,
    value: Option<String>,
    help: &Option<String>,
) -> Result<Option<Registry>, HostingError> {
    let Some(value) = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    let invalid = |reason: String| HostingError::InvalidHost {
        key: key.to_string(),
        field,
        value: value.clone(),
        reason,
        help: help.clone(),
    };
    let registry = Registry::parse(&value).map_err(|e| invalid(e.reason().to_string()))?;
    if !value.contains(['.', ':']) && !value.eq_ignore_ascii_case("localhost") {
        return Err(invalid(
            "a host without a port or a dot would name Docker Hub in image references; \
             expected host:port"
                .to_string(),
        ));
    }
    Ok(Some(registry))
}

/// Reads the ConfigMap's `data` by the KEP's rules.
pub fn parse(data: &BTreeMap<String, String>) -> Result<Hosting, HostingError> {
    let mut versions: Vec<u32> = data.keys().filter_map(|k| version_of(k)).collect();
    versions.sort_unstable();
    versions.dedup();
    let Some(&newest) = versions.last() else {
        return Err(HostingError::NoEntry);
    };
    let Some(version) = versions
        .iter()
        .rev()
        .copied()
        .find(|v| SUPPORTED_VERSIONS.contains(v))
    else {
        let help = data
            .get(&key_of(newest))
            .and_then(|text| serde_saphyr::from_str::<Option<HelpOnly>>(text).ok())
            .flatten()
            .and_then(|h| h.help)
            .filter(|h| !h.trim().is_empty());
        return Err(HostingError::UnknownVersions { versions, help });
    };
    let newer_versions = versions.iter().copied().filter(|v| *v > version).collect();
    let key = key_of(version);
    let text = data.get(&key).map(String::as_str).unwrap_or_default();
    // An empty entry (or `~`) declares nothing, like an empty mapping.
    let declared: HostingV1 = serde_saphyr::from_str::<Option<HostingV1>>(text)
        .map_err(|e| HostingError::Yaml {
            key: key.clone(),
            detail: one_line(&e),
            help: None,
        })?
        .unwrap_or_default();
    let help = declared
        .help
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty());
    Ok(Hosting {
        version,
        host: host_field(&key, "host", declared.host, &help)?,
        host_from_container_runtime: host_field(
            &key,
            "hostFromContainerRuntime",
            declared.host_from_container_runtime,
            &help,
        )?,
        host_from_cluster_network: host_field(
            &key,
            "hostFromClusterNetwork",
            declared.host_from_cluster_network,
            &help,
        )?,
        help,
        newer_versions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn reg(s: &str) -> Registry {
        Registry::parse(s).unwrap()
    }

    #[test]
    fn the_kep_example() {
        let hosting = parse(&data(&[(
            "localRegistryHosting.v1",
            "host: \"localhost:5000\"\n\
             hostFromContainerRuntime: \"registry:5000\"\n\
             hostFromClusterNetwork: \"kind-registry:5000\"\n\
             help: \"https://kind.sigs.k8s.io/docs/user/local-registry/\"\n",
        )]))
        .unwrap();
        assert_eq!(hosting.version, 1);
        assert_eq!(hosting.host, Some(reg("localhost:5000")));
        assert_eq!(hosting.host_for_pods(), Some(&reg("registry:5000")));
        assert_eq!(
            hosting.host_from_cluster_network,
            Some(reg("kind-registry:5000"))
        );
        assert_eq!(
            hosting.help.as_deref(),
            Some("https://kind.sigs.k8s.io/docs/user/local-registry/")
        );
        assert!(hosting.newer_versions.is_empty());
    }

    #[test]
    fn pods_fall_back_to_host_and_the_cluster_network_has_no_default() {
        let hosting = parse(&data(&[(
            "localRegistryHosting.v1",
            "host: 127.0.0.1:5001\n",
        )]))
        .unwrap();
        assert_eq!(hosting.host_for_pods(), Some(&reg("127.0.0.1:5001")));
        assert_eq!(hosting.host_from_cluster_network, None);
        assert_eq!(hosting.help, None);
    }

    #[test]
    fn every_field_is_optional_and_empty_means_absent() {
        for text in [
            "",
            "~",
            "{}",
            "host: \"\"\nhelp: \"  \"\n",
            "unknownField: 1\n",
        ] {
            let hosting = parse(&data(&[("localRegistryHosting.v1", text)])).unwrap();
            assert_eq!(hosting.host, None, "{text:?}");
            assert_eq!(hosting.host_for_pods(), None, "{text:?}");
            assert_eq!(hosting.help, None, "{text:?}");
        }
        let help_only = parse(&data(&[(
            "localRegistryHosting.v1",
            "help: https://example.test/setup\n",
        )]))
        .unwrap();
        assert_eq!(help_only.host, None);
        assert_eq!(
            help_only.help.as_deref(),
            Some("https://example.test/setup")
        );
    }

    #[test]
    fn the_newest_understood_version_wins_and_newer_ones_are_noted() {
        let hosting = parse(&data(&[
            ("localRegistryHosting.v1", "host: localhost:5000\n"),
            ("localRegistryHosting.v2", "hostV2: {url: somewhere}\n"),
            ("localRegistryHosting.v10", "anything at all: ["),
            ("unrelated", "x"),
        ]))
        .unwrap();
        assert_eq!(hosting.version, 1);
        assert_eq!(hosting.host, Some(reg("localhost:5000")));
        assert_eq!(hosting.newer_versions, vec![2, 10]);
    }

    #[test]
    fn unknown_versions_only() {
        let err = parse(&data(&[(
            "localRegistryHosting.v2",
            "host: localhost:5000\nhelp: https://example.test/v2\n",
        )]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "only localRegistryHosting.v2, which this cnb does not understand (it reads localRegistryHosting.v1)"
        );
        assert_eq!(err.help(), Some("https://example.test/v2"));
        // An unreadable newer entry still gives the error, without help.
        let err = parse(&data(&[("localRegistryHosting.v3", "[")])).unwrap_err();
        assert!(matches!(
            err,
            HostingError::UnknownVersions { help: None, .. }
        ));
    }

    #[test]
    fn keys_that_are_not_the_keps_spelling_are_ignored() {
        for key in [
            "localRegistryHosting.v0",
            "localRegistryHosting.v01",
            "localRegistryHosting.v",
            "localRegistryHosting.v1beta1",
            "localRegistryHosting.v+1",
            "LocalRegistryHosting.v1",
            "localRegistryHosting",
        ] {
            assert_eq!(
                parse(&data(&[(key, "host: localhost:5000")])),
                Err(HostingError::NoEntry),
                "{key}"
            );
        }
        assert_eq!(parse(&BTreeMap::new()), Err(HostingError::NoEntry));
    }

    #[test]
    fn bad_entries_name_the_key_and_the_field() {
        let err = parse(&data(&[("localRegistryHosting.v1", "host: [unclosed\n")])).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("localRegistryHosting.v1 that is not valid YAML: "),
            "{text}"
        );
        assert!(!text.contains('\n'), "{text}");

        let err = parse(&data(&[(
            "localRegistryHosting.v1",
            "host: http://localhost:5000\nhelp: https://example.test/h\n",
        )]))
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(
                "localRegistryHosting.v1 with an invalid host 'http://localhost:5000': "
            ),
            "{text}"
        );
        assert_eq!(err.help(), Some("https://example.test/h"));

        let err = parse(&data(&[(
            "localRegistryHosting.v1",
            "host: localhost:5000\nhostFromClusterNetwork: registry\n",
        )]))
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("invalid hostFromClusterNetwork 'registry'"),
            "{err}"
        );
    }
}
