//! The test world shared by every integration test file (`mod support;`).
//!
//! Everything here is blocking and meant to be called from plain `#[test]` functions
//! (async helpers run on a private tokio runtime; do not call them from inside another
//! runtime). Every fixture cleans up on `Drop`: processes are killed, temporary
//! directories removed, network namespaces and veth pairs deleted, and docker images the
//! fixture tagged removed. Every wait is bounded. Traffic stays on loopback, or goes to a
//! network namespace a test created itself (198.18.0.0/15).
//!
//! # Skip or fail
//!
//! [`docker_available`] (and [`NetnsHost::start`]) decide whether a test can run. When the
//! environment lacks what the test needs, they print `skipping: <reason>` to stderr and
//! return `false`/`None` — unless `CI` is set (to anything but `""`, `0` or `false`), in
//! which case they panic with the reason, so a broken CI machine fails instead of passing.
//!
//! ```ignore
//! mod support;
//! use support::*;
//!
//! #[test]
//! fn pulls_through_a_mirror() {
//!     if !docker_available() { return; }
//!     let home = TestHome::new();
//!     let registry = TestRegistry::start(RegistryOptions::plain());
//!     let digest = push_test_image(&registry, "app/run", "1");
//!     let out = cnb_cmd(&home).args(["resolve", &registry.image("app/run", "1")]).output().unwrap();
//!     assert!(out.status.success());
//! }
//! ```
//!
//! # API
//!
//! Homes, the binary, processes:
//! - [`TestHome::new()`], `.path()`, `.cnb_home()` (made by the first write), `.config_path()`,
//!   `.docker_config_dir()`, `.state_dir()` (`XDG_STATE_HOME`, made by cnb's first copy),
//!   `.config_copy(config) -> PathBuf` (cnb's copy of a config file for pack),
//!   `.write_config(toml) -> PathBuf`, `.read_config() -> Option<String>`,
//!   `.write_docker_config(&serde_json::Value)`, `.write_docker_auth(&[(host, &Credentials)])`,
//!   `.mkdir(rel) -> PathBuf`, `.write_app(name, &[(path, content)]) -> PathBuf`;
//! - running cnb in a home, the command line as one shell-split string or as words
//!   ([`CnbArgs`]): `.command(args) -> Command`, `.run(args) -> Output`, `.ok(args)` (must
//!   succeed), `.json(args) -> Value`, `.transcript(&[lines]) -> String` (`$ cnb <line>`, what
//!   it printed, `[exit N]`), and [`Expect`]: `.cnb(args).code(n).stdout(str![..]).stderr(str![..])
//!   .run()`; snapshots: `.assert_text(actual, str![..])` (`[HOME]` for the home's path),
//!   `.assert_text_with(actual, str![..], &[("[ORIGIN]", host)])`;
//! - [`cnb_cmd(&home)`](cnb_cmd) → `std::process::Command` for the built `cnb`, with `HOME`,
//!   `CNB_HOME`, `DOCKER_CONFIG`, `XDG_CONFIG_HOME`, `XDG_STATE_HOME` inside the home, `NO_COLOR=1`, no proxy
//!   variables, cwd = home; [`run_cnb(&home, args) -> Output`](run_cnb) runs it (120 s limit);
//!   [`Output`] has `status`, `stdout`, `stderr`, `success()`, `code()`, `assert_success()`;
//! - [`BackgroundProcess::spawn(cmd)`](BackgroundProcess::spawn): `wait_for_output(needle,
//!   limit) -> bool`, `signal(libc::SIGINT)`, `stdout()`, `stderr()`, `pid()`,
//!   `wait(limit) -> Output` (for Ctrl-C and streaming tests), `wait_or_kill(limit) ->`
//!   [`Bounded`] (`status: Option<ExitStatus>`, `stdout`, `stderr`, `killed()`, `success()`:
//!   SIGKILL at the limit, for a process that may never end by itself);
//! - [`docker_available()`], [`in_ci()`], [`skip_or_fail(reason)`](skip_or_fail);
//!   [`run_with_timeout`], [`must_run`], [`wait_for`], [`unique_name`], [`sha256_digest`];
//!   [`spawn_tied(cmd)`](spawn_tied) (the child is killed if the test process dies).
//!
//! Registries ([`registry`]):
//! - [`TestRegistry::start(RegistryOptions)`](TestRegistry::start) with
//!   `RegistryOptions::plain()`, `.tls()`, `.auth()`, `.ipv6()` (`[::1]`), `.proxy_of(&TestRegistry)`;
//!   accessors `host()` (`127.0.0.1:PORT`), `url()`, `scheme()`, `ip()`, `port()`,
//!   `is_tls()`, `cert_path() -> Option<&Path>` (the CA certificate to trust), `cert_pem()`,
//!   `credentials() -> Option<&Credentials>`, `basic_auth()`, `image(repo, tag)`, `dir()`,
//!   `log()`, `stop()`, `trust_in_docker() -> DockerTrust` (daemon trusts the CA until drop;
//!   the daemon accepts any certificate on 127.0.0.0/8 anyway, so this matters for netns
//!   registries); [`TestRegistry::start_in_netns(&NetnsHost, RegistryOptions)`](TestRegistry::start_in_netns);
//! - [`Credentials`] `{ username, password }`, `basic_header()`, `docker_auth_field()`;
//! - [`push_test_image(&reg, repo, tag) -> String`](push_test_image) (manifest digest; same
//!   bytes on every registry), [`push_test_image_marked(&reg, repo, tag, marker)`](push_test_image_marked)
//!   (different content), [`TestImage`] (`.marker()`, `.platform(os, arch)`, `.oci()`,
//!   `.label(k, v)`, `.env("K=V")`, `.push(&reg, repo, tag) -> PushedImage`,
//!   `.push_with(&HttpClient, base_url, repo, tag)`),
//!   [`push_test_index(&reg, repo, tag) -> PushedIndex`](push_test_index) (OCI index,
//!   linux/amd64 + linux/arm64; `digest`, `digest_for("linux/arm64")`),
//!   [`fetch_manifest(&reg, repo, reference) -> Result<HttpResponse, String>`](fetch_manifest);
//!   media-type constants [`DOCKER_MANIFEST`], [`OCI_INDEX`], [`MANIFEST_ACCEPT`], ...
//!
//! Network ([`net`], [`netns`]):
//! - [`Blackhole::start()`](Blackhole::start): `addr()`, `host()`, `connections()`;
//! - [`refused_addr() -> SocketAddr`](refused_addr), [`free_port()`](free_port);
//! - [`RecordingProxy::start(&TestRegistry)`](RecordingProxy::start): `addr()`, `host()`,
//!   `url()`, `requests() -> Vec<RecordedRequest>` (`method`, `path`, `headers`,
//!   `header(name)`, `has_authorization()`), `clear()`, `set_delay(Duration)`,
//!   `set_fixed_status(Option<u16>)`;
//! - [`ManifestServer::start(ManifestAnswer)`](ManifestServer::start) ([`manifest_server`]):
//!   a hostile registry whose manifests come with any Content-Type (or none), any
//!   `Docker-Content-Digest`, any size or no end ([`ManifestAnswer::bytes`],
//!   [`ManifestAnswer::filler`] with [`ManifestBody::Sized`] / [`ManifestBody::Endless`],
//!   `.digest_header(d)`); `host()`, `bytes_sent()`, `manifest_requests()`;
//! - [`HttpClient`]: `new()`, `trusting(ca_path)`, `insecure()`, `for_registry(&reg)`,
//!   `with_timeout(Option<ca_path>, Duration)`, `.with_authorization(Option<String>)`,
//!   `get(url)`, `head(url)`, `request(method, url, &[(k, v)], Option<body>)` →
//!   `Result<HttpResponse, String>` (`status`, `headers`, `body`, `header()`, `text()`, `json()`);
//! - [`NetnsHost::start() -> Option<NetnsHost>`](NetnsHost::start): `ip()` (198.18.x.2),
//!   `host_ip()`, `name()`, `command(program)`;
//! - [`TinyProxy::start() -> Option<TinyProxy>`](TinyProxy::start) (a real HTTP proxy on
//!   loopback, Debian's tinyproxy), `start_with_auth(user, password)`: `host()`, `url()`,
//!   `log()`, `requests()` (each forwarded `GET http://...` / `CONNECT host:port` line).
//!
//! Docker and the stand-in builder ([`builder`], files in `tests/builder/`):
//! - [`StandInBuilder::build(&BuilderOptions) -> LocalImage`](StandInBuilder::build),
//!   [`BuilderOptions`] (`with_run_image(img)`, fields `run_image`, `run_image_mirrors`,
//!   `with_images_field`, `platform_supported`, `platform_deprecated`, `lifecycle_version`,
//!   `stack_id`, `user_id`, `group_id`, `raw_metadata`, `labels`; `metadata_json()`),
//!   [`StandInBuilder::build_run_image() -> LocalImage`](StandInBuilder::build_run_image);
//!   [`LocalImage`] (`tag()`, `id()`, `adopt(tag)`, `keep()`; untagged on drop);
//! - [`push_image_as(local_tag, dest) -> String`](push_image_as) (docker tag/push/untag, plain
//!   HTTP loopback registries), [`push_image_to(local_tag, &reg, "repo:tag") -> String`](push_image_to)
//!   (skopeo; TLS and auth registries too), [`copy_image(&from, "repo:tag", &to, "repo:tag")`](copy_image)
//!   (skopeo, registry to registry);
//! - [`PublishedBuilder::publish(&reg, BuilderOptions, keep_run_image)`](PublishedBuilder::publish)
//!   / `publish_default(&reg)`: run image + builder built and pushed (fields `builder`,
//!   `run_image`, `builder_digest`, `run_image_digest`, `options`; cleans the daemon on drop);
//! - [`CreatorReport::parse(&stdout)`](CreatorReport::parse) (format: tests/builder/README.md);
//! - [`docker_run(&args) -> Output`](docker_run), [`TestVolume::create()`](TestVolume::create),
//!   [`DockerSweeper::new().registry(&reg).images(prefix).volumes(needle)`](DockerSweeper)
//!   (removes on drop what cnb pulled/tagged/created), [`VolumeSweeper { needle }`](VolumeSweeper),
//!   [`docker_images_with_prefix`],
//!   [`containers_from(image)`](containers_from), [`DaemonImages`] (removes names on drop),
//!   [`in_daemon(name)`](in_daemon), [`daemon_tags()`](daemon_tags).
//!
//! A Kubernetes API server ([`cluster`], built from `tests/world/kube-apiserver`) and certificates ([`pki`]):
//! - [`TestCluster::start() -> Option<TestCluster>`](TestCluster::start): `server()`, `ca_path()`,
//!   `client_cert()`, `token()`, `set_local_registry_hosting(&[(key, yaml)])`, `stop_apiserver()`,
//!   `log()`; [`Kubeconfig`] (`new()`, `context(name, &cluster, KubeUser)`, `context_at(name,
//!   server, ca, KubeUser)`, `current(name)`, `yaml()`, `write(path)`), [`KubeUser`]
//!   (`ClientCert`, `Token`, `Exec`), [`write_exec_plugin(path, token) -> calls file`](write_exec_plugin);
//! - [`TestCa::create(dir, name)`](TestCa::create): `cert_path()`, `issue(name, subject,
//!   &CertUsage::Server { sans } | Client) -> IssuedCert { cert, key }`.
//!
//! The real lifecycle, pack and the real builder ([`world`], [`real_builder`], files in
//! `tests/world/` and `tests/real-builder/`):
//! - [`world::lifecycle(LifecycleVersion) -> Option<Lifecycle>`](world::lifecycle)
//!   (`V0_21`, `V0_20`; `dir`, `bin_dir()`, `descriptor()`, `archive()`), [`world::pack()`]
//!   `-> Option<PathBuf>`, [`world::kube_apiserver()`], [`world::etcd()`] (Debian's): built
//!   from their Go modules once per machine; `None` after `skipping: ...` when Go (or etcd) is
//!   missing (a panic in CI);
//! - [`RealBuilder::create(RealBuilderOptions) -> Option<RealBuilder>`](RealBuilder::create)
//!   (`RealBuilderOptions::new(run_image).lifecycle(v).platform_apis(&["0.11"])`; fields
//!   `builder`, `run`: [`LocalImage`]s, `tag()`), [`base_images()`](base_images);
//! - [`Pack::new() -> Option<Pack>`](Pack::new) ([`pack`]): the real pack with its own
//!   `PACK_HOME` and `DOCKER_CONFIG`; `cmd()`, `run(args) -> Output` ([`PACK_LIMIT`]),
//!   `run_bounded(args, limit) -> Bounded`, `config_path()`, `pack_home()`, `binary()`.
//!
//! App images in the daemon ([`image`]): [`image_inspect(image)`](image_inspect),
//! [`image_label(image, name) -> Value`](image_label), [`recorded_run_image(image)`](recorded_run_image),
//! [`run_app(image) -> stdout`](run_app), [`saved_image(image) -> Vec<u8>`](saved_image)
//! (`docker save` bytes), [`bytes_contain(haystack, needle)`](bytes_contain).
// Each test file uses a different part of the support code.
#![allow(dead_code, unused_imports)]

