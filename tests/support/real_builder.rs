//! The real builder of the test world: made by the real `pack builder create` from the
//! pinned lifecycle ([`super::world`]), the project's own buildpack
//! (`tests/real-builder/buildpacks/hello`) and busybox build and run images
//! (`tests/real-builder/*.Dockerfile`). See `tests/real-builder/README.md`.
//!
//! The build and run base images are built once per content (their tags carry a hash of
//! the Dockerfiles and busybox) and stay in the daemon as a small cache; each test then
//! makes its own builder, because the run-image name recorded in a builder is the test's
//! (a loopback registry with a port of its own).

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::world::{Lifecycle, LifecycleVersion};
use super::{
    DaemonImages, DockerSweeper, LocalImage, Output, Pack, RegistryOptions, TestHome, TestRegistry,
    build_image, build_local_image, must_run, push_image_to, run_cnb, run_with_timeout,
    unique_name, world,
};

const DOCKER_LIMIT: Duration = Duration::from_secs(180);

/// What a real builder is made of.
#[derive(Debug, Clone)]
pub struct RealBuilderOptions {
    pub lifecycle: LifecycleVersion,
    /// The run image the builder names (`[[run.images]] image` and the stack's run image).
    pub run_image: String,
    pub run_image_mirrors: Vec<String>,
    /// Platform APIs the builder declares; `None` for all the lifecycle supports. A subset
    /// (such as `["0.11"]`) makes cnb negotiate an older API with the same lifecycle.
    pub platform_apis: Option<Vec<String>>,
    /// Add the image extension `cnb-test/hello-ext` and an extension order.
    pub extension: bool,
    /// Make this PEM file the build image's CA bundle (`/etc/ssl/certs/ca-certificates.crt`),
    /// as a corporate builder has its own roots.
    pub build_image_ca: Option<PathBuf>,
}

impl RealBuilderOptions {
    /// The newest pinned lifecycle and this run image.
    pub fn new(run_image: &str) -> RealBuilderOptions {
        RealBuilderOptions {
            lifecycle: LifecycleVersion::V0_21,
            run_image: run_image.to_string(),
            run_image_mirrors: Vec::new(),
            platform_apis: None,
            extension: false,
            build_image_ca: None,
        }
    }

    pub fn build_image_ca(mut self, pem: &Path) -> RealBuilderOptions {
        self.build_image_ca = Some(pem.to_path_buf());
        self
    }

    pub fn with_extension(mut self) -> RealBuilderOptions {
        self.extension = true;
        self
    }

    pub fn lifecycle(mut self, version: LifecycleVersion) -> RealBuilderOptions {
        self.lifecycle = version;
        self
    }

    pub fn platform_apis(mut self, apis: &[&str]) -> RealBuilderOptions {
        self.platform_apis = Some(apis.iter().map(ToString::to_string).collect());
        self
    }
}

/// A builder made by `pack builder create`, and its run image, both in the daemon under
/// test-owned tags (removed on drop): `builder` is `cnbtest-real-builder-...:latest`, `run`
/// is tagged with the run-image name of the options.
#[derive(Debug)]
pub struct RealBuilder {
    pub builder: LocalImage,
    pub run: LocalImage,
    pub options: RealBuilderOptions,
    pub lifecycle: Lifecycle,
    /// The build image with its own CA bundle, when the options asked for one.
    pub build_image: Option<LocalImage>,
}

/// The `tests/real-builder` directory.
pub fn real_builder_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/real-builder")
}

/// The project's buildpack.
pub fn hello_buildpack_dir() -> PathBuf {
    real_builder_dir().join("buildpacks/hello")
}

/// The project's image extension.
pub fn hello_extension_dir() -> PathBuf {
    real_builder_dir().join("extensions/hello-ext")
}

