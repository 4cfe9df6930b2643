use std::path::Path;

use toml_edit::DocumentMut;

use super::edits::{self, Removed, Set};
use super::locate::locate_from;
use super::*;
use crate::reference::{Given, ImageRef, InsecureEntry, Mirror, MirrorKey, Registry};

fn p() -> &'static Path {
    Path::new("/cfg/config.toml")
}

fn reg(s: &str) -> Registry {
    Registry::parse(s).unwrap()
}

fn mirrors(list: &[&str]) -> Vec<Mirror> {
    list.iter().map(|m| Mirror::parse(m).unwrap()).collect()
}

fn urls(ms: &[Mirror]) -> Vec<String> {
    ms.iter().map(|m| m.url()).collect()
}

/// The position and message of a parse error.
fn invalid(text: &str) -> (usize, usize, String) {
    match Config::parse(text, p()) {
        Err(ConfigError::Invalid {
            line,
            column,
            message,
            path,
        }) => {
            assert_eq!(path, p());
            (line, column, message)
        }
        other => panic!("expected an invalid-config error, got {other:?}"),
    }
}

/// Applies an edit to a document held in memory, as `edit` would; the text comes
/// back unchanged when the edit changed nothing.
fn apply<T>(text: &str, f: impl FnOnce(&mut DocumentMut) -> T) -> (String, T) {
    let (value, after) = edits::apply(text, p(), f).unwrap();
    let after = after.unwrap_or_else(|| text.to_string());
    Config::parse(&after, p())
        .unwrap_or_else(|e| panic!("edit produced an invalid file: {e}\n{after}"));
    (after, value)
}

// ------------------------------------------------------------------ location

#[test]
fn locate_prefers_flag_then_cnb_config_then_cnb_home_then_config_dir() {
    let dir = Some(PathBuf::from("/home/u/.config"));
    let flag = Path::new("/x/flag.toml");
    let l = locate_from(
        Some(flag),
        Some("/env.toml".into()),
        Some("/h".into()),
        dir.clone(),
    )
    .unwrap();
    assert_eq!((l.path.as_path(), l.source), (flag, "--config"));
    let l = locate_from(
        None,
        Some("/env.toml".into()),
        Some("/h".into()),
        dir.clone(),
    )
    .unwrap();
    assert_eq!(
        (l.path.as_path(), l.source),
        (Path::new("/env.toml"), "CNB_CONFIG")
    );
    let l = locate_from(None, None, Some("/h".into()), dir.clone()).unwrap();
    assert_eq!(
        (l.path.as_path(), l.source),
        (Path::new("/h/config.toml"), "CNB_HOME")
    );
    let l = locate_from(None, Some("".into()), Some("".into()), dir).unwrap();
    assert_eq!(
        (l.path.as_path(), l.source),
        (Path::new("/home/u/.config/cnb/config.toml"), "default")
    );
    assert!(matches!(
        locate_from(None, None, None, None),
        Err(ConfigError::NoConfigDir)
    ));
}

// ------------------------------------------------------------------ parsing

/// What `pack config ...` writes (BurntSushi/toml encoder: keys in tables indented by two spaces).
const PACK_FILE: &str = r#"default-builder-image = "paketobuildpacks/builder-jammy-base"
experimental = true
pull-policy = "if-not-present"
layout-repo-dir = "/home/u/.pack/layout-repo"

[[trusted-builders]]
  name = "registry.corp.example/builder"

[[run-images]]
  image = "paketobuildpacks/run-jammy-base"
  mirrors = ["registry.corp.example/paketo/run-jammy-base", "other.example/run:1"]

[[registries]]
  name = "corp"
  type = "github"
  url = "https://github.com/corp/registry"

[registry-mirrors]
  "index.docker.io" = "mirror.corp.example"
  "quay.io" = "https://q1.corp.example"
"#;

#[test]
fn reads_a_pack_written_file() {
    let c = Config::parse(PACK_FILE, p()).unwrap();
    assert_eq!(
        c.default_builder.as_ref().map(|b| b.key()),
        Some("index.docker.io/paketobuildpacks/builder-jammy-base:latest".to_string())
    );
    assert_eq!(c.pull_policy, Some(PullPolicy::IfNotPresent));
    assert_eq!(c.trusted_builders.len(), 1);
    assert_eq!(c.run_image_mirrors.len(), 1);
    assert_eq!(c.run_image_mirrors[0].mirrors.len(), 2);
    assert_eq!(
        c.registry_mirrors
            .iter()
            .map(|e| e.key.key())
            .collect::<Vec<_>>(),
        vec!["index.docker.io", "quay.io"]
    );
    assert_eq!(
        urls(c.mirrors_for(&reg("docker.io"))),
        vec!["https://mirror.corp.example"]
    );
    assert!(c.insecure_registries.is_empty());
}

