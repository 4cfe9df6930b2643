//! Dynamic completion, driven the way shells drive it: the registration
//! scripts in completions/ run `COMPLETE=<shell> cnb -- <words...>` with a few
//! `_CLAP_*` variables, and read candidates from stdout.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod support;
use support::TestHome;

const BIN: &str = env!("CARGO_BIN_EXE_cnb");

const CONFIG: &str = r#"# completion test config
default-builder-image = "paketobuildpacks/builder-jammy-base"
insecure-registries = ["registry.local:5000", "10.20.0.0/16"]

[registry-mirrors]
"index.docker.io" = "mirror.corp.example"
"quay.io" = ["https://q1.corp.example", "http://q2.corp.example:5000/quay"]
"*" = "catchall.corp.example"

[[run-images]]
image = "paketobuildpacks/run-jammy-base"
mirrors = ["registry.corp.example/paketo/run-jammy-base", "registry2.corp.example/run:1.2"]

[[run-images]]
image = "registry.corp.example/other/run"
mirrors = ["registry.corp.example/paketo/run-jammy-base"]

[[trusted-builders]]
name = "registry.corp.example/builder"

[[trusted-builders]]
name = "heroku/builder:24"
"#;

/// A home whose config file holds `config`.
fn home_with(config: &str) -> TestHome {
    let home = TestHome::new();
    home.write_config(config);
    home
}

/// Completion requests as each shell's script makes them, run in a [`TestHome`].
trait Complete {
    /// The binary in this home, with no arguments yet.
    fn bin(&self) -> Command;
    fn bash(&self, words: &[&str]) -> Output;
    fn bash_values(&self, words: &[&str]) -> Vec<String>;
    fn fish(&self, words: &[&str]) -> Vec<(String, Option<String>)>;
    fn zsh(&self, words: &[&str]) -> Vec<String>;
}

impl Complete for TestHome {
    fn bin(&self) -> Command {
        self.command(&[] as &[&str])
    }

    /// What bash's registration script runs for `cnb <words...>`, the last
    /// word being the one under the cursor.
    fn bash(&self, words: &[&str]) -> Output {
        let mut cmd = self.bin();
        cmd.env("COMPLETE", "bash")
            .env("_CLAP_IFS", "\u{b}")
            .env("_CLAP_COMPLETE_INDEX", words.len().to_string())
            .env("_CLAP_COMPLETE_COMP_TYPE", "9")
            .env("_CLAP_COMPLETE_SPACE", "false")
            .arg("--")
            .arg("cnb")
            .args(words);
        cmd.output().unwrap()
    }

    /// Candidates bash would get.
    fn bash_values(&self, words: &[&str]) -> Vec<String> {
        let out = self.bash(words);
        assert!(out.status.success(), "{words:?}: {out:?}");
        assert!(out.stderr.is_empty(), "{words:?}: {out:?}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        if stdout.is_empty() {
            return Vec::new();
        }
        stdout.split('\u{b}').map(str::to_string).collect()
    }

