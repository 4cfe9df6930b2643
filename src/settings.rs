//! Settings resolved once per invocation: flag > environment > config file > default.

use std::time::Duration;

use crate::config::Config;
use crate::reference::{InsecureEntry, Mirror, MirrorFlag, MirrorKey, Registry};

/// The default probe timeout for a registry candidate (SPEC §4).
pub const DEFAULT_REGISTRY_TIMEOUT: Duration = Duration::from_secs(3);

/// Everything the resolution engine needs to know about registries for one invocation.
#[derive(Debug, Clone)]
pub struct RegistrySettings {
    /// Mirror lists: `--registry-mirror` entries first (flag order), then the config's.
    pub mirrors: Vec<(MirrorKey, Vec<Mirror>)>,
    /// `--insecure-registry` entries, then the config's.
    pub insecure: Vec<InsecureEntry>,
    /// How long an earlier candidate is waited for.
    pub timeout: Duration,
}

impl RegistrySettings {
    /// Merges the registry flags of one invocation (`--registry-mirror`,
    /// `--insecure-registry`, `--registry-timeout`, already parsed) over the config file.
    pub fn resolve(
        config: &Config,
        flag_mirrors: &[MirrorFlag],
        flag_insecure: &[InsecureEntry],
        flag_timeout: Option<Duration>,
    ) -> RegistrySettings {
        let mut mirrors: Vec<(MirrorKey, Vec<Mirror>)> = Vec::new();
        for MirrorFlag { registry, mirror } in flag_mirrors {
            match mirrors.iter_mut().find(|(k, _)| k == registry) {
                Some((_, list)) => list.push(mirror.clone()),
                None => mirrors.push((registry.clone(), vec![mirror.clone()])),
            }
        }
        for entry in &config.registry_mirrors {
            mirrors.push((entry.key.clone(), entry.mirrors.clone()));
        }

        let mut insecure: Vec<InsecureEntry> = Vec::new();
        for entry in flag_insecure.iter().chain(&config.insecure_registries) {
            if !insecure.contains(entry) {
                insecure.push(entry.clone());
            }
        }

        RegistrySettings {
            mirrors,
            insecure,
            timeout: flag_timeout.unwrap_or(DEFAULT_REGISTRY_TIMEOUT),
        }
    }

    /// The candidates' mirrors for `registry`, in preference order: flag mirrors for it
    /// (or for `*` when it has none of its own), then configured ones; duplicates removed.
    ///
    /// A registry's own entries (from flags or the config) win over `*` entries: `*`
    /// applies only when no entry anywhere names the registry. A mirror that is the
    /// registry itself is dropped (the original is always the last candidate anyway).
    pub fn mirrors_for(&self, registry: &Registry) -> Vec<Mirror> {
        let own = |key: &MirrorKey| matches!(key, MirrorKey::Registry(r) if r == registry);
        let has_own = self.mirrors.iter().any(|(key, _)| own(key));
        let wanted = |key: &MirrorKey| {
            if has_own {
                own(key)
            } else {
                *key == MirrorKey::Any
            }
        };
        let mut out: Vec<Mirror> = Vec::new();
        for (_, list) in self.mirrors.iter().filter(|(key, _)| wanted(key)) {
            for mirror in list {
                if mirror.is_same_as(registry) {
                    continue;
                }
                // `m` and `https://m` are the same place: compare the spelled-out URL.
                if out.iter().any(|m| m.url() == mirror.url()) {
                    continue;
                }
                out.push(mirror.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RegistryMirrors;

    fn reg(s: &str) -> Registry {
        Registry::parse(s).unwrap()
    }

    fn config(entries: &[(&str, &[&str])]) -> Config {
        Config {
            registry_mirrors: entries
                .iter()
                .map(|(key, mirrors)| RegistryMirrors {
                    key: MirrorKey::parse(key).unwrap(),
                    mirrors: mirrors.iter().map(|m| Mirror::parse(m).unwrap()).collect(),
                })
                .collect(),
            ..Config::default()
        }
    }

    fn flags(mirrors: &[&str]) -> Vec<MirrorFlag> {
        mirrors
            .iter()
            .map(|s| MirrorFlag::parse(s).unwrap())
            .collect()
    }

    fn urls(list: Vec<Mirror>) -> Vec<String> {
        list.iter().map(Mirror::url).collect()
    }

    #[test]
    fn flag_mirrors_come_before_configured_ones() {
        let config = config(&[(
            "quay.io",
            &["q1.corp.example", "http://q2.corp.example:5000/quay"],
        )]);
        let settings = RegistrySettings::resolve(
            &config,
            &flags(&["quay.io=fast.example", "quay.io=q1.corp.example"]),
            &[],
            None,
        );
        assert_eq!(
            urls(settings.mirrors_for(&reg("quay.io"))),
            [
                "https://fast.example",
                "https://q1.corp.example",
                "http://q2.corp.example:5000/quay"
            ]
        );
        assert!(settings.mirrors_for(&reg("ghcr.io")).is_empty());
    }

    #[test]
    fn wildcard_applies_only_without_an_own_entry() {
        let config = config(&[("*", &["all.example"]), ("quay.io", &["q.example"])]);
        let settings =
            RegistrySettings::resolve(&config, &flags(&["*=flag-all.example"]), &[], None);
        assert_eq!(
            urls(settings.mirrors_for(&reg("quay.io"))),
            ["https://q.example"]
        );
        assert_eq!(
            urls(settings.mirrors_for(&reg("ghcr.io"))),
            ["https://flag-all.example", "https://all.example"]
        );
        // Docker Hub's aliases are one registry.
        let hub = RegistrySettings::resolve(
            &Config::default(),
            &flags(&["docker.io=hub.example"]),
            &[],
            None,
        );
        assert_eq!(
            urls(hub.mirrors_for(&Registry::docker_hub())),
            ["https://hub.example"]
        );
    }

    #[test]
    fn duplicates_and_self_mirrors_are_dropped() {
        let config = config(&[("*", &["https://m.example", "reg.example:5000"])]);
        let settings = RegistrySettings::resolve(&config, &flags(&["*=m.example"]), &[], None);
        assert_eq!(
            urls(settings.mirrors_for(&reg("reg.example:5000"))),
            ["https://m.example"]
        );
        // Another port is another registry: the mirror stays.
        assert_eq!(
            urls(settings.mirrors_for(&reg("reg.example:5001"))),
            ["https://m.example", "https://reg.example:5000"]
        );
    }

    #[test]
    fn flag_entries_come_first_once_and_the_timeout_defaults_to_3_s() {
        let config = Config {
            insecure_registries: vec![InsecureEntry::parse("10.20.0.0/16").unwrap()],
            ..Config::default()
        };
        let entry = InsecureEntry::parse("reg.example").unwrap();
        let settings = RegistrySettings::resolve(
            &config,
            &[],
            &[entry.clone(), entry.clone()],
            Some(Duration::from_millis(500)),
        );
        assert_eq!(settings.timeout, Duration::from_millis(500));
        assert_eq!(
            settings.insecure,
            [entry, InsecureEntry::parse("10.20.0.0/16").unwrap()]
        );
        assert_eq!(
            RegistrySettings::resolve(&config, &[], &[], None).timeout,
            DEFAULT_REGISTRY_TIMEOUT
        );
    }
}
