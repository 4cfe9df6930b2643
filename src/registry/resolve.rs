//! Resolving one image: every candidate probed at once, the first in preference order
//! that has the image chosen, and no earlier candidate waited on past the probe timeout.

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::time::Instant;

use super::probe::Found;
use super::{Candidate, CandidateStatus, ProbeFailure, Resolution, Resolver, millis};
use crate::reference::{ImageRef, Mirror};
use crate::settings::RegistrySettings;

impl Resolver {
    /// Probes every candidate at once and picks the first in preference order that has
    /// the image, never waiting for any past `start + timeout`.
    pub(super) async fn compute(&self, image: &ImageRef) -> Resolution {
        let specs = candidate_specs(&self.settings, image);
        let n = specs.len();

        let start = Instant::now();
        let deadline = start + self.settings.timeout;
        let timeout_ms = millis(self.settings.timeout);
        let mut pending: FuturesUnordered<_> = specs
            .iter()
            .enumerate()
            .map(|(i, (location, mirror))| async move {
                let result = self.probe_candidate(location, mirror.as_ref()).await;
                (i, result, millis(start.elapsed()))
            })
            .collect();

        let mut outcomes: Vec<Option<(Result<Found, ProbeFailure>, u64)>> = vec![None; n];
        let chosen = loop {
            let found: Vec<Option<bool>> = outcomes
                .iter()
                .map(|o| o.as_ref().map(|(r, _)| r.is_ok()))
                .collect();
            match next_step(&found) {
                Step::Chosen(i) => break Some(i),
                Step::Exhausted => break None,
                Step::Wait => {}
            }
            match tokio::time::timeout_at(deadline, pending.next()).await {
                Ok(Some((i, result, ms))) => {
                    self.say().probed(&specs[i].0, &result, ms);
                    if let Err(failure @ ProbeFailure::Refused) = &result {
                        self.mark_dead(specs[i].0.registry(), failure.clone());
                    }
                    outcomes[i] = Some((result, ms));
                }
                Ok(None) => break None,
                Err(_) => {
                    for (i, outcome) in outcomes.iter_mut().enumerate() {
                        if outcome.is_none() {
                            let registry = specs[i].0.registry();
                            // Still asking a credential helper: that is what did not answer,
                            // not the registry (which stays usable for later probes).
                            let failure = match self.pending_helper(registry) {
                                Some(helper) => ProbeFailure::Other {
                                    detail: format!(
                                        "the credential helper {helper} did not answer within \
                                         {timeout_ms} ms for {}",
                                        registry.key()
                                    ),
                                },
                                None => {
                                    let failure = ProbeFailure::TimedOut { millis: timeout_ms };
                                    self.mark_dead(registry, failure.clone());
                                    failure
                                }
                            };
                            self.say().gave_up(&specs[i].0, &failure);
                            *outcome = Some((Err(failure), timeout_ms));
                        }
                    }
                }
            }
        };
        // Later candidates' probes are not needed any more: dropping them cancels them.
        drop(pending);

        let mut digest = None;
        let candidates = specs
            .into_iter()
            .zip(outcomes)
            .enumerate()
            .map(|(i, ((location, mirror), outcome))| {
                let ms = outcome.as_ref().map(|(_, ms)| *ms);
                let status = match (chosen, outcome) {
                    (Some(c), Some((Ok(found), _))) if c == i => {
                        digest = Some(found.digest);
                        CandidateStatus::Chosen
                    }
                    (Some(c), _) if i > c => CandidateStatus::Unused,
                    (_, Some((Err(reason), _))) => CandidateStatus::Failed(reason),
                    (_, Some((Ok(_), _))) => CandidateStatus::Unused,
                    (_, None) => CandidateStatus::Failed(ProbeFailure::Other {
                        detail: "the probe did not finish".to_string(),
                    }),
                };
                Candidate {
                    location,
                    mirror,
                    status,
                    millis: ms,
                }
            })
            .collect();
        Resolution {
            image: image.clone(),
            candidates,
            digest,
        }
    }
}

/// The candidates for `image` in preference order: its mirrors, then the original.
pub fn candidate_specs(
    settings: &RegistrySettings,
    image: &ImageRef,
) -> Vec<(ImageRef, Option<Mirror>)> {
    let mut specs: Vec<(ImageRef, Option<Mirror>)> = settings
        .mirrors_for(image.registry())
        .into_iter()
        .map(|m| (m.location_for(image), Some(m)))
        .collect();
    specs.push((image.clone(), None));
    specs
}

/// Where the walk in preference order stands.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// This candidate has the image and every earlier one failed.
    Chosen(usize),
    /// An earlier candidate has not answered yet.
    Wait,
    /// Every candidate failed.
    Exhausted,
}

/// `found[i]`: `None` while candidate `i` is pending, else whether it had the image.
pub(super) fn next_step(found: &[Option<bool>]) -> Step {
    for (i, outcome) in found.iter().enumerate() {
        match outcome {
            Some(true) => return Step::Chosen(i),
            Some(false) => continue,
            None => return Step::Wait,
        }
    }
    Step::Exhausted
}
