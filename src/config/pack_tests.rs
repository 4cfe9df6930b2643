//! The file as pack reads it (docs/configuration.md, "Sharing the file with pack"):
//! `[registry-mirrors]` with one string pack can use per registry, cnb's ordered lists in
//! `[registry-mirror-lists]`, the older array form rewritten, keys pack keeps side by
//! side, and cnb's copy of the file for saying what a rewrite by pack lost.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use toml_edit::DocumentMut;

use super::edits::{self, Removed};
use super::*;
use crate::reference::{Mirror, MirrorKey, Registry};

thread_local! {
    /// The state directory this test's writes keep their copies in; none by default.
    static STATE_DIR: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
}

/// The state directory unit tests stand in for the platform's (see `pack::copies_dir`).
pub(super) fn state_dir() -> Option<PathBuf> {
    STATE_DIR.with(|dir| dir.borrow().clone())
}

/// Keeps this test's copies under `dir` until the guard drops.
fn keep_copies_in(dir: &Path) -> KeptCopies {
    STATE_DIR.with(|d| *d.borrow_mut() = Some(dir.to_path_buf()));
    KeptCopies
}

/// While it lives, the test's copies go to the directory [`keep_copies_in`] was given.
struct KeptCopies;

impl Drop for KeptCopies {
    fn drop(&mut self) {
        STATE_DIR.with(|d| d.borrow_mut().take());
    }
}

/// Where cnb keeps its copy of `config`, worked out as docs/configuration.md says.
fn expected_copy(state: &Path, config: &Path) -> PathBuf {
    use sha2::Digest;
    let absolute = config.canonicalize().unwrap();
    let digest = sha2::Sha256::digest(absolute.as_os_str().as_encoded_bytes());
    let hex = crate::hex::encode(&digest);
    state
        .join("cnb/config-copies")
        .join(format!("{}.toml", &hex[..16]))
}

fn p() -> &'static Path {
    Path::new("/cfg/config.toml")
}

fn key(s: &str) -> MirrorKey {
    MirrorKey::parse(s).unwrap()
}

fn mirrors(list: &[&str]) -> Vec<Mirror> {
    list.iter().map(|m| Mirror::parse(m).unwrap()).collect()
}

/// The mirrors `list` shows for each registry: (registry as shown, mirrors as written).
fn listed(text: &str) -> Vec<(String, Vec<String>)> {
    let file = ConfigFile::parse(text, p()).unwrap_or_else(|e| panic!("{e}\n{text}"));
    file.config
        .registry_mirrors
        .iter()
        .zip(&file.written.registry_mirrors)
        .map(|(e, (_, w))| (e.key.to_string(), w.clone()))
        .collect()
}

fn row(registry: &str, list: &[&str]) -> (String, Vec<String>) {
    (
        registry.to_string(),
        list.iter().map(|s| s.to_string()).collect(),
    )
}

/// Applies `change`, checks that the result reads and that pack could read and use its
/// `[registry-mirrors]`, and returns the text.
fn apply<T>(text: &str, change: impl FnOnce(&mut DocumentMut) -> T) -> (String, T) {
    let (value, after) = edits::apply(text, p(), change).unwrap();
    let after = after.unwrap_or_else(|| text.to_string());
    ConfigFile::parse(&after, p()).unwrap_or_else(|e| panic!("{e}\n{after}"));
    assert_pack_can_use(&after);
    (after, value)
}

/// Every `[registry-mirrors]` value is a string without a scheme.
fn assert_pack_can_use(text: &str) {
    let doc: DocumentMut = text.parse().unwrap();
    if let Some(table) = doc
        .get(keys::REGISTRY_MIRRORS)
        .and_then(|i| i.as_table_like())
    {
        for (k, v) in table.iter() {
            let s = v.as_str();
            assert!(
                s.is_some_and(|s| !s.contains("://")),
                "pack cannot use {k} = {v} in:\n{text}"
            );
        }
    }
}

fn invalid(text: &str) -> (usize, usize, String) {
    match ConfigFile::parse(text, p()) {
        Err(ConfigError::Invalid {
            line,
            column,
            message,
            ..
        }) => (line, column, message),
        other => panic!("expected an invalid-config error, got {other:?}"),
    }
}

