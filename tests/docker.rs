//! The Docker module against the real daemon: connection errors, the lifecycle
//! container (streamed output, exit status, upload ownership, cleanup, signals),
//! cache volumes.
//!
//! Tests that need the daemon skip with a printed reason when none is reachable,
//! unless `CI` is set (then they fail).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bollard::query_parameters::{CreateImageOptionsBuilder, ListContainersOptionsBuilder};
use cnb::docker::{Daemon, RunOptions};
use cnb::lifecycle::ContainerSpec;
use cnb::ui::Ui;
use futures_util::StreamExt;

/// Every image, container and volume these tests create starts with this.
const PREFIX: &str = "cnbtest-docker-";
/// Label on the containers these tests run; the value is unique per test.
const TEST_LABEL: &str = "io.cnb.test";
/// Set (to a test name) when this binary is re-run as a child that runs one container.
const CHILD_VAR: &str = "CNB_DOCKER_TEST_CHILD";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The daemon, or `None` (after saying why) when there is none and `CI` is not set.
async fn daemon_or_skip(test: &str) -> Option<Daemon> {
    match Daemon::connect(None).await {
        Ok(d) => Some(d),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping {test}: no Docker daemon ({e})");
            None
        }
        Err(e) => panic!("CI is set and the Docker daemon is unreachable: {e}"),
    }
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
        user: "root".into(),
        platform_env: BTreeMap::new(),
        app_dir: app_dir.to_path_buf(),
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
    runtime().block_on(async {
        let Some(daemon) = daemon_or_skip("connects_and_negotiates_the_api_version").await else {
            return;
        };
        assert_eq!(daemon.address(), "unix:///var/run/docker.sock");
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

/// Runs one container in a child process (the output of a container goes to the
/// process's own stdout/stderr), with stdout and stderr into the same pipe so their
/// order is kept (one open file description, so the writes share an offset). Returns (exit status of the child, combined output).
fn run_child(test: &str, label: &str, app_dir: &Path) -> (Option<i32>, String) {
    let exe = std::env::current_exe().unwrap();
    let out = tempfile::NamedTempFile::new().unwrap();
    let status = Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, label)
        .env("CNB_DOCKER_TEST_APP", app_dir)
        .stdout(out.as_file().try_clone().unwrap())
        .stderr(out.as_file().try_clone().unwrap())
        .stdin(Stdio::null())
        .status()
        .unwrap();
    (status.code(), std::fs::read_to_string(out.path()).unwrap())
}

/// The child half of the run tests: runs the script named by the parent and exits with
/// the container's status (or cnb's exit code for an error).
fn child_main(script: &str, platform_env: BTreeMap<String, String>, owner: (u32, u32)) {
    let Ok(label) = std::env::var(CHILD_VAR) else {
        return; // Not a child: nothing to do here.
    };
    let app = std::env::var("CNB_DOCKER_TEST_APP").unwrap();
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
    let Some(daemon) = rt.block_on(daemon_or_skip("run_streams_output")) else {
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
    let (code, output) = run_child("child_run_script", &label, app.path());
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
    assert!(
        output.contains("OWN 1234:2345 755 /workspace\n")
            || output.contains("OWN 1234:2345 700 /workspace\n"),
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
    let Some(daemon) = rt.block_on(daemon_or_skip("sigint")) else {
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
            .env("CNB_DOCKER_TEST_APP", app.path())
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
    runtime().block_on(async {
        let Some(daemon) = daemon_or_skip("missing_image").await else {
            return;
        };
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
    let Some(daemon) = rt.block_on(daemon_or_skip("volumes")) else {
        return;
    };
    let image = rt.block_on(busybox_image(&daemon));
    let volume = unique("cache");
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