    /// `value\thelp` lines, as fish's script reads them.
    fn fish(&self, words: &[&str]) -> Vec<(String, Option<String>)> {
        let out = self
            .bin()
            .env("COMPLETE", "fish")
            .arg("--")
            .arg("cnb")
            .args(words)
            .output()
            .unwrap();
        assert!(out.status.success(), "{words:?}: {out:?}");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|line| match line.split_once('\t') {
                Some((value, help)) => (value.to_string(), Some(help.to_string())),
                None => (line.to_string(), None),
            })
            .collect()
    }

    /// `value:help` entries separated by newlines, as zsh's script reads them.
    fn zsh(&self, words: &[&str]) -> Vec<String> {
        let out = self
            .bin()
            .env("COMPLETE", "zsh")
            .env("_CLAP_IFS", "\n")
            .env("_CLAP_COMPLETE_INDEX", words.len().to_string())
            .arg("--")
            .arg("cnb")
            .args(words)
            .output()
            .unwrap();
        assert!(out.status.success(), "{words:?}: {out:?}");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// Candidates that are not flags.
fn values(candidates: Vec<String>) -> Vec<String> {
    candidates
        .into_iter()
        .filter(|c| !c.starts_with('-'))
        .collect()
}

#[test]
fn registries_are_offered_as_people_type_them() {
    let home = home_with(CONFIG);
    let got = values(home.bash_values(&["config", "registry-mirrors", "remove", ""]));
    // bash inserts candidates unquoted: `*` comes escaped so that it is not globbed.
    assert_eq!(got, ["docker.io", "quay.io", "\\*"]);

    assert_eq!(
        home.bash_values(&["config", "registry-mirrors", "remove", "q"]),
        ["quay.io"]
    );
    // The stored spellings of Docker Hub complete when typed.
    assert_eq!(
        home.bash_values(&["config", "registry-mirrors", "remove", "index"]),
        ["index.docker.io"]
    );
    assert_eq!(
        home.bash_values(&["config", "registry-mirrors", "remove", "d"]),
        ["docker.io"]
    );
}

#[test]
fn mirrors_are_offered_for_dash_m_and_narrowed_to_the_registry_given() {
    let home = home_with(CONFIG);
    let all = home.bash_values(&["config", "registry-mirrors", "remove", "-m", ""]);
    assert_eq!(
        all,
        [
            "mirror.corp.example",
            "https://q1.corp.example",
            "http://q2.corp.example:5000/quay",
            "catchall.corp.example"
        ]
    );
    let quay = home.bash_values(&["config", "registry-mirrors", "remove", "quay.io", "-m", ""]);
    assert_eq!(
        quay,
        [
            "https://q1.corp.example",
            "http://q2.corp.example:5000/quay"
        ]
    );
    let hub = home.bash_values(&[
        "config",
        "registry-mirrors",
        "remove",
        "index.docker.io",
        "--mirror",
        "",
    ]);
    assert_eq!(hub, ["mirror.corp.example"]);
    let hub = home.bash_values(&[
        "config",
        "registry-mirrors",
        "remove",
        "docker.io",
        "--mirror=",
    ]);
    assert_eq!(hub, ["--mirror=mirror.corp.example"]);
}

#[test]
fn run_images_and_their_mirrors_are_offered() {
    let home = home_with(CONFIG);
    let images = values(home.bash_values(&["config", "run-image-mirrors", "remove", ""]));
    assert_eq!(
        images,
        [
            "paketobuildpacks/run-jammy-base",
            "registry.corp.example/other/run"
        ]
    );
    // The fully qualified Hub name completes when typed.
    assert_eq!(
        home.bash_values(&["config", "run-image-mirrors", "remove", "docker.io/"]),
        ["docker.io/paketobuildpacks/run-jammy-base"]
    );

    let mirrors = home.bash_values(&["config", "run-image-mirrors", "remove", "-m", ""]);
    assert_eq!(
        mirrors,
        [
            "registry.corp.example/paketo/run-jammy-base",
            "registry2.corp.example/run:1.2"
        ]
    );
    let mirrors = home.bash_values(&[
        "config",
        "run-image-mirrors",
        "remove",
        "registry.corp.example/other/run",
        "-m",
        "",
    ]);
    assert_eq!(mirrors, ["registry.corp.example/paketo/run-jammy-base"]);
}

#[test]
fn insecure_entries_and_trusted_builders_are_offered() {
    let home = home_with(CONFIG);
    assert_eq!(
        values(home.bash_values(&["config", "insecure-registries", "remove", ""])),
        ["registry.local:5000", "10.20.0.0/16"]
    );
    assert_eq!(
        values(home.bash_values(&["config", "trusted-builders", "remove", ""])),
        ["registry.corp.example/builder", "heroku/builder:24"]
    );
}

#[test]
fn subcommand_and_flag_names_complete() {
    let home = home_with(CONFIG);
    let got = home.bash_values(&["config", ""]);
    for name in [
        "registry-mirrors",
        "run-image-mirrors",
        "insecure-registries",
        "default-builder",
        "trusted-builders",
        "pull-policy",
        "path",
    ] {
        assert!(got.iter().any(|c| c == name), "{name} in {got:?}");
    }
    assert_eq!(
        home.bash_values(&["config", "registry-mirrors", "r"]),
        ["remove"]
    );
    assert_eq!(home.bash_values(&["comp"]), ["completion"]);
    assert_eq!(home.bash_values(&["completion", "p"]), ["powershell"]);
    assert_eq!(
        home.bash_values(&["config", "registry-mirrors", "remove", "--mi"]),
        ["--mirror"]
    );
}

#[test]
fn a_corrupt_or_missing_config_gives_no_candidates_and_no_noise() {
    for home in [
        home_with("registry-mirrors = [[[\n"),
        home_with("insecure-registries = 5\n[[run-images]]\nimage = 7\n"),
        home_with("[registry-mirrors]\n\"https://\" = \"m\"\n"),
        TestHome::new(),
    ] {
        for words in [
            &["config", "registry-mirrors", "remove", ""][..],
            &["config", "registry-mirrors", "remove", "-m", ""],
            &["config", "run-image-mirrors", "remove", ""],
            &["config", "run-image-mirrors", "remove", "-m", ""],
            &["config", "insecure-registries", "remove", ""],
            &["config", "trusted-builders", "remove", ""],
        ] {
            let out = home.bash(words);
            assert!(out.status.success(), "{words:?}: {out:?}");
            assert!(out.stderr.is_empty(), "{words:?}: {out:?}");
            let stdout = String::from_utf8(out.stdout).unwrap();
            assert!(
                stdout
                    .split('\u{b}')
                    .all(|c| c.is_empty() || c.starts_with('-')),
                "{words:?}: {stdout:?}"
            );
        }
        // Names still complete.
        assert_eq!(
            home.bash_values(&["config", "registry-mirrors", "r"]),
            ["remove"]
        );
    }
}

#[test]
fn the_config_file_is_found_like_every_other_command_finds_it() {
    let empty_home = TestHome::new();
    let elsewhere = home_with("insecure-registries = [\"from-file.example\"]\n");
    let file: PathBuf = elsewhere.config_path();
    let words = ["config", "insecure-registries", "remove", ""];

    // CNB_CONFIG beats CNB_HOME.
    let out = empty_home
        .bin()
        .env("CNB_CONFIG", &file)
        .env("COMPLETE", "bash")
        .env("_CLAP_IFS", "\u{b}")
        .env("_CLAP_COMPLETE_INDEX", words.len().to_string())
        .arg("--")
        .arg("cnb")
        .args(words)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        values(stdout.split('\u{b}').map(str::to_string).collect()),
        ["from-file.example"]
    );

    // --config on the command line being completed beats both, wherever it is.
    let file_arg = file.to_str().unwrap();
    let with_flag = [
        "--config",
        file_arg,
        "config",
        "insecure-registries",
        "remove",
        "",
    ];
    assert_eq!(
        values(empty_home.bash_values(&with_flag)),
        ["from-file.example"]
    );
    let flag_eq = format!("--config={file_arg}");
    let late_flag = ["config", "insecure-registries", "remove", &flag_eq, ""];
    assert_eq!(
        values(empty_home.bash_values(&late_flag)),
        ["from-file.example"]
    );
    // A relative --config is relative to the shell's directory.
    let relative = [
        "config",
        "insecure-registries",
        "--config",
        ".cnb/config.toml",
        "remove",
        "",
    ];
    let out = elsewhere
        .bin()
        .env("CNB_HOME", empty_home.cnb_home())
        .env("COMPLETE", "bash")
        .env("_CLAP_IFS", "\u{b}")
        .env("_CLAP_COMPLETE_INDEX", relative.len().to_string())
        .arg("--")
        .arg("cnb")
        .args(relative)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        values(stdout.split('\u{b}').map(str::to_string).collect()),
        ["from-file.example"]
    );
}

