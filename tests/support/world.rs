//! The Go half of the test world: the buildpacks lifecycle, pack and kube-apiserver, built
//! from the Go modules described in `tests/world/` (pinned with their `go.sum`), once per
//! machine; and etcd, from Debian's `etcd-server`.
//!
//! Each build goes to `target/tmp/test-world/<name>-<key>/`, where `<key>` is a hash of the
//! module's files, the build flags and the Go version, so a changed pin builds anew and an
//! unchanged one is reused between runs. An exclusive `flock` on `<name>.lock` makes the
//! tests of one run (nextest starts a process per test) build each thing once; the others
//! wait. The build runs with `GOFLAGS=-mod=readonly` (go.sum is the pin); a Go older than
//! a module's `go` line fetches that toolchain from the module proxy (Go's default).
//!
//! When Go (or etcd) is missing, [`lifecycle`], [`pack`], [`kube_apiserver`] and [`etcd`]
//! follow the skip-or-fail rule of [`super::skip_or_fail`]: `None` with `skipping: ...`
//! printed, or a panic in CI.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{run_with_timeout, skip_or_fail};

/// A Go build of the whole lifecycle takes about 90 s on two cores with a warm module
/// cache; downloading the modules first can take as long again. kube-apiserver takes
/// about 12 CPU-minutes with a warm module cache, and seen 17 minutes with the downloads on
/// two cores shared with another build.
const GO_BUILD_LIMIT: Duration = Duration::from_secs(30 * 60);

/// The two pinned lifecycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LifecycleVersion {
    /// v0.21.17: platform API 0.7 to 0.15.
    V0_21,
    /// v0.20.19: platform API 0.7 to 0.14.
    V0_20,
}

impl LifecycleVersion {
    pub const ALL: [LifecycleVersion; 2] = [LifecycleVersion::V0_21, LifecycleVersion::V0_20];

    /// `0.21.17`.
    pub fn version(self) -> &'static str {
        match self {
            LifecycleVersion::V0_21 => "0.21.17",
            LifecycleVersion::V0_20 => "0.20.19",
        }
    }

    /// The highest platform API this lifecycle supports.
    pub fn max_platform_api(self) -> &'static str {
        match self {
            LifecycleVersion::V0_21 => "0.15",
            LifecycleVersion::V0_20 => "0.14",
        }
    }

    fn module_dir(self) -> &'static str {
        match self {
            LifecycleVersion::V0_21 => "lifecycle-0.21",
            LifecycleVersion::V0_20 => "lifecycle-0.20",
        }
    }
}

/// A built lifecycle: `dir/lifecycle/{lifecycle,launcher,creator,...}` (the multi-call
/// binary with its phase links, as in the lifecycle's release archives), the descriptor
/// `dir/lifecycle.toml` and the archive `dir/lifecycle.tgz` of both (what
/// `pack builder create` takes as `[lifecycle] uri`).
#[derive(Debug, Clone)]
pub struct Lifecycle {
    pub version: LifecycleVersion,
    pub dir: PathBuf,
}

impl Lifecycle {
    /// The directory that becomes `/cnb/lifecycle` in a builder.
    pub fn bin_dir(&self) -> PathBuf {
        self.dir.join("lifecycle")
    }

    pub fn descriptor(&self) -> PathBuf {
        self.dir.join("lifecycle.toml")
    }

    pub fn archive(&self) -> PathBuf {
        self.dir.join("lifecycle.tgz")
    }
}

/// The phase links of the multi-call binary (the lifecycle's Makefile makes the same).
pub const PHASES: [&str; 8] = [
    "detector", "analyzer", "restorer", "builder", "exporter", "rebaser", "creator", "extender",
];

