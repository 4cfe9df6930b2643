//! Probing one candidate: its host's transport and credentials, the scheme it speaks,
//! then manifest requests ([`super::probe`]) until one answers, and what a failure means
//! for the user (the credentials cnb had, the flag that would allow the host).

use oci_client::secrets::RegistryAuth;

use super::probe::{self, Attempt, Found, TransportFailure};
use super::text::Request;
use super::{ProbeFailure, Resolver, Transport, lock, oci_reference};
use crate::credentials::{self, Credential};
use crate::reference::{ImageRef, Mirror, Registry, Scheme};

impl Resolver {
    /// One candidate: its host's transport and credentials, then a manifest request
    /// (HTTPS, then plain HTTP where the host allows it and HTTPS got no HTTP answer).
    pub(super) async fn probe_candidate(
        &self,
        location: &ImageRef,
        mirror: Option<&Mirror>,
    ) -> Result<Found, ProbeFailure> {
        let registry = location.registry();
        let host = self.host(registry);
        if let Some(failure) = lock(&host.dead).clone() {
            self.say().skipped(location, registry, &failure);
            return Err(failure);
        }
        let transport = self.transport(registry).await;
        let credential = self
            .credential(registry, &host)
            .await
            .map_err(|detail| ProbeFailure::Other { detail })?;
        let auth = credential
            .as_ref()
            .map(Credential::registry_auth)
            .unwrap_or(RegistryAuth::Anonymous);
        let reference = oci_reference(location);

        let forced_http = mirror.is_some_and(|m| m.scheme() == Scheme::Http);
        let unknown = !forced_http && transport.allow_http && lock(&host.scheme).is_none();
        if let (true, Some(port)) = (unknown, registry.port()) {
            match probe::sniff_scheme(registry.host(), port, &registry.key()).await {
                Ok(Some(scheme)) => {
                    self.say().speaks(location, registry, scheme);
                    lock(&host.scheme).get_or_insert(scheme);
                }
                Ok(None) => {}
                Err(failure) => return Err(to_failure(failure, Scheme::Http, transport)),
            }
        }
        let known = *lock(&host.scheme);
        let schemes: &[Scheme] = if forced_http {
            &[Scheme::Http]
        } else if let Some(Scheme::Http) = known {
            &[Scheme::Http]
        } else if known == Some(Scheme::Https) || !transport.allow_http {
            &[Scheme::Https]
        } else {
            &[Scheme::Https, Scheme::Http]
        };

        let mut last = None;
        for (k, scheme) in schemes.iter().enumerate() {
            self.say().request(
                location,
                &Request {
                    scheme: *scheme,
                    registry,
                    reference: &reference,
                    credential: credential.as_ref(),
                    skip_tls_verify: transport.skip_tls_verify,
                },
            );
            if k == 0 && schemes.len() > 1 {
                self.warm(schemes[1], transport);
            }
            let client =
                self.client(*scheme, transport)
                    .await
                    .map_err(|e| ProbeFailure::Other {
                        detail: format!("{e:#}"),
                    })?;
            match probe::attempt(&client, &reference, &auth).await {
                Attempt::Manifest(manifest) => {
                    *lock(&host.scheme) = Some(*scheme);
                    if manifest.index.is_none() {
                        return manifest.choose(self.platform.current());
                    }
                    let platform = self.platform.get().await;
                    self.say().index(location, &platform);
                    return manifest.choose(&platform);
                }
                Attempt::Failed(failure) => {
                    *lock(&host.scheme) = Some(*scheme);
                    return Err(explain(failure, registry, credential.as_ref()));
                }
                Attempt::Transport(failure) => {
                    let more = k + 1 < schemes.len();
                    let fallback = matches!(
                        failure,
                        TransportFailure::Refused
                            | TransportFailure::NotTls(_)
                            | TransportFailure::Other(_)
                    );
                    if more && fallback {
                        self.say().trying_http(location, &failure);
                        last = Some(failure);
                        continue;
                    }
                    return Err(to_failure(failure, *scheme, transport));
                }
            }
        }
        Err(last
            .map(|f| to_failure(f, Scheme::Https, transport))
            .unwrap_or(ProbeFailure::Other {
                detail: "no scheme to try".to_string(),
            }))
    }
}

/// Adds what cnb knows about the credentials to an authorization failure.
fn explain(
    failure: ProbeFailure,
    registry: &Registry,
    credential: Option<&Credential>,
) -> ProbeFailure {
    match failure {
        ProbeFailure::Unauthorized { detail } => ProbeFailure::Unauthorized {
            detail: match credential {
                None => format!(
                    "{detail}; no credentials for {} in the Docker config (docker login {})",
                    credentials::auth_key(registry),
                    registry.key()
                ),
                Some(_) => format!(
                    "{detail}; the credentials for {} were refused",
                    credentials::auth_key(registry)
                ),
            },
        },
        other => other,
    }
}

/// A transport failure as the reason shown for the candidate.
fn to_failure(failure: TransportFailure, scheme: Scheme, transport: Transport) -> ProbeFailure {
    match failure {
        TransportFailure::Refused => ProbeFailure::Refused,
        TransportFailure::Certificate(detail) | TransportFailure::Tls(detail) => {
            ProbeFailure::Tls {
                detail,
                insecure_hint: !transport.skip_tls_verify,
            }
        }
        TransportFailure::NotTls(detail) if scheme == Scheme::Https => ProbeFailure::Tls {
            detail,
            insecure_hint: !transport.allow_http,
        },
        TransportFailure::NotTls(detail) | TransportFailure::Other(detail) => {
            ProbeFailure::Other { detail }
        }
    }
}
