//! What the resolver keeps per registry host for one process (insecure or not, its
//! transport, credentials, the scheme it answered on, whether it is dead) and the
//! registry clients it shares between hosts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use oci_client::Client;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use tokio::sync::OnceCell;

use super::{ProbeFailure, Resolver, Transport, lock, roots};
use crate::credentials::{self, Credential};
use crate::proxy::ProxySettings;
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

/// The registry clients of one scheme and certificate policy, shared by every host: the
/// oci-client (authentication, blobs) and the HTTP client that makes manifest requests
/// (read with a size cap, which oci-client cannot do). Both are built from one
/// [`ClientConfig`] by [`ClientConfigSeed::build`], so they trust the same roots and CAs,
/// verify (or not) alike, and use the same proxies and connect timeout.
#[derive(Clone)]
pub(super) struct Clients {
    pub(super) scheme: Scheme,
    pub(super) oci: Client,
    pub(super) http: reqwest::Client,
}

/// One [`Clients`] per scheme and certificate policy, shared by every host.
///
/// Building clients loads the system's root certificates, so it is done once per kind,
/// off the async threads. Sharing is safe for credentials: oci-client keys both its
/// credential store and its token cache by registry host (and repository), attaches
/// credentials only to requests for that host, and cnb stores each host's own.
///
/// A registry with extra CAs (SPEC §9) gets a client of its own per CA set, so those CAs
/// are trusted for that registry only; the key holds the CA files' paths.
pub(super) type ClientKey = (Scheme, bool, Option<String>);
pub(super) type ClientCell = Arc<OnceCell<Clients>>;

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
        registry: &Registry,
        scheme: Scheme,
        transport: Transport,
    ) -> (ClientCell, ClientConfigSeed) {
        let cas = self.settings.cas_for(registry);
        let ca_key = (!cas.is_empty()).then(|| {
            cas.iter()
                .map(|ca| ca.path.display().to_string())
                .collect::<Vec<_>>()
                .join("\n")
        });
        let extra_roots = cas
            .iter()
            .flat_map(|ca| ca.certificates.iter())
            .map(|der| Certificate {
                encoding: CertificateEncoding::Der,
                data: der.clone(),
            })
            .collect();
        let key = (scheme, transport.skip_tls_verify, ca_key);
        let cell = lock(&self.clients).entry(key).or_default().clone();
        let seed = ClientConfigSeed {
            scheme,
            skip_tls_verify: transport.skip_tls_verify,
            connect_timeout: self.settings.timeout,
            extra_roots,
            proxy: self.settings.proxy.clone(),
        };
        (cell, seed)
    }

    /// The shared clients for `registry` (its extra CAs), `scheme` and `transport`'s
    /// certificate policy.
    pub(super) async fn client(
        &self,
        registry: &Registry,
        scheme: Scheme,
        transport: Transport,
    ) -> anyhow::Result<Clients> {
        let (cell, seed) = self.client_cell(registry, scheme, transport);
        let client = cell.get_or_try_init(|| seed.build()).await?;
        Ok(client.clone())
    }

    /// Starts building a client that will probably be needed soon (in the background).
    pub(super) fn warm(&self, registry: &Registry, scheme: Scheme, transport: Transport) {
        let (cell, seed) = self.client_cell(registry, scheme, transport);
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
    connect_timeout: Duration,
    /// A registry's extra CAs (DER), trusted besides the system roots.
    extra_roots: Vec<Certificate>,
    proxy: ProxySettings,
}

/// A proxy address that is never used: with a `NO_PROXY` of everything it only stops reqwest from
/// reading proxies from the environment on its own (`ALL_PROXY`, for one), so that cnb's
/// clients use exactly what [`ProxySettings`] says.
const NO_PROXY_PLACEHOLDER: &str = "http://127.0.0.1:9";

