//! The stand-in builder (files in `tests/builder/`, format of its report in
//! `tests/builder/README.md`): a real builder-shaped image, built with `docker build`, whose
//! `/cnb/lifecycle/creator` reports what the platform gave it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{TestRegistry, must_run, run_with_timeout, unique_name};

const DOCKER_LIMIT: Duration = Duration::from_secs(180);

/// What the stand-in builder's labels and env say. `Default` is a builder whose run image is
/// `run_image` with no mirrors, lifecycle 0.20.0, platform APIs supported
/// `["0.3","0.9","0.12","0.13","0.16","0.17"]` and deprecated `["0.2"]` (so cnb, which
/// supports 0.7–0.15, must pick 0.13), user 1000:1001.
#[derive(Debug, Clone)]
pub struct BuilderOptions {
    /// The run image (`images[0].image` and `stack.runImage.image`).
    pub run_image: String,
    pub run_image_mirrors: Vec<String>,
    /// Write the `images` field; when false only `stack.runImage` names the run image.
    pub with_images_field: bool,
    pub platform_supported: Vec<String>,
    pub platform_deprecated: Vec<String>,
    pub lifecycle_version: String,
    pub stack_id: String,
    pub user_id: u32,
    pub group_id: u32,
    /// Replaces the whole `io.buildpacks.builder.metadata` label (`Some("")` omits it).
    pub raw_metadata: Option<String>,
    /// Extra labels.
    pub labels: Vec<(String, String)>,
}

impl Default for BuilderOptions {
    fn default() -> Self {
        BuilderOptions {
            run_image: "127.0.0.1:1/cnbtest/run:latest".to_string(),
            run_image_mirrors: Vec::new(),
            with_images_field: true,
            platform_supported: ["0.3", "0.9", "0.12", "0.13", "0.16", "0.17"]
                .map(String::from)
                .to_vec(),
            platform_deprecated: vec!["0.2".to_string()],
            lifecycle_version: "0.20.0".to_string(),
            stack_id: "io.buildpacks.stacks.jammy".to_string(),
            user_id: 1000,
            group_id: 1001,
            raw_metadata: None,
            labels: Vec::new(),
        }
    }
}

impl BuilderOptions {
    /// Default options with this run image.
    pub fn with_run_image(run_image: &str) -> BuilderOptions {
        BuilderOptions {
            run_image: run_image.to_string(),
            ..BuilderOptions::default()
        }
    }

    /// The `io.buildpacks.builder.metadata` label these options produce.
    pub fn metadata_json(&self) -> serde_json::Value {
        let run = serde_json::json!({
            "image": self.run_image,
            "mirrors": self.run_image_mirrors,
        });
        let mut meta = serde_json::json!({
            "description": "cnb stand-in builder for tests",
            "stack": { "runImage": run },
            "buildpacks": [{ "id": "cnb-test/stand-in", "version": "0.0.1" }],
            "lifecycle": {
                "version": self.lifecycle_version,
                "api": { "buildpack": "0.2", "platform": "0.3" },
                "apis": {
                    "buildpack": { "deprecated": [], "supported": ["0.2", "0.10"] },
                    "platform": {
                        "deprecated": self.platform_deprecated,
                        "supported": self.platform_supported,
                    }
                }
            },
            "createdBy": { "name": "cnb tests", "version": "0.0.0" }
        });
        if self.with_images_field {
            meta["images"] = serde_json::json!([run]);
        }
        meta
    }
}

/// A docker image this test built or tagged; the tag is removed on drop
/// (`docker rmi`, which deletes the image when no other tag holds it).
#[derive(Debug)]
pub struct LocalImage {
    tag: String,
    id: String,
}

impl LocalImage {
    /// `cnbtest-builder-<pid>-<n>:latest` and the like.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// `sha256:...`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Gives the tag up: it stays in the daemon (for scripts that keep what they made).
    pub fn keep(self) -> String {
        let tag = self.tag.clone();
        std::mem::forget(self);
        tag
    }

