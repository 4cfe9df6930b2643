//! cnb beside the real pack (v0.40.9, built from its Go module by the test world): the same
//! build on the same real builder gives the same image, and the registry cases cnb exists
//! for are run with both, each tool with its own config (pack's `PACK_HOME`, cnb's
//! `CNB_HOME`). What pack does is asserted too, so docs/pack.md stays true.

mod support;

use std::path::PathBuf;

use support::*;

/// The app both tools build: every kind of entry the lifecycle exports (a hidden file with
/// mode 0600, an executable, a symbolic link, an empty and a private directory, nesting).
fn write_app(home: &TestHome) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let app = home.write_app(
        "app",
        &[
            ("message", "the same app\n"),
            (".hidden", "dot file\n"),
            ("bin/start", "#!/bin/sh\necho start\n"),
            ("src/deep/one.txt", "one\n"),
            ("src/two.txt", "two\n"),
        ],
    );
    let mode = |rel: &str, mode: u32| {
        std::fs::set_permissions(app.join(rel), std::fs::Permissions::from_mode(mode)).unwrap()
    };
    mode(".hidden", 0o600);
    mode("bin/start", 0o755);
    mode("src/deep", 0o700);
    std::fs::create_dir(app.join("empty")).unwrap();
    std::os::unix::fs::symlink("message", app.join("link")).unwrap();
    app
}

fn lifecycle_metadata(image: &str) -> serde_json::Value {
    image_label(image, "io.buildpacks.lifecycle.metadata")
}

#[test]
fn pack_and_cnb_build_the_same_image() {
    if !docker_available() {
        return;
    }
    let Some(pack) = Pack::new() else { return };
    let id = unique_name("pack");
    let Some(made) = RealBuilder::create(RealBuilderOptions::new(&format!("{id}-run:latest")))
    else {
        return;
    };
    let home = TestHome::new();
    let app = write_app(&home);
    let by_pack = format!("{id}-by-pack:latest");
    let by_cnb = format!("{id}-by-cnb:latest");
    let _images = DaemonImages(vec![by_pack.clone(), by_cnb.clone()]);
    let _sweeper = DockerSweeper::new().volumes(&format!("{id}-by-"));
    // Everything is in the daemon: no registry is asked for anything.
    let same = |image: &str| -> Vec<String> {
        [
            "build",
            image,
            "-B",
            made.tag(),
            "-p",
            app.to_str().unwrap(),
            "--trust-builder",
            "--network",
            "host",
            "--pull-policy",
            "never",
            "--env",
            "GREETING=hello from both",
        ]
        .map(String::from)
        .to_vec()
    };
    let packed = pack.run(same(&by_pack));
    packed.assert_success();
    let built = run_cnb(&home, same(&by_cnb));
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
    let (p, c) = (lifecycle_metadata(&by_pack), lifecycle_metadata(&by_cnb));
    let app_sha = |md: &serde_json::Value| md["app"][0]["sha"].as_str().unwrap_or("").to_string();
    assert_eq!(
        p["app"],
        c["app"],
        "the app layers differ\npack:\n{}\ncnb:\n{}",
        layer_listing(&by_pack, &app_sha(&p)).join("\n"),
        layer_listing(&by_cnb, &app_sha(&c)).join("\n"),
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
        image_label(&by_pack, "io.buildpacks.build.metadata"),
        image_label(&by_cnb, "io.buildpacks.build.metadata"),
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
    let (pi, ci) = (image_inspect(&by_pack), image_inspect(&by_cnb));
    assert_eq!(pi["RootFS"]["Layers"], ci["RootFS"]["Layers"]);
    for field in ["Env", "Entrypoint", "Cmd", "WorkingDir", "User", "Labels"] {
        assert_eq!(
            pi["Config"][field], ci["Config"][field],
            "image config '{field}' differs"
        );
    }
    assert_eq!(pi["Created"], ci["Created"]);
    assert_eq!(pi["Id"], ci["Id"], "the same image, down to its ID");
    assert_eq!(run_app(&by_pack), run_app(&by_cnb));
}
