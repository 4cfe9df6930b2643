//! The Docker module against the real daemon: connection errors, the lifecycle
//! container (streamed output, exit status, upload ownership, cleanup, signals),
//! cache volumes.
//!
//! Tests that need the daemon skip with a printed reason when none is reachable,
//! unless `CI` is set (then they fail): `support::docker_available()`.
//!
//! A container's output goes to the process's own stdout/stderr, so tests that check
//! output re-run this binary as a child (`child_*` tests, which do nothing unless the
//! parent set their environment variable) and read what it printed.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bollard::query_parameters::{CreateImageOptionsBuilder, ListContainersOptionsBuilder};
use cnb::config::PullPolicy;
use cnb::docker::{Daemon, RunOptions};
use cnb::lifecycle::ContainerSpec;
use cnb::reference::{ImageRef, InsecureEntry, Mirror, MirrorKey};
use cnb::registry::{Platform, Resolver};
use cnb::settings::RegistrySettings;
use cnb::ui::Ui;
use futures_util::StreamExt;
use support::{
    Credentials, ManifestAnswer, ManifestBody, ManifestServer, NetnsHost, RecordingProxy,
    RegistryOptions, TestHome, TestImage, TestRegistry, docker_available, refused_addr,
};

/// Every image, container and volume these tests create starts with this.
const PREFIX: &str = "cnbtest-docker-";
/// Label on the containers these tests run; the value is unique per test.
const TEST_LABEL: &str = "io.cnb.test";
/// Set (to a test name) when this binary is re-run as a child that runs one container.
const CHILD_VAR: &str = "CNB_DOCKER_TEST_CHILD";
/// The app directory a child uploads.
const APP_VAR: &str = "CNB_DOCKER_TEST_APP";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The daemon, or `None` (after `support::docker_available` said why) when there is none
/// and `CI` is not set.
fn daemon_or_skip(rt: &tokio::runtime::Runtime) -> Option<Daemon> {
    if !docker_available() {
        return None;
    }
    Some(
        rt.block_on(Daemon::connect(None))
            .expect("docker info works, so must connect"),
    )
}

fn unique(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{PREFIX}{test}-{}-{nanos:x}", std::process::id())
}

/// A tiny busybox image (`/bin/busybox` plus applet links), imported once per daemon.
/// Its entrypoint fails, so a test passes only when the entrypoint is cleared (as for builders).
const BUSYBOX_IMAGE: &str = "cnbtest-docker-busybox:3";

async fn busybox_image(daemon: &Daemon) -> &'static str {
    if daemon.image_info(BUSYBOX_IMAGE).await.unwrap().is_some() {
        return BUSYBOX_IMAGE;
    }
    let mut tar = tar::Builder::new(Vec::new());
    let busybox = std::fs::read("/bin/busybox").expect("busybox-static at /bin/busybox");
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(0o755);
    header.set_size(0);
    tar.append_data(&mut header, "bin", std::io::empty())
        .unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_mode(0o755);
    header.set_size(busybox.len() as u64);
    tar.append_data(&mut header, "bin/busybox", busybox.as_slice())
        .unwrap();
    for applet in ["sh", "echo", "cat", "stat", "sleep", "ls", "touch", "find"] {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_mode(0o777);
        header.set_size(0);
        tar.append_link(&mut header, format!("bin/{applet}"), "busybox")
            .unwrap();
    }
    for (path, content) in [
        (
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\ncnb:x:1000:1000:cnb:/home/cnb:/bin/sh\n",
        ),
        ("etc/group", "root:x:0:\ncnb:x:1000:\n"),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_size(content.len() as u64);
        tar.append_data(&mut header, path, content.as_bytes())
            .unwrap();
    }
    let body = tar.into_inner().unwrap();
    let (repo, tag) = BUSYBOX_IMAGE.split_once(':').unwrap();
    let options = CreateImageOptionsBuilder::default()
        .from_src("-")
        .repo(repo)
        .tag(tag)
        .changes(vec!["ENTRYPOINT [\"/bin/busybox\", \"false\"]".to_string()])
        .build();
    let mut stream =
        daemon
            .client()
            .create_image(Some(options), Some(bollard::body_full(body.into())), None);
    while let Some(item) = stream.next().await {
        item.unwrap();
    }
    BUSYBOX_IMAGE
}