#[test]
fn a_mirror_list_may_be_a_string_or_an_array_and_keeps_its_order() {
    let c = Config::parse(
        r#"
[registry-mirrors]
"docker.io" = "one.example"
"quay.io" = ["https://q1.example", "http://q2.example:5000/quay", "q0.example"]
"#,
        p(),
    )
    .unwrap();
    assert_eq!(
        urls(c.mirrors_for(&reg("index.docker.io"))),
        vec!["https://one.example"]
    );
    assert_eq!(
        urls(c.mirrors_for(&reg("QUAY.io"))),
        vec![
            "https://q1.example",
            "http://q2.example:5000/quay",
            "https://q0.example"
        ]
    );
}

#[test]
fn a_registry_entry_wins_over_the_wildcard_and_an_empty_list_opts_out() {
    let c = Config::parse(
        r#"
[registry-mirrors]
"*" = "all.example"
"quay.io" = "q.example"
"ghcr.io" = []
"#,
        p(),
    )
    .unwrap();
    assert_eq!(
        urls(c.mirrors_for(&reg("quay.io"))),
        vec!["https://q.example"]
    );
    assert_eq!(
        urls(c.mirrors_for(&reg("gcr.io"))),
        vec!["https://all.example"]
    );
    assert!(c.mirrors_for(&reg("ghcr.io")).is_empty());
    assert_eq!(
        urls(c.mirrors_for(&reg("quay.io:5000"))),
        vec!["https://all.example"]
    );
}

#[test]
fn no_entry_means_no_mirrors() {
    let c = Config::parse("", p()).unwrap();
    assert_eq!(c, Config::default());
    assert!(c.mirrors_for(&reg("docker.io")).is_empty());
}

#[test]
fn run_image_mirrors_match_on_the_repository_whatever_the_tag() {
    let c = Config::parse(PACK_FILE, p()).unwrap();
    let image = ImageRef::parse("docker.io/paketobuildpacks/run-jammy-base:0.1.2").unwrap();
    assert_eq!(c.run_image_mirrors_for(&image).len(), 2);
    let other = ImageRef::parse("paketobuildpacks/run-noble-base").unwrap();
    assert!(c.run_image_mirrors_for(&other).is_empty());
}

#[test]
fn reads_insecure_registries() {
    let c = Config::parse(
        r#"insecure-registries = ["registry.local:5000", "10.20.0.0/16", "Lab.Example"]"#,
        p(),
    )
    .unwrap();
    assert_eq!(c.insecure_registries.len(), 3);
}

#[test]
fn keys_cnb_does_not_know_are_ignored() {
    let c = Config::parse("something-new = { a = 1 }\n[other]\nx = [1, 2]\n", p()).unwrap();
    assert_eq!(c, Config::default());
}

#[test]
fn a_syntax_error_has_its_line_and_column() {
    let (line, column, message) = invalid("pull-policy = \"always\"\nfoo = = 3\n");
    assert_eq!((line, column), (2, 7));
    assert!(message.starts_with("not valid TOML"), "{message}");
}

#[test]
fn a_wrong_type_has_its_line_and_column_and_what_was_expected() {
    let (line, column, message) = invalid("# c\npull-policy = 3\n");
    assert_eq!((line, column), (2, 15));
    assert_eq!(
        message,
        "expected a string for pull-policy, found an integer"
    );

    let (line, column, message) = invalid("[registry-mirrors]\n\"quay.io\" = 5\n");
    assert_eq!((line, column), (2, 13));
    assert!(
        message.contains("expected a string or an array of strings") && message.contains("quay.io"),
        "{message}"
    );

    let (line, column, message) =
        invalid("[registry-mirrors]\n\"quay.io\" = [\"a.example\", true]\n");
    assert_eq!((line, column), (2, 27));
    assert!(message.contains("found a boolean"), "{message}");

    let (line, column, message) = invalid("registry-mirrors = \"x\"\n");
    assert_eq!((line, column), (1, 20));
    assert!(message.contains("expected a table"), "{message}");

    let (line, _, message) = invalid("insecure-registries = \"reg:5000\"\n");
    assert_eq!(line, 1);
    assert!(
        message.contains("expected an array of strings"),
        "{message}"
    );

    let (line, _, message) = invalid("x = 1\nrun-images = \"a\"\n");
    assert_eq!(line, 2);
    assert!(message.contains("expected an array of tables"), "{message}");
}

