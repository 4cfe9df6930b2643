//! The real pack of the test world (v0.40.9, built by [`super::world::pack`]), run beside
//! cnb: each [`Pack`] has its own `PACK_HOME` (so its own `config.toml` and volume keys) and
//! its own `DOCKER_CONFIG`, inside a temporary home removed on drop.
//!
//! Pack is never pointed at anything but loopback or a test's network namespace; builds
//! that should cause no registry traffic pass `--pull-policy never` with the images in the
//! daemon. Pack trusts only its well-known builders, and runs an untrusted one with the
//! lifecycle image from Docker Hub, so builds with a test builder pass `--trust-builder`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{BackgroundProcess, Bounded, Output, TestHome, run_with_timeout, world};

/// How long a pack command may take before the test gives up on it (a real build with
/// images present takes a few seconds).
pub const PACK_LIMIT: Duration = Duration::from_secs(180);

/// The pack binary with a home of its own.
pub struct Pack {
    binary: PathBuf,
    home: TestHome,
}

impl Pack {
    /// Pack, built on first use; `None` (after printing why) when Go is missing outside CI.
    pub fn new() -> Option<Pack> {
        Some(Pack {
            binary: world::pack()?,
            home: TestHome::new(),
        })
    }

    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// `PACK_HOME`.
    pub fn pack_home(&self) -> PathBuf {
        self.home.path().join(".pack")
    }

    /// The config file pack reads and writes: `$PACK_HOME/config.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.pack_home().join("config.toml")
    }

    /// `DOCKER_CONFIG` (pack reads registry credentials from its `config.json`).
    pub fn docker_config_dir(&self) -> PathBuf {
        self.home.docker_config_dir()
    }

    /// A `Command` for pack in this home: `HOME`, `PACK_HOME`, `DOCKER_CONFIG` inside it, no
    /// proxy variables, stdin closed, cwd = the home. `DOCKER_HOST` is inherited.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(&self.binary);
        for var in super::SCRUBBED_ENV
            .iter()
            .chain(&["PACK_HOME", "PACK_VOLUME_KEY"])
        {
            cmd.env_remove(var);
        }
        cmd.env("HOME", self.home.path())
            .env("PACK_HOME", self.pack_home())
            .env("DOCKER_CONFIG", self.docker_config_dir())
            .current_dir(self.home.path())
            .stdin(std::process::Stdio::null());
        cmd
    }

    /// Runs `pack <args>`; panics when it does not finish within [`PACK_LIMIT`].
    #[track_caller]
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.cmd();
        cmd.args(args);
        let shown = format!("{cmd:?}");
        run_with_timeout(&mut cmd, PACK_LIMIT).unwrap_or_else(|e| panic!("{shown}: {e}"))
    }

    /// Runs `pack <args>` and kills it (SIGKILL) if it is still running after `limit`: for
    /// the cases where pack waits without a timeout of its own.
    pub fn run_bounded<I, S>(&self, args: I, limit: Duration) -> Bounded
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.cmd();
        cmd.args(args);
        BackgroundProcess::spawn(cmd).wait_or_kill(limit)
    }
}
