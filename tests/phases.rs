//! The lifecycle's phases in separate containers (SPEC §7.6), with the real lifecycle:
//! untrusted builders and builders with image extensions, the lifecycle image through a
//! registry mirror of Docker Hub, failing phases, Ctrl-C, `--publish`.

mod support;

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;

/// A real world whose lifecycle image is on its own registry, for `--lifecycle-image`.
struct PhasesWorld {
    world: RealWorld,
    lifecycle_image: String,
}

impl PhasesWorld {
    fn new(options: RealBuilderOptions) -> Option<PhasesWorld> {
        let world = RealWorld::with(RegistryOptions::plain(), options)?;
        let local = lifecycle_image(LifecycleVersion::V0_21)?;
        let repo = format!("cnbtest/{}-lifecycle:0.21.17", world.id);
        push_image_to(&local, &world.registry, &repo);
        Some(PhasesWorld {
            lifecycle_image: format!("{}/{repo}", world.registry.host()),
            world,
        })
    }

    /// `cnb build` without trusting the builder, with this world's lifecycle image.
    fn args(&self, extra: &[&str]) -> Vec<String> {
        let mut args = self
            .world
            .build_args(&["--lifecycle-image", &self.lifecycle_image]);
        args.retain(|a| a != "--trust-builder");
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    fn build(&self, extra: &[&str]) -> Output {
        run_cnb(&self.world.home, self.args(extra))
    }
}

/// The temporary volumes a `-v` build named.
fn temporary_volumes(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.split_once("Temporary volumes for the phases: "))
        .flat_map(|(_, v)| v.split(", ").map(str::to_string))
        .collect()
}

fn volume_exists(name: &str) -> bool {
    run_with_timeout(
        Command::new("docker").args(["volume", "inspect", name]),
        Duration::from_secs(60),
    )
    .is_ok_and(|o| o.success())
}

/// The layer digests and process metadata an app image records: what must be the same
/// whichever way the lifecycle ran.
fn app_layers_and_processes(image: &str) -> serde_json::Value {
    let md = image_label(image, "io.buildpacks.lifecycle.metadata");
    let build = image_label(image, "io.buildpacks.build.metadata");
    serde_json::json!({
        "app": md["app"],
        "buildpacks": md["buildpacks"],
        "processes": build["processes"],
        "run_image": md["runImage"]["image"],
    })
}

#[test]
fn an_untrusted_builder_builds_in_phases_with_the_lifecycle_image_from_a_hub_mirror() {
    if !docker_available() {
        return;
    }
    let Some(world) = RealWorld::new() else {
        return;
    };
    let Some(local) = lifecycle_image(LifecycleVersion::V0_21) else {
        return;
    };
    // buildpacksio/lifecycle:0.21.17 exists only on a loopback mirror of Docker Hub.
    let hub_mirror = TestRegistry::start(RegistryOptions::plain());
    push_image_to(&local, &hub_mirror, "buildpacksio/lifecycle:0.21.17");
    let _hub = DaemonImages(vec!["buildpacksio/lifecycle:0.21.17".to_string()]);
    let _mirror_tags = DockerSweeper::new().registry(&hub_mirror);
    world.home.write_config(&format!(
        "[registry-mirrors]\n\"index.docker.io\" = \"http://{}\"\n",
        hub_mirror.host()
    ));
    let trusted_image = format!("{}-trusted:latest", world.image.trim_end_matches(":latest"));
    let _trusted = DaemonImages(vec![trusted_image.clone()]);

    // Docker Hub itself is probed too (the original is the last candidate): a dead proxy
    // on loopback keeps that probe on this machine.
    let dead_proxy = format!("http://{}", refused_addr());
    let cnb = |args: &[String]| {
        let mut cmd = cnb_cmd(&world.home);
        cmd.args(args)
            .env("HTTPS_PROXY", &dead_proxy)
            .env("HTTP_PROXY", &dead_proxy)
            .env("NO_PROXY", "127.0.0.1,localhost,::1");
        run_with_timeout(&mut cmd, Duration::from_secs(300)).unwrap()
    };
    let mut args = world.build_args(&["-v"]);
    args.retain(|a| a != "--trust-builder");
    let out = cnb(&args);
    assert_built(&out);
    assert!(
        out.stderr.contains("is not trusted (trust it with"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!(
            "Using mirror http://{} for docker.io/buildpacksio/lifecycle:0.21.17",
            hub_mirror.host()
        )),
        "the lifecycle image did not come through the mirror:\n{}",
        out.stderr
    );
    for (i, phase) in ["analyze", "detect", "restore", "build", "export"]
        .iter()
        .enumerate()
    {
        assert!(
            out.stderr.contains(&format!("Phase {}/5: {phase}", i + 1)),
            "{phase}: {}",
            out.stderr
        );
    }
    assert!(in_daemon("buildpacksio/lifecycle:0.21.17"));
    assert!(
        !daemon_tags()
            .iter()
            .any(|t| t.starts_with(&hub_mirror.host())),
        "the mirror's name was left in the daemon"
    );
    let volumes = temporary_volumes(&out.stderr);
    assert_eq!(volumes.len(), 2, "{}", out.stderr);
    for volume in &volumes {
        assert!(!volume_exists(volume), "{volume} was left behind");
    }
    let ran = run_app(&world.image);
    assert!(
        ran.contains("hello from the app: hi from the test"),
        "{ran}"
    );

    // The same app through the creator: the same layers and processes.
    let mut args = world.build_args(&[]);
    args[1] = trusted_image.clone();
    let trusted = cnb(&args);
    assert_built(&trusted);
    assert_eq!(
        app_layers_and_processes(&world.image),
        app_layers_and_processes(&trusted_image)
    );
}