// ------------------------------------------------------------------ reading

#[test]
fn a_list_gives_the_registry_its_mirrors_and_starts_with_packs_string() {
    let text = "[registry-mirrors]\n\"quay.io\" = \"q1.example\"\n\"*\" = \"all.example\"\n\n[registry-mirror-lists]\n\"quay.io\" = [\"https://q1.example\", \"http://q2.example:5000/p\"]\n\"ghcr.io\" = []\n";
    assert_eq!(
        listed(text),
        vec![
            row(
                "quay.io",
                &["https://q1.example", "http://q2.example:5000/p"]
            ),
            row("*", &["all.example"]),
            row("ghcr.io", &[]),
        ]
    );
    let c = Config::parse(text, p()).unwrap();
    assert!(
        c.mirrors_for(&Registry::parse("ghcr.io").unwrap())
            .is_empty()
    );
}

#[test]
fn a_list_that_disagrees_with_packs_string_is_an_error_at_that_entry() {
    let (line, column, message) = invalid(
        "[registry-mirrors]\n\"quay.io\" = \"z.example\"\n[registry-mirror-lists]\n\"quay.io\" = [\"a.example\", \"b.example\"]\n",
    );
    assert_eq!((line, column), (4, 14));
    assert_eq!(
        message,
        "the list of 'quay.io' in [registry-mirror-lists] starts with 'a.example', but [registry-mirrors] gives it 'z.example', the mirror pack uses; make the list start with that mirror (a scheme may differ), or remove the list"
    );

    let (line, _, message) =
        invalid("[registry-mirror-lists]\n\"quay.io\" = [\"a.example\", \"b.example\"]\n");
    assert_eq!(line, 2);
    assert!(
        message
            .contains("add \"quay.io\" = \"a.example\" to [registry-mirrors] or remove the list"),
        "{message}"
    );

    let (line, _, message) = invalid(
        "[registry-mirrors]\n\"ghcr.io\" = \"g.example\"\n[registry-mirror-lists]\n\"ghcr.io\" = []\n",
    );
    assert_eq!(line, 4);
    assert!(message.contains("an empty list"), "{message}");

    let (line, _, message) = invalid(
        "[registry-mirrors]\n\"quay.io\" = [\"a.example\"]\n[registry-mirror-lists]\n\"quay.io\" = [\"a.example\", \"b.example\"]\n",
    );
    assert_eq!(line, 2);
    assert!(message.contains("keep the list"), "{message}");

    let (line, _, message) = invalid(
        "[registry-mirrors]\n\"quay.io\" = \"a.example\"\n[registry-mirror-lists]\n\"quay.io\" = [\"a.example\"]\n\"Quay.io\" = [\"a.example\"]\n",
    );
    assert_eq!(line, 5);
    assert!(
        message.contains("two entries in [registry-mirror-lists]"),
        "{message}"
    );

    // Two spellings of one registry, neither in the stored form: nothing says which counts.
    let (line, _, message) = invalid(
        "[registry-mirrors]\n\"Quay.io\" = \"a.example\"\n\"ghcr.io\" = \"g.example\"\n\"QUAY.io\" = \"b.example\"\n",
    );
    assert_eq!(line, 4);
    assert_eq!(
        message,
        "registry 'quay.io' has two entries in [registry-mirrors]; merge them into one"
    );

    let (line, column, message) = invalid(
        "[registry-mirrors]\n\"quay.io\" = \"a.example\"\n[registry-mirror-lists]\n\"quay.io\" = \"a.example\"\n",
    );
    assert_eq!((line, column), (4, 13));
    assert!(
        message.contains("expected an array of strings"),
        "{message}"
    );
}

#[test]
fn packs_string_and_the_list_may_differ_in_the_scheme_only() {
    let text = "[registry-mirrors]\n\"*\" = \"m.example:5000\"\n[registry-mirror-lists]\n\"*\" = [\"http://m.example:5000\"]\n";
    assert_eq!(listed(text), vec![row("*", &["http://m.example:5000"])]);
}