fn spec(image: &str, app_dir: &Path, script: &str) -> ContainerSpec {
    ContainerSpec {
        image: image.to_string(),
        command: vec!["/bin/sh".into(), "-c".into(), script.into()],
        env: BTreeMap::from([("CNB_PLATFORM_API".to_string(), "0.13".to_string())]),
        binds: vec![],
        volumes: vec![],
        network: Some("none".into()),
        user: "0:0".into(),
        security_opt: vec!["no-new-privileges=true".into()],
        platform_env: BTreeMap::new(),
        files: BTreeMap::new(),
        app_dir: Some(app_dir.to_path_buf()),
        app_filter: None,
        app_owner: (0, 0),
    }
}

async fn containers_with_label(daemon: &Daemon, value: &str) -> Vec<String> {
    let filters = HashMap::from([("label".to_string(), vec![format!("{TEST_LABEL}={value}")])]);
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    daemon
        .client()
        .list_containers(Some(options))
        .await
        .unwrap()
        .into_iter()
        .filter_map(|c| c.id)
        .collect()
}

fn options(label: &str) -> RunOptions {
    RunOptions {
        name: Some(label.to_string()),
        labels: HashMap::from([(TEST_LABEL.to_string(), label.to_string())]),
        ..RunOptions::default()
    }
}

#[test]
fn connect_to_a_missing_socket_names_the_address() {
    let err = runtime()
        .block_on(Daemon::connect(Some("unix:///nonexistent.sock")))
        .err()
        .expect("no daemon there");
    let text = err.to_string();
    assert!(text.contains("unix:///nonexistent.sock"), "{text}");
    assert!(!text.contains('\n'), "one line: {text}");
}

#[test]
fn connect_to_a_refused_port_names_the_address() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let address = format!("tcp://127.0.0.1:{port}");
    let started = Instant::now();
    let err = runtime()
        .block_on(Daemon::connect(Some(&address)))
        .err()
        .expect("nothing listens there");
    let text = err.to_string();
    assert!(text.contains(&address), "{text}");
    assert!(!text.contains('\n'), "one line: {text}");
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn docker_host_variable_is_used_when_no_flag_is_given() {
    // Only this test in this process touches DOCKER_HOST (nextest runs each test in its own process).
    // SAFETY: single-threaded at this point; no other thread reads the environment.
    unsafe { std::env::set_var("DOCKER_HOST", "unix:///nonexistent-from-env.sock") };
    let err = runtime().block_on(Daemon::connect(None)).err().unwrap();
    assert!(
        err.to_string()
            .contains("unix:///nonexistent-from-env.sock")
    );
    // The flag wins over the variable.
    let err = runtime()
        .block_on(Daemon::connect(Some("unix:///nonexistent-flag.sock")))
        .err()
        .unwrap();
    assert!(err.to_string().contains("unix:///nonexistent-flag.sock"));
}

#[test]
fn connects_and_negotiates_the_api_version() {
    let rt = runtime();
    let Some(daemon) = daemon_or_skip(&rt) else {
        return;
    };
    rt.block_on(async {
        if std::env::var_os("DOCKER_HOST").is_none() {
            assert_eq!(daemon.address(), "unix:///var/run/docker.sock");
            assert_eq!(daemon.socket_path(), Some("/var/run/docker.sock"));
        }
        let version = daemon.api_version();
        let server = daemon.client().version().await.unwrap();
        assert_eq!(
            Some(version),
            server.api_version,
            "client speaks the server's version"
        );
        let arch = daemon.architecture().await.unwrap();
        assert!(
            [
                "amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64"
            ]
            .contains(&arch.as_str())
        );
        assert!(
            daemon
                .image_info(&format!("{PREFIX}no-such-image:0"))
                .await
                .unwrap()
                .is_none()
        );
    });
}

/// Runs the test `test` of this binary as a child process with `env` added, stdout and
/// stderr into one file (one open file description, so the writes share an offset and
/// their order is kept), killed after 3 minutes. Returns (exit code, combined output).
fn run_child(test: &str, env: &[(&str, String)]) -> (Option<i32>, String) {
    let out = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(out.as_file().try_clone().unwrap())
        .stderr(out.as_file().try_clone().unwrap())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{test} did not finish in time:\n{}",
                std::fs::read_to_string(out.path()).unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status.code(), std::fs::read_to_string(out.path()).unwrap())
}

