//! What the resolver says while it works: the status line and warnings of a resolution
//! (SPEC §4: `Using mirror ...`, `mirror ... failed for ...`), and each probe's detail
//! with `-v` (outcomes, timeouts, index choices) and `-vv` (requests, schemes, skips).
//!
//! The probing code calls these; every sentence the resolver prints is here.

use oci_client::Reference;

use super::probe::{Found, TransportFailure};
use super::{Platform, ProbeFailure, Resolution, Resolver};
use crate::credentials::{self, Credential};
use crate::reference::{ImageRef, Mirror, Registry, Scheme};
use crate::ui::Ui;

impl Resolver {
    /// What the resolver says, through its [`Ui`].
    pub(super) fn say(&self) -> Narrator<'_> {
        Narrator { ui: &self.ui }
    }
}

/// The resolver's sentences, written to a [`Ui`].
pub(super) struct Narrator<'a> {
    ui: &'a Ui,
}

impl Narrator<'_> {
    /// `-v`: how one probe ended, and how long it took.
    pub fn probed(&self, location: &ImageRef, result: &Result<Found, ProbeFailure>, ms: u64) {
        let outcome = match result {
            Ok(found) => match &found.index_digest {
                Some(index) => format!("has it ({}, from index {index})", found.digest),
                None => format!("has it ({})", found.digest),
            },
            Err(reason) => reason.to_string(),
        };
        self.ui
            .verbose(1, format!("probe {location}: {outcome} in {ms} ms"));
    }

    /// `-v`: a probe still pending when the timeout came, and why it was given up.
    pub fn gave_up(&self, location: &ImageRef, failure: &ProbeFailure) {
        self.ui.verbose(1, format!("probe {location}: {failure}"));
    }

    /// `-vv`: a probe not made because its host failed earlier in this process.
    pub fn skipped(&self, location: &ImageRef, registry: &Registry, failure: &ProbeFailure) {
        self.ui.verbose(
            2,
            format!(
                "probe {location}: skipped, {} failed earlier in this run ({failure})",
                registry.key()
            ),
        );
    }

    /// `-vv`: the scheme a host turned out to speak.
    pub fn speaks(&self, location: &ImageRef, registry: &Registry, scheme: Scheme) {
        self.ui.verbose(
            2,
            format!(
                "probe {location}: {} speaks {}",
                registry.key(),
                scheme_str(scheme)
            ),
        );
    }

    /// `-vv`: one manifest request, with whose credentials (never the secret).
    pub fn request(&self, location: &ImageRef, request: &Request<'_>) {
        let registry = request.registry;
        let reference = request.reference;
        let who = match request.credential {
            Some(c) => format!(
                "with credentials for {} ({})",
                credentials::auth_key(registry),
                c.describe()
            ),
            None => "anonymously".to_string(),
        };
        self.ui.verbose(
            2,
            format!(
                "probe {location}: GET {}://{}/v2/{}/manifests/{} {who}{}",
                scheme_str(request.scheme),
                registry.key(),
                reference.repository(),
                reference.digest().or(reference.tag()).unwrap_or("latest"),
                if request.skip_tls_verify && request.scheme == Scheme::Https {
                    " (TLS not verified: insecure registry)"
                } else {
                    ""
                }
            ),
        );
    }

    /// `-v`: the reference named an image index.
    pub fn index(&self, location: &ImageRef, platform: &Platform) {
        self.ui.verbose(
            1,
            format!("probe {location}: an image index; choosing the manifest for {platform}"),
        );
    }

    /// `-vv`: HTTPS got nothing that speaks HTTP back, so plain HTTP is next.
    pub fn trying_http(&self, location: &ImageRef, failure: &TransportFailure) {
        self.ui.verbose(
            2,
            format!(
                "probe {location}: HTTPS got no HTTP answer ({}); trying plain HTTP",
                transport_text(failure)
            ),
        );
    }

    /// Status lines and warnings for a fresh resolution.
    pub fn resolved(&self, resolution: &Resolution) {
        for candidate in &resolution.candidates {
            if let (Some(mirror), Some(reason)) = (&candidate.mirror, candidate.failure()) {
                self.ui.warn(format!(
                    "mirror {} failed for {}: {reason}",
                    mirror_name(mirror),
                    resolution.image
                ));
                if let Some(hint) = candidate.hint() {
                    self.ui.hint(hint);
                }
            }
        }
        if let Some(chosen) = resolution.chosen() {
            match &chosen.mirror {
                Some(mirror) => self.ui.status(format!(
                    "Using mirror {} for {}",
                    mirror_name(mirror),
                    resolution.image
                )),
                None if resolution.candidates.len() > 1 => self.ui.status(format!(
                    "Using {} for {} (no mirror could serve it)",
                    resolution.image.registry(),
                    resolution.image
                )),
                None => {}
            }
        }
    }
}

/// One manifest request, as [`Narrator::request`] describes it.
pub(super) struct Request<'a> {
    pub scheme: Scheme,
    pub registry: &'a Registry,
    pub reference: &'a Reference,
    pub credential: Option<&'a Credential>,
    pub skip_tls_verify: bool,
}

/// A mirror as shown in status lines: host, port and prefix, with `http://` kept.
pub fn mirror_name(mirror: &Mirror) -> String {
    let mut name = match mirror.scheme() {
        Scheme::Http => format!("http://{}", mirror.registry().key()),
        Scheme::Https => mirror.registry().key(),
    };
    if let Some(prefix) = mirror.prefix() {
        name.push('/');
        name.push_str(prefix);
    }
    name
}

fn scheme_str(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Http => "http",
        Scheme::Https => "https",
    }
}

/// A transport failure's detail, for the line that says plain HTTP is tried next.
fn transport_text(failure: &TransportFailure) -> String {
    match failure {
        TransportFailure::Refused => "connection refused".to_string(),
        TransportFailure::Certificate(d)
        | TransportFailure::NotTls(d)
        | TransportFailure::Tls(d)
        | TransportFailure::Other(d) => d.clone(),
    }
}
