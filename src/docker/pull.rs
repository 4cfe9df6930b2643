//! Getting an image into the daemon (SPEC §7.2): pull policy, resolution through
//! registry mirrors, the pull itself with progress and only that host's credentials,
//! and renaming so the daemon only ever shows the original name.

use anyhow::Context;
use bollard::auth::DockerCredentials;
use bollard::errors::Error as BollardError;
use bollard::query_parameters::{
    CreateImageOptionsBuilder, RemoveImageOptionsBuilder, TagImageOptionsBuilder,
};
use futures_util::StreamExt;

use super::progress::Progress;
use super::{Daemon, DockerError, Fetched, Made, load, message};
use crate::config::PullPolicy;
use crate::credentials::{self, Credential, DOCKER_HUB_AUTH_KEY};
use crate::lifecycle::daemon_name;
use crate::reference::{ImageRef, Registry};
use crate::registry::{CandidateStatus, Resolver};
use crate::ui::Ui;

/// Why the daemon could not pull.
pub(crate) enum PullFailure {
    /// The daemon would not talk to the registry: it answered plain HTTP to the daemon's
    /// HTTPS (`http: server gave HTTP response to HTTPS client`) ...
    PlainHttp(String),
    /// ... or its certificate is not trusted by the daemon (`x509: ...`).
    Certificate(String),
    Other(String),
}

/// Sorts the daemon's pull error into the transport refusals cnb can work around and the rest.
pub(crate) fn classify(text: &str) -> PullFailure {
    let lower = text.to_ascii_lowercase();
    if lower.contains("server gave http response to https client") {
        PullFailure::PlainHttp(text.to_string())
    } else if lower.contains("x509:")
        || lower.contains("certificate signed by unknown authority")
        || lower.contains("tls: ")
        || lower.contains("certificate is not valid")
    {
        PullFailure::Certificate(text.to_string())
    } else {
        PullFailure::Other(text.to_string())
    }
}

/// The `repository` and `tag` arguments for `docker tag` of `image`'s daemon name
/// ([`daemon_name`]: its own tag, or the digest tag for a pinned reference).
fn repo_and_tag(image: &ImageRef) -> (String, String) {
    let name = daemon_name(image);
    // The daemon name always ends in `:<tag>`, and a tag has no '/'.
    match name.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo.to_string(), tag.to_string()),
        _ => (name, "latest".to_string()),
    }
}

/// Credentials for `registry` only, as the daemon wants them in `X-Registry-Auth`.
fn docker_credentials(registry: &Registry, ui: &Ui) -> Option<DockerCredentials> {
    let server = if registry.is_docker_hub() {
        DOCKER_HUB_AUTH_KEY.to_string()
    } else {
        registry.key()
    };
    match credentials::lookup(registry) {
        Ok(Some(Credential::Basic { username, password })) => Some(DockerCredentials {
            username: Some(username),
            password: Some(password),
            serveraddress: Some(server),
            ..Default::default()
        }),
        Ok(Some(Credential::Token(token))) => Some(DockerCredentials {
            identitytoken: Some(token),
            serveraddress: Some(server),
            ..Default::default()
        }),
        Ok(None) => None,
        Err(e) => {
            ui.warn(format!(
                "cannot read the credentials for {registry}: {e:#}; pulling anonymously"
            ));
            None
        }
    }
}