#[test]
fn a_bad_value_has_its_line_and_column() {
    let (line, column, message) =
        invalid("[registry-mirrors]\n  \"quay.io\" = [\"ok.example\", \"https://\"]\n");
    assert_eq!((line, column), (2, 30));
    assert!(message.contains("'https://'"), "{message}");

    let (line, column, message) = invalid("[registry-mirrors]\n\"bad host\" = \"m.example\"\n");
    assert_eq!((line, column), (2, 1));
    assert!(message.contains("bad host"), "{message}");

    let (line, column, message) = invalid("pull-policy = \"sometimes\"\n");
    assert_eq!((line, column), (1, 15));
    assert!(
        message.contains("always, if-not-present or never"),
        "{message}"
    );

    let (line, _, message) = invalid("insecure-registries = [\"10.20.0.1/16\"]\n");
    assert_eq!(line, 1);
    assert!(message.contains("10.20.0.1/16"), "{message}");

    let (line, _, message) = invalid("default-builder-image = \"UPPER/Case\"\n");
    assert_eq!(line, 1);
    assert!(message.contains("UPPER/Case"), "{message}");

    let (line, _, message) = invalid("[[trusted-builders]]\n  nam = \"x/y\"\n");
    assert_eq!(line, 1);
    assert!(message.contains("no 'name' key"), "{message}");

    let (line, _, message) = invalid("[[run-images]]\nimage = \"a/b\"\nmirrors = [\"c/d\", 3]\n");
    assert_eq!(line, 3);
    assert!(message.contains("found an integer"), "{message}");
}

#[test]
fn a_mirror_may_not_be_its_own_registry() {
    let (line, _, message) = invalid("[registry-mirrors]\n\"quay.io\" = \"https://quay.io\"\n");
    assert_eq!(line, 2);
    assert!(message.contains("itself"), "{message}");
}

/// Without one in the stored form (which would win: src/config/pack_tests.rs).
#[test]
fn two_spellings_of_one_registry_are_one_entry_too_many() {
    let (line, column, message) = invalid(
        "[registry-mirrors]\n\"docker.io\" = \"a.example\"\n\"registry-1.docker.io\" = \"b.example\"\n",
    );
    assert_eq!((line, column), (3, 1));
    assert!(message.contains("two entries"), "{message}");
}

#[test]
fn columns_count_characters_not_bytes() {
    assert_eq!(line_column("# é\nab", 6), (2, 2));
    assert_eq!(line_column("abc", 0), (1, 1));
    assert_eq!(line_column("abc", 99), (1, 4));
}

#[test]
fn written_keeps_values_as_written_in_parallel_with_config() {
    let f = ConfigFile::parse(
        "insecure-registries = [\"Reg.Local:5000\"]\n[registry-mirrors]\n\"docker.io\" = [\"M.example\", \"m.example\"]\n",
        p(),
    )
    .unwrap();
    assert_eq!(f.written.insecure_registries, vec!["Reg.Local:5000"]);
    // Duplicates (after normalisation) are read once.
    assert_eq!(
        f.written.registry_mirrors,
        [("docker.io".to_string(), vec!["M.example".to_string()])]
    );
    assert_eq!(f.config.registry_mirrors[0].mirrors.len(), 1);
}

