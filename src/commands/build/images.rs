//! The images of a build (SPEC §6, §7.2, §7.5, §7.6): the builder, the run image
//! (candidates in order, the first readable one) and the lifecycle image, each got into
//! the daemon through registry mirrors, or with `--dry-run` only resolved and read; and
//! what the lifecycle will reach (addresses, credentials).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use anyhow::Context;
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;

use super::BuildSettings;
use crate::config::PullPolicy;
use crate::credentials::{self, Credential};
use crate::docker::{Daemon, ImageInfo};
use crate::lifecycle::{self, BuilderMetadata, Readability, RunImageSelection};
use crate::reference::{ImageRef, InsecureEntry, Mirror, Registry};
use crate::registry::{Resolution, Resolver};
use crate::ui::Ui;

/// What cnb found out about one run-image candidate (SPEC §6.4).
#[derive(Debug, Clone)]
pub enum CandidateCheck {
    /// The daemon has it and the pull policy allows using its copy.
    InDaemon,
    /// Resolvable through registry mirrors (or the original registry).
    Resolvable(Arc<Resolution>),
    /// Not readable; the reason is shown to the user.
    Unreadable(String),
}

impl CandidateCheck {
    pub fn is_readable(&self) -> bool {
        !matches!(self, CandidateCheck::Unreadable(_))
    }

    /// The lifecycle module's view of it.
    pub fn readability(&self) -> Readability {
        match self {
            CandidateCheck::Unreadable(reason) => Readability::Unreadable(reason.clone()),
            _ => Readability::Readable,
        }
    }

    /// Where the content would come from: the resolution's chosen location.
    pub fn fetch(&self) -> Option<&ImageRef> {
        match self {
            CandidateCheck::Resolvable(resolution) => resolution.chosen().map(|c| &c.location),
            _ => None,
        }
    }
}

/// Why a resolution chose nothing: each candidate with its reason.
fn unresolvable(resolution: &Resolution) -> String {
    match resolution.error() {
        Some(err) => err
            .failures
            .iter()
            .map(|(location, reason)| format!("{location}: {reason}"))
            .collect::<Vec<_>>()
            .join("; "),
        None => "resolved".to_string(),
    }
}

/// Readability of one run-image candidate. With `--publish` it must resolve; in daemon
/// mode the daemon's copy also counts when the pull policy allows using it.
async fn check_candidate(
    daemon: &Daemon,
    resolver: &Resolver,
    image: &ImageRef,
    publish: bool,
    policy: PullPolicy,
) -> CandidateCheck {
    if !publish && policy != PullPolicy::Always {
        match daemon.image_info(&lifecycle::daemon_name(image)).await {
            Ok(Some(_)) => return CandidateCheck::InDaemon,
            Ok(None) if policy == PullPolicy::Never => {
                return CandidateCheck::Unreadable(
                    "not in the daemon and the pull policy is never".to_string(),
                );
            }
            Ok(None) => {}
            Err(err) => return CandidateCheck::Unreadable(err.to_string()),
        }
    }
    let resolution = resolver.resolve(image).await;
    if resolution.chosen().is_some() {
        CandidateCheck::Resolvable(resolution)
    } else {
        CandidateCheck::Unreadable(unresolvable(&resolution))
    }
}

/// Checks the candidates concurrently and takes the first readable one in order; later
/// candidates are not waited for once an earlier one is known to be readable. Returns
/// the checks in order, up to and including the first readable one.
pub async fn select_run_image(
    daemon: &Daemon,
    resolver: &Resolver,
    candidates: &[ImageRef],
    publish: bool,
    policy: PullPolicy,
) -> Vec<CandidateCheck> {
    let mut checks: FuturesOrdered<_> = candidates
        .iter()
        .map(|image| check_candidate(daemon, resolver, image, publish, policy))
        .collect();
    let mut results = Vec::new();
    while let Some(check) = checks.next().await {
        let readable = check.is_readable();
        results.push(check);
        if readable {
            break;
        }
    }
    results
}