#[test]
fn the_failing_phase_passes_its_status_and_is_named() {
    if !docker_available() {
        return;
    }
    let Some(pw) = PhasesWorld::new(RealBuilderOptions::new("")) else {
        return;
    };
    pw.world.app_file("fail-detect", "");
    let out = pw.build(&["-v"]);
    assert_eq!(out.code(), 20, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("the lifecycle's detect phase failed with exit status 20"),
        "{}",
        out.stderr
    );
    for volume in temporary_volumes(&out.stderr) {
        assert!(!volume_exists(&volume), "{volume} was left behind");
    }
    std::fs::remove_file(pw.world.app.join("fail-detect")).unwrap();

    pw.world.app_file("fail-build", "");
    let out = pw.build(&[]);
    assert_eq!(out.code(), 51, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("the lifecycle's build phase failed with exit status 51"),
        "{}",
        out.stderr
    );
    assert!(containers_from(&pw.world.builder).is_empty());
    assert!(containers_from(&pw.lifecycle_image).is_empty());
}

#[test]
fn publish_with_an_untrusted_builder() {
    if !docker_available() {
        return;
    }
    let Some(pw) = PhasesWorld::new(RealBuilderOptions::new("")) else {
        return;
    };
    let image = pw
        .world
        .registry
        .image(&format!("cnbtest/{}-app", pw.world.id), "1");
    // The lifecycle image from the config (pack's key) this time, not the flag.
    run_cnb(
        &pw.world.home,
        ["config", "lifecycle-image", &pw.lifecycle_image],
    )
    .assert_success();
    let mut args = pw.world.build_args(&["--publish"]);
    args.retain(|a| a != "--trust-builder");
    args[1] = image.clone();
    let out = run_cnb(&pw.world.home, &args);
    assert!(
        out.stderr
            .contains(&format!("run from {}", pw.lifecycle_image)),
        "{}",
        out.stderr
    );
    assert_built(&out);
    assert!(!in_daemon(&image));
    docker_pull(&image);
    let _app = DaemonImages(vec![image.clone()]);
    assert!(run_app(&image).contains("hello from the app: hi from the test"));
    assert_eq!(recorded_run_image(&image), pw.world.run_image);
}

#[test]
fn ctrl_c_during_a_phase_removes_its_container_and_the_volumes() {
    if !docker_available() {
        return;
    }
    let Some(pw) = PhasesWorld::new(RealBuilderOptions::new("")) else {
        return;
    };
    pw.world.app_file("sleep-build", "60");
    let stdout_path = pw.world.home.path().join("stdout");
    let stderr_path = pw.world.home.path().join("stderr");
    let mut child = cnb_cmd(&pw.world.home)
        .args(pw.args(&["-v"]))
        .stdout(Stdio::from(File::create(&stdout_path).unwrap()))
        .stderr(Stdio::from(File::create(&stderr_path).unwrap()))
        .spawn()
        .unwrap();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let started = wait_for(Duration::from_secs(180), || {
        read(&stdout_path)
            .contains("cnb-test/hello: sleeping")
            .then_some(())
    });
    if started.is_none() {
        let _ = child.kill();
        panic!(
            "the build phase never started:\n{}\n{}",
            read(&stdout_path),
            read(&stderr_path)
        );
    }
    assert_eq!(containers_from(&pw.world.builder).len(), 1);
    // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let status = wait_for(Duration::from_secs(30), || child.try_wait().ok().flatten());
    let Some(status) = status else {
        let _ = child.kill();
        panic!("cnb did not exit within 30 s of SIGINT");
    };
    let stderr = read(&stderr_path);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(containers_from(&pw.world.builder).is_empty());
    assert!(containers_from(&pw.world.builder).is_empty(), "{stderr}");
    let volumes = temporary_volumes(&stderr);
    assert_eq!(volumes.len(), 2, "{stderr}");
    for volume in volumes {
        assert!(!volume_exists(&volume), "{volume} was left behind");
    }
}

#[test]
fn a_builder_with_extensions_takes_the_phases_even_when_trusted() {
    if !docker_available() {
        return;
    }
    let Some(pw) = PhasesWorld::new(RealBuilderOptions::new("").with_extension()) else {
        return;
    };
    // Trusted, but the creator refuses extensions: the phases run.
    let out = run_cnb(
        &pw.world.home,
        pw.world
            .build_args(&["--lifecycle-image", &pw.lifecycle_image]),
    );
    assert_built(&out);
    assert!(
        out.stderr.contains("its order has image extensions"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("cnb-test/hello-ext: generating"),
        "the extension did not run:\n{}",
        out.stdout
    );
    assert!(run_app(&pw.world.image).contains("hello from the app"));

    // An extension that generates a Dockerfile needs the extender, which cnb does not run.
    pw.world.app_file("extend-build", "");
    let out = run_cnb(
        &pw.world.home,
        pw.world
            .build_args(&["--lifecycle-image", &pw.lifecycle_image]),
    );
    assert_eq!(out.code(), 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("cnb-test_hello-ext/build.Dockerfile")
            || out.stderr.contains("build.Dockerfile"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("extender"), "{}", out.stderr);
}