pub mod builder;
pub mod cluster;
pub mod image;
pub mod manifest_server;
pub mod net;
pub mod netns;
pub mod pack;
pub mod pki;
pub mod process;
pub mod real_builder;
pub mod registry;
pub mod tinyproxy;
pub mod world;

pub use builder::*;
pub use cluster::*;
pub use image::*;
pub use manifest_server::*;
pub use net::*;
pub use netns::*;
pub use pack::*;
pub use pki::*;
pub use process::*;
pub use real_builder::*;
pub use registry::*;
pub use tinyproxy::*;
pub use world::{Lifecycle, LifecycleVersion};

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long a fixture waits for a process it started to become ready.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A counter unique within this test process (for names, subnets, tags).
pub fn next_id() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A name unique on this machine for this run: `cnbtest-<what>-<pid>-<n>`.
pub fn unique_name(what: &str) -> String {
    format!("cnbtest-{what}-{}-{}", std::process::id(), next_id())
}

/// The runtime behind every async helper (reqwest, the recording proxy).
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        // reqwest is built without a default crypto provider (as the crate is).
        let _ = rustls::crypto::ring::default_provider().install_default();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("cnbtest-support")
            .build()
            .expect("test support: cannot start a tokio runtime")
    })
}

/// Whether `CI` is set (to anything but empty, `0` or `false`).
pub fn in_ci() -> bool {
    match std::env::var("CI") {
        Ok(v) => !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false")),
        Err(_) => false,
    }
}