/// Reads an image's config from its fetch location with cnb's registry client, without
/// pulling layers (what `--dry-run` uses when the daemon's copy may not be used).
pub async fn remote_image_info(
    resolver: &Resolver,
    location: &ImageRef,
) -> anyhow::Result<ImageInfo> {
    let registry = resolver.client_for(location.registry()).await?;
    let reference = crate::registry::oci_reference(location);
    let read = async {
        // The manifest read is bounded and checked as the probe's is.
        let (manifest, digest) = registry
            .image_manifest(&reference, resolver.platform())
            .await?;
        let config = registry.config(&reference, &manifest).await?;
        anyhow::Ok((digest, config))
    };
    let (digest, config) = read
        .await
        .with_context(|| format!("could not read the image config of {location}"))?;
    let config = String::from_utf8_lossy(&config);
    image_info_from_config(&config, digest)
        .with_context(|| format!("the image config of {location} is not valid JSON"))
}

/// The parts of an OCI/Docker image config cnb reads (labels, env, user).
fn image_info_from_config(config: &str, id: String) -> Result<ImageInfo, serde_json::Error> {
    #[derive(serde::Deserialize, Default)]
    struct ImageConfig {
        #[serde(default)]
        config: Option<Inner>,
    }
    #[derive(serde::Deserialize, Default)]
    struct Inner {
        #[serde(rename = "Labels", default)]
        labels: Option<HashMap<String, String>>,
        #[serde(rename = "Env", default)]
        env: Option<Vec<String>>,
        #[serde(rename = "User", default)]
        user: Option<String>,
    }
    let parsed: ImageConfig = serde_json::from_str(config)?;
    let inner = parsed.config.unwrap_or_default();
    Ok(ImageInfo {
        id,
        labels: inner.labels.unwrap_or_default(),
        env: inner.env.unwrap_or_default(),
        user: inner.user.filter(|u| !u.is_empty()),
        repo_tags: Vec::new(),
    })
}

/// How the builder or the lifecycle image is (or, with `--dry-run`, would be) obtained.
#[derive(Debug, Clone)]
pub struct FetchedImage {
    pub name: ImageRef,
    /// Where its content comes from; `None` when the daemon's copy is used.
    pub fetch: Option<ImageRef>,
    pub info: ImageInfo,
    pub resolution: Option<Arc<Resolution>>,
}

impl FetchedImage {
    /// The fetch location, or the name itself when the daemon's copy is used.
    pub fn location(&self) -> &ImageRef {
        self.fetch.as_ref().unwrap_or(&self.name)
    }
}