    /// Takes ownership of an existing tag so it is removed on drop.
    pub fn adopt(tag: &str) -> LocalImage {
        let id = must_run(
            "docker",
            ["image", "inspect", "--format", "{{.Id}}", tag],
            DOCKER_LIMIT,
        );
        LocalImage {
            tag: tag.to_string(),
            id: id.trim().to_string(),
        }
    }
}

impl Drop for LocalImage {
    fn drop(&mut self) {
        let _ = run_with_timeout(
            Command::new("docker").args(["rmi", "--no-prune", &self.tag]),
            DOCKER_LIMIT,
        );
    }
}

pub struct StandInBuilder;

impl StandInBuilder {
    /// `docker build`s the stand-in builder with `opts` as a fresh local tag.
    pub fn build(opts: &BuilderOptions) -> LocalImage {
        let meta = match &opts.raw_metadata {
            Some(raw) => raw.clone(),
            None => opts.metadata_json().to_string(),
        };
        let order =
            serde_json::json!([{ "group": [{ "id": "cnb-test/stand-in", "version": "0.0.1" }] }]);
        let layers = serde_json::json!({
            "cnb-test/stand-in": { "0.0.1": {
                "api": "0.10",
                "stacks": [{ "id": opts.stack_id }],
                "layerDiffID": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                "homepage": ""
            }}
        });
        let mut labels = vec![
            ("io.buildpacks.stack.id".to_string(), opts.stack_id.clone()),
            (
                "io.buildpacks.buildpack.order".to_string(),
                order.to_string(),
            ),
            (
                "io.buildpacks.buildpack.layers".to_string(),
                layers.to_string(),
            ),
        ];
        if !meta.is_empty() {
            labels.push(("io.buildpacks.builder.metadata".to_string(), meta));
        }
        labels.extend(opts.labels.iter().cloned());
        let build_args = vec![
            format!("CNB_USER_ID={}", opts.user_id),
            format!("CNB_GROUP_ID={}", opts.group_id),
        ];
        docker_build("builder", "Dockerfile", &labels, &build_args)
    }

    /// `docker build`s the stand-in run image (busybox on scratch) as a fresh local tag.
    pub fn build_run_image() -> LocalImage {
        let labels = vec![(
            "io.buildpacks.stack.id".to_string(),
            "io.buildpacks.stacks.jammy".to_string(),
        )];
        docker_build("run", "run.Dockerfile", &labels, &[])
    }
}

/// The `tests/builder` directory.
pub fn builder_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/builder")
}

fn docker_build(
    what: &str,
    dockerfile: &str,
    labels: &[(String, String)],
    build_args: &[String],
) -> LocalImage {
    let ctx = tempfile::Builder::new()
        .prefix("cnbtest-ctx-")
        .tempdir()
        .expect("build context dir");
    let src = builder_dir();
    for f in ["Dockerfile", "run.Dockerfile", "creator"] {
        std::fs::copy(src.join(f), ctx.path().join(f))
            .unwrap_or_else(|e| panic!("copy tests/builder/{f}: {e}"));
    }
    std::fs::copy("/bin/busybox", ctx.path().join("busybox"))
        .unwrap_or_else(|e| panic!("copy /bin/busybox (install busybox-static): {e}"));
    let tag = format!("{}:latest", unique_name(what));
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    build_local_image(
        &tag,
        ctx.path(),
        Some(&ctx.path().join(dockerfile)),
        &labels,
        build_args,
    )
}

/// [`build_image`] for an image this test owns: labelled `io.cnbtest.tag=<tag>` so that its
/// image ID is its own, then adopted (untagged on drop).
///
/// Without the label, two tests that build the same content get the same image ID, and the
/// daemon's `rmi` of one tag races the other's `docker build`: the daemon decides to delete
/// the image while it has one name, the other build tags it, and the delete then removes
/// every name the image has, the new one included.
pub fn build_local_image(
    tag: &str,
    context: &Path,
    dockerfile: Option<&Path>,
    labels: &[String],
    build_args: &[String],
) -> LocalImage {
    let mut labels = labels.to_vec();
    labels.push(format!("io.cnbtest.tag={tag}"));
    build_image(tag, context, dockerfile, &labels, build_args);
    LocalImage::adopt(tag)
}

