//! Reading `kube-public/local-registry-hosting` from the current kube context's cluster
//! with the `kube` crate: the kubeconfig (`KUBECONFIG`'s list, else `~/.kube/config`),
//! the context (`--kube-context`, else `current-context`), and the user's credentials as
//! kubeconfigs give them (client certificates, bearer tokens, exec plugins).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client};

use super::DiscoveryError;
use super::hosting::{CONFIG_MAP, NAMESPACE};

/// How long one API request may take (connecting, TLS, the answer), and the whole
/// lookup with its exec plugin: a dead or black-holed API server costs at most this.
pub const API_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the kubeconfig came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeconfigSource {
    /// The files read, in merge order (the first to set a value wins, as in kubectl).
    pub files: Vec<PathBuf>,
    /// `KUBECONFIG` or `~/.kube/config`.
    pub from: &'static str,
}

/// The kube context a lookup used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeContext {
    pub name: String,
    /// The cluster's API server URL as the kubeconfig gives it.
    pub server: String,
    pub kubeconfig: KubeconfigSource,
}

impl KubeContext {
    /// `kube context 'kind-dev' (https://127.0.0.1:6443)`.
    pub fn describe(&self) -> String {
        format!("kube context '{}' ({})", self.name, self.server)
    }
}

/// `KUBECONFIG` (a list, `:`-separated on Unix) or `~/.kube/config`, read and merged as
/// kubectl does: empty entries and files that do not exist are skipped.
pub fn load_kubeconfig(
    kubeconfig_env: Option<OsString>,
    home: Option<PathBuf>,
) -> Result<(Kubeconfig, KubeconfigSource), DiscoveryError> {
    let listed: Vec<PathBuf> = kubeconfig_env
        .as_ref()
        .map(|value| {
            std::env::split_paths(value)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    let (candidates, from) = if listed.is_empty() {
        let default = home
            .map(|h| h.join(".kube").join("config"))
            .ok_or_else(|| DiscoveryError::NoKubeconfig {
                tried: "~/.kube/config (no home directory, and KUBECONFIG is not set)".to_string(),
            })?;
        (vec![default], "~/.kube/config")
    } else {
        (listed, crate::env_vars::KUBECONFIG)
    };
    let files: Vec<PathBuf> = candidates.iter().filter(|p| p.exists()).cloned().collect();
    if files.is_empty() {
        let shown = candidates
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let tried = if from == "~/.kube/config" {
            format!("{shown} (KUBECONFIG is not set)")
        } else {
            format!("{shown} (from KUBECONFIG)")
        };
        return Err(DiscoveryError::NoKubeconfig { tried });
    }
    let mut merged = Kubeconfig::default();
    for file in &files {
        let one = Kubeconfig::read_from(file).map_err(|e| DiscoveryError::Kubeconfig {
            detail: format!("{}: {}", file.display(), one_line(&e.to_string())),
        })?;
        merged = merged.merge(one).map_err(|e| DiscoveryError::Kubeconfig {
            detail: format!("{}: {e}", file.display()),
        })?;
    }
    Ok((merged, KubeconfigSource { files, from }))
}

/// The context to use and its cluster's server, checked against the kubeconfig.
fn choose_context(
    kubeconfig: &Kubeconfig,
    source: &KubeconfigSource,
    wanted: Option<&str>,
) -> Result<KubeContext, DiscoveryError> {
    let names: Vec<String> = kubeconfig.contexts.iter().map(|c| c.name.clone()).collect();
    let name = match wanted.or(kubeconfig.current_context.as_deref()) {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => {
            return Err(DiscoveryError::NoCurrentContext {
                kubeconfig: files_text(source),
                contexts: names,
            });
        }
    };
    let Some(context) = kubeconfig.contexts.iter().find(|c| c.name == name) else {
        return Err(DiscoveryError::UnknownContext {
            name,
            given: wanted.is_some(),
            kubeconfig: files_text(source),
            contexts: names,
        });
    };
    let cluster_name = context
        .context
        .as_ref()
        .map(|c| c.cluster.clone())
        .unwrap_or_default();
    let server = kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == cluster_name)
        .and_then(|c| c.cluster.as_ref())
        .and_then(|c| c.server.clone())
        .ok_or_else(|| DiscoveryError::Kubeconfig {
            detail: format!(
                "context '{name}' names cluster '{cluster_name}', which has no server in {}",
                files_text(source)
            ),
        })?;
    Ok(KubeContext {
        name,
        server,
        kubeconfig: source.clone(),
    })
}

pub(super) fn files_text(source: &KubeconfigSource) -> String {
    source
        .files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first non-empty line of a message (YAML errors carry a snippet below it).
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default()
        .to_string()
}

/// The kube context that a lookup would use, without asking the cluster.
pub fn context(
    kubeconfig_env: Option<OsString>,
    home: Option<PathBuf>,
    wanted: Option<&str>,
) -> Result<(Kubeconfig, KubeContext), DiscoveryError> {
    let (kubeconfig, source) = load_kubeconfig(kubeconfig_env, home)?;
    let context = choose_context(&kubeconfig, &source, wanted)?;
    Ok((kubeconfig, context))
}

/// Reads the ConfigMap's `data` through the cluster's API. `Ok(None)` when the cluster
/// has no such ConfigMap.
pub async fn read_config_map(
    kubeconfig: Kubeconfig,
    context: &KubeContext,
) -> Result<Option<BTreeMap<String, String>>, DiscoveryError> {
    let lookup = async {
        let options = KubeConfigOptions {
            context: Some(context.name.clone()),
            ..KubeConfigOptions::default()
        };
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| DiscoveryError::Kubeconfig {
                detail: format!(
                    "{} in {}: {}",
                    context.describe(),
                    files_text(&context.kubeconfig),
                    error_text(&e)
                ),
            })?;
        config.connect_timeout = Some(API_TIMEOUT);
        config.read_timeout = Some(API_TIMEOUT);
        config.write_timeout = Some(API_TIMEOUT);
        let client = Client::try_from(config).map_err(|e| DiscoveryError::Kubeconfig {
            detail: format!("{}: {}", context.describe(), error_text(&e)),
        })?;
        let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
        match api.get_opt(CONFIG_MAP).await {
            Ok(found) => Ok(found.map(|cm| cm.data.unwrap_or_default())),
            Err(kube::Error::Api(status)) => Err(DiscoveryError::Refused {
                context: context.describe(),
                status: status.code,
                message: if status.message.is_empty() {
                    status.reason.clone()
                } else {
                    status.message.clone()
                },
            }),
            Err(other) => Err(DiscoveryError::Unreachable {
                context: context.describe(),
                reason: error_text(&other),
            }),
        }
    };
    match tokio::time::timeout(API_TIMEOUT + Duration::from_secs(2), lookup).await {
        Ok(result) => result,
        Err(_) => Err(DiscoveryError::Unreachable {
            context: context.describe(),
            reason: format!("no answer within {} s", API_TIMEOUT.as_secs()),
        }),
    }
}