#[test]
fn fish_gets_help_text_with_the_values() {
    let home = home_with(CONFIG);
    let got = home.fish(&["config", "registry-mirrors", "remove", ""]);
    let got: Vec<_> = got
        .into_iter()
        .filter(|(v, _)| !v.starts_with('-'))
        .collect();
    assert_eq!(
        got,
        [
            (
                "docker.io".to_string(),
                Some("mirrors: mirror.corp.example".to_string())
            ),
            (
                "quay.io".to_string(),
                Some(
                    "mirrors: https://q1.corp.example, http://q2.corp.example:5000/quay"
                        .to_string()
                )
            ),
            (
                "*".to_string(),
                Some("every other registry; mirrors: catchall.corp.example".to_string())
            ),
        ]
    );
    let got = home.fish(&["config", "run-image-mirrors", "remove", "-m", ""]);
    assert_eq!(
        got[0],
        (
            "registry.corp.example/paketo/run-jammy-base".to_string(),
            Some(
                "mirror of paketobuildpacks/run-jammy-base, registry.corp.example/other/run"
                    .to_string()
            )
        )
    );
}

#[test]
fn zsh_gets_colons_in_values_escaped() {
    let home = home_with(CONFIG);
    let got = home.zsh(&["config", "insecure-registries", "remove", "reg"]);
    assert_eq!(got, ["registry.local\\:5000"]);
    let got = home.zsh(&[
        "config",
        "registry-mirrors",
        "remove",
        "quay.io",
        "-m",
        "http:",
    ]);
    assert_eq!(
        got,
        ["http\\://q2.corp.example\\:5000/quay:mirror of quay.io"]
    );
}