/// The child half of the run tests: runs the script named by the parent and exits with
/// the container's status (or cnb's exit code for an error).
fn child_main(script: &str, platform_env: BTreeMap<String, String>, owner: (u32, u32)) {
    let Ok(label) = std::env::var(CHILD_VAR) else {
        return; // Not a child: nothing to do here.
    };
    let app = std::env::var(APP_VAR).unwrap();
    let code = runtime().block_on(async {
        let daemon = Daemon::connect(None).await.unwrap();
        let image = busybox_image(&daemon).await;
        let mut spec = spec(image, Path::new(&app), script);
        spec.platform_env = platform_env;
        spec.app_owner = owner;
        match daemon.run_with(&spec, &options(&label), &Ui::plain()).await {
            Ok(status) => status as i32,
            Err(e) => {
                eprintln!("error: {e:#}");
                i32::from(cnb::error::exit_code(&e))
            }
        }
    });
    std::process::exit(code);
}

const RUN_SCRIPT: &str = "echo out-1; sleep 0.3; echo err-1 >&2; sleep 0.3; echo out-2; \
     stat -c 'OWN %u:%g %a %n' /workspace /workspace/hello.txt /workspace/bin /workspace/bin/run /platform/env/GREETING; \
     echo \"ENV $(cat /platform/env/GREETING)\"; echo \"API $CNB_PLATFORM_API\"; exit 3";

#[test]
fn child_run_script() {
    child_main(
        RUN_SCRIPT,
        BTreeMap::from([("GREETING".to_string(), "hello there".to_string())]),
        (1234, 2345),
    );
}

#[test]
fn run_streams_output_passes_the_status_owns_the_upload_and_cleans_up() {
    let rt = runtime();
    let Some(daemon) = daemon_or_skip(&rt) else {
        return;
    };
    rt.block_on(busybox_image(&daemon));
    let app = tempfile::tempdir().unwrap();
    std::fs::write(app.path().join("hello.txt"), "hi").unwrap();
    std::fs::create_dir(app.path().join("bin")).unwrap();
    std::fs::write(app.path().join("bin/run"), "#!/bin/sh\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        app.path().join("bin/run"),
        std::fs::Permissions::from_mode(0o750),
    )
    .unwrap();

    let label = unique("run");
    let (code, output) = run_child(
        "child_run_script",
        &[
            (CHILD_VAR, label.clone()),
            (APP_VAR, app.path().display().to_string()),
        ],
    );
    assert_eq!(
        code,
        Some(3),
        "the container's exit status comes back:\n{output}"
    );

    let position = |needle: &str| {
        output
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing from:\n{output}"))
    };
    assert!(position("out-1") < position("err-1"), "{output}");
    assert!(position("err-1") < position("out-2"), "{output}");
    // /workspace is 0777 whatever the app directory's mode, as pack makes it.
    assert!(
        output.contains("OWN 1234:2345 777 /workspace\n"),
        "{output}"
    );
    assert!(
        output.contains("OWN 1234:2345 644 /workspace/hello.txt"),
        "{output}"
    );
    assert!(
        output.contains("OWN 1234:2345 750 /workspace/bin/run"),
        "{output}"
    );
    assert!(
        output.contains("OWN 1234:2345 644 /platform/env/GREETING"),
        "{output}"
    );
    assert!(output.contains("ENV hello there"), "{output}");
    assert!(output.contains("API 0.13"), "{output}");

    let left = rt.block_on(containers_with_label(&daemon, &label));
    assert!(left.is_empty(), "container left behind: {left:?}");
}

#[test]
fn child_sleep_script() {
    child_main("echo started; sleep 60", BTreeMap::new(), (0, 0));
}

