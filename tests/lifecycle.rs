//! `cnb build` with the real lifecycle (SPEC §6–§7): builders made by the real
//! `pack builder create` from the pinned lifecycles and the project's buildpack
//! (tests/real-builder), real registries on loopback or in a network namespace, the real
//! daemon. The app images these builds produce are run and inspected. See docs/build-e2e.md.

mod support;

use std::fs::File;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use support::*;

#[test]
fn outage_build_through_the_second_mirror_runs_and_names_only_originals() {
    if !docker_available() {
        return;
    }
    let home = TestHome::new();
    // The builder's registry is down, the first mirror never answers, the second is healthy.
    let origin = refused_addr().to_string();
    let hole = Blackhole::start();
    let mirror = TestRegistry::start(RegistryOptions::plain());
    let id = unique_name("life");
    let run_image = format!("{origin}/cnbtest/{id}-run:latest");
    let builder = format!("{origin}/cnbtest/{id}-builder:latest");
    let Some(made) = RealBuilder::create(RealBuilderOptions::new(&run_image)) else {
        return;
    };
    push_image_as(
        made.run.tag(),
        &mirror.image(&format!("cnbtest/{id}-run"), "latest"),
    );
    push_image_as(
        made.tag(),
        &mirror.image(&format!("cnbtest/{id}-builder"), "latest"),
    );
    drop(made);
    assert!(!in_daemon(&run_image) && !in_daemon(&builder));
    let image = format!("cnbtest-{id}-app:latest");
    let _images = DaemonImages(vec![builder.clone(), run_image.clone(), image.clone()]);
    let _sweeper = DockerSweeper::new()
        .registry(&mirror)
        .volumes(&format!("{id}-app"));
    home.write_config(&format!(
        "[registry-mirrors]\n\"{origin}\" = [\"http://{}\", \"http://{}\"]\n",
        hole.host(),
        mirror.host()
    ));
    let app = home.write_app("app", &[("message", "through the mirror\n")]);

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
        ],
    );
    assert_built(&out);
    assert!(
        out.stderr
            .contains(&format!("Using mirror http://{}", mirror.host())),
        "{}",
        out.stderr
    );
    assert!(hole.connections() >= 1, "the black hole was not probed");

    // The app runs the buildpack's process.
    let ran = run_app(&image);
    assert!(
        ran.contains("hello from the app: through the mirror"),
        "{ran}"
    );

    // Its metadata names the run image by its original name.
    assert_eq!(recorded_run_image(&image), run_image);
    let build = image_label(&image, "io.buildpacks.build.metadata");
    assert_eq!(build["processes"][0]["type"], "web", "{build:#}");
    assert_eq!(build["buildpacks"][0]["id"], "cnb-test/hello", "{build:#}");

    // No mirror host anywhere in the image, and no mirror tag in the daemon.
    let bytes = saved_image(&image);
    for host in [mirror.host(), hole.host()] {
        assert!(
            !bytes_contain(&bytes, &host),
            "{host} appears in the app image"
        );
    }
    assert!(
        bytes_contain(&bytes, &run_image),
        "the save holds the metadata"
    );
    let leaked: Vec<String> = daemon_tags()
        .into_iter()
        .filter(|t| t.contains(&id) && t.contains(&mirror.host()))
        .collect();
    assert!(leaked.is_empty(), "mirror tags left: {leaked:?}");
}

#[test]
fn a_second_build_reuses_the_cache_and_clear_cache_starts_over() {
    if !docker_available() {
        return;
    }
    let Some(world) = RealWorld::new() else {
        return;
    };
    let first = world.build(&[]);
    assert_built(&first);
    assert!(
        first.stdout.contains("cnb-test/hello: cache miss"),
        "{}",
        first.stdout
    );
    assert!(run_app(&world.image).contains("build 1"));

    let second = world.build(&[]);
    assert_built(&second);
    assert!(
        second
            .stdout
            .contains("cnb-test/hello: cache hit: layer hello from build 1"),
        "{}",
        second.stdout
    );
    assert!(run_app(&world.image).contains("build 2"));

    let cleared = world.build(&["--clear-cache"]);
    assert_built(&cleared);
    assert!(
        cleared.stdout.contains("cnb-test/hello: cache miss"),
        "{}",
        cleared.stdout
    );
    assert!(run_app(&world.image).contains("build 1"));
}

#[test]
fn the_lifecycles_exit_status_is_cnbs() {
    if !docker_available() {
        return;
    }
    let Some(world) = RealWorld::new() else {
        return;
    };
    // Failed detection: the lifecycle's 20.
    world.app_file("fail-detect", "");
    let out = world.build(&[]);
    assert_eq!(out.code(), 20, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("exit status 20"), "{}", out.stderr);
    std::fs::remove_file(world.app.join("fail-detect")).unwrap();

    // A failing buildpack: 51.
    world.app_file("fail-build", "");
    let out = world.build(&[]);
    assert_eq!(out.code(), 51, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("cnb-test/hello: fail-build present"),
        "{}",
        out.stdout
    );
    std::fs::remove_file(world.app.join("fail-build")).unwrap();

    // The analyzer cannot write the output image (a registry that wants credentials the
    // user does not have): the lifecycle's AnalyzeError, 32.
    let locked = TestRegistry::start(RegistryOptions::plain().auth());
    let target = locked.image(&format!("cnbtest/{}-app", world.id), "1");
    let mut args = world.build_args(&["--publish"]);
    args[1] = target;
    let out = run_cnb(&world.home, &args);
    assert_eq!(out.code(), 32, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("exit status 32"), "{}", out.stderr);
    assert!(containers_from(&world.builder).is_empty());
}

