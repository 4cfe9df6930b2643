//! Run-image preference order and selection (SPEC §6).
//!
//! 1. `--run-image R`: `R` is the only candidate.
//! 2. Otherwise `U1..Uj, I, M1..Mk` (user mirrors, the builder's run image, the builder's
//!    mirrors), duplicates after normalisation removed (the first occurrence stays).
//! 3. A stable partition: candidates on the target registry `T` first.
//! 4. The first readable candidate is chosen ([`RunImageOrder::select`]).

use std::fmt;

use super::LifecycleError;
use super::metadata::BuilderRunImage;
use crate::reference::{ImageRef, Registry};

/// Where a candidate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidateSource {
    /// `--run-image`.
    RunImageFlag,
    /// The user's `run-image-mirrors` for the builder's run image.
    UserMirror,
    /// The builder's run image (`images[0].image` / `stack.runImage.image`).
    BuilderRunImage,
    /// One of the builder's own mirrors for its run image.
    BuilderMirror,
}

impl CandidateSource {
    /// Short text for dry-run output.
    pub fn describe(self) -> &'static str {
        match self {
            CandidateSource::RunImageFlag => "given with --run-image",
            CandidateSource::UserMirror => "user mirror",
            CandidateSource::BuilderRunImage => "builder's run image",
            CandidateSource::BuilderMirror => "builder mirror",
        }
    }
}

impl fmt::Display for CandidateSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// One run image cnb may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunImageCandidate {
    pub image: ImageRef,
    pub source: CandidateSource,
    /// On the target registry (moved ahead of the others).
    pub on_target: bool,
}

impl RunImageCandidate {
    /// Why this candidate is where it is in the order: `user mirror, on target registry reg:5000`.
    pub fn why(&self, target: &Registry) -> String {
        if self.on_target && self.source != CandidateSource::RunImageFlag {
            format!("{}, on target registry {target}", self.source)
        } else {
            self.source.describe().to_string()
        }
    }
}

/// Candidates in preference order, not yet probed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunImageOrder {
    /// The registry preferred candidates are on.
    pub target: Registry,
    pub candidates: Vec<RunImageCandidate>,
}

/// The target registry `T`: the output image's registry with `--publish`, else the builder's.
pub fn target_registry(output: &ImageRef, builder: &ImageRef, publish: bool) -> Registry {
    if publish {
        output.registry().clone()
    } else {
        builder.registry().clone()
    }
}

/// The candidates in preference order (SPEC §6 steps 1–3).
///
/// `user_mirrors` are the configured `run-image-mirrors` for `builder_run_image.image`.
pub fn run_image_order(
    run_image_flag: Option<&ImageRef>,
    builder_run_image: &BuilderRunImage,
    user_mirrors: &[ImageRef],
    target: &Registry,
) -> RunImageOrder {
    let candidate = |image: &ImageRef, source| RunImageCandidate {
        on_target: image.registry() == target,
        image: image.clone(),
        source,
    };
    if let Some(r) = run_image_flag {
        return RunImageOrder {
            target: target.clone(),
            candidates: vec![candidate(r, CandidateSource::RunImageFlag)],
        };
    }
    let mut all: Vec<RunImageCandidate> = Vec::new();
    let listed = user_mirrors
        .iter()
        .map(|m| (m, CandidateSource::UserMirror))
        .chain(std::iter::once((
            &builder_run_image.image,
            CandidateSource::BuilderRunImage,
        )))
        .chain(
            builder_run_image
                .mirrors
                .iter()
                .map(|m| (m, CandidateSource::BuilderMirror)),
        );
    for (image, source) in listed {
        if !all.iter().any(|c| c.image == *image) {
            all.push(candidate(image, source));
        }
    }
    let (mut first, rest): (Vec<_>, Vec<_>) = all.into_iter().partition(|c| c.on_target);
    first.extend(rest);
    RunImageOrder {
        target: target.clone(),
        candidates: first,
    }
}

/// What the build found out about one candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readability {
    Readable,
    /// Not readable, and why (`not found on any mirror or the original registry`, `not in the daemon and pull policy is never`).
    Unreadable(String),
}

/// A candidate's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunImageStatus {
    Chosen,
    Unreadable(String),
    /// An earlier candidate was chosen (or this one was never probed).
    Unused,
}

