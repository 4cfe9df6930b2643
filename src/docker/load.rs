//! The fallback for registries the daemon refuses (SPEC §7.2): when the daemon will not
//! talk plain HTTP or accept a certificate for a registry that cnb's insecure list
//! allows, cnb fetches the image with its own registry client (manifest for the
//! resolver's platform, config and layer blobs) and loads it into the daemon as a
//! `docker save` archive named with the original reference.
//!
//! `docker load` accepts compressed layer blobs as they come from the registry (it
//! decompresses each layer and checks it against the config's `diff_ids`), so blobs
//! are passed through untouched.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bollard::query_parameters::ImportImageOptionsBuilder;
use futures_util::{StreamExt, TryStreamExt};
use oci_client::Reference;
use oci_client::manifest::OciDescriptor;

use super::archive::{self, SaveEntry};
use super::progress::Progress;
use super::{Daemon, DockerError};
use crate::lifecycle::daemon_name;
use crate::reference::ImageRef;
use crate::registry::{RegistryClient, Resolver};
use crate::ui::Ui;

/// Layer downloads in flight at once.
const PARALLEL_BLOBS: usize = 3;

/// A download that receives nothing for this long has stalled and is given up.
pub(crate) const STALL_LIMIT: Duration = Duration::from_secs(30);

/// When a download last received bytes, for [`no_stall`].
#[derive(Clone)]
struct LastProgress(Arc<Mutex<Instant>>);

impl LastProgress {
    fn now() -> LastProgress {
        LastProgress(Arc::new(Mutex::new(Instant::now())))
    }

    fn touch(&self) {
        if let Ok(mut at) = self.0.lock() {
            *at = Instant::now();
        }
    }

    fn idle(&self) -> Duration {
        self.0.lock().map(|at| at.elapsed()).unwrap_or_default()
    }
}

/// Runs `download`, giving up when no byte arrived for `limit` ([`STALL_LIMIT`]).
async fn no_stall<T>(
    what: &str,
    last: &LastProgress,
    limit: Duration,
    download: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let tick = (limit / 4).max(Duration::from_millis(50));
    let watch = async {
        loop {
            tokio::time::sleep(tick).await;
            if last.idle() >= limit {
                return;
            }
        }
    };
    tokio::select! {
        result = download => result,
        () = watch => bail!(
            "{what}: no data for {} s, so cnb gave up (the registry stopped sending)",
            limit.as_secs()
        ),
    }
}

/// `sha256:abc...` -> `abc...` (safe as a file name).
fn digest_hex(digest: &str) -> anyhow::Result<&str> {
    let hex = digest.split_once(':').map_or(digest, |(_, hex)| hex);
    if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_alphanumeric()) {
        bail!("the registry sent a malformed digest '{digest}'");
    }
    Ok(hex)
}

/// Downloads `layer` to `path` (at most its size, [`RegistryClient::pull_blob`]), shown in
/// `progress`, and given up when it stalls ([`no_stall`]).
async fn download(
    registry: &RegistryClient,
    reference: &Reference,
    layer: &OciDescriptor,
    path: &Path,
    progress: Arc<Mutex<Progress>>,
) -> anyhow::Result<()> {
    let file = tokio::fs::File::create(path)
        .await
        .with_context(|| format!("cannot create {}", path.display()))?;
    let id = layer.digest.clone();
    let size = u64::try_from(layer.size).ok();
    let last = LastProgress::now();
    let shown = progress.clone();
    let report = {
        let (id, last) = (id.clone(), last.clone());
        move |n| {
            last.touch();
            if let Ok(mut p) = shown.lock() {
                p.layer_update(&id, "Downloading", Some(n), size);
            }
        }
    };
    let what = format!("cannot download blob {} of {reference}", layer.digest);
    no_stall(
        &what,
        &last,
        STALL_LIMIT,
        registry.pull_blob(reference, layer, file, report),
    )
    .await?;
    if let Ok(mut p) = progress.lock() {
        p.layer_done(&id, "downloaded");
    }
    Ok(())
}