/// `docker build` of `context` as `tag`, the way the test world builds every image: the
/// classic builder, on the host network, intermediate containers removed, with `-f
/// dockerfile` when given, `labels` (`key=value`) and `build_args`; panics with docker's
/// output when it fails (after [`classic_build`]'s retries).
pub fn build_image(
    tag: &str,
    context: &Path,
    dockerfile: Option<&Path>,
    labels: &[String],
    build_args: &[String],
) {
    let mut cmd = Command::new("docker");
    cmd.env("DOCKER_BUILDKIT", "0").args([
        "build",
        "--quiet",
        "--network",
        "host",
        "--rm",
        "--force-rm",
    ]);
    if let Some(file) = dockerfile {
        cmd.arg("-f").arg(file);
    }
    for label in labels {
        cmd.arg("--label").arg(label);
    }
    for arg in build_args {
        cmd.arg("--build-arg").arg(arg);
    }
    cmd.arg("-t").arg(tag).arg(context);
    let out = classic_build(&mut cmd);
    assert!(
        out.success(),
        "test support: docker build {tag} failed:\n{}\n{}",
        out.stdout,
        out.stderr
    );
}

/// Runs a classic-builder `docker build`, once more (up to three times in all) when it
/// lost a race with another build: the classic builder can pick a cached layer that a
/// concurrent build's cleanup removes a moment later ("unable to find image sha256:...").
pub fn classic_build(cmd: &mut Command) -> super::Output {
    let mut attempt = 1;
    loop {
        let out = run_with_timeout(cmd, DOCKER_LIMIT)
            .unwrap_or_else(|e| panic!("test support: docker build: {e}"));
        let raced = !out.success()
            && (out.stderr.contains("unable to find image")
                || out.stdout.contains("unable to find image"));
        if !raced || attempt == 3 {
            return out;
        }
        attempt += 1;
    }
}