impl RunImageStatus {
    /// `chosen`, `unreadable` or `unused` (the dry-run JSON's `status`).
    pub fn as_str(&self) -> &'static str {
        match self {
            RunImageStatus::Chosen => "chosen",
            RunImageStatus::Unreadable(_) => "unreadable",
            RunImageStatus::Unused => "unused",
        }
    }
}

/// The outcome of selection: every candidate with its status, exactly one chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunImageSelection {
    pub target: Registry,
    pub candidates: Vec<(RunImageCandidate, RunImageStatus)>,
    chosen: usize,
}

impl RunImageSelection {
    pub fn chosen(&self) -> &RunImageCandidate {
        &self.candidates[self.chosen].0
    }

    /// The candidates before the chosen one, each with the reason it was passed over.
    pub fn passed_over(&self) -> Vec<(&RunImageCandidate, &str)> {
        self.candidates[..self.chosen]
            .iter()
            .map(|(c, s)| match s {
                RunImageStatus::Unreadable(reason) => (c, reason.as_str()),
                _ => (c, "not readable"),
            })
            .collect()
    }

    /// A one-line summary: `Using run image X (user mirror, on target registry T)`.
    pub fn summary(&self) -> String {
        let chosen = self.chosen();
        format!(
            "Using run image {} ({})",
            chosen.image,
            chosen.why(&self.target)
        )
    }
}

impl RunImageOrder {
    /// Picks the first readable candidate. `results[i]` is the probe result for
    /// `candidates[i]`; it may be shorter than the candidate list when the build probed in
    /// order and stopped at the first readable one (the rest are then `unused`).
    /// When none is readable, the error lists every candidate with its reason.
    pub fn select(self, results: &[Readability]) -> Result<RunImageSelection, LifecycleError> {
        let results: Vec<Option<Readability>> = results.iter().cloned().map(Some).collect();
        self.select_checked(&results)
    }