/// pack keeps keys as given: `docker.io` beside `index.docker.io`. pack only looks up
/// `index.docker.io`, and so does cnb, with a warning for the other.
#[test]
fn a_key_in_the_stored_form_wins_over_other_spellings_with_a_warning() {
    let text = "[registry-mirrors]\n  \"docker.io\" = \"unused.example\"\n  \"index.docker.io\" = \"used.example\"\n  \"Quay.io\" = \"x.example\"\n  \"quay.io\" = \"q.example\"\n";
    let file = ConfigFile::parse(text, p()).unwrap();
    assert_eq!(
        listed(text),
        vec![
            row("docker.io", &["used.example"]),
            row("quay.io", &["q.example"])
        ]
    );
    let shown: Vec<String> = file.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        vec![
            "config file /cfg/config.toml:2: the [registry-mirrors] entry 'docker.io' is not used: 'index.docker.io' names the same registry (docker.io) and wins, for pack too, which looks registries up by that spelling; remove 'docker.io'",
            "config file /cfg/config.toml:4: the [registry-mirrors] entry 'Quay.io' is not used: 'quay.io' names the same registry (quay.io) and wins, for pack too, which looks registries up by that spelling; remove 'Quay.io'",
        ]
    );
    // Changes go to the entry that counts; removing the entry removes every spelling.
    let (after, _) = apply(text, |doc| {
        edits::add_registry_mirrors(doc, &key("docker.io"), &mirrors(&["more.example"]))
    });
    assert_eq!(
        listed(&after)[0],
        row("docker.io", &["used.example", "more.example"])
    );
    assert!(
        after.contains("  \"docker.io\" = \"unused.example\"\n"),
        "{after}"
    );
    let (after, removed) = apply(&after, |doc| {
        edits::remove_registry_mirrors(doc, &key("docker.io"), &[])
    });
    assert_eq!(removed, Removed::Entry);
    assert_eq!(
        after,
        "[registry-mirrors]\n  \"Quay.io\" = \"x.example\"\n  \"quay.io\" = \"q.example\"\n"
    );
}

// ------------------------------------------------------------------ writing

#[test]
fn the_first_mirror_is_packs_string_without_its_scheme_and_the_list_says_the_rest() {
    let quay = key("quay.io");
    let (after, added) = apply("", |doc| {
        edits::add_registry_mirrors(doc, &quay, &mirrors(&["https://q1.example", "q2.example"]))
    });
    assert!(added.new_entry);
    assert_eq!(
        after,
        "[registry-mirrors]\n\"quay.io\" = \"q1.example\"\n\n[registry-mirror-lists]\n\"quay.io\" = [\"https://q1.example\", \"q2.example\"]\n"
    );
    // Down to one mirror with a scheme: the list stays, for the scheme.
    let (after, _) = apply(&after, |doc| {
        edits::remove_registry_mirrors(doc, &quay, &mirrors(&["q2.example"]))
    });
    assert_eq!(
        after,
        "[registry-mirrors]\n\"quay.io\" = \"q1.example\"\n\n[registry-mirror-lists]\n\"quay.io\" = [\"https://q1.example\"]\n"
    );
    // The first goes: pack's string follows the list; one mirror without a scheme is
    // pack's string alone.
    let (after, _) = apply(&after, |doc| {
        edits::add_registry_mirrors(doc, &quay, &mirrors(&["q3.example"]))
    });
    let (after, removed) = apply(&after, |doc| {
        edits::remove_registry_mirrors(doc, &quay, &mirrors(&["https://q1.example"]))
    });
    assert_eq!(after, "[registry-mirrors]\n\"quay.io\" = \"q3.example\"\n");
    assert_eq!(
        removed,
        Removed::Values {
            removed: vec!["https://q1.example".into()],
            missing: vec![],
            entry_removed: false
        }
    );
    let (after, removed) = apply(&after, |doc| {
        edits::remove_registry_mirrors(doc, &quay, &mirrors(&["q3.example"]))
    });
    assert_eq!(after, "");
    assert!(matches!(
        removed,
        Removed::Values {
            entry_removed: true,
            ..
        }
    ));
}