/// Fetches `location` with cnb's registry client and loads it into the daemon as `image`.
pub(crate) async fn fetch_and_load(
    daemon: &Daemon,
    resolver: &Resolver,
    image: &ImageRef,
    location: &ImageRef,
    ui: &Ui,
) -> anyhow::Result<()> {
    let registry = resolver.client_for(location.registry()).await?;
    let reference = crate::registry::oci_reference(location);
    // The manifest read is bounded and checked as the probe's is; blobs go to files.
    let (manifest, _) = registry
        .image_manifest(&reference, resolver.platform())
        .await?;

    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let progress = Arc::new(Mutex::new(Progress::new(
        ui,
        &format!("Fetching {image} from {location} with cnb's registry client"),
    )));

    let config_hex = digest_hex(&manifest.config.digest)?.to_string();
    let config_name = format!("{config_hex}.json");
    let config_path = dir.path().join(&config_name);
    let config = registry.config(&reference, &manifest).await?;
    tokio::fs::write(&config_path, &config)
        .await
        .context("cannot write the image config")?;

    let mut entries = vec![SaveEntry {
        name: config_name.clone(),
        source: config_path,
    }];
    let mut layer_names = Vec::new();
    let mut unique: Vec<(&OciDescriptor, PathBuf)> = Vec::new();
    let mut seen = HashSet::new();
    for layer in &manifest.layers {
        let hex = digest_hex(&layer.digest)?;
        let name = format!("{hex}/layer.tar");
        layer_names.push(name.clone());
        if seen.insert(hex.to_string()) {
            let path = dir.path().join(format!("{hex}.blob"));
            entries.push(SaveEntry {
                name,
                source: path.clone(),
            });
            unique.push((layer, path));
        }
    }
    futures_util::stream::iter(unique.iter())
        .map(|(layer, path)| download(&registry, &reference, layer, path, progress.clone()))
        .buffer_unordered(PARALLEL_BLOBS)
        .try_collect::<Vec<()>>()
        .await?;
    // Every download holding a clone has finished, so this is the last reference.
    if let Ok(mutex) = Arc::try_unwrap(progress) {
        mutex
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .finish();
    }

    let manifest_json = serde_json::to_vec(&serde_json::json!([{
        "Config": config_name,
        "RepoTags": [daemon_name(image)],
        "Layers": layer_names,
    }]))?;
    ui.status(format!("Loading {image} into the Docker daemon"));
    let tar = archive::stream_from_writer(move |w| {
        archive::write_save_archive(w, &manifest_json, &entries)
    });
    let options = ImportImageOptionsBuilder::default().quiet(true).build();
    let mut load = daemon.client.import_image_stream(options, tar, None);
    while let Some(item) = load.next().await {
        let info = item.map_err(|e| DockerError::api(format!("cannot load {image}"), &e))?;
        if let Some(line) = info
            .stream
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            ui.verbose(1, line);
        }
    }
    // The directory (and the blobs in it) must live until the daemon has read the archive.
    drop(dir);
    if daemon.image_info(&daemon_name(image)).await?.is_none() {
        bail!("the daemon accepted the archive but has no image named {image}");
    }
    ui.status(format!("Loaded {image} into the Docker daemon"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_download_that_receives_nothing_is_given_up() {
        let last = LastProgress::now();
        let stalled = no_stall("blob x", &last, Duration::from_secs(1), async {
            std::future::pending::<()>().await;
            Ok(())
        })
        .await
        .unwrap_err();
        assert_eq!(
            stalled.to_string(),
            "blob x: no data for 1 s, so cnb gave up (the registry stopped sending)"
        );
        // Bytes keep it alive past the limit.
        let last = LastProgress::now();
        let feeding = last.clone();
        let done = no_stall("blob y", &last, Duration::from_secs(1), async move {
            for _ in 0..6 {
                tokio::time::sleep(Duration::from_millis(300)).await;
                feeding.touch();
            }
            Ok(7)
        })
        .await
        .unwrap();
        assert_eq!(done, 7);
    }

    #[test]
    fn digest_hex_is_a_safe_file_name() {
        assert_eq!(digest_hex("sha256:abc123").unwrap(), "abc123");
        assert!(digest_hex("sha256:../../etc").is_err());
        assert!(digest_hex("sha256:").is_err());
    }
}