/// The skip-vs-fail rule: in CI panic with `reason`; otherwise print
/// `skipping: <reason>` to stderr and return `false` (so `if !skip_or_fail(..) { return }`).
pub fn skip_or_fail(reason: &str) -> bool {
    if in_ci() {
        panic!("CI is set, so this test may not be skipped: {reason}");
    }
    eprintln!("skipping: {reason}");
    false
}

/// True when the Docker daemon answers (`docker info`, 30 s limit). When it does not:
/// panics with the reason if `CI` is set, else prints `skipping: <reason>` and returns false.
/// The answer is computed once per test process.
pub fn docker_available() -> bool {
    static ANSWER: OnceLock<Result<(), String>> = OnceLock::new();
    let answer = ANSWER.get_or_init(|| {
        let mut cmd = Command::new("docker");
        cmd.args(["info", "--format", "{{.ServerVersion}}"]);
        match run_with_timeout(&mut cmd, Duration::from_secs(30)) {
            Err(e) => Err(format!("cannot run the docker CLI: {e}")),
            Ok(out) if out.status.success() && !out.stdout.trim().is_empty() => Ok(()),
            Ok(out) => Err(format!(
                "no Docker daemon answers (`docker info`: {})",
                out.stderr.trim()
            )),
        }
    });
    match answer {
        Ok(()) => true,
        Err(reason) => skip_or_fail(reason),
    }
}

