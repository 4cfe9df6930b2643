//! What a build behind a corporate network adds to the lifecycle's containers (SPEC §9),
//! applied to the creator or the phases after they are laid out:
//!
//! - **proxies**: `HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY` as set, in both spellings, in
//!   every container (as pack's `WithLifecycleProxy`); a proxy on loopback makes the
//!   network `host` when cnb picks it, because the containers must reach it;
//! - **registry CAs**: the CA files of the registries the lifecycle reaches are copied
//!   into every container under [`CA_DIR`] (as cnb's other inputs are: owned by the
//!   builder's user, so the file's mode on the host does not matter, and a remote daemon
//!   gets them too), and `SSL_CERT_DIR` lists that directory after the image's own
//!   (`SSL_CERT_DIR` from the image, else Go's default `/etc/ssl/certs:/etc/pki/tls/certs`).
//!   Go's crypto/x509 on Linux reads its bundle file (`SSL_CERT_FILE` or the first of the
//!   distribution bundles) *and* every file of every `SSL_CERT_DIR` directory, so the
//!   image's own roots are kept and the CA is added. Go has no per-host roots: inside the
//!   lifecycle the CA is trusted for any host, which is why only the CAs of the registries
//!   it reaches are given;
//! - **volumes** (`--volume`): bound into the creator, and of the phases only into detect
//!   and build (the builder's own code), as pack does;
//! - **buildpacks** from `project.toml`: an order of the builder's own buildpacks, written
//!   to [`ORDER_PATH`] and passed as `-order` to the creator or the detector.

use std::collections::BTreeMap;

use super::creator::name_safe;
use super::phases::Phase;
use super::volumes::Volume;
use super::{ContainerSpec, Execution};
use crate::ca::RegistryCa;
use crate::env_vars::lifecycle::SSL_CERT_DIR;
use crate::project::AppFilter;
use crate::proxy::ProxySettings;
use crate::reference::Registry;

/// Where the registry CAs are copied in each container.
pub const CA_DIR: &str = "/platform/cnb/registry-ca";
/// Go's default certificate directories on Linux (crypto/x509 `certDirectories`).
pub const GO_CERT_DIRS: &str = "/etc/ssl/certs:/etc/pki/tls/certs";
/// The order cnb writes for buildpacks named in `project.toml`.
pub const ORDER_PATH: &str = "/platform/cnb/order.toml";

/// The additions, gathered by the build.
#[derive(Debug, Clone, Default)]
pub struct Extras<'a> {
    pub proxy: Option<&'a ProxySettings>,
    /// Every CA in effect; only those of registries the lifecycle reaches are given.
    pub cas: &'a [RegistryCa],
    /// The builder image's environment (`K=V`), for its own `SSL_CERT_DIR`.
    pub builder_env: &'a [String],
    /// The lifecycle image's environment, for the phases that run from it.
    pub lifecycle_image_env: &'a [String],
    pub volumes: &'a [Volume],
    /// `order.toml` content for the builder's buildpacks chosen by `project.toml`.
    pub order: Option<String>,
    /// `project.toml`'s include or exclude, for the container that gets the app.
    pub filter: Option<&'a AppFilter>,
}

