//! One config file for both tools, with the real pack (v0.40.9, built from its Go module by
//! the test world): what `pack config ...` writes, cnb reads with pack's meaning (and where
//! the meanings differ, `*`, both are shown); after every `cnb config ...` change, every
//! `pack config ... list` still works and shows it; and when pack rewrites the file without
//! what it does not know, cnb says what was lost and how to put it back.
//! docs/configuration.md ("Sharing the file with pack") describes all of it.
//!
//! cnb is always pointed at pack's file (`cnb --config $PACK_HOME/config.toml`).

mod support;

use serde_json::{Value, json};
use support::*;

/// pack and a home for cnb, both working on pack's `config.toml`.
struct Shared {
    pack: Pack,
    home: TestHome,
}

impl Shared {
    /// `None` (after printing why) when Go is missing outside CI.
    fn new() -> Option<Shared> {
        Some(Shared {
            pack: Pack::new()?,
            home: TestHome::new(),
        })
    }

    fn config(&self) -> String {
        self.pack.config_path().to_str().unwrap().to_string()
    }

    fn text(&self) -> String {
        std::fs::read_to_string(self.pack.config_path()).unwrap_or_default()
    }

    /// `cnb --config <pack's file> <args>`.
    fn cnb(&self, args: &[&str]) -> Output {
        let config = self.config();
        let mut all = vec!["--config", config.as_str()];
        all.extend(args);
        run_cnb(&self.home, all)
    }

    /// [`cnb`](Self::cnb), which must succeed; its stderr.
    #[track_caller]
    fn cnb_ok(&self, args: &[&str]) -> String {
        let out = self.cnb(args);
        out.assert_success();
        out.stderr
    }

    /// A cnb `... list -o json` (or any command printing JSON).
    #[track_caller]
    fn cnb_json(&self, args: &[&str]) -> Value {
        let out = self.cnb(args);
        out.assert_success();
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("cnb {args:?} printed no JSON ({e}): {}", out.stdout))
    }

    /// `pack <args>`, which must succeed and say no error; stdout and stderr together
    /// (pack logs to both).
    #[track_caller]
    fn pack_ok(&self, args: &[&str]) -> String {
        let out = self.pack.run(args);
        let both = format!("{}{}", out.stdout, out.stderr);
        assert!(
            out.success() && !both.contains("ERROR"),
            "pack {args:?} failed ({}):\n{both}\n--- config.toml\n{}",
            out.status,
            self.text()
        );
        both
    }

    /// What every `pack config` listing shows, one after the other; each must work.
    #[track_caller]
    fn pack_view(&self) -> String {
        [
            &["config", "registry-mirrors", "list"][..],
            &["config", "run-image-mirrors", "list"],
            &["config", "trusted-builders", "list"],
            &["config", "registries", "list"],
            &["config", "default-builder"],
            &["config", "pull-policy"],
            &["config", "lifecycle-image"],
            &["config", "experimental"],
        ]
        .iter()
        .map(|args| self.pack_ok(args))
        .collect()
    }
}

/// pack's file as pack writes it, with every kind of entry: the starting point of the
/// cnb → pack test.
fn pack_writes_everything(s: &Shared) {
    for args in [
        &[
            "config",
            "registry-mirrors",
            "add",
            "quay.io",
            "-m",
            "q.example",
        ][..],
        &[
            "config",
            "registry-mirrors",
            "add",
            "ghcr.io",
            "-m",
            "g.example",
        ],
        &[
            "config",
            "run-image-mirrors",
            "add",
            "paketobuildpacks/run-jammy-base",
            "-m",
            "registry.corp.example/run",
        ],
        &[
            "config",
            "trusted-builders",
            "add",
            "registry.corp.example/builder",
        ],
        &["config", "pull-policy", "if-not-present"],
        &[
            "config",
            "lifecycle-image",
            "registry.corp.example/lifecycle:1",
        ],
        &["config", "experimental", "true"],
        &[
            "config",
            "registries",
            "add",
            "corp",
            "https://git.corp.example/registry-index",
            "--type",
            "git",
        ],
    ] {
        s.pack_ok(args);
    }
}

/// Registries with their mirrors as `cnb config registry-mirrors list -o json` shows them.
fn cnb_mirrors(s: &Shared) -> Value {
    s.cnb_json(&["config", "registry-mirrors", "list", "-o", "json"])
}