type SpawnRequest = (
    Command,
    std::sync::mpsc::Sender<std::io::Result<std::process::Child>>,
);

/// Spawns `cmd` so that its process gets SIGKILL when this test process dies, even when the
/// runner kills the test before any `Drop` runs (no orphaned registries or cnb processes).
/// The process is started from one long-lived thread, because the kernel's parent-death
/// signal follows the thread that forked, not the process.
pub fn spawn_tied(mut cmd: Command) -> std::io::Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    use std::sync::{Mutex, mpsc};
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("cnbtest-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("test support: spawner thread");
        Mutex::new(tx)
    });
    // SAFETY: prctl is async-signal-safe and touches only the calling (child) process.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let (reply_tx, reply_rx) = mpsc::channel();
    spawner
        .lock()
        .map_err(|_| std::io::Error::other("spawner lock poisoned"))?
        .send((cmd, reply_tx))
        .map_err(|_| std::io::Error::other("spawner thread is gone"))?;
    reply_rx
        .recv()
        .map_err(|_| std::io::Error::other("spawner thread is gone"))?
}

/// The captured result of a command run with [`run_with_timeout`].
#[derive(Debug, Clone)]
pub struct Output {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// The exit code (`-1` when killed by a signal).
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }

    /// Panics with both streams unless the command succeeded.
    #[track_caller]
    pub fn assert_success(&self) -> &Output {
        assert!(
            self.status.success(),
            "command failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Runs `cmd` with stdin closed, capturing stdout and stderr, killing it after `limit`.
pub fn run_with_timeout(cmd: &mut Command, limit: Duration) -> std::io::Result<Output> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    let mut out_pipe = child.stdout.take().expect("piped stdout");
    let mut err_pipe = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("{cmd:?} did not finish within {limit:?}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Ok(Output {
        status,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

/// Runs a helper program (`docker`, `ip`, `openssl`, ...) and panics with its output
/// unless it succeeds within `limit`. Returns stdout.
#[track_caller]
pub fn must_run<I, S>(program: &str, args: I, limit: Duration) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(program);
    cmd.args(args);
    let shown = format!("{cmd:?}");
    match run_with_timeout(&mut cmd, limit) {
        Ok(out) if out.status.success() => out.stdout,
        Ok(out) => panic!(
            "{shown} failed ({}):\n{}\n{}",
            out.status, out.stdout, out.stderr
        ),
        Err(e) => panic!("{shown}: {e}"),
    }
}

/// Polls `check` every 50 ms until it returns `Some`, or gives up after `limit`.
pub fn wait_for<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A user name and password for a registry started with `RegistryOptions::auth()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl Credentials {
    /// `Basic <base64(user:password)>`, the value of an `Authorization` header.
    pub fn basic_header(&self) -> String {
        use base64::Engine;
        let raw = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    /// The `auth` field of a docker `config.json` entry: base64(user:password).
    pub fn docker_auth_field(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.username, self.password))
    }
}

/// A temporary home for one test: `HOME`, `CNB_HOME` (`<home>/.cnb`, not created until
/// something writes there), `DOCKER_CONFIG` (`<home>/.docker`), `XDG_CONFIG_HOME`
/// (`<home>/.config`) and `XDG_STATE_HOME` (`<home>/.local/state`, not created until cnb
/// keeps a copy of a config file there) all point inside it, so a test's config file,
/// docker credentials and cnb's state are its own. Removed on drop.
///
/// It also runs cnb: `home.ok("config registry-mirrors list")` (see [`CnbArgs`]), and
/// checks text against snapshots with the home's path shown as `[HOME]`
/// ([`TestHome::assert_text`]).
pub struct TestHome {
    dir: tempfile::TempDir,
}

impl Default for TestHome {
    fn default() -> Self {
        TestHome::new()
    }
}

impl TestHome {
    pub fn new() -> TestHome {
        let dir = tempfile::Builder::new()
            .prefix("cnbtest-home-")
            .tempdir()
            .expect("test support: cannot create a temporary home");
        // `$CNB_HOME` is made by the first write (cnb's or the test's): a read must not need it.
        for sub in [".docker", ".config"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("test support: mkdir in home");
        }
        TestHome { dir }
    }

    /// The home directory (`HOME`).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `CNB_HOME`.
    pub fn cnb_home(&self) -> PathBuf {
        self.dir.path().join(".cnb")
    }

    /// Where cnb reads its config by default in this home: `$CNB_HOME/config.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.cnb_home().join("config.toml")
    }

    /// `DOCKER_CONFIG` (holds `config.json`).
    pub fn docker_config_dir(&self) -> PathBuf {
        self.dir.path().join(".docker")
    }

    /// `XDG_STATE_HOME`: where cnb keeps its state (its copies of config files for pack).
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join(".local").join("state")
    }

    /// Where cnb keeps its copy of the config file at `config` (which must exist), as
    /// docs/configuration.md ("When pack rewrites the file") says:
    /// `$XDG_STATE_HOME/cnb/config-copies/` and the first 16 hex digits of the SHA-256 of
    /// the file's absolute path, symbolic links followed, then `.toml`.
    pub fn config_copy(&self, config: &Path) -> PathBuf {
        let absolute = config
            .canonicalize()
            .unwrap_or_else(|e| panic!("test support: {}: {e}", config.display()));
        let digest = sha256_digest(absolute.as_os_str().as_encoded_bytes());
        let hex = digest.trim_start_matches("sha256:");
        self.state_dir()
            .join("cnb")
            .join("config-copies")
            .join(format!("{}.toml", &hex[..16]))
    }

    /// Writes `$CNB_HOME/config.toml` (creating `$CNB_HOME`).
    pub fn write_config(&self, toml: &str) -> PathBuf {
        let path = self.config_path();
        std::fs::create_dir_all(self.cnb_home()).expect("test support: mkdir CNB_HOME");
        std::fs::write(&path, toml).expect("test support: write config.toml");
        path
    }

    /// A `Command` for `cnb <args>` in this home ([`cnb_cmd`]).
    pub fn command(&self, args: impl CnbArgs) -> Command {
        let mut cmd = cnb_cmd(self);
        cmd.args(args.words());
        cmd
    }

    /// Runs `cnb <args>` in this home ([`run_cnb`]).
    #[track_caller]
    pub fn run(&self, args: impl CnbArgs) -> Output {
        run_cnb(self, args.words())
    }

    /// Runs `cnb <args>` and panics with both streams unless it succeeds.
    #[track_caller]
    pub fn ok(&self, args: impl CnbArgs) -> Output {
        let out = self.run(args);
        out.assert_success();
        out
    }

    /// Runs `cnb <args>`, which must succeed and print JSON; the JSON.
    #[track_caller]
    pub fn json(&self, args: impl CnbArgs) -> serde_json::Value {
        let out = self.ok(args);
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("no JSON on stdout ({e}): {}", out.stdout))
    }

    /// Runs each command line in turn and returns the transcript a terminal would show:
    /// `$ cnb <line>`, what it printed (stdout, then stderr), and `[exit N]` when it did
    /// not exit 0. For tables of commands checked against one snapshot.
    #[track_caller]
    pub fn transcript<A>(&self, lines: &[A]) -> String
    where
        for<'a> &'a A: CnbArgs,
    {
        let mut text = String::new();
        for args in lines {
            let words = args.words();
            let out = self.run(&words);
            text.push_str(&format!(
                "$ cnb {}\n",
                shlex::try_join(words.iter().map(String::as_str)).unwrap_or_default()
            ));
            text.push_str(&out.stdout);
            text.push_str(&out.stderr);
            if out.code() != 0 {
                text.push_str(&format!("[exit {}]\n", out.code()));
            }
        }
        text
    }

    /// `cnb <args>` with what it must print and how it must end, checked by
    /// [`Expect::run`]: exit status 0 unless [`Expect::code`] says otherwise, stdout and
    /// stderr against snapshots when given (`SNAPSHOTS=overwrite` rewrites them).
    pub fn cnb(&self, args: impl CnbArgs) -> Expect<'_> {
        Expect {
            home: self,
            args: args.words(),
            code: 0,
            stdout: None,
            stderr: None,
        }
    }

    /// Checks `actual` against a snapshot (`snapbox::str![...]`; `SNAPSHOTS=overwrite`
    /// rewrites it), with this home's path shown as `[HOME]` and `[..]` matching
    /// anything within a line.
    #[track_caller]
    pub fn assert_text(&self, actual: &str, expected: impl snapbox::data::IntoData) {
        self.assert_text_with(actual, expected, &[]);
    }

    /// [`TestHome::assert_text`], also showing each `(placeholder, value)` as its
    /// placeholder: `("[ORIGIN]", origin.host())`. Longer values are replaced first.
    #[track_caller]
    pub fn assert_text_with(
        &self,
        actual: &str,
        expected: impl snapbox::data::IntoData,
        shown_as: &[(&'static str, String)],
    ) {
        let mut redactions = snapbox::Redactions::new();
        redactions
            .insert("[HOME]", self.path().to_path_buf())
            .expect("test support: [HOME] redaction");
        for (placeholder, value) in shown_as {
            redactions
                .insert(placeholder, value.clone())
                .unwrap_or_else(|e| panic!("test support: {placeholder}: {e}"));
        }
        snapbox::Assert::new()
            .action_env(snapbox::assert::DEFAULT_ACTION_ENV)
            .redact_with(redactions)
            .eq(actual, expected);
    }

    /// Reads `$CNB_HOME/config.toml` (`None` when it does not exist).
    pub fn read_config(&self) -> Option<String> {
        std::fs::read_to_string(self.config_path()).ok()
    }

    /// Writes `$DOCKER_CONFIG/config.json` as given.
    pub fn write_docker_config(&self, json: &serde_json::Value) -> PathBuf {
        let path = self.docker_config_dir().join("config.json");
        std::fs::write(&path, serde_json::to_vec_pretty(json).expect("json"))
            .expect("test support: write config.json");
        path
    }

    /// Writes `$DOCKER_CONFIG/config.json` with an `auths` entry per `(host, credentials)`
    /// (`host` as docker keys it: `127.0.0.1:5000`, `https://index.docker.io/v1/`, ...).
    pub fn write_docker_auth<S: AsRef<str>>(&self, entries: &[(S, &Credentials)]) -> PathBuf {
        let mut auths = serde_json::Map::new();
        for (host, creds) in entries {
            auths.insert(
                host.as_ref().to_string(),
                serde_json::json!({ "auth": creds.docker_auth_field() }),
            );
        }
        self.write_docker_config(&serde_json::json!({ "auths": auths }))
    }

    /// Creates an app directory `<home>/<name>` holding `files` (`(relative path, content)`,
    /// parent directories created), e.g. `&[("cnb-test-exit", "3")]` for the stand-in builder.
    pub fn write_app(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.mkdir(name);
        for (rel, content) in files {
            let path = dir.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("test support: mkdir in app");
            }
            std::fs::write(&path, content).expect("test support: write app file");
        }
        dir
    }

    /// Creates a directory under the home (e.g. an app to build) and returns its path.
    pub fn mkdir(&self, rel: &str) -> PathBuf {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(&path).expect("test support: mkdir");
        path
    }
}