/// A short reason for a kube error: its innermost cause, which says what happened
/// (`connection refused`, a TLS or exec-plugin failure); the outer ones only say that
/// the request failed.
fn error_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = err;
    while let Some(inner) = innermost.source() {
        innermost = inner;
    }
    let text = one_line(&innermost.to_string());
    // `Connection refused (os error 111)`: the errno adds nothing.
    let text = match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => text[..i].to_string(),
        _ => text,
    };
    if text.is_empty() {
        one_line(&err.to_string())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_CONTEXTS: &str = "apiVersion: v1\n\
kind: Config\n\
current-context: a\n\
clusters:\n\
- name: ca\n  cluster:\n    server: https://127.0.0.1:6443\n\
- name: cb\n  cluster:\n    server: https://127.0.0.1:7443\n\
contexts:\n\
- name: a\n  context:\n    cluster: ca\n    user: u\n\
- name: b\n  context:\n    cluster: cb\n    user: u\n\
users:\n\
- name: u\n  user:\n    token: t\n";

    #[test]
    fn kubeconfig_list_skips_missing_files_and_first_wins() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("first");
        let second = dir.path().join("second");
        std::fs::write(&first, "current-context: b\n").unwrap();
        std::fs::write(&second, TWO_CONTEXTS).unwrap();
        let list = std::env::join_paths([
            dir.path().join("missing"),
            first.clone(),
            PathBuf::new(),
            second.clone(),
        ])
        .unwrap();
        let (_, context) = context(Some(list), None, None).unwrap();
        assert_eq!(context.name, "b");
        assert_eq!(context.server, "https://127.0.0.1:7443");
        assert_eq!(context.kubeconfig.files, vec![first, second]);
        assert_eq!(context.kubeconfig.from, "KUBECONFIG");
    }

    #[test]
    fn home_kube_config_when_kubeconfig_is_unset_or_empty() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".kube")).unwrap();
        std::fs::write(home.path().join(".kube/config"), TWO_CONTEXTS).unwrap();
        for env in [None, Some(OsString::new())] {
            let (_, context) = context(env, Some(home.path().to_path_buf()), None).unwrap();
            assert_eq!(context.name, "a");
            assert_eq!(context.kubeconfig.from, "~/.kube/config");
        }
        let (_, b) = context(None, Some(home.path().to_path_buf()), Some("b")).unwrap();
        assert_eq!(b.describe(), "kube context 'b' (https://127.0.0.1:7443)");
    }

    #[test]
    fn errors_name_what_was_tried() {
        let home = tempfile::tempdir().unwrap();
        let err = context(None, Some(home.path().to_path_buf()), None).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(".kube/config (KUBECONFIG is not set)"),
            "{text}"
        );

        let missing = home.path().join("nope");
        let err = context(Some(missing.clone().into()), None, None).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("{} (from KUBECONFIG)", missing.display())),
            "{err}"
        );

        let file = home.path().join("config");
        std::fs::write(&file, TWO_CONTEXTS).unwrap();
        let err = context(Some(file.clone().into()), None, Some("c")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("'c'"), "{text}");
        assert!(text.contains("a, b"), "{text}");

        std::fs::write(&file, TWO_CONTEXTS.replace("current-context: a\n", "")).unwrap();
        let err = context(Some(file.clone().into()), None, None).unwrap_err();
        assert!(err.to_string().contains("--kube-context"), "{err}");

        std::fs::write(&file, "clusters: [\n").unwrap();
        let err = context(Some(file.into()), None, None).unwrap_err();
        assert!(!err.to_string().contains('\n'), "{err}");
    }
}
