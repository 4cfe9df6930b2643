//! End-to-end tests of `cnb build`: the real binary, the real Docker daemon, real registries
//! on loopback and infra's stand-in builder (see docs/build-e2e.md).

mod support;

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use snapbox::str;
use support::*;

/// An app directory with a nested file and the stand-in's control files.
fn make_app(home: &TestHome, exit: Option<u8>, sleep: Option<u32>) -> PathBuf {
    let app = home.mkdir("app");
    std::fs::write(app.join("main.txt"), "hello\n").unwrap();
    std::fs::create_dir_all(app.join("src/deep")).unwrap();
    std::fs::write(app.join("src/deep/lib.txt"), "lib\n").unwrap();
    if let Some(code) = exit {
        std::fs::write(app.join("cnb-test-exit"), code.to_string()).unwrap();
    }
    if let Some(secs) = sleep {
        std::fs::write(app.join("cnb-test-sleep"), secs.to_string()).unwrap();
    }
    app
}

/// A builder and its run image on one plain loopback registry, and a name to build.
struct World {
    home: TestHome,
    registry: TestRegistry,
    builder: String,
    run_image: String,
    /// The image to build (named on the registry's host, so no DNS is involved).
    image: String,
    app: PathBuf,
    _images: DaemonImages,
    _volumes: DockerSweeper,
}

impl World {
    fn new(exit: Option<u8>, sleep: Option<u32>) -> World {
        let home = TestHome::new();
        let registry = TestRegistry::start(RegistryOptions::plain());
        let id = unique_name("build");
        let run_image = registry.image(&format!("cnbtest/{id}-run"), "latest");
        let builder = registry.image(&format!("cnbtest/{id}-builder"), "latest");
        let run_local = StandInBuilder::build_run_image();
        push_image_as(run_local.tag(), &run_image);
        let builder_local = StandInBuilder::build(&BuilderOptions::with_run_image(&run_image));
        push_image_as(builder_local.tag(), &builder);
        let image = registry.image(&format!("cnbtest/{id}-app"), "latest");
        let app = make_app(&home, exit, sleep);
        World {
            _images: DaemonImages(vec![builder.clone(), run_image.clone()]),
            _volumes: DockerSweeper::new().volumes(&format!("{id}-app")),
            home,
            registry,
            builder,
            run_image,
            image,
            app,
        }
    }