/// Variables a test must not inherit from the developer's shell.
const SCRUBBED_ENV: &[&str] = &[
    "CNB_CONFIG",
    "CNB_HOME",
    "DOCKER_CONFIG",
    "NO_COLOR",
    "CLICOLOR_FORCE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "COMPLETE",
    "KUBECONFIG",
];

/// A `Command` for the built `cnb` binary, isolated in `home` (see [`TestHome`]), with
/// `NO_COLOR=1` and no proxy variables. `DOCKER_HOST` is inherited.
pub fn cnb_cmd(home: &TestHome) -> Command {
    // Set by cargo for integration tests; `examples/test-world.rs` shares this module
    // without running cnb from it.
    let Some(binary) = option_env!("CARGO_BIN_EXE_cnb") else {
        panic!("cnb_cmd is for integration tests, where cargo names the cnb binary");
    };
    let mut cmd = Command::new(binary);
    for var in SCRUBBED_ENV {
        cmd.env_remove(var);
    }
    cmd.env("HOME", home.path())
        .env("CNB_HOME", home.cnb_home())
        .env("DOCKER_CONFIG", home.docker_config_dir())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .env("XDG_STATE_HOME", home.state_dir())
        .env("NO_COLOR", "1")
        .current_dir(home.path())
        .stdin(Stdio::null());
    cmd
}