// ------------------------------------------------------------------ pack → cnb

#[test]
fn every_pack_config_write_is_read_by_every_cnb_config_command() {
    let Some(s) = Shared::new() else {
        return;
    };
    pack_writes_everything(&s);
    for args in [
        &[
            "config",
            "registry-mirrors",
            "add",
            "*",
            "-m",
            "all.example",
        ][..],
        // pack keeps the key as given; cnb shows Docker Hub as docker.io.
        &[
            "config",
            "registry-mirrors",
            "add",
            "index.docker.io",
            "-m",
            "hub.example",
        ],
        &[
            "config",
            "run-image-mirrors",
            "add",
            "paketobuildpacks/run-jammy-base",
            "-m",
            "mirror.example/b-run",
            "-m",
            "mirror.example/a-run",
        ],
    ] {
        s.pack_ok(args);
    }
    // pack rewrote the file each time: sorted map keys, run-image mirrors sorted.
    let text = s.text();
    assert!(text.contains("experimental = true"), "{text}");
    assert!(text.contains("layout-repo-dir = "), "{text}");

    let mut mirrors: Vec<Value> = cnb_mirrors(&s).as_array().unwrap().clone();
    mirrors.sort_by_key(|e| e["registry"].as_str().unwrap().to_string());
    assert_eq!(
        mirrors,
        vec![
            json!({"registry": "*", "mirrors": ["all.example"]}),
            json!({"registry": "docker.io", "mirrors": ["hub.example"]}),
            json!({"registry": "ghcr.io", "mirrors": ["g.example"]}),
            json!({"registry": "quay.io", "mirrors": ["q.example"]}),
        ]
    );
    assert_eq!(
        s.cnb_json(&["config", "run-image-mirrors", "list", "-o", "json"]),
        json!([{"image": "paketobuildpacks/run-jammy-base", "mirrors": [
            "mirror.example/a-run", "mirror.example/b-run", "registry.corp.example/run"
        ]}])
    );
    assert_eq!(
        s.cnb_json(&["config", "trusted-builders", "list", "-o", "json"]),
        json!(["registry.corp.example/builder"])
    );
    let value = |args: &[&str]| {
        let out = s.cnb(args);
        out.assert_success();
        out.stdout.trim_end().to_string()
    };
    assert_eq!(value(&["config", "pull-policy"]), "if-not-present");
    assert_eq!(
        value(&["config", "lifecycle-image"]),
        "registry.corp.example/lifecycle:1"
    );
    assert_eq!(
        s.cnb_json(&["config", "insecure-registries", "list", "-o", "json"]),
        json!([])
    );
    // Reading wrote nothing and warned about nothing.
    let before = s.text();
    let stderr = s.cnb_ok(&["config", "registry-mirrors", "list"]);
    assert!(!stderr.contains("warning"), "{stderr}");
    assert_eq!(s.text(), before);
}

/// pack keeps registry keys as written, so it can hold `docker.io` beside
/// `index.docker.io`. pack only ever looks up `index.docker.io` (go-containerregistry's
/// name for Docker Hub); cnb reads the file the same way and says the other key is not used.
#[test]
fn two_spellings_of_docker_hub_from_pack_are_read_as_pack_does() {
    let Some(s) = Shared::new() else {
        return;
    };
    s.pack_ok(&[
        "config",
        "registry-mirrors",
        "add",
        "docker.io",
        "-m",
        "unused.example",
    ]);
    s.pack_ok(&[
        "config",
        "registry-mirrors",
        "add",
        "index.docker.io",
        "-m",
        "used.example",
    ]);
    let out = s.cnb(&["config", "registry-mirrors", "list", "-o", "json"]);
    out.assert_success();
    assert_eq!(
        serde_json::from_str::<Value>(&out.stdout).unwrap(),
        json!([{"registry": "docker.io", "mirrors": ["used.example"]}])
    );
    assert!(
        out.stderr.contains("the [registry-mirrors] entry 'docker.io' is not used: 'index.docker.io' names the same registry (docker.io) and wins"),
        "{}",
        out.stderr
    );
    // A change to Docker Hub's mirrors goes to the entry that counts, and removing them
    // removes both, so the shadowed one does not come back.
    s.cnb_ok(&[
        "config",
        "registry-mirrors",
        "add",
        "docker.io",
        "-m",
        "second.example",
    ]);
    assert!(s.pack_view().contains("index.docker.io: 'used.example'"));
    s.cnb_ok(&["config", "registry-mirrors", "remove", "docker.io"]);
    assert_eq!(cnb_mirrors(&s), json!([]));
    assert!(
        s.pack_ok(&["config", "registry-mirrors", "list"])
            .contains("No registry mirrors")
    );
}