/// The list goes right after `[registry-mirrors]`, indented like it, and pack's own
/// layout (BurntSushi's two spaces) is kept.
#[test]
fn the_list_table_follows_packs_table_in_packs_layout() {
    let text = "pull-policy = \"never\"\n\n[registry-mirrors]\n  \"quay.io\" = \"q.example\"\n\n[[trusted-builders]]\n  name = \"a/b\"\n";
    let (after, _) = apply(text, |doc| {
        edits::add_registry_mirrors(doc, &key("quay.io"), &mirrors(&["r.example"]))
    });
    assert_eq!(
        after,
        "pull-policy = \"never\"\n\n[registry-mirrors]\n  \"quay.io\" = \"q.example\"\n\n[registry-mirror-lists]\n  \"quay.io\" = [\"q.example\", \"r.example\"]\n\n[[trusted-builders]]\n  name = \"a/b\"\n"
    );
    let (again, _) = apply(&after, |doc| {
        edits::add_registry_mirrors(
            doc,
            &key("ghcr.io"),
            &mirrors(&["g1.example", "g2.example"]),
        )
    });
    assert!(
        again.contains("  \"quay.io\" = \"q.example\"\n  \"ghcr.io\" = \"g1.example\"\n"),
        "{again}"
    );
    assert!(
        again.contains("  \"ghcr.io\" = [\"g1.example\", \"g2.example\"]\n\n[[trusted-builders]]"),
        "{again}"
    );
}

#[test]
fn an_empty_list_gets_packs_string_with_its_first_mirror() {
    let text = "[registry-mirror-lists]\n\"ghcr.io\" = []\n";
    let (after, added) = apply(text, |doc| {
        edits::add_registry_mirrors(doc, &key("ghcr.io"), &mirrors(&["g.example"]))
    });
    assert!(!added.new_entry);
    assert_eq!(after, "[registry-mirrors]\n\"ghcr.io\" = \"g.example\"\n");
}

/// cnb's older form: arrays in `[registry-mirrors]`, and mirrors with a scheme there.
/// Any change rewrites them for pack; a change that changes nothing writes nothing.
#[test]
fn any_change_rewrites_the_older_form_for_pack_and_a_no_op_does_not() {
    let text = "# mine\n[registry-mirrors]\n# quay\n\"quay.io\" = [\n  \"https://q1.example\", # first\n  \"q2.example\",\n] # in order\n\"ghcr.io\" = []\n\"gcr.io\" = [\"one.example\"] # one\n\"docker.io\" = \"http://hub.example:5000\"\n";
    let before = listed(text);
    let (_, unchanged) = edits::apply(text, p(), |doc| {
        edits::add_registry_mirrors(doc, &key("quay.io"), &mirrors(&["q2.example"]))
    })
    .unwrap();
    assert_eq!(unchanged, None);
    let (after, _) = apply(text, |doc| {
        edits::set_top_level_string(doc, keys::PULL_POLICY, "never")
    });
    assert_eq!(
        after,
        "# mine\npull-policy = \"never\"\n\n[registry-mirrors]\n# quay\n\"quay.io\" = \"q1.example\"\n\"gcr.io\" = \"one.example\" # one\n\"docker.io\" = \"hub.example:5000\"\n\n[registry-mirror-lists]\n\"quay.io\" = [\n  \"https://q1.example\", # first\n  \"q2.example\",\n] # in order\n\"ghcr.io\" = []\n\"docker.io\" = [\"http://hub.example:5000\"]\n"
    );
    let mut now = listed(&after);
    let mut then = before;
    now.sort();
    then.sort();
    assert_eq!(now, then);
}

// ------------------------------------------------------------------ what pack drops