#[test]
fn written_entries_keep_each_entrys_mirrors_apart() {
    let f = ConfigFile::parse(
        "[registry-mirrors]\n\"a.example\" = [\"m1.example\", \"M2.example\"]\n\"b.example\" = []\n'*' = \"all.example\"\n",
        p(),
    )
    .unwrap();
    let entries: Vec<(&str, Vec<&str>)> = f
        .written
        .registry_mirrors
        .iter()
        .map(|(key, mirrors)| (key.as_str(), mirrors.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        entries,
        [
            ("a.example", vec!["m1.example", "M2.example"]),
            ("b.example", vec![]),
            ("*", vec!["all.example"]),
        ]
    );
    assert_eq!(f.config.registry_mirrors.len(), 3);
}

#[test]
fn every_kind_of_toml_string_is_read() {
    for (toml, expected) in [
        (r#""a/b""#, "a/b"),
        (r#"'a/b'"#, "a/b"),
        (r#""a/\u0062""#, "a/b"),
        (r#""""a/b""""#, "a/b"),
        (r#"'''a/b'''"#, "a/b"),
    ] {
        let text = format!("default-builder-image = {toml}\n");
        let file = ConfigFile::parse(&text, p()).unwrap();
        assert_eq!(
            file.written.default_builder.as_deref(),
            Some(expected),
            "{text:?}"
        );
    }
    for bad in ["\"a\u{1}b\"", "'a\u{7f}b'", "\"a/b\u{1f}\""] {
        let text = format!("default-builder-image = {bad}\n");
        assert!(ConfigFile::parse(&text, p()).is_err(), "{text:?}");
    }
    let text = "[registry-mirrors]\n\"quay.io\" = \"a.example\"\n'ghcr.io' = \"b.example\"\n\"r\\u0065g.example\" = \"c.example\"\n";
    let file = ConfigFile::parse(text, p()).unwrap();
    let keys: Vec<&str> = file
        .written
        .registry_mirrors
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(keys, ["quay.io", "ghcr.io", "reg.example"]);
}

/// Inline tables, dotted keys and values cnb does not read are TOML it accepts; the
/// rest is refused with a position.
#[test]
fn every_toml_shape_is_read_and_errors_are_refused() {
    let c = Config::parse(
        "run-images = [{ image = \"a/b\", mirrors = [\"m.example/a/b\"] }]\nregistry-mirrors.\"quay.io\" = \"q.example\"\nn = 1\nd = 1979-05-27\n[a.b]\nc = \"d\"\n",
        p(),
    )
    .unwrap();
    assert_eq!(c.run_image_mirrors.len(), 1);
    assert_eq!(
        urls(c.mirrors_for(&reg("quay.io"))),
        vec!["https://q.example"]
    );
    for bad in [
        "a = \n",
        "a = 1\na = 2\n",
        "[t]\nx = \"1\"\n[t]\ny = \"2\"\n",
        "t = \"x\"\n[t]\n",
        "[[run-images]]\nimage = \"a/b\"\nimage = \"c/d\"\n",
        "[registry-mirrors]\n\"quay.io\" = \"a.example\"\nquay.io = \"b.example\"\n",
        "[run-images]\nimage = \"a/b\"\n",
        "[[registry-mirrors]]\n",
        "x = \"\\q\"\n",
    ] {
        assert!(
            matches!(Config::parse(bad, p()), Err(ConfigError::Invalid { .. })),
            "accepted:\n{bad}"
        );
    }
}

#[test]
fn large_files_are_read_in_order_and_errors_have_their_line() {
    let mut text = String::from("[registry-mirrors]\n");
    for i in 0..600 {
        text.push_str(&match i % 3 {
            0 => format!(
                "\"reg{i}.example:5000\" = [\"m{i}.example\", \"http://n{i}.example/p\"]\n"
            ),
            1 => format!(
                "\"reg{i}.example:5000\" = [ # first\n  \"m{i}.example\",\n\n  \"http://n{i}.example/p\", # second\n]\n\n"
            ),
            _ => format!("# entry {i}\n\"reg{i}.example:5000\" = \"m{i}.example\"\n"),
        });
    }
    let file = ConfigFile::parse(&text, p()).unwrap();
    assert_eq!(file.written.registry_mirrors.len(), 600);
    assert_eq!(file.written.registry_mirrors[599].0, "reg599.example:5000");

    let line_of =
        |text: &str, needle: &str| text[..text.find(needle).unwrap()].matches('\n').count() + 1;
    let bad = text.replace("\"m451.example\"", "\"https://\"");
    let (line, _, _) = invalid(&bad);
    assert_eq!(line, line_of(&bad, "\"https://\""));

    let duplicate = format!(
        "{text}\"Reg9000.example:5000\" = \"x.example\"\n\"REG9000.example:5000\" = \"y.example\"\n"
    );
    let (line, _, message) = invalid(&duplicate);
    assert_eq!(line, line_of(&duplicate, "\"REG9000"));
    assert!(message.contains("two entries"), "{message}");
}

// ------------------------------------------------------------------ edits

#[test]
fn adding_keeps_a_first_line_comment_unknown_keys_and_order() {
    let text = "# my settings, line 1\nzzz = 1\npull-policy = \"never\" # keep\n\n[unknown]\n  a = [1]\n\n[registry-mirrors]\n  \"quay.io\" = \"q.example\"\n";
    let (after, added) = apply(text, |doc| {
        edits::add_registry_mirrors(
            doc,
            &MirrorKey::parse("docker.io").unwrap(),
            &mirrors(&["m.example"]),
        )
    });
    assert_eq!(added.added, vec!["m.example"]);
    assert!(added.new_entry);
    assert_eq!(
        after,
        "# my settings, line 1\nzzz = 1\npull-policy = \"never\" # keep\n\n[unknown]\n  a = [1]\n\n[registry-mirrors]\n  \"quay.io\" = \"q.example\"\n  \"index.docker.io\" = \"m.example\"\n"
    );
}

#[test]
fn one_mirror_is_a_string_two_are_a_list_and_back() {
    let text = "[registry-mirrors]\n\"index.docker.io\" = \"a.example\" # hub\n";
    let key = MirrorKey::parse("docker.io").unwrap();
    let (after, _) = apply(text, |doc| {
        edits::add_registry_mirrors(
            doc,
            &key,
            &mirrors(&["b.example", "a.example", "https://c.example"]),
        )
    });
    assert_eq!(
        after,
        "[registry-mirrors]\n\"index.docker.io\" = \"a.example\" # hub\n\n[registry-mirror-lists]\n\"index.docker.io\" = [\"a.example\", \"b.example\", \"https://c.example\"]\n"
    );
    let (after, removed) = apply(&after, |doc| {
        edits::remove_registry_mirrors(doc, &key, &mirrors(&["a.example", "c.example"]))
    });
    assert_eq!(
        after,
        "[registry-mirrors]\n\"index.docker.io\" = \"b.example\" # hub\n"
    );
    assert_eq!(
        removed,
        Removed::Values {
            removed: vec!["a.example".into(), "c.example".into()],
            missing: vec![],
            entry_removed: false
        }
    );
    let (after, removed) = apply(&after, |doc| {
        edits::remove_registry_mirrors(doc, &key, &mirrors(&["b.example", "x.example"]))
    });
    assert_eq!(after, "");
    assert_eq!(
        removed,
        Removed::Values {
            removed: vec!["b.example".into()],
            missing: vec!["x.example".into()],
            entry_removed: true
        }
    );
}

#[test]
fn a_multi_line_array_grows_one_line_at_a_time() {
    let text =
        "[registry-mirrors]\n\"quay.io\" = [\n    \"a.example\", # first\n    \"b.example\",\n]\n";
    let key = MirrorKey::parse("quay.io").unwrap();
    let (after, _) = apply(text, |doc| {
        edits::add_registry_mirrors(doc, &key, &mirrors(&["c.example"]))
    });
    // cnb's older form (an array pack cannot read) moves to the list, comments and all.
    assert_eq!(
        after,
        "[registry-mirrors]\n\"quay.io\" = \"a.example\"\n\n[registry-mirror-lists]\n\"quay.io\" = [\n    \"a.example\", # first\n    \"b.example\",\n    \"c.example\",\n]\n"
    );
}

#[test]
fn removing_an_entry_found_through_an_alias() {
    let text = "[registry-mirrors]\n\"docker.io\" = \"a.example\"\n\"quay.io\" = \"q.example\"\n";
    let (after, removed) = apply(text, |doc| {
        edits::remove_registry_mirrors(doc, &MirrorKey::parse("registry-1.docker.io").unwrap(), &[])
    });
    assert_eq!(removed, Removed::Entry);
    assert_eq!(after, "[registry-mirrors]\n\"quay.io\" = \"q.example\"\n");
    let (same, removed) = apply(&after, |doc| {
        edits::remove_registry_mirrors(doc, &MirrorKey::parse("docker.io").unwrap(), &[])
    });
    assert_eq!(removed, Removed::NoEntry);
    assert_eq!(same, after);
}

#[test]
fn removing_the_first_key_keeps_the_file_header() {
    let text = "# header line 1\n# header line 2\ndefault-builder-image = \"a/b\"\npull-policy = \"never\"\n";
    let (after, old) = apply(text, |doc| {
        edits::unset_top_level(doc, keys::DEFAULT_BUILDER)
    });
    assert_eq!(old.as_deref(), Some("a/b"));
    assert_eq!(
        after,
        "# header line 1\n# header line 2\npull-policy = \"never\"\n"
    );

    let text = "# header\ninsecure-registries = [\"a:1\"]\n\n[x]\ny = 1\n";
    let (after, _) = apply(text, |doc| {
        edits::remove_insecure_registries(doc, &[InsecureEntry::parse("a:1").unwrap()])
    });
    assert!(after.starts_with("# header\n"), "{after}");
    assert!(after.contains("[x]\ny = 1\n"), "{after}");
}

#[test]
fn a_comment_directly_above_a_removed_key_goes_with_it() {
    let text =
        "a = 1\n\n# section\n\n# about the builder\ndefault-builder-image = \"a/b\"\nz = 2\n";
    let (after, _) = apply(text, |doc| {
        edits::unset_top_level(doc, keys::DEFAULT_BUILDER)
    });
    assert_eq!(after, "a = 1\n\n# section\n\nz = 2\n");
}

#[test]
fn setting_a_value_keeps_its_comment_and_place() {
    let text = "a = 1\npull-policy = \"never\" # why\nb = 2\n";
    let (after, set) = apply(text, |doc| {
        edits::set_top_level_string(doc, keys::PULL_POLICY, "always")
    });
    assert_eq!(set, Set::Replaced("never".into()));
    assert_eq!(after, "a = 1\npull-policy = \"always\" # why\nb = 2\n");
    let (same, set) = apply(&after, |doc| {
        edits::set_top_level_string(doc, keys::PULL_POLICY, "always")
    });
    assert_eq!(set, Set::Unchanged);
    assert_eq!(same, after);
}

#[test]
fn run_image_mirrors_follow_packs_layout_and_keep_the_given_order() {
    let m = |s: &str| Given::parse(s, ImageRef::parse).unwrap();
    let image = m("paketobuildpacks/run-jammy-base");
    let (after, added) = apply(PACK_FILE, |doc| {
        edits::add_run_image_mirrors(
            doc,
            &image,
            &[
                m("z.example/run"),
                m("a.example/run"),
                m("other.example/run:1"),
            ],
        )
    });
    assert_eq!(added.added, vec!["z.example/run", "a.example/run"]);
    assert_eq!(added.present, vec!["other.example/run:1"]);
    assert!(after.contains(
        "  mirrors = [\"registry.corp.example/paketo/run-jammy-base\", \"other.example/run:1\", \"z.example/run\", \"a.example/run\"]\n"
    ));
    let other = m("docker.io/foo/run:2");
    let (after, added) = apply(&after, |doc| {
        edits::add_run_image_mirrors(doc, &other, &[m("x.example/run")])
    });
    assert!(added.new_entry);
    assert!(
        after.contains(
            "[[run-images]]\n  image = \"docker.io/foo/run:2\"\n  mirrors = [\"x.example/run\"]\n"
        ),
        "{after}"
    );
    // Removing the last mirror removes the entry.
    let (after, removed) = apply(&after, |doc| {
        edits::remove_run_image_mirrors(
            doc,
            &ImageRef::parse("foo/run").unwrap(),
            &[m("x.example/run")],
        )
    });
    assert!(matches!(
        removed,
        Removed::Values {
            entry_removed: true,
            ..
        }
    ));
    assert!(!after.contains("foo/run"), "{after}");
}

#[test]
fn trusted_builders_are_added_once_and_removed() {
    let b = ImageRef::parse("registry.corp.example/builder").unwrap();
    let (after, added) = apply(PACK_FILE, |doc| {
        edits::add_trusted_builder(doc, "registry.corp.example/builder:latest", &b)
    });
    assert!(!added);
    assert_eq!(after, PACK_FILE);
    let (after, removed) = apply(PACK_FILE, |doc| edits::remove_trusted_builder(doc, &b));
    assert!(removed);
    assert!(!after.contains("trusted-builders"), "{after}");
    let c = ImageRef::parse("c/d").unwrap();
    let (after, added) = apply("", |doc| edits::add_trusted_builder(doc, "c/d", &c));
    assert!(added);
    assert_eq!(after, "[[trusted-builders]]\nname = \"c/d\"\n");
}

#[test]
fn insecure_registries_are_added_in_order_and_once() {
    let e = |s: &str| InsecureEntry::parse(s).unwrap();
    let (after, added) = apply("pull-policy = \"never\"\n", |doc| {
        edits::add_insecure_registries(
            doc,
            &[e("b.local:5000"), e("10.20.0.0/16"), e("B.Local:5000")],
        )
    });
    assert_eq!(added.added, vec!["b.local:5000", "10.20.0.0/16"]);
    assert_eq!(added.present, vec!["b.local:5000"]);
    assert_eq!(
        after,
        "pull-policy = \"never\"\ninsecure-registries = [\"b.local:5000\", \"10.20.0.0/16\"]\n"
    );
}

// ------------------------------------------------------------------ the file

#[test]
fn edit_creates_the_directory_writes_atomically_and_skips_no_op_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/dir/config.toml");
    let key = MirrorKey::parse("quay.io").unwrap();
    let done = edit(&path, |doc| {
        edits::add_registry_mirrors(doc, &key, &mirrors(&["q.example"]))
    })
    .unwrap();
    assert!(done.written);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "[registry-mirrors]\n\"quay.io\" = \"q.example\"\n"
    );
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let inode = inode(&path);
    let again = edit(&path, |doc| {
        edits::add_registry_mirrors(doc, &key, &mirrors(&["q.example"]))
    })
    .unwrap();
    assert!(!again.written);
    assert_eq!(again.value.present, vec!["q.example"]);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        modified
    );
    assert_eq!(inode, self::inode(&path));
    let mut names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec!["config.toml"],
        "no lock file, no temporary file"
    );
}

#[cfg(unix)]
fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().ino()
}

#[cfg(not(unix))]
fn inode(_: &Path) -> u64 {
    0
}

#[test]
fn a_missing_file_stays_missing_after_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let done = edit(&path, |doc| {
        edits::remove_registry_mirrors(doc, &MirrorKey::parse("quay.io").unwrap(), &[])
    })
    .unwrap();
    assert_eq!(done.value, Removed::NoEntry);
    assert!(!done.written);
    assert!(!path.exists());
}

