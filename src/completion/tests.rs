use std::ffi::OsString;
use std::path::PathBuf;

use clap::ValueEnum;

use super::candidates::{Context, completed_words, familiar_image, image_candidates};
use super::*;
use crate::reference::ImageRef;

fn os(words: &[&str]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
}

#[test]
fn words_before_the_cursor_come_after_the_escape() {
    let args = os(&["cnb", "--", "cnb", "config", "path", "x"]);
    assert_eq!(
        completed_words(args.clone(), Some(3)),
        Some(os(&["cnb", "config", "path"]))
    );
    // fish and PowerShell: the last word is the one being completed.
    assert_eq!(
        completed_words(args, None),
        Some(os(&["cnb", "config", "path"]))
    );
    assert_eq!(completed_words(os(&["cnb", "config", "path"]), None), None);
    assert_eq!(completed_words(os(&["cnb", "--"]), None), None);
}

#[test]
fn context_reads_config_flag_anywhere_and_the_entry_being_edited() {
    let ctx = Context::from_words(&os(&[
        "cnb",
        "config",
        "--config",
        "/tmp/x.toml",
        "registry-mirrors",
        "remove",
        "docker.io",
        "-m",
    ]));
    assert_eq!(ctx.config, Some(PathBuf::from("/tmp/x.toml")));
    assert_eq!(ctx.registry.as_deref(), Some("docker.io"));

    let ctx = Context::from_words(&os(&[
        "cnb",
        "--config=c.toml",
        "config",
        "run-image-mirrors",
        "remove",
        "-m",
        "a/b",
        "paketo/run",
        "--mirror",
    ]));
    assert_eq!(ctx.config, Some(PathBuf::from("c.toml")));
    assert_eq!(ctx.run_image.as_deref(), Some("paketo/run"));
    assert_eq!(ctx.given, ["a/b"]);

    let ctx = Context::from_words(&os(&[
        "cnb",
        "config",
        "insecure-registries",
        "remove",
        "a:5000",
        "10.0.0.0/8",
    ]));
    assert_eq!(ctx.given, ["a:5000", "10.0.0.0/8"]);
}

#[test]
fn context_survives_nonsense() {
    for words in [
        os(&["cnb"]),
        os(&["cnb", "--help"]),
        os(&["cnb", "--version", "config"]),
        os(&["cnb", "nope", "--bogus", "--config"]),
        os(&["cnb", "config", "registry-mirrors", "remove", "--config"]),
    ] {
        let ctx = Context::from_words(&words);
        assert_eq!(ctx.registry, None, "{words:?}");
    }
}

#[test]
fn images_are_shown_as_people_type_them_and_parse_back() {
    let digest = format!("sha256:{}", "a".repeat(64));
    for (input, shown) in [
        (
            "paketobuildpacks/run-jammy-base",
            "paketobuildpacks/run-jammy-base",
        ),
        ("docker.io/library/busybox:1.36", "busybox:1.36"),
        ("index.docker.io/busybox:latest", "busybox"),
        ("library/a/b", "library/a/b"),
        ("localhost:5000/a/b:latest", "localhost:5000/a/b"),
        ("Reg.Example:5000/app:v1", "reg.example:5000/app:v1"),
        (
            &format!("reg.example/app@{digest}"),
            &format!("reg.example/app@{digest}"),
        ),
        (
            &format!("busybox:latest@{digest}"),
            &format!("busybox:latest@{digest}"),
        ),
    ] {
        let image = ImageRef::parse(input).unwrap();
        assert_eq!(familiar_image(&image), shown, "{input}");
        assert_eq!(ImageRef::parse(shown).unwrap(), image, "{input}");
    }
}

#[test]
fn hub_images_also_answer_to_their_docker_io_name() {
    let values = |input: &str| -> Vec<(String, bool)> {
        image_candidates(&ImageRef::parse(input).unwrap(), None)
            .into_iter()
            .map(|c| {
                (
                    c.get_value().to_string_lossy().into_owned(),
                    c.is_hide_set(),
                )
            })
            .collect()
    };
    assert_eq!(
        values("paketobuildpacks/run:1"),
        [
            ("paketobuildpacks/run:1".to_string(), false),
            ("docker.io/paketobuildpacks/run:1".to_string(), true)
        ]
    );
    assert_eq!(
        values("busybox"),
        [
            ("busybox".to_string(), false),
            ("docker.io/library/busybox".to_string(), true)
        ]
    );
    assert_eq!(values("quay.io/a/b"), [("quay.io/a/b".to_string(), false)]);
}

#[test]
fn bash_gets_back_only_what_it_replaces() {
    // `cnb config insecure-registries remove reg.local:50`, as bash splits it.
    let args = os(&[
        "cnb",
        "config",
        "insecure-registries",
        "remove",
        "reg.local",
        ":",
        "50",
    ]);
    let (words, index, kept) = bash_words(
        args.clone(),
        6,
        Some("cnb config insecure-registries remove reg.local:50"),
    );
    assert_eq!(
        words,
        os(&[
            "cnb",
            "config",
            "insecure-registries",
            "remove",
            "reg.local:50"
        ])
    );
    assert_eq!(index, 4);
    assert_eq!(kept, "reg.local:");

    // Right after the colon bash's current word is empty.
    let args = os(&["cnb", "x", "reg.local", ""]);
    let (words, index, kept) = bash_words(args, 3, Some("cnb x reg.local:"));
    assert_eq!((words, index), (os(&["cnb", "x", "reg.local:"]), 2));
    assert_eq!(kept, "reg.local:");

    // After a space, a new empty word.
    let (words, index, kept) = bash_words(os(&["cnb", "x", ""]), 2, Some("cnb x "));
    assert_eq!(
        (words, index, kept.as_str()),
        (os(&["cnb", "x", ""]), 2, "")
    );

    // An open quote: bash's words as they are.
    let args = os(&["cnb", "x", "\"re"]);
    let (words, index, kept) = bash_words(args.clone(), 2, Some("cnb x \"re"));
    assert_eq!((words, index, kept.as_str()), (args, 2, ""));
}

#[test]
fn the_bash_script_passes_the_line() {
    let text = script(Shell::Bash);
    assert!(text.contains(BASH_LINE), "{text}");
}

#[test]
fn globs_are_escaped_for_bash() {
    assert_eq!(
        escape_globs("*\u{b}docker.io\u{b}a?[b]"),
        "\\*\u{b}docker.io\u{b}a\\?\\[b]"
    );
}

#[test]
fn every_shell_has_a_script_calling_back_into_cnb() {
    for shell in Shell::value_variants() {
        let text = script(*shell);
        assert!(text.contains("COMPLETE"), "{shell:?}: {text}");
        assert!(text.contains("cnb"), "{shell:?}: {text}");
    }
}

#[test]
fn man_pages_cover_nested_subcommands() {
    let names: Vec<String> = man_pages().into_iter().map(|(n, _)| n).collect();
    for expected in [
        "cnb.1",
        "cnb-build.1",
        "cnb-config.1",
        "cnb-config-registry-mirrors-add.1",
        "cnb-config-path.1",
        "cnb-completion.1",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
}