/// A cnb run and what it must do ([`TestHome::cnb`]).
#[must_use = "nothing runs until `.run()`"]
pub struct Expect<'a> {
    home: &'a TestHome,
    args: Vec<String>,
    code: i32,
    stdout: Option<snapbox::Data>,
    stderr: Option<snapbox::Data>,
}

impl Expect<'_> {
    /// The exit status it must end with.
    pub fn code(mut self, code: i32) -> Self {
        self.code = code;
        self
    }

    /// What stdout must be, whole (`[HOME]` for the home's path, `[..]` for anything
    /// within a line, `...` for any lines).
    pub fn stdout(mut self, expected: impl snapbox::data::IntoData) -> Self {
        self.stdout = Some(expected.into_data());
        self
    }

    /// What stderr must be, whole (as [`Expect::stdout`]).
    pub fn stderr(mut self, expected: impl snapbox::data::IntoData) -> Self {
        self.stderr = Some(expected.into_data());
        self
    }

    /// Runs cnb and checks the exit status, then the snapshots.
    #[track_caller]
    pub fn run(self) -> Output {
        let out = self.home.run(&self.args);
        assert_eq!(
            out.code(),
            self.code,
            "cnb {:?} exited {} (expected {}):\n--- stdout\n{}\n--- stderr\n{}",
            self.args,
            out.code(),
            self.code,
            out.stdout,
            out.stderr
        );
        if let Some(expected) = self.stdout {
            self.home.assert_text(&out.stdout, expected);
        }
        if let Some(expected) = self.stderr {
            self.home.assert_text(&out.stderr, expected);
        }
        out
    }
}