#[test]
fn sigint_and_sigterm_remove_the_container_and_exit_130_143() {
    let rt = runtime();
    let Some(daemon) = daemon_or_skip(&rt) else {
        return;
    };
    rt.block_on(busybox_image(&daemon));
    let app = tempfile::tempdir().unwrap();
    for (signal, expected) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let label = unique("signal");
        let out = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "child_sleep_script",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_VAR, &label)
            .env(APP_VAR, app.path())
            .stdout(out.as_file().try_clone().unwrap())
            .stderr(out.as_file().try_clone().unwrap())
            .spawn()
            .unwrap();
        // Wait (bounded) until the container is running and has printed.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !std::fs::read_to_string(out.path())
            .unwrap()
            .contains("started")
        {
            assert!(Instant::now() < deadline, "the container never started");
            assert!(
                child.try_wait().unwrap().is_none(),
                "child exited early: {}",
                std::fs::read_to_string(out.path()).unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(rt.block_on(containers_with_label(&daemon, &label)).len(), 1);
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(child.id() as i32, signal) };
        let started = Instant::now();
        let status = child.wait().unwrap();
        let output = std::fs::read_to_string(out.path()).unwrap();
        assert_eq!(status.code(), Some(expected), "{output}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "took {:?}",
            started.elapsed()
        );
        assert!(output.contains("interrupted by SIG"), "{output}");
        let left = rt.block_on(containers_with_label(&daemon, &label));
        assert!(left.is_empty(), "container left behind: {left:?}");
    }
}

#[test]
fn a_missing_image_is_an_error_and_leaves_nothing() {
    let rt = runtime();
    let Some(daemon) = daemon_or_skip(&rt) else {
        return;
    };
    rt.block_on(async {
        let app = tempfile::tempdir().unwrap();
        let label = unique("missing");
        let image = format!("{PREFIX}no-such-image:0");
        let err = daemon
            .run_with(
                &spec(&image, app.path(), "true"),
                &options(&label),
                &Ui::plain(),
            )
            .await
            .unwrap_err();
        assert!(format!("{err:#}").contains(&image), "{err:#}");
        assert!(containers_with_label(&daemon, &label).await.is_empty());
    });
}

#[test]
fn cache_volumes_are_kept_and_cleared() {
    let rt = runtime();
    let Some(daemon) = daemon_or_skip(&rt) else {
        return;
    };
    let image = rt.block_on(busybox_image(&daemon));
    let volume = unique("cache");
    let _cleanup = RemoveVolume(volume.clone());
    let app = tempfile::tempdir().unwrap();
    let ui = Ui::plain();
    rt.block_on(async {
        daemon.ensure_volume(&volume).await.unwrap();
        daemon.ensure_volume(&volume).await.unwrap(); // idempotent
        assert!(daemon.volume_exists(&volume).await.unwrap());

        let mut write = spec(image, app.path(), "touch /cache/marker");
        write.volumes = vec![(volume.clone(), "/cache".into())];
        let label = unique("vol");
        assert_eq!(
            daemon
                .run_with(&write, &options(&label), &ui)
                .await
                .unwrap(),
            0
        );

        let mut check = spec(image, app.path(), "test -e /cache/marker");
        check.command = vec![
            "/bin/busybox".into(),
            "test".into(),
            "-e".into(),
            "/cache/marker".into(),
        ];
        check.volumes = write.volumes.clone();
        let label = unique("vol");
        assert_eq!(
            daemon
                .run_with(&check, &options(&label), &ui)
                .await
                .unwrap(),
            0,
            "kept between runs"
        );

        daemon.clear_volume(&volume).await.unwrap();
        let label = unique("vol");
        assert_eq!(
            daemon
                .run_with(&check, &options(&label), &ui)
                .await
                .unwrap(),
            1,
            "emptied"
        );

        daemon.remove_volume(&volume).await.unwrap();
        assert!(!daemon.volume_exists(&volume).await.unwrap());
        daemon.remove_volume(&volume).await.unwrap(); // removing what is gone is fine
    });
}

// ---------------------------------------------------------------------------------------
// Getting images into the daemon

/// Removes the named images (`docker rmi -f --no-prune`) when dropped, whatever the test's
/// outcome. `--no-prune` keeps the untagged parent images: they are the legacy builder's
/// cache, which stand-in builds running in parallel tests are using at that moment.
struct RemoveImages(Vec<String>);