impl RealBuilder {
    /// Makes the builder; `None` (after printing why) when Go is missing outside CI.
    pub fn create(options: RealBuilderOptions) -> Option<RealBuilder> {
        let lifecycle = world::lifecycle(options.lifecycle)?;
        let pack = Pack::new()?;
        let (build_base, run_base) = base_images();
        let build_image = options
            .build_image_ca
            .as_deref()
            .map(|ca| build_image_with_ca(&build_base, ca));
        let build_base = build_image
            .as_ref()
            .map(|i| i.tag().to_string())
            .unwrap_or(build_base);
        must_run(
            "docker",
            ["tag", &run_base, &options.run_image],
            DOCKER_LIMIT,
        );
        let run = LocalImage::adopt(&options.run_image);

        let work = tempfile::Builder::new()
            .prefix("cnbtest-real-builder-")
            .tempdir()
            .expect("temp dir");
        let archive = match &options.platform_apis {
            None => lifecycle.archive(),
            Some(apis) => {
                let path = work.path().join("lifecycle.tgz");
                restricted_archive(&lifecycle, apis, &path);
                path
            }
        };
        let toml = builder_toml(&options, &archive, &build_base);
        let config = work.path().join("builder.toml");
        std::fs::write(&config, toml).expect("write builder.toml");
        let tag = format!("{}:latest", unique_name("real-builder"));
        let mut cmd = pack.cmd();
        cmd.args([
            "builder",
            "create",
            &tag,
            "--pull-policy",
            "never",
            "--config",
        ])
        .arg(&config);
        let out = run_with_timeout(&mut cmd, DOCKER_LIMIT)
            .unwrap_or_else(|e| panic!("test support: pack builder create: {e}"));
        assert!(
            out.success(),
            "test support: pack builder create {tag} failed:\n{}\n{}",
            out.stdout,
            out.stderr
        );
        Some(RealBuilder {
            builder: LocalImage::adopt(&tag),
            run,
            options,
            lifecycle,
            build_image,
        })
    }

    /// The builder's local tag.
    pub fn tag(&self) -> &str {
        self.builder.tag()
    }
}

/// The pack builder config: one buildpack, one group, the lifecycle archive, the run image
/// (`[[run.images]]` for platform API 0.12 and later, `[stack]` so `stack.toml` is written
/// for older ones).
fn builder_toml(options: &RealBuilderOptions, archive: &Path, build_image: &str) -> String {
    let mirrors = serde_json::to_string(&options.run_image_mirrors).expect("mirrors json");
    format!(
        r#"description = "cnb test world builder (lifecycle {version})"

[[buildpacks]]
uri = {buildpack:?}

[[order]]
[[order.group]]
id = "cnb-test/hello"
version = "0.0.1"

[lifecycle]
uri = {archive:?}

[build]
image = {build_image:?}

[[run.images]]
image = {run:?}
mirrors = {mirrors}

[stack]
id = "io.buildpacks.stacks.cnbtest"
build-image = {build_image:?}
run-image = {run:?}
run-image-mirrors = {mirrors}

[[targets]]
os = "linux"
arch = "amd64"
{extension}"#,
        version = options.lifecycle.version(),
        buildpack = hello_buildpack_dir().display().to_string(),
        archive = archive.display().to_string(),
        run = options.run_image,
        extension = if options.extension {
            format!(
                r#"
[[extensions]]
uri = {:?}

[[order-extensions]]
[[order-extensions.group]]
id = "cnb-test/hello-ext"
version = "0.0.1"
"#,
                hello_extension_dir().display().to_string()
            )
        } else {
            String::new()
        },
    )
}