    /// `cnb build <image> -B <builder> -p <app> <extra>`.
    fn build(&self, extra: &[&str]) -> Output {
        let mut args: Vec<String> = vec![
            "build".into(),
            self.image.clone(),
            "-B".into(),
            self.builder.clone(),
            "-p".into(),
            self.app.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        run_cnb(&self.home, &args)
    }
}

fn report(out: &Output) -> CreatorReport {
    let report = CreatorReport::parse(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}\nstdout:\n{}\nstderr:\n{}", out.stdout, out.stderr));
    assert!(
        report.complete,
        "creator report incomplete:\n{}\n{}",
        out.stdout, out.stderr
    );
    report
}

fn sorted(items: impl IntoIterator<Item = impl Into<String>>) -> BTreeSet<String> {
    items.into_iter().map(Into::into).collect()
}

#[test]
fn outage_builds_through_the_second_mirror_with_original_names() {
    if !docker_available() {
        return;
    }
    let home = TestHome::new();
    let origin = refused_addr().to_string();
    let hole = Blackhole::start();
    let mirror = TestRegistry::start(RegistryOptions::plain());
    let id = unique_name("build");
    let run_image = format!("{origin}/cnbtest/{id}-run:latest");
    let builder = format!("{origin}/cnbtest/{id}-builder:latest");
    let image = format!("{origin}/cnbtest/{id}-app:latest");
    let run_local = StandInBuilder::build_run_image();
    push_image_as(
        run_local.tag(),
        &mirror.image(&format!("cnbtest/{id}-run"), "latest"),
    );
    let builder_local = StandInBuilder::build(&BuilderOptions::with_run_image(&run_image));
    push_image_as(
        builder_local.tag(),
        &mirror.image(&format!("cnbtest/{id}-builder"), "latest"),
    );
    let _images = DaemonImages(vec![builder.clone(), run_image.clone()]);
    let _volumes = DockerSweeper::new().volumes(&format!("{id}-app"));
    home.write_config(&format!(
        "[registry-mirrors]\n\"{origin}\" = [\"http://{}\", \"http://{}\"]\n",
        hole.host(),
        mirror.host()
    ));
    let app = make_app(&home, None, None);

    let out = run_cnb(
        &home,
        [
            "build",
            &image,
            "-B",
            &builder,
            "-p",
            app.to_str().unwrap(),
            "--trust-builder",
            "--insecure-registry",
            "127.0.0.1",
            "-e",
            "GREETING=hello there",
        ],
    );
    eprintln!("cnb's stderr:\n{}", out.stderr);
    assert!(out.success(), "{}\n{}", out.stdout, out.stderr);
    let r = report(&out);

    // Original names in the daemon, no mirror tags.
    assert!(
        in_daemon(&builder),
        "builder not in the daemon as {builder}"
    );
    assert!(
        in_daemon(&run_image),
        "run image not in the daemon as {run_image}"
    );
    let leaked: Vec<String> = daemon_tags()
        .into_iter()
        .filter(|t| t.contains(&id) && !t.starts_with(&origin))
        .collect();
    assert!(
        leaked.is_empty(),
        "mirror tags left in the daemon: {leaked:?}"
    );

    // The creator's arguments: original names, daemon mode, image last.
    assert_eq!(r.flag("-run-image"), Some(run_image.as_str()));
    assert_eq!(r.flag("-app"), Some("/workspace"));
    assert_eq!(r.flag("-cache-dir"), Some("/cache"));
    assert!(r.has_flag("-daemon"), "{:?}", r.args);
    assert_eq!(r.flag("-launch-cache"), Some("/launch-cache"));
    assert_eq!(r.flag("-log-level"), Some("info"));
    assert_eq!(r.args.last(), Some(&image));

    // The translated settings.
    assert_eq!(r.env("CNB_PLATFORM_API"), Some("0.13"));
    let mirror_host = mirror.host();
    assert_eq!(
        r.env("CNB_REGISTRY_MIRRORS"),
        Some(format!("{origin}=http://{mirror_host}").as_str())
    );
    let insecure = r
        .env("CNB_INSECURE_REGISTRIES")
        .expect("CNB_INSECURE_REGISTRIES");
    assert!(!insecure.contains(' '), "{insecure:?}");
    assert!(insecure.split(',').all(|h| !h.is_empty()), "{insecure:?}");
    let expected = sorted([origin.clone(), mirror_host.clone()]);
    assert_eq!(sorted(insecure.split(',')), expected);
    assert_eq!(sorted(r.flag_all("-insecure-registry")), expected);
    assert!(r.env("CNB_REGISTRY_AUTH").is_none());

    // Daemon mode: socket, root, app owned by the builder's user, env files, caches.
    assert!(r.docker_socket);
    assert_eq!((r.uid, r.gid), (0, 0));
    for name in ["main.txt", "src", "src/deep", "src/deep/lib.txt"] {
        let (_, uid, gid) = r
            .workspace
            .get(name)
            .unwrap_or_else(|| panic!("{name} not uploaded: {:?}", r.workspace));
        assert_eq!((*uid, *gid), (1000, 1001), "{name}");
    }
    assert_eq!(
        r.platform_env.get("GREETING").map(String::as_str),
        Some("hello there")
    );
    assert!(r.cache_mounted && r.launch_cache_mounted);

    // What cnb said: the black hole failed, the second mirror was used, network host.
    assert!(
        hole.connections() >= 1,
        "the black-holed mirror was not probed"
    );
    assert!(
        out.stderr.contains(&format!("Using mirror {mirror_host}"))
            || out
                .stderr
                .contains(&format!("Using mirror http://{mirror_host}")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(&hole.host()), "{}", out.stderr);
    assert!(
        out.stderr.contains("Using --network host because"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("loopback"), "{}", out.stderr);
}

#[test]
fn lifecycle_exit_status_becomes_cnbs_and_output_streams() {
    if !docker_available() {
        return;
    }
    let world = World::new(Some(7), None);
    let out = world.build(&["--trust-builder"]);
    assert_eq!(out.code(), 7, "{}\n{}", out.stdout, out.stderr);
    let r = report(&out);
    assert_eq!(r.exit, Some(7));
    assert_eq!(r.flag("-run-image"), Some(world.run_image.as_str()));
    assert!(
        out.stderr.contains("CNB-TEST-STDERR creator ran"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("exit status 7"),
        "cnb should say the lifecycle failed: {}",
        out.stderr
    );
    assert!(containers_from(&world.builder).is_empty());
}

#[test]
fn cache_volumes_are_reused_and_cleared() {
    if !docker_available() {
        return;
    }
    let world = World::new(None, None);
    let counts = |out: &Output| {
        let r = report(out);
        (r.cache_count, r.launch_cache_count)
    };
    let first = world.build(&["--trust-builder"]);
    assert!(first.success(), "{}", first.stderr);
    assert_eq!(counts(&first), (Some(1), Some(1)));
    let second = world.build(&["--trust-builder", "--pull-policy", "if-not-present", "-v"]);
    assert!(second.success(), "{}", second.stderr);
    assert_eq!(counts(&second), (Some(2), Some(2)));
    assert_eq!(report(&second).flag("-log-level"), Some("debug"));
    let cleared = world.build(&["--trust-builder", "--clear-cache"]);
    assert!(cleared.success(), "{}", cleared.stderr);
    assert_eq!(counts(&cleared), (Some(1), Some(1)));
}

/// Starts a build whose creator sleeps, sends `signal` once its container runs, and checks
/// that cnb exits non-zero promptly and leaves no container behind.
fn interrupted_build(signal: libc::c_int, expected_code: i32) {
    if !docker_available() {
        return;
    }
    let world = World::new(None, Some(60));
    let stdout_path = world.home.path().join("stdout");
    let stderr_path = world.home.path().join("stderr");
    let mut child = cnb_cmd(&world.home)
        .args(["build", &world.image, "-B", &world.builder, "-p"])
        .arg(&world.app)
        .arg("--trust-builder")
        .stdout(Stdio::from(File::create(&stdout_path).unwrap()))
        .stderr(Stdio::from(File::create(&stderr_path).unwrap()))
        .spawn()
        .unwrap();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    // The creator prints "sleep" just before sleeping: the container runs and is attached.
    let started = wait_for(Duration::from_secs(90), || {
        read(&stdout_path).contains("CNB-TEST sleep").then_some(())
    });
    if started.is_none() {
        let _ = child.kill();
        panic!(
            "the creator never started:\n{}\n{}",
            read(&stdout_path),
            read(&stderr_path)
        );
    }
    let running = containers_from(&world.builder);
    assert_eq!(running.len(), 1);
    // What the daemon-mode container got: root by number, SELinux labels off for the socket,
    // and the lifecycle's Docker client pinned to the daemon's API version (the test world's
    // daemon, Docker 20.10 with API 1.41, is older than the API a current client speaks).
    let inspected: serde_json::Value = serde_json::from_str(&must_run(
        "docker",
        ["container", "inspect", &running[0]],
        Duration::from_secs(60),
    ))
    .unwrap();
    let container = &inspected[0];
    assert_eq!(container["Config"]["User"], "0:0");
    assert_eq!(
        container["HostConfig"]["SecurityOpt"],
        serde_json::json!(["label=disable"])
    );
    let api = must_run(
        "docker",
        ["version", "--format", "{{.Server.APIVersion}}"],
        Duration::from_secs(60),
    );
    let env: Vec<&str> = container["Config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        env.contains(&format!("DOCKER_API_VERSION={}", api.trim()).as_str()),
        "{env:?}"
    );
    let sent = Instant::now();
    // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped.
    unsafe {
        libc::kill(child.id() as libc::pid_t, signal);
    }
    let status = wait_for(Duration::from_secs(30), || child.try_wait().ok().flatten());
    let Some(status) = status else {
        let _ = child.kill();
        panic!("cnb did not exit within 30 s of the signal");
    };
    let waited = sent.elapsed();
    assert_eq!(
        status.code(),
        Some(expected_code),
        "after {waited:?}: {}",
        read(&stderr_path)
    );
    assert!(
        waited < Duration::from_secs(30),
        "cnb took {waited:?} to stop"
    );
    assert!(
        containers_from(&world.builder).is_empty(),
        "a container from the interrupted build remains"
    );
}

#[test]
fn sigint_stops_the_build_and_removes_the_container() {
    interrupted_build(libc::SIGINT, 130);
}

#[test]
fn sigterm_stops_the_build_and_removes_the_container() {
    interrupted_build(libc::SIGTERM, 143);
}

#[test]
fn sighup_stops_the_build_and_removes_the_container() {
    // A closed terminal or a dropped SSH session.
    interrupted_build(libc::SIGHUP, 129);
}

#[test]
fn a_mirror_the_daemon_cannot_pull_from_falls_back_to_the_next_candidate() {
    if !docker_available() {
        return;
    }
    let world = World::new(None, None);
    // The mirror answers cnb's probe, then fails every request of the daemon's pull.
    let mirror = RecordingProxy::start(&world.registry);
    mirror.set_delay(Duration::from_millis(300));
    let _mirror_names = DockerSweeper::new().images(&format!("{}/", mirror.host()));
    world.home.write_config(&format!(
        "[registry-mirrors]\n\"{}\" = \"http://{}\"\n",
        world.registry.host(),
        mirror.host()
    ));
    let stderr_path = world.home.path().join("stderr");
    let stdout_path = world.home.path().join("stdout");
    let mut child = cnb_cmd(&world.home)
        .args(["build", &world.image, "-B", &world.builder, "-p"])
        .arg(&world.app)
        .arg("--trust-builder")
        .stdout(Stdio::from(File::create(&stdout_path).unwrap()))
        .stderr(Stdio::from(File::create(&stderr_path).unwrap()))
        .spawn()
        .unwrap();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let pulling = format!("from {}/", mirror.host());
    let broke = wait_for(Duration::from_secs(60), || {
        read(&stderr_path).contains(&pulling).then(|| {
            mirror.set_fixed_status(Some(500));
        })
    });
    let status = wait_for(Duration::from_secs(120), || child.try_wait().ok().flatten());
    let stderr = read(&stderr_path);
    assert!(broke.is_some(), "no pull from the mirror:\n{stderr}");
    let Some(status) = status else {
        let _ = child.kill();
        panic!("cnb did not finish:\n{stderr}");
    };
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("could not pull {}", world.builder))
            && stderr.contains(&format!("trying {}", world.builder)),
        "{stderr}"
    );
    assert!(
        report(&Output {
            status,
            stdout: read(&stdout_path),
            stderr: stderr.clone(),
        })
        .complete
    );
    let left: Vec<String> = daemon_tags()
        .into_iter()
        .filter(|t| t.starts_with(&mirror.host()))
        .collect();
    assert!(left.is_empty(), "mirror names left in the daemon: {left:?}");
}

#[test]
fn ctrl_c_during_a_pull_through_a_mirror_stops_at_once_and_leaves_no_mirror_name() {
    if !docker_available() {
        return;
    }
    let world = World::new(None, None);
    // A slow mirror of the builder's registry, so the pull is under way when Ctrl-C comes.
    let mirror = RecordingProxy::start(&world.registry);
    let _mirror_names = DockerSweeper::new().images(&format!("{}/", mirror.host()));
    world.home.write_config(&format!(
        "[registry-mirrors]\n\"{}\" = \"http://{}\"\n",
        world.registry.host(),
        mirror.host()
    ));
    let stderr_path = world.home.path().join("stderr");
    let mut child = cnb_cmd(&world.home)
        .args(["build", &world.image, "-B", &world.builder, "-p"])
        .arg(&world.app)
        .arg("--trust-builder")
        .stdout(Stdio::null())
        .stderr(Stdio::from(File::create(&stderr_path).unwrap()))
        .spawn()
        .unwrap();
    let read = || std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let pulling = format!("from {}/", mirror.host());
    let started = wait_for(Duration::from_secs(60), || {
        if read().contains(&pulling) {
            mirror.set_delay(Duration::from_secs(2));
            Some(())
        } else {
            None
        }
    });
    if started.is_none() {
        let _ = child.kill();
        panic!("the pull never started:\n{}", read());
    }
    // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let status = wait_for(Duration::from_secs(30), || child.try_wait().ok().flatten());
    let Some(status) = status else {
        let _ = child.kill();
        panic!("cnb did not exit within 30 s of SIGINT:\n{}", read());
    };
    assert_eq!(status.code(), Some(130), "{}", read());
    assert!(read().contains("interrupted by SIGINT"), "{}", read());
    let left: Vec<String> = daemon_tags()
        .into_iter()
        .filter(|t| t.starts_with(&mirror.host()))
        .collect();
    assert!(left.is_empty(), "mirror names left in the daemon: {left:?}");
    assert!(containers_from(&world.builder).is_empty());
}

#[test]
fn untrusted_builders_take_the_phases_path_and_trusted_ones_the_creator() {
    if !docker_available() {
        return;
    }
    let world = World::new(None, None);
    // The stand-in has no lifecycle phases, so only the plan is looked at here (the
    // phases run for real in tests/phases.rs). Any image does as the lifecycle image.
    let lifecycle_image = world.run_image.clone();
    let plan = world.build(&[
        "--dry-run",
        "--output",
        "json",
        "--lifecycle-image",
        &lifecycle_image,
    ]);
    assert!(plan.success(), "{}", plan.stderr);
    let v: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(v["lifecycle"]["path"], "phases", "{v:#}");
    assert_eq!(v["builder"]["trust"], "not trusted");
    assert_eq!(v["lifecycle"]["lifecycle_image"], lifecycle_image);
    let phases: Vec<&str> = v["lifecycle"]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["analyze", "detect", "restore", "build", "export"]);
    for phase in v["lifecycle"]["phases"].as_array().unwrap() {
        let mounts = phase["mounts"].to_string();
        if phase["image"] == world.builder.as_str() {
            assert!(!mounts.contains("docker.sock"), "{phase:#}");
            assert!(phase["env"].get("CNB_REGISTRY_AUTH").is_none(), "{phase:#}");
            assert_eq!(phase["user"], "1000:1001", "{phase:#}");
        } else {
            assert_eq!(phase["image"], lifecycle_image, "{phase:#}");
            assert_eq!(phase["user"], "0:0", "{phase:#}");
        }
    }
    assert!(
        plan.stderr
            .contains("is not trusted (trust it with `cnb config trusted-builders add"),
        "{}",
        plan.stderr
    );
    assert!(!in_daemon(&world.builder), "a dry run pulled the builder");

    let flagged = world.build(&["--trust-builder"]);
    assert!(flagged.success(), "{}", flagged.stderr);
    assert!(report(&flagged).complete);

    let trust = run_cnb(
        &world.home,
        ["config", "trusted-builders", "add", &world.builder],
    );
    assert!(trust.success(), "{}", trust.stderr);
    let configured = world.build(&[]);
    assert!(configured.success(), "{}", configured.stderr);
    assert!(report(&configured).complete);
}

/// The text plan of `--dry-run`, whole: what a user reads before building. Names that
/// differ per run are placeholders, the cache volumes' hashed names `[..]`, and the
/// environment after `CNB_PLATFORM_API` (`DOCKER_API_VERSION` follows the daemon) `...`.
#[test]
fn dry_run_text_is_the_plan() {
    if !docker_available() {
        return;
    }
    let world = World::new(None, None);
    let plan = world.build(&["--trust-builder", "--dry-run", "-e", "GREETING=hi"]);
    assert!(plan.success(), "{}", plan.stderr);
    let names = [
        ("[BUILDER]", world.builder.clone()),
        ("[RUN_IMAGE]", world.run_image.clone()),
        ("[IMAGE]", world.image.clone()),
        ("[REGISTRY]", world.registry.host()),
    ];
    world.home.assert_text_with(&plan.stdout, str![[r#"
Image:         [IMAGE]
Builder:       [BUILDER]
  trust:       trusted with --trust-builder
  lifecycle:   0.20.0
Platform API:  0.13
Run image:     [RUN_IMAGE]
  candidates (target registry [REGISTRY]):
    1. [RUN_IMAGE]  chosen (builder's run image, on target registry [REGISTRY])
Lifecycle container (creator):
  network:  host (the lifecycle must reach [REGISTRY], which is on loopback)
  image:    [BUILDER]
  command:  /cnb/lifecycle/creator -app /workspace -cache-dir /cache -run-image [RUN_IMAGE] -log-level info -daemon -launch-cache /launch-cache [IMAGE]
  user:     0:0
  security: label=disable
  env:
    CNB_PLATFORM_API=0.13
...
  platform env (/platform/env):
    GREETING=hi
  app:      sent to /workspace
  mounts:
    /var/run/docker.sock:/var/run/docker.sock
    cnb-cache-[..].build:/cache
    cnb-cache-[..].launch:/launch-cache

"#]], &names);
    world.home.assert_text_with(
        &plan.stderr,
        str![[r#"
Resolving builder [BUILDER]
Checking run image [RUN_IMAGE]
Using run image [RUN_IMAGE] (builder's run image, on target registry [REGISTRY])
Using --network host because the lifecycle must reach [REGISTRY], which is on loopback

"#]],
        &names,
    );
}

#[test]
fn dry_run_json_with_publish_redacts_credentials() {
    if !docker_available() {
        return;
    }
    let home = TestHome::new();
    let registry = TestRegistry::start(RegistryOptions::plain().auth());
    let mirror = TestRegistry::start(RegistryOptions::plain());
    let creds = registry.credentials().expect("auth registry").clone();
    let id = unique_name("build");
    let run_repo = format!("cnbtest/{id}-run:latest");
    let builder_repo = format!("cnbtest/{id}-builder:latest");
    let run_image = format!("{}/{run_repo}", registry.host());
    let builder = format!("{}/{builder_repo}", registry.host());
    let image = format!("{}/cnbtest/{id}-app:latest", registry.host());
    let run_local = StandInBuilder::build_run_image();
    push_image_to(run_local.tag(), &registry, &run_repo);
    push_image_to(run_local.tag(), &mirror, &run_repo);
    let builder_local = StandInBuilder::build(&BuilderOptions::with_run_image(&run_image));
    push_image_to(builder_local.tag(), &registry, &builder_repo);
    let _images = DaemonImages(vec![builder.clone(), run_image.clone()]);
    home.write_docker_auth(&[(&registry.host(), &creds)]);
    // A user run-image mirror that does not exist: first in order, passed over.
    let missing_run = format!("{}/cnbtest/{id}-missing-run:latest", registry.host());
    home.write_config(&format!(
        "[[run-images]]\nimage = \"{run_image}\"\nmirrors = [\"{missing_run}\"]\n"
    ));
    let app = make_app(&home, None, None);
    let base = [
        "build",
        &image,
        "-B",
        &builder,
        "-p",
        app.to_str().unwrap(),
        "--publish",
        "--trust-builder",
        "--dry-run",
        "--registry-mirror",
    ];
    let mirror_flag = format!("{}=http://{}", registry.host(), mirror.host());
    let secrets = [
        creds.password.clone(),
        creds.docker_auth_field(),
        creds.basic_header(),
    ];

    let mut args: Vec<&str> = base.to_vec();
    args.extend([mirror_flag.as_str(), "--output", "json"]);
    let out = run_cnb(&home, &args);
    assert!(out.success(), "{}\n{}", out.stdout, out.stderr);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", out.stdout));
    let mirror_run = format!("{}/{run_repo}", mirror.host());
    assert_eq!(plan["image"], image.as_str());
    assert_eq!(plan["builder"]["name"], builder.as_str());
    assert_eq!(plan["builder"]["fetch"], builder.as_str());
    assert_eq!(plan["platform_api"], "0.13");
    assert_eq!(plan["run_image"]["chosen"], run_image.as_str());
    assert_eq!(plan["run_image"]["fetch"], mirror_run.as_str());
    let candidates = plan["run_image"]["candidates"]
        .as_array()
        .expect("candidates");
    assert_eq!(candidates.len(), 2, "{candidates:?}");
    assert_eq!(candidates[0]["image"], missing_run.as_str());
    assert_eq!(candidates[0]["status"], "unreadable");
    assert!(
        candidates[0]["reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "{candidates:?}"
    );
    assert_eq!(candidates[1]["image"], run_image.as_str());
    assert_eq!(candidates[1]["status"], "chosen");
    let lifecycle = &plan["lifecycle"];
    assert_eq!(lifecycle["image"], builder.as_str());
    let command: Vec<&str> = lifecycle["command"]
        .as_array()
        .expect("command")
        .iter()
        .map(|v| v.as_str().expect("string argument"))
        .collect();
    assert_eq!(command[0], "/cnb/lifecycle/creator");
    let at = command
        .iter()
        .position(|a| *a == "-run-image")
        .expect("-run-image");
    assert_eq!(command[at + 1], mirror_run);
    assert!(!command.contains(&"-daemon"));
    assert_eq!(command.last(), Some(&image.as_str()));
    assert_eq!(lifecycle["env"]["CNB_PLATFORM_API"], "0.13");
    assert_eq!(lifecycle["env"]["CNB_REGISTRY_AUTH"], "<redacted>");
    assert_eq!(lifecycle["network"], "host");
    assert_eq!(lifecycle["user"], "0:0");
    let mounts = lifecycle["mounts"].as_array().expect("mounts");
    assert!(
        mounts
            .iter()
            .all(|m| !m.as_str().unwrap_or("").contains("docker.sock")),
        "{mounts:?}"
    );
    assert!(
        out.stderr.contains("warning:") && out.stderr.contains("runImage.reference"),
        "{}",
        out.stderr
    );
    for secret in &secrets {
        assert!(!out.stdout.contains(secret.as_str()), "secret in stdout");
        assert!(!out.stderr.contains(secret.as_str()), "secret in stderr");
    }

    // Text plan at -vv: still no secret.
    let mut args: Vec<&str> = base.to_vec();
    args.extend([mirror_flag.as_str(), "-vv"]);
    let text = run_cnb(&home, &args);
    assert!(text.success(), "{}", text.stderr);
    assert!(
        text.stdout.contains("CNB_REGISTRY_AUTH=<redacted>"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains(&format!("1. {missing_run}  passed over")),
        "{}",
        text.stdout
    );
    for secret in &secrets {
        assert!(
            !text.stdout.contains(secret.as_str()),
            "secret in -vv stdout"
        );
        assert!(
            !text.stderr.contains(secret.as_str()),
            "secret in -vv stderr"
        );
    }

    // Nothing pulled, nothing created.
    assert!(!in_daemon(&builder), "dry run pulled the builder");
    assert!(!in_daemon(&run_image), "dry run pulled the run image");
    assert!(containers_from(builder_local.tag()).is_empty());
}

#[test]
fn publish_gives_the_lifecycle_registry_auth_and_starts_it_as_root() {
    if !docker_available() {
        return;
    }
    let home = TestHome::new();
    let registry = TestRegistry::start(RegistryOptions::plain().auth());
    let creds = registry.credentials().expect("auth registry").clone();
    let id = unique_name("build");
    let run_repo = format!("cnbtest/{id}-run:latest");
    let builder_repo = format!("cnbtest/{id}-builder:latest");
    let run_image = format!("{}/{run_repo}", registry.host());
    let builder = format!("{}/{builder_repo}", registry.host());
    let image = format!("{}/cnbtest/{id}-app:latest", registry.host());
    let run_local = StandInBuilder::build_run_image();
    push_image_to(run_local.tag(), &registry, &run_repo);
    let builder_local = StandInBuilder::build(&BuilderOptions::with_run_image(&run_image));
    push_image_to(builder_local.tag(), &registry, &builder_repo);
    let _images = DaemonImages(vec![builder.clone()]);
    let _volumes = DockerSweeper::new().volumes(&format!("{id}-app"));
    home.write_docker_auth(&[(&registry.host(), &creds)]);
    let app = make_app(&home, None, None);
    let out = run_cnb(
        &home,
        [
            "build",
            &image,
            "-B",
            &builder,
            "-p",
            app.to_str().unwrap(),
            "--publish",
            "--trust-builder",
            "-vv",
        ],
    );
    assert!(out.success(), "{}\n{}", out.stdout, out.stderr);
    let r = report(&out);
    // Root, so the creator can chown its volumes before it drops to the builder's user.
    assert_eq!((r.uid, r.gid), (0, 0));
    assert_eq!(r.flag("-log-level"), Some("debug"));
    assert!(!r.docker_socket);
    assert!(!r.has_flag("-daemon"));
    assert_eq!(r.flag("-run-image"), Some(run_image.as_str()));
    let auth: serde_json::Value =
        serde_json::from_str(r.env("CNB_REGISTRY_AUTH").expect("CNB_REGISTRY_AUTH"))
            .expect("CNB_REGISTRY_AUTH is JSON");
    assert_eq!(
        auth,
        serde_json::json!({ registry.host(): creds.basic_header() })
    );
    // The run image stays in the registry with --publish; only the builder is pulled.
    assert!(in_daemon(&builder));
    assert!(!in_daemon(&run_image));
    // cnb itself never prints the secret, even at -vv (the stand-in's own env dump is on stdout).
    assert!(!out.stderr.contains(&creds.password));
    assert!(!out.stderr.contains(&creds.docker_auth_field()));
}

#[test]
fn no_builder_is_a_usage_error_that_shows_how_to_set_one() {
    let home = TestHome::new();
    let app = home.mkdir("app");
    let out = cnb_cmd(&home)
        .args(["build", "127.0.0.1:1/cnbtest/app", "-p"])
        .arg(&app)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cnb config default-builder <image>") && stderr.contains("-B"),
        "{stderr}"
    );
}

#[test]
fn daemon_refusing_an_insecure_registry_gets_the_image_from_cnb() {
    if !docker_available() {
        return;
    }
    let Some(netns) = NetnsHost::start() else {
        return;
    };
    let registry = TestRegistry::start_in_netns(&netns, RegistryOptions::plain());
    let home = TestHome::new();
    let id = unique_name("build");
    let run_repo = format!("cnbtest/{id}-run:latest");
    let builder_repo = format!("cnbtest/{id}-builder:latest");
    let run_image = format!("{}/{run_repo}", registry.host());
    let builder = format!("{}/{builder_repo}", registry.host());
    let run_local = StandInBuilder::build_run_image();
    push_image_to(run_local.tag(), &registry, &run_repo);
    let builder_local = StandInBuilder::build(&BuilderOptions::with_run_image(&run_image));
    push_image_to(builder_local.tag(), &registry, &builder_repo);
    let _images = DaemonImages(vec![builder.clone(), run_image.clone()]);
    let _volumes = DockerSweeper::new().volumes(&format!("{id}-app"));
    let app = make_app(&home, None, None);
    let image = format!("{}/cnbtest/{id}-app:latest", registry.host());
    let host = registry.ip().to_string();
    let out = run_cnb(
        &home,
        [
            "build",
            &image,
            "-B",
            &builder,
            "-p",
            app.to_str().unwrap(),
            "--trust-builder",
            "--insecure-registry",
            &host,
            "--network",
            "host",
        ],
    );
    assert!(out.success(), "{}\n{}", out.stdout, out.stderr);
    let r = report(&out);
    assert_eq!(r.flag("-run-image"), Some(run_image.as_str()));
    assert_eq!(
        r.env("CNB_INSECURE_REGISTRIES"),
        Some(registry.host().as_str())
    );
    assert!(in_daemon(&builder) && in_daemon(&run_image));
    assert!(
        out.stderr.contains("itself"),
        "cnb should say it loaded the image itself: {}",
        out.stderr
    );
}

#[test]
fn missing_daemon_is_one_line_naming_the_address() {
    let home = TestHome::new();
    let app = home.mkdir("app");
    let out = cnb_cmd(&home)
        .env_remove("DOCKER_HOST")
        .args([
            "build",
            "127.0.0.1:1/cnbtest/app",
            "-B",
            "127.0.0.1:1/cnbtest/builder",
        ])
        .args([
            "--trust-builder",
            "--docker-host",
            "unix:///nonexistent",
            "-p",
        ])
        .arg(&app)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains("unix:///nonexistent"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn passwords_in_env_urls_are_redacted_in_plans_and_verbose_output() {
    if !docker_available() {
        return;
    }
    let world = World::new(None, None);
    let url = "postgres://app:s3cr3t-pw@db.example:5432/app";
    let env = format!("DATABASE_URL={url}");
    let plan = world.build(&[
        "--trust-builder",
        "--dry-run",
        "--output",
        "json",
        "-e",
        &env,
    ]);
    assert!(plan.success(), "{}", plan.stderr);
    let v: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(
        v["lifecycle"]["platform_env"]["DATABASE_URL"],
        "postgres://app:<redacted>@db.example:5432/app"
    );
    let text = world.build(&["--trust-builder", "--dry-run", "-e", &env]);
    let verbose = world.build(&["--trust-builder", "-vv", "-e", &env]);
    assert!(verbose.success(), "{}", verbose.stderr);
    for out in [&plan, &text] {
        assert!(!out.stdout.contains("s3cr3t-pw"), "{}", out.stdout);
        assert!(!out.stderr.contains("s3cr3t-pw"), "{}", out.stderr);
    }
    // cnb's own output; the stand-in's report on stdout shows what the lifecycle got.
    assert!(!verbose.stderr.contains("s3cr3t-pw"), "{}", verbose.stderr);
    assert!(verbose.stderr.contains("<redacted>"), "{}", verbose.stderr);
    assert_eq!(report(&verbose).platform_env["DATABASE_URL"], url);
}