pub(crate) async fn fetch(
    daemon: &Daemon,
    resolver: &Resolver,
    image: &ImageRef,
    policy: PullPolicy,
    ui: &Ui,
) -> anyhow::Result<Fetched> {
    let name = image.to_string();
    if policy != PullPolicy::Always {
        if daemon.image_info(&daemon_name(image)).await?.is_some() {
            ui.verbose(
                1,
                format!(
                    "{name} is in the Docker daemon; not pulling (pull policy {})",
                    policy.as_str()
                ),
            );
            return Ok(Fetched {
                image: image.clone(),
                location: None,
                loaded_by_cnb: false,
            });
        }
        if policy == PullPolicy::Never {
            anyhow::bail!(
                "image {name} is not in the Docker daemon and the pull policy is 'never'; pull it first (docker pull {name}) or use --pull-policy if-not-present"
            );
        }
    }

    // The resolver reports its choice itself ("Using mirror ... for ..."), once per image.
    let resolution = resolver.resolve(image).await;
    let Some(chosen) = resolution.chosen() else {
        return Err(match resolution.error() {
            Some(error) => error.into(),
            None => anyhow::anyhow!("could not fetch {name}: no location was chosen"),
        });
    };
    // The chosen candidate answered the probe, but the daemon may still fail to pull
    // from it (an answer the daemon does not accept, credentials it is not given): then
    // the later candidates that were not seen to fail are tried in order.
    let mut locations = vec![chosen.location.clone()];
    locations.extend(
        resolution
            .candidates
            .iter()
            .skip_while(|c| c.status != CandidateStatus::Chosen)
            .skip(1)
            .filter(|c| c.failure().is_none())
            .map(|c| c.location.clone()),
    );
    let mut failures = Vec::new();
    for (i, location) in locations.iter().enumerate() {
        match fetch_from(daemon, resolver, image, location, ui).await {
            Ok(fetched) => return Ok(fetched),
            Err(e) => {
                let reason = format!("{e:#}");
                if let Some(next) = locations.get(i + 1) {
                    ui.warn(format!(
                        "could not pull {name} from {location}: {reason}; trying {next}"
                    ));
                }
                failures.push((location.clone(), e));
            }
        }
    }
    // Only the last failure is returned whole; the earlier ones were printed.
    match failures.pop() {
        Some((_, e)) if failures.is_empty() => Err(e),
        Some((location, e)) => Err(e.context(format!(
            "could not pull {name} from any location; the last tried was {location}"
        ))),
        None => Err(anyhow::anyhow!(
            "could not fetch {name}: no location to pull from"
        )),
    }
}

/// Pulls `image` from `location` and names it `image`. Until it is renamed, an image
/// pulled from a mirror is in the daemon under the mirror's name: removed by the
/// command's cleanup if a signal comes first, and here if anything fails.
async fn fetch_from(
    daemon: &Daemon,
    resolver: &Resolver,
    image: &ImageRef,
    location: &ImageRef,
    ui: &Ui,
) -> anyhow::Result<Fetched> {
    let name = image.to_string();
    let headline = if location == image {
        format!("Pulling {name}")
    } else {
        format!("Pulling {name} from {location}")
    };
    if location == image {
        return pull_and_rename(daemon, resolver, image, location, &headline, ui).await;
    }
    let mirror_name = location.to_string();
    daemon.track(Made::ImageName, &mirror_name);
    let fetched = pull_and_rename(daemon, resolver, image, location, &headline, ui).await;
    if fetched.is_err() {
        let _ = remove_name(daemon, &mirror_name).await;
    }
    daemon.forget(Made::ImageName, &mirror_name);
    fetched
}

/// Pulls `location` (falling back to cnb's own fetch-and-load where the daemon refuses
/// a registry cnb may use) and names the result `image`.
async fn pull_and_rename(
    daemon: &Daemon,
    resolver: &Resolver,
    image: &ImageRef,
    location: &ImageRef,
    headline: &str,
    ui: &Ui,
) -> anyhow::Result<Fetched> {
    let name = image.to_string();
    let location = location.clone();
    match pull(daemon, &location, headline, ui).await? {
        None => {}
        Some(failure) => {
            let registry = location.registry();
            let transport = resolver.transport(registry).await;
            let (detail, allowed, what, why) = match failure {
                PullFailure::PlainHttp(d) => (
                    d,
                    transport.allow_http,
                    "plain HTTP to",
                    "cnb may use plain HTTP with it (an insecure registry or an http:// mirror)",
                ),
                PullFailure::Certificate(d) => (
                    d,
                    transport.skip_tls_verify,
                    "the certificate of",
                    "it is an insecure registry for cnb",
                ),
                PullFailure::Other(d) => {
                    return Err(DockerError::Api(format!("cannot pull {location}: {d}")).into());
                }
            };
            if !allowed {
                return Err(DockerError::RegistryRefused {
                    host: registry.key(),
                    detail,
                }
                .into());
            }
            ui.status(format!(
                "The Docker daemon refused {what} {registry} ({detail}); {why}, so cnb fetches {name} itself and loads it into the daemon"
            ));
            load::fetch_and_load(daemon, resolver, image, &location, ui)
                .await
                .with_context(|| {
                    format!("cannot load {name} from {location} into the Docker daemon")
                })?;
            return Ok(Fetched {
                image: image.clone(),
                location: Some(location),
                loaded_by_cnb: true,
            });
        }
    }

    // A pull by digest leaves only the digest under the pulled name: give the image its
    // daemon name (from a mirror, also drop the mirror's name).
    if &location != image || image.digest().is_some() {
        rename(daemon, &location, image, ui).await?;
    }
    Ok(Fetched {
        image: image.clone(),
        location: Some(location),
        loaded_by_cnb: false,
    })
}