#[test]
fn an_invalid_file_is_not_touched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "pull-policy = [\n").unwrap();
    let err = edit(&path, |doc| {
        edits::set_top_level_string(doc, keys::PULL_POLICY, "never")
    })
    .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Invalid { line: 2, .. } | ConfigError::Invalid { line: 1, .. }
        ),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "pull-policy = [\n");
}

#[cfg(unix)]
#[test]
fn edit_keeps_permissions_and_writes_through_a_symlink() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("dotfiles/cnb.toml");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    std::fs::write(&real, "# mine\n").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.path().join("config.toml");
    std::os::unix::fs::symlink("dotfiles/cnb.toml", &link).unwrap();
    edit(&link, |doc| {
        edits::set_top_level_string(doc, keys::PULL_POLICY, "never")
    })
    .unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(&real).unwrap(),
        "# mine\npull-policy = \"never\"\n"
    );
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

/// Found by the `config` fuzz target (`#lc:latest`): in a file of comments without
/// a final line break, what an edit added went onto the comment's line and became
/// part of the comment.
#[test]
fn fuzz_a_last_comment_without_a_line_break_keeps_its_line() {
    let key = MirrorKey::parse("quay.io").unwrap();
    let (after, _) = apply("#lc:latest", |doc| {
        edits::add_registry_mirrors(doc, &key, &mirrors(&["q.example"]))
    });
    assert_eq!(
        after,
        "#lc:latest\n[registry-mirrors]\n\"quay.io\" = \"q.example\"\n"
    );
    let (after, _) = apply("# a\n# b", |doc| {
        edits::set_top_level_string(doc, keys::PULL_POLICY, "never")
    });
    assert_eq!(after, "# a\n# b\npull-policy = \"never\"\n");
    // Nothing added: nothing changes, the missing line break included.
    let (_, unchanged) = edits::apply("# a", p(), |doc| {
        edits::remove_registry_mirrors(doc, &key, &[])
    })
    .unwrap();
    assert_eq!(unchanged, None);
}