/// The committed bash script, sourced in a real bash, fills COMPREPLY.
#[test]
fn the_bash_script_completes_in_real_bash() {
    let Some(bash) = which("bash") else {
        eprintln!("skipping: bash is not installed");
        return;
    };
    let home = home_with(CONFIG);
    let (_bin_dir, path) = path_with_cnb();
    let script = script_path("cnb.bash");

    // What the line becomes after bash inserts the answer (when there is one
    // candidate), and the candidates.
    let run = |line: &str| -> (String, Vec<String>) {
        let (words, cword) = bash_comp_words(line);
        let quoted: Vec<String> = words.iter().map(|w| sh_quote(w)).collect();
        let program = format!(
            r#"
set -u
source "$SCRIPT"
COMP_LINE={line}
COMP_POINT=${{#COMP_LINE}}
COMP_WORDS=({words})
COMP_CWORD={cword}
COMP_TYPE=9
cur="${{COMP_WORDS[COMP_CWORD]}}"
# bash hands the function an empty word right after a word break.
if [[ "$cur" == ":" || "$cur" == "=" ]]; then cur=""; fi
prev=""
if (( COMP_CWORD > 0 )); then prev="${{COMP_WORDS[COMP_CWORD-1]}}"; fi
_clap_complete_cnb cnb "$cur" "$prev"
printf '%s\n' "${{COMP_LINE%"$cur"}}${{COMPREPLY[0]-}}"
for c in "${{COMPREPLY[@]}}"; do printf '%s\n' "$c"; done
"#,
            line = sh_quote(line),
            words = quoted.join(" "),
        );
        let args = ["--norc", "--noprofile", "-c", &program].map(OsStr::new);
        let vars = [("SCRIPT", script.as_os_str())];
        let stdout = shell_stdout(&bash, &args, &home, &path, &vars, line);
        let mut lines = stdout.lines().map(str::to_string);
        let result = lines.next().unwrap_or_default();
        (result, lines.collect())
    };
    let candidates = |line: &str| run(line).1;

    assert_eq!(
        values(candidates("cnb config registry-mirrors remove ")),
        ["docker.io", "quay.io", "\\*"]
    );
    assert_eq!(
        run("cnb config registry-mirrors remove qu").0,
        "cnb config registry-mirrors remove quay.io"
    );
    assert_eq!(
        candidates("cnb config registry-mirrors remove quay.io -m "),
        [
            "https://q1.corp.example",
            "http://q2.corp.example:5000/quay"
        ]
    );
    assert_eq!(
        values(candidates("cnb config insecure-registries remove ")),
        ["registry.local:5000", "10.20.0.0/16"]
    );
    assert_eq!(
        values(candidates("cnb config run-image-mirrors remove ")),
        [
            "paketobuildpacks/run-jammy-base",
            "registry.corp.example/other/run"
        ]
    );
    assert_eq!(candidates("cnb config trusted-b"), ["trusted-builders"]);

    // bash breaks words at ':' and '=' and replaces only the last piece.
    for (typed, completed) in [
        (
            "cnb config insecure-registries remove registry.local:",
            "cnb config insecure-registries remove registry.local:5000",
        ),
        (
            "cnb config insecure-registries remove registry.local:50",
            "cnb config insecure-registries remove registry.local:5000",
        ),
        (
            "cnb config registry-mirrors remove quay.io -m http:",
            "cnb config registry-mirrors remove quay.io -m http://q2.corp.example:5000/quay",
        ),
        (
            "cnb config registry-mirrors remove quay.io -m http://q2.corp.example:",
            "cnb config registry-mirrors remove quay.io -m http://q2.corp.example:5000/quay",
        ),
        (
            "cnb config registry-mirrors remove docker.io --mirror=",
            "cnb config registry-mirrors remove docker.io --mirror=mirror.corp.example",
        ),
        (
            "cnb config run-image-mirrors remove registry.corp.example/other/run -m reg",
            "cnb config run-image-mirrors remove registry.corp.example/other/run -m registry.corp.example/paketo/run-jammy-base",
        ),
    ] {
        let (line, candidates) = run(typed);
        assert_eq!(line, completed, "{typed}: {candidates:?}");
        assert_eq!(candidates.len(), 1, "{typed}: {candidates:?}");
    }
}

/// COMP_WORDS and COMP_CWORD as bash makes them for a line with the cursor
/// at its end: words split at blanks, and ':' and '=' words of their own
/// (COMP_WORDBREAKS). Enough for lines without quotes.
fn bash_comp_words(line: &str) -> (Vec<String>, usize) {
    let mut words: Vec<String> = Vec::new();
    for blank_separated in line.split_whitespace() {
        let mut current = String::new();
        for c in blank_separated.chars() {
            if c == ':' || c == '=' {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
                words.push(c.to_string());
            } else {
                current.push(c);
            }
        }
        if !current.is_empty() {
            words.push(current);
        }
    }
    if line.ends_with(' ') {
        words.push(String::new());
    }
    let cword = words.len() - 1;
    (words, cword)
}

fn sh_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

#[test]
fn values_already_on_the_line_are_not_offered_again() {
    let home = home_with(CONFIG);
    assert_eq!(
        values(home.bash_values(&[
            "config",
            "insecure-registries",
            "remove",
            "10.20.0.0/16",
            ""
        ])),
        ["registry.local:5000"]
    );
    assert_eq!(
        home.bash_values(&[
            "config",
            "registry-mirrors",
            "remove",
            "quay.io",
            "-m",
            "https://q1.corp.example",
            "-m",
            ""
        ]),
        ["http://q2.corp.example:5000/quay"]
    );
}

/// A directory holding a `cnb` symlink, and a PATH starting with it.
fn path_with_cnb() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(BIN, dir.path().join("cnb")).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (dir, path)
}

fn script_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("completions")
        .join(name)
}