    /// Like [`RunImageOrder::select`], for a build that probes concurrently: `None` is a
    /// candidate that was not checked (shown as `unused`, or `not checked` in the error).
    pub fn select_checked(
        self,
        results: &[Option<Readability>],
    ) -> Result<RunImageSelection, LifecycleError> {
        let result = |i: usize| results.get(i).and_then(Option::as_ref);
        let chosen =
            (0..self.candidates.len()).find(|&i| result(i) == Some(&Readability::Readable));
        let Some(chosen) = chosen else {
            let candidates = self
                .candidates
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let reason = match result(i) {
                        Some(Readability::Unreadable(reason)) => reason.clone(),
                        _ => "not checked".to_string(),
                    };
                    (c.image.to_string(), reason)
                })
                .collect();
            let hint = if self
                .candidates
                .iter()
                .any(|c| c.source == CandidateSource::RunImageFlag)
            {
                "check the --run-image name and your registry access".to_string()
            } else {
                "add a reachable mirror with `cnb config run-image-mirrors add <RUN-IMAGE> -m <MIRROR>`, or pass --run-image".to_string()
            };
            return Err(LifecycleError::NoReadableRunImage { candidates, hint });
        };
        let candidates = self
            .candidates
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let status = if i == chosen {
                    RunImageStatus::Chosen
                } else {
                    match result(i) {
                        Some(Readability::Unreadable(reason)) if i < chosen => {
                            RunImageStatus::Unreadable(reason.clone())
                        }
                        _ => RunImageStatus::Unused,
                    }
                };
                (c, status)
            })
            .collect();
        Ok(RunImageSelection {
            target: self.target,
            candidates,
            chosen,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::RunImageSource;

    fn img(s: &str) -> ImageRef {
        ImageRef::parse(s).unwrap()
    }

    fn reg(s: &str) -> Registry {
        Registry::parse(s).unwrap()
    }

    fn builder_run(image: &str, mirrors: &[&str]) -> BuilderRunImage {
        BuilderRunImage {
            image: img(image),
            mirrors: mirrors.iter().map(|m| img(m)).collect(),
            source: RunImageSource::Images,
        }
    }

    fn names(order: &RunImageOrder) -> Vec<String> {
        order.candidates.iter().map(|c| c.image.key()).collect()
    }

    #[test]
    fn run_image_flag_is_the_only_candidate() {
        let order = run_image_order(
            Some(&img("my.reg/run:2")),
            &builder_run("paketo/run", &["gcr.io/paketo/run"]),
            &[img("corp.example/run")],
            &reg("gcr.io"),
        );
        assert_eq!(names(&order), vec!["my.reg/run:2"]);
        assert_eq!(order.candidates[0].source, CandidateSource::RunImageFlag);
        assert_eq!(
            order.candidates[0].why(&order.target),
            "given with --run-image"
        );
    }

    #[test]
    fn user_mirrors_then_image_then_builder_mirrors() {
        let order = run_image_order(
            None,
            &builder_run("paketo/run", &["gcr.io/paketo/run", "quay.io/paketo/run"]),
            &[img("corp.example/run"), img("corp2.example/run")],
            &reg("elsewhere.example"),
        );
        assert_eq!(
            names(&order),
            vec![
                "corp.example/run:latest",
                "corp2.example/run:latest",
                "index.docker.io/paketo/run:latest",
                "gcr.io/paketo/run:latest",
                "quay.io/paketo/run:latest",
            ]
        );
        let sources: Vec<_> = order.candidates.iter().map(|c| c.source).collect();
        assert_eq!(
            sources,
            vec![
                CandidateSource::UserMirror,
                CandidateSource::UserMirror,
                CandidateSource::BuilderRunImage,
                CandidateSource::BuilderMirror,
                CandidateSource::BuilderMirror,
            ]
        );
        assert!(order.candidates.iter().all(|c| !c.on_target));
    }

    #[test]
    fn duplicates_are_removed_after_normalisation_keeping_the_first() {
        let order = run_image_order(
            None,
            &builder_run(
                "paketo/run",
                &[
                    "index.docker.io/paketo/run:latest",
                    "gcr.io/paketo/run",
                    "GCR.io/paketo/run:latest",
                ],
            ),
            &[img("gcr.io/paketo/run:latest"), img("docker.io/paketo/run")],
            &reg("other.example"),
        );
        assert_eq!(
            names(&order),
            vec![
                "gcr.io/paketo/run:latest",
                "index.docker.io/paketo/run:latest"
            ]
        );
        assert_eq!(order.candidates[0].source, CandidateSource::UserMirror);
        assert_eq!(order.candidates[1].source, CandidateSource::UserMirror);
    }

    #[test]
    fn candidates_on_the_target_registry_come_first_in_a_stable_partition() {
        let order = run_image_order(
            None,
            &builder_run(
                "paketo/run",
                &["gcr.io/paketo/run", "reg:5000/builder-mirror/run"],
            ),
            &[
                img("corp.example/run"),
                img("reg:5000/user/run"),
                img("reg:5001/user/run"),
            ],
            &reg("reg:5000"),
        );
        assert_eq!(
            names(&order),
            vec![
                "reg:5000/user/run:latest",
                "reg:5000/builder-mirror/run:latest",
                "corp.example/run:latest",
                "reg:5001/user/run:latest",
                "index.docker.io/paketo/run:latest",
                "gcr.io/paketo/run:latest",
            ]
        );
        let whys: Vec<_> = order
            .candidates
            .iter()
            .map(|c| c.why(&order.target))
            .collect();
        assert_eq!(whys[0], "user mirror, on target registry reg:5000");
        assert_eq!(whys[1], "builder mirror, on target registry reg:5000");
        assert_eq!(whys[2], "user mirror");
        assert_eq!(whys[4], "builder's run image");
    }

    #[test]
    fn docker_hub_target_matches_every_hub_spelling() {
        let order = run_image_order(
            None,
            &builder_run("gcr.io/paketo/run", &["registry-1.docker.io/paketo/run"]),
            &[],
            &reg("docker.io"),
        );
        assert_eq!(
            names(&order),
            vec![
                "index.docker.io/paketo/run:latest",
                "gcr.io/paketo/run:latest"
            ]
        );
        assert_eq!(
            order.candidates[0].why(&order.target),
            "builder mirror, on target registry docker.io"
        );
    }

    #[test]
    fn target_is_output_registry_with_publish_else_builders() {
        let out = img("reg.example:5000/app");
        let builder = img("paketobuildpacks/builder");
        assert_eq!(
            target_registry(&out, &builder, true),
            reg("reg.example:5000")
        );
        assert_eq!(
            target_registry(&out, &builder, false),
            reg("index.docker.io")
        );
    }

    fn three() -> RunImageOrder {
        run_image_order(
            None,
            &builder_run("paketo/run", &["gcr.io/paketo/run"]),
            &[img("corp.example/run")],
            &reg("x.example"),
        )
    }

    #[test]
    fn selection_takes_the_first_readable_and_marks_the_rest() {
        let sel = three()
            .select(&[
                Readability::Unreadable("not found".into()),
                Readability::Readable,
                Readability::Readable,
            ])
            .unwrap();
        assert_eq!(sel.chosen().image, img("paketo/run"));
        let statuses: Vec<_> = sel.candidates.iter().map(|(_, s)| s.clone()).collect();
        assert_eq!(
            statuses,
            vec![
                RunImageStatus::Unreadable("not found".into()),
                RunImageStatus::Chosen,
                RunImageStatus::Unused,
            ]
        );
        let passed = sel.passed_over();
        assert_eq!(passed.len(), 1);
        assert_eq!(passed[0].0.image, img("corp.example/run"));
        assert_eq!(passed[0].1, "not found");
        assert_eq!(
            sel.summary(),
            "Using run image docker.io/paketo/run:latest (builder's run image)"
        );
    }

    #[test]
    fn selection_accepts_results_cut_short_at_the_first_readable() {
        let sel = three().select(&[Readability::Readable]).unwrap();
        assert_eq!(sel.chosen().image, img("corp.example/run"));
        assert_eq!(sel.candidates[1].1, RunImageStatus::Unused);
        assert_eq!(sel.candidates[2].1, RunImageStatus::Unused);
        assert!(sel.passed_over().is_empty());
    }

    #[test]
    fn selection_from_concurrent_checks_with_gaps() {
        let sel = three()
            .select_checked(&[
                Some(Readability::Unreadable("timed out".into())),
                Some(Readability::Readable),
                None,
            ])
            .unwrap();
        assert_eq!(sel.chosen().image, img("paketo/run"));
        assert_eq!(
            sel.candidates[0].1,
            RunImageStatus::Unreadable("timed out".into())
        );
        assert_eq!(sel.candidates[2].1, RunImageStatus::Unused);
        // A later failure after the chosen one is still just "unused".
        let sel = three()
            .select_checked(&[
                Some(Readability::Readable),
                None,
                Some(Readability::Unreadable("x".into())),
            ])
            .unwrap();
        assert_eq!(sel.candidates[2].1, RunImageStatus::Unused);
        let err = three()
            .select_checked(&[None, Some(Readability::Unreadable("gone".into()))])
            .unwrap_err();
        assert!(
            err.to_string().contains(
                "corp.example/run:latest (not checked), docker.io/paketo/run:latest (gone)"
            ),
            "{err}"
        );
    }

    #[test]
    fn nothing_readable_lists_every_candidate_with_its_reason() {
        let err = three()
            .select(&[
                Readability::Unreadable("connection refused".into()),
                Readability::Unreadable("not found".into()),
            ])
            .unwrap_err();
        let LifecycleError::NoReadableRunImage { candidates, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(candidates.len(), 3);
        assert_eq!(candidates[2].1, "not checked");
        let text = err.to_string();
        assert!(
            text.starts_with(
                "no run image could be read: corp.example/run:latest (connection refused), \
                 docker.io/paketo/run:latest (not found), gcr.io/paketo/run:latest (not checked); "
            ),
            "{text}"
        );
        assert!(text.contains("cnb config run-image-mirrors add"), "{text}");

        let flag = run_image_order(
            Some(&img("my.reg/run")),
            &builder_run("paketo/run", &[]),
            &[],
            &reg("x.example"),
        );
        let text = flag
            .select(&[Readability::Unreadable("unauthorized".into())])
            .unwrap_err()
            .to_string();
        assert!(text.contains("my.reg/run:latest (unauthorized)"), "{text}");
        assert!(text.contains("--run-image"), "{text}");
    }
}