/// Gets `name` (the builder or the lifecycle image, `what` in messages) into the daemon
/// through mirrors by the pull policy, or, for `--dry-run`, reads its config without
/// pulling.
pub(super) async fn fetch_image(
    daemon: &Daemon,
    resolver: &Resolver,
    name: &ImageRef,
    what: &str,
    settings: &BuildSettings,
    ui: &Ui,
) -> anyhow::Result<FetchedImage> {
    let name = name.clone();
    if !settings.dry_run {
        // Probing mirrors can take up to the registry timeout: say so first.
        let present = settings.pull_policy != PullPolicy::Always
            && daemon
                .image_info(&lifecycle::daemon_name(&name))
                .await?
                .is_some();
        if !present && settings.pull_policy != PullPolicy::Never {
            ui.status(format!("Resolving {what} {name}"));
        }
        let fetched = daemon
            .fetch(resolver, &name, settings.pull_policy, ui)
            .await
            .with_context(|| format!("could not get the {what} {name}"))?;
        let info = daemon
            .image_info(&lifecycle::daemon_name(&name))
            .await?
            .with_context(|| format!("the {what} {name} is not in the daemon after fetching it"))?;
        let resolution = match fetched.location {
            Some(_) => Some(resolver.resolve(&name).await),
            None => None,
        };
        return Ok(FetchedImage {
            name,
            fetch: fetched.location,
            info,
            resolution,
        });
    }
    // Dry run: the daemon's copy when the policy would use it, else the registry's config.
    if settings.pull_policy != PullPolicy::Always {
        if let Some(info) = daemon.image_info(&lifecycle::daemon_name(&name)).await? {
            return Ok(FetchedImage {
                name,
                fetch: None,
                info,
                resolution: None,
            });
        }
        if settings.pull_policy == PullPolicy::Never {
            anyhow::bail!(
                "the {what} {name} is not in the daemon and the pull policy is never; \
                 pull it first or pass --pull-policy if-not-present"
            );
        }
    }
    ui.status(format!("Resolving {what} {name}"));
    let resolution = resolver.resolve(&name).await;
    if let Some(err) = resolution.error() {
        return Err(anyhow::Error::new(err).context(format!("could not get the {what} {name}")));
    }
    let location = resolution
        .chosen()
        .map(|c| c.location.clone())
        .unwrap_or_else(|| name.clone());
    let info = remote_image_info(resolver, &location).await?;
    Ok(FetchedImage {
        name,
        fetch: Some(location),
        info,
        resolution: Some(resolution),
    })
}

/// The run image chosen by §6, with every candidate's outcome.
#[derive(Debug, Clone)]
pub struct RunImageChoice {
    pub selection: RunImageSelection,
    pub chosen: ImageRef,
    /// Where its content comes from: the resolution's location, or the name itself when
    /// the daemon's copy is used.
    pub fetch: ImageRef,
    /// The chosen image's resolution, when it was resolved.
    pub resolution: Option<Arc<Resolution>>,
}

