//! `cnb config ...` run as a user would: the built binary against a temporary home.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

/// A temporary `HOME` with `CNB_HOME` inside it.
struct Home {
    _dir: tempfile::TempDir,
    home: PathBuf,
    cnb_home: PathBuf,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let cnb_home = home.join(".cnb");
        std::fs::create_dir_all(&home).unwrap();
        Home {
            _dir: dir,
            home,
            cnb_home,
        }
    }

    fn config(&self) -> PathBuf {
        self.cnb_home.join("config.toml")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cnb"));
        cmd.args(args)
            .env("HOME", &self.home)
            .env("CNB_HOME", &self.cnb_home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("NO_COLOR", "1")
            .env_remove("CNB_CONFIG");
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs and expects success; returns (stdout, stderr).
    fn ok(&self, args: &[&str]) -> (String, String) {
        let out = self.run(args);
        let (stdout, stderr) = texts(&out);
        assert!(
            out.status.success(),
            "cnb {args:?} failed with {:?}\nstdout: {stdout}\nstderr: {stderr}",
            out.status
        );
        (stdout, stderr)
    }

    fn json(&self, args: &[&str]) -> Value {
        let (stdout, _) = self.ok(args);
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {stdout}"))
    }

    fn write(&self, text: &str) {
        std::fs::create_dir_all(&self.cnb_home).unwrap();
        std::fs::write(self.config(), text).unwrap();
    }

    fn read(&self) -> String {
        std::fs::read_to_string(self.config()).unwrap()
    }
}

fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// ------------------------------------------------------------------ registry mirrors

#[test]
fn registry_mirrors_are_appended_in_the_order_given_and_keep_their_place() {
    let h = Home::new();
    let (stdout, stderr) = h.ok(&[
        "config",
        "registry-mirrors",
        "add",
        "quay.io",
        "-m",
        "b.example",
        "-m",
        "http://a.example:5000",
    ]);
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("Added mirror b.example for quay.io"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Added mirror http://a.example:5000 for quay.io"),
        "{stderr}"
    );
    let (_, stderr) = h.ok(&[
        "config",
        "registry-mirrors",
        "add",
        "quay.io",
        "-m",
        "c.example",
        "-m",
        "B.example",
    ]);
    assert!(stderr.contains("already configured"), "{stderr}");
    assert_eq!(
        h.json(&["config", "registry-mirrors", "list", "--output", "json"]),
        json!([{"registry": "quay.io", "mirrors": ["b.example", "http://a.example:5000", "c.example"]}])
    );
    let (stdout, _) = h.ok(&["config", "registry-mirrors", "list"]);
    assert_eq!(
        stdout,
        "quay.io\n  b.example\n  http://a.example:5000\n  c.example\n"
    );
    // pack reads the first mirror; the whole list is cnb's.
    assert_eq!(
        h.read(),
        "[registry-mirrors]\n\"quay.io\" = \"b.example\"\n\n[registry-mirror-lists]\n\"quay.io\" = [\"b.example\", \"http://a.example:5000\", \"c.example\"]\n"
    );
}

#[test]
fn docker_hub_has_one_entry_whatever_it_is_called() {
    let h = Home::new();
    h.ok(&[
        "config",
        "registry-mirrors",
        "add",
        "docker.io",
        "-m",
        "one.example",
    ]);
    assert_eq!(
        h.read(),
        "[registry-mirrors]\n\"index.docker.io\" = \"one.example\"\n"
    );
    h.ok(&[
        "config",
        "registry-mirrors",
        "add",
        "registry-1.docker.io",
        "-m",
        "two.example",
    ]);
    h.ok(&[
        "config",
        "registry-mirrors",
        "add",
        "Index.Docker.IO",
        "-m",
        "three.example",
    ]);
    assert_eq!(
        h.json(&["config", "registry-mirrors", "list", "-o", "json"]),
        json!([{"registry": "docker.io", "mirrors": ["one.example", "two.example", "three.example"]}])
    );
    let (_, stderr) = h.ok(&[
        "config",
        "registry-mirrors",
        "remove",
        "index.docker.io",
        "-m",
        "two.example",
    ]);
    assert!(
        stderr.contains("Removed mirror two.example for docker.io"),
        "{stderr}"
    );
    h.ok(&[
        "config",
        "registry-mirrors",
        "remove",
        "docker.io",
        "-m",
        "three.example",
    ]);
    // One mirror left: pack's string form again.
    assert_eq!(
        h.read(),
        "[registry-mirrors]\n\"index.docker.io\" = \"one.example\"\n"
    );
    // A hand-written "docker.io" key is found through the other spellings.
    h.write("[registry-mirrors]\n\"docker.io\" = \"hand.example\"\n");
    h.ok(&[
        "config",
        "registry-mirrors",
        "add",
        "index.docker.io",
        "-m",
        "x.example",
    ]);
    assert_eq!(
        h.read(),
        "[registry-mirrors]\n\"docker.io\" = \"hand.example\"\n\n[registry-mirror-lists]\n\"docker.io\" = [\"hand.example\", \"x.example\"]\n"
    );
    h.ok(&["config", "registry-mirrors", "remove", "index.docker.io"]);
    assert_eq!(
        h.json(&["config", "registry-mirrors", "list", "-o", "json"]),
        json!([])
    );
}

#[test]
fn the_wildcard_entry() {
    let h = Home::new();
    h.ok(&[
        "config",
        "registry-mirrors",
        "add",
        "*",
        "-m",
        "all.example",
    ]);
    h.ok(&[
        "config",
        "registry-mirrors",
        "add",
        "quay.io",
        "-m",
        "q.example",
    ]);
    assert_eq!(
        h.read(),
        "[registry-mirrors]\n\"*\" = \"all.example\"\n\"quay.io\" = \"q.example\"\n"
    );
    assert_eq!(
        h.json(&["config", "registry-mirrors", "list", "-o", "json"]),
        json!([{"registry": "*", "mirrors": ["all.example"]}, {"registry": "quay.io", "mirrors": ["q.example"]}])
    );
    h.ok(&[
        "config",
        "registry-mirrors",
        "remove",
        "*",
        "-m",
        "all.example",
    ]);
    assert_eq!(
        h.read(),
        "[registry-mirrors]\n\"quay.io\" = \"q.example\"\n"
    );
}

#[test]
fn removing_what_is_not_there_says_so_and_succeeds() {
    let h = Home::new();
    let (_, stderr) = h.ok(&["config", "registry-mirrors", "remove", "quay.io"]);
    assert!(
        stderr.contains("No registry mirrors are configured for quay.io"),
        "{stderr}"
    );
    assert!(!h.config().exists(), "a no-op must not create the file");
    h.ok(&[
        "config",
        "registry-mirrors",
        "add",
        "quay.io",
        "-m",
        "a.example",
        "-m",
        "b.example",
    ]);
    let before = h.read();
    let (_, stderr) = h.ok(&[
        "config",
        "registry-mirrors",
        "remove",
        "quay.io",
        "-m",
        "zzz.example",
    ]);
    assert!(
        stderr.contains("Mirror zzz.example is not configured for quay.io"),
        "{stderr}"
    );
    assert_eq!(h.read(), before);
    let (_, stderr) = h.ok(&[
        "config",
        "registry-mirrors",
        "remove",
        "quay.io",
        "-m",
        "a.example",
        "-m",
        "b.example",
    ]);
    assert!(stderr.contains("no registry mirrors left"), "{stderr}");
    assert_eq!(h.read(), "");
}

// ------------------------------------------------------------------ pack compatibility

/// What `pack config ...` writes, byte for byte (BurntSushi/toml encoder), with a
/// comment a user added on the first line.
const PACK_FILE: &str = r#"# written by pack, edited by hand
default-builder-image = "paketobuildpacks/builder-jammy-base"
experimental = true
pull-policy = "if-not-present"
layout-repo-dir = "/home/u/.pack/layout-repo"

[[trusted-builders]]
  name = "registry.corp.example/builder"

[[run-images]]
  image = "paketobuildpacks/run-jammy-base"
  mirrors = ["registry.corp.example/paketo/run-jammy-base"]

[[registries]]
  name = "corp"
  type = "github"
  url = "https://github.com/corp/registry"

[registry-mirrors]
  "index.docker.io" = "mirror.corp.example" # the only one pack knows
"#;

#[test]
fn a_pack_file_is_read_edited_in_place_and_restored_exactly() {
    let h = Home::new();
    h.write(PACK_FILE);
    assert_eq!(
        h.json(&["config", "registry-mirrors", "list", "-o", "json"]),
        json!([{"registry": "docker.io", "mirrors": ["mirror.corp.example"]}])
    );
    assert_eq!(
        h.json(&["config", "run-image-mirrors", "list", "-o", "json"]),
        json!([{"image": "paketobuildpacks/run-jammy-base", "mirrors": ["registry.corp.example/paketo/run-jammy-base"]}])
    );
    assert_eq!(
        h.json(&["config", "trusted-builders", "list", "-o", "json"]),
        json!(["registry.corp.example/builder"])
    );
    assert_eq!(
        h.ok(&["config", "default-builder"]).0,
        "paketobuildpacks/builder-jammy-base\n"
    );
    assert_eq!(h.ok(&["config", "pull-policy"]).0, "if-not-present\n");

    h.ok(&[
        "config",
        "registry-mirrors",
        "add",
        "ghcr.io",
        "-m",
        "ghcr-mirror.corp.example",
    ]);
    h.ok(&[
        "config",
        "run-image-mirrors",
        "add",
        "paketobuildpacks/run-jammy-base",
        "-m",
        "z.example/run",
        "-m",
        "a.example/run",
    ]);
    h.ok(&[
        "config",
        "trusted-builders",
        "add",
        "registry.corp.example/other-builder",
    ]);
    // Still pack's shapes: one mirror per registry is a string; new keys follow pack's indentation.
    assert_eq!(
        h.read(),
        r#"# written by pack, edited by hand
default-builder-image = "paketobuildpacks/builder-jammy-base"
experimental = true
pull-policy = "if-not-present"
layout-repo-dir = "/home/u/.pack/layout-repo"

[[trusted-builders]]
  name = "registry.corp.example/builder"

[[trusted-builders]]
  name = "registry.corp.example/other-builder"

[[run-images]]
  image = "paketobuildpacks/run-jammy-base"
  mirrors = ["registry.corp.example/paketo/run-jammy-base", "z.example/run", "a.example/run"]

[[registries]]
  name = "corp"
  type = "github"
  url = "https://github.com/corp/registry"

[registry-mirrors]
  "index.docker.io" = "mirror.corp.example" # the only one pack knows
  "ghcr.io" = "ghcr-mirror.corp.example"
"#
    );
    h.ok(&["config", "registry-mirrors", "remove", "ghcr.io"]);
    h.ok(&[
        "config",
        "run-image-mirrors",
        "remove",
        "paketobuildpacks/run-jammy-base",
        "-m",
        "z.example/run",
        "-m",
        "a.example/run",
    ]);
    h.ok(&[
        "config",
        "trusted-builders",
        "remove",
        "registry.corp.example/other-builder",
    ]);
    assert_eq!(h.read(), PACK_FILE);
}

#[test]
fn comments_survive_every_kind_of_edit() {
    let h = Home::new();
    let text = "# line one\n\n# about mirrors\n[registry-mirrors]\n# hub\n\"index.docker.io\" = \"a.example\" # first\n\n# tail\n";
    h.write(text);
    h.ok(&[
        "config",
        "registry-mirrors",
        "add",
        "docker.io",
        "-m",
        "b.example",
    ]);
    h.ok(&["config", "insecure-registries", "add", "reg.local:5000"]);
    h.ok(&["config", "pull-policy", "never"]);
    let after = h.read();
    for comment in [
        "# line one\n",
        "# about mirrors\n",
        "# hub\n",
        "# first\n",
        "# tail\n",
    ] {
        assert!(after.contains(comment), "lost {comment:?}:\n{after}");
    }
    assert!(after.starts_with("# line one\n"), "{after}");
    h.ok(&["config", "pull-policy", "--unset"]);
    h.ok(&["config", "insecure-registries", "remove", "reg.local:5000"]);
    h.ok(&[
        "config",
        "registry-mirrors",
        "remove",
        "docker.io",
        "-m",
        "b.example",
    ]);
    assert_eq!(h.read(), text);
}

// ------------------------------------------------------------------ errors

#[test]
fn a_corrupt_file_fails_with_its_position_and_is_not_touched() {
    let h = Home::new();
    let path = h.config();
    for (text, position) in [
        ("pull-policy = \"never\"\n[registry-mirrors\n", ":2:"),
        ("# ok\npull-policy = 3\n", ":2:15:"),
        (
            "[registry-mirrors]\n\"quay.io\" = [\"a.example\", 7]\n",
            ":2:27:",
        ),
        ("[registry-mirrors]\n\"quay.io\" = \"https://\"\n", ":2:13:"),
    ] {
        h.write(text);
        for args in [
            &["config", "registry-mirrors", "list"][..],
            &[
                "config",
                "registry-mirrors",
                "add",
                "ghcr.io",
                "-m",
                "g.example",
            ],
            &["config", "registry-mirrors", "remove", "quay.io"],
            &["config", "insecure-registries", "add", "reg.local"],
            &["config", "pull-policy"],
        ] {
            let out = h.run(args);
            let (_, stderr) = texts(&out);
            assert_eq!(out.status.code(), Some(1), "{args:?} on {text:?}: {stderr}");
            let expected = format!("{}{position}", path.display());
            assert!(
                stderr.contains(&expected),
                "{args:?}: expected {expected} in {stderr}"
            );
            assert!(stderr.starts_with("error: invalid config file"), "{stderr}");
            assert_eq!(h.read(), text, "{args:?} changed the file");
        }
        // Commands that do not need the config still work.
        let (stdout, _) = h.ok(&["config", "path"]);
        assert_eq!(stdout.trim_end(), path.display().to_string());
        h.ok(&["--help"]);
        h.ok(&["config", "--help"]);
        assert_eq!(names_in(&h.cnb_home), vec!["config.toml"]);
    }
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let h = Home::new();
    h.write("# keep me\n[registry-mirrors]\n\"quay.io\" = \"q.example\"\n");
    let before = h.read();
    let cases: &[&[&str]] = &[
        &[
            "config",
            "registry-mirrors",
            "add",
            "https://quay.io",
            "-m",
            "m.example",
        ],
        &[
            "config",
            "registry-mirrors",
            "add",
            "bad host",
            "-m",
            "m.example",
        ],
        &[
            "config",
            "registry-mirrors",
            "add",
            "quay.io:99999",
            "-m",
            "m.example",
        ],
        &[
            "config",
            "registry-mirrors",
            "add",
            "quay.io",
            "-m",
            "ok.example",
            "-m",
            "https://",
        ],
        &[
            "config",
            "registry-mirrors",
            "add",
            "quay.io",
            "-m",
            "user@m.example",
        ],
        &[
            "config",
            "registry-mirrors",
            "add",
            "quay.io",
            "-m",
            "m.example?x=1",
        ],
        &[
            "config",
            "registry-mirrors",
            "add",
            "quay.io",
            "-m",
            "ftp://m.example",
        ],
        &[
            "config",
            "registry-mirrors",
            "add",
            "quay.io",
            "-m",
            "quay.io",
        ],
        &[
            "config",
            "registry-mirrors",
            "remove",
            "quay.io",
            "-m",
            "https://",
        ],
        &["config", "registry-mirrors", "remove", "quay.io/x"],
        &[
            "config",
            "run-image-mirrors",
            "add",
            "UPPER/case",
            "-m",
            "x.example/run",
        ],
        &[
            "config",
            "run-image-mirrors",
            "add",
            "a/run",
            "-m",
            "x.example//run",
        ],
        &[
            "config",
            "run-image-mirrors",
            "add",
            "a/run",
            "-m",
            "docker.io/a/run:2",
        ],
        &["config", "run-image-mirrors", "remove", "a/run:bad tag"],
        &[
            "config",
            "insecure-registries",
            "add",
            "ok.local",
            "10.20.0.1/16",
        ],
        &["config", "insecure-registries", "add", "reg.local:0"],
        &[
            "config",
            "insecure-registries",
            "remove",
            "http://reg.local",
        ],
        &["config", "default-builder", "Bad/Builder"],
        &["config", "trusted-builders", "add", "a/b:c:d"],
        &["config", "trusted-builders", "remove", ""],
        &["config", "pull-policy", "sometimes"],
        &["config", "registry-mirrors", "add", "quay.io"],
    ];
    for args in cases {
        let out = h.run(args);
        let (stdout, stderr) = texts(&out);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: stdout {stdout} stderr {stderr}"
        );
        assert!(stderr.contains("error"), "{args:?}: {stderr}");
        assert_eq!(h.read(), before, "{args:?} changed the file");
    }
    assert_eq!(
        names_in(&h.cnb_home),
        vec!["config.toml"],
        "bad input must not even take the lock"
    );
}

