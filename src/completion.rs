//! Dynamic shell completion: values offered for `remove` commands, read from the config file.

use clap_complete::engine::CompletionCandidate;

/// Registries with a `registry-mirrors` entry.
pub fn configured_registries() -> Vec<CompletionCandidate> {
    Vec::new()
}

/// Mirrors of every configured registry.
pub fn configured_mirrors() -> Vec<CompletionCandidate> {
    Vec::new()
}

/// Run images with a `run-images` entry.
pub fn configured_run_images() -> Vec<CompletionCandidate> {
    Vec::new()
}

/// Mirror images of every configured run image.
pub fn configured_run_image_mirrors() -> Vec<CompletionCandidate> {
    Vec::new()
}

/// `insecure-registries` entries.
pub fn configured_insecure_registries() -> Vec<CompletionCandidate> {
    Vec::new()
}

/// Configured trusted builders.
pub fn configured_trusted_builders() -> Vec<CompletionCandidate> {
    Vec::new()
}