/// `docker tag local_tag dest && docker push dest && docker rmi dest`; returns the pushed
/// manifest digest. The daemon treats 127.0.0.0/8 registries as insecure, so plain-HTTP
/// loopback registries work; TLS or auth registries need [`push_image_to`].
pub fn push_image_as(local_tag: &str, dest: &str) -> String {
    must_run("docker", ["tag", local_tag, dest], DOCKER_LIMIT);
    let out = run_with_timeout(Command::new("docker").args(["push", dest]), DOCKER_LIMIT);
    let _ = run_with_timeout(
        Command::new("docker").args(["rmi", "--no-prune", dest]),
        DOCKER_LIMIT,
    );
    let out = out.unwrap_or_else(|e| panic!("test support: docker push {dest}: {e}"));
    assert!(
        out.success(),
        "test support: docker push {dest} failed:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    digest_in(&out.stdout)
        .unwrap_or_else(|| panic!("no digest in docker push output:\n{}", out.stdout))
}

/// Copies the daemon's `local_tag` to `registry` as `<host>/<repo_tag>` with skopeo, with the
/// registry's credentials and CA (works for TLS and auth registries, no daemon config needed).
/// Returns the manifest digest.
pub fn push_image_to(local_tag: &str, registry: &TestRegistry, repo_tag: &str) -> String {
    let dir = tempfile::Builder::new()
        .prefix("cnbtest-skopeo-")
        .tempdir()
        .expect("temp dir");
    let digest_file = dir.path().join("digest");
    let mut cmd = Command::new("skopeo");
    cmd.args(["copy", "--quiet", "--digestfile"])
        .arg(&digest_file)
        .arg(format!("docker-daemon:{local_tag}"))
        .arg(format!("docker://{}/{repo_tag}", registry.host()));
    match registry.cert_path() {
        Some(ca) => {
            let certs = dir.path().join("certs");
            std::fs::create_dir_all(&certs).expect("mkdir certs");
            std::fs::copy(ca, certs.join("ca.crt")).expect("copy CA");
            cmd.arg("--dest-cert-dir").arg(&certs);
        }
        None => {
            cmd.arg("--dest-tls-verify=false");
        }
    }
    if let Some(c) = registry.credentials() {
        cmd.arg("--dest-creds")
            .arg(format!("{}:{}", c.username, c.password));
    }
    let out = run_with_timeout(&mut cmd, DOCKER_LIMIT)
        .unwrap_or_else(|e| panic!("test support: skopeo copy: {e}"));
    assert!(
        out.success(),
        "test support: skopeo copy {local_tag} to {} failed:\n{}",
        registry.host(),
        out.stderr
    );
    std::fs::read_to_string(&digest_file)
        .expect("skopeo digest file")
        .trim()
        .to_string()
}

/// Copies `<from>/<from_repo_tag>` to `<to>/<to_repo_tag>` with skopeo, registry to
/// registry, with each side's CA and credentials. Returns the manifest digest.
pub fn copy_image(
    from: &TestRegistry,
    from_repo_tag: &str,
    to: &TestRegistry,
    to_repo_tag: &str,
) -> String {
    let dir = tempfile::Builder::new()
        .prefix("cnbtest-skopeo-")
        .tempdir()
        .expect("temp dir");
    let digest_file = dir.path().join("digest");
    let mut cmd = Command::new("skopeo");
    cmd.args(["copy", "--quiet", "--digestfile"])
        .arg(&digest_file)
        .arg(format!("docker://{}/{from_repo_tag}", from.host()))
        .arg(format!("docker://{}/{to_repo_tag}", to.host()));
    for (side, registry) in [("src", from), ("dest", to)] {
        match registry.cert_path() {
            Some(ca) => {
                let certs = dir.path().join(format!("{side}-certs"));
                std::fs::create_dir_all(&certs).expect("mkdir certs");
                std::fs::copy(ca, certs.join("ca.crt")).expect("copy CA");
                cmd.arg(format!("--{side}-cert-dir")).arg(&certs);
            }
            None => {
                cmd.arg(format!("--{side}-tls-verify=false"));
            }
        }
        if let Some(c) = registry.credentials() {
            cmd.arg(format!("--{side}-creds"))
                .arg(format!("{}:{}", c.username, c.password));
        }
    }
    let out = run_with_timeout(&mut cmd, DOCKER_LIMIT)
        .unwrap_or_else(|e| panic!("test support: skopeo copy: {e}"));
    assert!(
        out.success(),
        "test support: skopeo copy {}/{from_repo_tag} to {}/{to_repo_tag} failed:\n{}",
        from.host(),
        to.host(),
        out.stderr
    );
    std::fs::read_to_string(&digest_file)
        .expect("skopeo digest file")
        .trim()
        .to_string()
}

fn digest_in(text: &str) -> Option<String> {
    let at = text.find("digest: sha256:")?;
    let rest = &text[at + "digest: ".len()..];
    Some(rest.split_whitespace().next()?.to_string())
}

/// Runs `image` with `docker run --rm --network host <args>` (limit 120 s) and returns its
/// output; for checking the stand-in builder itself.
pub fn docker_run(args: &[&str]) -> super::Output {
    let mut cmd = Command::new("docker");
    cmd.args(["run", "--rm", "--network", "host"]).args(args);
    run_with_timeout(&mut cmd, Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("test support: docker run: {e}"))
}

/// The stand-in creator's report, parsed from its stdout (lines not starting with
/// `CNB-TEST ` are ignored, so cnb's own output may be mixed in).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreatorReport {
    /// Every argument, in order (`args[0]` is the first flag, not the program).
    pub args: Vec<String>,
    /// The whole environment.
    pub env: BTreeMap<String, String>,
    /// `/var/run/docker.sock` is a socket.
    pub docker_socket: bool,
    pub uid: u32,
    pub gid: u32,
    /// Every entry under the app dir: relative path → (`"file"`/`"dir"`, uid, gid).
    pub workspace: BTreeMap<String, (String, u32, u32)>,
    /// Files under `/platform/env`: name → content (newlines turned into spaces).
    pub platform_env: BTreeMap<String, String>,
    /// `/cache` and `/launch-cache` are mount points.
    pub cache_mounted: bool,
    pub launch_cache_mounted: bool,
    /// Lines in the counter file after this run (`None`: not writable).
    pub cache_count: Option<u32>,
    pub launch_cache_count: Option<u32>,
    /// The status the creator exited with.
    pub exit: Option<i32>,
    /// The report ended (`CNB-TEST end` seen).
    pub complete: bool,
}