/// The pinned lifecycle, built on first use. `None` (after printing why) when Go is
/// missing outside CI.
pub fn lifecycle(version: LifecycleVersion) -> Option<Lifecycle> {
    static BUILT: [OnceLock<Result<PathBuf, String>>; 2] = [OnceLock::new(), OnceLock::new()];
    let slot = &BUILT[LifecycleVersion::ALL
        .iter()
        .position(|v| *v == version)
        .unwrap_or(0)];
    let built = slot.get_or_init(|| {
        let go = go()?;
        let ldflags = format!(
            "-s -w -X github.com/buildpacks/lifecycle/cmd.Version={}",
            version.version()
        );
        cached_build(&go, version.module_dir(), &ldflags, |go, module, out| {
            let bin = out.join("lifecycle");
            std::fs::create_dir_all(&bin).map_err(|e| e.to_string())?;
            go_build(
                go,
                module,
                &ldflags,
                &bin,
                &[
                    "github.com/buildpacks/lifecycle/cmd/lifecycle",
                    "github.com/buildpacks/lifecycle/cmd/launcher",
                ],
            )?;
            for phase in PHASES {
                std::os::unix::fs::symlink("lifecycle", bin.join(phase))
                    .map_err(|e| format!("link {phase}: {e}"))?;
            }
            // The descriptor comes from the API lists compiled into this lifecycle.
            let descriptor = go_run(go, module, &[version.version()])?;
            std::fs::write(out.join("lifecycle.toml"), descriptor).map_err(|e| e.to_string())?;
            write_archive(out).map_err(|e| format!("lifecycle.tgz: {e}"))
        })
    });
    built_or_skip(built).map(|dir| Lifecycle { version, dir })
}

/// The pinned `pack` binary, built on first use; `None` as for [`lifecycle`].
pub fn pack() -> Option<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let go = go()?;
        let ldflags = "-s -w -X github.com/buildpacks/pack/pkg/client.Version=0.40.9";
        cached_build(&go, "pack", ldflags, |go, module, out| {
            // The main package is the module's root: the binary is `pack`.
            go_build(go, module, ldflags, out, &["github.com/buildpacks/pack"])
        })
        .map(|dir| dir.join("pack"))
    });
    built_or_skip(built)
}

/// The Kubernetes release whose kube-apiserver the test world builds (tests/world/kube-apiserver).
pub const KUBERNETES_VERSION: &str = "1.37.2";

/// The pinned `kube-apiserver` binary, built on first use; `None` as for [`lifecycle`].
/// The build takes about 12 CPU-minutes (most of a clean test run's Go time).
pub fn kube_apiserver() -> Option<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let go = go()?;
        // What `kube-apiserver --version` and `/version` report (the release's own
        // builds set the same variables).
        let ldflags = format!(
            "-s -w -X k8s.io/component-base/version.gitVersion=v{KUBERNETES_VERSION} \
             -X k8s.io/component-base/version.gitMajor=1 \
             -X k8s.io/component-base/version.gitMinor=37"
        );
        cached_build(&go, "kube-apiserver", &ldflags, |go, module, out| {
            go_build(
                go,
                module,
                &ldflags,
                out,
                &["k8s.io/kubernetes/cmd/kube-apiserver"],
            )
        })
        .map(|dir| dir.join("kube-apiserver"))
    });
    built_or_skip(built)
}

/// Debian's `etcd` (package `etcd-server`, which scripts/setup installs), for
/// kube-apiserver's storage; `None` as for [`lifecycle`] when it is not installed.
pub fn etcd() -> Option<PathBuf> {
    let path = PathBuf::from("/usr/bin/etcd");
    if path.is_file() {
        return Some(path);
    }
    skip_or_fail(
        "etcd is not installed (the kube-apiserver of the test world stores its objects in \
         it; scripts/setup installs Debian's etcd-server)",
    );
    None
}

/// A build's result for a test: the path, or `None` after the skip-or-fail rule.
fn built_or_skip(built: &Result<PathBuf, String>) -> Option<PathBuf> {
    match built {
        Ok(path) => Some(path.clone()),
        Err(reason) => {
            skip_or_fail(reason);
            None
        }
    }
}

/// The `go` command: on `PATH`, else the usual install location.
fn go() -> Result<PathBuf, String> {
    let candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("go")).collect())
        .unwrap_or_default();
    candidates
        .into_iter()
        .chain([PathBuf::from("/usr/local/go/bin/go")])
        .find(|p| p.is_file())
        .ok_or_else(|| {
            "Go is not installed (the test world builds the lifecycle, pack and kube-apiserver from their Go \
             modules; scripts/setup installs Go)"
                .to_string()
        })
}

/// `target/tmp/test-world` (cargo's scratch directory for integration tests; the same
/// path from `examples/test-world.rs`, which cargo does not give one).
fn world_dir() -> PathBuf {
    let tmp = option_env!("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tmp"));
    tmp.join("test-world")
}

fn module_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/world")
        .join(name)
}