/// The words of a cnb command line, for [`TestHome`]'s helpers: one string split as a
/// shell splits it (`"config registry-mirrors add quay.io -m 'bad host'"`, no globbing),
/// or the words themselves (`&["resolve", &image]`) when values are computed.
pub trait CnbArgs {
    fn words(self) -> Vec<String>;
}

impl CnbArgs for &str {
    fn words(self) -> Vec<String> {
        shlex::split(self).unwrap_or_else(|| panic!("test support: cannot split {self:?}"))
    }
}

impl CnbArgs for &String {
    fn words(self) -> Vec<String> {
        self.as_str().words()
    }
}

impl<S: AsRef<str>> CnbArgs for &[S] {
    fn words(self) -> Vec<String> {
        self.iter().map(|s| s.as_ref().to_string()).collect()
    }
}

impl<S: AsRef<str>, const N: usize> CnbArgs for &[S; N] {
    fn words(self) -> Vec<String> {
        self.as_slice().words()
    }
}

impl<T: CnbArgs + Copy> CnbArgs for &T {
    fn words(self) -> Vec<String> {
        (*self).words()
    }
}

impl<S: AsRef<str>> CnbArgs for &Vec<S> {
    fn words(self) -> Vec<String> {
        self.as_slice().words()
    }
}

/// Runs `cnb <args>` in `home`, killing it after 120 s.
#[track_caller]
pub fn run_cnb<I, S>(home: &TestHome, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = cnb_cmd(home);
    cmd.args(args);
    run_with_timeout(&mut cmd, Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("cannot run cnb: {e}"))
}

/// The hex sha256 of `data`, as `sha256:<hex>`.
pub fn sha256_digest(data: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", cnb::hex::encode(&sha2::Sha256::digest(data)))
}
