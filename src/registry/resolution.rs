//! What a resolution says (SPEC §4): the candidates in preference order, each with its
//! outcome (chosen, failed with a reason, not needed) and latency, and the error that
//! lists every candidate when none had the image.

use std::fmt;

use thiserror::Error;

use crate::reference::{ImageRef, Mirror, Registry};

/// Why a candidate was not used. `Display` is the reason shown to users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeFailure {
    /// Connection refused.
    Refused,
    /// No answer within the probe timeout.
    TimedOut { millis: u64 },
    /// The registry does not have this image (404 / MANIFEST_UNKNOWN).
    NotFound,
    /// 401/403 after trying the credentials we have.
    Unauthorized { detail: String },
    /// TLS handshake or certificate failure; `insecure_hint` when allowing the host would help.
    Tls { detail: String, insecure_hint: bool },
    /// The registry answered 5xx.
    Server { status: u16 },
    /// DNS, protocol or anything else.
    Other { detail: String },
}

fn cut(detail: &str) -> std::borrow::Cow<'_, str> {
    crate::text::bounded(detail, crate::text::MAX_EXTERNAL_MESSAGE)
}

impl fmt::Display for ProbeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeFailure::Refused => write!(f, "connection refused"),
            ProbeFailure::TimedOut { millis } => {
                write!(f, "no answer within {millis} ms (timed out)")
            }
            ProbeFailure::NotFound => write!(f, "image not found (404)"),
            // The details carry what the registry said: bounded (see crate::text).
            ProbeFailure::Unauthorized { detail } => write!(f, "unauthorized: {}", cut(detail)),
            ProbeFailure::Tls { detail, .. } => write!(f, "TLS failure: {}", cut(detail)),
            ProbeFailure::Server { status } => write!(f, "server error (HTTP {status})"),
            ProbeFailure::Other { detail } => write!(f, "{}", cut(detail)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CandidateStatus {
    Chosen,
    Failed(ProbeFailure),
    /// An earlier candidate was chosen; this one's answer (if any) was not needed.
    Unused,
}

/// One place an image could be fetched from.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The image at this candidate (mirror host + prefix + repository, or the original).
    pub location: ImageRef,
    /// The mirror this candidate came from; `None` for the original registry.
    pub mirror: Option<Mirror>,
    pub status: CandidateStatus,
    /// Probe latency; `None` when the probe was cancelled before it finished.
    pub millis: Option<u64>,
}

impl Candidate {
    /// The reason this candidate failed, if it did.
    pub fn failure(&self) -> Option<&ProbeFailure> {
        match &self.status {
            CandidateStatus::Failed(reason) => Some(reason),
            _ => None,
        }
    }

    /// `chosen`, `failed` or `unused` (the JSON spelling).
    pub fn status_str(&self) -> &'static str {
        match self.status {
            CandidateStatus::Chosen => "chosen",
            CandidateStatus::Failed(_) => "failed",
            CandidateStatus::Unused => "unused",
        }
    }

    /// The command that would let cnb through a TLS failure on this candidate's host.
    pub fn hint(&self) -> Option<String> {
        match self.failure() {
            Some(ProbeFailure::Tls {
                insecure_hint: true,
                ..
            }) => Some(insecure_hint(self.location.registry())),
            _ => None,
        }
    }
}

/// `if you trust <host>, allow it: cnb config insecure-registries add <host>`.
pub fn insecure_hint(registry: &Registry) -> String {
    let key = registry.key();
    format!(
        "if you trust {key}, allow plain HTTP and unverified TLS for it with `cnb config insecure-registries add {key}` (or --insecure-registry {key} for one run)"
    )
}

/// The outcome of resolving one image.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// The image as normalised from what was asked.
    pub image: ImageRef,
    /// Preference order: mirrors, then the original.
    pub candidates: Vec<Candidate>,
    /// Manifest digest at the chosen candidate (for the platform, when an index).
    pub digest: Option<String>,
}

impl Resolution {
    pub fn chosen(&self) -> Option<&Candidate> {
        self.candidates
            .iter()
            .find(|c| c.status == CandidateStatus::Chosen)
    }

    /// The error to show when no candidate had the image (`None` when one did).
    pub fn error(&self) -> Option<ResolveError> {
        if self.chosen().is_some() {
            return None;
        }
        Some(ResolveError {
            image: self.image.to_string(),
            failures: self
                .candidates
                .iter()
                .map(|c| {
                    let mut reason = c
                        .failure()
                        .map(ToString::to_string)
                        .unwrap_or_else(|| "not probed".to_string());
                    if let Some(hint) = c.hint() {
                        reason.push_str(&format!(" ({hint})"));
                    }
                    (c.location.to_string(), reason)
                })
                .collect(),
        })
    }
}

/// No candidate had the image. Lists every candidate with its reason (one line).
#[derive(Debug, Clone, Error)]
pub struct ResolveError {
    pub image: String,
    /// `(location, reason)` in preference order.
    pub failures: Vec<(String, String)>,
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not fetch {} from any location: ", self.image)?;
        for (i, (location, reason)) in self.failures.iter().enumerate() {
            if i > 0 {
                write!(f, "; ")?;
            }
            write!(f, "{location}: {reason}")?;
        }
        Ok(())
    }
}