#[test]
fn cnbs_copy_follows_its_writes_and_says_what_a_rewrite_lost() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let _copies = keep_copies_in(&state);
    let path = dir.path().join("config.toml");
    // Nothing pack would drop: no copy, and no state directory.
    edit(&path, |doc| {
        edits::set_top_level_string(doc, keys::PULL_POLICY, "never")
    })
    .unwrap();
    let copy = expected_copy(&state, &path);
    assert_eq!(copy_path(&path).as_deref(), Some(copy.as_path()));
    assert!(!state.exists());
    let done = edit(&path, |doc| {
        edits::add_registry_mirrors(doc, &key("quay.io"), &mirrors(&["a.example", "b.example"]))
    })
    .unwrap();
    assert!(done.warnings.is_empty());
    assert_eq!(
        std::fs::read_to_string(&copy).unwrap(),
        std::fs::read_to_string(&path).unwrap()
    );
    // What pack writes back.
    std::fs::write(
        &path,
        "pull-policy = \"never\"\n\n[registry-mirrors]\n  \"quay.io\" = \"a.example\"\n",
    )
    .unwrap();
    let file = ConfigFile::load(&path).unwrap();
    let [ConfigWarning::Lost(lost)] = file.warnings.as_slice() else {
        panic!("{:?}", file.warnings);
    };
    assert_eq!(lost.copy, copy);
    assert_eq!(lost.comment_lines, 0);
    assert_eq!(
        lost.items,
        vec![LostItem {
            what: "the mirrors of quay.io, in order: a.example, b.example (pack kept only 'a.example')"
                .into(),
            restore: vec![vec![
                "registry-mirrors".into(),
                "add".into(),
                "quay.io".into(),
                "-m".into(),
                "b.example".into()
            ]],
        }]
    );
    // A change that puts nothing back keeps the copy (and says so); one that does replaces it.
    let done = edit(&path, |doc| {
        edits::set_top_level_string(doc, keys::PULL_POLICY, "always")
    })
    .unwrap();
    assert!(matches!(done.warnings.as_slice(), [ConfigWarning::Lost(_)]));
    assert!(copy.exists());
    let done = edit(&path, |doc| {
        edits::add_registry_mirrors(doc, &key("quay.io"), &mirrors(&["b.example"]))
    })
    .unwrap();
    assert_eq!(done.warnings.len(), 1);
    assert_eq!(
        std::fs::read_to_string(&copy).unwrap(),
        std::fs::read_to_string(&path).unwrap()
    );
    assert!(ConfigFile::load(&path).unwrap().warnings.is_empty());
    // The last thing pack would drop goes with a cnb change: so does the copy.
    edit(&path, |doc| {
        edits::remove_registry_mirrors(doc, &key("quay.io"), &mirrors(&["b.example"]))
    })
    .unwrap();
    assert!(!copy.exists());
    assert!(ConfigFile::load(&path).unwrap().warnings.is_empty());
}

#[test]
fn a_lost_registry_ca_is_restored_with_its_absolute_file() {
    let dir = tempfile::tempdir().unwrap();
    let _copies = keep_copies_in(&dir.path().join("state"));
    let path = dir.path().join("config.toml");
    edit(&path, |doc| {
        edits::set_registry_ca(
            doc,
            &crate::reference::Registry::parse("reg.example:5000").unwrap(),
            "certs/ca.pem",
        )
    })
    .unwrap();
    std::fs::write(&path, "pull-policy = \"never\"\n").unwrap();
    let file = ConfigFile::load(&path).unwrap();
    let [ConfigWarning::Lost(lost)] = file.warnings.as_slice() else {
        panic!("{:?}", file.warnings);
    };
    let ca = dir.path().join("certs/ca.pem").display().to_string();
    assert_eq!(
        lost.items
            .iter()
            .flat_map(|item| item.restore.clone())
            .collect::<Vec<_>>(),
        vec![vec![
            "registry-ca".to_string(),
            "add".to_string(),
            "reg.example:5000".to_string(),
            ca
        ]]
    );
}