#[test]
fn publish_to_a_plain_loopback_registry_then_pull_and_run() {
    if !docker_available() {
        return;
    }
    let Some(mut world) = RealWorld::new() else {
        return;
    };
    world.image = world
        .registry
        .image(&format!("cnbtest/{}-app", world.id), "1");
    let out = world.build(&["--publish"]);
    assert_built(&out);
    assert!(
        !in_daemon(&world.image),
        "--publish does not write to the daemon"
    );
    docker_pull(&world.image);
    let ran = run_app(&world.image);
    assert!(
        ran.contains("hello from the app: hi from the test"),
        "{ran}"
    );
    assert_eq!(recorded_run_image(&world.image), world.run_image);
}

#[test]
fn publish_to_a_tls_registry_needs_and_honours_an_insecure_entry() {
    if !docker_available() {
        return;
    }
    let Some(mut world) =
        RealWorld::with(RegistryOptions::plain().tls(), RealBuilderOptions::new(""))
    else {
        return;
    };
    world.image = world
        .registry
        .image(&format!("cnbtest/{}-app", world.id), "1");
    // Its certificate is signed by a CA nobody trusts: refused, with the fix named.
    let refused = world.build(&["--publish"]);
    assert!(!refused.success(), "{}", refused.stderr);
    assert!(
        refused.stderr.contains(&format!(
            "cnb config insecure-registries add {}",
            world.registry.host()
        )),
        "{}",
        refused.stderr
    );
    let out = world.build(&["--publish", "--insecure-registry", &world.registry.host()]);
    assert_built(&out);
    // The daemon accepts any certificate on loopback, so it can pull the result.
    docker_pull(&world.image);
    let ran = run_app(&world.image);
    assert!(
        ran.contains("hello from the app: hi from the test"),
        "{ran}"
    );
}

#[test]
fn publish_reads_the_run_image_from_an_http_mirror_off_loopback() {
    if !docker_available() {
        return;
    }
    let Some(netns) = NetnsHost::start() else {
        return;
    };
    let Some(world) = RealWorld::new() else {
        return;
    };
    let far = TestRegistry::start_in_netns(&netns, RegistryOptions::plain());
    let run_repo = format!("cnbtest/{}-run:latest", world.id);
    copy_image(&world.registry, &run_repo, &far, &run_repo);
    // The run image's registry is mirrored by a plain-HTTP host in another network:
    // cnb reads it there, so the lifecycle must too (and over plain HTTP).
    let _ = run_cnb(
        &world.home,
        [
            "config",
            "registry-mirrors",
            "add",
            &world.registry.host(),
            "-m",
            &format!("http://{}", far.host()),
        ],
    );
    let image = world
        .registry
        .image(&format!("cnbtest/{}-app", world.id), "1");
    let mut args = world.build_args(&["--publish"]);
    args[1] = image.clone();
    let out = run_cnb(&world.home, &args);
    assert_built(&out);
    assert!(
        out.stderr
            .contains(&format!("Using mirror http://{}", far.host())),
        "{}",
        out.stderr
    );
    // cnb warns that the mirror is recorded (the lifecycle cannot fetch through a mirror).
    assert!(out.stderr.contains("runImage.reference"), "{}", out.stderr);
    docker_pull(&image);
    let _app = DaemonImages(vec![image.clone()]);
    assert!(run_app(&image).contains("hello from the app"));
    assert!(
        far.log()
            .contains(&format!("/v2/cnbtest/{}-run/", world.id)),
        "the lifecycle did not read the run image from the mirror:\n{}",
        far.log()
    );
}

#[test]
fn the_given_run_image_is_what_the_app_records() {
    if !docker_available() {
        return;
    }
    for apis in [None, Some(["0.11"])] {
        let mut options = RealBuilderOptions::new("");
        if let Some(apis) = apis {
            // Below platform API 0.12 the lifecycle reads the run image from stack.toml.
            options = options.platform_apis(&apis);
        }
        let Some(world) = RealWorld::with(RegistryOptions::plain(), options) else {
            return;
        };
        let other = world
            .registry
            .image(&format!("cnbtest/{}-other-run", world.id), "2");
        copy_image(
            &world.registry,
            &format!("cnbtest/{}-run:latest", world.id),
            &world.registry,
            &format!("cnbtest/{}-other-run:2", world.id),
        );
        let out = world.build(&["--run-image", &other]);
        assert_built(&out);
        if let Some(apis) = apis {
            assert!(
                out.stderr.contains(&format!("(platform API {})", apis[0])),
                "{}",
                out.stderr
            );
        }
        assert_eq!(recorded_run_image(&world.image), other, "{apis:?}");
        assert!(run_app(&world.image).contains("hello from the app"));
    }
}