/// Images and mirrors are refused alike when they carry whitespace around them,
/// on the command line and in the file: nothing is trimmed, nothing is written.
#[test]
fn whitespace_around_images_and_mirrors_is_refused_alike() {
    let h = Home::new();
    h.write("# keep me\n");
    for args in [
        &[
            "config",
            "registry-mirrors",
            "add",
            "quay.io",
            "-m",
            " m.example",
        ][..],
        &[
            "config",
            "registry-mirrors",
            "add",
            "quay.io ",
            "-m",
            "m.example",
        ],
        &[
            "config",
            "run-image-mirrors",
            "add",
            " a/run",
            "-m",
            "x.example/run",
        ],
        &[
            "config",
            "run-image-mirrors",
            "add",
            "a/run",
            "-m",
            "x.example/run ",
        ],
        &["config", "default-builder", "paketobuildpacks/builder "],
        &[
            "config",
            "trusted-builders",
            "add",
            "\tcorp.example/builder",
        ],
        &["config", "insecure-registries", "add", " reg.local"],
        &["resolve", " busybox"],
    ] {
        let out = h.run(args);
        let (_, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("has whitespace around it (remove it)"),
            "{args:?}: {stderr}"
        );
        assert_eq!(h.read(), "# keep me\n", "{args:?}");
    }
    for (text, position) in [
        ("default-builder-image = \" a/b\"\n", ":1:25:"),
        (
            "[registry-mirrors]\n\"quay.io\" = [\"m.example \"]\n",
            ":2:14:",
        ),
        (
            "[[run-images]]\nimage = \"a/run\"\nmirrors = [\" x.example/run\"]\n",
            ":3:12:",
        ),
    ] {
        h.write(text);
        let out = h.run(&["config", "registry-mirrors", "list"]);
        let (_, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(1), "{text}: {stderr}");
        assert!(
            stderr.contains(&format!("{}{position}", h.config().display()))
                && stderr.contains("has whitespace around it (remove it)"),
            "{text}: {stderr}"
        );
    }
}