impl CreatorReport {
    /// Parses the report; `Err` names the first malformed line, or a missing `begin`.
    pub fn parse(stdout: &str) -> Result<CreatorReport, String> {
        let mut r = CreatorReport::default();
        let mut begun = false;
        for line in stdout.lines() {
            let Some(item) = line.strip_prefix("CNB-TEST ") else {
                continue;
            };
            let (key, rest) = item.split_once(' ').unwrap_or((item, ""));
            let bad = || format!("malformed creator report line: {line:?}");
            match key {
                "begin" => begun = true,
                "argc" => {}
                "arg" => {
                    let (_, value) = rest.split_once(' ').unwrap_or((rest, ""));
                    r.args.push(value.to_string());
                }
                "env" => {
                    let (k, v) = rest.split_once('=').ok_or_else(bad)?;
                    r.env.insert(k.to_string(), v.to_string());
                }
                "docker-socket" => r.docker_socket = rest == "yes",
                "uid" => r.uid = rest.parse().map_err(|_| bad())?,
                "gid" => r.gid = rest.parse().map_err(|_| bad())?,
                "workspace" => {
                    let mut parts = rest.splitn(3, ' ');
                    let kind = parts.next().ok_or_else(bad)?;
                    let owner = parts.next().ok_or_else(bad)?;
                    let path = parts.next().ok_or_else(bad)?;
                    let (u, g) = owner.split_once(':').ok_or_else(bad)?;
                    r.workspace.insert(
                        path.to_string(),
                        (
                            kind.to_string(),
                            u.parse().map_err(|_| bad())?,
                            g.parse().map_err(|_| bad())?,
                        ),
                    );
                }
                "platform-env" => {
                    let (k, v) = rest.split_once('=').ok_or_else(bad)?;
                    r.platform_env.insert(k.to_string(), v.to_string());
                }
                "mounted" => match rest {
                    "cache yes" => r.cache_mounted = true,
                    "launch-cache yes" => r.launch_cache_mounted = true,
                    _ => {}
                },
                "count" => {
                    let (which, n) = rest.split_once(' ').ok_or_else(bad)?;
                    let n = n.parse().ok();
                    match which {
                        "cache" => r.cache_count = n,
                        "launch-cache" => r.launch_cache_count = n,
                        _ => return Err(bad()),
                    }
                }
                "sleep" => {}
                "exit" => r.exit = Some(rest.parse().map_err(|_| bad())?),
                "end" => r.complete = true,
                _ => return Err(bad()),
            }
        }
        if !begun {
            return Err("no creator report (no `CNB-TEST begin` line) in the output".to_string());
        }
        Ok(r)
    }

    /// The value following `flag` in the arguments (`-run-image` → its value).
    pub fn flag(&self, flag: &str) -> Option<&str> {
        self.args
            .iter()
            .position(|a| a == flag)
            .and_then(|i| self.args.get(i + 1))
            .map(String::as_str)
    }