impl Drop for RemoveImages {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = Command::new("docker")
                .args(["rmi", "-f", "--no-prune", name])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Removes the named volume (`docker volume rm -f`) when dropped.
struct RemoveVolume(String);

impl Drop for RemoveVolume {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["volume", "rm", "-f", &self.0])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// What a `child_fetch` run does, passed as JSON in [`FETCH_VAR`].
const FETCH_VAR: &str = "CNB_DOCKER_TEST_FETCH";

fn resolver(arch: &str, mirrors: &[(String, String)], insecure: &[String]) -> Resolver {
    let settings = RegistrySettings {
        mirrors: mirrors
            .iter()
            .map(|(registry, mirror)| {
                (
                    MirrorKey::parse(registry).unwrap(),
                    vec![Mirror::parse(mirror).unwrap()],
                )
            })
            .collect(),
        insecure: insecure
            .iter()
            .map(|e| InsecureEntry::parse(e).unwrap())
            .collect(),
        timeout: Duration::from_secs(3),
        cas: Vec::new(),
        proxy: Default::default(),
    };
    let platform = Platform {
        os: "linux".into(),
        architecture: arch.into(),
        variant: None,
    };
    Resolver::new(settings, platform)
}

/// The child half of the fetch tests: fetch as told, print `FETCHED location=<..> loaded=<..>`.
#[test]
fn child_fetch() {
    let Ok(params) = std::env::var(FETCH_VAR) else {
        return; // Not a child.
    };
    // As cnb's main does: one TLS provider for every registry client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let params: serde_json::Value = serde_json::from_str(&params).unwrap();
    let strings = |key: &str| -> Vec<String> {
        params[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let mirrors: Vec<(String, String)> = params["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap().to_string(),
                pair[1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let insecure = strings("insecure");
    let image = ImageRef::parse(params["image"].as_str().unwrap()).unwrap();
    let policy = PullPolicy::parse(params["policy"].as_str().unwrap()).unwrap();
    let code = runtime().block_on(async {
        let daemon = Daemon::connect(None).await.unwrap();
        let arch = daemon.architecture().await.unwrap();
        let resolver = resolver(&arch, &mirrors, &insecure);
        match daemon.fetch(&resolver, &image, policy, &Ui::plain()).await {
            Ok(fetched) => {
                println!(
                    "FETCHED location={} loaded={}",
                    fetched
                        .location
                        .map(|l| l.to_string())
                        .unwrap_or_else(|| "none".into()),
                    fetched.loaded_by_cnb
                );
                0
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                i32::from(cnb::error::exit_code(&e))
            }
        }
    });
    std::process::exit(code);
}

/// Runs `child_fetch` with `params`; returns (exit code, stdout and stderr in order).
fn fetch_in_child(params: serde_json::Value) -> (Option<i32>, String) {
    run_child("child_fetch", &[(FETCH_VAR, params.to_string())])
}

/// [`fetch_in_child`] with the Docker credentials of `home`.
fn fetch_in_child_with_home(params: serde_json::Value, home: &TestHome) -> (Option<i32>, String) {
    run_child(
        "child_fetch",
        &[
            (FETCH_VAR, params.to_string()),
            (
                "DOCKER_CONFIG",
                home.docker_config_dir().display().to_string(),
            ),
            ("HOME", home.path().display().to_string()),
        ],
    )
}

#[test]
fn fetch_through_a_mirror_leaves_only_the_original_name() {
    let rt = runtime();
    let Some(daemon) = daemon_or_skip(&rt) else {
        return;
    };
    let mirror = TestRegistry::start(RegistryOptions::plain());
    let original = refused_addr().to_string();
    let repo = support::unique_name("docker-app");
    TestImage::new()
        .label("io.cnb.test.marker", "from-the-mirror")
        .push(&mirror, &repo, "1");
    let image = format!("{original}/{repo}:1");
    let at_mirror = mirror.image(&repo, "1");
    let _cleanup = RemoveImages(vec![image.clone(), at_mirror.clone()]);

    let params = |policy: &str| {
        serde_json::json!({
            "image": image, "mirrors": [[original, mirror.host()]], "insecure": [], "policy": policy,
        })
    };
    let (code, output) = fetch_in_child(params("always"));
    assert_eq!(code, Some(0), "{output}");
    assert!(
        output.contains(&format!("Using mirror {} for {image}", mirror.host())),
        "{output}"
    );
    assert!(
        output.contains(&format!("Pulling {image} from {at_mirror}")),
        "{output}"
    );
    assert!(
        output.contains(&format!("FETCHED location={at_mirror} loaded=false")),
        "{output}"
    );

    rt.block_on(async {
        let info = daemon
            .image_info(&image)
            .await
            .unwrap()
            .expect("original name");
        assert_eq!(
            info.labels.get("io.cnb.test.marker").map(String::as_str),
            Some("from-the-mirror")
        );
        assert_eq!(
            info.repo_tags,
            vec![image.clone()],
            "only the original name"
        );
        assert!(daemon.image_info(&at_mirror).await.unwrap().is_none());
    });

    // Present now: if-not-present does not pull again, and says nothing about it.
    let (code, output) = fetch_in_child(params("if-not-present"));
    assert_eq!(code, Some(0), "{output}");
    assert!(!output.contains("Pulling"), "{output}");
    assert!(
        output.contains("FETCHED location=none loaded=false"),
        "{output}"
    );
}

#[test]
fn pull_policy_never_names_the_missing_image_and_the_fix() {
    let rt = runtime();
    let Some(daemon) = daemon_or_skip(&rt) else {
        return;
    };
    let image = ImageRef::parse(&format!(
        "{}/{}:1",
        refused_addr(),
        support::unique_name("docker-never")
    ))
    .unwrap();
    let resolver = resolver("amd64", &[], &[]);
    let err = rt
        .block_on(daemon.fetch(&resolver, &image, PullPolicy::Never, &Ui::plain()))
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains(&image.to_string()), "{text}");
    assert!(text.contains("never"), "{text}");
    assert!(text.contains("--pull-policy"), "{text}");
}

/// A registry on a 198.18.x address in a network namespace: plain HTTP and not loopback,
/// so the daemon refuses it (it is not in the daemon's insecure registries).
#[test]
fn a_registry_the_daemon_refuses_is_loaded_only_when_cnb_may_use_it() {
    let rt = runtime();
    let Some(daemon) = daemon_or_skip(&rt) else {
        return;
    };
    let Some(netns) = NetnsHost::start() else {
        return;
    };
    let registry = TestRegistry::start_in_netns(&netns, RegistryOptions::plain());
    let repo = support::unique_name("docker-refused");
    TestImage::new()
        .label("io.cnb.test.marker", "loaded-by-cnb")
        .push(&registry, &repo, "1");
    let image = registry.image(&repo, "1");
    let cleanup = RemoveImages(vec![image.clone()]);

    // Insecure for cnb: fetched by cnb and loaded under the original name.
    let (code, output) = fetch_in_child(serde_json::json!({
        "image": image, "mirrors": [], "insecure": [netns.ip().to_string()], "policy": "always",
    }));
    assert!(
        !output.contains("from any location"),
        "cnb's own resolver must reach a plain-HTTP registry in its insecure list (SPEC §5) \
         before the daemon is asked:\n{output}"
    );
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("refused"), "{output}");
    assert!(output.contains(&format!("Loaded {image}")), "{output}");
    assert!(
        output.contains(&format!("FETCHED location={image} loaded=true")),
        "{output}"
    );
    let info = rt
        .block_on(daemon.image_info(&image))
        .unwrap()
        .expect("loaded");
    assert_eq!(info.repo_tags, vec![image.clone()]);
    assert_eq!(
        info.labels.get("io.cnb.test.marker").map(String::as_str),
        Some("loaded-by-cnb")
    );

    // Not insecure for cnb: no workaround, and the error says how to allow it.
    drop(cleanup);
    let _cleanup = RemoveImages(vec![image.clone()]);
    let (code, output) = fetch_in_child(serde_json::json!({
        "image": image, "mirrors": [], "insecure": [], "policy": "always",
    }));
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains(&registry.host()), "{output}");
    assert!(
        output.contains("cnb config insecure-registries add"),
        "{output}"
    );
    assert!(
        rt.block_on(daemon.image_info(&image)).unwrap().is_none(),
        "nothing loaded"
    );
}

/// A hostile registry in `netns` (so the daemon refuses it) whose image `<host>/cnbtest/config:1`
/// names a 1,024-byte config, and whose blob requests get `blob`.
fn serve_a_config(netns: &NetnsHost, blob: ManifestBody) -> (ManifestServer, String) {
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": format!("sha256:{}", "a".repeat(64)),
            "size": 1024,
        },
        "layers": [],
    });
    let server = ManifestServer::start_in_netns(
        netns,
        ManifestAnswer::bytes(
            Some("application/vnd.oci.image.manifest.v1+json"),
            manifest.to_string().as_bytes(),
        )
        .blobs(blob),
    );
    let image = format!("{}/cnbtest/config:1", server.host());
    (server, image)
}