// ------------------------------------------------------------------ cnb → pack

/// After each `cnb config` change of pack's file, every pack listing works and shows
/// the change, and pack's own keys (`experimental`, `layout-repo-dir`, `[[registries]]`)
/// are still there. Several mirrors for a registry: pack sees the first, without a scheme.
#[test]
fn after_every_cnb_change_pack_reads_the_file_and_sees_the_change() {
    let Some(s) = Shared::new() else {
        return;
    };
    pack_writes_everything(&s);
    // Each cnb change, what pack shows after it, and what pack no longer shows.
    type Step<'a> = (&'a [&'a str], &'a [&'a str], &'a [&'a str]);
    let steps: &[Step] = &[
        (
            &[
                "registry-mirrors",
                "add",
                "quay.io",
                "-m",
                "b.example",
                "-m",
                "http://c.example:5000",
            ],
            &["quay.io: 'q.example'"],
            &["'b.example", "c.example"],
        ),
        (
            &[
                "registry-mirrors",
                "add",
                "docker.io",
                "-m",
                "http://hub.example:5000/hub",
            ],
            &["index.docker.io: 'hub.example:5000/hub'"],
            &["http://"],
        ),
        (
            &[
                "registry-mirrors",
                "add",
                "*",
                "-m",
                "https://all.example",
                "-m",
                "more.example",
            ],
            &["*: 'all.example'"],
            &["https://", "more.example"],
        ),
        (
            &["registry-mirrors", "remove", "quay.io", "-m", "q.example"],
            &["quay.io: 'b.example'"],
            &["'q.example"],
        ),
        (
            &["registry-mirrors", "remove", "quay.io", "-m", "b.example"],
            &["quay.io: 'c.example:5000'"],
            &["'b.example"],
        ),
        (
            &[
                "run-image-mirrors",
                "add",
                "paketobuildpacks/run-jammy-base",
                "-m",
                "z.example/run",
                "-m",
                "a.example/run",
            ],
            &["registry.corp.example/run\n    z.example/run\n    a.example/run\n"],
            &[],
        ),
        (
            &[
                "run-image-mirrors",
                "add",
                "other/run:1",
                "-m",
                "m.example/other-run",
            ],
            &["'other/run:1':\n    m.example/other-run\n"],
            &[],
        ),
        (
            &[
                "trusted-builders",
                "add",
                "registry.corp.example/other-builder",
            ],
            &["  registry.corp.example/other-builder\n"],
            &[],
        ),
        (
            &["default-builder", "registry.corp.example/builder:2"],
            &["The current default builder is 'registry.corp.example/builder:2'"],
            &[],
        ),
        (
            &["pull-policy", "never"],
            &["The current pull policy is 'never'"],
            &[],
        ),
        (
            &["lifecycle-image", "registry.corp.example/lifecycle:2"],
            &["The current custom lifecycle image is 'registry.corp.example/lifecycle:2'"],
            &[],
        ),
        (
            &[
                "insecure-registries",
                "add",
                "reg.local:5000",
                "10.20.0.0/16",
            ],
            &["quay.io: 'c.example:5000'"],
            &["reg.local"],
        ),
        (
            &["registry-mirrors", "remove", "ghcr.io"],
            &[],
            &["ghcr.io", "g.example"],
        ),
        (
            &["run-image-mirrors", "remove", "other/run:1"],
            &[],
            &["other/run"],
        ),
        (
            &[
                "trusted-builders",
                "remove",
                "registry.corp.example/other-builder",
            ],
            &["  registry.corp.example/builder\n"],
            &["other-builder"],
        ),
        (
            &["default-builder", "--unset"],
            &["No default builder is set"],
            &["corp.example/builder:2"],
        ),
        (
            &["pull-policy", "--unset"],
            &["The current pull policy is 'always'"],
            &[],
        ),
        (
            &["lifecycle-image", "--unset"],
            &["No custom lifecycle image is set"],
            &["corp.example/lifecycle:2"],
        ),
        (
            &[
                "insecure-registries",
                "remove",
                "reg.local:5000",
                "10.20.0.0/16",
            ],
            &["*: 'all.example'"],
            &[],
        ),
    ];
    for (args, shows, hides) in steps {
        let mut cnb_args = vec!["config"];
        cnb_args.extend(*args);
        s.cnb_ok(&cnb_args);
        let view = s.pack_view();
        let context = || {
            format!(
                "after cnb {args:?}, pack shows:\n{view}\n--- config.toml\n{}",
                s.text()
            )
        };
        for expected in *shows {
            assert!(
                view.contains(expected),
                "{expected:?} missing {}",
                context()
            );
        }
        for unexpected in *hides {
            assert!(
                !view.contains(unexpected),
                "{unexpected:?} shown {}",
                context()
            );
        }
        // pack's own settings survive every cnb change.
        assert!(
            view.contains("Experimental features are enabled"),
            "{}",
            context()
        );
        assert!(view.contains("corp"), "{}", context());
    }
    let text = s.text();
    assert!(text.contains("experimental = true"), "{text}");
    assert!(text.contains("layout-repo-dir = "), "{text}");
    // cnb kept every mirror in the order given, in its own table.
    let mut mirrors: Vec<Value> = cnb_mirrors(&s).as_array().unwrap().clone();
    mirrors.sort_by_key(|e| e["registry"].as_str().unwrap().to_string());
    assert_eq!(
        mirrors,
        vec![
            json!({"registry": "*", "mirrors": ["https://all.example", "more.example"]}),
            json!({"registry": "docker.io", "mirrors": ["http://hub.example:5000/hub"]}),
            json!({"registry": "quay.io", "mirrors": ["http://c.example:5000"]}),
        ]
    );
}

/// cnb's older form, an array in `[registry-mirrors]`, makes pack fail on every command.
/// cnb still reads it, and its next change rewrites it into what pack reads.
#[test]
fn the_older_array_form_is_read_and_rewritten_for_pack_by_the_next_change() {
    let Some(s) = Shared::new() else {
        return;
    };
    std::fs::create_dir_all(s.pack.pack_home()).unwrap();
    std::fs::write(
        s.pack.config_path(),
        "# mine\n[registry-mirrors]\n\"quay.io\" = [\"https://q1.example\", \"q2.example\"] # in order\n\"ghcr.io\" = []\n",
    )
    .unwrap();
    let out = s.pack.run(["config", "registry-mirrors", "list"]);
    assert!(!out.success(), "pack read an array: {out:?}");
    assert!(
        format!("{}{}", out.stdout, out.stderr).contains("incompatible types"),
        "{out:?}"
    );
    let read = cnb_mirrors(&s);
    assert_eq!(
        read,
        json!([
            {"registry": "quay.io", "mirrors": ["https://q1.example", "q2.example"]},
            {"registry": "ghcr.io", "mirrors": []},
        ])
    );
    s.cnb_ok(&["config", "pull-policy", "never"]);
    assert_eq!(
        s.text(),
        "# mine\npull-policy = \"never\"\n\n[registry-mirrors]\n\"quay.io\" = \"q1.example\"\n\n[registry-mirror-lists]\n\"quay.io\" = [\"https://q1.example\", \"q2.example\"] # in order\n\"ghcr.io\" = []\n"
    );
    let view = s.pack_view();
    assert!(view.contains("quay.io: 'q1.example'"), "{view}");
    assert!(
        view.contains("The current pull policy is 'never'"),
        "{view}"
    );
    assert_eq!(cnb_mirrors(&s), read);
}

// ------------------------------------------------------------------ pack rewrites the file

/// pack rewrites the whole file with only the keys it knows: cnb's ordered lists, its
/// insecure registries and every comment go. The next cnb command shows what pack kept,
/// and says what was lost and the one command line that puts it back.
#[test]
fn when_pack_rewrites_the_file_cnb_says_what_was_lost_and_how_to_restore_it() {
    let Some(s) = Shared::new() else {
        return;
    };
    s.cnb_ok(&[
        "config",
        "registry-mirrors",
        "add",
        "quay.io",
        "-m",
        "a.example",
        "-m",
        "b.example",
    ]);
    s.cnb_ok(&[
        "config",
        "registry-mirrors",
        "add",
        "ghcr.io",
        "-m",
        "http://g.example:5000",
    ]);
    s.cnb_ok(&["config", "insecure-registries", "add", "reg.local:5000"]);
    let mine = format!("# my registries\n{}", s.text());
    std::fs::write(s.pack.config_path(), &mine).unwrap();
    // No warning while the file is as cnb (and the user) left it.
    let stderr = s.cnb_ok(&["config", "registry-mirrors", "list"]);
    assert!(!stderr.contains("warning"), "{stderr}");
    // The hand edit is not cnb's copy; cnb's next write is. The copy is in cnb's state
    // directory: nothing of cnb's is beside pack's file.
    let copy = s.home.config_copy(&s.pack.config_path());
    s.cnb_ok(&["config", "pull-policy", "always"]);
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), s.text());
    let beside: Vec<_> = std::fs::read_dir(s.pack.pack_home())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, ["config.toml"]);

    s.pack_ok(&[
        "config",
        "registry-mirrors",
        "add",
        "docker.io",
        "-m",
        "x.example",
    ]);
    let text = s.text();
    assert!(
        !text.contains("registry-mirror-lists") && !text.contains('#'),
        "{text}"
    );

    let out = s.cnb(&["config", "registry-mirrors", "list"]);
    out.assert_success();
    // What pack kept, with pack's meaning: the first mirror of each, without a scheme.
    assert_eq!(
        out.stdout,
        "docker.io\n  x.example\nghcr.io\n  g.example:5000\nquay.io\n  a.example\n"
    );
    let config = s.config();
    let expected = [
        format!(
            "warning: config file {config} lost cnb's settings since cnb last wrote it: it was rewritten with only the keys pack knows and no comments, as every `pack config` change does"
        ),
        "  lost: insecure-registries = [\"reg.local:5000\"]".to_string(),
        "  lost: the mirrors of quay.io, in order: a.example, b.example (pack kept only 'a.example')".to_string(),
        "  lost: the mirrors of ghcr.io, in order: http://g.example:5000 (pack kept only 'g.example:5000')".to_string(),
        "  lost: 1 line with a comment".to_string(),
        format!(
            "  restore with: cnb --config {config} config insecure-registries add reg.local:5000 && cnb --config {config} config registry-mirrors add quay.io -m b.example && cnb --config {config} config registry-mirrors remove ghcr.io && cnb --config {config} config registry-mirrors add ghcr.io -m http://g.example:5000"
        ),
        format!(
            "  cnb's copy of the file as cnb last wrote it: {} (delete it if you meant to remove these)",
            copy.display()
        ),
    ];
    assert_eq!(
        out.stderr.lines().collect::<Vec<_>>(),
        expected,
        "{}",
        out.stderr
    );

    // A build says it too: the insecure registry it would have used is gone.
    let resolve = s.cnb(&["resolve", "--registry-timeout", "1", "127.0.0.1:1/x:1"]);
    assert!(
        resolve.stderr.contains("lost cnb's settings"),
        "{}",
        resolve.stderr
    );

    // A change that puts nothing back keeps the copy, so the warning stays.
    let stderr = s.cnb_ok(&["config", "pull-policy", "never"]);
    assert!(stderr.contains("lost cnb's settings"), "{stderr}");
    let stderr = s.cnb_ok(&["config", "pull-policy"]);
    assert!(stderr.contains("lost cnb's settings"), "{stderr}");

    // The printed line puts everything back; then the warning is gone.
    let restore = expected[5]
        .trim_start()
        .strip_prefix("restore with: ")
        .unwrap();
    for command in restore.split(" && ") {
        let words: Vec<&str> = command.split(' ').collect();
        assert_eq!(words[..3], ["cnb", "--config", config.as_str()]);
        s.cnb_ok(&words[3..]);
    }
    let out = s.cnb(&["config", "registry-mirrors", "list", "-o", "json"]);
    out.assert_success();
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&out.stdout).unwrap(),
        json!([
            {"registry": "docker.io", "mirrors": ["x.example"]},
            {"registry": "quay.io", "mirrors": ["a.example", "b.example"]},
            {"registry": "ghcr.io", "mirrors": ["http://g.example:5000"]},
        ])
    );
    assert_eq!(
        s.cnb_json(&["config", "insecure-registries", "list", "-o", "json"]),
        json!(["reg.local:5000"])
    );
    assert!(s.pack_view().contains("docker.io: 'x.example'"));
}

