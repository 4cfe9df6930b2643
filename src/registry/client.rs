//! A registry client for cnb's own reads of an image (fetch-and-load, `--dry-run`'s config):
//! manifests through the probe's own request ([`probe::fetch`]: the size cap and the
//! checks the daemon makes), blobs through oci-client.

use anyhow::{Context, anyhow, bail};
use oci_client::Reference;
use oci_client::manifest::OciImageManifest;
use oci_client::secrets::RegistryAuth;

use super::Platform;
use super::hosts::Clients;
use super::platform::select;
use super::probe::{self, Fetched};

/// One registry's clients with its credentials (see [`super::Resolver::client_for`]).
pub struct RegistryClient {
    clients: Clients,
    auth: RegistryAuth,
}

impl RegistryClient {
    pub(super) fn new(clients: Clients, auth: RegistryAuth) -> RegistryClient {
        RegistryClient { clients, auth }
    }

    /// The oci-client for blobs. It has the credentials once a manifest was read.
    pub fn blobs(&self) -> &oci_client::Client {
        &self.clients.oci
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
        probe::fetch(&self.clients, reference, &self.auth)
            .await
            .map_err(|failure| anyhow!("cannot read the manifest of {reference}: {failure}"))
    }
}

fn parse(fetched: &Fetched, reference: &Reference) -> anyhow::Result<OciImageManifest> {
    serde_json::from_slice(&fetched.body)
        .with_context(|| format!("the manifest of {reference} is not an image manifest"))
}