impl ClientConfigSeed {
    /// Both clients, built at once on two blocking threads: each loads its root
    /// certificates (with the platform verifier, every file of the system's certificate
    /// directory), and neither needs the other.
    async fn build(self) -> anyhow::Result<Clients> {
        let scheme = self.scheme;
        let seed = Arc::new(self);
        let for_http = seed.clone();
        let http = tokio::task::spawn_blocking(move || http_client(&for_http.config()));
        let oci = tokio::task::spawn_blocking(move || Client::try_from(seed.config()));
        let failed =
            |e: &dyn std::fmt::Display| anyhow::anyhow!("could not set up a registry client: {e}");
        let (http, oci) = tokio::join!(http, oci);
        let http = http.map_err(|e| failed(&e))?.map_err(|e| failed(&e))?;
        let oci = oci.map_err(|e| failed(&e))?.map_err(|e| failed(&e))?;
        Ok(Clients { scheme, oci, http })
    }

    /// The configuration both clients are built from: the one place that decides a
    /// client's scheme, roots and CAs, certificate policy, proxies and timeouts.
    fn config(&self) -> ClientConfig {
        let mut config = ClientConfig {
            protocol: match self.scheme {
                Scheme::Http => ClientProtocol::Http,
                Scheme::Https => ClientProtocol::Https,
            },
            accept_invalid_certificates: self.skip_tls_verify,
            connect_timeout: Some(self.connect_timeout),
            user_agent: concat!("cnb/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        };
        // The system roots (when cnb read them) plus the registry's own CAs; with
        // the platform verifier, the CAs are added to the platform's roots.
        let system = roots::system_roots();
        if system.is_empty() {
            config.extra_root_certificates = self.extra_roots.clone();
        } else {
            config.tls_certs_only = system.iter().chain(&self.extra_roots).cloned().collect();
        }
        if self.proxy.is_empty() {
            config.https_proxy = Some(NO_PROXY_PLACEHOLDER.to_string());
            config.no_proxy = Some(crate::proxy::EVERYTHING.to_string());
        } else {
            config.https_proxy = self.proxy.https.clone();
            config.http_proxy = self.proxy.http.clone();
            config.no_proxy = Some(self.proxy.client_no_proxy());
        }
        config
    }
}

/// The HTTP client for `config`: what oci-client 0.18 builds from it (`TryFrom<ClientConfig>
/// for Client`), setting for setting, so that manifest requests go out exactly as
/// oci-client's own requests do. Redirects are followed as reqwest does by default (as
/// oci-client's client does), without credentials to another host.
fn http_client(config: &ClientConfig) -> Result<reqwest::Client, reqwest::Error> {
    let certificates =
        |certs: &[Certificate]| -> Result<Vec<reqwest::Certificate>, reqwest::Error> {
            certs
                .iter()
                .map(|c| match c.encoding {
                    CertificateEncoding::Der => reqwest::Certificate::from_der(&c.data),
                    CertificateEncoding::Pem => reqwest::Certificate::from_pem(&c.data),
                })
                .collect()
        };
    let mut builder = reqwest::Client::builder()
        .danger_accept_invalid_certs(config.accept_invalid_certificates)
        .user_agent(config.user_agent);
    if !config.tls_certs_only.is_empty() {
        builder = builder.tls_certs_only(certificates(&config.tls_certs_only)?);
    }
    builder = builder.tls_certs_merge(certificates(&config.extra_root_certificates)?);
    if let Some(timeout) = config.read_timeout {
        builder = builder.read_timeout(timeout);
    }
    if let Some(timeout) = config.connect_timeout {
        builder = builder.connect_timeout(timeout);
    }
    let no_proxy = || {
        config
            .no_proxy
            .as_deref()
            .and_then(reqwest::NoProxy::from_string)
    };
    if let Some(proxy) = &config.https_proxy {
        builder = builder.proxy(reqwest::Proxy::https(proxy)?.no_proxy(no_proxy()));
    }
    if let Some(proxy) = &config.http_proxy {
        builder = builder.proxy(reqwest::Proxy::http(proxy)?.no_proxy(no_proxy()));
    }
    builder.build()
}
