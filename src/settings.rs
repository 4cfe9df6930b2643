//! Settings resolved once per invocation: flag > environment > config file > default.

use std::time::Duration;

use crate::cli::PullPolicyArg;
use crate::config::Config;
use crate::reference::{InsecureEntry, Mirror, MirrorKey, Registry};

/// The default probe timeout for a registry candidate (SPEC §4).
pub const DEFAULT_REGISTRY_TIMEOUT: Duration = Duration::from_secs(3);

/// When images are pulled. The strings are pack's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    #[default]
    Always,
    IfNotPresent,
    Never,
}

impl PullPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "always",
            PullPolicy::IfNotPresent => "if-not-present",
            PullPolicy::Never => "never",
        }
    }

    pub fn parse(value: &str) -> Option<PullPolicy> {
        match value {
            "always" => Some(PullPolicy::Always),
            "if-not-present" => Some(PullPolicy::IfNotPresent),
            "never" => Some(PullPolicy::Never),
            _ => None,
        }
    }
}

impl From<PullPolicyArg> for PullPolicy {
    fn from(arg: PullPolicyArg) -> Self {
        match arg {
            PullPolicyArg::Always => PullPolicy::Always,
            PullPolicyArg::IfNotPresent => PullPolicy::IfNotPresent,
            PullPolicyArg::Never => PullPolicy::Never,
        }
    }
}

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
        let _ = (config, args);
        todo!()
    }

    /// The candidates' mirrors for `registry`, in preference order: flag mirrors for it
    /// (or for `*` when it has none of its own), then configured ones; duplicates removed.
    pub fn mirrors_for(&self, registry: &Registry) -> Vec<Mirror> {
        let _ = registry;
        todo!()
    }
}
