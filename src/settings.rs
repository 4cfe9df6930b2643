//! Settings resolved once per invocation: flag > environment > config file > default.

use std::time::Duration;

use crate::config::Config;
use crate::error::UsageError;
use crate::reference::{InsecureEntry, Mirror, MirrorKey, Registry, parse_mirror_flag};

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
    /// Merges the command-line registry flags over the config file.
    /// Bad flag values are [`crate::reference::NameError`]s (exit status 2).
    pub fn resolve(
        config: &Config,
        args: &crate::cli::RegistryArgs,
    ) -> anyhow::Result<RegistrySettings> {
        let mut mirrors: Vec<(MirrorKey, Vec<Mirror>)> = Vec::new();
        for flag in &args.registry_mirrors {
            let (key, mirror) = parse_mirror_flag(flag)?;
            match mirrors.iter_mut().find(|(k, _)| *k == key) {
                Some((_, list)) => list.push(mirror),
                None => mirrors.push((key, vec![mirror])),
            }
        }
        for entry in &config.registry_mirrors {
            mirrors.push((entry.key.clone(), entry.mirrors.clone()));
        }

        let mut insecure: Vec<InsecureEntry> = Vec::new();
        for flag in &args.insecure_registries {
            let entry = InsecureEntry::parse(flag)?;
            if !insecure.contains(&entry) {
                insecure.push(entry);
            }
        }
        for entry in &config.insecure_registries {
            if !insecure.contains(entry) {
                insecure.push(entry.clone());
            }
        }

        let timeout = match args.registry_timeout {
            None => DEFAULT_REGISTRY_TIMEOUT,
            Some(secs) => parse_timeout(secs)?,
        };
        Ok(RegistrySettings {
            mirrors,
            insecure,
            timeout,
        })
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

/// The longest probe timeout accepted (an hour): anything longer is a typo.
const MAX_REGISTRY_TIMEOUT_SECS: f64 = 3600.0;

fn parse_timeout(secs: f64) -> Result<Duration, UsageError> {
    if !secs.is_finite() || secs <= 0.0 || secs > MAX_REGISTRY_TIMEOUT_SECS {
        return Err(UsageError(format!(
            "invalid --registry-timeout '{secs}'; expected a number of seconds greater than 0 and at most {MAX_REGISTRY_TIMEOUT_SECS}"
        )));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::RegistryArgs;
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

    fn args(mirrors: &[&str]) -> RegistryArgs {
        RegistryArgs {
            registry_mirrors: mirrors.iter().map(|s| s.to_string()).collect(),
            ..RegistryArgs::default()
        }
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
            &args(&["quay.io=fast.example", "quay.io=q1.corp.example"]),
        )
        .unwrap();
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
        let settings = RegistrySettings::resolve(&config, &args(&["*=flag-all.example"])).unwrap();
        assert_eq!(
            urls(settings.mirrors_for(&reg("quay.io"))),
            ["https://q.example"]
        );
        assert_eq!(
            urls(settings.mirrors_for(&reg("ghcr.io"))),
            ["https://flag-all.example", "https://all.example"]
        );
        // Docker Hub's aliases are one registry.
        let hub = RegistrySettings::resolve(&Config::default(), &args(&["docker.io=hub.example"]))
            .unwrap();
        assert_eq!(
            urls(hub.mirrors_for(&Registry::docker_hub())),
            ["https://hub.example"]
        );
    }

    #[test]
    fn duplicates_and_self_mirrors_are_dropped() {
        let config = config(&[("*", &["https://m.example", "reg.example:5000"])]);
        let settings = RegistrySettings::resolve(&config, &args(&["*=m.example"])).unwrap();
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
    fn bad_flags_are_usage_errors() {
        let config = Config::default();
        for bad in [
            args(&["no-equals"]),
            RegistryArgs {
                insecure_registries: vec!["10.0.0.1/8".into()],
                ..RegistryArgs::default()
            },
            RegistryArgs {
                registry_timeout: Some(0.0),
                ..RegistryArgs::default()
            },
            RegistryArgs {
                registry_timeout: Some(f64::NAN),
                ..RegistryArgs::default()
            },
        ] {
            let err = RegistrySettings::resolve(&config, &bad).unwrap_err();
            assert_eq!(crate::error::exit_code(&err), 2, "{err:#}");
        }
        let ok = RegistrySettings::resolve(
            &config,
            &RegistryArgs {
                registry_timeout: Some(0.5),
                insecure_registries: vec!["reg.example".into(), "reg.example".into()],
                ..RegistryArgs::default()
            },
        )
        .unwrap();
        assert_eq!(ok.timeout, Duration::from_millis(500));
        assert_eq!(ok.insecure.len(), 1);
        assert_eq!(
            RegistrySettings::resolve(&config, &RegistryArgs::default())
                .unwrap()
                .timeout,
            DEFAULT_REGISTRY_TIMEOUT
        );
    }
}