/// Applies `extras` to the containers of `execution`.
pub fn apply(execution: &mut Execution, extras: &Extras<'_>) {
    let proxy_env = extras
        .proxy
        .map(ProxySettings::lifecycle_env)
        .unwrap_or_default();
    let loopback_proxy = extras.proxy.and_then(ProxySettings::loopback_proxy);
    match execution {
        Execution::Creator(creator) => {
            let cas = ca_files(extras.cas, &creator.registries);
            let spec = &mut creator.spec;
            add_common(spec, &proxy_env, &cas, extras.builder_env);
            spec.app_filter = extras.filter.cloned();
            spec.binds.extend(extras.volumes.iter().map(Volume::bind));
            if let Some(order) = &extras.order {
                add_order(spec, order);
            }
            if spec.network.is_none()
                && let Some(proxy) = &loopback_proxy
            {
                spec.network = Some("host".to_string());
                creator.network_reason = Some(proxy_reason(proxy));
            }
        }
        Execution::Phases(phases) => {
            let cas = ca_files(extras.cas, &phases.registries);
            let pick_network = phases.network.is_none() && loopback_proxy.is_some();
            for container in &mut phases.containers {
                let image_env = if container.phase.in_lifecycle_image() {
                    extras.lifecycle_image_env
                } else {
                    extras.builder_env
                };
                add_common(&mut container.spec, &proxy_env, &cas, image_env);
                if container.spec.app_dir.is_some() {
                    container.spec.app_filter = extras.filter.cloned();
                }
                if matches!(container.phase, Phase::Detect | Phase::Build) {
                    container
                        .spec
                        .binds
                        .extend(extras.volumes.iter().map(Volume::bind));
                }
                if container.phase == Phase::Detect
                    && let Some(order) = &extras.order
                {
                    add_order(&mut container.spec, order);
                }
                if pick_network {
                    container.spec.network = Some("host".to_string());
                }
            }
            if let (true, Some(proxy)) = (pick_network, &loopback_proxy) {
                phases.network = Some("host".to_string());
                phases.network_reason = Some(proxy_reason(proxy));
            }
        }
    }
}

fn proxy_reason(proxy: &str) -> String {
    format!("the lifecycle must reach the proxy {proxy}, which is on loopback")
}

/// `(path in the container, PEM)` for each CA of a reached registry.
fn ca_files(cas: &[RegistryCa], reached: &[Registry]) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = Vec::new();
    for ca in cas {
        if !reached.iter().any(|r| ca.covers(r)) {
            continue;
        }
        let name = name_safe(&ca.registry.key());
        let path = format!("{CA_DIR}/{}-{name}.crt", files.len() + 1);
        files.push((path, ca.pem()));
    }
    files
}

fn add_common(
    spec: &mut ContainerSpec,
    proxy_env: &BTreeMap<String, String>,
    cas: &[(String, String)],
    image_env: &[String],
) {
    spec.env
        .extend(proxy_env.iter().map(|(k, v)| (k.clone(), v.clone())));
    if cas.is_empty() {
        return;
    }
    for (path, pem) in cas {
        spec.files.insert(path.clone(), pem.clone());
    }
    let own = image_env
        .iter()
        .find_map(|kv| kv.strip_prefix(&format!("{SSL_CERT_DIR}=")))
        .filter(|v| !v.is_empty())
        .unwrap_or(GO_CERT_DIRS);
    spec.env
        .insert(SSL_CERT_DIR.to_string(), format!("{own}:{CA_DIR}"));
}

fn add_order(spec: &mut ContainerSpec, order: &str) {
    spec.files.insert(ORDER_PATH.to_string(), order.to_string());
    spec.command
        .splice(1..1, ["-order".to_string(), ORDER_PATH.to_string()]);
}

