//! Reading the app images a build left in the daemon: `docker image inspect`, the
//! buildpacks labels, `docker save` bytes, and running the image.

use std::time::Duration;

use super::{docker_run, must_run};

const DOCKER_LIMIT: Duration = Duration::from_secs(120);

/// `docker image inspect`, the first (only) object.
pub fn image_inspect(image: &str) -> serde_json::Value {
    let text = must_run("docker", ["image", "inspect", image], DOCKER_LIMIT);
    let all: serde_json::Value = serde_json::from_str(&text).expect("inspect JSON");
    all[0].clone()
}

/// A JSON label of an image, parsed (`io.buildpacks.lifecycle.metadata`, ...).
pub fn image_label(image: &str, name: &str) -> serde_json::Value {
    let config = image_inspect(image);
    let text = config["Config"]["Labels"][name]
        .as_str()
        .unwrap_or_else(|| panic!("{image} has no label {name}"));
    serde_json::from_str(text).unwrap_or_else(|e| panic!("label {name} is not JSON: {e}"))
}

/// The run image an app image records: `runImage.image` (platform API 0.12 and later), or
/// `stack.runImage.image` for older APIs.
pub fn recorded_run_image(image: &str) -> String {
    let md = image_label(image, "io.buildpacks.lifecycle.metadata");
    md["runImage"]["image"]
        .as_str()
        .or_else(|| md["stack"]["runImage"]["image"].as_str())
        .unwrap_or_else(|| panic!("{image} records no run image: {md:#}"))
        .to_string()
}

/// Runs the app image's default process (`docker run --pull never`) and returns its stdout.
#[track_caller]
pub fn run_app(image: &str) -> String {
    let ran = docker_run(&["--pull", "never", image]);
    assert!(
        ran.success(),
        "docker run {image} failed:\n{}\n{}",
        ran.stdout,
        ran.stderr
    );
    ran.stdout
}

/// Every byte of the image as `docker save` writes it (config, manifests, uncompressed
/// layers): where a host name would be if it were anywhere in the image.
pub fn saved_image(image: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::read(save_into(image, dir.path())).unwrap()
}

/// `docker save -o <dir>/image.tar <image>`; returns the file.
fn save_into(image: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let file = dir.join("image.tar");
    must_run(
        "docker",
        ["save", "-o", file.to_str().unwrap(), image],
        DOCKER_LIMIT,
    );
    file
}

/// Whether `needle` occurs in `haystack`.
pub fn bytes_contain(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The entries of one layer of a daemon image (`<mode> <uid>:<gid> <path>[ -> <link>]`),
/// found by its diff ID (`sha256:...`, as `io.buildpacks.lifecycle.metadata` records
/// layers): to show what differs when two layers that should be the same are not.
pub fn layer_listing(image: &str, diff_id: &str) -> Vec<String> {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let file = save_into(image, dir.path());
    let read_member = |name: &str| -> Option<Vec<u8>> {
        let mut archive = tar::Archive::new(std::fs::File::open(&file).ok()?);
        for entry in archive.entries().ok()? {
            let mut entry = entry.ok()?;
            if entry.path().ok()?.to_string_lossy() == name {
                let mut data = Vec::new();
                entry.read_to_end(&mut data).ok()?;
                return Some(data);
            }
        }
        None
    };
    let manifest: serde_json::Value =
        serde_json::from_slice(&read_member("manifest.json").expect("manifest.json in save"))
            .expect("manifest JSON");
    let config_name = manifest[0]["Config"].as_str().expect("config name");
    let config: serde_json::Value =
        serde_json::from_slice(&read_member(config_name).expect("config in save"))
            .expect("config JSON");
    let Some(index) = config["rootfs"]["diff_ids"]
        .as_array()
        .and_then(|ids| ids.iter().position(|d| d == diff_id))
    else {
        return vec![format!("{image} has no layer {diff_id}")];
    };
    let layer_name = manifest[0]["Layers"][index].as_str().expect("layer name");
    let layer = read_member(layer_name).expect("layer in save");
    let mut lines = Vec::new();
    for entry in tar::Archive::new(layer.as_slice())
        .entries()
        .expect("layer tar")
    {
        let entry = entry.expect("layer entry");
        let header = entry.header();
        let link = entry
            .link_name()
            .ok()
            .flatten()
            .map(|l| format!(" -> {}", l.display()))
            .unwrap_or_default();
        lines.push(format!(
            "{:o} {}:{} {}{link}",
            header.mode().unwrap_or(0),
            header.uid().unwrap_or(0),
            header.gid().unwrap_or(0),
            entry
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ));
    }
    lines
}