#[test]
fn a_mirror_error_names_the_value_and_the_expected_form() {
    let h = Home::new();
    let out = h.run(&[
        "config",
        "registry-mirrors",
        "add",
        "quay.io",
        "-m",
        "https://",
    ]);
    let (_, stderr) = texts(&out);
    assert!(stderr.contains("'https://'"), "{stderr}");
    assert!(
        stderr.contains("[http[s]://]host[:port][/path]"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

// ------------------------------------------------------------------ the file

#[cfg(unix)]
#[test]
fn permissions_are_kept() {
    use std::os::unix::fs::PermissionsExt;
    let h = Home::new();
    h.write("pull-policy = \"never\"\n");
    std::fs::set_permissions(h.config(), std::fs::Permissions::from_mode(0o600)).unwrap();
    h.ok(&[
        "config",
        "registry-mirrors",
        "add",
        "quay.io",
        "-m",
        "q.example",
    ]);
    h.ok(&["config", "pull-policy", "always"]);
    let mode = std::fs::metadata(h.config()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    std::fs::set_permissions(h.config(), std::fs::Permissions::from_mode(0o640)).unwrap();
    h.ok(&["config", "pull-policy", "never"]);
    let mode = std::fs::metadata(h.config()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

/// Adds a registry from each of forty processes started at once, and checks that
/// the file ends up with all forty and nothing beside it but cnb's copy of it for
/// pack (docs/configuration.md), which is then the file itself.
fn forty_concurrent_adds(h: &Home) {
    let mut children: Vec<_> = (0..40)
        .map(|i| {
            let registry = format!("reg{i}.example:5000");
            let mirror = format!("mirror{i}.example");
            h.command(&[
                "config",
                "registry-mirrors",
                "add",
                &registry,
                "-m",
                &mirror,
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children.drain(..) {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let list = h.json(&["config", "registry-mirrors", "list", "-o", "json"]);
    let mut registries: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["registry"].as_str().unwrap().to_string())
        .collect();
    registries.sort();
    let mut expected: Vec<String> = (0..40).map(|i| format!("reg{i}.example:5000")).collect();
    expected.sort();
    assert_eq!(registries, expected);
    let copy = h.cnb_home.join(".config.toml.cnb-last");
    match std::fs::read_to_string(&copy) {
        Ok(text) => {
            assert_eq!(text, h.read());
            assert_eq!(
                names_in(&h.cnb_home),
                vec![".config.toml.cnb-last", "config.toml"]
            );
        }
        Err(_) => assert_eq!(names_in(&h.cnb_home), vec!["config.toml"]),
    }
}

#[test]
fn forty_concurrent_writers_lose_nothing() {
    let h = Home::new();
    h.write("# shared\n");
    forty_concurrent_adds(&h);
    assert!(h.read().starts_with("# shared\n"));
}

/// The same when there is no file yet: the writers race to create it.
#[test]
fn forty_concurrent_first_writers_lose_nothing() {
    let h = Home::new();
    forty_concurrent_adds(&h);
}

#[test]
fn the_first_write_creates_the_directory_and_nothing_before_it() {
    let h = Home::new();
    h.ok(&["config", "registry-mirrors", "list"]);
    h.ok(&["config", "default-builder"]);
    assert!(!h.cnb_home.exists(), "reads must not create anything");
    h.ok(&[
        "config",
        "default-builder",
        "paketobuildpacks/builder-jammy-base",
    ]);
    assert_eq!(
        h.read(),
        "default-builder-image = \"paketobuildpacks/builder-jammy-base\"\n"
    );
}

#[test]
fn lifecycle_image_is_packs_key_set_shown_and_unset() {
    let h = Home::new();
    let (_, stderr) = h.ok(&["config", "lifecycle-image"]);
    assert!(stderr.contains("No lifecycle image is set"), "{stderr}");
    let (_, stderr) = h.ok(&[
        "config",
        "lifecycle-image",
        "registry.corp.example/buildpacksio/lifecycle:0.21.17",
    ]);
    assert!(
        stderr.contains(
            "Lifecycle image set to registry.corp.example/buildpacksio/lifecycle:0.21.17"
        ),
        "{stderr}"
    );
    assert_eq!(
        h.read(),
        "lifecycle-image = \"registry.corp.example/buildpacksio/lifecycle:0.21.17\"\n"
    );
    assert_eq!(
        h.ok(&["config", "lifecycle-image"]).0,
        "registry.corp.example/buildpacksio/lifecycle:0.21.17\n"
    );
    let (_, stderr) = h.ok(&["config", "lifecycle-image", "--unset"]);
    assert!(stderr.contains("Removed the lifecycle image"), "{stderr}");
    assert_eq!(h.read(), "");
}

#[test]
fn a_command_that_changes_nothing_creates_nothing() {
    let h = Home::new();
    for args in [
        &["config", "registry-mirrors", "remove", "quay.io"][..],
        &[
            "config",
            "registry-mirrors",
            "remove",
            "quay.io",
            "-m",
            "q.example",
        ],
        &["config", "run-image-mirrors", "remove", "a/run"],
        &["config", "insecure-registries", "remove", "reg.local"],
        &[
            "config",
            "trusted-builders",
            "remove",
            "corp.example/builder",
        ],
        &["config", "default-builder", "--unset"],
        &["config", "lifecycle-image", "--unset"],
        &["config", "pull-policy", "--unset"],
    ] {
        h.ok(args);
        assert!(
            !h.cnb_home.exists(),
            "{args:?} created {}",
            h.cnb_home.display()
        );
    }
    // With a file: nothing beside it, and the file is not rewritten.
    h.write("[registry-mirrors]\n\"quay.io\" = \"q.example\"\n");
    let before = std::fs::metadata(h.config()).unwrap().modified().unwrap();
    let (_, stderr) = h.ok(&[
        "config",
        "registry-mirrors",
        "add",
        "quay.io",
        "-m",
        "q.example",
    ]);
    assert!(stderr.contains("already configured"), "{stderr}");
    h.ok(&["config", "insecure-registries", "remove", "reg.local"]);
    assert_eq!(names_in(&h.cnb_home), vec!["config.toml"]);
    assert_eq!(
        std::fs::metadata(h.config()).unwrap().modified().unwrap(),
        before
    );
}

/// Device nodes, FIFOs and directories are never replaced by a write (the check
/// comes before reading, so a FIFO without a writer does not block), but reading
/// `/dev/null` is an empty config.
#[cfg(unix)]
#[test]
fn special_files_are_never_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let h = Home::new();
    let fifo = h.home.join("fifo.toml");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0);
    let link = h.home.join("null.toml");
    std::os::unix::fs::symlink("/dev/null", &link).unwrap();
    let add = [
        "config",
        "registry-mirrors",
        "add",
        "quay.io",
        "-m",
        "q.example",
    ];
    for (path, kind) in [
        (Path::new("/dev/null"), "a character device"),
        (link.as_path(), "a character device"),
        (fifo.as_path(), "a FIFO (named pipe)"),
    ] {
        let config = path.to_str().unwrap();
        let out = h.run(&[&["--config", config][..], &add].concat());
        let (_, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(1), "{config}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "is {kind}, not a regular file; cnb only writes regular files"
            )),
            "{config}: {stderr}"
        );
    }
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(names_in(&h.home), vec!["fifo.toml", "null.toml"]);

    let (stdout, _) = h.ok(&[
        "--config",
        "/dev/null",
        "config",
        "registry-mirrors",
        "list",
        "-o",
        "json",
    ]);
    assert_eq!(stdout, "[]\n");
}

/// A file without any write permission is refused, even for root (who could
/// replace it; git 2.39's `git config` does), and keeps its mode; a change that
/// changes nothing still succeeds.
#[cfg(unix)]
#[test]
fn a_read_only_file_is_not_rewritten() {
    use std::os::unix::fs::PermissionsExt;
    let h = Home::new();
    let text = "[registry-mirrors]\n\"quay.io\" = \"q.example\"\n";
    h.write(text);
    std::fs::set_permissions(h.config(), std::fs::Permissions::from_mode(0o444)).unwrap();
    let out = h.run(&[
        "config",
        "registry-mirrors",
        "add",
        "ghcr.io",
        "-m",
        "g.example",
    ]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let path = h.config().display().to_string();
    assert_eq!(
        stderr,
        format!(
            "error: config file {path} is read-only; cnb does not change read-only files (make it writable with: chmod u+w {path})\n"
        )
    );
    assert_eq!(h.read(), text);
    let mode = std::fs::metadata(h.config()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o444);
    h.ok(&[
        "config",
        "registry-mirrors",
        "add",
        "quay.io",
        "-m",
        "q.example",
    ]);
    h.ok(&["config", "registry-mirrors", "list"]);
    assert_eq!(names_in(&h.cnb_home), vec!["config.toml"]);
}

/// `--config /dev/zero` (or any file over the cap) fails at once with the limit,
/// instead of reading until memory runs out.
#[test]
fn a_file_over_the_size_cap_is_refused() {
    let h = Home::new();
    h.write(&format!("# {}\n", "x".repeat(4 * 1024 * 1024)));
    for config in ["/dev/zero", h.config().to_str().unwrap()] {
        let out = h.run(&["--config", config, "config", "registry-mirrors", "list"]);
        let (_, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(1), "{config}: {stderr}");
        assert_eq!(
            stderr,
            format!(
                "error: config file {config} is larger than 4 MiB, the most cnb reads; is it the right file?\n"
            )
        );
    }
}

#[test]
fn invalid_utf8_is_reported_with_its_line_and_column() {
    let h = Home::new();
    std::fs::create_dir_all(&h.cnb_home).unwrap();
    std::fs::write(
        h.config(),
        b"# \xc3\xa9t\xc3\xa9\npull-policy = \"al\xffways\"\n",
    )
    .unwrap();
    let out = h.run(&["config", "pull-policy"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "error: invalid config file {}:2:18: not valid UTF-8; a config file is UTF-8 text\n",
            h.config().display()
        )
    );
}

/// The operating system's reason is printed once, not once per layer of the error,
/// and a directory given as the config file says what to give instead.
#[test]
fn an_os_error_is_printed_once() {
    let h = Home::new();
    let out = h.run(&[
        "--config",
        h.home.to_str().unwrap(),
        "config",
        "registry-mirrors",
        "list",
    ]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "error: config file {} is a directory; pass --config with the path of a file (such as {})\n",
            h.home.display(),
            h.home.join("config.toml").display()
        )
    );

    let file = h.home.join("file");
    std::fs::write(&file, "").unwrap();
    let config = file.join("config.toml");
    let out = h.run(&[
        "--config",
        config.to_str().unwrap(),
        "config",
        "registry-mirrors",
        "list",
    ]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "error: could not read config file {}: Not a directory (os error 20)\n",
            config.display()
        )
    );
}

#[test]
fn crlf_files_keep_crlf_line_breaks() {
    let h = Home::new();
    let text = "# mine\r\npull-policy = \"always\"\r\n\r\n[registry-mirrors]\r\n  \"quay.io\" = [\r\n    \"a.example\",\r\n    \"b.example\",\r\n  ]\r\n";
    h.write(text);
    h.ok(&[
        "config",
        "registry-mirrors",
        "add",
        "quay.io",
        "-m",
        "c.example",
    ]);
    h.ok(&["config", "insecure-registries", "add", "reg.local"]);
    // cnb's older array moved to [registry-mirror-lists] on the first write.
    assert_eq!(
        h.read(),
        "# mine\r\npull-policy = \"always\"\r\ninsecure-registries = [\"reg.local\"]\r\n\r\n[registry-mirrors]\r\n  \"quay.io\" = \"a.example\"\r\n\r\n[registry-mirror-lists]\r\n  \"quay.io\" = [\r\n    \"a.example\",\r\n    \"b.example\",\r\n    \"c.example\",\r\n  ]\r\n"
    );
    h.ok(&["config", "insecure-registries", "remove", "reg.local"]);
    h.ok(&[
        "config",
        "registry-mirrors",
        "remove",
        "quay.io",
        "-m",
        "c.example",
    ]);
    assert_eq!(
        h.read(),
        "# mine\r\npull-policy = \"always\"\r\n\r\n[registry-mirrors]\r\n  \"quay.io\" = \"a.example\"\r\n\r\n[registry-mirror-lists]\r\n  \"quay.io\" = [\r\n    \"a.example\",\r\n    \"b.example\",\r\n  ]\r\n"
    );
}

/// A write interrupted after creating its temporary file (a crash, a kill) leaves
/// it behind; the next write removes it, and only the temporary files of this
/// config file.
#[test]
fn the_next_write_removes_temporary_files_an_interrupted_one_left() {
    let h = Home::new();
    h.write("pull-policy = \"always\"\n");
    for name in [
        ".config.toml.aB3xY9.tmp",
        ".config.toml.000000.tmp",
        ".other.toml.aB3xY9.tmp",
    ] {
        std::fs::write(h.cnb_home.join(name), "pull-policy = \"nev").unwrap();
    }
    h.ok(&["config", "pull-policy"]);
    assert_eq!(names_in(&h.cnb_home).len(), 4, "a read removes nothing");
    h.ok(&["config", "pull-policy", "never"]);
    assert_eq!(
        names_in(&h.cnb_home),
        vec![".other.toml.aB3xY9.tmp", "config.toml"]
    );
    assert_eq!(h.read(), "pull-policy = \"never\"\n");
}

// ------------------------------------------------------------------ output

/// A 1,000-registry file, so that a listing takes many writes.
fn write_large_file(h: &Home) {
    let mut text = String::from("[registry-mirrors]\n");
    for i in 0..1000 {
        text.push_str(&format!("\"reg{i}.example:5000\" = \"m{i}.example\"\n"));
    }
    h.write(&text);
}

/// Data that cannot be written fails the command with a message; stderr that
/// cannot be written does not panic or change the outcome.
#[cfg(target_os = "linux")]
#[test]
fn output_that_cannot_be_written_is_reported() {
    let h = Home::new();
    write_large_file(&h);
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    for args in [
        &["config", "registry-mirrors", "list"][..],
        &["config", "registry-mirrors", "list", "-o", "json"],
        &["config", "path"],
        &["--help"],
    ] {
        let out = h.command(args).stdout(full()).output().unwrap();
        let (_, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(
            stderr,
            "error: could not write to standard output: No space left on device (os error 28)\n",
            "{args:?}"
        );
    }
    let out = h
        .command(&[
            "config",
            "registry-mirrors",
            "add",
            "quay.io",
            "-m",
            "q.example",
        ])
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(h.read().contains("\"quay.io\" = \"q.example\""));
    let out = h
        .command(&[
            "config",
            "registry-mirrors",
            "add",
            "bad host",
            "-m",
            "q.example",
        ])
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A reader that goes away (`cnb ... | head -0`) ends the command quietly, with
/// status 0.
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let h = Home::new();
    write_large_file(&h);
    for args in [
        &["config", "registry-mirrors", "list"][..],
        &["config", "registry-mirrors", "list", "-o", "json"],
        &["--help"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = h.command(args).stdout(writer).output().unwrap();
        let (_, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}

// ------------------------------------------------------------------ location

#[test]
fn path_follows_flag_then_cnb_config_then_cnb_home_then_the_platform_dir() {
    let h = Home::new();
    let (stdout, _) = h.ok(&["config", "path"]);
    assert_eq!(stdout, format!("{}\n", h.config().display()));
    let mut cmd = h.command(&["config", "path"]);
    cmd.env("CNB_CONFIG", "/elsewhere/cnb.toml");
    assert_eq!(
        String::from_utf8(cmd.output().unwrap().stdout).unwrap(),
        "/elsewhere/cnb.toml\n"
    );
    let mut cmd = h.command(&["--config", "/flag/cnb.toml", "config", "path"]);
    cmd.env("CNB_CONFIG", "/elsewhere/cnb.toml");
    assert_eq!(
        String::from_utf8(cmd.output().unwrap().stdout).unwrap(),
        "/flag/cnb.toml\n"
    );
    let mut cmd = h.command(&["config", "path"]);
    cmd.env_remove("CNB_HOME");
    assert_eq!(
        String::from_utf8(cmd.output().unwrap().stdout).unwrap(),
        format!("{}\n", h.home.join(".config/cnb/config.toml").display())
    );
}

#[test]
fn the_config_flag_reads_and_writes_that_file() {
    let h = Home::new();
    let other = h.home.join("pack-config.toml");
    std::fs::write(&other, PACK_FILE).unwrap();
    let other_s = other.to_str().unwrap();
    h.ok(&[
        "--config",
        other_s,
        "config",
        "insecure-registries",
        "add",
        "reg.local:5000",
    ]);
    assert!(
        std::fs::read_to_string(&other)
            .unwrap()
            .contains("insecure-registries = [\"reg.local:5000\"]\n")
    );
    assert!(!h.config().exists());
}

// ------------------------------------------------------------------ the other lists

#[test]
fn run_image_mirrors_keep_the_order_given() {
    let h = Home::new();
    h.ok(&[
        "config",
        "run-image-mirrors",
        "add",
        "paketobuildpacks/run-jammy-base",
        "-m",
        "z.example/run",
        "-m",
        "a.example/run",
    ]);
    h.ok(&[
        "config",
        "run-image-mirrors",
        "add",
        "docker.io/paketobuildpacks/run-jammy-base:latest",
        "-m",
        "m.example/run",
        "-m",
        "z.example/run",
    ]);
    assert_eq!(
        h.json(&["config", "run-image-mirrors", "list", "-o", "json"]),
        json!([{"image": "paketobuildpacks/run-jammy-base", "mirrors": ["z.example/run", "a.example/run", "m.example/run"]}])
    );
    let (stdout, _) = h.ok(&["config", "run-image-mirrors", "list"]);
    assert_eq!(
        stdout,
        "paketobuildpacks/run-jammy-base\n  z.example/run\n  a.example/run\n  m.example/run\n"
    );
    let (_, stderr) = h.ok(&[
        "config",
        "run-image-mirrors",
        "remove",
        "paketobuildpacks/run-jammy-base",
        "-m",
        "nope.example/run",
    ]);
    assert!(stderr.contains("not configured"), "{stderr}");
    h.ok(&[
        "config",
        "run-image-mirrors",
        "remove",
        "paketobuildpacks/run-jammy-base",
    ]);
    assert_eq!(
        h.json(&["config", "run-image-mirrors", "list", "-o", "json"]),
        json!([])
    );
    assert_eq!(h.read(), "");
}

#[test]
fn insecure_registries_add_remove_list() {
    let h = Home::new();
    let (_, stderr) = h.ok(&[
        "config",
        "insecure-registries",
        "add",
        "registry.local:5000",
        "10.20.0.0/16",
        "fd00::/8",
    ]);
    assert!(
        stderr.contains("Added insecure registry 10.20.0.0/16"),
        "{stderr}"
    );
    let (_, stderr) = h.ok(&[
        "config",
        "insecure-registries",
        "add",
        "Registry.Local:5000",
    ]);
    assert!(
        stderr.contains("registry.local:5000 is already an insecure registry"),
        "{stderr}"
    );
    assert_eq!(
        h.json(&["config", "insecure-registries", "list", "--output", "json"]),
        json!(["registry.local:5000", "10.20.0.0/16", "fd00::/8"])
    );
    let (stdout, _) = h.ok(&["config", "insecure-registries", "list"]);
    assert_eq!(stdout, "registry.local:5000\n10.20.0.0/16\nfd00::/8\n");
    let (_, stderr) = h.ok(&[
        "config",
        "insecure-registries",
        "remove",
        "10.20.0.0/16",
        "other.local",
    ]);
    assert!(
        stderr.contains("Removed insecure registry 10.20.0.0/16"),
        "{stderr}"
    );
    assert!(
        stderr.contains("other.local is not an insecure registry"),
        "{stderr}"
    );
    assert_eq!(
        h.read(),
        "insecure-registries = [\"registry.local:5000\", \"fd00::/8\"]\n"
    );
}

#[test]
fn trusted_builders_add_remove_list() {
    let h = Home::new();
    assert_eq!(
        h.json(&["config", "trusted-builders", "list", "-o", "json"]),
        json!([])
    );
    h.ok(&[
        "config",
        "trusted-builders",
        "add",
        "registry.corp.example/builder",
    ]);
    let (_, stderr) = h.ok(&[
        "config",
        "trusted-builders",
        "add",
        "registry.corp.example/builder:latest",
    ]);
    assert!(stderr.contains("already a trusted builder"), "{stderr}");
    assert_eq!(
        h.json(&["config", "trusted-builders", "list", "-o", "json"]),
        json!(["registry.corp.example/builder"])
    );
    assert_eq!(
        h.read(),
        "[[trusted-builders]]\nname = \"registry.corp.example/builder\"\n"
    );
    let (_, stderr) = h.ok(&["config", "trusted-builders", "remove", "other/builder"]);
    assert!(stderr.contains("not a trusted builder"), "{stderr}");
    h.ok(&[
        "config",
        "trusted-builders",
        "remove",
        "registry.corp.example/builder",
    ]);
    assert_eq!(h.read(), "");
}

#[test]
fn default_builder_and_pull_policy_show_set_and_unset() {
    let h = Home::new();
    let (stdout, stderr) = h.ok(&["config", "default-builder"]);
    assert_eq!(stdout, "");
    assert!(stderr.contains("No default builder is set"), "{stderr}");
    assert_eq!(h.ok(&["config", "pull-policy"]).0, "always\n");
    h.ok(&[
        "config",
        "default-builder",
        "paketobuildpacks/builder-jammy-base",
    ]);
    h.ok(&["config", "pull-policy", "if-not-present"]);
    assert_eq!(
        h.ok(&["config", "default-builder"]).0,
        "paketobuildpacks/builder-jammy-base\n"
    );
    assert_eq!(h.ok(&["config", "pull-policy"]).0, "if-not-present\n");
    assert_eq!(
        h.read(),
        "default-builder-image = \"paketobuildpacks/builder-jammy-base\"\npull-policy = \"if-not-present\"\n"
    );
    h.ok(&["config", "default-builder", "--unset"]);
    h.ok(&["config", "pull-policy", "--unset"]);
    let (_, stderr) = h.ok(&["config", "pull-policy", "--unset"]);
    assert!(stderr.contains("nothing to remove"), "{stderr}");
    assert_eq!(h.read(), "");
}

#[test]
fn quiet_hides_confirmations_but_not_data() {
    let h = Home::new();
    let (_, stderr) = h.ok(&[
        "-q",
        "config",
        "registry-mirrors",
        "add",
        "quay.io",
        "-m",
        "q.example",
    ]);
    assert_eq!(stderr, "");
    let (stdout, _) = h.ok(&["config", "registry-mirrors", "list", "--quiet"]);
    assert_eq!(stdout, "quay.io\n  q.example\n");
}

#[test]
fn empty_lists_print_empty_json_arrays() {
    let h = Home::new();
    for list in [
        "registry-mirrors",
        "run-image-mirrors",
        "insecure-registries",
        "trusted-builders",
    ] {
        assert_eq!(
            h.json(&["config", list, "list", "-o", "json"]),
            json!([]),
            "{list}"
        );
        let (stdout, stderr) = h.ok(&["config", list, "list"]);
        assert_eq!(stdout, "", "{list}");
        assert!(stderr.starts_with("No "), "{list}: {stderr}");
    }
}

#[test]
fn large_files_are_checked_and_edited() {
    let h = Home::new();
    let mut text = String::from("# big\n[registry-mirrors]\n");
    for i in 0..1000 {
        text.push_str(&format!(
            "  \"reg{i}.example:5000\" = [\"m{i}.example\", \"http://n{i}.example:5000/cache\"]\n"
        ));
    }
    h.write(&text);
    h.ok(&[
        "config",
        "registry-mirrors",
        "add",
        "new.example",
        "-m",
        "n.example",
    ]);
    // The first write moves cnb's older arrays into [registry-mirror-lists].
    let mut pack_view = String::from("# big\n[registry-mirrors]\n");
    let mut lists = String::from("\n[registry-mirror-lists]\n");
    for i in 0..1000 {
        pack_view.push_str(&format!("  \"reg{i}.example:5000\" = \"m{i}.example\"\n"));
        lists.push_str(&format!(
            "  \"reg{i}.example:5000\" = [\"m{i}.example\", \"http://n{i}.example:5000/cache\"]\n"
        ));
    }
    pack_view.push_str("  \"new.example\" = \"n.example\"\n");
    assert_eq!(h.read(), format!("{pack_view}{lists}"));
    assert_eq!(
        h.json(&["config", "registry-mirrors", "list", "-o", "json"])
            .as_array()
            .unwrap()
            .len(),
        1001
    );

    let bad = text.replace(
        "\"http://n900.example:5000/cache\"",
        "\"ftp://n900.example\"",
    );
    h.write(&bad);
    let out = h.run(&[
        "config",
        "registry-mirrors",
        "add",
        "new.example",
        "-m",
        "n.example",
    ]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:903:", h.config().display())),
        "{stderr}"
    );
    assert_eq!(h.read(), bad);
    assert_eq!(
        names_in(&h.cnb_home),
        vec![".config.toml.cnb-last", "config.toml"]
    );
}