    /// Every value following `flag` (for repeated flags like `-insecure-registry`).
    pub fn flag_all(&self, flag: &str) -> Vec<&str> {
        self.args
            .windows(2)
            .filter(|w| w[0] == flag)
            .map(|w| w[1].as_str())
            .collect()
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.args.iter().any(|a| a == flag)
    }

    pub fn env(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str)
    }
}

/// A named docker volume this test owns (`cnbtest-vol-<pid>-<n>`), removed on drop.
pub struct TestVolume {
    name: String,
}

impl TestVolume {
    pub fn create() -> TestVolume {
        let name = unique_name("vol");
        must_run("docker", ["volume", "create", &name], DOCKER_LIMIT);
        TestVolume { name }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestVolume {
    fn drop(&mut self) {
        let _ = run_with_timeout(
            Command::new("docker").args(["volume", "rm", "-f", &self.name]),
            DOCKER_LIMIT,
        );
    }
}

/// Every local image reference (`repo:tag`) whose name starts with `prefix`.
pub fn docker_images_with_prefix(prefix: &str) -> Vec<String> {
    let out = must_run(
        "docker",
        ["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"],
        DOCKER_LIMIT,
    );
    out.lines()
        .filter(|l| l.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

/// IDs of every container (running or not) created from `image` (`docker ps -a --filter
/// Daemon images a test made or cnb pulled for it, removed by name on drop (only the
/// name: `--no-prune`, and no `--force`, so layers other builds share are left alone).
pub struct DaemonImages(pub Vec<String>);

impl Drop for DaemonImages {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = run_with_timeout(
                Command::new("docker").args(["rmi", "--no-prune", name]),
                DOCKER_LIMIT,
            );
        }
    }
}

/// Whether the daemon has an image by this name (or ID).
pub fn in_daemon(name: &str) -> bool {
    run_with_timeout(
        Command::new("docker").args(["image", "inspect", "--format", "{{.Id}}", name]),
        DOCKER_LIMIT,
    )
    .is_ok_and(|o| o.success())
}

/// Every `repository:tag` in the daemon.
pub fn daemon_tags() -> Vec<String> {
    docker_lines(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
}

/// ancestor=`), to assert that nothing was left behind.
pub fn containers_from(image: &str) -> Vec<String> {
    let out = must_run(
        "docker",
        [
            "ps",
            "-a",
            "-q",
            "--no-trunc",
            "--filter",
            &format!("ancestor={image}"),
        ],
        DOCKER_LIMIT,
    );
    out.lines().map(str::to_string).collect()
}

/// Removes, on drop, every local image tag starting with one of its prefixes (e.g. a test
/// registry's `host()`: everything cnb pulled from it), and every volume whose name contains
/// one of its volume needles (cnb's cache volumes for an image name). Prefixes are test-
/// unique (ports, `unique_name`), so nothing of anyone else's is touched.
#[derive(Default)]
pub struct DockerSweeper {
    image_prefixes: Vec<String>,
    volume_needles: Vec<String>,
}

impl DockerSweeper {
    pub fn new() -> DockerSweeper {
        DockerSweeper::default()
    }

    /// Also remove images pulled or tagged from `registry`.
    pub fn registry(mut self, registry: &TestRegistry) -> DockerSweeper {
        self.image_prefixes.push(format!("{}/", registry.host()));
        self
    }

    /// Also remove images whose reference starts with `prefix`.
    pub fn images(mut self, prefix: &str) -> DockerSweeper {
        self.image_prefixes.push(prefix.to_string());
        self
    }

    /// Also remove volumes whose name contains `needle`.
    pub fn volumes(mut self, needle: &str) -> DockerSweeper {
        self.volume_needles.push(needle.to_string());
        self
    }
}

impl Drop for DockerSweeper {
    fn drop(&mut self) {
        if !self.image_prefixes.is_empty() {
            let refs = docker_lines(&["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]);
            for r in refs.iter().filter(|l| {
                self.image_prefixes
                    .iter()
                    .any(|p| l.starts_with(p.as_str()))
            }) {
                let _ = run_with_timeout(
                    Command::new("docker").args(["rmi", "--force", "--no-prune", r]),
                    DOCKER_LIMIT,
                );
            }
        }
        if !self.volume_needles.is_empty() {
            let names = docker_lines(&["volume", "ls", "-q"]);
            for name in names
                .iter()
                .filter(|n| self.volume_needles.iter().any(|v| n.contains(v.as_str())))
            {
                let _ = run_with_timeout(
                    Command::new("docker").args(["volume", "rm", "-f", name]),
                    DOCKER_LIMIT,
                );
            }
        }
    }
}

/// Removes, on drop, every docker volume whose name contains `needle` (for volumes cnb
/// creates itself, named after the image being built). Same as
/// `DockerSweeper::new().volumes(needle)`.
pub struct VolumeSweeper {
    pub needle: String,
}

impl Drop for VolumeSweeper {
    fn drop(&mut self) {
        for name in docker_lines(&["volume", "ls", "-q"])
            .iter()
            .filter(|n| n.contains(self.needle.as_str()))
        {
            let _ = run_with_timeout(
                Command::new("docker").args(["volume", "rm", "-f", name]),
                DOCKER_LIMIT,
            );
        }
    }
}

/// The lines `docker <args>` prints; empty when it fails (for cleanup paths).
fn docker_lines(args: &[&str]) -> Vec<String> {
    run_with_timeout(Command::new("docker").args(args), DOCKER_LIMIT)
        .map(|o| o.stdout.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// A stand-in builder and its run image, built and pushed to a test registry: everything a
/// `cnb build` test needs (`-B <builder>`). On drop the local builds are removed, and so is
/// every image tagged from that registry in the daemon (what cnb pulled).
pub struct PublishedBuilder {
    /// `<host>/cnbtest/builder-<n>:1`, as pushed.
    pub builder: String,
    pub builder_digest: String,
    /// `<host>/cnbtest/run-<n>:1`, as named in the builder's metadata.
    pub run_image: String,
    pub run_image_digest: String,
    /// The options the builder was built with (run image filled in).
    pub options: BuilderOptions,
    // Field order is drop order: untag what cnb pulled first, then the local builds.
    _sweeper: DockerSweeper,
    _builder_local: LocalImage,
    _run_local: LocalImage,
}

impl PublishedBuilder {
    /// Builds the run image and the builder from `opts` and pushes both to `registry` (with
    /// skopeo, so TLS and auth registries work too). `opts.run_image` is replaced by the
    /// pushed run image unless `keep_run_image` is true (to point the metadata elsewhere,
    /// e.g. at an image that does not exist).
    pub fn publish(registry: &TestRegistry, opts: BuilderOptions, keep_run_image: bool) -> Self {
        let n = super::next_id();
        let pid = std::process::id();
        let run_repo_tag = format!("cnbtest/run-{pid}-{n}:1");
        let builder_repo_tag = format!("cnbtest/builder-{pid}-{n}:1");
        let sweeper = DockerSweeper::new().registry(registry);
        let run_local = StandInBuilder::build_run_image();
        let run_image_digest = push_image_to(run_local.tag(), registry, &run_repo_tag);
        let run_image = format!("{}/{run_repo_tag}", registry.host());
        let mut options = opts;
        if !keep_run_image {
            options.run_image = run_image.clone();
        }
        let builder_local = StandInBuilder::build(&options);
        let builder_digest = push_image_to(builder_local.tag(), registry, &builder_repo_tag);
        PublishedBuilder {
            builder: format!("{}/{builder_repo_tag}", registry.host()),
            builder_digest,
            run_image,
            run_image_digest,
            options,
            _sweeper: sweeper,
            _builder_local: builder_local,
            _run_local: run_local,
        }
    }

    /// [`publish`](Self::publish) with the default options.
    pub fn publish_default(registry: &TestRegistry) -> Self {
        PublishedBuilder::publish(registry, BuilderOptions::default(), false)
    }
}