#[test]
fn a_header_above_a_first_table_stays_first_when_keys_come_and_go() {
    let text = "# line one\n\n# about mirrors\n[registry-mirrors]\n\"quay.io\" = \"q.example\"\n";
    let (after, _) = apply(text, |doc| {
        edits::set_top_level_string(doc, keys::PULL_POLICY, "never")
    });
    assert_eq!(
        after,
        "# line one\n\npull-policy = \"never\"\n\n# about mirrors\n[registry-mirrors]\n\"quay.io\" = \"q.example\"\n"
    );
    let (back, _) = apply(&after, |doc| edits::unset_top_level(doc, keys::PULL_POLICY));
    assert_eq!(back, text);
    // A comment above a table that follows top-level keys stays with its table.
    let text = "a = 1\n\n# about mirrors\n[registry-mirrors]\n\"quay.io\" = \"q.example\"\n";
    let (after, _) = apply(text, |doc| {
        edits::set_top_level_string(doc, keys::PULL_POLICY, "never")
    });
    assert_eq!(
        after,
        "a = 1\npull-policy = \"never\"\n\n# about mirrors\n[registry-mirrors]\n\"quay.io\" = \"q.example\"\n"
    );
}

// ------------------------------------------------------------------ every file

/// Small edits of the fixtures: each is read or refused with a position (never a
/// panic), and adding mirrors to any file that reads gives a file that reads back
/// with the mirrors at the end of their registry's list and everything else as it was.
#[test]
fn mutated_files_are_read_or_refused_and_edits_of_them_read_back() {
    let key = MirrorKey::parse("quay.io").unwrap();
    let new_key = MirrorKey::parse("new.example").unwrap();
    let values = mirrors(&["a.example", "n.example"]);
    let mut accepted = 0;
    for variant in mutated_fixtures() {
        let before = match Config::parse(&variant, p()) {
            Ok(config) => config,
            Err(ConfigError::Invalid { .. }) => continue,
            Err(e) => panic!("{e}:\n{variant}"),
        };
        accepted += 1;
        let (_, unchanged) = edits::apply(&variant, p(), |_| ()).unwrap();
        assert_eq!(unchanged, None, "a no-op changes the text of:\n{variant}");
        for key in [&key, &new_key] {
            let (after, _) = apply(&variant, |doc| {
                edits::add_registry_mirrors(doc, key, &values)
            });
            check_added(
                &variant,
                &before,
                &Config::parse(&after, p()).unwrap(),
                key,
                &values,
            );
        }
    }
    assert!(
        accepted > 100,
        "too few mutated files were valid ({accepted})"
    );
}