#[test]
fn platform_api_is_negotiated_with_each_pinned_lifecycle() {
    if !docker_available() {
        return;
    }
    for version in LifecycleVersion::ALL {
        let options = RealBuilderOptions::new("").lifecycle(version);
        let Some(world) = RealWorld::with(RegistryOptions::plain(), options) else {
            return;
        };
        let out = world.build(&[]);
        assert_built(&out);
        let api = version.max_platform_api();
        assert!(
            out.stderr.contains(&format!("(platform API {api})")),
            "lifecycle {}: {}",
            version.version(),
            out.stderr
        );
        let ran = run_app(&world.image);
        assert!(ran.contains("hello from the app"), "{ran}");
        assert_eq!(recorded_run_image(&world.image), world.run_image);
    }
}

#[test]
fn ctrl_c_during_a_real_build_leaves_no_container() {
    if !docker_available() {
        return;
    }
    let Some(world) = RealWorld::new() else {
        return;
    };
    world.app_file("sleep-build", "60");
    let stdout_path = world.home.path().join("stdout");
    let stderr_path = world.home.path().join("stderr");
    let mut child = cnb_cmd(&world.home)
        .args(world.build_args(&[]))
        .stdout(Stdio::from(File::create(&stdout_path).unwrap()))
        .stderr(Stdio::from(File::create(&stderr_path).unwrap()))
        .spawn()
        .unwrap();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    // The buildpack's line arrives while the build runs: output streams live.
    let started = wait_for(Duration::from_secs(120), || {
        read(&stdout_path)
            .contains("cnb-test/hello: sleeping")
            .then_some(())
    });
    if started.is_none() {
        let _ = child.kill();
        panic!(
            "the buildpack never started:\n{}\n{}",
            read(&stdout_path),
            read(&stderr_path)
        );
    }
    assert_eq!(containers_from(&world.builder).len(), 1);
    // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let status = wait_for(Duration::from_secs(30), || child.try_wait().ok().flatten());
    let Some(status) = status else {
        let _ = child.kill();
        panic!("cnb did not exit within 30 s of SIGINT");
    };
    assert_eq!(status.code(), Some(130), "{}", read(&stderr_path));
    assert!(
        containers_from(&world.builder).is_empty(),
        "a container from the interrupted build remains"
    );
    assert!(!in_daemon(&world.image));
}

#[test]
fn digest_pinned_builder_and_run_image_through_a_mirror() {
    if !docker_available() {
        return;
    }
    let home = TestHome::new();
    let origin = refused_addr().to_string();
    let mirror = TestRegistry::start(RegistryOptions::plain());
    let id = unique_name("life");
    let run_name = format!("{origin}/cnbtest/{id}-run:latest");
    let Some(made) = RealBuilder::create(RealBuilderOptions::new(&run_name)) else {
        return;
    };
    let run_digest = push_image_as(
        made.run.tag(),
        &mirror.image(&format!("cnbtest/{id}-run"), "latest"),
    );
    let builder_digest = push_image_as(
        made.tag(),
        &mirror.image(&format!("cnbtest/{id}-builder"), "latest"),
    );
    drop(made);
    let builder = format!("{origin}/cnbtest/{id}-builder@{builder_digest}");
    let run_image = format!("{origin}/cnbtest/{id}-run@{run_digest}");
    let image = format!("cnbtest-{id}-app:latest");
    let daemon_names = [
        format!(
            "{origin}/cnbtest/{id}-builder:{}",
            builder_digest.replace(':', "-")
        ),
        format!("{origin}/cnbtest/{id}-run:{}", run_digest.replace(':', "-")),
    ];
    let mut names = daemon_names.to_vec();
    names.push(image.clone());
    let _images = DaemonImages(names);
    let _sweeper = DockerSweeper::new()
        .registry(&mirror)
        .volumes(&format!("{id}-app"));
    home.write_config(&format!(
        "[registry-mirrors]\n\"{origin}\" = \"http://{}\"\n",
        mirror.host()
    ));
    let app = home.write_app("app", &[("message", "pinned\n")]);
    let out = run_cnb(
        &home,
        [
            "build",
            &image,
            "-B",
            &builder,
            "--run-image",
            &run_image,
            "-p",
            app.to_str().unwrap(),
            "--trust-builder",
        ],
    );
    assert_built(&out);
    assert!(run_app(&image).contains("hello from the app: pinned"));
    assert_eq!(recorded_run_image(&image), run_image);
    // Both are in the daemon under their own repositories, and no mirror name is left.
    for name in &daemon_names {
        assert!(in_daemon(name), "{name} is not in the daemon");
    }
    let leaked: Vec<String> = daemon_tags()
        .into_iter()
        .filter(|t| t.starts_with(&mirror.host()))
        .collect();
    assert!(leaked.is_empty(), "mirror names left: {leaked:?}");
}