/// Pulls `location` with progress under `headline`. `Ok(Some(_))` when the daemon refused the pull.
pub(crate) async fn pull(
    daemon: &Daemon,
    location: &ImageRef,
    headline: &str,
    ui: &Ui,
) -> Result<Option<PullFailure>, DockerError> {
    let from = location.to_string();
    let credentials = docker_credentials(location.registry(), ui);
    let options = CreateImageOptionsBuilder::default()
        .from_image(&from)
        .build();
    let mut progress = Progress::new(ui, headline);
    let mut stream = daemon.client.create_image(Some(options), None, credentials);
    let mut failure = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => progress.pull_message(&info),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    progress.finish();
    match failure {
        None => {
            ui.verbose(1, format!("Pulled {from}"));
            Ok(None)
        }
        Some(
            e @ (BollardError::DockerResponseServerError { .. }
            | BollardError::DockerStreamError { .. }),
        ) => Ok(Some(classify(&message(&e)))),
        Some(e) => Err(DockerError::api(format!("cannot pull {from}"), &e)),
    }
}

/// Tags the pulled `location` with `image`'s daemon name and, when `location` is a
/// mirror's, removes that name (the content stays).
async fn rename(
    daemon: &Daemon,
    location: &ImageRef,
    image: &ImageRef,
    ui: &Ui,
) -> Result<(), DockerError> {
    let from = location.to_string();
    let (repo, tag) = repo_and_tag(image);
    let options = TagImageOptionsBuilder::default()
        .repo(&repo)
        .tag(&tag)
        .build();
    daemon
        .client
        .tag_image(&from, Some(options))
        .await
        .map_err(|e| DockerError::api(format!("cannot tag {from} as {repo}:{tag}"), &e))?;
    if location != image {
        remove_name(daemon, &from).await?;
        ui.verbose(
            1,
            format!("Tagged {from} as {repo}:{tag} and removed the mirror's name"),
        );
    } else {
        ui.verbose(1, format!("Tagged {from} as {repo}:{tag}"));
    }
    Ok(())
}

/// Removes an image name, not the content under other names (`--no-prune`); a name that
/// is not there is no error.
pub(super) async fn remove_name(daemon: &Daemon, name: &str) -> Result<(), DockerError> {
    let options = RemoveImageOptionsBuilder::default()
        .noprune(true)
        .force(false)
        .build();
    match daemon.client.remove_image(name, Some(options), None).await {
        Ok(_) => Ok(()),
        Err(e) if super::is_not_found(&e) => Ok(()),
        Err(e) => Err(DockerError::api(
            format!("cannot remove the mirror's name {name}"),
            &e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_refusals_are_recognised() {
        let http =
            "Get \"https://198.18.0.2:5000/v2/\": http: server gave HTTP response to HTTPS client";
        assert!(matches!(classify(http), PullFailure::PlainHttp(_)));
        let tls = "Get \"https://reg:5000/v2/\": x509: certificate signed by unknown authority";
        assert!(matches!(classify(tls), PullFailure::Certificate(_)));
        let missing = "manifest for reg:5000/app:1 not found: manifest unknown";
        assert!(matches!(classify(missing), PullFailure::Other(_)));
    }
}
