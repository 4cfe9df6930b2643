//! Which manifest of a multi-platform index cnb resolves to. The command layer says
//! which platform that is (`linux` and the Docker daemon's architecture, see
//! [`crate::docker::daemon_platform`]); this module only matches index entries to it.

use std::fmt;
use std::pin::Pin;
use std::sync::{Mutex, OnceLock};

use serde::Deserialize;
use tokio::sync::OnceCell;

use super::lock;

/// The platform a multi-platform index is resolved for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    /// `linux` and the host's architecture in OCI spelling (`amd64`, `arm64`, ...).
    pub fn host_linux() -> Platform {
        Platform::linux(std::env::consts::ARCH)
    }

    /// `linux` and `arch`, given in Go/OCI (`amd64`) or uname/Rust (`x86_64`) spelling.
    pub fn linux(arch: &str) -> Platform {
        let (architecture, variant) = oci_arch(arch);
        Platform {
            os: "linux".to_string(),
            architecture: architecture.to_string(),
            variant: variant.map(str::to_string),
        }
    }

    /// Whether an index entry's platform is this one. An entry without a variant
    /// matches any variant, and a platform without a variant matches any entry variant.
    pub fn matches(&self, os: &str, architecture: &str, variant: Option<&str>) -> bool {
        os == self.os
            && oci_arch(architecture).0 == self.architecture
            && match (self.variant.as_deref(), variant) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            }
    }
}

/// `linux/amd64`, `linux/arm/v7`.
impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

/// Go/OCI architecture name (and variant) for a Rust, uname or Go spelling.
fn oci_arch(arch: &str) -> (&str, Option<&str>) {
    match arch {
        "x86_64" | "amd64" => ("amd64", None),
        "aarch64" | "arm64" => ("arm64", None),
        "arm" | "armv7l" | "armhf" => ("arm", Some("v7")),
        "armv6l" => ("arm", Some("v6")),
        "x86" | "i386" | "i686" | "386" => ("386", None),
        "powerpc64" | "ppc64le" => ("ppc64le", None),
        "riscv64" | "riscv64gc" => ("riscv64", None),
        "loongarch64" | "loong64" => ("loong64", None),
        other => (other, None),
    }
}

/// One entry of an image index (OCI index or Docker manifest list).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct IndexEntry {
    pub digest: String,
    #[serde(default)]
    pub platform: Option<EntryPlatform>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct EntryPlatform {
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

/// The entry of `entries` for `platform`: an exact variant match first, then any
/// entry of that OS and architecture.
pub(crate) fn select<'a>(entries: &'a [IndexEntry], platform: &Platform) -> Option<&'a IndexEntry> {
    let of = |e: &&IndexEntry| {
        e.platform
            .as_ref()
            .is_some_and(|p| platform.matches(&p.os, &p.architecture, p.variant.as_deref()))
    };
    entries
        .iter()
        .filter(of)
        .find(|e| {
            e.platform.as_ref().and_then(|p| p.variant.as_deref()) == platform.variant.as_deref()
        })
        .or_else(|| entries.iter().find(of))
}

/// The platform indexes resolve for: given, or asked of the Docker daemon once, in the
/// background, and awaited only by a probe that found an index.
pub(super) struct PlatformState {
    /// Used until (and unless) the detection answers.
    pub(super) fallback: Platform,
    pub(super) value: OnceLock<Platform>,
    pub(super) detection: Mutex<Detection>,
    pub(super) done: OnceCell<()>,
}

/// The command layer's way to find the platform (it asks the Docker daemon).
pub(super) type DetectPlatform = Pin<Box<dyn Future<Output = Platform> + Send>>;

/// Where the detection of the platform stands.
pub(super) enum Detection {
    /// Not started.
    Pending(DetectPlatform),
    /// Started in the background by [`PlatformState::start`].
    Running(tokio::task::JoinHandle<Platform>),
    /// Nothing to detect (the platform was given), or taken by [`PlatformState::get`].
    Done,
}

impl PlatformState {
    pub(super) fn current(&self) -> &Platform {
        self.value.get().unwrap_or(&self.fallback)
    }

    /// Starts detecting in the background (once; needs a tokio runtime).
    pub(super) fn start(&self) {
        let mut detection = lock(&self.detection);
        if let Detection::Pending(_) = &*detection
            && let Detection::Pending(detect) = std::mem::replace(&mut *detection, Detection::Done)
        {
            *detection = Detection::Running(tokio::spawn(detect));
        }
    }

    pub(super) async fn get(&self) -> Platform {
        if let Some(platform) = self.value.get() {
            return platform.clone();
        }
        self.done
            .get_or_init(|| async {
                let detection = std::mem::replace(&mut *lock(&self.detection), Detection::Done);
                let platform = match detection {
                    Detection::Running(task) => {
                        task.await.unwrap_or_else(|_| self.fallback.clone())
                    }
                    Detection::Pending(detect) => detect.await,
                    Detection::Done => self.fallback.clone(),
                };
                let _ = self.value.set(platform);
            })
            .await;
        self.current().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(digest: &str, os: &str, arch: &str, variant: Option<&str>) -> IndexEntry {
        IndexEntry {
            digest: digest.into(),
            platform: Some(EntryPlatform {
                os: os.into(),
                architecture: arch.into(),
                variant: variant.map(Into::into),
            }),
        }
    }

    #[test]
    fn host_platform_is_linux_with_oci_arch() {
        let p = Platform::host_linux();
        assert_eq!(p.os, "linux");
        assert!(!p.architecture.contains('_'), "{p}");
        assert_eq!(Platform::linux("x86_64").architecture, "amd64");
        assert_eq!(Platform::linux("aarch64").architecture, "arm64");
        assert_eq!(Platform::linux("arm").to_string(), "linux/arm/v7");
    }

    #[test]
    fn selects_linux_entry_for_the_architecture() {
        let entries = vec![
            entry("sha256:win", "windows", "amd64", None),
            entry("sha256:arm7", "linux", "arm", Some("v7")),
            entry("sha256:arm64", "linux", "arm64", Some("v8")),
            entry("sha256:amd64", "linux", "amd64", None),
        ];
        let pick = |p: Platform| select(&entries, &p).map(|e| e.digest.clone());
        assert_eq!(
            pick(Platform::linux("amd64")).as_deref(),
            Some("sha256:amd64")
        );
        assert_eq!(
            pick(Platform::linux("arm64")).as_deref(),
            Some("sha256:arm64")
        );
        assert_eq!(pick(Platform::linux("arm")).as_deref(), Some("sha256:arm7"));
        assert_eq!(pick(Platform::linux("armv6l")), None);
        assert_eq!(pick(Platform::linux("s390x")), None);
    }

    #[test]
    fn prefers_exact_variant() {
        let entries = vec![
            entry("sha256:v6", "linux", "arm", Some("v6")),
            entry("sha256:v7", "linux", "arm", Some("v7")),
        ];
        let got = select(&entries, &Platform::linux("arm")).unwrap();
        assert_eq!(got.digest, "sha256:v7");
    }
}