/// A registry the daemon refuses that sends more of a blob than its manifest gives: cnb
/// stops at the manifest's size and says so, instead of writing until the disk is full.
#[test]
fn a_blob_longer_than_its_manifest_says_is_cut_off() {
    let rt = runtime();
    let Some(daemon) = daemon_or_skip(&rt) else {
        return;
    };
    let Some(netns) = NetnsHost::start() else {
        return;
    };
    let (server, image) = serve_a_config(&netns, ManifestBody::Endless);
    let _cleanup = RemoveImages(vec![image.clone()]);
    let (code, output) = fetch_in_child(serde_json::json!({
        "image": image, "mirrors": [], "insecure": [netns.ip().to_string()], "policy": "always",
    }));
    assert_eq!(code, Some(1), "{output}");
    assert!(
        output.contains("the registry sent more than the 1024 bytes the manifest gives"),
        "{output}"
    );
    // What the server got out before cnb hung up: socket buffers, not the endless body.
    assert!(
        server.bytes_sent() < 64 << 20,
        "{} bytes sent",
        server.bytes_sent()
    );
    assert!(
        rt.block_on(daemon.image_info(&image)).unwrap().is_none(),
        "nothing loaded"
    );
}

/// A registry the daemon refuses that sends the image config a byte at a time: cnb's read
/// of it is bounded by the probe timeout, as a manifest read is.
#[test]
fn a_config_that_never_finishes_is_given_up_after_the_probe_timeout() {
    let rt = runtime();
    let Some(daemon) = daemon_or_skip(&rt) else {
        return;
    };
    let Some(netns) = NetnsHost::start() else {
        return;
    };
    let (_server, image) = serve_a_config(&netns, ManifestBody::Drip);
    let _cleanup = RemoveImages(vec![image.clone()]);
    let (code, output) = fetch_in_child(serde_json::json!({
        "image": image, "mirrors": [], "insecure": [netns.ip().to_string()], "policy": "always",
    }));
    assert_eq!(code, Some(1), "{output}");
    assert!(
        output.contains(&format!(
            "cannot read the config of {image}: no answer within 3000 ms (timed out)"
        )),
        "{output}"
    );
    assert!(
        rt.block_on(daemon.image_info(&image)).unwrap().is_none(),
        "nothing loaded"
    );
}