/// The `order.toml` of one group of the builder's buildpacks, `(id, version)` in order.
pub fn order_toml(group: &[(String, String)]) -> String {
    let mut doc = toml_edit::DocumentMut::new();
    let mut entries = toml_edit::ArrayOfTables::new();
    for (id, version) in group {
        let mut table = toml_edit::Table::new();
        table["id"] = toml_edit::value(id.as_str());
        table["version"] = toml_edit::value(version.as_str());
        entries.push(table);
    }
    let mut order = toml_edit::Table::new();
    order["group"] = toml_edit::Item::ArrayOfTables(entries);
    let mut orders = toml_edit::ArrayOfTables::new();
    orders.push(order);
    doc["order"] = toml_edit::Item::ArrayOfTables(orders);
    doc.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::creator::tests::Facts;
    use crate::lifecycle::{PhasesInputs, phases_spec};

    fn proxy() -> ProxySettings {
        ProxySettings {
            http: None,
            https: Some("http://me:pa55@127.0.0.1:3128".into()),
            no_proxy: Some("corp.example".into()),
        }
    }

    fn ca(registry: &str) -> RegistryCa {
        RegistryCa {
            registry: Registry::parse(registry).unwrap(),
            path: "/etc/corp/ca.pem".into(),
            certificates: vec![vec![1, 2, 3]],
        }
    }

    fn volume() -> Volume {
        Volume {
            source: "/home/me/db".into(),
            target: "/platform/bindings/db".into(),
            read_write: false,
        }
    }

    #[test]
    fn the_creator_gets_proxies_cas_of_reached_registries_volumes_and_the_order() {
        let mut f = Facts::daemon();
        f.output = crate::lifecycle::creator::tests::img("registry.corp.example:5000/app");
        let mut execution = Execution::Creator(f.creator());
        let proxy = proxy();
        let cas = [ca("registry.corp.example"), ca("elsewhere.example")];
        let volumes = [volume()];
        let env = [
            "PATH=/bin".to_string(),
            "SSL_CERT_DIR=/opt/certs".to_string(),
        ];
        apply(
            &mut execution,
            &Extras {
                proxy: Some(&proxy),
                cas: &cas,
                builder_env: &env,
                volumes: &volumes,
                order: Some(order_toml(&[("a/b".into(), "1.0".into())])),
                ..Extras::default()
            },
        );
        let Execution::Creator(c) = execution else {
            unreachable!()
        };
        let spec = &c.spec;
        assert_eq!(spec.env["HTTPS_PROXY"], "http://me:pa55@127.0.0.1:3128");
        assert_eq!(spec.env["https_proxy"], spec.env["HTTPS_PROXY"]);
        assert_eq!(spec.env["no_proxy"], "corp.example");
        assert!(!spec.env.contains_key("HTTP_PROXY"));
        assert_eq!(
            spec.env["SSL_CERT_DIR"],
            "/opt/certs:/platform/cnb/registry-ca"
        );
        let cas: Vec<&String> = spec
            .files
            .keys()
            .filter(|k| k.starts_with(CA_DIR))
            .collect();
        assert_eq!(
            cas,
            ["/platform/cnb/registry-ca/1-registry.corp.example.crt"]
        );
        assert!(
            spec.binds
                .contains(&"/home/me/db:/platform/bindings/db:ro".to_string())
        );
        assert_eq!(spec.command[1..3], ["-order", ORDER_PATH]);
        assert!(spec.files[ORDER_PATH].contains("id = \"a/b\""));
        assert_eq!(spec.network.as_deref(), Some("host"));
        assert!(c.network_reason.unwrap().contains("127.0.0.1:3128"));
        // Shown values hide the password.
        assert!(!spec.redacted_env()["HTTPS_PROXY"].contains("pa55"));
    }

    #[test]
    fn phases_get_volumes_only_in_detect_and_build_and_the_order_only_in_detect() {
        let f = Facts::daemon();
        let inputs = f.creator_inputs();
        let lifecycle = crate::lifecycle::creator::tests::img("buildpacksio/lifecycle:0.21.17");
        let mut execution = Execution::Phases(phases_spec(&PhasesInputs {
            common: inputs,
            lifecycle_image: &lifecycle,
            layers_volume: "l",
            app_volume: "a",
        }));
        let volumes = [volume()];
        let cas = [ca("docker.io")];
        apply(
            &mut execution,
            &Extras {
                cas: &cas,
                volumes: &volumes,
                order: Some(order_toml(&[("a/b".into(), "1.0".into())])),
                ..Extras::default()
            },
        );
        let Execution::Phases(p) = execution else {
            unreachable!()
        };
        for container in &p.containers {
            let has_volume = container.spec.binds.iter().any(|b| b.contains("bindings"));
            let builders = matches!(container.phase, Phase::Detect | Phase::Build);
            assert_eq!(has_volume, builders, "{}", container.phase);
            let has_order = container.spec.command.iter().any(|a| a == "-order");
            assert_eq!(has_order, container.phase == Phase::Detect);
            // Docker Hub is reached (the run image), so every phase gets its CA.
            assert_eq!(
                container.spec.env["SSL_CERT_DIR"],
                "/etc/ssl/certs:/etc/pki/tls/certs:/platform/cnb/registry-ca"
            );
            assert_eq!(container.spec.network, None);
        }
    }
}