/// What a real shell prints on stdout when run with `args` in a clean
/// environment: PATH from [`path_with_cnb`], HOME and CNB_HOME set to `home`,
/// plus the test's own variables. `what` (what is being completed) names the
/// run when it fails.
fn shell_stdout(
    shell: &Path,
    args: &[&OsStr],
    home: &TestHome,
    path: &str,
    vars: &[(&str, &OsStr)],
    what: &str,
) -> String {
    let out = Command::new(shell)
        .args(args)
        .env_clear()
        .env("PATH", path)
        .env("HOME", home.path())
        .env("CNB_HOME", home.cnb_home())
        .envs(vars.iter().copied())
        .current_dir(home.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{what}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The committed fish script, sourced in a real fish: `complete -C` prints
/// what fish would offer, with descriptions.
#[test]
fn the_fish_script_completes_in_real_fish() {
    let Some(fish) = which("fish") else {
        eprintln!("skipping: fish is not installed");
        return;
    };
    let home = home_with(CONFIG);
    let (_bin_dir, path) = path_with_cnb();
    let script = script_path("cnb.fish");
    let run = |line: &str| {
        let args = ["--no-config", "-c", "source $SCRIPT; complete -C $LINE"].map(OsStr::new);
        let vars = [("SCRIPT", script.as_os_str()), ("LINE", OsStr::new(line))];
        let stdout = shell_stdout(&fish, &args, &home, &path, &vars, line);
        values(stdout.lines().map(str::to_string).collect())
    };
    assert_eq!(
        run("cnb config registry-mirrors remove "),
        [
            "docker.io\tmirrors: mirror.corp.example",
            "quay.io\tmirrors: https://q1.corp.example, http://q2.corp.example:5000/quay",
            "*\tevery other registry; mirrors: catchall.corp.example",
        ]
    );
    assert_eq!(
        run("cnb config insecure-registries remove reg"),
        ["registry.local:5000"]
    );
    assert_eq!(
        run("cnb config trusted-b"),
        ["trusted-builders\tBuilders trusted to run the single-container creator"]
    );
}

/// The committed zsh script, autoloaded from fpath as `_cnb` the way
/// compinit loads it, with `_describe` replaced by a function that prints
/// what it was given (zsh has no non-interactive way to press TAB).
#[test]
fn the_zsh_script_completes_in_real_zsh_from_fpath() {
    let Some(zsh) = which("zsh") else {
        eprintln!("skipping: zsh is not installed");
        return;
    };
    let home = home_with(CONFIG);
    let (_bin_dir, path) = path_with_cnb();
    let fpath = tempfile::tempdir().unwrap();
    std::fs::copy(script_path("cnb.zsh"), fpath.path().join("_cnb")).unwrap();
    let program = r#"
fpath=("$FPATH_DIR" $fpath)
autoload -Uz compinit && compinit -D -u
_describe() { print -rl -- "${(@P)${@[-1]}}" }
words=(${(z)LINE})
if [[ "$LINE" == *" " ]]; then words+=(""); fi
CURRENT=${#words}
# The first call is the one zsh makes when it autoloads _cnb.
"$_comps[cnb]"
"#;
    let run = |line: &str| {
        let args = ["-f", "-c", program].map(OsStr::new);
        let vars = [
            ("FPATH_DIR", fpath.path().as_os_str()),
            ("LINE", OsStr::new(line)),
        ];
        let stdout = shell_stdout(&zsh, &args, &home, &path, &vars, line);
        values(stdout.lines().map(str::to_string).collect())
    };
    assert_eq!(
        run("cnb config insecure-registries remove "),
        ["registry.local\\:5000", "10.20.0.0/16"]
    );
    assert_eq!(
        run("cnb config registry-mirrors remove d"),
        ["docker.io:mirrors: mirror.corp.example"]
    );
    assert_eq!(
        run("cnb config run-image-mirrors rem"),
        ["remove:Remove a run image's entry, or only the given mirrors"]
    );
}

/// Every value completion offers is one the command accepts and acts on.
#[test]
fn completed_values_are_accepted_by_the_remove_commands() {
    fn list_len(
        home: &TestHome,
        list: &[&str],
        pick: &dyn Fn(&serde_json::Value) -> usize,
    ) -> usize {
        let out = home
            .bin()
            .args(list)
            .args(["--output", "json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{list:?}: {out:?}");
        pick(&serde_json::from_slice(&out.stdout).unwrap())
    }
    let entries = |v: &serde_json::Value| v.as_array().map_or(0, Vec::len);
    let quay_mirrors = |v: &serde_json::Value| {
        v.as_array()
            .and_then(|a| a.iter().find(|e| e["registry"] == "quay.io"))
            .and_then(|e| e["mirrors"].as_array())
            .map_or(0, Vec::len)
    };

    // (completion words, remove command before the value, list command, what to count)
    type Count = dyn Fn(&serde_json::Value) -> usize;
    type Case<'a> = (&'a [&'a str], &'a [&'a str], &'a [&'a str], &'a Count);
    let cases: [Case; 6] = [
        (
            &["config", "registry-mirrors", "remove", ""],
            &["config", "registry-mirrors", "remove"],
            &["config", "registry-mirrors", "list"],
            &entries,
        ),
        (
            &["config", "registry-mirrors", "remove", "index"],
            &["config", "registry-mirrors", "remove"],
            &["config", "registry-mirrors", "list"],
            &entries,
        ),
        (
            &["config", "registry-mirrors", "remove", "quay.io", "-m", ""],
            &["config", "registry-mirrors", "remove", "quay.io", "-m"],
            &["config", "registry-mirrors", "list"],
            &quay_mirrors,
        ),
        (
            &["config", "run-image-mirrors", "remove", ""],
            &["config", "run-image-mirrors", "remove"],
            &["config", "run-image-mirrors", "list"],
            &entries,
        ),
        (
            &["config", "insecure-registries", "remove", ""],
            &["config", "insecure-registries", "remove"],
            &["config", "insecure-registries", "list"],
            &entries,
        ),
        (
            &["config", "trusted-builders", "remove", ""],
            &["config", "trusted-builders", "remove"],
            &["config", "trusted-builders", "list"],
            &entries,
        ),
    ];
    for (words, remove, list, count) in cases {
        let offered = values(home_with(CONFIG).bash_values(words));
        assert!(!offered.is_empty(), "{words:?}");
        for value in offered {
            // bash's escape for '*' is removed by the shell before cnb sees it.
            let value = value.replace("\\*", "*");
            let home = home_with(CONFIG);
            let before = list_len(&home, list, count);
            let out = home.bin().args(remove).arg(&value).output().unwrap();
            assert!(out.status.success(), "{remove:?} {value}: {out:?}");
            let after = list_len(&home, list, count);
            assert_eq!(after + 1, before, "{remove:?} {value}: {out:?}");
        }
    }
    // The long Hub spelling of a run image, offered when typed, works too.
    let home = home_with(CONFIG);
    let long = home.bash_values(&["config", "run-image-mirrors", "remove", "docker.io/"]);
    assert_eq!(long, ["docker.io/paketobuildpacks/run-jammy-base"]);
    let out = home
        .bin()
        .args(["config", "run-image-mirrors", "remove", &long[0]])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        list_len(&home, &["config", "run-image-mirrors", "list"], &entries),
        1
    );
}

/// The committed elvish script's completer, run by a real elvish. Outside
/// an interactive session elvish has no `edit:` module, so the completer is
/// bound to a variable instead of `edit:completion:arg-completer[cnb]`.
#[test]
fn the_elvish_script_completes_in_real_elvish() {
    let Some(elvish) = which("elvish") else {
        eprintln!("skipping: elvish is not installed");
        return;
    };
    let home = home_with(CONFIG);
    let (_bin_dir, path) = path_with_cnb();
    let script = std::fs::read_to_string(script_path("cnb.elv")).unwrap();
    let binding = "set edit:completion:arg-completer[cnb] =";
    assert!(script.contains(binding), "{script}");
    let program = script.replace(binding, "var completer =");
    let run = |words: &[&str]| -> Vec<String> {
        let call: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let program = format!("{program}\n$completer cnb {}\n", call.join(" "));
        let file = home.path().join("t.elv");
        std::fs::write(&file, program).unwrap();
        let args = [OsStr::new("-norc"), file.as_os_str()];
        let stdout = shell_stdout(&elvish, &args, &home, &path, &[], &format!("{words:?}"));
        values(stdout.lines().map(str::to_string).collect())
    };
    assert_eq!(
        run(&["config", "insecure-registries", "remove", ""]),
        ["registry.local:5000", "10.20.0.0/16"]
    );
    assert_eq!(
        run(&[
            "config",
            "registry-mirrors",
            "remove",
            "quay.io",
            "-m",
            "http:"
        ]),
        ["http://q2.corp.example:5000/quay"]
    );
    assert_eq!(run(&["config", "pull"]), ["pull-policy"]);
}

/// PowerShell's script passes the words up to the cursor (an empty last one
/// after a space) and reads `value<TAB>help` lines.
#[test]
fn powershell_protocol_gets_values_with_help() {
    let home = home_with(CONFIG);
    let out = home
        .bin()
        .env("COMPLETE", "powershell")
        .args(["--", "cnb", "config", "run-image-mirrors", "remove", ""])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.starts_with('-')).collect();
    assert_eq!(
        lines,
        [
            "paketobuildpacks/run-jammy-base\tmirrors: registry.corp.example/paketo/run-jammy-base, registry2.corp.example/run:1.2",
            "registry.corp.example/other/run\tmirrors: registry.corp.example/paketo/run-jammy-base",
        ]
    );
}

#[test]
fn builders_are_offered_where_a_builder_is_named() {
    let home = home_with(CONFIG);
    let expected = [
        "paketobuildpacks/builder-jammy-base",
        "registry.corp.example/builder",
        "heroku/builder:24",
    ];
    assert_eq!(
        values(home.bash_values(&["build", "app", "--builder", ""])),
        expected
    );
    assert_eq!(
        values(home.bash_values(&["build", "app", "-B", "her"])),
        ["heroku/builder:24"]
    );
    assert_eq!(
        values(home.bash_values(&["config", "default-builder", ""])),
        expected
    );
    let fish = home.fish(&["build", "--builder", "pak"]);
    assert_eq!(
        fish,
        [(
            "paketobuildpacks/builder-jammy-base".to_string(),
            Some("default builder".to_string())
        )]
    );
}