#[test]
fn a_file_with_comments_or_cnbs_keys_is_not_taken_for_packs_rewrite() {
    let dir = tempfile::tempdir().unwrap();
    let _copies = keep_copies_in(&dir.path().join("state"));
    let path = dir.path().join("config.toml");
    edit(&path, |doc| {
        edits::add_insecure_registries(
            doc,
            &[crate::reference::InsecureEntry::parse("a:1").unwrap()],
        )
    })
    .unwrap();
    edit(&path, |doc| {
        edits::add_registry_mirrors(doc, &key("quay.io"), &mirrors(&["a.example", "b.example"]))
    })
    .unwrap();
    // Edited by hand: one key of cnb's removed, another still there.
    std::fs::write(
        &path,
        "insecure-registries = [\"a:1\"]\n[registry-mirrors]\n\"quay.io\" = \"a.example\"\n",
    )
    .unwrap();
    assert!(ConfigFile::load(&path).unwrap().warnings.is_empty());
    // Or all of them, with a comment left.
    std::fs::write(
        &path,
        "# mine\n[registry-mirrors]\n\"quay.io\" = \"a.example\"\n",
    )
    .unwrap();
    assert!(ConfigFile::load(&path).unwrap().warnings.is_empty());
    // A missing file was removed on purpose.
    std::fs::remove_file(&path).unwrap();
    assert!(ConfigFile::load(&path).unwrap().warnings.is_empty());
}

/// The copy is in the state directory, named after the file a link points at, and a
/// write leaves nothing beside the file (it may be in a dotfiles repository).
#[cfg(unix)]
#[test]
fn the_copy_is_in_the_state_directory_and_named_after_the_file_a_link_points_at() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let _copies = keep_copies_in(&state);
    let dotfiles = dir.path().join("dotfiles");
    std::fs::create_dir(&dotfiles).unwrap();
    let link = dir.path().join("config.toml");
    std::os::unix::fs::symlink("dotfiles/cnb.toml", &link).unwrap();
    // No file yet: nothing to keep a copy of.
    assert_eq!(copy_path(&link), None);
    edit(&link, |doc| {
        edits::add_registry_mirrors(doc, &key("quay.io"), &mirrors(&["a.example", "b.example"]))
    })
    .unwrap();
    let target = dotfiles.join("cnb.toml");
    let copy = expected_copy(&state, &target);
    assert_eq!(copy_path(&link).as_deref(), Some(copy.as_path()));
    assert_eq!(copy_path(&target).as_deref(), Some(copy.as_path()));
    assert_eq!(
        std::fs::read_to_string(&copy).unwrap(),
        std::fs::read_to_string(&target).unwrap()
    );
    let names = |d: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(&dotfiles), vec!["cnb.toml"]);
    assert_eq!(
        names(copy.parent().unwrap()),
        vec![copy.file_name().unwrap().to_str().unwrap()]
    );
    use std::os::unix::fs::PermissionsExt;
    for private in [state.join("cnb"), copy.parent().unwrap().to_path_buf()] {
        let mode = std::fs::metadata(&private).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", private.display());
    }
}

/// Without a state directory cnb keeps no copy, and a write still works.
#[test]
fn without_a_state_directory_there_is_no_copy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    edit(&path, |doc| {
        edits::add_registry_mirrors(doc, &key("quay.io"), &mirrors(&["a.example", "b.example"]))
    })
    .unwrap();
    assert_eq!(copy_path(&path), None);
    std::fs::write(&path, "[registry-mirrors]\n\"quay.io\" = \"a.example\"\n").unwrap();
    assert!(ConfigFile::load(&path).unwrap().warnings.is_empty());
}

/// A write interrupted while writing the copy leaves its temporary file; the next one
/// removes it, and only the temporary files of that copy.
#[test]
fn the_next_copy_removes_what_an_interrupted_one_left() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let _copies = keep_copies_in(&state);
    let path = dir.path().join("config.toml");
    let add = |m: &str| {
        edit(&path, |doc| {
            edits::add_insecure_registries(
                doc,
                &[crate::reference::InsecureEntry::parse(m).unwrap()],
            )
        })
        .unwrap()
    };
    add("a:1");
    let copy = copy_path(&path).unwrap();
    let copies = copy.parent().unwrap();
    let name = copy.file_name().unwrap().to_str().unwrap();
    let stale = copies.join(format!(".{name}.aB3xY9.tmp"));
    let other = copies.join(".0123456789abcdef.toml.aB3xY9.tmp");
    std::fs::write(&stale, "").unwrap();
    std::fs::write(&other, "").unwrap();
    add("b:2");
    assert!(!stale.exists());
    assert!(other.exists());
    assert_eq!(
        std::fs::read_to_string(&copy).unwrap(),
        std::fs::read_to_string(&path).unwrap()
    );
}
