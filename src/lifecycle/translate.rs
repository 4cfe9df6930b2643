//! What the lifecycle is told about registries, whichever way it runs (the creator, or
//! the phases): the registries it will reach, which of them are insecure, the mirrors and
//! credentials it gets, and the network (SPEC §7.7).
//!
//! "The registries the lifecycle will reach" are the registries of the names it is
//! given (the output image and `-run-image`) plus, for each of those, the registry
//! mirror chosen for it. In daemon mode the lifecycle reads and writes images through
//! the Docker socket, but it is still told these names, so the insecure, mirror and
//! network settings are made consistent for them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use base64::Engine as _;

use super::creator::CreatorInputs;
use super::platform_api::ApiVersion;
use crate::credentials::Credential;
use crate::env_vars::lifecycle::{
    CNB_INSECURE_REGISTRIES, CNB_PLATFORM_API, CNB_REGISTRY_MIRRORS, DOCKER_API_VERSION,
};
use crate::reference::{ImageRef, Mirror, Registry, Scheme};

/// The translated settings, computed once per build.
#[derive(Debug, Clone)]
pub(crate) struct Translation {
    /// `-run-image`: the chosen run image in daemon mode (its content came through any
    /// mirror), its fetch location with `--publish` (the lifecycle fetches it itself).
    pub run_image_arg: ImageRef,
    /// The registries the lifecycle will reach, sorted by [`Registry::key`].
    pub registries: Vec<Registry>,
    /// Hosts for `CNB_INSECURE_REGISTRIES` and `-insecure-registry`, spelled as the
    /// lifecycle sees them.
    pub insecure: BTreeSet<String>,
    /// `CNB_PLATFORM_API`, `CNB_INSECURE_REGISTRIES`, `CNB_REGISTRY_MIRRORS`.
    pub env: BTreeMap<String, String>,
    /// What only a container with the Docker socket gets (`DOCKER_API_VERSION`).
    pub daemon_env: BTreeMap<String, String>,
    /// `CNB_REGISTRY_AUTH` with `--publish` (JSON), when any reached registry has credentials.
    pub auth: Option<String>,
    pub network: Option<String>,
    pub network_reason: Option<String>,
    pub warnings: Vec<String>,
    platform_api: ApiVersion,
}

impl Translation {
    pub(crate) fn new(inputs: &CreatorInputs<'_>) -> Translation {
        let run_image_arg = if inputs.publish {
            inputs.run_image_fetch
        } else {
            inputs.run_image
        };
        let mut warnings = Vec::new();
        if inputs.publish && inputs.run_image_fetch != inputs.run_image {
            warnings.push(format!(
                "the run image is read from {}: its registry {} will be recorded in the image's runImage.reference, \
                 because the lifecycle cannot fetch through a mirror by itself",
                inputs.run_image_fetch,
                inputs.run_image_fetch.registry()
            ));
        }
        let (reached, mirrors) = reached_registries(
            inputs.output,
            run_image_arg,
            inputs.publish,
            inputs.chosen_mirrors,
        );

        // Hosts cnb itself reaches over plain HTTP (`http://` mirrors) must be plain HTTP
        // for the lifecycle too, wherever they are.
        let plain_http: BTreeSet<String> = inputs
            .chosen_mirrors
            .iter()
            .filter(|(_, mirror)| mirror.scheme() == Scheme::Http)
            .map(|(_, mirror)| mirror.registry().key())
            .collect();
        let no_ips: Vec<IpAddr> = Vec::new();
        let insecure: BTreeSet<String> = reached
            .iter()
            .filter(|(key, r)| {
                let ips = inputs.resolved.get(r.registry.host()).unwrap_or(&no_ips);
                plain_http.contains(*key)
                    || inputs.insecure.iter().any(|e| e.matches(&r.registry, ips))
            })
            .map(|(_, r)| r.spelling.clone())
            .filter(|spelling| !spelling.is_empty())
            .collect();

        let mut env = BTreeMap::new();
        env.insert(
            CNB_PLATFORM_API.to_string(),
            inputs.platform_api.to_string(),
        );
        if !insecure.is_empty() {
            env.insert(
                CNB_INSECURE_REGISTRIES.to_string(),
                insecure.iter().cloned().collect::<Vec<_>>().join(","),
            );
        }
        if !mirrors.is_empty() {
            let value = mirrors
                .iter()
                .map(|(registry, mirror)| format!("{registry}={}", mirror.url()))
                .collect::<Vec<_>>()
                .join(";");
            env.insert(CNB_REGISTRY_MIRRORS.to_string(), value);
        }
        let mut daemon_env = BTreeMap::new();
        if let (false, Some(version)) = (inputs.publish, inputs.docker_api_version) {
            daemon_env.insert(DOCKER_API_VERSION.to_string(), version.to_string());
        }
        let auth = inputs.publish.then(|| {
            reached
                .iter()
                .filter_map(|(key, registry)| {
                    inputs
                        .credentials
                        .get(&registry.registry)
                        .map(|c| (key.clone(), authorization(c)))
                })
                .collect::<BTreeMap<String, String>>()
        });
        // A map of strings always serialises.
        let auth = auth
            .filter(|a| !a.is_empty())
            .map(|a| serde_json::to_string(&a).unwrap_or_default());

        let (network, network_reason) = match inputs.network {
            Some(mode) => (Some(mode.to_string()), None),
            None => match reached
                .values()
                .map(|r| &r.registry)
                .find(|r| is_loopback(r, inputs.resolved))
            {
                Some(registry) => (
                    Some("host".to_string()),
                    Some(format!(
                        "the lifecycle must reach {registry}, which is on loopback"
                    )),
                ),
                None => (None, None),
            },
        };

        Translation {
            run_image_arg: run_image_arg.clone(),
            registries: reached.into_values().map(|r| r.registry).collect(),
            insecure,
            env,
            daemon_env,
            auth,
            network,
            network_reason,
            warnings,
            platform_api: inputs.platform_api,
        }
    }

