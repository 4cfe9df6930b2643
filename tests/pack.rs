//! cnb beside the real pack (v0.40.9, built from its Go module by the test world): the same
//! build on the same real builder gives the same image, and the registry cases cnb exists
//! for are run with both, each tool with its own config (pack's `PACK_HOME`, cnb's
//! `CNB_HOME`). What pack does is asserted too, so docs/pack.md stays true.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::*;

/// Pack and cnb side by side: each with its own home and config, one app, an output image
/// name for each (`<id>-by-pack`, `<id>-by-cnb`), removed at the end with both tools'
/// cache volumes (named after them) and whatever else a test adds to `images`.
struct Both {
    pack: Pack,
    home: TestHome,
    id: String,
    app: PathBuf,
    by_pack: String,
    by_cnb: String,
    images: DaemonImages,
    _volumes: VolumeSweeper,
}

impl Both {
    /// `None` (after printing why) when Docker or Go is missing outside CI.
    fn new(message: &str) -> Option<Both> {
        if !docker_available() {
            return None;
        }
        let pack = Pack::new()?;
        let home = TestHome::new();
        let id = unique_name("pack");
        let app = home.write_app("app", &[("message", &format!("{message}\n"))]);
        let by_pack = format!("{id}-by-pack:latest");
        let by_cnb = format!("{id}-by-cnb:latest");
        Some(Both {
            images: DaemonImages(vec![by_pack.clone(), by_cnb.clone()]),
            _volumes: VolumeSweeper {
                needle: format!("{id}-by-"),
            },
            pack,
            home,
            id,
            app,
            by_pack,
            by_cnb,
        })
    }

    /// Runs the same `config ...` command with each tool, in its own config.
    fn configure_both(&self, args: &[&str]) {
        self.pack.run(args).assert_success();
        run_cnb(&self.home, args).assert_success();
    }

    /// `build <image> -B <builder> -p <app> --trust-builder --network host <extra>`: the
    /// flags both tools take the same way.
    fn build_args(&self, image: &str, builder: &str, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "build",
            image,
            "-B",
            builder,
            "-p",
            self.app.to_str().unwrap(),
            "--trust-builder",
            "--network",
            "host",
        ]
        .map(String::from)
        .to_vec();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    fn pack_build(&self, image: &str, builder: &str, extra: &[&str]) -> Output {
        self.pack.run(self.build_args(image, builder, extra))
    }

    fn cnb_build(&self, image: &str, builder: &str, extra: &[&str]) -> Output {
        run_cnb(&self.home, self.build_args(image, builder, extra))
    }

    /// A real builder whose run image is `<host>/cnbtest/<id>-run:latest`, copied with
    /// `push(local tag, "repo:tag")` as `cnbtest/<id>-run:latest` and
    /// `cnbtest/<id>-builder:latest` to wherever `host` is served from, then removed from
    /// the daemon. Returns the builder's and the run image's names on `host` (removed from
    /// the daemon at the end too).
    fn builder_on(&mut self, host: &str, push: impl Fn(&str, &str)) -> Option<(String, String)> {
        let run_repo = format!("cnbtest/{}-run:latest", self.id);
        let builder_repo = format!("cnbtest/{}-builder:latest", self.id);
        let run_image = format!("{host}/{run_repo}");
        let made = RealBuilder::create(RealBuilderOptions::new(&run_image))?;
        push(made.run.tag(), &run_repo);
        push(made.tag(), &builder_repo);
        let builder = format!("{host}/{builder_repo}");
        self.images.0.extend([builder.clone(), run_image.clone()]);
        Some((builder, run_image))
    }
}