/// An `http://` mirror the daemon refuses (plain HTTP, not loopback): cnb may use plain
/// HTTP with it, so it loads the image itself, under the original name only.
#[test]
fn an_http_mirror_the_daemon_refuses_is_loaded_under_the_original_name() {
    let rt = runtime();
    let Some(daemon) = daemon_or_skip(&rt) else {
        return;
    };
    let Some(netns) = NetnsHost::start() else {
        return;
    };
    let mirror = TestRegistry::start_in_netns(&netns, RegistryOptions::plain());
    let original = refused_addr().to_string();
    let repo = support::unique_name("docker-http-mirror");
    TestImage::new()
        .label("io.cnb.test.marker", "from-the-http-mirror")
        .push(&mirror, &repo, "1");
    let image = format!("{original}/{repo}:1");
    let at_mirror = mirror.image(&repo, "1");
    let _cleanup = RemoveImages(vec![image.clone(), at_mirror.clone()]);

    let (code, output) = fetch_in_child(serde_json::json!({
        "image": image,
        "mirrors": [[original, format!("http://{}", mirror.host())]],
        "insecure": [],
        "policy": "always",
    }));
    assert_eq!(code, Some(0), "{output}");
    assert!(
        output.contains(&format!(
            "Using mirror http://{} for {image}",
            mirror.host()
        )),
        "{output}"
    );
    assert!(
        output.contains("server gave HTTP response to HTTPS client"),
        "{output}"
    );
    assert!(output.contains(&format!("Loaded {image}")), "{output}");
    assert!(
        output.contains(&format!("FETCHED location={at_mirror} loaded=true")),
        "{output}"
    );
    rt.block_on(async {
        let info = daemon.image_info(&image).await.unwrap().expect("loaded");
        assert_eq!(
            info.repo_tags,
            vec![image.clone()],
            "only the original name"
        );
        assert_eq!(
            info.labels.get("io.cnb.test.marker").map(String::as_str),
            Some("from-the-http-mirror")
        );
        assert!(daemon.image_info(&at_mirror).await.unwrap().is_none());
    });
}