    /// `-insecure-registry <host>` for each insecure host, from platform API 0.13 (older
    /// lifecycles only read `CNB_INSECURE_REGISTRIES`).
    pub(crate) fn insecure_flags(&self) -> Vec<String> {
        if self.platform_api < ApiVersion::new(0, 13) {
            return Vec::new();
        }
        self.insecure
            .iter()
            .flat_map(|host| ["-insecure-registry".to_string(), host.clone()])
            .collect()
    }
}

fn authorization(credential: &Credential) -> String {
    match credential {
        Credential::Basic { username, password } => format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
        ),
        Credential::Token(token) => format!("Bearer {token}"),
    }
}

fn is_loopback(registry: &Registry, resolved: &HashMap<String, Vec<IpAddr>>) -> bool {
    registry.is_loopback()
        || resolved
            .get(registry.host())
            .is_some_and(|ips| !ips.is_empty() && ips.iter().all(IpAddr::is_loopback))
}

/// A registry the lifecycle will reach, with its spelling in what the lifecycle is told.
struct Reached {
    registry: Registry,
    /// How the host appears in the references the lifecycle gets: the image names are
    /// written with [`ImageRef`]'s `Display` (Docker Hub as `docker.io`), mirror URLs with
    /// [`Registry::key`]. The lifecycle matches insecure registries as string prefixes of
    /// those references, so this is the spelling `CNB_INSECURE_REGISTRIES` must use.
    spelling: String,
}

/// The registries named to the lifecycle (output image, `-run-image`) and, for each, the
/// chosen mirror it gets in `CNB_REGISTRY_MIRRORS` (never one for the output registry with
/// `--publish`: a mirror is read-only). Keyed by [`Registry::key`].
fn reached_registries<'m>(
    output: &ImageRef,
    run_image_arg: &ImageRef,
    publish: bool,
    chosen_mirrors: &'m [(Registry, Mirror)],
) -> (BTreeMap<String, Reached>, BTreeMap<String, &'m Mirror>) {
    let named: [&Registry; 2] = [output.registry(), run_image_arg.registry()];
    let mut mirrors: BTreeMap<String, &Mirror> = BTreeMap::new();
    for (registry, mirror) in chosen_mirrors {
        let is_target = publish && registry == output.registry();
        if named.contains(&registry) && !is_target && !mirror.is_same_as(registry) {
            mirrors.entry(registry.key()).or_insert(mirror);
        }
    }
    let mut reached: BTreeMap<String, Reached> = BTreeMap::new();
    let spelled = named
        .iter()
        .map(|r| (*r, r.to_string()))
        .chain(mirrors.values().map(|m| (m.registry(), m.registry().key())));
    for (registry, spelling) in spelled {
        reached.entry(registry.key()).or_insert_with(|| Reached {
            registry: registry.clone(),
            spelling,
        });
    }
    (reached, mirrors)
}

/// The registries the lifecycle will reach, sorted by [`Registry::key`]: what the build
/// should resolve host names for (the `resolved` map of [`CreatorInputs`]) and look up
/// credentials for, before calling [`super::creator_spec`] with the same arguments.
pub fn lifecycle_registries(
    output: &ImageRef,
    run_image: &ImageRef,
    run_image_fetch: &ImageRef,
    publish: bool,
    chosen_mirrors: &[(Registry, Mirror)],
) -> Vec<Registry> {
    let run_image_arg = if publish { run_image_fetch } else { run_image };
    reached_registries(output, run_image_arg, publish, chosen_mirrors)
        .0
        .into_values()
        .map(|r| r.registry)
        .collect()
}