fn go_env(cmd: &mut Command) -> &mut Command {
    cmd.env("CGO_ENABLED", "0")
        .env("GOOS", "linux")
        .env("GOFLAGS", "-mod=readonly -trimpath")
        .env_remove("GOARCH")
}

/// The cache key: the module's files, the flags and the Go version.
fn build_key(go: &Path, module: &Path, ldflags: &str) -> Result<String, String> {
    let mut hasher = Sha256::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(module)
        .map_err(|e| format!("read {}: {e}", module.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for file in files {
        hasher.update(file.file_name().unwrap_or_default().as_encoded_bytes());
        hasher.update(std::fs::read(&file).map_err(|e| format!("read {}: {e}", file.display()))?);
    }
    hasher.update(ldflags.as_bytes());
    let out = run_with_timeout(
        Command::new(go).args(["env", "GOVERSION"]),
        Duration::from_secs(60),
    )
    .map_err(|e| format!("cannot run {}: {e}", go.display()))?;
    hasher.update(out.stdout.trim().as_bytes());
    Ok(cnb::hex::encode(&hasher.finalize()[..8]))
}

/// Builds into `test-world/<name>-<key>` unless a complete build is there, holding the
/// name's lock meanwhile. `build` gets the module directory and an empty output directory.
fn cached_build(
    go: &Path,
    name: &str,
    ldflags: &str,
    build: impl FnOnce(&Path, &Path, &Path) -> Result<(), String>,
) -> Result<PathBuf, String> {
    let module = module_path(name);
    let key = build_key(go, &module, ldflags)?;
    let root = world_dir();
    std::fs::create_dir_all(&root).map_err(|e| format!("mkdir {}: {e}", root.display()))?;
    let out = root.join(format!("{name}-{key}"));
    let done = out.join(".complete");
    let lock = File::create(root.join(format!("{name}.lock")))
        .map_err(|e| format!("lock file for {name}: {e}"))?;
    // SAFETY: flock on a descriptor this function owns; released when `lock` is closed.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!(
            "cannot lock the {name} build: {}",
            std::io::Error::last_os_error()
        ));
    }
    if done.is_file() {
        return Ok(out);
    }
    eprintln!(
        "test world: building {name} from tests/world/{name} into {} (once per machine)",
        out.display()
    );
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).map_err(|e| format!("mkdir {}: {e}", out.display()))?;
    build(go, &module, &out)?;
    File::create(&done)
        .and_then(|mut f| f.write_all(key.as_bytes()))
        .map_err(|e| format!("mark {} complete: {e}", out.display()))?;
    Ok(out)
}

fn go_build(
    go: &Path,
    module: &Path,
    ldflags: &str,
    out: &Path,
    packages: &[&str],
) -> Result<(), String> {
    let mut cmd = Command::new(go);
    go_env(&mut cmd)
        .current_dir(module)
        .args(["build", "-ldflags", ldflags, "-o"])
        .arg(format!("{}/", out.display()))
        .args(packages);
    let result = run_with_timeout(&mut cmd, GO_BUILD_LIMIT)
        .map_err(|e| format!("cannot run go build: {e}"))?;
    if !result.success() {
        return Err(format!(
            "go build of {} in {} failed (the Go module proxy must serve the pinned modules):\n{}",
            packages.join(" "),
            module.display(),
            result.stderr
        ));
    }
    Ok(())
}

fn go_run(go: &Path, module: &Path, args: &[&str]) -> Result<String, String> {
    let mut cmd = Command::new(go);
    go_env(&mut cmd)
        .current_dir(module)
        .arg("run")
        .arg(".")
        .args(args);
    let result =
        run_with_timeout(&mut cmd, GO_BUILD_LIMIT).map_err(|e| format!("cannot run go: {e}"))?;
    if !result.success() {
        return Err(format!(
            "go run in {} failed:\n{}",
            module.display(),
            result.stderr
        ));
    }
    Ok(result.stdout)
}

/// `lifecycle.tgz`: `lifecycle.toml` and `lifecycle/` with its links, as released.
fn write_archive(dir: &Path) -> std::io::Result<()> {
    let file = File::create(dir.join("lifecycle.tgz"))?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    tar.follow_symlinks(false);
    tar.append_path_with_name(dir.join("lifecycle.toml"), "lifecycle.toml")?;
    tar.append_dir_all("lifecycle", dir.join("lifecycle"))?;
    tar.into_inner()?.finish()?.sync_all()
}