/// `after` is `before` with `added` appended (each once) to `key`'s mirrors. When the
/// edit moved cnb's older arrays out of `[registry-mirrors]`, the entries' order may
/// change (an empty list is listed after the others, for example), so only the
/// entries are compared then.
fn check_added(text: &str, before: &Config, after: &Config, key: &MirrorKey, added: &[Mirror]) {
    let mut expected = before.clone();
    match expected.registry_mirrors.iter_mut().find(|e| &e.key == key) {
        Some(entry) => {
            for m in added {
                if !entry.mirrors.iter().any(|x| x.url() == m.url()) {
                    entry.mirrors.push(m.clone());
                }
            }
        }
        None => expected.registry_mirrors.push(RegistryMirrors {
            key: key.clone(),
            mirrors: added.to_vec(),
        }),
    }
    let mut after = after.clone();
    let had_arrays = text
        .parse::<DocumentMut>()
        .ok()
        .and_then(|d| {
            let table = d.get(keys::REGISTRY_MIRRORS)?.as_table_like()?;
            Some(table.iter().any(|(_, v)| v.is_array()))
        })
        .unwrap_or(false);
    if had_arrays {
        after.registry_mirrors.sort_by_key(|e| e.key.key());
        expected.registry_mirrors.sort_by_key(|e| e.key.key());
    }
    assert_eq!(after, expected, "adding to {key}");
}

