//! A registry client for cnb's own reads of an image (fetch-and-load, `--dry-run`'s config):
//! manifests through the probe's own request ([`probe::fetch`]: the size cap and the
//! checks the daemon makes), blobs through oci-client, never more of one than its
//! descriptor gives. Manifests and the config are small reads, bounded like a probe by
//! the probe timeout; layers are bounded by their size, and by their caller in time.

use std::io;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use oci_client::Reference;
use oci_client::manifest::{OciDescriptor, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use tokio::io::AsyncWrite;

use super::hosts::Clients;
use super::platform::select;
use super::probe::{self, Fetched};
use super::{Platform, ProbeFailure, millis};

/// The most of an image config cnb reads into memory (a config is a few KiB).
pub const MAX_CONFIG_BYTES: u64 = 8 * 1024 * 1024;

/// One registry's clients with its credentials (see [`super::Resolver::client_for`]).
pub struct RegistryClient {
    clients: Clients,
    auth: RegistryAuth,
    /// The probe timeout, for each manifest and config read.
    timeout: Duration,
}

impl RegistryClient {
    pub(super) fn new(clients: Clients, auth: RegistryAuth, timeout: Duration) -> RegistryClient {
        RegistryClient {
            clients,
            auth,
            timeout,
        }
    }

    /// Writes `blob` of `reference` to `out`, telling `progress` the bytes written so far:
    /// refused past the size its descriptor gives (a registry that sends more is broken or
    /// hostile; without the bound its bytes would fill the disk or the memory before the
    /// digest is checked at the end). Read a manifest first: that gives oci-client the
    /// credentials.
    pub async fn pull_blob(
        &self,
        reference: &Reference,
        blob: &OciDescriptor,
        out: impl AsyncWrite + Unpin,
        progress: impl FnMut(u64) + Unpin,
    ) -> anyhow::Result<()> {
        let Ok(limit) = u64::try_from(blob.size) else {
            bail!(
                "the manifest of {reference} gives blob {} a negative size ({})",
                blob.digest,
                blob.size
            );
        };
        let out = AtMost {
            inner: out,
            limit,
            count: 0,
            progress,
        };
        self.clients
            .oci
            .pull_blob(reference, blob, out)
            .await
            .with_context(|| format!("cannot download blob {} of {reference}", blob.digest))
    }

    /// The image config `manifest` names: at most [`MAX_CONFIG_BYTES`], within the probe
    /// timeout.
    pub async fn config(
        &self,
        reference: &Reference,
        manifest: &OciImageManifest,
    ) -> anyhow::Result<Vec<u8>> {
        let blob = &manifest.config;
        if u64::try_from(blob.size).is_ok_and(|size| size > MAX_CONFIG_BYTES) {
            bail!(
                "the config of {reference} is {} bytes; cnb reads at most {MAX_CONFIG_BYTES}",
                blob.size
            );
        }
        let mut config = Vec::new();
        let read = self.pull_blob(reference, blob, &mut config, |_| {});
        self.bounded("the config", reference, read).await?;
        Ok(config)
    }

    /// The image manifest of `reference` and its digest, for `platform` when `reference`
    /// names an index (the entry the probe chooses too).
    pub async fn image_manifest(
        &self,
        reference: &Reference,
        platform: &Platform,
    ) -> anyhow::Result<(OciImageManifest, String)> {
        let top = self.fetch(reference).await?;
        let Some(entries) = &top.index else {
            return Ok((parse(&top, reference)?, top.digest));
        };
        let entry = select(entries, platform).ok_or_else(|| {
            let have = entries
                .iter()
                .filter_map(|e| e.platform.as_ref())
                .map(|p| format!("{}/{}", p.os, p.architecture))
                .collect::<Vec<_>>()
                .join(", ");
            anyhow!("{reference} has no image for {platform} (it has: {have})")
        })?;
        let by_digest = reference.clone_with_digest(entry.digest.clone());
        let image = self.fetch(&by_digest).await?;
        if image.kind.is_index() {
            bail!("{by_digest} is an index inside an index");
        }
        Ok((parse(&image, &by_digest)?, image.digest))
    }

    async fn fetch(&self, reference: &Reference) -> anyhow::Result<Fetched> {
        let read = async {
            probe::fetch(&self.clients, reference, &self.auth)
                .await
                .map_err(|failure| anyhow!("cannot read the manifest of {reference}: {failure}"))
        };
        self.bounded("the manifest", reference, read).await
    }

    /// `read` of `what` of `reference`, given up after the probe timeout.
    async fn bounded<T>(
        &self,
        what: &str,
        reference: &Reference,
        read: impl Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<T> {
        tokio::time::timeout(self.timeout, read)
            .await
            .unwrap_or_else(|_| {
                let millis = millis(self.timeout);
                let failure = ProbeFailure::TimedOut { millis };
                Err(anyhow!("cannot read {what} of {reference}: {failure}"))
            })
    }
}

/// An `AsyncWrite` that refuses more than `limit` bytes in all and tells `progress` the
/// count after each write.
struct AtMost<W, P> {
    inner: W,
    limit: u64,
    count: u64,
    progress: P,
}

impl<W: AsyncWrite + Unpin, P: FnMut(u64) + Unpin> AsyncWrite for AtMost<W, P> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.count.saturating_add(buf.len() as u64) > this.limit {
            return Poll::Ready(Err(io::Error::other(format!(
                "the registry sent more than the {} bytes the manifest gives",
                this.limit
            ))));
        }
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &poll {
            this.count += *n as u64;
            (this.progress)(this.count);
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn parse(fetched: &Fetched, reference: &Reference) -> anyhow::Result<OciImageManifest> {
    serde_json::from_slice(&fetched.body)
        .with_context(|| format!("the manifest of {reference} is not an image manifest"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_blob_is_refused_past_the_size_the_manifest_gives() {
        use tokio::io::AsyncWriteExt;
        let mut seen = Vec::new();
        let mut writer = AtMost {
            inner: Vec::new(),
            limit: 5,
            count: 0,
            progress: |n| seen.push(n),
        };
        writer.write_all(b"abc").await.unwrap();
        writer.write_all(b"de").await.unwrap();
        let over = writer.write_all(b"f").await.unwrap_err();
        assert_eq!(
            over.to_string(),
            "the registry sent more than the 5 bytes the manifest gives"
        );
        assert_eq!(writer.inner, b"abcde");
        drop(writer);
        assert_eq!(seen, [3, 5]);
    }
}
