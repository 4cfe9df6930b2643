//! `cnb resolve`: where cnb would fetch each image from, and why.
//!
//! Every image is resolved concurrently through one [`Resolver`]; stdout gets the
//! candidates with their outcomes and latencies (text or SPEC §1's JSON), stderr the
//! status lines and warnings. Exit status 1 when any image has no usable candidate.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use serde_json::{Value, json};

use crate::cli::{GlobalArgs, OutputFormat, ResolveArgs};
use crate::config;
use crate::docker;
use crate::reference::{Given, ImageRef};
use crate::registry::{CandidateStatus, Platform, Resolution, Resolver};
use crate::ui::Ui;

pub fn run(global: &GlobalArgs, args: ResolveArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let images: Vec<ImageRef> = args
        .images
        .iter()
        .map(|given| given.value.clone())
        .collect();
    let location = config::locate(global.config.as_deref())?;
    let config = crate::commands::load_config(&location.path, ui)?.config;
    let settings = crate::commands::registry_settings(&args.registry, &config)?;

    ui.verbose(
        1,
        format!("probe timeout {} ms", settings.timeout.as_millis()),
    );
    let runtime = super::runtime()?;
    // The Docker daemon is asked for its architecture only if an image index needs it.
    let resolver = Resolver::detecting_platform(
        settings,
        Platform::host_linux(),
        docker::daemon_platform(args.docker_host.clone()),
    )
    .with_ui(ui.clone());
    let results = runtime.block_on(resolver.resolve_all(&images));

    match args.output.output {
        OutputFormat::Text => print_text(&args.images, &results, ui),
        OutputFormat::Json => {
            let value = to_json(&args.images, &results);
            let text = serde_json::to_string_pretty(&value).context("could not write JSON")?;
            ui.data(text);
        }
    }

    let errors: Vec<String> = results
        .iter()
        .filter_map(|r| r.error())
        .map(|e| e.to_string())
        .collect();
    match errors.len() {
        0 => Ok(ExitCode::SUCCESS),
        1 => Err(anyhow::anyhow!("{}", errors[0])),
        n => Err(anyhow::anyhow!(
            "{n} of {} images could not be resolved: {}",
            results.len(),
            errors.join(" | ")
        )),
    }
}

fn print_text(given: &[Given<ImageRef>], results: &[Arc<Resolution>], ui: &Ui) {
    for (i, resolution) in results.iter().enumerate() {
        if i > 0 {
            ui.data("");
        }
        let chosen = resolution
            .chosen()
            .map(|c| c.location.to_string())
            .unwrap_or_else(|| "not found anywhere".to_string());
        let asked = given.get(i).map(|g| g.text.as_str()).unwrap_or_default();
        let image = resolution.image.to_string();
        if asked == image {
            ui.data(format!("{image} -> {chosen}"));
        } else {
            ui.data(format!("{asked} ({image}) -> {chosen}"));
        }
        let width = resolution
            .candidates
            .iter()
            .map(|c| c.location.to_string().len())
            .max()
            .unwrap_or(0);
        for (n, c) in resolution.candidates.iter().enumerate() {
            let outcome = match &c.status {
                CandidateStatus::Chosen => "chosen".to_string(),
                CandidateStatus::Failed(reason) => format!("failed: {reason}"),
                CandidateStatus::Unused => "not needed".to_string(),
            };
            let time = match c.millis {
                Some(ms) => format!("{ms:>5} ms"),
                None => "    - ms".to_string(),
            };
            let kind = if c.mirror.is_some() {
                "mirror  "
            } else {
                "original"
            };
            ui.data(format!(
                "  {}. {kind}  {:<width$}  {time}  {outcome}",
                n + 1,
                c.location.to_string()
            ));
        }
        if let (Some(_), Some(digest)) = (resolution.chosen(), &resolution.digest) {
            ui.verbose(1, format!("{}: digest {digest}", resolution.image));
        }
    }
}

/// SPEC §1's shape, plus `digest` per image and `hint` per candidate.
fn to_json(given: &[Given<ImageRef>], results: &[Arc<Resolution>]) -> Value {
    Value::Array(
        results
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let candidates: Vec<Value> = r
                    .candidates
                    .iter()
                    .map(|c| {
                        json!({
                            "location": c.location.to_string(),
                            "status": c.status_str(),
                            "reason": c.failure().map(ToString::to_string),
                            "millis": c.millis,
                            "hint": c.hint(),
                        })
                    })
                    .collect();
                json!({
                    "image": given.get(i).map_or_else(|| r.image.to_string(), |g| g.text.clone()),
                    "chosen": r.chosen().map(|c| c.location.to_string()),
                    "candidates": candidates,
                    "digest": r.digest,
                })
            })
            .collect(),
    )
}