/// Each fixture with every one-character deletion and every insertion of a
/// character that matters to TOML, at every position.
fn mutated_fixtures() -> impl Iterator<Item = String> {
    const FIXTURES: [&str; 2] = [
        PACK_FILE,
        "insecure-registries = [\"a:1\", \"10.0.0.0/8\"]\n[registry-mirrors]\n'*' = \"all.example\"\n\"quay.io\" = [\n  \"a.example\", # c\n  \"http://b.example:5000/x\",\n]\n[[trusted-builders]]\nname = \"x/y\"\n",
    ];
    const INSERTS: [&str; 13] = [
        "\"", "[", "]", "=", "\n", ".", ",", "#", "'", "x", "1", " ", "\\",
    ];
    FIXTURES.into_iter().flat_map(|text| {
        let boundaries: Vec<usize> = (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .collect();
        let mut variants = Vec::new();
        for (n, &i) in boundaries.iter().enumerate() {
            if let Some(&next) = boundaries.get(n + 1) {
                variants.push(format!("{}{}", &text[..i], &text[next..]));
            }
            for insert in INSERTS {
                variants.push(format!("{}{insert}{}", &text[..i], &text[i..]));
            }
        }
        variants
    })
}

/// Adding mirrors to files of every shape: comments above, beside and below
/// entries, blank lines, tables after the section, the wildcard, an empty list, an
/// alias, escapes in keys, the section last, an empty section, an inline table, no
/// final line break, no section at all.
#[test]
fn adding_mirrors_to_every_shape_of_file_changes_only_that_entry() {
    let files = [
        PACK_FILE,
        "[registry-mirrors]\n\"quay.io\" = \"q.example\"\n",
        "# top\ndefault-builder-image = \"a/b\"\n\n[registry-mirrors]\n  # about quay\n  \"quay.io\" = \"q.example\" # one\n\n  # about ghcr\n  \"ghcr.io\" = [\n    \"g1.example\", # first\n    \"g2.example\",\n  ]\n# trailing\n\n[[run-images]]\n  image = \"x/y\"\n  mirrors = [\"m.example/x/y\"]\n",
        "[registry-mirrors]\n'*' = \"all.example\"\n\"index.docker.io\" = []\n\"reg\\u002eexample:5000\" = [\"r.example\"]\n",
        "pull-policy = \"always\"\n[registry-mirrors]\n\t\"a.example\" = [\"m.example\"]\n\n# end\n",
        "",
        "pull-policy = \"always\"\n",
        "[registry-mirrors]\n",
        "[registry-mirrors]\n\"quay.io\" = \"q.example\"",
        "registry-mirrors = { \"quay.io\" = \"q.example\" }\n",
    ];
    let cases: [(&str, &[&str]); 6] = [
        ("quay.io", &["q.example", "new.example"]),
        ("ghcr.io", &["http://new.example:5000/p"]),
        ("docker.io", &["d1.example", "d2.example"]),
        ("*", &["all.example"]),
        ("new.example:5000", &["n.example"]),
        ("reg.example:5000", &["r.example", "s.example"]),
    ];
    for text in files {
        let before = Config::parse(text, p()).unwrap();
        for (key, values) in cases {
            let key = MirrorKey::parse(key).unwrap();
            let values = mirrors(values);
            let (after, _) = apply(text, |doc| edits::add_registry_mirrors(doc, &key, &values));
            check_added(
                text,
                &before,
                &Config::parse(&after, p()).unwrap(),
                &key,
                &values,
            );
            // Every comment is still there, in order.
            let comments = |t: &str| -> Vec<String> {
                t.lines()
                    .filter_map(|l| l.find('#').map(|i| l[i..].to_string()))
                    .collect()
            };
            assert_eq!(comments(&after), comments(text), "{key} in:\n{text}");
        }
    }
}

// ------------------------------------------------------------------ local-registry

#[test]
fn local_registry_is_a_host_and_port() {
    let config = Config::parse(
        "# the dev cluster's registry\nlocal-registry = \"Localhost:5001\"\npull-policy = \"never\"\n",
        p(),
    )
    .unwrap();
    assert_eq!(config.local_registry, Some(reg("localhost:5001")));
    assert_eq!(config.pull_policy, Some(PullPolicy::Never));
    assert_eq!(Config::parse("", p()).unwrap().local_registry, None);

    let (line, column, message) = invalid("local-registry = 5000\n");
    assert_eq!((line, column), (1, 18));
    assert_eq!(
        message,
        "expected a string for local-registry, found an integer"
    );
    let (line, _, message) =
        invalid("pull-policy = \"never\"\nlocal-registry = \"http://r:5000\"\n");
    assert_eq!(line, 2);
    assert!(message.contains("drop 'http://'"), "{message}");
    // A table of that name is the wrong type too (both readers agree: the quick one
    // leaves files with this key to the full one).
    let (line, _, message) = invalid("[local-registry]\nhost = \"r:5000\"\n");
    assert_eq!(line, 1);
    assert!(
        message.contains("expected a string for local-registry"),
        "{message}"
    );
}