/// A TLS registry with a certificate the daemon does not trust (a throwaway CA), on a
/// 198.18.x address: with the host in cnb's insecure list, cnb loads the image itself.
#[test]
fn an_untrusted_certificate_is_worked_around_for_an_insecure_registry() {
    let rt = runtime();
    let Some(daemon) = daemon_or_skip(&rt) else {
        return;
    };
    let Some(netns) = NetnsHost::start() else {
        return;
    };
    let registry = TestRegistry::start_in_netns(&netns, RegistryOptions::plain().tls());
    let repo = support::unique_name("docker-tls");
    TestImage::new()
        .label("io.cnb.test.marker", "behind-untrusted-tls")
        .push(&registry, &repo, "1");
    let image = registry.image(&repo, "1");
    let _cleanup = RemoveImages(vec![image.clone()]);

    let (code, output) = fetch_in_child(serde_json::json!({
        "image": image, "mirrors": [], "insecure": [registry.host()], "policy": "always",
    }));
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("refused the certificate of"), "{output}");
    assert!(output.contains(&format!("Loaded {image}")), "{output}");
    let info = rt
        .block_on(daemon.image_info(&image))
        .unwrap()
        .expect("loaded");
    assert_eq!(info.repo_tags, vec![image.clone()]);
    assert_eq!(
        info.labels.get("io.cnb.test.marker").map(String::as_str),
        Some("behind-untrusted-tls")
    );
}

/// The daemon pulls from a mirror with that mirror's credentials only: the original
/// registry's credentials never reach the mirror host.
#[test]
fn a_mirror_pull_sends_the_mirror_credentials_only() {
    let rt = runtime();
    let Some(daemon) = daemon_or_skip(&rt) else {
        return;
    };
    let backend = TestRegistry::start(RegistryOptions::plain().auth());
    let mirror = RecordingProxy::start(&backend);
    let mirror_credentials = backend.credentials().unwrap().clone();
    let original = refused_addr().to_string();
    let original_credentials = Credentials {
        username: "original-user".into(),
        password: "original-secret".into(),
    };
    let repo = support::unique_name("docker-auth");
    TestImage::new()
        .label("io.cnb.test.marker", "behind-auth")
        .push(&backend, &repo, "1");
    let image = format!("{original}/{repo}:1");
    let _cleanup = RemoveImages(vec![image.clone(), format!("{}/{repo}:1", mirror.host())]);
    let home = TestHome::new();
    home.write_docker_auth(&[
        (&mirror.host(), &mirror_credentials),
        (&original, &original_credentials),
    ]);

    let (code, output) = fetch_in_child_with_home(
        serde_json::json!({
            "image": image, "mirrors": [[original, mirror.host()]], "insecure": [], "policy": "always",
        }),
        &home,
    );
    assert_eq!(code, Some(0), "{output}");
    assert!(!output.contains(&mirror_credentials.password), "{output}");

    let requests = mirror.requests();
    let from_daemon: Vec<_> = requests
        .iter()
        .filter(|r| {
            r.header("user-agent")
                .is_some_and(|ua| ua.contains("docker/"))
        })
        .collect();
    assert!(
        from_daemon
            .iter()
            .any(|r| r.header("authorization") == Some(mirror_credentials.basic_header().as_str())),
        "the daemon authenticated at the mirror: {requests:?}"
    );
    for r in &requests {
        assert_ne!(
            r.header("authorization"),
            Some(original_credentials.basic_header().as_str()),
            "the original's credentials reached the mirror: {r:?}"
        );
    }
    let info = rt
        .block_on(daemon.image_info(&image))
        .unwrap()
        .expect("pulled");
    assert_eq!(info.repo_tags, vec![image.clone()]);
}