/// Adds to the app every kind of entry the lifecycle exports: a hidden file with mode
/// 0600, an executable, a symbolic link, an empty and a private directory, nesting.
fn dress_app(app: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let files = [
        (".hidden", "dot file\n", 0o600),
        ("bin/start", "#!/bin/sh\necho start\n", 0o755),
        ("src/deep/one.txt", "one\n", 0o644),
        ("src/two.txt", "two\n", 0o644),
    ];
    for (rel, content, mode) in files {
        let path = app.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    std::fs::set_permissions(app.join("src/deep"), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::create_dir(app.join("empty")).unwrap();
    std::os::unix::fs::symlink("message", app.join("link")).unwrap();
}

fn lifecycle_metadata(image: &str) -> serde_json::Value {
    image_label(image, "io.buildpacks.lifecycle.metadata")
}

#[test]
fn pack_and_cnb_build_the_same_image() {
    let Some(both) = Both::new("the same app") else {
        return;
    };
    dress_app(&both.app);
    let run_image = format!("{}-run:latest", both.id);
    let Some(made) = RealBuilder::create(RealBuilderOptions::new(&run_image)) else {
        return;
    };
    // Everything is in the daemon: no registry is asked for anything.
    let same = [
        "--pull-policy",
        "never",
        "--env",
        "GREETING=hello from both",
    ];
    let (by_pack, by_cnb) = (&both.by_pack, &both.by_cnb);
    let packed = both.pack_build(by_pack, made.tag(), &same);
    packed.assert_success();
    let built = both.cnb_build(by_cnb, made.tag(), &same);
    built.assert_success();
    for out in [&packed, &built] {
        assert!(
            out.stdout
                .contains("cnb-test/hello: platform env GREETING=hello from both"),
            "{}",
            out.stdout
        );
    }

    // The layers the lifecycle records: the app, each buildpack layer, the launcher,
    // config, process types and SBOM layers, and the run image's.
    let (p, c) = (lifecycle_metadata(by_pack), lifecycle_metadata(by_cnb));
    let app_sha = |md: &serde_json::Value| md["app"][0]["sha"].as_str().unwrap_or("").to_string();
    assert_eq!(
        p["app"],
        c["app"],
        "the app layers differ\npack:\n{}\ncnb:\n{}",
        layer_listing(by_pack, &app_sha(&p)).join("\n"),
        layer_listing(by_cnb, &app_sha(&c)).join("\n"),
    );
    assert_eq!(p["buildpacks"][0]["key"], "cnb-test/hello", "{p:#}");
    assert!(
        p["buildpacks"][0]["layers"]["hello"]["sha"].is_string(),
        "{p:#}"
    );
    for field in [
        "buildpacks",
        "launcher",
        "config",
        "process-types",
        "sbom",
        "runImage",
        "stack",
    ] {
        assert_eq!(
            p[field], c[field],
            "lifecycle metadata '{field}' differs: pack {:#} cnb {:#}",
            p[field], c[field]
        );
    }
    assert_eq!(p, c, "the lifecycle metadata differs elsewhere");

    // The processes and buildpacks the build recorded.
    let (pb, cb) = (
        image_label(by_pack, "io.buildpacks.build.metadata"),
        image_label(by_cnb, "io.buildpacks.build.metadata"),
    );
    assert_eq!(pb["processes"][0]["type"], "web", "{pb:#}");
    for field in [
        "processes",
        "buildpacks",
        "launcher",
        "buildpack-default-process-type",
    ] {
        assert_eq!(pb[field], cb[field], "build metadata '{field}' differs");
    }
    assert_eq!(pb, cb, "the build metadata differs elsewhere");

    // And so the whole image: its layers, its config, its labels, its creation time.
    let (pi, ci) = (image_inspect(by_pack), image_inspect(by_cnb));
    assert_eq!(pi["RootFS"]["Layers"], ci["RootFS"]["Layers"]);
    for field in ["Env", "Entrypoint", "Cmd", "WorkingDir", "User", "Labels"] {
        assert_eq!(
            pi["Config"][field], ci["Config"][field],
            "image config '{field}' differs"
        );
    }
    assert_eq!(pi["Created"], ci["Created"]);
    assert_eq!(pi["Id"], ci["Id"], "the same image, down to its ID");
    assert_eq!(run_app(by_pack), run_app(by_cnb));
}

#[test]
fn dead_origin_with_a_mirror_both_build_pack_keeps_the_mirrors_names() {
    let Some(mut both) = Both::new("through the mirror") else {
        return;
    };
    let origin = refused_addr().to_string();
    let mirror = TestRegistry::start(RegistryOptions::plain());
    let _mirrored = DockerSweeper::new().registry(&mirror);
    let Some((builder, run_image)) = both.builder_on(&origin, |local, repo| {
        push_image_as(local, &format!("{}/{repo}", mirror.host()));
    }) else {
        return;
    };
    // The same mirror for the origin in each tool's own config.
    both.configure_both(&[
        "config",
        "registry-mirrors",
        "add",
        &origin,
        "-m",
        &mirror.host(),
    ]);
    let on_mirror = |name: &str| name.replacen(&origin, &mirror.host(), 1);
    let (mirror_builder, mirror_run) = (on_mirror(&builder), on_mirror(&run_image));
    let pull = ["--pull-policy", "always"];

    // pack: every image is read from the mirror, under the mirror's name.
    let packed = both.pack_build(&both.by_pack, &builder, &pull);
    packed.assert_success();
    assert!(
        packed
            .stdout
            .contains(&format!("Using mirror '{mirror_builder}' for {builder}")),
        "{}",
        packed.stdout
    );
    assert!(in_daemon(&mirror_builder) && in_daemon(&mirror_run));
    assert!(
        !in_daemon(&builder) && !in_daemon(&run_image),
        "pack tagged the original names"
    );
    assert!(run_app(&both.by_pack).contains("hello from the app: through the mirror"));
    assert_eq!(recorded_run_image(&both.by_pack), run_image);

    // cnb: the same mirror, and the daemon holds the original names only.
    for name in [&mirror_builder, &mirror_run] {
        must_run("docker", ["rmi", name], Duration::from_secs(60));
    }
    let built = both.cnb_build(&both.by_cnb, &builder, &pull);
    built.assert_success();
    assert!(
        built
            .stderr
            .contains(&format!("Using mirror {} for {builder}", mirror.host())),
        "{}",
        built.stderr
    );
    assert!(in_daemon(&builder) && in_daemon(&run_image));
    assert!(
        !in_daemon(&mirror_builder) && !in_daemon(&mirror_run),
        "cnb left the mirror's names"
    );
    assert!(run_app(&both.by_cnb).contains("hello from the app: through the mirror"));
    assert_eq!(recorded_run_image(&both.by_cnb), run_image);
}

/// How long pack may wait for a black hole before the test kills it: a build with the
/// images present takes pack a few seconds, and where the daemon does the pulling it gives
/// up on a black hole after about 25 s (its 10 s TLS handshake and 15 s ping limits).
const PACK_HANG_LIMIT: Duration = Duration::from_secs(45);

#[test]
fn black_holed_mirror_pack_fails_or_hangs_cnb_falls_back() {
    let Some(both) = Both::new("around the hole") else {
        return;
    };
    let origin = TestRegistry::start(RegistryOptions::plain());
    let _pulled = DockerSweeper::new().registry(&origin);
    let hole = Blackhole::start();
    let run_repo = format!("cnbtest/{}-run:latest", both.id);
    let run_image = format!("{}/{run_repo}", origin.host());
    let Some(made) = RealBuilder::create(RealBuilderOptions::new(&run_image)) else {
        return;
    };
    // The builder stays in the daemon under its local name; the run image is only on the
    // origin, whose mirror is the black hole.
    let RealBuilder { builder, run, .. } = made;
    push_image_as(run.tag(), &run_image);
    drop(run);
    both.configure_both(&[
        "config",
        "registry-mirrors",
        "add",
        &origin.host(),
        "-m",
        &hole.host(),
    ]);
    let present = ["--pull-policy", "if-not-present"];
    let publish = ["--pull-policy", "if-not-present", "--publish"];
    let published = |by: &str| origin.image(&format!("cnbtest/{}", by.replace(":latest", "")), "1");
    let manifest_status = |by: &str| {
        let image = published(by);
        let (repo, tag) = image[origin.host().len() + 1..].rsplit_once(':').unwrap();
        fetch_manifest(&origin, repo, tag)
            .map(|r| r.status)
            .unwrap_or(0)
    };

    // pack, in daemon mode and with --publish at once (they only read pack's config).
    let started = Instant::now();
    let spawn = |args: Vec<String>| {
        let mut cmd = both.pack.cmd();
        cmd.args(args);
        BackgroundProcess::spawn(cmd)
    };
    let pack_daemon = spawn(both.build_args(&both.by_pack, builder.tag(), &present));
    let pack_publish = spawn(both.build_args(&published(&both.by_pack), builder.tag(), &publish));

    // cnb meanwhile: the black hole costs the probe timeout, then the origin serves.
    for (image, extra) in [
        (both.by_cnb.clone(), &present[..]),
        (published(&both.by_cnb), &publish[..]),
    ] {
        let built = both.cnb_build(&image, builder.tag(), extra);
        built.assert_success();
        for line in [
            format!(
                "warning: mirror {} failed for {run_image}: no answer within",
                hole.host()
            ),
            format!(
                "Using {} for {run_image} (no mirror could serve it)",
                origin.host()
            ),
        ] {
            assert!(built.stderr.contains(&line), "{}", built.stderr);
        }
    }
    assert!(run_app(&both.by_cnb).contains("around the hole"));
    assert_eq!(manifest_status(&both.by_cnb), 200, "cnb published");

    // pack with --publish reads the run image with its own registry client, which waits
    // for the black hole without a limit: it had to be killed.
    let hung = pack_publish.wait_or_kill(PACK_HANG_LIMIT.saturating_sub(started.elapsed()));
    assert!(hung.killed(), "pack --publish ended by itself: {hung:?}");
    assert!(
        hung.stdout.contains(&format!(
            "Using mirror '{}/{run_repo}' for {run_image}",
            hole.host()
        )),
        "{}",
        hung.stdout
    );
    assert!(!hung.stdout.contains("===> ANALYZING"), "{}", hung.stdout);
    assert_eq!(
        manifest_status(&both.by_pack),
        404,
        "pack published nothing"
    );

    // pack in daemon mode: the daemon's pull from the mirror gives up, and so does pack,
    // without trying the origin.
    let failed = pack_daemon.wait_or_kill(PACK_LIMIT);
    assert!(
        !failed.killed() && !failed.success(),
        "pack in daemon mode: {failed:?}"
    );
    for part in [
        format!("failed to build: invalid run-image '{run_image}'"),
        format!("http://{}/v2/", hole.host()),
    ] {
        assert!(failed.stderr.contains(&part), "{}", failed.stderr);
    }
    assert!(
        !failed.stdout.contains("===> ANALYZING"),
        "{}",
        failed.stdout
    );
    assert!(hole.connections() >= 2);
}

#[test]
fn insecure_registry_off_loopback_pack_is_refused_by_the_daemon_cnb_builds() {
    let Some(netns) = NetnsHost::start() else {
        return;
    };
    let Some(mut both) = Both::new("over plain http") else {
        return;
    };
    // A plain-HTTP registry on 198.18.x.2, which the daemon was not told is insecure.
    let far = TestRegistry::start_in_netns(&netns, RegistryOptions::plain());
    let _pulled = DockerSweeper::new().registry(&far);
    let Some((builder, run_image)) = both.builder_on(&far.host(), |local, repo| {
        push_image_to(local, &far, repo);
    }) else {
        return;
    };
    let flags = [
        "--insecure-registry",
        &far.host(),
        "--pull-policy",
        "if-not-present",
    ];

    // pack passes --insecure-registry to the lifecycle, but the builder is pulled by the
    // daemon, which refuses plain HTTP off loopback.
    let packed = both.pack_build(&both.by_pack, &builder, &flags);
    assert!(!packed.success(), "{}", packed.stdout);
    for part in [
        format!("failed to fetch builder image '{builder}'"),
        "server gave HTTP response to HTTPS client".to_string(),
    ] {
        assert!(packed.stderr.contains(&part), "{}", packed.stderr);
    }
    assert!(!in_daemon(&both.by_pack));

    // cnb reads both images itself and loads them into the daemon.
    let built = both.cnb_build(&both.by_cnb, &builder, &flags);
    built.assert_success();
    assert!(in_daemon(&builder) && in_daemon(&run_image));
    assert!(run_app(&both.by_cnb).contains("hello from the app: over plain http"));
    assert_eq!(recorded_run_image(&both.by_cnb), run_image);
}

#[test]
fn run_image_mirror_order_pack_sorts_cnb_keeps_the_order_added() {
    let Some(both) = Both::new("which run image") else {
        return;
    };
    let run_image = format!("{}-run:latest", both.id);
    let Some(made) = RealBuilder::create(RealBuilderOptions::new(&run_image)) else {
        return;
    };
    // Two user mirrors of the builder's run image, added first "zz" then "aa"; all three
    // are in the daemon (nothing is pulled) and each is a different image.
    let first = format!("{}-zz-mirror:latest", both.id);
    let second = format!("{}-aa-mirror:latest", both.id);
    let _first = run_image_variant(&first, "zz");
    let _second = run_image_variant(&second, "aa");
    for mirror in [&first, &second] {
        both.configure_both(&[
            "config",
            "run-image-mirrors",
            "add",
            &run_image,
            "-m",
            mirror,
        ]);
    }

    // pack sorts the mirrors when it writes them; cnb keeps the order they were added in.
    let second_listed_first = |out: Output| {
        out.assert_success();
        let at = |name: &str| {
            out.stdout
                .find(name)
                .unwrap_or_else(|| panic!("{}", out.stdout))
        };
        at(&second) < at(&first)
    };
    assert!(second_listed_first(both.pack.run([
        "config",
        "run-image-mirrors",
        "list"
    ])));
    assert!(!second_listed_first(run_cnb(
        &both.home,
        ["config", "run-image-mirrors", "list"]
    )));

    // cnb explains its order before building.
    let never = ["--pull-policy", "never"];
    let plan = both.cnb_build(
        &both.by_cnb,
        made.tag(),
        &[&never[..], &["--dry-run", "--output", "json"]].concat(),
    );
    plan.assert_success();
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).expect("plan JSON");
    let candidates: Vec<(String, String)> = plan["run_image"]["candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .map(|c| {
            (
                c["image"].as_str().unwrap_or("").to_string(),
                c["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let qualified = |name: &str| format!("docker.io/library/{name}");
    assert_eq!(
        candidates,
        [
            (&first, "chosen"),
            (&second, "unused"),
            (&run_image, "unused")
        ]
        .map(|(image, status)| (qualified(image), status.to_string()))
        .to_vec(),
        "{plan:#}"
    );

    // Each builds on its first mirror: pack on the first in sorted order, cnb on the first
    // added.
    let packed = both.pack_build(&both.by_pack, made.tag(), &[&never[..], &["-v"]].concat());
    packed.assert_success();
    assert!(
        packed.stdout.contains(&format!(
            "Selected run image mirror '{second}' from local config"
        )),
        "{}",
        packed.stdout
    );
    both.cnb_build(&both.by_cnb, made.tag(), &never)
        .assert_success();
    let variant = |image: &str| {
        image_inspect(image)["Config"]["Labels"]["io.cnbtest.variant"]
            .as_str()
            .unwrap_or("none")
            .to_string()
    };
    assert_eq!(
        variant(&both.by_pack),
        "aa",
        "pack used the mirror added second"
    );
    assert_eq!(
        variant(&both.by_cnb),
        "zz",
        "cnb used the mirror added first"
    );
    // Both record the builder's run image by name (the lifecycle names the first image of
    // the builder's run.toml when given one it does not list).
    assert_eq!(recorded_run_image(&both.by_pack), run_image);
    assert_eq!(recorded_run_image(&both.by_cnb), run_image);
}