/// A registry whose mirror was changed with pack after cnb wrote its list: pack's change
/// is the newer one, so cnb does not offer the old list back. A key no command sets
/// (`local-registry`) is shown to copy back by hand. Deleting cnb's copy (the user
/// meant to drop the rest) ends the warning.
#[test]
fn a_mirror_changed_with_pack_is_not_reported_lost_and_deleting_the_copy_ends_the_warning() {
    let Some(s) = Shared::new() else {
        return;
    };
    s.cnb_ok(&[
        "config",
        "registry-mirrors",
        "add",
        "quay.io",
        "-m",
        "a.example",
        "-m",
        "b.example",
    ]);
    s.cnb_ok(&[
        "config",
        "registry-mirrors",
        "add",
        "ghcr.io",
        "-m",
        "g1.example",
        "-m",
        "g2.example",
    ]);
    std::fs::write(
        s.pack.config_path(),
        format!("local-registry = \"localhost:5001\"\n{}", s.text()),
    )
    .unwrap();
    s.cnb_ok(&["config", "pull-policy", "never"]);

    s.pack_ok(&[
        "config",
        "registry-mirrors",
        "add",
        "quay.io",
        "-m",
        "z.example",
    ]);
    let out = s.cnb(&["config", "registry-mirrors", "list"]);
    out.assert_success();
    assert_eq!(out.stdout, "ghcr.io\n  g1.example\nquay.io\n  z.example\n");
    assert!(
        out.stderr
            .contains("  lost: local-registry = \"localhost:5001\"\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("  lost: the mirrors of ghcr.io, in order: g1.example, g2.example (pack kept only 'g1.example')\n"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("quay.io"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("config registry-mirrors add ghcr.io -m g2.example\n"),
        "{}",
        out.stderr
    );

    std::fs::remove_file(s.home.config_copy(&s.pack.config_path())).unwrap();
    let out = s.cnb(&["config", "registry-mirrors", "list"]);
    out.assert_success();
    assert_eq!(out.stderr, "");
}

// ------------------------------------------------------------------ the same meaning in builds

/// A file pack wrote (default builder, a registry mirror, a run-image mirror, a trusted
/// builder, the lifecycle image, the pull policy) drives `cnb resolve` and
/// `cnb build --dry-run` the way it drives pack.
#[test]
fn a_pack_config_drives_cnb_resolve_and_build() {
    if !docker_available() {
        return;
    }
    let Some(s) = Shared::new() else {
        return;
    };
    let origin = TestRegistry::start(RegistryOptions::plain());
    let mirror = TestRegistry::start(RegistryOptions::plain());
    let built = PublishedBuilder::publish_default(&origin);
    let _pulled = DockerSweeper::new().registry(&mirror);
    let repo_tag = |image: &str| image.split_once('/').unwrap().1.to_string();
    for image in [&built.builder, &built.run_image] {
        copy_image(&origin, &repo_tag(image), &mirror, &repo_tag(image));
    }
    let user_run = origin.image("cnbtest/user-run", "1");
    copy_image(
        &origin,
        &repo_tag(&built.run_image),
        &origin,
        "cnbtest/user-run:1",
    );
    let on_mirror = |image: &str| format!("{}/{}", mirror.host(), repo_tag(image));

    // pack checks that a default builder exists before it writes it.
    s.pack_ok(&["config", "default-builder", &built.builder]);
    s.pack_ok(&[
        "config",
        "registry-mirrors",
        "add",
        &origin.host(),
        "-m",
        &mirror.host(),
    ]);
    s.pack_ok(&[
        "config",
        "run-image-mirrors",
        "add",
        &built.run_image,
        "-m",
        &user_run,
    ]);
    s.pack_ok(&["config", "trusted-builders", "add", &built.builder]);
    // Any image will do as the lifecycle image for a plan.
    s.pack_ok(&["config", "lifecycle-image", &built.run_image]);
    s.pack_ok(&["config", "pull-policy", "if-not-present"]);

    let resolved = s.cnb_json(&["resolve", &built.builder, "-o", "json"]);
    assert_eq!(
        resolved[0]["chosen"],
        on_mirror(&built.builder),
        "{resolved:#}"
    );

    let app = s.home.write_app("app", &[("message", "hello\n")]);
    let image = format!("cnbtest/{}-app", unique_name("packcfg"));
    let plan = s.cnb_json(&[
        "build",
        &image,
        "-p",
        app.to_str().unwrap(),
        "--dry-run",
        "-o",
        "json",
    ]);
    assert_eq!(plan["builder"]["name"], built.builder.as_str(), "{plan:#}");
    assert_eq!(
        plan["builder"]["fetch"],
        on_mirror(&built.builder),
        "{plan:#}"
    );
    assert!(
        plan["builder"]["trust"]
            .as_str()
            .unwrap()
            .starts_with("trusted by trusted-builders entry"),
        "{plan:#}"
    );
    assert_eq!(plan["lifecycle"]["path"], "creator", "{plan:#}");
    // The user's run-image mirror comes first; it is on the origin, read through the mirror
    // registry's fallback to the origin.
    assert_eq!(plan["run_image"]["chosen"], user_run.as_str(), "{plan:#}");
    assert_eq!(
        plan["run_image"]["candidates"][0]["image"],
        user_run.as_str(),
        "{plan:#}"
    );

    // The builder on the mirror is not a trusted one: the phases run from pack's
    // lifecycle image.
    let untrusted = on_mirror(&built.builder);
    let plan = s.cnb_json(&[
        "build",
        &image,
        "-B",
        &untrusted,
        "-p",
        app.to_str().unwrap(),
        "--dry-run",
        "-o",
        "json",
    ]);
    assert_eq!(plan["lifecycle"]["path"], "phases", "{plan:#}");
    assert_eq!(
        plan["lifecycle"]["lifecycle_image"],
        built.run_image.as_str(),
        "{plan:#}"
    );

    // pack's pull policy: never means the daemon's copy or nothing.
    s.pack_ok(&["config", "pull-policy", "never"]);
    let out = s.cnb(&["build", &image, "-p", app.to_str().unwrap(), "--dry-run"]);
    assert_eq!(out.code(), 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("is not in the daemon and the pull policy is never"),
        "{}",
        out.stderr
    );
}

/// pack's `*` mirror wins over a registry's own entry (pack looks up `*` first); in cnb a
/// registry's own entry wins and `*` is for the registries without one (SPEC §4). The same
/// file, both tools, side by side.
#[test]
fn the_wildcard_mirror_wins_in_pack_and_a_registrys_own_entry_wins_in_cnb() {
    if !docker_available() {
        return;
    }
    let Some(s) = Shared::new() else {
        return;
    };
    let origin = TestRegistry::start(RegistryOptions::plain());
    let star = TestRegistry::start(RegistryOptions::plain());
    let own = TestRegistry::start(RegistryOptions::plain());
    push_test_image(&star, "cnbtest/star", "1");
    push_test_image(&own, "cnbtest/star", "1");
    s.pack_ok(&["config", "registry-mirrors", "add", "*", "-m", &star.host()]);
    s.pack_ok(&[
        "config",
        "registry-mirrors",
        "add",
        &origin.host(),
        "-m",
        &own.host(),
    ]);
    let image = origin.image("cnbtest/star", "1");

    // pack rewrites every reference to the `*` mirror, the origin's own entry
    // notwithstanding. (The test image is no builder, so the inspection then fails.)
    let out = s.pack.run(["builder", "inspect", image.as_str()]);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(
        said.contains(&format!(
            "Using mirror '{}/cnbtest/star:1' for {image}",
            star.host()
        )),
        "{said}"
    );
    assert!(!said.contains(&own.host()), "{said}");

    // cnb: the origin's own entry.
    let resolved = s.cnb_json(&["resolve", &image, "-o", "json"]);
    assert_eq!(
        resolved[0]["chosen"],
        format!("{}/cnbtest/star:1", own.host()),
        "{resolved:#}"
    );
    // ... and `*` for a registry without an entry (here one that refuses connections).
    let elsewhere = format!("{}/cnbtest/star:1", refused_addr());
    let resolved = s.cnb_json(&["resolve", &elsewhere, "-o", "json"]);
    assert_eq!(
        resolved[0]["chosen"],
        format!("{}/cnbtest/star:1", star.host()),
        "{resolved:#}"
    );
}
