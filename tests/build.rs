//! End-to-end tests of `cnb build` against the real Docker daemon and real registries
//! on loopback (see docs/build-e2e.md).

use std::process::Command;

fn cnb() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cnb"))
}

#[test]
fn missing_daemon_is_one_line_naming_the_address() {
    let home = tempfile::tempdir().unwrap();
    let out = cnb()
        .env("CNB_HOME", home.path())
        .env("HOME", home.path())
        .env("DOCKER_CONFIG", home.path().join("docker"))
        .env_remove("DOCKER_HOST")
        .args([
            "build",
            "cnbtest-build-nodaemon",
            "-B",
            "127.0.0.1:1/builder",
        ])
        .args(["--trust-builder", "--docker-host", "unix:///nonexistent"])
        .arg("-p")
        .arg(home.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains("unix:///nonexistent"), "{stderr}");
    assert!(out.stdout.is_empty());
}
