//! What the resolver keeps per registry host for one process (insecure or not, its
//! transport, credentials, the scheme it answered on, whether it is dead) and the
//! registry clients it shares between hosts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use oci_client::Client;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest::ImageIndexEntry;
use tokio::sync::OnceCell;

use super::platform::{self, PlatformState};
use super::{Platform, ProbeFailure, Resolver, Transport, lock, roots};
use crate::credentials::{self, Credential};
use crate::reference::{Registry, Scheme};

/// What cnb knows about one registry host during a process.
#[derive(Default)]
pub(super) struct Host {
    pub(super) insecure: OnceCell<bool>,
    pub(super) transport: OnceCell<Transport>,
    /// `Err` holds a message without secrets.
    pub(super) credential: OnceCell<Result<Option<Credential>, String>>,
    /// The scheme the host answered HTTP on.
    pub(super) scheme: Mutex<Option<Scheme>>,
    /// Set when the host refused connections or did not answer within the probe timeout:
    /// later probes to it in this process fail at once with this reason, so a dead or
    /// black-holed host costs the timeout once per command, not once per image.
    pub(super) dead: Mutex<Option<ProbeFailure>>,
}

/// One oci-client per scheme and certificate policy, shared by every host.
///
/// Building a client loads the system's root certificates, so it is done once per kind,
/// off the async threads. Sharing is safe for credentials: oci-client keys both its
/// credential store and its token cache by registry host (and repository), attaches
/// credentials only to requests for that host, and cnb stores each host's own.
pub(super) type ClientKey = (Scheme, bool);
pub(super) type ClientCell = Arc<OnceCell<Client>>;

impl Resolver {
    /// The credential helper of `registry` when its credentials are still being looked up.
    pub(super) fn pending_helper(&self, registry: &Registry) -> Option<String> {
        if self.host(registry).credential.initialized() {
            return None;
        }
        credentials::helper_for(registry)
    }

    /// Remembers that `registry` is unreachable for the rest of this process.
    pub(super) fn mark_dead(&self, registry: &Registry, failure: ProbeFailure) {
        lock(&self.host(registry).dead).get_or_insert(failure);
    }

    pub(super) fn host(&self, registry: &Registry) -> Arc<Host> {
        lock(&self.hosts)
            .entry(registry.clone())
            .or_default()
            .clone()
    }

    pub(super) async fn credential(
        &self,
        registry: &Registry,
        host: &Host,
    ) -> Result<Option<Credential>, String> {
        host.credential
            .get_or_init(|| async {
                let registry = registry.clone();
                // Credential helpers are processes and the config is a file: keep them
                // off the async threads.
                match tokio::task::spawn_blocking(move || credentials::lookup(&registry)).await {
                    Ok(Ok(found)) => Ok(found),
                    Ok(Err(e)) => Err(format!("{e:#}")),
                    Err(e) => Err(format!("the credential lookup failed: {e}")),
                }
            })
            .await
            .clone()
    }

    pub(super) fn client_cell(
        &self,
        scheme: Scheme,
        transport: Transport,
    ) -> (ClientCell, ClientConfigSeed) {
        let key = (scheme, transport.skip_tls_verify);
        let cell = lock(&self.clients).entry(key).or_default().clone();
        let seed = ClientConfigSeed {
            scheme,
            skip_tls_verify: transport.skip_tls_verify,
            platform: self.platform.clone(),
            connect_timeout: self.settings.timeout,
        };
        (cell, seed)
    }

    /// The shared client for `scheme` and `transport`'s certificate policy.
    pub(super) async fn client(
        &self,
        scheme: Scheme,
        transport: Transport,
    ) -> anyhow::Result<Client> {
        let (cell, seed) = self.client_cell(scheme, transport);
        let client = cell.get_or_try_init(|| seed.build()).await?;
        Ok(client.clone())
    }

    /// Starts building a client that will probably be needed soon (in the background).
    pub(super) fn warm(&self, scheme: Scheme, transport: Transport) {
        let (cell, seed) = self.client_cell(scheme, transport);
        if cell.initialized() {
            return;
        }
        tokio::spawn(async move {
            let _ = cell.get_or_try_init(|| seed.build()).await;
        });
    }
}

/// What a shared client is built from.
pub(super) struct ClientConfigSeed {
    scheme: Scheme,
    skip_tls_verify: bool,
    platform: Arc<PlatformState>,
    connect_timeout: Duration,
}

impl ClientConfigSeed {
    async fn build(self) -> anyhow::Result<Client> {
        tokio::task::spawn_blocking(move || {
            let platform = self.platform;
            let config = ClientConfig {
                protocol: match self.scheme {
                    Scheme::Http => ClientProtocol::Http,
                    Scheme::Https => ClientProtocol::Https,
                },
                accept_invalid_certificates: self.skip_tls_verify,
                platform_resolver: Some(Box::new(move |entries: &[ImageIndexEntry]| {
                    select_entry(entries, platform.current())
                })),
                connect_timeout: Some(self.connect_timeout),
                tls_certs_only: roots::system_roots().to_vec(),
                user_agent: concat!("cnb/", env!("CARGO_PKG_VERSION")),
                ..ClientConfig::default()
            };
            Client::try_from(config)
                .map_err(|e| anyhow::anyhow!("could not set up a registry client: {e}"))
        })
        .await
        .map_err(|e| anyhow::anyhow!("could not set up a registry client: {e}"))?
    }
}

fn select_entry(entries: &[ImageIndexEntry], platform: &Platform) -> Option<String> {
    let converted: Vec<platform::IndexEntry> = entries
        .iter()
        .map(|e| platform::IndexEntry {
            digest: e.digest.clone(),
            platform: e.platform.as_ref().map(|p| platform::EntryPlatform {
                os: p.os.to_string(),
                architecture: p.architecture.to_string(),
                variant: p.variant.clone(),
            }),
        })
        .collect();
    platform::select(&converted, platform).map(|e| e.digest.clone())
}