/// A copy of the lifecycle archive whose descriptor lists only `apis` as supported
/// platform APIs (the binaries are the same).
fn restricted_archive(lifecycle: &Lifecycle, apis: &[String], dest: &Path) {
    let descriptor = std::fs::read_to_string(lifecycle.descriptor()).expect("read descriptor");
    let quoted: Vec<String> = apis.iter().map(|a| format!("{a:?}")).collect();
    let mut out = String::new();
    let mut in_platform = false;
    for line in descriptor.lines() {
        if line.starts_with('[') {
            in_platform = line.trim() == "[apis.platform]";
        }
        if in_platform && line.trim_start().starts_with("supported") {
            out.push_str(&format!("  supported = [{}]\n", quoted.join(", ")));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    let file = File::create(dest).expect("create archive");
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    tar.follow_symlinks(false);
    let mut header = tar::Header::new_gnu();
    header.set_size(out.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "lifecycle.toml", out.as_bytes())
        .expect("append descriptor");
    tar.append_dir_all("lifecycle", lifecycle.bin_dir())
        .expect("append lifecycle");
    tar.into_inner()
        .expect("finish tar")
        .finish()
        .expect("finish gzip");
}

/// `base` with `ca` as its CA bundle, tagged `cnbtest-build-ca-...` (untagged on drop).
fn build_image_with_ca(base: &str, ca: &Path) -> LocalImage {
    let ctx = tempfile::Builder::new()
        .prefix("cnbtest-ctx-")
        .tempdir()
        .expect("context dir");
    std::fs::copy(ca, ctx.path().join("ca.crt")).expect("copy the CA");
    std::fs::write(
        ctx.path().join("Dockerfile"),
        format!("FROM {base}\nCOPY ca.crt /etc/ssl/certs/ca-certificates.crt\n"),
    )
    .expect("write Dockerfile");
    let tag = format!("{}:latest", unique_name("build-ca"));
    build_local_image(&tag, ctx.path(), None, &[], &[])
}

/// The build and run base images, built once per content: `cnbtest-world-build:<hash>`
/// and `cnbtest-world-run:<hash>`.
pub fn base_images() -> (String, String) {
    let dir = real_builder_dir();
    let busybox = std::fs::read("/bin/busybox")
        .unwrap_or_else(|e| panic!("read /bin/busybox (install busybox-static): {e}"));
    let mut hasher = Sha256::new();
    for file in ["build.Dockerfile", "run.Dockerfile"] {
        hasher.update(std::fs::read(dir.join(file)).expect("read Dockerfile"));
    }
    hasher.update(&busybox);
    let key = cnb::hex::encode(&hasher.finalize()[..6]);
    let build = format!("cnbtest-world-build:{key}");
    let run = format!("cnbtest-world-run:{key}");
    // One builder of the base images at a time on this machine.
    let lock_path = std::env::temp_dir().join("cnbtest-world-base-images.lock");
    let lock = File::create(&lock_path).expect("base image lock");
    // SAFETY: flock on a descriptor owned here; released when `lock` is dropped.
    unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    for (tag, dockerfile) in [(&build, "build.Dockerfile"), (&run, "run.Dockerfile")] {
        let present = run_with_timeout(
            Command::new("docker").args(["image", "inspect", "--format", "{{.Id}}", tag]),
            DOCKER_LIMIT,
        )
        .is_ok_and(|o| o.success());
        if present {
            continue;
        }
        let ctx = tempfile::Builder::new()
            .prefix("cnbtest-ctx-")
            .tempdir()
            .expect("context dir");
        std::fs::copy(dir.join(dockerfile), ctx.path().join("Dockerfile")).expect("copy");
        std::fs::write(ctx.path().join("busybox"), &busybox).expect("copy busybox");
        std::fs::set_permissions(
            ctx.path().join("busybox"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod busybox");
        build_image(tag, ctx.path(), None, &[], &[]);
    }
    (build, run)
}

/// A copy of the test world's run image with the label `io.cnbtest.variant=<variant>`,
/// tagged `tag` (a different image ID, the same layers): to tell from an app image which
/// of several run images a build used (the app image keeps its run image's labels).
pub fn run_image_variant(tag: &str, variant: &str) -> LocalImage {
    let (_, run_base) = base_images();
    let ctx = tempfile::Builder::new()
        .prefix("cnbtest-ctx-")
        .tempdir()
        .expect("context dir");
    std::fs::write(ctx.path().join("Dockerfile"), format!("FROM {run_base}\n"))
        .expect("write Dockerfile");
    build_local_image(
        tag,
        ctx.path(),
        None,
        &[format!("io.cnbtest.variant={variant}")],
        &[],
    )
}

/// The lifecycle image of the test world for `version`: built like the lifecycle's own
/// (`tools/image` in its repository): `/cnb/lifecycle/*` from the same build, working
/// directory `/layers`, and the labels `io.buildpacks.lifecycle.version`,
/// `io.buildpacks.lifecycle.apis` and the legacy `io.buildpacks.builder.metadata`; on
/// scratch, with `/tmp` and an `/etc/passwd` as distroless has. Built once per content
/// (`cnbtest-world-lifecycle:<version>-<hash>`) and kept in the daemon. `None` (after
/// printing why) when Go is missing outside CI.
pub fn lifecycle_image(version: LifecycleVersion) -> Option<String> {
    let lifecycle = world::lifecycle(version)?;
    let descriptor = std::fs::read_to_string(lifecycle.descriptor()).expect("read descriptor");
    let doc: toml_edit::DocumentMut = descriptor.parse().expect("descriptor is TOML");
    let list = |kind: &str, which: &str| -> Vec<String> {
        doc["apis"][kind][which]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let apis = serde_json::json!({
        "buildpack": {"deprecated": list("buildpack", "deprecated"), "supported": list("buildpack", "supported")},
        "platform": {"deprecated": list("platform", "deprecated"), "supported": list("platform", "supported")},
    });
    let legacy = serde_json::json!({
        "lifecycle": {"version": version.version()},
        "api": {"buildpack": list("buildpack", "supported")[0], "platform": list("platform", "supported")[0]},
    });
    let mut hasher = Sha256::new();
    hasher.update(std::fs::read(lifecycle.bin_dir().join("lifecycle")).expect("read lifecycle"));
    hasher.update(descriptor.as_bytes());
    let key = cnb::hex::encode(&hasher.finalize()[..6]);
    let tag = format!("cnbtest-world-lifecycle:{}-{key}", version.version());
    let lock_path = std::env::temp_dir().join("cnbtest-world-lifecycle-image.lock");
    let lock = File::create(&lock_path).expect("lifecycle image lock");
    // SAFETY: flock on a descriptor owned here; released when `lock` is dropped.
    unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    let present = run_with_timeout(
        Command::new("docker").args(["image", "inspect", "--format", "{{.Id}}", &tag]),
        DOCKER_LIMIT,
    )
    .is_ok_and(|o| o.success());
    if present {
        return Some(tag);
    }
    let ctx = tempfile::Builder::new()
        .prefix("cnbtest-ctx-")
        .tempdir()
        .expect("context dir");
    let root = ctx.path().join("rootfs");
    std::fs::create_dir_all(root.join("cnb")).expect("mkdir rootfs");
    std::fs::create_dir_all(root.join("etc")).expect("mkdir etc");
    std::fs::create_dir_all(root.join("tmp")).expect("mkdir tmp");
    std::fs::create_dir_all(root.join("layers")).expect("mkdir layers");
    std::fs::set_permissions(
        root.join("tmp"),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .expect("chmod tmp");
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
    )
    .expect("write passwd");
    std::fs::write(root.join("etc/group"), "root:x:0:\nnonroot:x:65532:\n").expect("write group");
    let status = Command::new("cp")
        .arg("-a")
        .arg(lifecycle.bin_dir())
        .arg(root.join("cnb/lifecycle"))
        .status()
        .expect("cp lifecycle");
    assert!(
        status.success(),
        "copy the lifecycle into the image context"
    );
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM scratch\nCOPY rootfs/ /\nWORKDIR /layers\n",
    )
    .expect("write Dockerfile");
    build_image(
        &tag,
        ctx.path(),
        None,
        &[
            format!("io.buildpacks.lifecycle.version={}", version.version()),
            format!("io.buildpacks.lifecycle.apis={apis}"),
            format!("io.buildpacks.builder.metadata={legacy}"),
        ],
        &[],
    );
    Some(tag)
}

/// A real builder and its run image pushed to a loopback registry, an app (a `message`
/// file), and a name to build: what most real-lifecycle tests start from.
pub struct RealWorld {
    pub home: TestHome,
    /// Where the builder and the run image are.
    pub registry: TestRegistry,
    pub id: String,
    pub builder: String,
    pub run_image: String,
    /// A daemon name (daemon mode) or a name on `registry` (for `--publish`).
    pub image: String,
    pub app: PathBuf,
    _images: DaemonImages,
    _sweeper: DockerSweeper,
}

impl RealWorld {
    /// On a plain-HTTP loopback registry, with the newest lifecycle.
    pub fn new() -> Option<RealWorld> {
        RealWorld::with(RegistryOptions::plain(), RealBuilderOptions::new(""))
    }

    /// `options.run_image` is replaced with a name on the new registry.
    pub fn with(registry: RegistryOptions, options: RealBuilderOptions) -> Option<RealWorld> {
        RealWorld::on(TestRegistry::start(registry), options)
    }

    /// On `registry` (one in a network namespace, for example); `options.run_image` is
    /// replaced with a name on it.
    pub fn on(registry: TestRegistry, mut options: RealBuilderOptions) -> Option<RealWorld> {
        let home = TestHome::new();
        let id = unique_name("life");
        let run_repo = format!("cnbtest/{id}-run:latest");
        let builder_repo = format!("cnbtest/{id}-builder:latest");
        options.run_image = format!("{}/{run_repo}", registry.host());
        let made = RealBuilder::create(options)?;
        push_image_to(made.run.tag(), &registry, &run_repo);
        push_image_to(made.tag(), &registry, &builder_repo);
        drop(made);
        let image = format!("cnbtest-{id}-app:latest");
        let app = home.write_app("app", &[("message", "hi from the test\n")]);
        Some(RealWorld {
            _images: DaemonImages(vec![image.clone()]),
            _sweeper: DockerSweeper::new()
                .registry(&registry)
                .volumes(&format!("{id}-app")),
            builder: format!("{}/{builder_repo}", registry.host()),
            run_image: format!("{}/{run_repo}", registry.host()),
            home,
            registry,
            id,
            image,
            app,
        })
    }

    /// The test world's lifecycle image (v0.21) pushed to this world's registry, by its
    /// name there (for `--lifecycle-image`); `None` when Go is missing outside CI.
    pub fn push_lifecycle_image(&self) -> Option<String> {
        let local = lifecycle_image(LifecycleVersion::V0_21)?;
        let repo = format!("cnbtest/{}-lifecycle:0.21.17", self.id);
        push_image_to(&local, &self.registry, &repo);
        Some(format!("{}/{repo}", self.registry.host()))
    }

    /// `cnb build <image> -B <builder> -p <app> --trust-builder <extra>`.
    pub fn build(&self, extra: &[&str]) -> Output {
        run_cnb(&self.home, self.build_args(extra))
    }

    pub fn build_args(&self, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "build".into(),
            self.image.clone(),
            "-B".into(),
            self.builder.clone(),
            "-p".into(),
            self.app.display().to_string(),
            "--trust-builder".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    pub fn app_file(&self, name: &str, content: &str) {
        std::fs::write(self.app.join(name), content).unwrap();
    }
}

#[track_caller]
pub fn assert_built(out: &Output) {
    assert!(
        out.success(),
        "cnb build failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.code(),
        out.stdout,
        out.stderr
    );
}

/// `docker pull -q image` (a loopback registry: the daemon allows plain HTTP there).
pub fn docker_pull(image: &str) {
    must_run("docker", ["pull", "-q", image], DOCKER_LIMIT);
}