/// Picks the run image (§6.1–6.4) and, in daemon mode without `--dry-run`, gets it into
/// the daemon (§6.5).
pub(super) async fn run_image(
    daemon: &Daemon,
    resolver: &Resolver,
    settings: &BuildSettings,
    metadata: &BuilderMetadata,
    ui: &Ui,
) -> anyhow::Result<RunImageChoice> {
    let target = lifecycle::target_registry(&settings.image, &settings.builder, settings.publish);
    let user_mirrors = settings
        .config
        .run_image_mirrors_for(&metadata.run_image.image);
    let order = lifecycle::run_image_order(
        settings.run_image.as_ref(),
        &metadata.run_image,
        user_mirrors,
        &target,
    );
    let images: Vec<ImageRef> = order.candidates.iter().map(|c| c.image.clone()).collect();
    match images.as_slice() {
        [only] => ui.status(format!("Checking run image {only}")),
        many => ui.status(format!(
            "Checking {} run image candidates in order: {}",
            many.len(),
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
    let checks = select_run_image(
        daemon,
        resolver,
        &images,
        settings.publish,
        settings.pull_policy,
    )
    .await;
    let readability: Vec<Readability> = checks.iter().map(CandidateCheck::readability).collect();
    let selection = order.select(&readability)?;
    let chosen = selection.chosen().image.clone();
    let check = checks.last().cloned().unwrap_or(CandidateCheck::InDaemon);
    let resolution = match &check {
        CandidateCheck::Resolvable(resolution) => Some(resolution.clone()),
        _ => None,
    };
    let mut fetch = check.fetch().cloned().unwrap_or_else(|| chosen.clone());
    for (candidate, reason) in selection.passed_over() {
        ui.warn(format!(
            "run image candidate {} passed over: {reason}",
            candidate.image
        ));
    }
    ui.status(selection.summary());
    if !settings.publish && !settings.dry_run {
        let fetched = daemon
            .fetch(resolver, &chosen, settings.pull_policy, ui)
            .await
            .with_context(|| format!("could not get the run image {chosen}"))?;
        if let Some(location) = fetched.location {
            fetch = location;
        }
    }
    Ok(RunImageChoice {
        selection,
        chosen,
        fetch,
        resolution,
    })
}

/// The mirror each resolution chose, keyed by the resolved image's registry.
pub(super) fn chosen_mirrors<'a>(
    resolutions: impl IntoIterator<Item = &'a Arc<Resolution>>,
) -> Vec<(Registry, Mirror)> {
    let mut out: Vec<(Registry, Mirror)> = Vec::new();
    for resolution in resolutions {
        let Some(mirror) = resolution.chosen().and_then(|c| c.mirror.clone()) else {
            continue;
        };
        let registry = resolution.image.registry().clone();
        if !out.iter().any(|(r, _)| *r == registry) {
            out.push((registry, mirror));
        }
    }
    out
}

/// What cnb needs to know about the registries the lifecycle will reach: their addresses
/// (looked up only when a CIDR entry needs them, so a build whose insecure entries are all
/// hosts sends no DNS query of its own) and, with `--publish`, their credentials.
pub(super) async fn reach(
    settings: &BuildSettings,
    registries: &[Registry],
) -> anyhow::Result<(HashMap<String, Vec<IpAddr>>, BTreeMap<Registry, Credential>)> {
    let mut resolved: HashMap<String, Vec<IpAddr>> = HashMap::new();
    let mut credentials: BTreeMap<Registry, Credential> = BTreeMap::new();
    let has_cidr = settings
        .registry
        .insecure
        .iter()
        .any(|entry| matches!(entry, InsecureEntry::Cidr(_)));
    for registry in registries {
        if has_cidr && registry.ip().is_none() && !resolved.contains_key(registry.host()) {
            let ips = crate::registry::policy::resolve_host(registry).await;
            resolved.insert(registry.host().to_string(), ips);
        }
        if settings.publish {
            let found = credentials::lookup(registry)
                .with_context(|| format!("could not read the credentials for {registry}"))?;
            if let Some(credential) = found {
                credentials.insert(registry.clone(), credential);
            }
        }
    }
    Ok((resolved, credentials))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_config_labels_env_and_user() {
        let config = r#"{"architecture":"amd64","config":{"Labels":{"a":"b"},
            "Env":["CNB_USER_ID=1000"],"User":"1000:1001"}}"#;
        let info = image_info_from_config(config, "sha256:x".into()).unwrap();
        assert_eq!(info.labels["a"], "b");
        assert_eq!(info.env, vec!["CNB_USER_ID=1000".to_string()]);
        assert_eq!(info.user.as_deref(), Some("1000:1001"));
        let empty = image_info_from_config(r#"{"config":{}}"#, String::new()).unwrap();
        assert!(empty.labels.is_empty());
        assert!(image_info_from_config("not json", String::new()).is_err());
    }

    #[test]
    fn one_chosen_mirror_per_registry() {
        use crate::registry::{Candidate, CandidateStatus};
        let image = ImageRef::parse("127.0.0.1:5000/run:1").unwrap();
        let mirror = Mirror::parse("http://127.0.0.1:6000").unwrap();
        let candidate = |mirror: Option<Mirror>, status| Candidate {
            location: image.clone(),
            mirror,
            status,
            millis: Some(1),
        };
        let through_mirror = Arc::new(Resolution {
            image: image.clone(),
            candidates: vec![
                candidate(Some(mirror.clone()), CandidateStatus::Chosen),
                candidate(None, CandidateStatus::Unused),
            ],
            digest: None,
        });
        let original = Arc::new(Resolution {
            image: ImageRef::parse("docker.io/library/busybox").unwrap(),
            candidates: vec![candidate(None, CandidateStatus::Chosen)],
            digest: None,
        });
        let mirrors = chosen_mirrors([&through_mirror, &original, &through_mirror]);
        assert_eq!(mirrors, vec![(image.registry().clone(), mirror)]);
    }
}
