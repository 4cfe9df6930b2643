//! The completion scripts in completions/ and the man pages in docs/man/ are
//! generated from the CLI definition. This test fails when they are stale;
//! with UPDATE_GENERATED=1 it rewrites them instead:
//!
//!     UPDATE_GENERATED=1 cargo nextest run --test generated

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use cnb::completion::{COMPLETIONS_DIR, MAN_DIR, generated_files, script, script_file_name};

const UPDATE: &str = "UPDATE_GENERATED";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Files now in the generated directories (relative paths).
fn existing_files() -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for dir in [COMPLETIONS_DIR, MAN_DIR] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().is_file() {
                out.insert(Path::new(dir).join(entry.file_name()));
            }
        }
    }
    out
}

#[test]
fn generated_files_are_up_to_date() {
    let fresh = generated_files();
    let fresh_paths: BTreeSet<PathBuf> = fresh.iter().map(|(p, _)| p.clone()).collect();

    if std::env::var_os(UPDATE).is_some_and(|v| v == "1") {
        for (path, contents) in &fresh {
            let full = root().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, contents).unwrap();
        }
        for stale in existing_files().difference(&fresh_paths) {
            std::fs::remove_file(root().join(stale)).unwrap();
        }
        return;
    }

    let mut problems = Vec::new();
    for (path, contents) in &fresh {
        match std::fs::read(root().join(path)) {
            Ok(on_disk) if &on_disk == contents => {}
            Ok(_) => problems.push(format!("{} differs", path.display())),
            Err(_) => problems.push(format!("{} is missing", path.display())),
        }
    }
    for extra in existing_files().difference(&fresh_paths) {
        problems.push(format!("{} is no longer generated", extra.display()));
    }
    assert!(
        problems.is_empty(),
        "generated files are stale:\n  {}\nregenerate them with:\n  {UPDATE}=1 cargo nextest run --test generated\n\
         and commit the result (see docs/completion.md)",
        problems.join("\n  ")
    );
}

/// The committed scripts are what the binary prints, and what clap's own
/// `COMPLETE=<shell> cnb` prints when cnb is on PATH.
#[test]
fn binary_prints_the_committed_scripts() {
    let bin = env!("CARGO_BIN_EXE_cnb");
    let home = tempfile::tempdir().unwrap();
    // A corrupt config must not matter to `cnb completion`.
    std::fs::write(home.path().join("config.toml"), "registry-mirrors = [[[\n").unwrap();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let parsed: cnb::cli::Shell = clap::ValueEnum::from_str(shell, false).unwrap();
        let out = Command::new(bin)
            .args(["completion", shell])
            .env("CNB_HOME", home.path())
            .env_remove("CNB_CONFIG")
            .env_remove("COMPLETE")
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}: {out:?}");
        assert!(out.stderr.is_empty(), "{shell}: {out:?}");
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            script(parsed),
            "{shell}"
        );

        // clap_complete's env registration, run from PATH as `cnb`.
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(bin, dir.path().join("cnb")).unwrap();
        let path = format!(
            "{}:{}",
            dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new("cnb")
            .env("PATH", path)
            .env("COMPLETE", shell)
            .env("CNB_HOME", home.path())
            .env_remove("CNB_CONFIG")
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}: {out:?}");
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            script(parsed),
            "{shell}"
        );

        let file = root().join(COMPLETIONS_DIR).join(script_file_name(parsed));
        assert!(file.is_file(), "{} is missing", file.display());
    }
}
